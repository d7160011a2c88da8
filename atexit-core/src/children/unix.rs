//! The Unix calls of `children`. Every pid given here belongs to a child the
//! caller owns and has not reaped, so neither it nor the group it leads can
//! have been reused.

use std::io;

fn pid_t(pid: u32) -> libc::pid_t {
    // Pids from `Child::id` came from a `pid_t`.
    libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX)
}

/// Whether the child leads a process group of its own.
pub(super) fn leads_group(pid: u32) -> bool {
    // SAFETY: `getpgid` only reads; the pid is our unreaped child.
    unsafe { libc::getpgid(pid_t(pid)) == pid_t(pid) }
}

/// SIGTERM to the child, or to the group it leads. Returns true: on Unix a
/// child can always be asked.
pub(super) fn ask_to_stop(pid: u32, group: bool) -> bool {
    let target = if group { -pid_t(pid) } else { pid_t(pid) };
    // SAFETY: signals our unreaped child or the group it leads (see above).
    unsafe { libc::kill(target, libc::SIGTERM) };
    true
}

/// SIGKILL to the group the child leads (members that outlived it included).
pub(super) fn kill_group(pid: u32) {
    // SAFETY: the leader is our unreaped child: the group id is still its.
    unsafe { libc::kill(-pid_t(pid), libc::SIGKILL) };
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

/// No parent-death signal on this system: only the stop at exit applies.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn die_with_parent(_: &mut std::process::Command) {}

/// Nothing to do after the spawn on Unix.
pub(super) fn after_spawn<C>(child: C) -> io::Result<C> {
    Ok(child)
}
