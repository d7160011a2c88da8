//! The Unix calls of `children`. Every pid given here belongs to a child the
//! caller owns and has not reaped, so neither it nor the group it leads can
//! have been reused: unless something else in the program reaped it (a
//! `waitpid(-1)` loop, SIGCHLD ignored). On Linux the child's start time,
//! read when it is tied, tells that case apart ([`reaped_elsewhere`]), and
//! signals to the child itself go through a pidfd opened for that signal.

use std::io;

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::os::start_time::start_time;

fn pid_t(pid: u32) -> libc::pid_t {
    // Pids from `Child::id` came from a `pid_t`.
    libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX)
}

/// What this process keeps of a tied child besides its pid, to tell later
/// whether that pid is still its child's: on Linux the child's start time
/// (field 22 of `/proc/<pid>/stat`), read while the child is unreaped. No
/// descriptor is held per child (a program with thousands of tied children
/// would run out of them: issue 22); a pidfd is opened only for the moment
/// a signal is sent. Where `/proc` cannot be read, a pidfd is held instead,
/// as before. Off Linux: nothing.
pub(super) enum Hold {
    /// Nothing to check with: the child is only ever reaped by its `ExitChild`.
    Nothing,
    /// The child's start time, in clock ticks since boot.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Started(u64),
    /// A pidfd, held while the child is ours (no `/proc`).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Pidfd(std::os::fd::OwnedFd),
}

/// Takes hold of the child `pid`, just spawned or handed over (unreaped).
pub(super) fn hold(pid: Option<u32>) -> Hold {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Some(pid) = pid {
        if let Some(start) = start_time(pid) {
            return Hold::Started(start);
        }
        if let Some(fd) = pidfd_open(pid) {
            return Hold::Pidfd(fd);
        }
    }
    let _ = pid;
    Hold::Nothing
}

/// A pidfd for `pid`: it names the process that has that pid now, whatever
/// happens to the number later.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pidfd_open(pid: u32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: `pidfd_open` takes a pid and flags and returns a new
    // descriptor (or -1), which we own from here on.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid_t(pid), 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Sends `signal` through `fd`; false when the process is gone.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pidfd_signal(fd: &std::os::fd::OwnedFd, signal: libc::c_int) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: a signal through our own pidfd reaches exactly that process
    // (signal 0 only checks that it exists, running or a zombie).
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    sent == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether the child `pid` was reaped by something other than its
/// `ExitChild`: its pid may name another process by now, so nothing may be
/// sent to it.
pub(super) fn reaped_elsewhere(pid: u32, hold: &Hold) -> bool {
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = pid;
    match hold {
        Hold::Nothing => false,
        // Gone from `/proc` (a zombie is still there), or another process.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Hold::Started(start) => start_time(pid) != Some(*start),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Hold::Pidfd(fd) => {
            let _ = pid;
            !pidfd_signal(fd, 0)
        }
    }
}

/// Sends `signal` to the child itself, if it is still the process `hold`
/// names; returns whether it was. On Linux through a pidfd opened for this
/// one signal and checked against the start time after it was opened: the
/// pidfd then names our child, not a process given its number since.
fn signal_child(pid: u32, hold: &Hold, signal: libc::c_int) -> bool {
    match hold {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Hold::Pidfd(fd) => pidfd_signal(fd, signal),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        Hold::Started(start) => match pidfd_open(pid) {
            Some(fd) => start_time(pid) == Some(*start) && pidfd_signal(&fd, signal),
            // No pidfds (Linux before 5.3): checked, then signalled.
            None => {
                start_time(pid) == Some(*start)
                    // SAFETY: our unreaped child, as just checked.
                    && unsafe { libc::kill(pid_t(pid), signal) } == 0
            }
        },
        // SAFETY: our unreaped child (see the module docs).
        Hold::Nothing => (unsafe { libc::kill(pid_t(pid), signal) }) == 0,
    }
}

/// Whether the child leads a process group of its own.
pub(super) fn leads_group(pid: u32) -> bool {
    // SAFETY: `getpgid` only reads; the pid is our unreaped child.
    unsafe { libc::getpgid(pid_t(pid)) == pid_t(pid) }
}

/// SIGTERM to the child (checked as in `signal_child`), or to the group it
/// leads. Returns true: on Unix a child can always be asked.
pub(super) fn ask_to_stop(pid: u32, group: bool, hold: &Hold) -> bool {
    if group {
        // SAFETY: the leader is our unreaped child (the caller checked):
        // the group id is still its.
        unsafe { libc::kill(-pid_t(pid), libc::SIGTERM) };
    } else {
        signal_child(pid, hold, libc::SIGTERM);
    }
    true
}

