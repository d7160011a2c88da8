//! Why the process is exiting, as handlers can ask with `exit_reason`.

use std::fmt;

/// A signal that [`catch_signals`](crate::catch_signals) can turn into an
/// orderly exit.
///
/// On Windows the console control events stand in for them: Ctrl+C is
/// [`Signal::Int`], Ctrl+Break is [`Signal::Quit`], and closing the console
/// or shutting down is [`Signal::Hup`] (the logoff event, which only
/// services get, is left alone).
///
/// ```
/// use atexit_core::Signal;
/// # #[cfg(unix)]
/// assert_eq!(Signal::Term.number(), 15);
/// assert_eq!(Signal::Int.to_string(), "SIGINT");
/// ```
///
/// Non-exhaustive: more signals may be added, so a `match` on it needs a
/// `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT: Ctrl+C in a terminal.
    Int,
    /// SIGTERM: the polite "please stop" of `kill`, systemd and Kubernetes.
    Term,
    /// SIGHUP: the terminal went away.
    Hup,
    /// SIGQUIT: Ctrl+\ in a terminal; its default action also dumps core.
    Quit,
    /// SIGPIPE: a write to a pipe nobody reads. Rust ignores it by default
    /// (writes fail with `BrokenPipe` instead), so it is caught only when
    /// asked for.
    Pipe,
}

impl Signal {
    /// The four signals caught by default.
    pub const DEFAULT: [Signal; 4] = [Signal::Int, Signal::Term, Signal::Hup, Signal::Quit];

    /// The signal's number on this platform (on Windows, the Unix number, as
    /// used for the `128 + number` exit status).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::Signal::Term.number(), 15);
    /// assert_eq!(128 + atexit::Signal::Int.number(), 130);
    /// ```
    pub fn number(self) -> i32 {
        match self {
            Signal::Hup => 1,
            Signal::Int => 2,
            Signal::Quit => 3,
            Signal::Pipe => 13,
            Signal::Term => 15,
        }
    }

    /// The signal with this number, if it is one of these.
    ///
    /// ```
    /// use atexit_core::Signal;
    /// assert_eq!(Signal::from_number(15), Some(Signal::Term));
    /// assert_eq!(Signal::from_number(9), None);
    /// ```
    pub fn from_number(number: i32) -> Option<Signal> {
        [
            Signal::Hup,
            Signal::Int,
            Signal::Quit,
            Signal::Pipe,
            Signal::Term,
        ]
        .into_iter()
        .find(|signal| signal.number() == number)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
            Signal::Quit => "SIGQUIT",
            Signal::Pipe => "SIGPIPE",
        })
    }
}

/// The number is none of the signals [`Signal`] names: the error of
/// `Signal::try_from(number)`.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::Signal;
/// assert_eq!(Signal::try_from(15), Ok(Signal::Term));
/// let error = Signal::try_from(9).unwrap_err();
/// assert_eq!(error.number(), 9);
/// assert_eq!(error.to_string(), "signal 9 is not one atexit catches");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnknownSignal {
    number: i32,
}

impl UnknownSignal {
    /// The number that was given.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::Signal::try_from(-1).unwrap_err().number(), -1);
    /// ```
    pub fn number(self) -> i32 {
        self.number
    }
}

impl fmt::Display for UnknownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "signal {} is not one atexit catches", self.number)
    }
}

impl std::error::Error for UnknownSignal {}

/// [`Signal::from_number`], with an error that says which number it was.
impl TryFrom<i32> for Signal {
    type Error = UnknownSignal;

    fn try_from(number: i32) -> Result<Signal, UnknownSignal> {
        Signal::from_number(number).ok_or(UnknownSignal { number })
    }
}

/// What asked for the shutdown: a caught signal (in graceful-shutdown
/// mode), or the program itself, with the reason it gave to
/// [`request_shutdown_because`](crate::request_shutdown_because) (an admin
/// endpoint, a Windows service's stop control, a test). What a
/// [`ShutdownRequest`](crate::ShutdownRequest) resolves to.
///
/// It compares equal to the [`Signal`] that asked, and displays as the
/// signal's name or as `the program's request (reason)`.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::{ShutdownCause, Signal};
/// let by_term = ShutdownCause::Signal(Signal::Term);
/// assert_eq!(by_term, Signal::Term);
/// assert_eq!(by_term.to_string(), "SIGTERM");
/// let by_admin = ShutdownCause::Program("admin endpoint");
/// assert_eq!(by_admin.signal(), None);
/// assert_eq!(by_admin.to_string(), "the program's request (admin endpoint)");
/// ```
///
/// Non-exhaustive: more causes may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShutdownCause {
    /// A caught signal (or [`request_shutdown`](crate::request_shutdown)
    /// in its name).
    Signal(Signal),
    /// [`request_shutdown_because`](crate::request_shutdown_because), with
    /// its reason.
    Program(&'static str),
}

