//! Child processes that end with this one: stopped (asked, given a grace,
//! killed, reaped) by an exit handler, and, where the OS allows, killed by
//! the OS when this process dies without running handlers.
//!
//! This module is a user of the registry like any program: it registers one
//! handler per child through `api`. Nothing in `exit/`, `hooks` or `os`
//! knows about it.
//!
//! The slot's lock is held only for short steps that do no user-visible I/O
//! and call no user code (no formatter, no callback, no blocking wait): the
//! stop at exit takes it, and must never wait for a thread of the program.
//!
//! Exactness about pids: a child's pid is only ever signalled while its
//! `Child` is in a [`Slot`] and not yet reaped, under the slot's lock, so the
//! pid (and the process group it leads) cannot have been reused. Reaping
//! happens only through the slot.

mod spawner;
#[cfg(unix)]
#[path = "unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "windows.rs"]
mod sys;
#[cfg(not(any(unix, windows)))]
#[path = "other.rs"]
mod sys;

use crate::handle::Handle;
use crate::os;
use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a child has to end after SIGKILL before the exit gives up on it
/// (a process in uninterruptible sleep, say, on a dead NFS server).
const KILL_BOUND: Duration = Duration::from_secs(1);

/// The longest pause between two looks at a child that is stopping.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// Ties `child` to this process's exit: when the program ends, it is asked to
/// stop, given a grace period, then killed, and always reaped.
///
/// At exit (every exit that runs handlers: `main` returning,
/// `std::process::exit`, [`exit`](crate::exit), a panic in `main`, a signal
/// caught by [`catch_signals`](crate::catch_signals)), in its place in the
/// newest-first order like any handler:
///
/// A child that has ended by the time it is handed over, or was reaped
/// already (`Child::wait`), is reaped now (or its status taken) and not
/// registered: its pid is never used, since the system may have given it to
/// another process. A process group it led is then not stopped either (once
/// its leader is reaped, the group's id is not safe to signal): hand children
/// over while they run, as [`CommandExt::spawn_tied`] does.
///
/// 1. If the child has ended already, it is reaped: nothing is signalled
///    (when it led a process group, only once no member of the group is
///    left: otherwise the group is stopped as below).
/// 2. On Unix it gets SIGTERM; when it leads a process group of its own
///    (spawned with `std::os::unix::process::CommandExt::process_group(0)`,
///    or it called `setsid`), the whole group gets it, so its own children
///    (grandchildren of this process) are asked too. That holds when the
///    leader has already ended and members remain (a launcher such as
///    `sh -c 'worker & exit 0'`): the ended leader is kept unreaped until
///    the group's stop is done, so the group's id (the leader's pid) cannot
///    be given to another process meanwhile.
/// 3. It has the grace ([`ExitChild::DEFAULT_GRACE`], or
///    [`ExitChild::with_grace`]) to end; a group, for the leader and every
///    member to end (on Linux, the members are read from `/proc`; elsewhere
///    they cannot be seen, and a group's stop lasts the whole grace). Then
///    it is reaped.
/// 4. Past the grace, SIGKILL (to the group, if it leads one), and it has 1 s
///    more to end and be reaped. A child that still has not ended then (stuck
///    in the kernel) is reported on stderr and left to the system; an ended
///    leader whose killed members are still stuck is reaped, the members
///    left to the system.
///
/// On Windows there is no SIGTERM: the child is killed (`TerminateProcess`)
/// at once and reaped, with no grace.
///
/// Children are stopped one after the other, as handlers run: the graces of
/// children that ignore SIGTERM add up. [`set_deadline`](crate::set_deadline)
/// bounds the whole exit, these waits included: when the deadline passes in
/// the middle of a child's grace, the process ends there, and the children
/// not stopped yet are left to the parent-death signal of
/// [`CommandExt::spawn_tied`] (which reaches the child, not its group).
///
/// The child must be reaped only through the `ExitChild`. A program that
/// reaps children itself (a `waitpid(-1)` loop on SIGCHLD, or SIGCHLD
/// ignored, which makes the kernel reap them) takes the pid away: on Linux
/// the crate sees that through a pidfd it opened when the child was tied,
/// and then leaves the child alone (its pid may be another process's by
/// now); `wait` returns an error of kind `NotFound`. Elsewhere it cannot tell:
/// do not tie children such a program reaps.
///
/// Exits that run no handler (SIGKILL, a crash, [`exit_now`](crate::exit_now))
/// cannot stop a child this way: spawn it with
/// [`CommandExt::spawn_tied`] so the OS ends it then, where it can.
///
/// Take the pipes you need (`child.stdin.take()`) before handing the child
/// over. Dropping the returned [`ExitChild`] keeps the registration, as
/// dropping a [`Handle`] does; [`ExitChild::detach`] cancels it.
///
/// ```
/// # extern crate atexit_core as atexit;
/// # #[cfg(unix)] {
/// use std::process::Command;
///
/// let child = Command::new("sleep").arg("1000").spawn()?;
/// let sleeper = atexit::stop_at_exit(child);
/// // ... at exit: SIGTERM, and `sleep` ends at once.
/// # sleeper.stop()?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn stop_at_exit<C: Process>(mut child: C) -> ExitChild<C> {
    // Ask the `Child` before anything uses its pid: one reaped already (by
    // `Child::wait`) still reports its pid, which the system may have given
    // to another process (and group) since; only the `Child` knows. This
    // reaps it now if it has ended: then there is nothing to stop.
    match child.try_reap() {
        Ok(None) => tie(child),
        Ok(Some(status)) => untied(Slot {
            status: Some(status),
            ..Slot::empty()
        }),
        // Reaped by something else (SIGCHLD ignored): the pid is not ours.
        Err(_) => untied(Slot {
            child: Some(child),
            ..Slot::empty()
        }),
    }
}

