//! The stop protocol (what [`stop_at_exit`] documents):
//! SIGTERM to the child, or to the process group it leads; the grace for it
//! (and every member of its group) to end; SIGKILL; a bound after that. Also
//! the handler each tied child registers, which runs that stop at exit.
//!
//! Each step takes the slot's lock briefly and lets go of it before it
//! sleeps, so `ExitChild`'s own calls (and a second stop) are never held up
//! for longer than one look at the child.

use super::process::Process;
use super::slot::{detached, Members, Shared};
#[cfg(doc)]
use super::stop_at_exit;
use super::sys;
use crate::os;
use std::io;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a child has to end after SIGKILL before the exit gives up on it
/// (a process in uninterruptible sleep, say, on a dead NFS server).
const KILL_BOUND: Duration = Duration::from_secs(1);

/// The longest pause between two looks at a child that is stopping.
const MAX_PAUSE: Duration = Duration::from_millis(20);

impl<C: Process> Shared<C> {
    /// The stop protocol; see [`stop_at_exit`]. Never holds the lock while
    /// it sleeps.
    pub(super) fn stop(&self) -> io::Result<ExitStatus> {
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
}

/// The handler [`stop_at_exit`] registers.
pub(super) fn stop_child<C: Process>(shared: Arc<Shared<C>>) {
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
