//! What an operator sees of a shutdown while it runs: with the `log` or
//! `tracing` feature, an info event when the shutdown is requested and when
//! the exit's handlers start, and a debug event per handler with its
//! duration; with or without them, a line on stderr when a handler is still
//! running after a while ([`set_still_running_report`]).
//!
//! # The cost in the run
//!
//! The run loop calls [`handler_starts`] and [`handler_ends`] once per
//! handler. With nothing to tell (no "still running" report, no debug
//! logging) each is one relaxed load of [`ON`]. With the "still running"
//! report on (the default) they write the handler's name and a sequence
//! number (a seqlock of relaxed stores, no clock, no lock); only with debug
//! logging on do they read the clock and queue an event for the loggers'
//! thread, waiting for it at most `INFO_PATIENCE` (a stuck logger is
//! waited for once). The "still running" line is written by a thread of
//! its own, the ticker, through `warn` (raw writes, never Rust's stderr
//! lock, given up on a stderr nobody reads): the run never waits for it.
//!
//! # The ticker
//!
//! Started by the first handler of an exit when the report is on (a child
//! forked by a handler during the exit has none): it looks
//! at the sequence number a few times per report interval; a handler seen
//! running under the same number for the whole interval is reported, once.
//! So the line comes between the interval and the interval plus one look
//! (a fifth of it, at least 10 ms, at most 1 s) after the handler started,
//! and says "after" the interval: the handler ran at least that long.

use crate::reason::{ExitReason, ShutdownCause};
use crate::{helper_thread, warn};
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Something is told about handlers during the exit under way: the run
/// loop's hooks do their work. Set when the exit starts.
static ON: AtomicBool = AtomicBool::new(false);

/// The interval of the "still running" report, in nanoseconds; `u64::MAX`
/// for off. Five seconds by default.
static STILL_RUNNING_AFTER: AtomicU64 = AtomicU64::new(5_000_000_000);

/// The debug event per handler is on (debug logging was enabled when the
/// exit started).
static PER_HANDLER_EVENTS: AtomicBool = AtomicBool::new(false);

/// The ticker is to be started by the exit's first handler (set when the
/// exit starts with the report on; taken by that handler).
static TICKER_WANTED: AtomicBool = AtomicBool::new(false);

/// The handler running now, as a seqlock: [`SEQUENCE`] is odd while the
/// name is written; a reader that sees it even and unchanged around its
/// reads of the name has a name that was whole. A null name: between
/// handlers.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);
static NAME: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static NAME_LEN: AtomicUsize = AtomicUsize::new(0);

/// When the handler running now started, in nanoseconds since [`epoch`]
/// (with the per-handler events on only).
static STARTED: AtomicU64 = AtomicU64::new(0);

/// The exit deadline set with `set_deadline`, in nanoseconds; `u64::MAX`
/// for none: for the request's event, which cannot read the state.
static DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).map_or(u64::MAX - 1, |n| n.min(u64::MAX - 1))
}

fn duration(nanos: u64) -> Option<Duration> {
    (nanos != u64::MAX).then(|| Duration::from_nanos(nanos))
}

/// Reports on stderr an exit handler that is still running after `after`
/// (five seconds unless set), once per handler: `atexit: still running
/// `name` after 5s`, so that an operator watching a slow shutdown sees what
/// it is waiting for before the supervisor's SIGKILL. `None` turns it off.
///
/// On by default: a handler that takes five seconds is what an operator
/// needs to know about (systemd's and Kubernetes' stop timeouts are 90 s and
/// 30 s, and their SIGKILL says nothing of why), and a program whose
/// handlers are quick never prints it. The line is written by a thread of
/// the crate's, started by the exit's first handler; the handlers never
/// wait for it, and it gives up on a stderr nobody reads. Any `Duration`
/// is fine: `Duration::ZERO` reports every handler still running at the
/// ticker's first look (10 ms), and one of centuries never reports.
/// Read when the exit starts.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use std::time::Duration;
/// // A service whose handlers should each take well under a second.
/// atexit::set_still_running_report(Some(Duration::from_secs(1)));
/// atexit::register(|| std::thread::sleep(Duration::from_millis(10)));
/// // At exit, a handler running for 1 s would get on stderr:
/// // atexit: still running `main::flush_spool` after 1s
/// ```
pub fn set_still_running_report(after: Option<Duration>) {
    STILL_RUNNING_AFTER.store(after.map_or(u64::MAX, nanos), Ordering::SeqCst);
}

