//! What the watchdog does once the program died without saying `Bye`: every
//! registered group that is provably still the group the program started is
//! stopped (SIGSTOP), its members' descendants are collected and stopped
//! too, and then all of them are killed (SIGKILL).
//!
//! The rule that never hits a reused id: a group is signalled through the
//! pidfd of its leader (`pidfd_send_signal` with
//! `PIDFD_SIGNAL_PROCESS_GROUP`, Linux 6.9), which names the kernel's own
//! object for that id, not the number: a group that ended and whose number
//! went to a new process is another object, and the call fails with ESRCH.
//! So the group is reached even though its leader died first (it got the
//! parent-death signal in the same kernel exit that closed the socket) and
//! was reaped by init. On older kernels (EINVAL) the number is used only
//! while the leader is still unreaped (a signal 0 through its pidfd
//! succeeds): a group whose leader is gone is then left alone. Without a
//! pidfd (kernels before 5.3), only while `/proc/<leader>/stat` shows the
//! leader's start time.
//!
//! Once the group is stopped its members cannot exit, so its number cannot
//! be freed and reused while `/proc` is read: every process listed with that
//! group id is a member. A descendant is reached through a stopped parent
//! (members, then their children, and so on): a stopped parent cannot reap
//! it, so its pid stays its own until the kill. A descendant that leads a
//! group of its own (a job-control shell's job) has that group taken too.

use super::run::Group;
use std::collections::{HashMap, HashSet};
use std::os::fd::AsRawFd;

/// `PIDFD_SIGNAL_PROCESS_GROUP` (Linux 6.9, not in `libc` yet).
const PIDFD_SIGNAL_PROCESS_GROUP: libc::c_uint = 1 << 2;

/// How many times `/proc` is read for descendants forked meanwhile.
const ROUNDS: usize = 8;

/// How a group is signalled.
enum Reach<'a> {
    /// Through the leader's pidfd: exact.
    Pidfd(&'a std::os::fd::OwnedFd),
    /// By number, checked just before (see the module docs).
    Number(libc::pid_t),
}

impl Reach<'_> {
    fn signal(&self, signal: libc::c_int) -> bool {
        match self {
            // SAFETY: signals through a pidfd we own.
            Reach::Pidfd(fd) => unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    PIDFD_SIGNAL_PROCESS_GROUP,
                ) == 0
            },
            // SAFETY: a group checked to be the program's (see `reach`).
            Reach::Number(pgid) => unsafe { libc::kill(-pgid, signal) == 0 },
        }
    }
}

/// Stops a registered group, if it is still the program's; how to reach it.
fn stop_group(group: &Group) -> Option<Reach<'_>> {
    let pgid = libc::pid_t::try_from(group.tie.pgid).ok()?;
    if let Some(fd) = &group.pidfd {
        let exact = Reach::Pidfd(fd);
        if exact.signal(libc::SIGSTOP) {
            return Some(exact);
        }
        // ESRCH: no member left. EINVAL: a kernel before 6.9.
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
            return None;
        }
        // SAFETY: signal 0 through our pidfd: is the leader unreaped?
        let unreaped = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                fd.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            ) == 0
        };
        if !unreaped {
            return None;
        }
    } else if super::start_time(group.tie.leader) != Some(group.tie.leader_start) {
        return None;
    }
    let by_number = Reach::Number(pgid);
    by_number.signal(libc::SIGSTOP).then_some(by_number)
}

/// One process as `/proc/<pid>/stat` shows it.
struct Proc {
    ppid: libc::pid_t,
    pgrp: libc::pid_t,
}

/// Every live (not zombie) process but this one.
fn processes() -> HashMap<libc::pid_t, Proc> {
    let me = std::process::id() as libc::pid_t;
    let mut all = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return all;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command (in parentheses, which may hold anything):
        // state, ppid, pgrp.
        let Some(rest) = stat.rfind(')').map(|end| &stat[end + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let ppid = fields.next().and_then(|f| f.parse().ok());
        let pgrp = fields.next().and_then(|f| f.parse().ok());
        if let (Some(ppid), Some(pgrp), false) = (ppid, pgrp, matches!(state, Some("Z" | "X"))) {
            all.insert(pid, Proc { ppid, pgrp });
        }
    }
    all
}

/// The groups stopped by [`stop`], to be ended by [`Stopped::finish`].
pub(super) struct Stopped<'a> {
    reached: Vec<Reach<'a>>,
    pgids: HashSet<libc::pid_t>,
}

/// Stops every registered group still the program's (one signal each: fast,
/// so that the terminal can be given back right after with nothing of
/// theirs writing to it).
pub(super) fn stop(groups: &HashMap<u32, Group>) -> Stopped<'_> {
    let mut reached: Vec<Reach<'_>> = Vec::new();
    let mut pgids: HashSet<libc::pid_t> = HashSet::new();
    for group in groups.values() {
        if let Some(reach) = stop_group(group) {
            pgids.extend(libc::pid_t::try_from(group.tie.pgid).ok());
            reached.push(reach);
        }
    }
    Stopped { reached, pgids }
}

impl Stopped<'_> {
    /// Stops the members' descendants, then kills them all.
    pub(super) fn finish(self) {
        let Stopped {
            mut reached,
            mut pgids,
        } = self;
        finish(&mut reached, &mut pgids);
    }
}

fn finish(reached: &mut Vec<Reach<'_>>, pgids: &mut HashSet<libc::pid_t>) {
    if reached.is_empty() {
        return;
    }
    let mut taken: HashSet<libc::pid_t> = HashSet::new();
    for _ in 0..ROUNDS {
        let all = processes();
        let mut found = false;
        // To a fixed point: a child may be listed before its parent.
        loop {
            let mut more = false;
            for (&pid, proc) in &all {
                if taken.contains(&pid) {
                    continue;
                }
                if pgids.contains(&proc.pgrp) || taken.contains(&proc.ppid) {
                    taken.insert(pid);
                    // SAFETY: a member of a stopped group of ours, or the
                    // child of a stopped process of ours (see the module docs).
                    unsafe { libc::kill(pid, libc::SIGSTOP) };
                    if proc.pgrp == pid && pgids.insert(pid) {
                        // SAFETY: a group led by a stopped process of ours.
                        unsafe { libc::kill(-pid, libc::SIGSTOP) };
                        reached.push(Reach::Number(pid));
                    }
                    more = true;
                    found = true;
                }
            }
            if !more {
                break;
            }
        }
        if !found {
            break;
        }
    }
    for reach in reached.iter() {
        reach.signal(libc::SIGKILL);
    }
    for pid in taken {
        // SAFETY: as for its SIGSTOP above: still stopped, so still ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}
