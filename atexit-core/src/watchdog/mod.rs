//! The watchdog: one small process per program that ends the program's tied
//! children (with their groups and descendants) and carries out its
//! declared cleanups ([`carry`]) when
//! the program dies without running any code (SIGKILL, the OOM killer,
//! `abort`, a crash, [`exit_now`](crate::exit_now), an exit cut off by its
//! deadline), shared by issue 22 (tied children's trees) and issue 24
//! (declared cleanups, over the same socket). A declaration the crash
//! handler carried out is withdrawn by its `Ran`, sent from the handler.
//!
//! # Contract
//!
//! On Linux with glibc, in an executable, once a child was spawned with
//! [`spawn_tied`](crate::CommandExt::spawn_tied) and this process then dies
//! without saying `Bye` (the end of an exit that ran its handlers), every
//! tied child still registered is stopped and killed within milliseconds
//! (the tests hold it to 1 s), with its descendants: the whole group it
//! leads, if it leads one (`process_group(0)`), or else the child alone,
//! never the program's own group. So a reader of the program's stdout sees
//! its end even when a grandchild in the group inherited it. (A child that
//! leads no group has usually died of its parent-death signal first, and
//! its children gone to init: only groups are promised.) The same happens
//! when the program lives on without its end of the socket (an `exec`),
//! minus the declared cleanups. It never acts while the program lives; it never
//! signals a child or group whose id was given to someone else since
//! ([`reap`] has the rule); it never holds the program's stdio; and it never
//! runs the program's code (it is the program's executable re-run, but takes
//! its role before any constructor, std's included).
//!
//! # How
//!
//! - Started lazily, once per process, by the first tied spawn or the first
//!   declared cleanup (at most 8 times, for one that keeps going away): `/proc/self/exe` run again with `posix_spawn` (std's `Command`,
//!   no `pre_exec`), `ATEXIT_WATCHDOG=<version>:<fd>:<parent pid>` in its
//!   environment, the watchdog's end of an `AF_UNIX` stream socket pair as
//!   its stdin (so no descriptor of the program is inherited by accident),
//!   `/dev/null` for stdout and stderr, `/` as its directory; about a
//!   millisecond (see BENCHMARKS.md).
//! - The role is taken in a `.preinit_array` function ([`preinit`]), which
//!   checks the variable (the socket is a socket, the parent is the named
//!   pid) and then never returns: the watchdog loop ends in `_exit`.
//! - The watchdog calls `setsid`: the terminal's Ctrl+C, Ctrl+Z and hang-up
//!   never reach it. Signals sent to it directly keep their default action:
//!   ending it ends it without acting (the program then simply has no
//!   watchdog until its next tied group starts another).
//! - The death notice is the socket's end of file, or the program's pidfd
//!   becoming readable (which a forked child still holding a copy of the
//!   program's end cannot delay; the fork hook closes that copy anyway). An
//!   end of file while the program still lives (it closed the descriptor,
//!   or `exec`ed) makes the watchdog end the tied children and leave; the
//!   declared cleanups are dropped.
//! - Messages ([`protocol`]): `Tie{pgid, leader, leader start time}` with the
//!   child's pidfd (`pgid` 0 for a child that leads no group), sent right
//!   after the spawn; `Untie{pid}` when the crate reaps the child (a stop,
//!   `wait`, `try_wait`); `Bye` when an exit's
//!   handlers are done (the watchdog then exits without acting);
//!   `Declare`, `Cancel`, `Ran` and `Look` for the declared cleanups.
//!
//! # Limits
//!
//! - A descendant that leaves the tree before the program dies (a double
//!   fork: its parent exited, so it is init's child, outside every group of
//!   ours) escapes. Descendants that left the *group* but are still
//!   children of a member are taken, by default: on a crash nobody else is
//!   left to end them, and they hold the program's stdout as often as the
//!   group does. An exit that runs its handlers stops the group only (as
//!   before), and says `Bye`: such a descendant outlives it.
//!   A descendant that left the group (or of a child that leads none) and
//!   whose parent is the tied child is
//!   usually missed after a SIGKILL: the leader dies of that signal in the
//!   same kernel exit that closes the socket, and its children go to init
//!   before the watchdog looks.
//! - The watchdog is a child of the program that is never reaped while the
//!   program runs: a program that waits for *all* its children (`wait()`
//!   until ECHILD) before it exits waits for it too; it ends on `Bye`.
//! - A program killed in the instant between a tied spawn and its `Tie`
//!   leaves that child's group running (the child itself dies of its
//!   parent-death signal).
//! - A watchdog killed on its own (not with the program) leaves the tied
//!   children unguarded until the next tied spawn or declaration starts a
//!   successor; the program keeps every tied child not untied yet (pid and
//!   start time) and tells the successor of them all, each checked against
//!   its start time after its pidfd is opened (a detached child may have
//!   been reaped). Declared cleanups are not carried over (the contract on
//!   `LastWords`).
//! - A group is reached exactly through its leader's pidfd on Linux 6.9 and
//!   later; on 5.3 to 6.8 only while its leader is unreaped, on older
//!   kernels only while its start time matches: after a SIGKILL of the
//!   program the leader has usually died of its parent-death signal by
//!   then, so there the group is mostly left alone, never a wrong one hit.
//! - No watchdog where the preinit function does not run: a `cdylib` loaded
//!   by a host (the executable is not ours), musl, macOS, the BSDs.
//!   There tied children get the parent-death signal (Linux, FreeBSD),
//!   which ends the child itself only. (glibc's `dlopen` runs a shared
//!   object's preinit array too: [`preinit`] checks that it is the
//!   executable's.)
//! - Windows has a watchdog for declared removals and consoles ([`windows`]
//!   starts it, [`windows_role`] is its side: a `.CRT$XCT` initializer
//!   takes the role, a named pipe carries the same messages, the program
//!   duplicates console handles into it, the program's process handle is
//!   the death notice). Tied children there are in a Job Object that kills
//!   them with the program, so they need none; process groups are not
//!   declared there.
//!   FreeBSD would rather use `procctl(PROC_REAP_KILL)` on a reaper; not
//!   built.
//! - A kill of the whole cgroup (systemd's stop, the OOM killer's group
//!   kill) takes the watchdog too: the cgroup kill ends the groups anyway.
//! - One pidfd per registered child in the watchdog (it raises its own
//!   descriptor limit to the hard limit; beyond it a child is tied by its
//!   start time alone); one transient descriptor per tied spawn in the
//!   program.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod carry;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod preinit;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod program;
#[cfg(any(test, all(target_os = "linux", target_env = "gnu"), windows))]
mod protocol;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod reap;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod run;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
mod windows_role;