/// `set_deadline`'s deadline, for the request's event.
pub(crate) fn deadline_set(deadline: Option<Duration>) {
    DEADLINE.store(deadline.map_or(u64::MAX, nanos), Ordering::SeqCst);
}

/// Whether debug events for the `atexit` target can be logged: the level
/// filters both crates keep in a global (no thread-local is read: the
/// exiting thread's are gone).
fn debug_logging() -> bool {
    #[cfg(feature = "log")]
    if log::max_level() >= log::LevelFilter::Debug {
        return true;
    }
    #[cfg(feature = "tracing")]
    if tracing::level_filters::LevelFilter::current() >= tracing::Level::DEBUG {
        return true;
    }
    false
}

/// How long an event waits for the loggers: it is told before what it
/// announces (the handlers, the drain) or before the next handler, in its
/// place in the logs and before the process ends, unless the loggers are
/// slow or stuck (then it is queued, and later events and reports do not
/// wait for them either, until they catch up).
#[cfg(any(feature = "log", feature = "tracing"))]
const INFO_PATIENCE: Duration = Duration::from_millis(100);

/// Tells the loggers, at info level (or debug, unless `info`), waiting at
/// most `INFO_PATIENCE`.
fn tell(info: bool, text: String) {
    #[cfg(any(feature = "log", feature = "tracing"))]
    {
        use crate::report::Level;
        let level = if info { Level::Info } else { Level::Debug };
        crate::report::to_loggers_at(level, None, text, INFO_PATIENCE);
    }
    #[cfg(not(any(feature = "log", feature = "tracing")))]
    let _ = (info, text);
}

/// A shutdown was requested (the program sees it now, or after its drain
/// delay): the loggers are told by what, with the drain timeout, the drain
/// delay and the exit deadline. On the signal watcher or the requesting
/// thread; never in the signal handler.
pub(crate) fn shutdown_requested(cause: ShutdownCause, grace: Option<Duration>, delay: Duration) {
    // Once: by the watcher or the requesting thread, or by the exit's start
    // if it came first (`shutdown::tell_the_request_before_the_exit`).
    static TOLD: AtomicBool = AtomicBool::new(false);
    if TOLD.swap(true, Ordering::SeqCst) {
        return;
    }
    crate::systemd::stopping(DEADLINE.load(Ordering::SeqCst), grace);
    if cfg!(not(any(feature = "log", feature = "tracing"))) {
        return;
    }
    let grace = grace.map_or_else(
        || "no drain timeout".into(),
        |g| format!("drain timeout {g:?}"),
    );
    let delay = if delay.is_zero() {
        String::new()
    } else {
        format!(", drain delay {delay:?}")
    };
    tell(
        true,
        format!(
            "shutdown requested by {cause}: {grace}{delay}, {}",
            describe_deadline(duration(DEADLINE.load(Ordering::SeqCst)))
        ),
    );
}

fn describe_deadline(deadline: Option<Duration>) -> String {
    deadline.map_or_else(
        || "no exit deadline".into(),
        |d| format!("exit deadline {d:?}"),
    )
}

/// The exit starts, for `reason`, with the `deadline` it will be held to:
/// the loggers are told (at info when it is a `shutdown`: a caught signal
/// or a request came; at debug for a plain exit, which is no news in a
/// program's log), and the hooks switched on for what is to be told about
/// its handlers. On the exiting thread, outside the state's lock.
pub(crate) fn exit_starts(reason: ExitReason, deadline: Option<Duration>, shutdown: bool) {
    crate::systemd::exit_starts(deadline);
    let per_handler = debug_logging();
    PER_HANDLER_EVENTS.store(per_handler, Ordering::Relaxed);
    let report = STILL_RUNNING_AFTER.load(Ordering::SeqCst) != u64::MAX;
    TICKER_WANTED.store(report, Ordering::SeqCst);
    ON.store(per_handler || report, Ordering::SeqCst);
    if cfg!(any(feature = "log", feature = "tracing")) {
        tell(
            shutdown,
            format!(
                "exit handlers start ({reason}), {}",
                describe_deadline(deadline)
            ),
        );
    }
}

/// The run loop is about to run the handler `name` names. One relaxed
/// load when nothing is told (see the module docs): the name is read only
/// when something is.
#[inline]
pub(crate) fn handler_starts(name: impl FnOnce() -> &'static str) {
    if ON.load(Ordering::Relaxed) {
        starts(name())
    }
}

