//! Opt-in signal handling: SIGINT, SIGTERM, SIGHUP and SIGQUIT (and SIGPIPE
//! when asked) run the exit handlers, then the process dies by the same
//! signal, or exits with `128 + number`.
//!
//! The real signal handler only does async-signal-safe work: it wakes a
//! watcher thread, which runs the handlers as any exit does. A second signal
//! while they run ends the process at once.
//!
//! In graceful-shutdown mode the watcher does not start the exit on the first signal:
//! it records a shutdown request (`shutdown`), which wakes the program's
//! waiters, and starts the grace's timer. The exit then starts when the
//! program returns from `main` (or exits), when the grace passes, or when a
//! second signal comes, whichever is first; a signal once the exit has
//! started, or once a signal (or the grace) has ended the drain, ends the
//! process at once. The signal handler tells those apart by atomics: the
//! signals received, the request and whether its drain was ended
//! (`request`), and `exit::has_started`.

use crate::exit;
use crate::os;
use crate::reason::Signal;
use crate::request;
use crate::shutdown;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

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

    pub(super) fn installed_here() -> bool {
        false
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
#[must_use = "a CatchSignals catches nothing until `.install()` is called"]
pub struct CatchSignals {
    signals: Vec<Signal>,
    /// The ones the program named (with `only` or `signal`), which are caught
    /// even when ignored at start.
    named: Vec<Signal>,
    /// The ending, when the program asked for one: an install sets only
    /// what was asked for, so that a library's plain `catch_signals()`
    /// does not undo the binary's choice.
    ending: Option<SignalEnding>,
    /// Graceful-shutdown mode, with its grace, when asked for: the first
    /// signal asks for a shutdown.
    grace: Option<Duration>,
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
    /// library's plain [`catch_signals`]) keeps the one in force.
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
    /// [`catch_signals`] for its own sake) keeps it and its drain timeout,
    /// and one with it sets a new drain timeout. `Duration::ZERO` is the
    /// closest to the mode off: the first signal runs the handlers at once,
    /// and still wakes the waiters. The crate docs' "Services" section has
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
    /// crate docs' "Services" section for who wins.
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
        // One install at a time, so that a failed one restores what it
        // found, not another's settings.
        static INSTALLING: Mutex<()> = Mutex::new(());
        let _installing = INSTALLING.lock().unwrap_or_else(PoisonError::into_inner);
        // The mode first: a signal that comes as soon as the handler is in
        // must find it. A failed install puts the old one back.
        let old_grace = GRACE_NANOS.load(Ordering::SeqCst);
        if let Some(grace) = self.grace {
            // Nanoseconds, 0 for an instant, `u64::MAX` for no bound.
            let nanos = u64::try_from(grace.as_nanos()).map_or(u64::MAX, |n| n.min(u64::MAX - 1));
            GRACE_NANOS.store(nanos, Ordering::SeqCst);
        }
        // Only what this builder asked for: a plain install keeps the mode
        // and the ending in force.
        let old_mode = REQUEST_MODE.fetch_or(self.grace.is_some(), Ordering::SeqCst);
        let old_ending = request::by_exit_code();
        if let Some(ending) = self.ending {
            request::set_by_exit_code(ending == SignalEnding::ExitCode);
        }
        // Told when an exit starts, from now on: a signal this install
        // catches may be replaced.
        exit::report_on_start(report_lost);
        let installed = imp::install(self);
        if installed.is_err() {
            GRACE_NANOS.store(old_grace, Ordering::SeqCst);
            REQUEST_MODE.store(old_mode, Ordering::SeqCst);
            request::set_by_exit_code(old_ending);
        }
        installed
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

/// The signals installed by [`catch_signals`] or [`CatchSignals::install`]
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
/// [`catch_signals`] itself, it is empty. On Windows, where console handlers
/// are added and never replaced, it is always empty (see the crate docs'
/// "Services" section for what a later console handler does there).
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
fn report_lost(delivered: Option<Signal>) {
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
    let mut report = String::new();
    if !replaced.is_empty() {
        report.push_str(&format!(
            "atexit: {} no longer {} the exit handlers: a handler set after \
             catch_signals() with a plain sigaction or signal (as ctrlc::set_handler \
             does) replaced this crate's, unless it calls this crate's in turn\n",
            replaced.join(", "),
            runs(&replaced),
        ));
    }
    if !blocked.is_empty() {
        report.push_str(&format!(
            "atexit: {} no longer {} the exit handlers: {} blocked in every thread \
             (or waited for with sigwait), as a library taking signals with \
             signalfd or sigwait does\n",
            blocked.join(", "),
            runs(&blocked),
            if blocked.len() == 1 {
                "it is"
            } else {
                "they are"
            },
        ));
    }
    os::write_stderr(report.as_bytes(), Duration::from_secs(1));
}

/// Asks for a shutdown, as the first caught signal does in graceful-shutdown
/// mode ([`CatchSignals::graceful_shutdown`]), for a request that is not a
/// signal: a Windows service's stop control, an admin endpoint, a test.
/// Every [`ShutdownRequest`](crate::ShutdownRequest) wakes with `signal`;
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
    let grace = GRACE_NANOS.load(Ordering::SeqCst);
    if !request::note(signal.number()) {
        return false; // a signal, or another call, asked first
    }
    shutdown::record(signal);
    if REQUEST_MODE.load(Ordering::SeqCst) && imp::installed_here() && !exit::has_started() {
        start_grace(signal, grace);
    }
    true
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

/// Graceful-shutdown mode is on: the first signal asks for a shutdown.
static REQUEST_MODE: AtomicBool = AtomicBool::new(false);
/// Graceful-shutdown mode's grace, in nanoseconds; `u64::MAX` for no bound.
static GRACE_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

/// The grace in force when the signal handler noted the request: the one
/// its timer runs for, whatever the program installs after.
static REQUEST_GRACE_NANOS: AtomicU64 = AtomicU64::new(u64::MAX);

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
    let requested = request::signal().is_some();
    made_the_request
        || (first && !requested)
        || ((REQUEST_MODE.load(Ordering::SeqCst) || requested)
            && !exit::has_started()
            && request::end_the_drain())
}

/// In the signal handler, for the first signal: in graceful-shutdown mode,
/// note the request at once, so that an exit that starts before the watcher
/// thread wakes (a `ctrlc` handler's `exit(0)`, `main` returning) ends by
/// the signal too, with the grace in force now. True when this signal made
/// the request (none was made before, by `request_shutdown`): the watcher
/// then records it and starts the grace. Async-signal-safe: atomics only.
fn note_first_signal(number: i32) -> bool {
    if !REQUEST_MODE.load(Ordering::SeqCst) {
        return false;
    }
    let grace = GRACE_NANOS.load(Ordering::SeqCst);
    let made = request::note(number);
    if made {
        REQUEST_GRACE_NANOS.store(grace, Ordering::SeqCst);
    }
    made
}

/// What the watcher thread does with a caught signal; `made_the_request`
/// when its signal handler noted the request.
fn on_caught(signal: Signal, made_the_request: bool) {
    if made_the_request {
        // The grace in force when the signal came: the program, which sees
        // the request at once, may install again before the timer starts.
        let grace = REQUEST_GRACE_NANOS.load(Ordering::SeqCst);
        shutdown::record(signal);
        if !exit::has_started() {
            start_grace(signal, grace);
        }
        // Else the exit under way ends the process.
        return;
    }
    match request::signal() {
        // A request was made (by a signal, or `request_shutdown`): this
        // signal ends the drain.
        Some(first) => {
            if !exit::has_started() {
                let report = format!(
                    "atexit: {signal} during the shutdown asked for by {first} ends the drain: the \
                     exit handlers run now\n"
                );
                os::write_stderr(report.as_bytes(), Duration::from_secs(1));
                on_signal(first, Some(signal));
            }
        }
        None => on_signal(signal, Some(signal)),
    }
}

/// Makes the exit start when graceful-shutdown mode's grace passes, if the program
/// has not started it by then.
fn start_grace(signal: Signal, grace_nanos: u64) {
    let grace = match grace_nanos {
        u64::MAX => return, // no bound
        nanos => Duration::from_nanos(nanos),
    };
    // On a thread of its own even for a zero grace: the caller may be the
    // signal watcher, which must stay free for the next signal, or the
    // program's thread asking with `request_shutdown`.
    let spawned = std::thread::Builder::new()
        .name("atexit-grace".into())
        .spawn(move || {
            if grace.is_zero() {
                // At once, as documented: no report. The next signal forces.
                request::end_the_drain();
                return on_signal(signal, None);
            }
            std::thread::sleep(grace);
            end_the_drain(signal, grace)
        });
    if spawned.is_err() {
        os::write_stderr(
            b"atexit: cannot start the shutdown grace's thread; the drain has no bound\n",
            Duration::from_secs(1),
        );
    }
}

/// The grace passed: unless the exit has started, run the handlers now,
/// while the program is still draining, and end by the signal.
fn end_the_drain(signal: Signal, grace: Duration) {
    if exit::has_started() {
        return; // the program's exit (bounded by the deadline) ends it
    }
    if !request::end_the_drain() {
        return; // a signal ended the drain first: its exit ends the process
    }
    let report = format!(
        "atexit: the shutdown grace of {grace:?} after {signal} passed before the program \
         exited: the exit handlers run now\n"
    );
    os::write_stderr(report.as_bytes(), Duration::from_secs(1));
    on_signal(signal, None);
}

/// Runs the exit handlers like any exit, then ends the process as
/// configured; `delivered` is the signal whose delivery starts it, if one
/// does.
fn on_signal(signal: Signal, delivered: Option<Signal>) {
    exit::exit(exit::Way::Signal { signal, delivered })
}
