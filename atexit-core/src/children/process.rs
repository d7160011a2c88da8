//! What the stop needs of a child process: the sealed [`Process`] trait,
//! implemented for `std::process::Child` and, with the `tokio` feature, for
//! `tokio::process::Child`.

#[cfg(doc)]
use super::stop_at_exit;
use std::io;
use std::process::ExitStatus;

/// A child process [`stop_at_exit`] can own: `std::process::Child`, and
/// `tokio::process::Child` with the `tokio` feature. Sealed.
///
/// ```
/// # extern crate atexit_core as atexit;
/// fn tie<C: atexit::Process>(child: C) -> atexit::ExitChild<C> {
///     atexit::stop_at_exit(child)
/// }
/// ```
pub trait Process: private::Sealed + Send + 'static {
    /// Its stdin pipe: `ChildStdin` (std's or Tokio's).
    type Stdin;
    /// Its stdout pipe: `ChildStdout`.
    type Stdout;
    /// Its stderr pipe: `ChildStderr`.
    type Stderr;
}

mod private {
    use std::io;
    use std::process::ExitStatus;

    /// What the stop needs of a child. Each call is made under the slot's
    /// lock, on a child not reaped yet.
    pub trait Sealed {
        /// Its pid (`None` once reaped).
        fn pid(&self) -> Option<u32>;
        /// `try_wait`: reaps it if it has ended.
        fn try_reap(&mut self) -> io::Result<Option<ExitStatus>>;
        /// Kills it (SIGKILL, `TerminateProcess`).
        fn kill_now(&mut self) -> io::Result<()>;
        /// Windows: its process handle.
        #[cfg(windows)]
        fn raw_handle(&self) -> std::os::windows::io::RawHandle;
        /// Takes its pipes (`child.stdin.take()`, ...).
        fn take_stdin(&mut self) -> Option<<Self as super::Process>::Stdin>
        where
            Self: super::Process;
        fn take_stdout(&mut self) -> Option<<Self as super::Process>::Stdout>
        where
            Self: super::Process;
        fn take_stderr(&mut self) -> Option<<Self as super::Process>::Stderr>
        where
            Self: super::Process;
    }
}

impl private::Sealed for std::process::Child {
    fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.stdin.take()
    }

    fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.stdout.take()
    }

    fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.stderr.take()
    }

    fn pid(&self) -> Option<u32> {
        Some(self.id())
    }

    fn try_reap(&mut self) -> io::Result<Option<ExitStatus>> {
        self.try_wait()
    }

    fn kill_now(&mut self) -> io::Result<()> {
        self.kill()
    }

    #[cfg(windows)]
    fn raw_handle(&self) -> std::os::windows::io::RawHandle {
        std::os::windows::io::AsRawHandle::as_raw_handle(self)
    }
}

impl Process for std::process::Child {
    type Stdin = std::process::ChildStdin;
    type Stdout = std::process::ChildStdout;
    type Stderr = std::process::ChildStderr;
}

#[cfg(feature = "tokio")]
impl private::Sealed for tokio::process::Child {
    fn take_stdin(&mut self) -> Option<tokio::process::ChildStdin> {
        self.stdin.take()
    }

    fn take_stdout(&mut self) -> Option<tokio::process::ChildStdout> {
        self.stdout.take()
    }

    fn take_stderr(&mut self) -> Option<tokio::process::ChildStderr> {
        self.stderr.take()
    }

    fn pid(&self) -> Option<u32> {
        self.id()
    }

    fn try_reap(&mut self) -> io::Result<Option<ExitStatus>> {
        self.try_wait()
    }

    fn kill_now(&mut self) -> io::Result<()> {
        self.start_kill()
    }

    #[cfg(windows)]
    // `unwrap_or_default()` on a raw pointer needs Rust 1.88; the declared
    // MSRV is 1.85 (scripts/msrv.sh checks Windows too).
    #[allow(clippy::unwrap_or_default)]
    fn raw_handle(&self) -> std::os::windows::io::RawHandle {
        self.raw_handle().unwrap_or(std::ptr::null_mut())
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl Process for tokio::process::Child {
    type Stdin = tokio::process::ChildStdin;
    type Stdout = tokio::process::ChildStdout;
    type Stderr = tokio::process::ChildStderr;
}