/// The run loop's handler `name` names returned (or unwound). One relaxed
/// load when nothing is told.
#[inline]
pub(crate) fn handler_ends(name: impl FnOnce() -> &'static str) {
    if ON.load(Ordering::Relaxed) {
        ends(name())
    }
}

#[cold]
fn starts(name: &'static str) {
    if PER_HANDLER_EVENTS.load(Ordering::Relaxed) {
        STARTED.store(nanos(epoch().elapsed()), Ordering::Relaxed);
    }
    write_current(name.as_ptr().cast_mut(), name.len());
    // One relaxed load per handler after the first.
    if TICKER_WANTED.load(Ordering::Relaxed) && TICKER_WANTED.swap(false, Ordering::Relaxed) {
        start_the_ticker();
    }
}

#[cold]
fn ends(name: &'static str) {
    write_current(std::ptr::null_mut(), 0);
    if PER_HANDLER_EVENTS.load(Ordering::Relaxed) {
        let started = Duration::from_nanos(STARTED.load(Ordering::Relaxed));
        let took = epoch().elapsed().saturating_sub(started);
        #[cfg(any(feature = "log", feature = "tracing"))]
        crate::report::to_loggers_at(
            crate::report::Level::Debug,
            Some(name),
            format!("exit handler `{name}` ran in {took:?}"),
            INFO_PATIENCE,
        );
        #[cfg(not(any(feature = "log", feature = "tracing")))]
        let _ = (name, took);
    }
}

/// The seqlock's write: odd, the name, even again.
fn write_current(ptr: *mut u8, len: usize) {
    let sequence = SEQUENCE.load(Ordering::Relaxed);
    SEQUENCE.store(sequence.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    NAME.store(ptr, Ordering::Relaxed);
    NAME_LEN.store(len, Ordering::Relaxed);
    SEQUENCE.store(sequence.wrapping_add(2), Ordering::Release);
}

/// The seqlock's read: the sequence number and the handler running, or
/// `None` while it is being written.
fn read_current() -> Option<(u64, Option<&'static str>)> {
    let before = SEQUENCE.load(Ordering::Acquire);
    if before % 2 == 1 {
        return None;
    }
    let ptr = NAME.load(Ordering::Relaxed);
    let len = NAME_LEN.load(Ordering::Relaxed);
    fence(Ordering::Acquire);
    if SEQUENCE.load(Ordering::Relaxed) != before {
        return None;
    }
    let name = (!ptr.is_null()).then(|| {
        // SAFETY: the pointer and length of a `&'static str`, written
        // together (the sequence number did not move around their reads).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(ptr, len)) }
    });
    Some((before, name))
}

/// Starts the ticker, for the exit's first handler. (A child forked by a
/// handler has no ticker: its copy of the run goes on unreported.)
#[cold]
fn start_the_ticker() {
    let Some(after) = duration(STILL_RUNNING_AFTER.load(Ordering::Relaxed)) else {
        return;
    };
    let look = (after / 5).clamp(Duration::from_millis(10), Duration::from_secs(1));
    // No thread to be had: no report, as a stderr nobody reads gets none.
    let _ = helper_thread::spawn("atexit-progress", move || tick(after, look));
}

/// The ticker: looks every `look` for a handler running under the same
/// sequence number for `after`, and reports it once.
fn tick(after: Duration, look: Duration) {
    let mut seen: Option<(u64, Instant)> = None;
    let mut reported = None;
    loop {
        std::thread::sleep(look);
        let Some((sequence, name)) = read_current() else {
            continue;
        };
        let Some(name) = name else {
            seen = None; // between handlers
            continue;
        };
        let since = match seen {
            Some((same, since)) if same == sequence => since,
            _ => {
                seen = Some((sequence, Instant::now()));
                if !after.is_zero() {
                    continue;
                }
                Instant::now()
            }
        };
        if reported != Some(sequence) && since.elapsed() >= after {
            reported = Some(sequence);
            warn::warn(format_args!("still running `{name}` after {after:?}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seqlock_gives_whole_names() {
        let names: [&'static str; 2] = ["a", "a much longer handler name"];
        let writer = std::thread::spawn(move || {
            for round in 0..20_000 {
                write_current(names[round % 2].as_ptr().cast_mut(), names[round % 2].len());
            }
        });
        let mut read = 0;
        while !writer.is_finished() || read == 0 {
            if let Some((sequence, Some(name))) = read_current() {
                assert_eq!(sequence % 2, 0);
                assert!(names.contains(&name), "a torn name: {name:?}");
                read += 1;
            }
        }
        writer.join().unwrap();
    }
}
