//! For each caught signal, "ask or force": what the signal handler decides
//! (from the shutdown's signal-safe state only, by its contract), and what
//! the watcher thread then does with a signal that asks.

use crate::exit;
use crate::reason::{ShutdownCause, Signal};
use crate::shutdown::{self, REQUEST};
use crate::warn;

/// Whether the signal handler wakes the watcher for this signal (`first`
/// since the watcher started; `made_the_request` when its handler just
/// noted the request), or ends the process at once. The watcher gets:
///
/// - the signal that made the request;
/// - the first signal when no request was made (it runs the handlers, or
///   lets an exit under way finish);
/// - a later one while a request's drain goes on, that is, in graceful-
///   shutdown mode or after any request (the program may have installed
///   without the mode since, or asked with `request_shutdown`), until the
///   exit starts: it ends the drain.
///
/// Any other signal forces the end: a second one in the default mode, one
/// after the signal (or the grace) that ended a drain, even when the exit
/// has not started yet (the watcher is busy running it: the signal would
/// wait in the pipe unseen), or one while the handlers of an exit after a
/// request run. Async-signal-safe: atomics.
pub(super) fn goes_to_the_watcher(first: bool, made_the_request: bool) -> bool {
    let requested = REQUEST.is_requested();
    made_the_request
        || (first && !requested)
        || ((REQUEST.in_graceful_mode() || requested)
            && !REQUEST.exit_started()
            && REQUEST.end_the_drain())
}

/// In the signal handler, for the first signal: in graceful-shutdown mode,
/// note the request at once, so that an exit that starts before the watcher
/// thread wakes (a `ctrlc` handler's `exit(0)`, `main` returning) ends by
/// the signal too, with the grace in force now. True when this signal made
/// the request (none was made before, by `request_shutdown`): the watcher
/// then records it and starts the grace. Async-signal-safe: atomics only.
pub(super) fn note_first_signal(number: i32) -> bool {
    REQUEST.in_graceful_mode() && REQUEST.note(number)
}

/// What the watcher thread does with a caught signal; `made_the_request`
/// when its signal handler noted the request.
pub(super) fn on_caught(signal: Signal, made_the_request: bool) {
    if made_the_request {
        // Wakes the waiters and starts the grace in force when the signal
        // came (the program, which sees the request at once, may install
        // again before the timer starts), unless the exit under way ends
        // the process.
        return shutdown::made_by_a_signal(signal);
    }
    match REQUEST.cause_noted() {
        // A request was made (by a signal, or `request_shutdown`): this
        // signal ends the drain, and the process ends as that request
        // says: by its signal; after the program's own request, by this
        // signal, the one that came.
        Some(first) => {
            if !REQUEST.exit_started() {
                // A drain delay may still hide the request: no longer.
                shutdown::show_the_request();
                warn::warn(format_args!(
                    "{signal} during the shutdown asked for by {first} ends the drain: the \
                     exit handlers run now"
                ));
                let ends_by = match first {
                    ShutdownCause::Signal(first) => first,
                    _ => signal,
                };
                on_signal(ends_by, Some(signal));
            }
        }
        None => on_signal(signal, Some(signal)),
    }
}

/// Runs the exit handlers like any exit, then ends the process as
/// configured; `delivered` is the signal whose delivery starts it, if one
/// does.
pub(super) fn on_signal(signal: Signal, delivered: Option<Signal>) {
    exit::exit(exit::Way::Signal { signal, delivered })
}
