//! The drain delay of a shutdown request
//! ([`CatchSignals::drain_delay`](crate::CatchSignals::drain_delay)): the
//! request is noted at once (the signal handler's one store, which the
//! exit's end reads) but hidden from the program, and a timer thread shows
//! it, and wakes the waiters, once the delay has passed. The grace and a
//! second signal show it too, when they end the drain first. Nothing of it
//! runs in the signal handler: the timer is started by the signal watcher
//! (or by `request_shutdown`'s caller).

use super::signal_safe::REQUEST;
use super::waiters;
use crate::{helper_thread, warn};
use std::time::Duration;

/// Starts the delay of the request just made, hidden by its note: the
/// request is shown after the delay in force when it was made. A delay no
/// shorter than the grace starts no timer: the grace passing shows it.
pub(crate) fn start() {
    let delay = Duration::from_nanos(REQUEST.request_delay_nanos());
    let grace = REQUEST.request_grace_nanos();
    if grace != u64::MAX && delay >= Duration::from_nanos(grace) {
        return; // the grace shows it, as it runs the handlers
    }
    if !helper_thread::after("atexit-drain-delay", delay, show) {
        warn::warn(format_args!(
            "cannot start the drain delay's thread; the shutdown request is shown at once"
        ));
        show();
    }
}

/// Shows the request to the program, and wakes its waiters, unless it was
/// shown already: the delay passed, or the drain ended before it did.
pub(crate) fn show() {
    if REQUEST.reveal() {
        waiters::wake_the_waiters();
    }
}
