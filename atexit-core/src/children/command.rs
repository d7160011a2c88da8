//! Spawning a child tied to this process: [`CommandExt::spawn_tied`] for
//! std's and Tokio's `Command`. The spawn adds what the OS offers for a
//! parent's death (Linux's and FreeBSD's parent-death signal, set on the
//! spawner thread; the Windows Job Object), registers the child with the
//! watchdog where one runs, and hands the child to [`stop_at_exit`]'s
//! registration.

use super::exit_child::{tie, ExitChild};
use super::process::Process;
#[cfg(doc)]
use super::stop_at_exit;
use super::{spawner, sys};
use std::io;

mod sealed {
    /// The commands `CommandExt` is for.
    pub trait Sealed {}
}

/// Spawning a child tied to this process: `std::process::Command`, and
/// `tokio::process::Command` with the `tokio` feature. Sealed.
pub trait CommandExt: sealed::Sealed {
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
    ///   waits for it), with `fork` (the signal is set in the child before
    ///   `exec`). A parent that died between the fork and the `prctl` is
    ///   caught by comparing `getppid()`: the child then ends before it runs
    ///   the program, and the spawn fails. The kernel clears the flag when
    ///   the child executes a set-user-ID or set-group-ID program, and in the
    ///   child's own children. With glibc, in an executable, the crate's
    ///   watchdog (a small process started with the first tied child: see
    ///   the [children](https://docs.rs/atexit/latest/atexit/children/index.html)
    ///   page) is told of the child too and kills the process group it
    ///   leads, if it leads one, with its members' descendants.
    /// - **Windows**: the child is started suspended, put in a Job Object of
    ///   this process's, with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, and only
    ///   then resumed: when the process ends, however it ends, the system
    ///   closes the job's handle and kills every process in it,
    ///   grandchildren included (children join their parent's job; one
    ///   started with `CREATE_BREAKAWAY_FROM_JOB` is refused). The command's
    ///   creation flags are set for the suspended start: pass your own with
    ///   `spawn_tied_with_creation_flags` (a Windows-only method of this trait).
    ///   Run under Wine in CI: see the crate docs' [platforms](https://docs.rs/atexit/latest/atexit/platforms/index.html).
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

    /// Windows: [`spawn_tied`](CommandExt::spawn_tied) with these process
    /// creation flags (`CREATE_NO_WINDOW`, `CREATE_NEW_PROCESS_GROUP`, ...).
    ///
    /// `spawn_tied` starts the child with `CREATE_SUSPENDED`, puts it in
    /// the job, then lets it run, and for that it sets the command's
    /// creation flags: std offers no way to read back flags set before
    /// with `creation_flags`, so they would be lost. Pass them here. A
    /// `CREATE_SUSPENDED` among them changes nothing: the child is resumed
    /// once it is in the job, as with `spawn_tied`.
    ///
    /// ```no_run
    /// # extern crate atexit_core as atexit;
    /// # #[cfg(windows)] {
    /// use atexit::CommandExt as _;
    /// use std::process::Command;
    ///
    /// const CREATE_NO_WINDOW: u32 = 0x0800_0000;
    /// let tool = Command::new("tool.exe").spawn_tied_with_creation_flags(CREATE_NO_WINDOW)?;
    /// # drop(tool);
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn_tied`](CommandExt::spawn_tied).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    fn spawn_tied_with_creation_flags(&mut self, flags: u32) -> io::Result<ExitChild<Self::Child>>;
}

impl sealed::Sealed for std::process::Command {}

impl CommandExt for std::process::Command {
    type Child = std::process::Child;

    fn spawn_tied(&mut self) -> io::Result<ExitChild<std::process::Child>> {
        spawn_std(self, 0)
    }

    #[cfg(windows)]
    fn spawn_tied_with_creation_flags(
        &mut self,
        flags: u32,
    ) -> io::Result<ExitChild<std::process::Child>> {
        spawn_std(self, flags)
    }
}

/// `spawn_tied` of a std `Command`; `windows_flags`: the creation flags
/// (Windows only).
fn spawn_std(
    command: &mut std::process::Command,
    windows_flags: u32,
) -> io::Result<ExitChild<std::process::Child>> {
    #[cfg(windows)]
    sys::start_suspended(command, windows_flags);
    #[cfg(not(windows))]
    let _ = windows_flags;
    // The parent-death signal as well as the watchdog: a spawn without it
    // (`posix_spawn`, 1.2x a plain spawn against 1.37x) left the child
    // running when this process was killed during the spawn (the child is
    // told to the watchdog only once `exec` is done): 20 kills in 20 of a
    // program spawning in a loop, 0 in 20 with the signal (BENCHMARKS.md).
    sys::die_with_parent(command);
    let spawned = spawner::on_spawner_thread(command, std::process::Command::new(""), |command| {
        command.spawn()
    })?;
    let child = sys::after_spawn(spawned?)?;
    // Ended (with its group, if it leads one) even if this process is killed.
    crate::watchdog::tie(Some(child.id()));
    // Just spawned, never waited for: no need to ask it first (and a
    // launcher that ended at once keeps its group for the stop).
    Ok(tie(child))
}

#[cfg(feature = "tokio")]
impl sealed::Sealed for tokio::process::Command {}

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
impl CommandExt for tokio::process::Command {
    type Child = tokio::process::Child;

    fn spawn_tied(&mut self) -> io::Result<ExitChild<tokio::process::Child>> {
        spawn_tokio(self, 0)
    }

    #[cfg(windows)]
    fn spawn_tied_with_creation_flags(
        &mut self,
        flags: u32,
    ) -> io::Result<ExitChild<tokio::process::Child>> {
        spawn_tokio(self, flags)
    }
}

/// `spawn_tied` of a Tokio `Command`; `windows_flags` as for [`spawn_std`].
#[cfg(feature = "tokio")]
fn spawn_tokio(
    command: &mut tokio::process::Command,
    windows_flags: u32,
) -> io::Result<ExitChild<tokio::process::Child>> {
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
    #[cfg(windows)]
    sys::start_suspended(command.as_std_mut(), windows_flags);
    #[cfg(not(windows))]
    let _ = windows_flags;
    // The parent-death signal as well as the watchdog: see `spawn_std`.
    sys::die_with_parent(command.as_std_mut());
    let spawned =
        spawner::on_spawner_thread(command, tokio::process::Command::new(""), move |command| {
            let _entered = runtime.enter();
            command.spawn()
        })?;
    let child = sys::after_spawn(spawned?)?;
    // Ended (with its group, if it leads one) even if this process is killed.
    crate::watchdog::tie(child.id());
    // Just spawned, never waited for: no need to ask it first (and a
    // launcher that ended at once keeps its group for the stop).
    Ok(tie(child))
}

#[cfg(all(test, unix, feature = "tokio"))]
mod tests {
    use super::CommandExt as _;
    use std::io::Read as _;
    use std::os::fd::{FromRawFd as _, OwnedFd};

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
}
