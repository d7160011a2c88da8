//! What to catch and how to end: the [`CatchSignals`] builder and
//! [`SignalEnding`]. Installing is `signals`'s.

use crate::reason::Signal;
use std::time::Duration;

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
/// up and then [`install`](CatchSignals::install)ed. [`catch_signals`](crate::catch_signals) is the
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
#[must_use = "a CatchSignals catches nothing until `.install()` is called"]
pub struct CatchSignals {
    signals: Vec<Signal>,
    /// The ones the program named (with `only` or `signal`), which are caught
    /// even when ignored at start.
    named: Vec<Signal>,
    /// The ending, when the program asked for one: an install sets only
    /// what was asked for, so that a library's plain `catch_signals()`
    /// does not undo the binary's choice.
    pub(super) ending: Option<SignalEnding>,
    /// Graceful-shutdown mode, with its grace, when asked for: the first
    /// signal asks for a shutdown.
    pub(super) grace: Option<Duration>,
    /// Graceful-shutdown mode's drain delay, when asked for.
    pub(super) delay: Option<Duration>,
    /// systemd's stop notifications, when asked for (on or off).
    pub(super) notify_systemd: Option<bool>,
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
    /// assert_eq!(catch.get_signals(), &atexit::Signal::DEFAULT);
    /// ```
    pub fn new() -> Self {
        CatchSignals {
            signals: Signal::DEFAULT.to_vec(),
            named: Vec::new(),
            ending: None,
            grace: None,
            delay: None,
            notify_systemd: None,
        }
    }

    /// Only these signals, instead of the default four. Named signals are
    /// caught even when ignored at start (see [`CatchSignals::install`]).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::Signal;
    /// let catch = atexit::CatchSignals::new().only([Signal::Term]);
    /// assert_eq!(catch.get_signals(), &[Signal::Term]);
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
    /// assert!(catch.get_signals().contains(&Signal::Pipe));
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
    /// (the default) or [`SignalEnding::ExitCode`]. Installing sets it for
    /// every caught signal; an install that does not name an ending (a
    /// library's plain [`catch_signals`](crate::catch_signals)) keeps the one in force.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::SignalEnding;
    /// let catch = atexit::CatchSignals::new().ending(SignalEnding::ExitCode);
    /// assert_eq!(catch.get_ending(), SignalEnding::ExitCode);
    /// ```
    pub fn ending(mut self, ending: SignalEnding) -> Self {
        self.ending = Some(ending);
        self
    }

    /// Graceful-shutdown mode, for services that shut down on their own:
    /// the first caught signal does not end the process, it asks for a
    /// shutdown, which the program awaits or checks with
    /// [`shutdown_request`](crate::shutdown_request). The program drains
    /// (stops taking work, finishes what it has) and exits; then the exit
    /// handlers run, and the process ends by that signal (or with
    /// `128 + number`, with [`SignalEnding::ExitCode`]) when its status was
    /// 0, so that its supervisor sees why it stopped.
    ///
    /// `drain_timeout` bounds the drain: when it passes first, the handlers
    /// run anyway and the process ends by the signal. A second signal ends
    /// the drain at once, and a third forces the end.
    ///
    /// Once installed, the mode stays for the process: a later install
    /// without `graceful_shutdown` (a library calling
    /// [`catch_signals`](crate::catch_signals) for its own sake) keeps it and its drain timeout,
    /// and one with it sets a new drain timeout. `Duration::ZERO` is the
    /// closest to the mode off: the first signal runs the handlers at once,
    /// and still wakes the waiters. The crate docs' [services](https://docs.rs/atexit/latest/atexit/services/index.html) page has
    /// the whole table (every exit after the request, the drain timeout, the
    /// second signal, the bounds, other signal users). `Duration::MAX` is no
    /// bound.
    ///
    /// ```no_run
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    ///
    /// // systemd's TimeoutStopSec=30: 20 s to drain, 5 s for the handlers.
    /// atexit::set_deadline(Some(Duration::from_secs(5)));
    /// atexit::CatchSignals::new()
    ///     .graceful_shutdown(Duration::from_secs(20))
    ///     .install()?;
    /// atexit::register(|| println!("stats flushed"));
    /// let signal = atexit::shutdown_request().wait();
    /// println!("{signal}: draining");
    /// // ... finish the work in hand, then return: the process dies by `signal`.
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn graceful_shutdown(mut self, drain_timeout: Duration) -> Self {
        self.grace = Some(drain_timeout);
        self
    }