/// Registers the stop of `child`, which runs and has not been reaped: its
/// pid is its own (and the group it may lead too) until the slot reaps it.
fn tie<C: Process>(child: C) -> ExitChild<C> {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot {
            pid: child.pid(),
            hold: sys::hold(child.pid()),
            child: Some(child),
            ..Slot::empty()
        }),
    });
    let handle = crate::api::register_with_args(stop_child::<C>, (Arc::clone(&shared),));
    ExitChild { shared, handle }
}

/// An `ExitChild` with nothing to stop: not registered.
fn untied<C: Process>(slot: Slot<C>) -> ExitChild<C> {
    let shared = Arc::new(Shared {
        slot: Mutex::new(slot),
    });
    let handle = crate::api::register_with_args(stop_child::<C>, (Arc::clone(&shared),));
    handle.unregister();
    ExitChild { shared, handle }
}

/// A child process that is stopped at exit: what [`stop_at_exit`] and
/// [`CommandExt::spawn_tied`] return.
///
/// It owns the child: only it reaps the child, so the pid it signals at exit
/// is never one the system has given to another process since. Reaping it
/// ([`try_wait`](ExitChild::try_wait), [`wait`](ExitChild::wait),
/// [`stop`](ExitChild::stop)) cancels the registration, in O(1);
/// [`detach`](ExitChild::detach) cancels it and gives the child back.
///
/// ```
/// # extern crate atexit_core as atexit;
/// # #[cfg(unix)] {
/// use atexit::CommandExt as _;
/// use std::process::Command;
///
/// let child = Command::new("true").spawn_tied()?;
/// assert!(child.wait()?.success());
/// assert!(!child.is_registered(), "reaped: nothing left to do at exit");
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ExitChild<C: Process = std::process::Child> {
    shared: Arc<Shared<C>>,
    handle: Handle,
}

impl<C: Process> ExitChild<C> {
    /// The grace a child has between SIGTERM and SIGKILL unless
    /// [`with_grace`](ExitChild::with_grace) says otherwise: 2 seconds.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::ExitChild::<std::process::Child>::DEFAULT_GRACE.as_secs(), 2);
    /// ```
    pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

