//! The API a program holds: [`stop_at_exit`], which ties a running child to
//! the exit, and [`ExitChild`], which owns it from then on (waits for it,
//! stops it now, gives it back).

use super::process::Process;
use super::slot::{Members, Shared, Slot, DEFAULT_GRACE};
use super::stop::Stoppable;
#[cfg(doc)]
use super::CommandExt;
use super::{batch, sys};
use crate::handle::Handle;
use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

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
/// Children tied one after another, with no handler registered in
/// between, are stopped together when the exit reaches the newest of them:
/// all are asked at once and their graces run side by side, so the stop of
/// such a run lasts the longest of its graces, whatever their number (see
/// the crate docs' [children](https://docs.rs/atexit/latest/atexit/children/index.html)
/// page). A handler registered between two children keeps its place: it
/// runs after the newer one's stop and before the older one's.
/// [`set_deadline`](crate::set_deadline) bounds the whole exit, these waits
/// included: when the deadline passes in the middle of a grace, the process
/// ends there, and the children not stopped yet are left to the
/// parent-death signal of [`CommandExt::spawn_tied`] (which reaches the
/// child) and the watchdog (which ends the groups they lead).
///
/// The child must be reaped only through the `ExitChild`. A program that
/// reaps children itself (a `waitpid(-1)` loop on SIGCHLD, or SIGCHLD
/// ignored, which makes the kernel reap them) takes the pid away: on Linux
/// the crate sees that through the child's start time, read from `/proc`
/// when it was tied and checked before each signal and reap (no descriptor
/// is held per child), and then leaves the child alone (its pid may be
/// another process's by now); `wait` returns an error of kind `NotFound`.
/// Elsewhere it cannot tell: do not tie children such a program reaps.
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
pub(super) fn tie<C: Process>(child: C) -> ExitChild<C> {
    let shared = Arc::new(Shared::new(Slot {
        pid: child.pid(),
        hold: sys::hold(child.pid()),
        child: Some(child),
        ..Slot::empty()
    }));
    let place = Arc::new(batch::Place::default());
    let handle = register(&shared, &place);
    shared.lock().handle = Some(handle);
    let member: Arc<dyn Stoppable> = Arc::clone(&shared) as Arc<dyn Stoppable>;
    batch::join(&place, Arc::downgrade(&member), handle);
    ExitChild { shared, handle }
}

fn register<C: Process>(shared: &Arc<Shared<C>>, place: &Arc<batch::Place>) -> Handle {
    crate::api::register_with_args(
        batch::stop_at_exit_handler::<C>,
        (Arc::clone(shared), Arc::clone(place)),
    )
}

/// An `ExitChild` with nothing to stop: not registered.
fn untied<C: Process>(slot: Slot<C>) -> ExitChild<C> {
    let shared = Arc::new(Shared::new(slot));
    let handle = register(&shared, &Arc::default());
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
    pub const DEFAULT_GRACE: Duration = DEFAULT_GRACE;

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
    /// this process if it dies without running handlers (Linux's
    /// parent-death signal and the watchdog, the Windows job).
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
            // The program may reap it and its pid go to another process: a
            // successor watchdog must not be told of it (the one running
            // holds its pidfd, which names this child only).
            crate::watchdog::detached(slot.pid.take());
            slot.wake_waiters();
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

#[cfg(all(test, unix, feature = "tokio"))]
mod tests {
    use crate::children::CommandExt as _;
    use std::io::Read as _;
    use std::time::{Duration, Instant};

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
                "children::exit_child::tests::tokio_program",
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
