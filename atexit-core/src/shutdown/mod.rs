//! The shutdown request of a service, and the one piece of state the signal
//! handler shares with the rest of the crate.
//!
//! # The request
//!
//! In graceful-shutdown mode
//! ([`CatchSignals::graceful_shutdown`](crate::CatchSignals::graceful_shutdown))
//! the first caught signal does not end the process: it asks for a
//! shutdown, once per process, never withdrawn (a child forked after it
//! starts without one). [`request_shutdown`] asks the same way in a
//! signal's name, and [`request_shutdown_because`] in the program's own,
//! with its reason (noted as [`SignalSafe`]'s `BY_THE_PROGRAM`: the end
//! reads no signal, so the status stays the program's). The request is made in two steps:
//!
//! 1. **Noted**, by the signal handler itself (or by `request_shutdown`):
//!    one atomic word in [`REQUEST`], all a handler may touch. From that
//!    moment an exit sees it: the exit's reason and ending read it
//!    (`state::ExitPlan::after_a_shutdown_request`), and an exit with
//!    status 0 ends by the signal instead. The non-blocking check
//!    ([`ShutdownRequest::signal`]) reads the same word.
//! 2. **Woken**, on the signal watcher thread (or `request_shutdown`'s):
//!    every waiter ([`waiters`]: futures, blocking waits) is woken (with a
//!    drain delay, by the delay's timer once it passed, [`delay`]), and the
//!    grace's timer starts ([`grace`]), if graceful-shutdown mode is
//!    installed in this process. The grace counts from the request, delay
//!    included.
//!
//! The request is stored once, in that word. When the exit's handlers are
//! done the exit closes it ([`SignalSafe::close_the_request`]): a request
//! made after that still wakes the waiters, but no longer changes how the
//! process ends.
//!
//! Then the drain: the program stops taking work, finishes what it has and
//! exits. Its drain ends at the first of: its own exit (which ends by the
//! signal), the grace passing, a second signal. The grace and the second
//! signal "end the drain" (one swap, so only one of them starts the exit),
//! and after that, or once any exit has started, a further signal forces
//! the end at once.
//!
//! # The signal handler's contract
//!
//! The handler (`signals::unix`'s `on_raw_signal`, the console routine on
//! Windows) runs at any moment on any thread, even inside a lock this crate
//! holds, so it takes no lock, allocates nothing and never panics. It reads
//! and writes [`REQUEST`] only, in this order:
//!
//! 1. counts the signal ([`SignalSafe::first_signal`]);
//! 2. for the first one in graceful-shutdown mode, notes the request with
//!    the grace and the drain delay in force ([`SignalSafe::note`]; with a
//!    delay, hidden from the program: one bit in the same store);
//! 3. decides, in `signals::goes_to_the_watcher`: the signal that made the
//!    request, and the first one when no request was made, go to the
//!    watcher; while a request's drain goes on and no exit has started, a
//!    later one goes to the watcher too, and ends the drain
//!    ([`SignalSafe::end_the_drain`], the last step, taken only when
//!    nothing before said "force"); any other forces the end: the signal's
//!    default action, at once.
//!
//! Besides [`REQUEST`], the Unix handler touches its platform's own
//! mechanics only: the pipe's write end that wakes the watcher, and the
//! record of which handler is this crate's (`signals::unix`).
//!
//! # Layout
//!
//! - [`signal_safe`]: the atomics, as one type, [`SignalSafe`]; a leaf.
//! - [`waiters`]: [`ShutdownRequest`] and the set of wakers, behind a lock
//!   of its own.
//! - [`grace`]: the grace's timer.
//! - [`delay`]: the drain delay's timer, which shows the program a request
//!   it hid.
//! - `token`: `CancellationToken`s, both ways (the `tokio-util` feature).

mod delay;
mod grace;
pub(crate) mod signal_safe;
#[cfg(feature = "tokio-util")]
mod token;
pub(crate) mod waiters;