/// SIGKILL to the group the child leads (members that outlived it included).
pub(super) fn kill_group(pid: u32) {
    // SAFETY: the leader is our unreaped child: the group id is still its.
    unsafe { libc::kill(-pid_t(pid), libc::SIGKILL) };
}

/// Whether a process other than the leader `pid` is still in the group it
/// leads: a zombie member counts as ended. Read from `/proc` on Linux;
/// `None` (unknown) elsewhere, or when `/proc` cannot be read. Called while
/// the leader is unreaped, so the group id is still this group's. Inside
/// [`look_round`], `/proc` is read once for every group looked at.
pub(super) fn group_has_members(pid: u32) -> Option<bool> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::collections::HashSet;
        let leader = pid_t(pid);
        ROUND.with(|round| {
            let mut round = round.borrow_mut();
            match &*round {
                Round::Off => groups_with_members(Some(leader)).map(|found| !found.is_empty()),
                Round::Unread => {
                    let found: Option<HashSet<libc::pid_t>> = groups_with_members(None);
                    let answer = found.as_ref().map(|found| found.contains(&leader));
                    *round = Round::Read(found);
                    answer
                }
                Round::Read(found) => found.as_ref().map(|found| found.contains(&leader)),
            }
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        None
    }
}

/// A stop's look at many children: `group_has_members` reads `/proc` at
/// most once for all of them (a stop of a thousand groups read it a
/// thousand times a look).
#[cfg(any(target_os = "linux", target_os = "android"))]
enum Round {
    Off,
    Unread,
    Read(Option<std::collections::HashSet<libc::pid_t>>),
}

#[cfg(any(target_os = "linux", target_os = "android"))]
thread_local! {
    static ROUND: std::cell::RefCell<Round> = const { std::cell::RefCell::new(Round::Off) };
}

/// Runs `look` (one look at every child of a stop) with one reading of
/// `/proc` for the groups' members.
pub(super) fn look_round<R>(look: impl FnOnce() -> R) -> R {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        ROUND.with(|round| *round.borrow_mut() = Round::Unread);
        let result = look();
        ROUND.with(|round| *round.borrow_mut() = Round::Off);
        result
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    look()
}

/// The groups that have a member which has not ended besides their leader:
/// of `only` that group (empty or not), or of all.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn groups_with_members(
    only: Option<libc::pid_t>,
) -> Option<std::collections::HashSet<libc::pid_t>> {
    let mut found = std::collections::HashSet::new();
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let Some(other) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if only.is_some_and(|leader| other == leader) {
            continue;
        }
        // Gone meanwhile: not a member.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{other}/stat")) else {
            continue;
        };
        // After the command (in parentheses, which may hold anything):
        // state, ppid, pgrp.
        let Some(rest) = stat.rfind(')').map(|end| &stat[end + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let Some(group) = fields
            .nth(1)
            .and_then(|pgrp| pgrp.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // A leader is no member of its own group.
        if group == other || matches!(state, Some("Z" | "X" | "x")) {
            continue;
        }
        if let Some(leader) = only {
            if group == leader {
                found.insert(group);
                return Some(found);
            }
        } else {
            found.insert(group);
        }
    }
    Some(found)
}

/// Whether the current Tokio runtime has its IO driver, which Tokio needs for
/// a child (its pidfd or SIGCHLD, its pipes) once it has spawned it. Tokio
/// has no way to ask but to try: a pipe of our own is registered with the
/// driver, which panics when there is none; the panic is caught here.
#[cfg(feature = "tokio")]
pub(super) fn tokio_io_enabled() -> bool {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `pipe2` fills two new descriptors, which we then own.
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let made = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0;
    // No `pipe2` (macOS): close-on-exec set just after, so that a child
    // spawned meanwhile by another thread has them only until it runs.
    // SAFETY: `pipe` fills two new descriptors; `fcntl` sets their flags.
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let made = unsafe {
        libc::pipe(fds.as_mut_ptr()) == 0 && {
            for fd in fds {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
            true
        }
    };
    if !made {
        // Cannot check: let the spawn say.
        return true;
    }
    // SAFETY: new descriptors owned by nobody else.
    let (read, write) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    let write = std::process::ChildStdin::from(write);
    // Whatever it returns (an error registering is the spawn's to report),
    // only a panic says there is no driver.
    caught_quietly(move || drop(tokio::process::ChildStdin::from_std(write)))
}

/// Runs `probe`, which may panic; returns whether it did not. The panic is
/// the check's own, so the panic hook in force never sees it: on a refusal
/// it used to print "thread ... panicked" with a backtrace though the panic
/// was caught, and a hook that ends the process (a crash reporter's, one
/// that aborts) ended it. For the probe the hook is wrapped by one that
/// skips this thread's panics, then put back as it was.
///
/// With `panic = "abort"` no panic can be caught: the probe's panic aborts
/// the process, with Tokio's message, before anything is spawned.
#[cfg(feature = "tokio")]
fn caught_quietly(probe: impl FnOnce() + std::panic::UnwindSafe) -> bool {
    use std::cell::Cell;
    use std::sync::Arc;
    type Hook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;
    thread_local! {
        static QUIET: Cell<bool> = const { Cell::new(false) };
    }
    // The hook cannot be changed from a panicking thread (a drop during
    // unwinding), and an abort must keep its message.
    if cfg!(panic = "abort") || std::thread::panicking() {
        return std::panic::catch_unwind(probe).is_ok();
    }
    let previous: Arc<Hook> = Arc::new(std::panic::take_hook());
    let forward = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        if !QUIET.with(Cell::get) {
            forward(info);
        }
    }));
    QUIET.with(|quiet| quiet.set(true));
    let passed = std::panic::catch_unwind(probe).is_ok();
    QUIET.with(|quiet| quiet.set(false));
    // Ours, holding `forward`: dropped, `previous` is the only owner again.
    drop(std::panic::take_hook());
    match Arc::try_unwrap(previous) {
        Ok(hook) => std::panic::set_hook(hook),
        Err(shared) => std::panic::set_hook(Box::new(move |info| shared(info))),
    }
    passed
}

