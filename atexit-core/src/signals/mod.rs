//! Opt-in signal handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT (and SIGPIPE
//! when asked) run the exit handlers, then the process dies by the same
//! signal, or exits with `128 + number`.
//!
//! This module installs the handlers and decides, for each signal, whether
//! it asks (wakes the watcher thread, which starts the exit or, in
//! graceful-shutdown mode, the shutdown request) or forces the end (the
//! signal's default action, at once). The state that decision reads is the
//! shutdown's ([`shutdown::REQUEST`]), whose
//! module docs give the handler's contract; the request itself, its
//! waiters and its grace are `shutdown`'s too.
//!
//! - [`config`]: the [`CatchSignals`] builder and [`SignalEnding`];
//! - [`replaced`]: the signals that no longer reach this crate's handler;
//! - `unix` and `windows`: the handler proper and the watcher.

mod config;
mod decide;
mod replaced;

pub use config::{CatchSignals, SignalEnding};
pub use replaced::replaced_signals;

use crate::exit;
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
    pub(super) fn install(_: &super::config::CatchSignals) -> std::io::Result<()> {
        Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "atexit: signals are not supported on this platform",
        ))
    }

    pub(super) fn replaced() -> Vec<crate::reason::Signal> {
        Vec::new()
    }

    pub(super) fn blocked() -> Vec<crate::reason::Signal> {
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

impl CatchSignals {
    /// Installs the signal handling. Installing again is harmless: it adds
    /// signals not caught yet, and sets for all of them what this builder
    /// asked for, and only that: the ending, if it named one with
    /// [`ending`](CatchSignals::ending), and graceful-shutdown mode with its
    /// grace, if it asked with
    /// [`graceful_shutdown`](CatchSignals::graceful_shutdown). So a
    /// library's plain [`catch_signals`] neither switches a binary's
    /// graceful-shutdown mode off nor changes its ending. Graceful-shutdown
    /// mode, once on, stays on. A shutdown already
    /// requested stays requested, with the grace that was in force when it
    /// was taken, and the next signal still ends its drain. A failed
    /// install leaves the mode and the ending as they were.
    ///
    /// A signal taken from the default set ([`CatchSignals::new`]) that is
    /// ignored when this runs (as `nohup` does for SIGHUP, and shells for
    /// SIGINT and SIGQUIT in background jobs) stays ignored; one the program
    /// named with [`CatchSignals::signal`] or [`CatchSignals::only`] is
    /// caught anyway: naming it is asking for it.
    ///
    /// Handlers installed earlier, through `signal-hook`, `tokio::signal` or
    /// a plain `sigaction` (`ctrlc`), are kept and called first when the
    /// signal arrives (chained); ones installed later through `signal-hook`
    /// or `tokio::signal` are called too. A handler installed later with a
    /// plain `sigaction` (`ctrlc::set_handler`) replaces this crate's:
    /// [`replaced_signals`] tells, and an exit reports it on stderr. See the
    /// crate docs' [signals](https://docs.rs/atexit/latest/atexit/signals/index.html#other-signal-users) page for who wins.
    ///
    /// # Errors
    ///
    /// The error of the system call that failed (creating the wake-up pipe,
    /// starting the watcher thread, installing a handler); on a platform
    /// without signals, `ErrorKind::Unsupported`.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// atexit::CatchSignals::new().install()?;
    /// atexit::CatchSignals::new().install()?; // harmless
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn install(&self) -> io::Result<()> {
        install(self)
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
        config.delay,
        config.ending.map(|ending| ending == SignalEnding::ExitCode),
    );
    // Told when an exit starts, from now on: a signal this install
    // catches may be replaced. And the exit a grace starts is a signal's.
    exit::report_on_start(replaced::report_lost);
    // After the program's own request no signal came: status 1, the drain
    // did not finish.
    shutdown::start_the_exit_with(|cause| match cause.signal() {
        Some(signal) => decide::on_signal(signal, None),
        None => exit::exit(exit::Way::Exit(1)),
    });
    let installed = imp::install(config);
    if installed.is_err() {
        REQUEST.restore(before);
    } else if let Some(on) = config.notify_systemd {
        crate::systemd::enable(on);
    }
    installed
}
