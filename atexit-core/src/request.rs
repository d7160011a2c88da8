//! The shutdown request as the signal handler notes it: the signal that
//! asked, in an atomic, which is all a signal handler may touch. Everything
//! that must agree on whether a shutdown was asked for reads it here: the
//! exit's reason and ending (`state::Phase`), the non-blocking check, and
//! the signal handler itself. A leaf: it knows no other module but `reason`.

use crate::reason::Signal;
use crate::state::Ending;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The number of the signal that asked for the shutdown; 0 before.
static REQUESTED: AtomicI32 = AtomicI32::new(0);
/// A signal (or the grace) has ended the request's drain: the handlers are
/// about to run, and the next signal forces the end even before the exit
/// has started.
static DRAIN_ENDED: AtomicBool = AtomicBool::new(false);
/// The signals end the process with `128 + n` rather than by the signal.
static BY_EXIT_CODE: AtomicBool = AtomicBool::new(false);

/// Notes that signal `number` asked for a shutdown, unless one did
/// already: true when this call made the request, whose maker then records
/// it and wakes the waiters (`shutdown::record`). Async-signal-safe.
pub(crate) fn note(number: i32) -> bool {
    REQUESTED
        .compare_exchange(0, number, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// The signal that asked for the shutdown, if any. Async-signal-safe.
pub(crate) fn signal() -> Option<Signal> {
    Signal::from_number(REQUESTED.load(Ordering::SeqCst))
}

/// Notes that the drain is ended (by a signal after the request, or by the
/// grace): true when this call ended it, false when something had already.
/// Async-signal-safe.
pub(crate) fn end_the_drain() -> bool {
    !DRAIN_ENDED.swap(true, Ordering::SeqCst)
}

/// Whether caught signals end the process with `128 + n` rather than by the
/// signal. Set when the signals are installed; returns the old setting.
pub(crate) fn set_by_exit_code(by_exit_code: bool) -> bool {
    BY_EXIT_CODE.swap(by_exit_code, Ordering::SeqCst)
}

/// See [`set_by_exit_code`].
pub(crate) fn by_exit_code() -> bool {
    BY_EXIT_CODE.load(Ordering::SeqCst)
}

/// How a caught `signal` ends the process, as installed: by the signal, or
/// with `128 + n` ([`set_by_exit_code`]).
pub(crate) fn ending_by(signal: Signal) -> Ending {
    if by_exit_code() {
        Ending::Code(128 + signal.number())
    } else {
        Ending::Signal(signal)
    }
}

/// In a forked child: the request was its parent's.
#[cfg(unix)]
pub(crate) fn forget() {
    REQUESTED.store(0, Ordering::SeqCst);
    DRAIN_ENDED.store(false, Ordering::SeqCst);
}
