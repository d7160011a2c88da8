//! The grace of a shutdown request (graceful-shutdown mode's
//! `drain_timeout`): a timer thread that starts the exit when it passes, if
//! the program has not started one by then.

use super::signal_safe::REQUEST;
use crate::reason::ShutdownCause;
use crate::{helper_thread, warn};
use std::sync::OnceLock;
use std::time::Duration;

/// What starts the exit when the grace passes: the signals' exit
/// (`signals::on_signal`) for a signal's request, `exit(1)` for the
/// program's own, registered when the signals are installed. The
/// grace runs only in a process where they are (this module cannot call
/// the exit itself: the exit reads the request, so it comes after this
/// module in the crate's graph).
static START_THE_EXIT: OnceLock<fn(ShutdownCause)> = OnceLock::new();

/// Has `start` called to start the exit when a grace passes.
pub(crate) fn start_the_exit_with(start: fn(ShutdownCause)) {
    let _ = START_THE_EXIT.set(start);
}

fn start_the_exit(cause: ShutdownCause) {
    if let Some(start) = START_THE_EXIT.get() {
        start(cause)
    }
}

/// Starts the grace of the request `cause` made, with the grace in force
/// when it was made; nothing for a grace without bound.
pub(crate) fn start(cause: ShutdownCause) {
    let grace = match REQUEST.request_grace_nanos() {
        u64::MAX => return, // no bound
        nanos => Duration::from_nanos(nanos),
    };
    // On a thread of its own even for a zero grace: the caller may be the
    // signal watcher, which must stay free for the next signal, or the
    // program's thread asking with `request_shutdown`.
    let started = helper_thread::after("atexit-grace", grace, move || {
        if grace.is_zero() {
            // At once, as documented: no report. The next signal forces.
            REQUEST.end_the_drain();
            super::show_the_request();
            return start_the_exit(cause);
        }
        passed(cause, grace)
    });
    if !started {
        warn::warn(format_args!(
            "cannot start the shutdown grace's thread; the drain has no bound"
        ));
    }
}

/// The grace passed: unless the exit has started, run the handlers now,
/// while the program is still draining, and end by the signal (with status
/// 1 after the program's own request).
fn passed(cause: ShutdownCause, grace: Duration) {
    if REQUEST.exit_started() {
        return; // the program's exit (bounded by the deadline) ends it
    }
    if !REQUEST.end_the_drain() {
        return; // a signal ended the drain first: its exit ends the process
    }
    // A drain delay as long as the grace hid the request until now.
    super::show_the_request();
    warn::warn(format_args!(
        "the shutdown grace of {grace:?} after {cause} passed before the program \
         exited: the exit handlers run now"
    ));
    start_the_exit(cause);
}
