//! The signals that no longer reach this crate's handler (replaced by a
//! later handler, or blocked in every thread): [`replaced_signals`], and
//! the report an exit makes of them.

use super::imp;
use crate::reason::Signal;
use crate::warn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The signals installed by [`catch_signals`](crate::catch_signals) or
/// [`CatchSignals::install`](crate::CatchSignals::install)
/// that no longer reach this crate's handler, as far as can be known, by
/// signal number; those signals no longer run the exit handlers or ask for
/// a shutdown. Two causes are seen:
///
/// - **Replaced**: the signal's handler is no longer this crate's. A
///   handler installed later with a plain `sigaction` or `signal` (as
///   `ctrlc::set_handler` does, or the program resetting one to its
///   default) replaced it. Handlers added later through `signal-hook` or
///   `tokio::signal` share this crate's and keep it. A later handler that
///   calls the one it found (a crash reporter's, chaining) looks the same
///   until the signal comes: nothing short of the signal can tell whether
///   it chains, so it is listed, until a signal reaching this crate through
///   it proves it does (a handler set after that one is judged afresh).
/// - **Blocked**: no thread would run the handler, since every thread
///   blocks the signal in its mask or waits for it in `sigwait` (a library
///   taking signals with `signalfd` or `sigwait`, installed before this
///   crate's, whose mask the watcher thread inherited). The watcher's
///   own mask is known without looking: when it takes the signals (the
///   usual case) the answer costs about 0.4 µs. Else, on Linux, every
///   thread's mask is read (`/proc/self/task`, about 15 µs per thread
///   measured, stopping at the first that takes them all); elsewhere only
///   the watcher thread's and the calling thread's masks can be seen, so a
///   signal blocked in both is listed though another thread may take it.
///   A snapshot: masks change. A signal blocked only in some threads still
///   reaches this crate (the kernel picks a thread that takes it), but a
///   thread waiting in `sigwait` for it may be picked first.
///
/// Empty when all are intact.
///
/// When an exit starts, the replaced signals the program has not been told
/// of by a call to this function are reported on stderr, once. In a forked
/// child, where the signals are not caught until the child calls
/// [`catch_signals`](crate::catch_signals) itself, it is empty. On Windows, where console handlers
/// are added and never replaced, it is always empty (see the crate docs'
/// [signals](https://docs.rs/atexit/latest/atexit/signals/index.html#other-signal-users) page for what a later console handler does there).
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::catch_signals()?;
/// assert!(atexit::replaced_signals().is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn replaced_signals() -> Vec<Signal> {
    let mut lost = imp::replaced();
    lost.extend(imp::blocked());
    lost.sort_by_key(|signal| signal.number());
    lost.dedup();
    for signal in &lost {
        TOLD.fetch_or(1 << signal.number(), Ordering::SeqCst);
    }
    lost
}

/// The signals [`replaced_signals`] has returned, by bit `1 << number`: the
/// program knows of those, and the exit does not report them.
static TOLD: AtomicU64 = AtomicU64::new(0);

/// Reports the replaced signals the program was not told of on stderr,
/// once per process: called when an exit starts (registered with
/// `exit::report_on_start`), since those signals can no longer start one.
/// `delivered` is the signal whose delivery starts it, if one does: that
/// signal reached this crate's handler, whatever the masks say now (the
/// thread it came to blocks it until its handler returns).
pub(super) fn report_lost(delivered: Option<Signal>) {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    let told = TOLD.load(Ordering::SeqCst) | delivered.map_or(0, |signal| 1 << signal.number());
    let untold = |signals: Vec<Signal>| -> Vec<String> {
        signals
            .into_iter()
            .filter(|signal| told & (1 << signal.number()) == 0)
            .map(|signal| signal.to_string())
            .collect()
    };
    let replaced = untold(imp::replaced());
    let blocked = untold(imp::blocked());
    if (replaced.is_empty() && blocked.is_empty()) || REPORTED.swap(true, Ordering::SeqCst) {
        return;
    }
    let runs = |names: &[String]| if names.len() == 1 { "runs" } else { "run" };
    if !replaced.is_empty() {
        warn::warn(format_args!(
            "{} no longer {} the exit handlers: a handler set after \
             catch_signals() with a plain sigaction or signal (as ctrlc::set_handler \
             does) replaced this crate's, unless it calls this crate's in turn",
            replaced.join(", "),
            runs(&replaced),
        ));
    }
    if !blocked.is_empty() {
        warn::warn(format_args!(
            "{} no longer {} the exit handlers: {} blocked in every thread \
             (or waited for with sigwait), as a library taking signals with \
             signalfd or sigwait does",
            blocked.join(", "),
            runs(&blocked),
            if blocked.len() == 1 {
                "it is"
            } else {
                "they are"
            },
        ));
    }
}