/// Whether the child has ended, without reaping it (`WNOWAIT`), so its pid
/// and group id stay reserved until the caller reaps it.
pub(super) fn has_ended(pid: u32) -> io::Result<bool> {
    waitid(pid, libc::WNOHANG)
}

/// Blocks until the child has ended, without reaping it. Returns at once
/// with `Ok` when it is no longer our child to wait for (reaped meanwhile by
/// whoever stopped it), so the caller looks again.
pub(super) fn wait_until_ended(pid: u32) -> io::Result<()> {
    match waitid(pid, 0) {
        Err(error) if error.raw_os_error() == Some(libc::ECHILD) => Ok(()),
        other => other.map(drop),
    }
}

fn waitid(pid: u32, flags: libc::c_int) -> io::Result<bool> {
    loop {
        // SAFETY: `siginfo_t` is plain data; zeroed, `si_pid` reads 0 when
        // no child has changed state (`WNOHANG`).
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waits on our own child, filling `info` we own; `WNOWAIT`
        // leaves it unreaped.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | flags,
            )
        };
        if result == 0 {
            // SAFETY: `waitid` succeeded, so `info` holds a `SIGCHLD` record.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The parent-death signal, where the OS has one.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    // The spawner thread spawns every tied child, so the parent is this
    // process as it is now.
    let parent = pid_t(std::process::id());
    // SAFETY: the closure runs in the forked child before `exec` and only
    // makes async-signal-safe system calls (`prctl`, `getppid`) and reads
    // `errno`; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died between `fork` and `prctl`: the signal will
            // never come, so do not run the program.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// FreeBSD's parent-death signal (11.2 and later): `procctl` with
/// `PROC_PDEATHSIG_CTL`. Unlike Linux's it follows the parent *process*, not
/// the thread that forked, and like Linux's it survives `exec` (not a
/// set-user-ID one) and is not passed to the child's own children.
#[cfg(target_os = "freebsd")]
pub(super) fn die_with_parent(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt as _;
    let parent = pid_t(std::process::id());
    // SAFETY: the closure runs in the forked child before `exec` and only
    // makes async-signal-safe system calls (`procctl` on itself with a
    // pointer to a local, `getppid`) and reads `errno`; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            let mut signal: libc::c_int = libc::SIGKILL;
            let data: *mut libc::c_int = &mut signal;
            if libc::procctl(libc::P_PID, 0, libc::PROC_PDEATHSIG_CTL, data.cast()) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent died between `fork` and `procctl`: no signal will
            // come, so do not run the program.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// No parent-death signal on this system: only the stop at exit applies.
#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
pub(super) fn die_with_parent(_: &mut std::process::Command) {}

/// Nothing to do after the spawn on Unix.
pub(super) fn after_spawn<C>(child: C) -> io::Result<C> {
    Ok(child)
}