pub(crate) use grace::start_the_exit_with;
#[cfg(doc)]
use signal_safe::SignalSafe;
pub(crate) use signal_safe::REQUEST;
#[cfg(feature = "tokio-util")]
pub use token::{request_shutdown_on_cancel, shutdown_token, ShutdownOnCancel};
pub use waiters::{shutdown_request, ShutdownRequest, ShutdownRequested};

use crate::reason::{ExitReason, ShutdownCause, Signal};

/// Asks for a shutdown, as the first caught signal does in graceful-shutdown
/// mode ([`CatchSignals::graceful_shutdown`](crate::CatchSignals::graceful_shutdown)),
/// for a request that is not a signal: a Windows service's stop control, an
/// admin endpoint, a test. Every [`ShutdownRequest`] wakes with `signal`;
/// the grace starts, when graceful-shutdown mode is installed in this
/// process (a forked child installs its own); the next
/// caught signal ends the drain; and the exit that follows ends as if
/// `signal` had come (by it, when the status is 0). Returns false, and
/// changes nothing, when a shutdown was asked for already.
///
/// ```no_run
/// # extern crate atexit_core as atexit;
/// use atexit::Signal;
/// // An admin endpoint's "drain and stop":
/// if atexit::request_shutdown(Signal::Term) {
///     println!("draining");
/// }
/// ```
pub fn request_shutdown(signal: Signal) -> bool {
    if !REQUEST.note(signal.number()) {
        return false; // a signal, or another call, asked first
    }
    made(ShutdownCause::Signal(signal));
    true
}

/// Asks for a shutdown in the program's own name, with a `reason` it
/// chooses (an admin endpoint's "drain and stop", a Windows service's stop
/// control, a deploy hook): no signal came, and the process does not
/// pretend one did. Every [`ShutdownRequest`] wakes with
/// [`ShutdownCause::Program`]`(reason)` (its
/// [`signal`](ShutdownRequest::signal) stays `None`); the drain timeout
/// starts, when graceful-shutdown mode is installed in this process.
/// Returns false, and changes nothing, when a shutdown was asked for
/// already (by a signal, [`request_shutdown`], or an earlier call). The
/// reason is a `&'static str` so that [`ExitReason`] stays `Copy`; one made
/// at run time can be leaked (`String::leak`): it is made once per process.
/// With a drain delay ([`CatchSignals::drain_delay`](crate::CatchSignals::drain_delay))
/// the program sees its own request after the delay, as it would a signal's.
///
/// How the process ends then (the crate docs'
/// [services](https://docs.rs/atexit/latest/atexit/services/index.html)
/// page has the table):
///
/// - the program drains and exits: with **its own status**, 0 for a clean
///   drain (not by a signal it never got), and [`exit_reason`](crate::exit_reason)
///   tells the handlers [`ExitReason::ShutdownRequested`]`(reason)` after a
///   status 0 (another status keeps its `Exit(Some(n))`);
/// - the drain timeout passes first: stderr says so, the handlers run, and
///   the process exits with **status 1** (the drain did not finish;
///   [`set_exit_code`](crate::set_exit_code) still wins);
/// - a real signal comes during the drain: it ends the drain, as a second
///   signal does after a signal's request: the handlers run now and the
///   process ends **by that signal** (or `128 + n`), which `exit_reason`
///   names: it is the one that came.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::ShutdownCause;
/// // An admin endpoint's "drain and stop":
/// assert!(atexit::request_shutdown_because("admin endpoint"));
/// let shutdown = atexit::shutdown_request();
/// assert_eq!(shutdown.cause(), Some(ShutdownCause::Program("admin endpoint")));
/// assert_eq!(shutdown.signal(), None, "no signal came");
/// assert!(!atexit::request_shutdown_because("twice"), "asked for once");
/// // Drain, then return from `main`: the handlers run, and the status is 0.
/// ```
pub fn request_shutdown_because(reason: &'static str) -> bool {
    if !REQUEST.note_by_the_program(reason) {
        return false;
    }
    made(ShutdownCause::Program(reason));
    true
}