impl ShutdownCause {
    /// The signal that asked, if one did.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use atexit::{ShutdownCause, Signal};
    /// assert_eq!(ShutdownCause::Signal(Signal::Int).signal(), Some(Signal::Int));
    /// assert_eq!(ShutdownCause::Program("test").signal(), None);
    /// ```
    pub fn signal(self) -> Option<Signal> {
        match self {
            ShutdownCause::Signal(signal) => Some(signal),
            ShutdownCause::Program(_) => None,
        }
    }
}

/// A cause is its signal, for the code that awaited a `Signal` before
/// [`ShutdownCause`] existed: `cause == Signal::Term`.
impl PartialEq<Signal> for ShutdownCause {
    fn eq(&self, signal: &Signal) -> bool {
        self.signal() == Some(*signal)
    }
}

impl fmt::Display for ShutdownCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShutdownCause::Signal(signal) => fmt::Display::fmt(signal, f),
            ShutdownCause::Program(reason) => write!(f, "the program's request ({reason})"),
        }
    }
}

/// How the process is ending, for handlers that behave differently on a
/// crash than on a clean exit. See [`exit_reason`](crate::exit_reason).
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::register(|| match atexit::exit_reason() {
///     Some(atexit::ExitReason::Exit(Some(0))) => println!("clean exit"),
///     Some(atexit::ExitReason::Signal(signal)) => println!("stopped by {signal}"),
///     Some(atexit::ExitReason::Panic) => println!("main panicked"),
///     Some(other) => println!("exiting: {other:?}"),
///     None => println!("run by run_exitfuncs, not an exit"),
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExitReason {
    /// `main` returned, or `std::process::exit` or [`exit`](crate::exit) was
    /// called, with this status. `None` where the platform does not tell the
    /// status to exit handlers: returning from `main` and `std::process::exit`
    /// report it on Linux with glibc, `atexit::exit` everywhere.
    Exit(Option<i32>),
    /// A signal caught by [`catch_signals`](crate::catch_signals); in
    /// graceful-shutdown mode also an exit with status 0 (or an unknown
    /// one) after the signal asked for the shutdown, or after
    /// [`request_shutdown`](crate::request_shutdown).
    Signal(Signal),
    /// `main` panicked (the process exits with status 101). Told apart from
    /// `Exit(Some(101))` by a panic hook this crate chains in front of the
    /// existing one at start-up, which notes panics on the thread named
    /// `main`; a program that replaces the panic hook later sees
    /// `Exit(Some(101))` instead. Where the status is not known (not glibc),
    /// a panic of `main` that was caught and followed by a normal return also
    /// reads as `Panic`.
    Panic,
    /// The program asked for the shutdown with
    /// [`request_shutdown_because`](crate::request_shutdown_because)`(reason)`,
    /// then exited with status 0 (or one the platform does not tell): a
    /// clean drain, and the process ends with that status, not by a signal
    /// it never got. Another status, a panic, and an exit that a signal or
    /// the drain timeout started keep their own reason (see the crate docs'
    /// [services](https://docs.rs/atexit/latest/atexit/services/index.html) page).
    ShutdownRequested(&'static str),
}

/// A short phrase for logs: `exit status 3`, `exit (status unknown)`,
/// `SIGTERM`, `panic in main`.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::{ExitReason, Signal};
/// assert_eq!(ExitReason::Exit(Some(3)).to_string(), "exit status 3");
/// assert_eq!(ExitReason::Exit(None).to_string(), "exit (status unknown)");
/// assert_eq!(ExitReason::Signal(Signal::Term).to_string(), "SIGTERM");
/// assert_eq!(ExitReason::Panic.to_string(), "panic in main");
/// assert_eq!(
///     ExitReason::ShutdownRequested("admin endpoint").to_string(),
///     "shutdown requested (admin endpoint)"
/// );
/// ```
impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Exit(Some(code)) => write!(f, "exit status {code}"),
            ExitReason::Exit(None) => f.write_str("exit (status unknown)"),
            ExitReason::Signal(signal) => fmt::Display::fmt(signal, f),
            ExitReason::Panic => f.write_str("panic in main"),
            ExitReason::ShutdownRequested(reason) => write!(f, "shutdown requested ({reason})"),
        }
    }
}