/// After a tied child's spawn: registers it (the group it leads, if it
/// leads one), starting the watchdog if need be.
pub(crate) fn tie(pid: Option<u32>) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Some(pid) = pid {
        program::tie(pid);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = pid;
}

/// The program took the tied child `pid` back (`detach`): a successor
/// watchdog is not told of it; the one running keeps it (through its pidfd).
pub(crate) fn detached(pid: Option<u32>) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Some(pid) = pid {
        program::detached(pid);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = pid;
}

/// The crate reaped `pid` (or another reaper took it): its group is no
/// longer the watchdog's to end. A pid never tied is ignored there.
pub(crate) fn untie(pid: Option<u32>) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Some(pid) = pid {
        program::untie(pid);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = pid;
}

/// A declared cleanup (issue 24) as the watchdog is handed it: plain data
/// and the descriptors it needs, borrowed for the send.
#[cfg(unix)]
// Read only where a watchdog is built (Linux glibc); elsewhere the
// declarations still hand it over, to nobody.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
pub(crate) enum Carried<'a> {
    /// Restore `tty` to `saved` (compare-and-restore: see [`run`]'s docs),
    /// after writing `escape`.
    Terminal {
        tty: std::os::fd::BorrowedFd<'a>,
        saved: &'a libc::termios,
        escape: &'a [u8],
    },
    /// Remove `path` (absolute) if it still is `(dev, ino)`; `pin` keeps
    /// that inode from being reused.
    Remove {
        path: &'a [u8],
        dev: u64,
        ino: u64,
        recursive: bool,
        pin: Option<std::os::fd::BorrowedFd<'a>>,
    },
    /// Kill the process group `pgid` while it is still the one declared.
    KillGroup { pgid: u32 },
}

/// Hands declaration `id` to the watchdog, starting the watchdog if there is
/// none yet. Called before the declaration can run in the process, so that
/// a `Ran` always follows its `Declare` on the socket.
#[cfg(unix)]
pub(crate) fn declare(id: u64, what: Carried<'_>) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::declare(id, what);
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = (id, what);
}