    /// A drain delay for graceful-shutdown mode: the request is noted when
    /// the signal comes (an exit then ends by it, and the drain timeout
    /// counts from it), but the program sees it only `delay` later: its
    /// [`ShutdownRequest`](crate::ShutdownRequest)s wake,
    /// [`is_requested`](crate::ShutdownRequest::is_requested) turns true
    /// and the [`shutdown_token`](https://docs.rs/atexit/latest/atexit/fn.shutdown_token.html)
    /// is cancelled then. Meanwhile the service keeps taking work: the time a
    /// load balancer (a Kubernetes `Service`'s endpoints, an AWS target
    /// group) needs to stop sending traffic after SIGTERM, which Kubernetes
    /// users otherwise buy with a `preStop` hook's `sleep`.
    ///
    /// The delay is inside the drain timeout, not added to it: set the
    /// drain timeout to the delay plus the time the drain needs. A second
    /// signal during the delay ends the drain as ever (the program sees the
    /// request at that moment, and the handlers run), and so does the drain
    /// timeout, when it passes first (a delay as long as the drain timeout
    /// or longer: the program never drains, the handlers run when it
    /// passes). `Duration::ZERO` (the default) is no delay; `Duration::MAX`
    /// with an unbounded drain timeout hides the request until a second
    /// signal. The delay applies to every request made while the mode is
    /// on, [`request_shutdown`](crate::request_shutdown) and
    /// [`request_shutdown_because`](crate::request_shutdown_because)
    /// included, and without graceful-shutdown mode to none. As with the
    /// drain timeout, an install sets it only when asked for, and a request
    /// keeps the delay in force when it was made. The delay is timed by a
    /// thread of the crate's: the signal handler only sets a bit.
    ///
    /// ```no_run
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    ///
    /// // Kubernetes: 30 s grace period; endpoints are updated within ~5 s.
    /// atexit::set_deadline(Some(Duration::from_secs(4)));
    /// atexit::CatchSignals::new()
    ///     .graceful_shutdown(Duration::from_secs(25)) // 5 s of delay, 20 s to drain
    ///     .drain_delay(Duration::from_secs(5))
    ///     .install()?;
    /// let cause = atexit::shutdown_request().wait(); // 5 s after SIGTERM
    /// println!("{cause}: draining");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// systemd's notify protocol for the stop: when `NOTIFY_SOCKET` is set
    /// (a `Type=notify` unit), tell systemd `STOPPING=1` when the shutdown
    /// starts (the request, or an exit, whichever comes first) and, while
    /// the end is bounded, `EXTEND_TIMEOUT_USEC` with the time it still
    /// needs: at the request, the drain timeout plus the exit deadline
    /// ([`set_deadline`](crate::set_deadline)) plus one second; when the
    /// exit starts, its deadline plus one second. So systemd waits for a
    /// drain longer than its `TimeoutStopSec` (and still kills the process
    /// when the promised time has passed), and `systemctl status` shows the
    /// unit as stopping. With no bound (no deadline, or an unbounded drain
    /// timeout) only `STOPPING=1` is sent.
    ///
    /// Off by default, as `sd_notify` is a unit's choice: a library's
    /// install does not turn it on, and `notify_systemd(false)` turns it
    /// off. `NOTIFY_SOCKET` is read, and the socket opened, by the
    /// install: a path, or an abstract name as `@name` (Linux). Each
    /// message is one datagram sent non-blocking: a send never waits, and
    /// a failed one (nobody listening, a full queue, an unusable address)
    /// is ignored, as `sd_notify` does. Only the installing process sends
    /// (a forked child does not: systemd listens to the main process). On
    /// platforms without Unix sockets it does nothing.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    /// // A `Type=notify` unit with `TimeoutStopSec=30`:
    /// let catch = atexit::CatchSignals::new()
    ///     .graceful_shutdown(Duration::from_secs(20))
    ///     .notify_systemd(true);
    /// assert_eq!(catch.get_notify_systemd(), Some(true));
    /// catch.install()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn notify_systemd(mut self, on: bool) -> Self {
        self.notify_systemd = Some(on);
        self
    }

    /// Whether [`notify_systemd`](CatchSignals::notify_systemd) was asked
    /// for, on or off; `None` when this builder leaves it as it is.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::CatchSignals::new().get_notify_systemd(), None);
    /// ```
    pub fn get_notify_systemd(&self) -> Option<bool> {
        self.notify_systemd
    }

    /// The drain delay, if [`drain_delay`](CatchSignals::drain_delay) was
    /// asked for.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    /// let catch = atexit::CatchSignals::new();
    /// assert_eq!(catch.get_drain_delay(), None);
    /// let catch = catch.drain_delay(Duration::from_secs(5));
    /// assert_eq!(catch.get_drain_delay(), Some(Duration::from_secs(5)));
    /// ```
    pub fn get_drain_delay(&self) -> Option<Duration> {
        self.delay
    }

    /// The drain timeout of graceful-shutdown mode, if
    /// [`graceful_shutdown`](CatchSignals::graceful_shutdown) was asked for.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    /// let catch = atexit::CatchSignals::new();
    /// assert_eq!(catch.get_graceful_shutdown(), None);
    /// let catch = catch.graceful_shutdown(Duration::from_secs(20));
    /// assert_eq!(catch.get_graceful_shutdown(), Some(Duration::from_secs(20)));
    /// ```
    pub fn get_graceful_shutdown(&self) -> Option<Duration> {
        self.grace
    }

    /// The signals it catches.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::{CatchSignals, Signal};
    /// let catch = CatchSignals::new().signal(Signal::Pipe);
    /// assert!(catch.get_signals().contains(&Signal::Pipe));
    /// assert!(catch.get_signals().contains(&Signal::Term));
    /// ```
    pub fn get_signals(&self) -> &[Signal] {
        &self.signals
    }

    /// How the process ends after a caught signal, as this builder says:
    /// the one named with [`ending`](CatchSignals::ending), else
    /// [`SignalEnding::Reraise`], the default (which installing a builder
    /// that names none does not impose on an ending installed before).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::{CatchSignals, SignalEnding};
    /// assert_eq!(CatchSignals::new().get_ending(), SignalEnding::Reraise);
    /// ```
    pub fn get_ending(&self) -> SignalEnding {
        self.ending.unwrap_or_default()
    }
}