    /// Sets how long the child has to end after SIGTERM, at exit or on
    /// [`stop`](ExitChild::stop), before it is killed. `Duration::ZERO` kills
    /// it at once; a grace too long to add to the current time
    /// (`Duration::MAX`) is no limit but the exit's deadline
    /// ([`set_deadline`](crate::set_deadline)). Read when the stop begins.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use std::time::Duration;
    ///
    /// let child = std::process::Command::new("sleep").arg("1000").spawn()?;
    /// let sleeper = atexit::stop_at_exit(child).with_grace(Duration::from_secs(10));
    /// # sleeper.stop()?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_grace(self, grace: Duration) -> Self {
        self.shared.lock().grace = grace;
        self
    }

    /// The child's process id while it is neither reaped nor detached;
    /// `None` then (the system may give the number to another process).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// let child = std::process::Command::new("sleep").arg("1000").spawn()?;
    /// let pid = child.id();
    /// let child = atexit::stop_at_exit(child);
    /// assert_eq!(child.id(), Some(pid));
    /// child.stop()?;
    /// assert_eq!(child.id(), None);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn id(&self) -> Option<u32> {
        self.shared.lock().pid
    }

    /// Reaps the child if it has ended, without blocking; as
    /// `Child::try_wait`. Once it returns a status, the registration is
    /// cancelled and every later call returns the same status.
    ///
    /// Members of the child's process group that outlive it are not touched
    /// (only [`stop`](ExitChild::stop) and the exit end them).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// let child = atexit::stop_at_exit(std::process::Command::new("true").spawn()?);
    /// while child.try_wait()?.is_none() {
    ///     std::thread::sleep(std::time::Duration::from_millis(10));
    /// }
    /// assert!(!child.is_registered());
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The child was [detached](ExitChild::detach), or `try_wait` failed.
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        let status = {
            let mut slot = self.shared.lock();
            match slot.status {
                Some(status) => Some(status),
                None => slot.reap_if_ended(Members::Ignore)?,
            }
        };
        if status.is_some() {
            self.handle.unregister();
        }
        Ok(status)
    }

    /// Stops the child now, as the exit would (SIGTERM to it or its group,
    /// the grace, SIGKILL, reaped), and cancels the registration; returns
    /// how it ended. A child that has ended already is only reaped.
    ///
    /// It never waits without a bound: at most the grace plus 1 s. Called
    /// while the exit stops the same child, both wait for the one stop (one
    /// SIGTERM, one grace).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use std::os::unix::process::ExitStatusExt;
    ///
    /// let child = atexit::stop_at_exit(std::process::Command::new("sleep").arg("1000").spawn()?);
    /// let status = child.stop()?;
    /// assert_eq!(status.signal(), Some(libc::SIGTERM));
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The child was [detached](ExitChild::detach); reaping it failed; or it
    /// did not end within 1 s of SIGKILL (`ErrorKind::TimedOut`: it is then
    /// still registered, and its stop at exit tries once more).
    pub fn stop(&self) -> io::Result<ExitStatus> {
        let status = self.shared.stop()?;
        self.handle.unregister();
        Ok(status)
    }

    /// Cancels the registration and gives the child back, as it is; `None`
    /// when it was reaped already (the status is then what
    /// [`try_wait`](ExitChild::try_wait) gave). What the OS was told at the
    /// spawn stays: a child of [`CommandExt::spawn_tied`] still dies with
    /// this process (Linux's parent-death signal, the Windows job).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// let child = atexit::stop_at_exit(std::process::Command::new("sleep").arg("1000").spawn()?);
    /// let mut child = child.detach().expect("not reaped yet");
    /// child.kill()?; // the program's business again
    /// child.wait()?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn detach(self) -> Option<C> {
        let child = {
            let mut slot = self.shared.lock();
            slot.pid = None;
            slot.child.take()
        };
        self.handle.unregister();
        child
    }

    /// Takes the child's stdin pipe, if it was piped and not taken yet
    /// (`child.stdin.take()`); `None` once the child is reaped or detached.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use atexit::CommandExt as _;
    /// use std::io::Write;
    /// use std::process::{Command, Stdio};
    ///
    /// let cat = Command::new("cat").stdin(Stdio::piped()).stdout(Stdio::null()).spawn_tied()?;
    /// let mut input = cat.take_stdin().expect("piped");
    /// input.write_all(b"hello\n")?;
    /// drop(input); // end of input: `cat` ends
    /// assert!(cat.wait()?.success());
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_stdin(&self) -> Option<C::Stdin> {
        self.shared.lock().child.as_mut()?.take_stdin()
    }

    /// Takes the child's stdout pipe; as [`take_stdin`](ExitChild::take_stdin).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use atexit::CommandExt as _;
    /// use std::io::Read;
    /// use std::process::{Command, Stdio};
    ///
    /// let echo = Command::new("echo").arg("hi").stdout(Stdio::piped()).spawn_tied()?;
    /// let mut text = String::new();
    /// echo.take_stdout().expect("piped").read_to_string(&mut text)?;
    /// assert_eq!(text, "hi\n");
    /// echo.wait()?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_stdout(&self) -> Option<C::Stdout> {
        self.shared.lock().child.as_mut()?.take_stdout()
    }

    /// Takes the child's stderr pipe; as [`take_stdin`](ExitChild::take_stdin).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use atexit::CommandExt as _;
    /// use std::io::Read;
    /// use std::process::{Command, Stdio};
    ///
    /// let child = Command::new("sh").args(["-c", "echo oops >&2"]).stderr(Stdio::piped()).spawn_tied()?;
    /// let mut text = String::new();
    /// child.take_stderr().expect("piped").read_to_string(&mut text)?;
    /// assert_eq!(text, "oops\n");
    /// child.wait()?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn take_stderr(&self) -> Option<C::Stderr> {
        self.shared.lock().child.as_mut()?.take_stderr()
    }

    /// Whether the child is still to be stopped at exit: `false` once it has
    /// been reaped or detached, or its stop at exit has begun.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// let child = atexit::stop_at_exit(std::process::Command::new("sleep").arg("1000").spawn()?);
    /// assert!(child.is_registered());
    /// child.stop()?;
    /// assert!(!child.is_registered());
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_registered(&self) -> bool {
        self.handle.is_registered()
    }
}

