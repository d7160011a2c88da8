//! The deadline for a whole exit: a watchdog thread, started when the exit
//! starts, that ends the process when the deadline passes.
//!
//! The watch does not stop when the handlers are done: the deadline bounds
//! the whole exit, up to the end of the process. When it passes it marks the
//! exit expired (so no further handler starts), reports which handler was
//! still running, and ends the process with the status or signal the exit was
//! going to end with. Its report is written without Rust's stderr lock and
//! gives up on a stderr nobody reads, and loggers get a bounded time: nothing
//! a handler or another thread does can keep it from ending the process.
//!
//! # In a child forked by a handler
//!
//! A child forked by a handler during the exit keeps the exit's deadline,
//! but not the watchdog thread, and none may be started in the `fork` child
//! hook (the child of a multi-threaded process may only do what is
//! async-signal-safe until it returns to the program). The thread is started
//! when the child's copy of the run goes on (the handler returns, or calls
//! `atexit::exit`); until then, on Linux with glibc, a POSIX timer armed by
//! the child hook ([`os::alarm`]: `timer_create` + `SIGALRM`, both safe
//! there) watches the same deadline, and its signal handler ends the child
//! as the watchdog would: it marks the exit expired, writes the report to
//! stderr (formatted on the stack, with the state read only if its lock is
//! free, else as it stood at the fork) and ends with the exit's status or
//! signal. The loggers get no report from there: a logger is not
//! async-signal-safe. The other choices, measured or read: a watchdog started
//! lazily at the child's first call into the crate never starts in a child
//! that just sleeps or computes in the handler; `alarm`/`setitimer` share
//! one timer with the program's own `alarm`, which would silently cancel it;
//! a timer that notifies on a thread (`SIGEV_THREAD`) makes a thread, which
//! is not safe in the hook. Elsewhere, the watchdog starts when the run goes
//! on, as before. A child whose forking thread blocks `SIGALRM` gets the
//! timer's signal only when it unblocks it (or when the run goes on, and
//! the thread takes over); `exec` deletes the timer, as it does any POSIX
//! timer, so a program the child runs is not held to the deadline.

use super::ending;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
use crate::os;
use crate::state::{self, Deadline, Phase};
use crate::{helper_thread, report, warn};
use std::time::Duration;

/// How long the report may wait for stderr, and then for the loggers.
const REPORT_PATIENCE: Duration = Duration::from_millis(100);

/// Starts the watchdog for `deadline`; false if no thread could be started
/// (said on stderr: no deadline applies then).
pub(crate) fn start(deadline: &Deadline) -> bool {
    let deadline = *deadline;
    let started = helper_thread::at("atexit-deadline", deadline.at, move || passed(deadline));
    if !started {
        warn::warn_within(
            format_args!("cannot start the exit deadline's thread; no deadline applies"),
            REPORT_PATIENCE,
        );
    }
    started
}

/// The deadline passed: no further handler starts, and the process ends.
fn passed(deadline: Deadline) {
    let (running, current, ending) = {
        let mut state = state::lock_as_is();
        let ending = state.phase.ending().unwrap_or(state::Ending::Unknown);
        match &mut state.phase {
            Phase::Exiting(exiting) => {
                exiting.expired = true;
                state.registry.interrupt();
                (true, state.registry.running_name(), ending)
            }
            Phase::Closed(_) => (false, None, ending),
            // Not reached: an exit never reopens in the process that watches it.
            Phase::Open { .. } => return,
        }
    };
    let what = match (running, current) {
        (true, Some(name)) => {
            format!("exit handler `{name}` is still running; the remaining handlers are skipped")
        }
        (true, None) => "the exit handlers are still running; the rest are skipped".to_string(),
        (false, _) => "the handlers are done but the process has not ended".to_string(),
    };
    let text = format!(
        "exit deadline of {:?} passed: {what} and the process ends {}",
        deadline.timeout,
        ending::describe(ending)
    );
    warn::warn_within(format_args!("{text}"), REPORT_PATIENCE);
    // The stuck handler may be stuck inside the logger, holding its lock.
    report::to_loggers(current, text, REPORT_PATIENCE);
    // Read again: a shutdown request noted while the report was written
    // (the signal came while the stuck handler ran) changes the ending.
    let ending = state::lock_as_is().phase.ending().unwrap_or(ending);
    ending::end_now(ending)
}

/// In a child forked inside a handler, from the `fork` child hook (the
/// state's lock held): watches the exit's deadline with a timer until a
/// watchdog thread can be started (see the module docs). False where that
/// cannot be done.
#[cfg(unix)]
pub(crate) fn watch_in_forked_child(
    exiting: &state::Exiting,
    running: Option<&'static str>,
) -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        alarm::arm(exiting, running)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = (exiting, running);
        false
    }
}

/// In any child just forked, from the `fork` child hook: a timer of
/// [`watch_in_forked_child`] armed in the parent did not come along.
#[cfg(unix)]
pub(crate) fn forget_timer_in_forked_child() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    os::alarm::forget_after_fork();
}

/// The watchdog thread has taken over from the timer of
/// [`watch_in_forked_child`]: stops it.
pub(crate) fn thread_took_over() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    os::alarm::disarm();
}