/// The second step of the request `cause` just made (see the module
/// docs): wakes the waiters and starts the grace, unless an exit under way
/// ends the process anyway; the grace only in graceful-shutdown mode
/// installed in this process.
fn made(cause: ShutdownCause) {
    let installed_here = REQUEST.is_installed_in(std::process::id() as i32);
    let graceful_here = REQUEST.in_graceful_mode() && installed_here;
    let graced = graceful_here && !REQUEST.exit_started();
    told(cause, graceful_here);
    wake_or_delay();
    if graced {
        grace::start(cause);
    }
}

/// The exit starts: if a request came that the outside was not told of yet
/// (the program saw the signal's request and returned from `main` before
/// the watcher got to it), it is told now, so the loggers read the request
/// before the handlers' start, whichever thread gets there first
/// (`progress` tells each request once).
pub(crate) fn tell_the_request_before_the_exit() {
    // Only a signal's request in graceful-shutdown mode is told by the
    // watcher, later; the program's own requests are told as they are made.
    let installed_here = REQUEST.is_installed_in(std::process::id() as i32);
    if !(REQUEST.in_graceful_mode() && installed_here) {
        return;
    }
    if let Some(cause @ ShutdownCause::Signal(_)) = REQUEST.cause_noted() {
        told(cause, true);
    }
}

/// Tells the outside (loggers, systemd: `progress`) that `cause` asked,
/// with the drain timeout if graceful-shutdown mode gives it one
/// (`graced`) and the drain delay.
fn told(cause: ShutdownCause, graced: bool) {
    let grace = match REQUEST.request_grace_nanos() {
        u64::MAX => None,
        nanos => Some(std::time::Duration::from_nanos(nanos)),
    };
    crate::progress::shutdown_requested(
        cause,
        grace.filter(|_| graced),
        std::time::Duration::from_nanos(REQUEST.request_delay_nanos()),
    );
}

/// [`made`], on the signal watcher, for the request its signal's handler
/// made (in graceful-shutdown mode, in this process: that is when the
/// handler makes one).
pub(crate) fn made_by_a_signal(signal: Signal) {
    let graced = !REQUEST.exit_started();
    told(ShutdownCause::Signal(signal), true);
    wake_or_delay();
    if graced {
        grace::start(ShutdownCause::Signal(signal));
    }
}

/// Wakes the waiters of the request just made, or, when a drain delay
/// hides it, starts the delay that shows it and wakes them.
fn wake_or_delay() {
    if REQUEST.is_hidden() {
        delay::start();
    } else {
        waiters::wake_the_waiters();
    }
}

/// The drain ends (the grace passed, or a second signal came) while a drain
/// delay may still hide the request: the program sees it now.
pub(crate) fn show_the_request() {
    delay::show();
}

/// The exit's `reason` as the program's own request makes it (see
/// [`request_shutdown_because`]): after a status 0 (or an unknown one),
/// [`ExitReason::ShutdownRequested`]. A signal's request is the state's
/// (`ExitPlan::after_a_shutdown_request`): it changes the ending too.
pub(crate) fn reason_after_the_request(reason: ExitReason) -> ExitReason {
    match (reason, REQUEST.program_reason_for_the_end()) {
        (ExitReason::Exit(Some(0) | None), Some(asked)) => ExitReason::ShutdownRequested(asked),
        _ => reason,
    }
}

/// In a forked child, with the waker set's lock held across the fork: the
/// request was its parent's, made for the parent's drain, and so were the
/// wakers; and the exit, unless `in_the_exit` (a child forked by a handler
/// goes on with its copy of the run).
#[cfg(unix)]
pub(crate) fn forget_in_forked_child(wakers: &mut waiters::Wakers, in_the_exit: bool) {
    wakers.forget_in_forked_child();
    REQUEST.forget_in_forked_child(in_the_exit);
}