impl ExitChild<std::process::Child> {
    /// Waits for the child to end and reaps it, as `Child::wait`; the
    /// registration is then cancelled. Waiting holds no lock: the exit may
    /// stop the child meanwhile, and this then returns how it ended.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use atexit::CommandExt as _;
    ///
    /// let child = std::process::Command::new("sh").args(["-c", "exit 3"]).spawn_tied()?;
    /// assert_eq!(child.wait()?.code(), Some(3));
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The child was [detached](ExitChild::detach), or waiting failed.
    pub fn wait(&self) -> io::Result<ExitStatus> {
        let status = self.shared.wait_blocking()?;
        self.handle.unregister();
        Ok(status)
    }
}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl ExitChild<tokio::process::Child> {
    /// Waits for the child to end and reaps it, as Tokio's `Child::wait`
    /// (which it uses, so it must be awaited inside the Tokio runtime the
    /// child was spawned on); the registration is then cancelled. As Tokio's,
    /// it closes the child's stdin if it was piped and not taken, so a child
    /// that reads to the end does end.
    ///
    /// The child's end reaches it through the driver of the runtime that
    /// spawned it, as for Tokio's own `Child`: awaited elsewhere while that
    /// runtime does not run (a current-thread runtime outside its
    /// `block_on`), it is not woken. Once that runtime is dropped, it works
    /// from another one.
    ///
    /// Cancel-safe: the future can be dropped at any point (a `select!`, a
    /// timeout, a task dropped with its runtime when `main` returns), and
    /// nothing then waits on: the runtime's drop does not wait for it, and
    /// the child is still stopped at exit.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)]
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use atexit::CommandExt as _;
    ///
    /// let child = tokio::process::Command::new("true").spawn_tied()?;
    /// assert!(child.wait().await?.success());
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// The child was [detached](ExitChild::detach), or waiting failed.
    pub async fn wait(&self) -> io::Result<ExitStatus> {
        let status = std::future::poll_fn(|cx| self.shared.poll_wait(cx)).await?;
        self.handle.unregister();
        Ok(status)
    }
}

#[cfg(feature = "tokio")]
impl Shared<tokio::process::Child> {
    /// One look for `ExitChild::wait`: polls a fresh Tokio `wait()` future
    /// once, under the lock (it does not block), and drops it. Tokio keeps
    /// the waker with the child's own registration (its pidfd, or SIGCHLD),
    /// so the task is woken when the child ends, whoever reaps it then (the
    /// stop at exit, say): the next look finds the status in the slot. The
    /// only code not ours or Tokio's that runs under the lock is the
    /// executor's waker clone, as in any poll; nothing there blocks.
    fn poll_wait(
        &self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<ExitStatus>> {
        use std::future::Future as _;
        use std::task::Poll;
        let mut slot = self.lock();
        if let Some(status) = slot.status {
            return Poll::Ready(Ok(status));
        }
        if let Err(error) = slot.ensure_ours() {
            return Poll::Ready(Err(error));
        }
        let Some(child) = slot.child.as_mut() else {
            return Poll::Ready(Err(detached()));
        };
        let polled = std::pin::pin!(child.wait()).poll(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(status)) => {
                slot.status = Some(status);
                slot.child = None;
                crate::watchdog::untie(slot.pid.take());
                Poll::Ready(Ok(status))
            }
            Poll::Ready(Err(error)) if is_no_child(&error) => {
                slot.forget();
                Poll::Ready(Err(reaped_elsewhere()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
        }
    }
}

impl<C: Process> std::fmt::Debug for ExitChild<C> {
    /// Copies the fields out and lets go of the lock before it writes: the
    /// formatter may block (a full stderr pipe nobody reads) for ever, and the
    /// stop at exit needs that lock.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (pid, status, grace) = {
            let slot = self.shared.lock();
            (slot.pid, slot.status, slot.grace)
        };
        f.debug_struct("ExitChild")
            .field("id", &pid)
            .field("status", &status)
            .field("grace", &grace)
            .finish()
    }
}

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

    /// The commands `CommandExt` is for.
    pub trait SealedCommand {}
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

/// Spawning a child tied to this process: `std::process::Command`, and
/// `tokio::process::Command` with the `tokio` feature. Sealed.
pub trait CommandExt: private::SealedCommand {
    /// The child this command spawns.
    type Child: Process;