/// The timer of [`watch_in_forked_child`] watches the deadline.
pub(crate) fn timer_watches() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        os::alarm::armed()
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod alarm {
    use super::{ending, REPORT_PATIENCE};
    use crate::os;
    use crate::reason::Signal;
    use crate::state::{self, Ending, Exiting, Phase};
    use std::fmt::Write;
    use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// The exit as it stood at the fork, for a signal handler that finds the
    /// state's lock taken (the timer fired while the child held it).
    static NAME: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
    static NAME_LEN: AtomicUsize = AtomicUsize::new(0);
    static ENDING: AtomicU64 = AtomicU64::new(0);
    static TIMEOUT_SECS: AtomicU64 = AtomicU64::new(0);
    static TIMEOUT_NANOS: AtomicU32 = AtomicU32::new(0);

    pub(super) fn arm(exiting: &Exiting, running: Option<&'static str>) -> bool {
        let Some(deadline) = exiting.deadline else {
            return false;
        };
        let name = running.unwrap_or("");
        NAME.store(name.as_ptr().cast_mut(), Ordering::SeqCst);
        NAME_LEN.store(name.len(), Ordering::SeqCst);
        let ending = Phase::Exiting(*exiting).ending().unwrap_or(Ending::Unknown);
        ENDING.store(encode(ending), Ordering::SeqCst);
        TIMEOUT_SECS.store(deadline.timeout.as_secs(), Ordering::SeqCst);
        TIMEOUT_NANOS.store(deadline.timeout.subsec_nanos(), Ordering::SeqCst);
        os::alarm::arm(
            deadline.at.saturating_duration_since(Instant::now()),
            on_time,
        )
    }

    fn encode(ending: Ending) -> u64 {
        let (tag, value) = match ending {
            Ending::Unknown => (0, 0),
            Ending::Code(code) => (1, code as u32),
            Ending::Signal(signal) => (2, signal.number() as u32),
            Ending::Abort => (3, 0),
        };
        (tag << 32) | u64::from(value)
    }

    fn decode(encoded: u64) -> Ending {
        let value = encoded as u32 as i32;
        match encoded >> 32 {
            1 => Ending::Code(value),
            2 => Signal::from_number(value).map_or(Ending::Unknown, Ending::Signal),
            3 => Ending::Abort,
            _ => Ending::Unknown,
        }
    }

    /// The exit at the fork: the handler, the ending, the timeout.
    fn as_forked() -> (Option<&'static str>, Ending, Duration) {
        let (name, len) = (NAME.load(Ordering::SeqCst), NAME_LEN.load(Ordering::SeqCst));
        let name = (!name.is_null() && len > 0).then(|| {
            // SAFETY: the pointer and length of a `&'static str` (`arm`).
            unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(name, len)) }
        });
        let timeout = Duration::new(
            TIMEOUT_SECS.load(Ordering::SeqCst),
            TIMEOUT_NANOS.load(Ordering::SeqCst),
        );
        (name, decode(ENDING.load(Ordering::SeqCst)), timeout)
    }

    /// In the timer's signal handler: only what is async-signal-safe (no
    /// allocation, no lock that may be held, no logger).
    fn on_time() {
        let (forked_name, forked_ending, timeout) = as_forked();
        let (running, name, ending) = match state::try_lock_as_is() {
            Some(mut state) => {
                let ending = state.phase.ending().unwrap_or(forked_ending);
                match &mut state.phase {
                    Phase::Exiting(exiting) => {
                        exiting.expired = true;
                        state.registry.interrupt();
                        (true, state.registry.running_name(), ending)
                    }
                    _ => (false, None, ending),
                }
            }
            None => (true, forked_name, forked_ending),
        };
        let mut text = StackText::default();
        let _ = write!(text, "atexit: exit deadline of {timeout:?} passed: ");
        let _ = match (running, name) {
            (true, Some(name)) => write!(
                text,
                "exit handler `{name}` is still running; the remaining handlers are skipped"
            ),
            (true, None) => {
                text.write_str("the exit handlers are still running; the rest are skipped")
            }
            (false, _) => text.write_str("the handlers are done but the process has not ended"),
        };
        let _ = text.write_str(" and the process ends ");
        let _ = match ending {
            Ending::Code(code) => write!(text, "with status {code}"),
            Ending::Signal(signal) => write!(text, "by {signal}"),
            Ending::Abort => text.write_str("by abort"),
            Ending::Unknown => text.write_str("with status 1"),
        };
        let _ = text.write_str("\n");
        os::write_stderr(text.bytes(), REPORT_PATIENCE);
        ending::end_now(ending)
    }

    /// Text formatted into a buffer on the stack; what does not fit is cut.
    struct StackText {
        bytes: [u8; 1024],
        len: usize,
    }

    impl Default for StackText {
        fn default() -> Self {
            StackText {
                bytes: [0; 1024],
                len: 0,
            }
        }
    }

    impl StackText {
        fn bytes(&self) -> &[u8] {
            &self.bytes[..self.len]
        }
    }

    impl Write for StackText {
        fn write_str(&mut self, text: &str) -> std::fmt::Result {
            let room = self.bytes.len() - self.len;
            let taken = text.len().min(room);
            self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
            self.len += taken;
            Ok(())
        }
    }
}