/// Hands the removal `id` to the watchdog (Windows), starting the watchdog
/// if there is none yet: remove `path` (absolute) if it still is `file`.
#[cfg(windows)]
pub(crate) fn declare_removal(
    id: u64,
    path: &std::path::Path,
    file: crate::os::file_id::FileId,
    recursive: bool,
) {
    use std::os::windows::ffi::OsStrExt as _;
    let path = path
        .as_os_str()
        .encode_wide()
        .flat_map(u16::to_le_bytes)
        .collect();
    let what = protocol::Declared::Remove {
        recursive,
        dev: file.volume,
        ino: file.index,
        path,
    };
    windows::declare(id, &what);
}

/// Hands the console restore `id` to the watchdog (Windows), starting the
/// watchdog if there is none yet: `handles` (the console's input and
/// screen buffer) are duplicated into it, to be set back to `saved` after
/// `escape` is written.
#[cfg(windows)]
pub(crate) fn declare_console(
    id: u64,
    handles: [std::os::windows::io::RawHandle; 2],
    saved: crate::os::console::Modes,
    escape: &[u8],
) {
    windows::declare_console(id, handles, saved, escape);
}

/// Declaration `id` was cancelled: the watchdog forgets it.
pub(crate) fn cancel(id: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::about(protocol::Kind::Cancel, id);
    #[cfg(windows)]
    windows::about(protocol::Kind::Cancel, id);
    #[cfg(not(any(all(target_os = "linux", target_env = "gnu"), windows)))]
    let _ = id;
}

/// Declaration `id` was carried out by the program: the watchdog forgets it.
pub(crate) fn ran(id: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::about(protocol::Kind::Ran, id);
    #[cfg(windows)]
    windows::about(protocol::Kind::Ran, id);
    #[cfg(not(any(all(target_os = "linux", target_env = "gnu"), windows)))]
    let _ = id;
}

/// As [`ran`], from the crash handler: async-signal-safe (one `send`, no
/// allocation, no waiting).
#[cfg(unix)]
pub(crate) fn ran_in_crash(id: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::ran_in_crash(id);
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = id;
}

/// Asks the watchdog to look at the declared ttys' modes now; waits a
/// moment for it. Whether a watchdog looked.
pub(crate) fn look_at_terminals() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    return program::look();
    #[cfg(windows)]
    return windows::look();
    #[cfg(not(any(all(target_os = "linux", target_env = "gnu"), windows)))]
    false
}

/// An exit's handlers are done: the watchdog leaves without acting.
pub(crate) fn bye() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::bye();
    #[cfg(windows)]
    windows::bye();
}

/// The fork hook's child half: async-signal-safe.
#[cfg(unix)]
pub(crate) fn forget_in_forked_child() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    program::forget_in_forked_child();
}

/// A pidfd of `pid` (Linux 5.3 and later).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn pidfd_open(pid: libc::pid_t) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: returns a new descriptor (or -1), which we then own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = libc::c_int::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: a descriptor the kernel just gave us, owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// A termios as the protocol carries it: its fields in order (not its
/// bytes: the padding between them is not data).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn termios_bytes(termios: &libc::termios) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(TERMIOS_BYTES);
    for flags in [
        termios.c_iflag,
        termios.c_oflag,
        termios.c_cflag,
        termios.c_lflag,
    ] {
        bytes.extend_from_slice(&flags.to_le_bytes());
    }
    bytes.push(termios.c_line);
    bytes.extend_from_slice(&termios.c_cc);
    bytes.extend_from_slice(&termios.c_ispeed.to_le_bytes());
    bytes.extend_from_slice(&termios.c_ospeed.to_le_bytes());
    bytes
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TERMIOS_BYTES: usize = 4 * 4 + 1 + libc::NCCS + 2 * 4;

/// The inverse of [`termios_bytes`]; `None` for bytes of another length.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn termios_from(bytes: &[u8]) -> Option<libc::termios> {
    if bytes.len() != TERMIOS_BYTES {
        return None;
    }
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    // SAFETY: a zeroed termios is a valid value; every field is set below.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    termios.c_iflag = u32_at(0);
    termios.c_oflag = u32_at(4);
    termios.c_cflag = u32_at(8);
    termios.c_lflag = u32_at(12);
    termios.c_line = bytes[16];
    termios.c_cc.copy_from_slice(&bytes[17..17 + libc::NCCS]);
    termios.c_ispeed = u32_at(17 + libc::NCCS);
    termios.c_ospeed = u32_at(21 + libc::NCCS);
    Some(termios)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
use crate::os::start_time::start_time;