    /// Spawns the command so that the child ends with this process: it is
    /// [stopped at exit](stop_at_exit) (asked, given the grace, killed,
    /// reaped), and where the OS allows, the OS kills it when this process
    /// dies without running handlers (SIGKILL, a crash,
    /// [`exit_now`](crate::exit_now), `std::process::abort`, an uncaught
    /// signal):
    ///
    /// - **Linux, Android**: `PR_SET_PDEATHSIG` with SIGKILL. That signal is
    ///   tied to the *thread* that forked the child, not the process: a child
    ///   spawned from a thread that later ends (a worker or blocking-pool
    ///   thread) would be killed then. So the spawn runs on a thread of this
    ///   crate's that lives as long as the process (the calling thread
    ///   waits for it). A parent that died between the fork and the `prctl`
    ///   is caught by comparing `getppid()`: the child then ends before it
    ///   runs the program, and the spawn fails. The kernel clears the flag
    ///   when the child executes a set-user-ID or set-group-ID program, and in
    ///   the child's own children: a grandchild dies with its parent only if
    ///   it was spawned this way too (`setpriv --pdeathsig KILL` does it for a
    ///   shell's).
    /// - **Windows**: the child is put in a Job Object of this process's, with
    ///   `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`: when the process ends, however
    ///   it ends, the system closes the job's handle and kills every process
    ///   in it, grandchildren included (children join their parent's job). A
    ///   grandchild started in the instant between the spawn and the
    ///   assignment is not in it. This code is type-checked for
    ///   `x86_64-pc-windows-gnu` but not run yet: see the crate docs' [platforms](https://docs.rs/atexit/latest/atexit/platforms/index.html).
    /// - **FreeBSD** (11.2 and later): `procctl(PROC_PDEATHSIG_CTL)` with
    ///   SIGKILL, set in the child before `exec` and checked with
    ///   `getppid()` as on Linux. It follows the parent process, not the
    ///   forking thread, and does not pass to the child's own children.
    ///   Type-checked for `x86_64-unknown-freebsd`, not run here.
    /// - **Other systems** (macOS, NetBSD, OpenBSD): nothing kills the child when
    ///   the parent dies without running handlers; it is orphaned. Only the
    ///   stop at exit applies.
    ///
    /// To end the child's own children at exit as well, start it in a
    /// process group of its own first (`process_group(0)` from
    /// `std::os::unix::process::CommandExt`).
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(unix)] {
    /// use atexit::CommandExt as _;
    /// use std::os::unix::process::CommandExt as _;
    /// use std::process::Command;
    ///
    /// let server = Command::new("sh")
    ///     .args(["-c", "sleep 1000 & wait"])
    ///     .process_group(0) // so the `sleep` is ended too
    ///     .spawn_tied()?;
    /// // ... at exit: SIGTERM to the group; both end.
    /// # server.stop()?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// The command keeps what `spawn_tied` adds to it (on Linux a pre-exec
    /// step that sets the parent-death signal): spawn it again with
    /// `spawn_tied`, not `spawn`, or the new child dies with whichever thread
    /// spawned it.
    ///
    /// # Errors
    ///
    /// As `spawn`; on Windows also when the job cannot be made or joined (the
    /// child is then killed and reaped before this returns). A Tokio command
    /// outside a Tokio runtime, or (on Unix) in one built without IO
    /// (`enable_io`), fails before anything is spawned. On every error the
    /// command is left as it was (with the parent-death step of a failed
    /// spawn kept, as after a success).
    ///
    /// Tokio tells a runtime without IO only by panicking: the check makes
    /// it panic on a pipe of its own and catches that, with the panic hook
    /// wrapped meanwhile so that it does not see that one panic (a program
    /// that sets the hook on another thread at that very moment may have
    /// it undone). A `panic = "abort"` build aborts there instead, with
    /// Tokio's message, before anything is spawned.
    fn spawn_tied(&mut self) -> io::Result<ExitChild<Self::Child>>;
}

impl private::SealedCommand for std::process::Command {}

impl CommandExt for std::process::Command {
    type Child = std::process::Child;

    fn spawn_tied(&mut self) -> io::Result<ExitChild<std::process::Child>> {
        sys::die_with_parent(self);
        let spawned =
            spawner::on_spawner_thread(self, std::process::Command::new(""), |command| {
                command.spawn()
            })?;
        let child = sys::after_spawn(spawned?)?;
        // Its group, if it leads one, is ended even if this process is killed.
        crate::watchdog::tie(private::Sealed::pid(&child));
        // Just spawned, never waited for: no need to ask it first (and a
        // launcher that ended at once keeps its group for the stop).
        Ok(tie(child))
    }
}

#[cfg(feature = "tokio")]
impl private::SealedCommand for tokio::process::Command {}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl CommandExt for tokio::process::Command {
    type Child = tokio::process::Child;

    fn spawn_tied(&mut self) -> io::Result<ExitChild<tokio::process::Child>> {
        // Tokio's spawn needs its runtime's context, with its IO driver:
        // without one Tokio starts the process and then panics, leaving a
        // running child that nobody owns. So both are checked first, before
        // the command is touched or anything is spawned.
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            io::Error::other("spawn_tied of a tokio::process::Command needs a Tokio runtime")
        })?;
        #[cfg(unix)]
        if !sys::tokio_io_enabled() {
            return Err(io::Error::other(
                "spawn_tied of a tokio::process::Command needs a Tokio runtime with IO \
                 enabled (`enable_io` or `enable_all` on its builder)",
            ));
        }
        sys::die_with_parent(self.as_std_mut());
        let spawned =
            spawner::on_spawner_thread(self, tokio::process::Command::new(""), move |command| {
                let _entered = runtime.enter();
                command.spawn()
            })?;
        let child = sys::after_spawn(spawned?)?;
        // Its group, if it leads one, is ended even if this process is killed.
        crate::watchdog::tie(private::Sealed::pid(&child));
        // Just spawned, never waited for: no need to ask it first (and a
        // launcher that ended at once keeps its group for the stop).
        Ok(tie(child))
    }
}

/// The state one registration shares with its [`ExitChild`].
struct Shared<C> {
    slot: Mutex<Slot<C>>,
}

struct Slot<C> {
    /// The pid, while the child is neither reaped nor detached.
    pid: Option<u32>,
    /// What tells whether something else reaped it (a pidfd on Linux).
    hold: sys::Hold,
    /// `None` once reaped or detached.
    child: Option<C>,
    /// How it ended, once reaped.
    status: Option<ExitStatus>,
    grace: Duration,
    /// When it was asked to stop (SIGTERM sent), by whichever stop came first.
    asked: Option<Instant>,
    /// It led a process group of its own when asked to stop.
    group: bool,
}

