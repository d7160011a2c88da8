//! Opt-in signal handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT (and SIGPIPE
//! when asked) run the exit handlers, then the process dies by the same
//! signal, or exits with `128 + number`.
//!
//! This module installs the handlers and decides, for each signal, whether
//! it asks (wakes the watcher thread, which starts the exit or, in
//! graceful-shutdown mode, the shutdown request) or forces the end (the
//! signal's default action, at once). The state that decision reads is the
//! shutdown's ([`shutdown::REQUEST`](crate::shutdown::REQUEST)), whose
//! module docs give the handler's contract; the request itself, its
//! waiters and its grace are `shutdown`'s too.
//!
//! - [`config`]: the [`CatchSignals`] builder and [`SignalEnding`];
//! - [`replaced`]: the signals that no longer reach this crate's handler;
//! - `unix` and `windows`: the handler proper and the watcher.

mod config;
mod replaced;

pub use config::{CatchSignals, SignalEnding};
pub use replaced::replaced_signals;

use crate::exit;
use crate::reason::Signal;
use crate::shutdown::{self, REQUEST};
use crate::warn;
use std::io;
use std::sync::{Mutex, PoisonError};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

#[cfg(not(any(unix, windows)))]
mod imp {
    pub(super) fn install(_: &super::CatchSignals) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "atexit: signals are not supported on this platform",
        ))
    }

    pub(super) fn replaced() -> Vec<super::Signal> {
        Vec::new()
    }

    pub(super) fn blocked() -> Vec<super::Signal> {
        Vec::new()
    }
}

/// Makes SIGINT, SIGTERM, SIGHUP and SIGQUIT run the exit handlers, then end
/// the process by the same signal; `CatchSignals::new().install()`.
///
/// Without it those signals end the process at once, running nothing (their
/// default action). With it, the first one starts the exit handlers on a
/// watcher thread (or, if the process is already exiting, lets that exit
/// finish); a second one while they run ends the process at once: press
/// Ctrl+C again to force. Handlers can tell why they run with
/// [`exit_reason`](crate::exit_reason). Calling it twice is harmless, and
/// so is calling it after [`CatchSignals::install`] (a library that calls it
/// for its own sake): it adds the default signals not caught yet, and keeps
/// the ending and graceful-shutdown mode the program installed.
///
/// In a forked child, the signals do the default action until the child calls
/// `catch_signals` itself (the watcher thread does not survive `fork`).
///
/// # Errors
///
/// As [`CatchSignals::install`].
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::catch_signals().expect("signal handling");
/// atexit::register(|| println!("runs on Ctrl+C too"));
/// ```
pub fn catch_signals() -> io::Result<()> {
    CatchSignals::new().install()
}

/// `#[atexit::handler(catch_signals)]`: installs the default signal handling
/// from a load-time constructor.
pub(crate) fn catch_signals_at_load() {
    if let Err(error) = catch_signals() {
        warn::warn(format_args!("cannot catch signals: {error}"));
    }
}

/// [`CatchSignals::install`]: see its docs.
fn install(config: &CatchSignals) -> io::Result<()> {
    // One install at a time, so that a failed one restores what it
    // found, not another's settings.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
    // The mode and the ending first, and only what this builder asked for
    // (a plain install keeps those in force): a signal that comes as soon
    // as the handler is in must find them. A failed install puts the old
    // ones back.
    let before = REQUEST.configure(
        config.grace,
        config.ending.map(|ending| ending == SignalEnding::ExitCode),
    );
    // Told when an exit starts, from now on: a signal this install
    // catches may be replaced. And the exit a grace starts is a signal's.
    exit::report_on_start(replaced::report_lost);
    shutdown::start_the_exit_with(|signal| on_signal(signal, None));
    let installed = imp::install(config);
    if installed.is_err() {
        REQUEST.restore(before);
    }
    installed
}

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
fn goes_to_the_watcher(first: bool, made_the_request: bool) -> bool {
    let requested = REQUEST.signal().is_some();
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
fn note_first_signal(number: i32) -> bool {
    REQUEST.in_graceful_mode() && REQUEST.note(number)
}

/// What the watcher thread does with a caught signal; `made_the_request`
/// when its signal handler noted the request.
fn on_caught(signal: Signal, made_the_request: bool) {
    if made_the_request {
        // Wakes the waiters and starts the grace in force when the signal
        // came (the program, which sees the request at once, may install
        // again before the timer starts), unless the exit under way ends
        // the process.
        return shutdown::made_by_a_signal(signal);
    }
    match REQUEST.signal() {
        // A request was made (by a signal, or `request_shutdown`): this
        // signal ends the drain.
        Some(first) => {
            if !exit::has_started() {
                warn::warn(format_args!(
                    "{signal} during the shutdown asked for by {first} ends the drain: the \
                     exit handlers run now"
                ));
                on_signal(first, Some(signal));
            }
        }
        None => on_signal(signal, Some(signal)),
    }
}

/// Runs the exit handlers like any exit, then ends the process as
/// configured; `delivered` is the signal whose delivery starts it, if one
/// does.
fn on_signal(signal: Signal, delivered: Option<Signal>) {
    exit::exit(exit::Way::Signal { signal, delivered })
}
