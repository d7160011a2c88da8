//! Opt-in signal handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT (and SIGPIPE
//! when asked) run the exit handlers, then the process dies by the same
//! signal, or exits with `128 + number`.
//!
//! The real signal handler only does async-signal-safe work: it wakes a
//! watcher thread, which runs the handlers as any exit does. A second signal
//! while they run ends the process at once.

use crate::exit::ending::{self, Context, Ending};
use crate::exit::{self, ExitRun};
use crate::os;
use crate::reason::{ExitReason, Signal};
use crate::state::ExitPlan;
use std::io;

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
}

/// How the process ends after the exit handlers of a caught signal.
///
/// ```no_run
/// # extern crate atexit_core as atexit;
/// use atexit::{CatchSignals, SignalEnding};
/// // A supervisor that reads exit codes: SIGTERM ends the process with 143.
/// CatchSignals::new()
///     .ending(SignalEnding::ExitCode)
///     .install()
///     .expect("signal handling");
/// ```
///
/// Non-exhaustive: more endings may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignalEnding {
    /// Die by the same signal (default action restored, signal raised
    /// again), so the parent sees a death by that signal (`WIFSIGNALED`):
    /// what shells and process supervisors rely on. The default.
    #[default]
    Reraise,
    /// Exit with status `128 + signal number` (130 for SIGINT, 143 for
    /// SIGTERM), the convention of Java, Node and the Python recipe.
    ExitCode,
}

/// Which signals run the exit handlers, and how the process ends then; built
/// up and then [`install`](CatchSignals::install)ed. [`catch_signals`] is the
/// default.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::{CatchSignals, Signal, SignalEnding};
///
/// CatchSignals::new()
///     .signal(Signal::Pipe)
///     .ending(SignalEnding::ExitCode)
///     .install()
///     .expect("signal handling");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatchSignals {
    signals: Vec<Signal>,
    /// The ones the program named (with `only` or `signal`), which are caught
    /// even when ignored at start.
    named: Vec<Signal>,
    ending: SignalEnding,
}

impl Default for CatchSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl CatchSignals {
    /// SIGINT, SIGTERM, SIGHUP and SIGQUIT, ending by the same signal.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// let catch = atexit::CatchSignals::new();
    /// assert_eq!(catch.signals(), &atexit::Signal::DEFAULT);
    /// ```
    pub fn new() -> Self {
        CatchSignals {
            signals: Signal::DEFAULT.to_vec(),
            named: Vec::new(),
            ending: SignalEnding::Reraise,
        }
    }

    /// Only these signals, instead of the default four. Named signals are
    /// caught even when ignored at start (see [`CatchSignals::install`]).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::Signal;
    /// let catch = atexit::CatchSignals::new().only([Signal::Term]);
    /// assert_eq!(catch.signals(), &[Signal::Term]);
    /// ```
    pub fn only(mut self, signals: impl IntoIterator<Item = Signal>) -> Self {
        self.signals.clear();
        self.named.clear();
        for signal in signals {
            self = self.signal(signal);
        }
        self
    }

    /// Also this signal (SIGPIPE is caught only when added here). A named
    /// signal is caught even when ignored at start (see
    /// [`CatchSignals::install`]).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::Signal;
    /// let catch = atexit::CatchSignals::new().signal(Signal::Pipe);
    /// assert!(catch.signals().contains(&Signal::Pipe));
    /// ```
    pub fn signal(mut self, signal: Signal) -> Self {
        if !self.signals.contains(&signal) {
            self.signals.push(signal);
        }
        if !self.named.contains(&signal) {
            self.named.push(signal);
        }
        self
    }

    /// Whether the program named `signal` (with `only` or `signal`), rather
    /// than taking it from the default set. Only Unix has signals that can
    /// be ignored at start (the case it decides).
    #[cfg(unix)]
    pub(crate) fn is_named(&self, signal: Signal) -> bool {
        self.named.contains(&signal)
    }

    /// How the process ends after the handlers: [`SignalEnding::Reraise`]
    /// (the default) or [`SignalEnding::ExitCode`].
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::SignalEnding;
    /// let catch = atexit::CatchSignals::new().ending(SignalEnding::ExitCode);
    /// assert_eq!(catch.ending_kind(), SignalEnding::ExitCode);
    /// ```
    pub fn ending(mut self, ending: SignalEnding) -> Self {
        self.ending = ending;
        self
    }

    /// The signals it catches.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::{CatchSignals, Signal};
    /// let catch = CatchSignals::new().signal(Signal::Pipe);
    /// assert!(catch.signals().contains(&Signal::Pipe));
    /// assert!(catch.signals().contains(&Signal::Term));
    /// ```
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// How the process ends after a caught signal.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::{CatchSignals, SignalEnding};
    /// assert_eq!(CatchSignals::new().ending_kind(), SignalEnding::Reraise);
    /// ```
    pub fn ending_kind(&self) -> SignalEnding {
        self.ending
    }

    /// Installs the signal handling. Installing again is harmless: it adds
    /// signals not caught yet and sets the ending for all of them.
    ///
    /// A signal taken from the default set ([`CatchSignals::new`]) that is
    /// ignored when this runs (as `nohup` does for SIGHUP, and shells for
    /// SIGINT and SIGQUIT in background jobs) stays ignored; one the program
    /// named with [`CatchSignals::signal`] or [`CatchSignals::only`] is
    /// caught anyway: naming it is asking for it. Handlers installed earlier through `signal-hook` or `sigaction`
    /// are kept and called first, when the signal arrives (chained); a
    /// handler installed later with plain `sigaction` replaces this crate's.
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
        imp::install(self)
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
/// [`exit_reason`](crate::exit_reason). Calling it twice is harmless.
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
        os::write_stderr(
            format!("atexit: cannot catch signals: {error}\n").as_bytes(),
            std::time::Duration::from_secs(1),
        );
    }
}

/// What the watcher thread does with a caught signal: run the exit handlers
/// like any exit, then end the process as configured.
fn on_signal(signal: Signal, ending: SignalEnding) {
    let ending = match ending {
        SignalEnding::Reraise => Ending::Signal(signal),
        SignalEnding::ExitCode => Ending::Code(128 + signal.number()),
    };
    let plan = ExitPlan {
        reason: ExitReason::Signal(signal),
        ending,
    };
    ending::flush_stdout();
    match exit::run_at_exit(plan) {
        ExitRun::Ran => ending::end(exit::current_ending(), Context::Outside),
        // Another exit is under way; it ends the process.
        _ => exit::park_forever(),
    }
}