impl<C> Slot<C> {
    /// No child, no pid: what a slot holds once reaped or detached.
    fn empty() -> Self {
        Slot {
            pid: None,
            hold: sys::hold(None),
            child: None,
            status: None,
            grace: ExitChild::<std::process::Child>::DEFAULT_GRACE,
            asked: None,
            group: false,
        }
    }
}

impl<C: Process> Slot<C> {
    /// Reaps the child if it has ended. When it leads a group, `members`
    /// says whether the reap also waits for the group's other members.
    fn reap_if_ended(&mut self, members: Members) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        self.ensure_ours()?;
        let Some(child) = self.child.as_mut() else {
            return Err(detached());
        };
        if self.group && members != Members::Ignore {
            let Some(pid) = self.pid else {
                return Err(detached());
            };
            if !sys::has_ended(pid)? {
                return Ok(None);
            }
            // The leader has ended but is not reaped: as a zombie it holds
            // its pid, and with it the group's id, so no new process (nor
            // group) can have that number, and signalling `-pid` reaches
            // only this group. Once the leader is reaped, a group whose last
            // member ends at that moment frees the number, and a new process
            // could take it and lead a group of that id before our signal
            // lands. So the leader is kept unreaped until the group's stop
            // is done: its members have ended (within the grace), or were
            // killed.
            match (members, group_has_members(pid)) {
                // Unknown (no /proc): the grace runs out, then SIGKILL.
                (Members::Wait, None | Some(true)) => return Ok(None),
                (Members::Killed, Some(true)) => return Ok(None),
                _ => {}
            }
        }
        let status = match child.try_reap() {
            // Reaped by something else after all (SIGCHLD ignored, say).
            Err(error) if is_no_child(&error) => {
                self.forget();
                return Err(reaped_elsewhere());
            }
            other => other?,
        };
        if status.is_some() {
            self.status = status;
            self.child = None;
            crate::watchdog::untie(self.pid.take());
        }
        Ok(status)
    }
}

/// What reaping a group leader waits for besides the leader itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Members {
    /// Nothing: `try_wait` and `wait` reap the leader alone.
    Ignore,
    /// The stop, before SIGKILL: the leader and every other member ended.
    Wait,
    /// The stop, after SIGKILL to the group: members seen still there (in
    /// the kernel, say) are waited for; unknown ones are not.
    Killed,
}

/// Whether the group `pid` leads has members other than it that have not
/// ended; `None` where that cannot be seen.
#[cfg(unix)]
fn group_has_members(pid: u32) -> Option<bool> {
    sys::group_has_members(pid)
}

#[cfg(not(unix))]
fn group_has_members(_: u32) -> Option<bool> {
    Some(false)
}

impl<C: Process> Slot<C> {
    /// Fails when something other than the `ExitChild` reaped the child (a
    /// `waitpid(-1)` loop of the program's, SIGCHLD ignored): its pid may be
    /// another process's by now, so the child is forgotten, never signalled.
    fn ensure_ours(&mut self) -> io::Result<()> {
        if self.child.is_some() && sys::reaped_elsewhere(&self.hold) {
            self.forget();
            return Err(reaped_elsewhere());
        }
        Ok(())
    }

    fn forget(&mut self) {
        self.child = None;
        crate::watchdog::untie(self.pid.take());
        self.hold = sys::hold(None);
    }
}

impl<C: Process> Shared<C> {
    fn lock(&self) -> MutexGuard<'_, Slot<C>> {
        // Nothing panics while holding it; a poisoned lock must not stop the exit.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The stop protocol; see [`stop_at_exit`]. Never holds the lock while
    /// it sleeps.
    fn stop(&self) -> io::Result<ExitStatus> {
        let grace_ends = {
            let mut slot = self.lock();
            if slot.status.is_none() {
                slot.ensure_ours()?;
            }
            if slot.asked.is_none() && slot.status.is_none() {
                let pid = slot.pid.ok_or_else(detached)?;
                // Asked while unreaped (running, or a zombie): the group id
                // is still the child's.
                slot.group = sys::leads_group(pid);
            }
            // Ended already, and (a leader) no member left: nothing to ask.
            if let Some(status) = slot.reap_if_ended(Members::Wait)? {
                return Ok(status);
            }
            if slot.asked.is_none() {
                let pid = slot.pid.ok_or_else(detached)?;
                // A group whose leader has ended gets it too: the unreaped
                // leader holds the group's id (see `reap_if_ended`).
                if !sys::ask_to_stop(pid, slot.group, &slot.hold) {
                    // Nothing to ask with (Windows): no grace.
                    slot.grace = Duration::ZERO;
                }
                slot.asked = Some(Instant::now());
            }
            slot.asked.and_then(|asked| asked.checked_add(slot.grace))
        };
        if let Some(status) = self.poll_until(grace_ends, Members::Wait)? {
            return Ok(status);
        }
        {
            let mut slot = self.lock();
            if let Some(status) = slot.reap_if_ended(Members::Wait)? {
                return Ok(status);
            }
            let pid = slot.pid.ok_or_else(detached)?;
            if slot.group {
                sys::kill_group(pid);
            } else if let Some(child) = slot.child.as_mut() {
                child.kill_now()?;
            }
        }
        let kill_ends = Instant::now().checked_add(KILL_BOUND);
        if let Some(status) = self.poll_until(kill_ends, Members::Killed)? {
            return Ok(status);
        }
        // A leader that has ended is reaped even if members killed with it
        // are still stuck (in the kernel): they are left to the system.
        if let Some(status) = self.lock().reap_if_ended(Members::Ignore)? {
            return Ok(status);
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the child did not end within 1 s of being killed",
        ))
    }

    /// Looks at the child, with growing pauses, until it has ended and is
    /// reaped (its status) or `until` passes (`None`; `until` `None` is never).
    fn poll_until(
        &self,
        until: Option<Instant>,
        members: Members,
    ) -> io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = self.lock().reap_if_ended(members)? {
                return Ok(Some(status));
            }
            let left = until.map(|until| until.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Ok(None);
            }
            std::thread::sleep(left.map_or(pause, |left| left.min(pause)));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    /// `wait`: blocks until the child has ended (holding no lock), then reaps
    /// it through the slot.
    fn wait_blocking(&self) -> io::Result<ExitStatus> {
        loop {
            let pid = {
                let mut slot = self.lock();
                if let Some(status) = slot.reap_if_ended(Members::Ignore)? {
                    return Ok(status);
                }
                slot.pid.ok_or_else(detached)?
            };
            sys::wait_until_ended(pid)?;
        }
    }
}

/// The handler [`stop_at_exit`] registers.
fn stop_child<C: Process>(shared: Arc<Shared<C>>) {
    if let Err(error) = shared.stop() {
        if error.kind() != io::ErrorKind::NotFound {
            let pid = shared.lock().pid.unwrap_or(0);
            os::write_stderr(
                format!("atexit: cannot stop child process {pid}: {error}\n").as_bytes(),
                Duration::from_millis(100),
            );
        }
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the child was detached")
}

/// Not reported at exit: the program reaped the child itself.
fn reaped_elsewhere() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        "the child was reaped by something other than its ExitChild",
    )
}

fn is_no_child(error: &io::Error) -> bool {
    #[cfg(unix)]
    return error.raw_os_error() == Some(libc::ECHILD);
    #[cfg(not(unix))]
    {
        let _ = error;
        false
    }
}

#[cfg(all(test, unix, feature = "tokio"))]
mod tests {
    use super::CommandExt as _;
    use std::io::Read as _;
    use std::os::fd::{FromRawFd as _, OwnedFd};
    use std::time::{Duration, Instant};

    /// A pipe: (read end, write end).
    fn pipe() -> (std::fs::File, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: `pipe2` fills two descriptors we then own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are new descriptors owned by nobody else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                OwnedFd::from_raw_fd(fds[1]),
            )
        }
    }

    /// What a command refused by `spawn_tied` would have written: the read
    /// end reaches its end once every write end is closed, at once when no
    /// process was started with one.
    fn refused_without_spawning(runtime: Option<&tokio::runtime::Runtime>, wanted: &str) {
        let (mut output, input) = pipe();
        let mut command = tokio::process::Command::new("sh");
        command
            .args(["-c", "echo started"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(input));
        let _entered = runtime.map(tokio::runtime::Runtime::enter);
        let error = command.spawn_tied().unwrap_err();
        assert!(error.to_string().contains(wanted), "{error}");
        // The caller's command is intact: spawning it again runs `sh`.
        assert_eq!(command.as_std().get_program(), "sh");
        let args: Vec<_> = command.as_std().get_args().collect();
        assert_eq!(args, ["-c", "echo started"]);
        drop(command);
        let mut written = String::new();
        output.read_to_string(&mut written).expect("read");
        assert_eq!(written, "", "a process was started");
    }

    /// Outside a runtime Tokio would start the process and then panic,
    /// leaving a child nobody owns: the spawn is refused first.
    #[test]
    fn a_tokio_command_outside_a_runtime_is_refused_before_the_spawn() {
        refused_without_spawning(None, "needs a Tokio runtime");
    }

    /// Issue 20, 9: the same in a runtime without `enable_io`.
    #[test]
    fn a_tokio_command_in_a_runtime_without_io_is_refused_before_the_spawn() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        refused_without_spawning(Some(&runtime), "enable_io");
    }

    /// The refusal is an error, not a panic the program sees: the check
    /// behind it made Tokio panic, and the panic hook in force (the
    /// program's, the default one that prints "thread panicked" with a
    /// backtrace) saw it, though the panic was caught; a hook that ends the
    /// process (a crash reporter's) ended it.
    #[test]
    fn the_refusal_without_io_is_no_panic_for_the_panic_hook() {
        use std::sync::Mutex;
        static PANICKED_IN: Mutex<Vec<std::thread::ThreadId>> = Mutex::new(Vec::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {
            PANICKED_IN
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(std::thread::current().id());
        }));
        let _entered = runtime.enter();
        let refused = tokio::process::Command::new("true").spawn_tied();
        std::panic::set_hook(previous);
        assert!(refused.unwrap_err().to_string().contains("enable_io"));
        let me = std::thread::current().id();
        assert!(
            !PANICKED_IN.lock().unwrap().contains(&me),
            "the panic hook saw a panic"
        );
    }

    /// The variable that names the scenario `tokio_program` runs.
    const SCENARIO: &str = "ATEXIT_TOKIO_SCENARIO";

    /// Not a test of its own: runs a scenario when started by [`run`].
    #[test]
    fn tokio_program() {
        let Ok(name) = std::env::var(SCENARIO) else {
            return;
        };
        let dir = std::path::PathBuf::from(std::env::var("SCENARIO_DIR").expect("SCENARIO_DIR"));
        match name.as_str() {
            "dropped-wait" => dropped_wait(&dir),
            "woken-by-stop" => woken_by_stop(),
            other => panic!("no scenario {other}"),
        }
        std::process::exit(0);
    }

    /// Runs this test binary on scenario `name`: its status and stdout.
    fn run(name: &str, dir: &std::path::Path) -> (std::process::ExitStatus, String) {
        let mut program = std::process::Command::new(std::env::current_exe().expect("this binary"))
            .args([
                "children::tests::tokio_program",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(SCENARIO, name)
            .env("SCENARIO_DIR", dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the scenario");
        let mut stdout = program.stdout.take().expect("piped");
        let (sender, text) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stdout.read_to_string(&mut text);
            let _ = sender.send(text);
        });
        let limit = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = program.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > limit {
                let _ = program.kill();
                let _ = program.wait();
                panic!(
                    "the scenario hung; stdout: {}",
                    text.recv_timeout(Duration::from_secs(1))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        (
            status,
            text.recv_timeout(Duration::from_secs(10))
                .unwrap_or_default(),
        )
    }

    /// Issue 20, 8: a task waiting for a tied child is dropped with the
    /// runtime when `main` ends; the runtime's drop must not wait for it.
    fn dropped_wait(dir: &std::path::Path) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let child = tokio::process::Command::new("sh")
                .args([
                    "-c",
                    "trap 'echo stopped > stopped; exit 0' TERM; : > ready; while :; do sleep 0.05; done",
                ])
                .current_dir(dir)
                .spawn_tied()
                .expect("spawn sh");
            let limit = Instant::now() + Duration::from_secs(20);
            while !dir.join("ready").exists() && Instant::now() < limit {
                std::thread::sleep(Duration::from_millis(5));
            }
            tokio::spawn(async move {
                let _ = child.wait().await;
            });
            // Let the supervisor start its wait.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
        });
        drop(runtime);
        println!("runtime dropped");
    }

    /// A wait polled and dropped many times (as in a `select!` loop), then
    /// one awaited in a task while another thread stops the child: the task
    /// is woken with the child's status.
    fn woken_by_stop() {
        use std::future::Future as _;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("a runtime");
        let child = runtime.block_on(async {
            std::sync::Arc::new(
                tokio::process::Command::new("sleep")
                    .arg("1000")
                    .spawn_tied()
                    .expect("spawn sleep"),
            )
        });
        let _entered = runtime.enter();
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        for _ in 0..100 {
            assert!(std::pin::pin!(child.wait()).poll(&mut cx).is_pending());
        }
        let waited = std::sync::Arc::clone(&child);
        let task = runtime.spawn(async move { waited.wait().await });
        let stopper = std::sync::Arc::clone(&child);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stopper.stop()
        });
        let status = runtime.block_on(task).expect("the task").expect("wait");
        println!(
            "waited {:?}",
            std::os::unix::process::ExitStatusExt::signal(&status)
        );
    }

    #[test]
    fn a_wait_is_woken_when_another_thread_stops_the_child() {
        let dir = std::env::temp_dir();
        let (status, stdout) = run("woken-by-stop", &dir);
        assert_eq!(status.code(), Some(0), "{status:?}; stdout: {stdout}");
        assert!(
            stdout.contains(&format!("waited {:?}", Some(libc::SIGTERM))),
            "{stdout}"
        );
    }

    #[test]
    fn a_dropped_wait_does_not_hold_the_exit() {
        let dir = std::env::temp_dir().join(format!("atexit-dropped-wait-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a directory");
        let (status, stdout) = run("dropped-wait", &dir);
        let stopped = std::fs::read_to_string(dir.join("stopped"));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(status.code(), Some(0), "{status:?}; stdout: {stdout}");
        assert!(stdout.contains("runtime dropped"), "{stdout}");
        assert_eq!(
            stopped.ok().as_deref(),
            Some("stopped\n"),
            "the child got SIGTERM at exit"
        );
    }
}
