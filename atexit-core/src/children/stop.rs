//! The stop protocol (what [`stop_at_exit`] documents):
//! SIGTERM to the child, or to the process group it leads; the grace for it
//! (and every member of its group) to end; SIGKILL; a bound after that: for
//! one child, or for many at once, with their graces running side by side
//! (`stop_all`, which the exit's batches use: see `batch`).
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
use std::time::{Duration, Instant};

/// How long a child has to end after SIGKILL before the exit gives up on it
/// (a process in uninterruptible sleep, say, on a dead NFS server).
const KILL_BOUND: Duration = Duration::from_secs(1);

/// The longest pause between two looks at a child that is stopping.
const MAX_PAUSE: Duration = Duration::from_millis(20);

/// One child in a stop: what the protocol needs of it, whatever its
/// `Process` type, so that children of both kinds are stopped together.
pub(super) trait Stoppable: Send + Sync {
    /// The first step: reaped if it has ended (nothing asked), otherwise
    /// asked to stop (once, by whichever stop comes first).
    fn ask(&self) -> io::Result<Asked>;
    /// Reaps it if it has ended (see `Members`).
    fn look(&self, members: Members) -> io::Result<Option<ExitStatus>>;
    /// Past the grace: reaped if it has ended, otherwise killed.
    fn kill(&self) -> io::Result<Option<ExitStatus>>;
    /// Its pid while it is ours, for a report.
    fn pid(&self) -> Option<u32>;
    /// Takes its stop for an exit's batch: false when one was taken already
    /// (by a newer child's handler) or there is nothing to stop.
    fn take_for_exit(&self) -> bool;
    /// Cancels its own registration (its stop was taken by a batch).
    fn unregister(&self);
}

/// What asking a child to stop found.
pub(super) enum Asked {
    /// It had ended already and is reaped.
    Ended(ExitStatus),
    /// Asked: its grace ends then (`None`: a grace too long to add).
    Until(Option<Instant>),
}

impl<C: Process> Stoppable for Shared<C> {
    fn ask(&self) -> io::Result<Asked> {
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
            return Ok(Asked::Ended(status));
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
        Ok(Asked::Until(
            slot.asked.and_then(|asked| asked.checked_add(slot.grace)),
        ))
    }

    fn look(&self, members: Members) -> io::Result<Option<ExitStatus>> {
        self.lock().reap_if_ended(members)
    }

    fn kill(&self) -> io::Result<Option<ExitStatus>> {
        let mut slot = self.lock();
        if let Some(status) = slot.reap_if_ended(Members::Wait)? {
            return Ok(Some(status));
        }
        slot.ensure_ours()?;
        let pid = slot.pid.ok_or_else(detached)?;
        if slot.group {
            sys::kill_group(pid);
        } else if let Some(child) = slot.child.as_mut() {
            child.kill_now()?;
        }
        Ok(None)
    }

    fn pid(&self) -> Option<u32> {
        self.lock().pid
    }

    fn take_for_exit(&self) -> bool {
        let mut slot = self.lock();
        let free = !slot.taken && slot.child.is_some();
        slot.taken = true;
        free
    }

    fn unregister(&self) {
        let handle = self.lock().handle;
        if let Some(handle) = handle {
            handle.unregister();
        }
    }
}

impl<C: Process> Shared<C> {
    /// The stop protocol for this child alone; see [`stop_at_exit`].
    pub(super) fn stop(&self) -> io::Result<ExitStatus> {
        let mut results = stop_all(&[self as &dyn Stoppable]);
        results.pop().unwrap_or_else(|| Err(detached()))
    }
}

/// Where one child is in a stop of several.
enum Step {
    /// Asked; looked at until its grace ends.
    Grace(Option<Instant>),
    /// Killed; looked at until then.
    Killed(Option<Instant>),
    Done(io::Result<ExitStatus>),
}

/// The stop protocol for several children at once (see [`stop_at_exit`]):
/// each is asked (SIGTERM to it or its group) in turn, without waiting; then
/// all are looked at together, each killed when its own grace ends and given
/// [`KILL_BOUND`] after that, until every one is reaped or given up on. So
/// the whole stop lasts the longest of their graces (plus the kill bound for
/// a child stuck after SIGKILL), whatever their number. Holds no lock while
/// it sleeps; returns each child's outcome, in the order given.
pub(super) fn stop_all(children: &[&dyn Stoppable]) -> Vec<io::Result<ExitStatus>> {
    let mut steps: Vec<Step> = children
        .iter()
        .map(|child| match child.ask() {
            Ok(Asked::Ended(status)) => Step::Done(Ok(status)),
            Ok(Asked::Until(until)) => Step::Grace(until),
            Err(error) => Step::Done(Err(error)),
        })
        .collect();
    let mut pause = Duration::from_millis(1);
    loop {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut pending = false;
        let mut killed = false;
        sys::look_round(|| {
            for (child, step) in children.iter().zip(steps.iter_mut()) {
                let (members, until) = match *step {
                    Step::Done(_) => continue,
                    Step::Grace(until) => (Members::Wait, until),
                    Step::Killed(until) => (Members::Killed, until),
                };
                match child.look(members) {
                    Ok(Some(status)) => *step = Step::Done(Ok(status)),
                    Err(error) => *step = Step::Done(Err(error)),
                    Ok(None) if until.is_some_and(|until| until <= now) => {
                        *step = past(*child, step);
                        killed = true;
                    }
                    Ok(None) => {}
                }
                match *step {
                    Step::Grace(until) | Step::Killed(until) => {
                        pending = true;
                        if let Some(until) = until {
                            next = Some(next.map_or(until, |next| next.min(until)));
                        }
                    }
                    Step::Done(_) => {}
                }
            }
        });
        if !pending {
            break;
        }
        if killed {
            // A child killed just now ends within a moment: look again soon.
            pause = Duration::from_millis(1);
        }
        let left = next.map(|next| next.saturating_duration_since(Instant::now()));
        std::thread::sleep(left.map_or(pause, |left| left.min(pause)));
        pause = (pause * 2).min(MAX_PAUSE);
    }
    steps
        .into_iter()
        .map(|step| match step {
            Step::Done(result) => result,
            Step::Grace(_) | Step::Killed(_) => Err(detached()),
        })
        .collect()
}

/// The next step of a child whose time in `step` has run out.
fn past(child: &dyn Stoppable, step: &Step) -> Step {
    match step {
        Step::Grace(_) => match child.kill() {
            Ok(Some(status)) => Step::Done(Ok(status)),
            Ok(None) => Step::Killed(Instant::now().checked_add(KILL_BOUND)),
            Err(error) => Step::Done(Err(error)),
        },
        // A leader that has ended is reaped even if members killed with it
        // are still stuck (in the kernel): they are left to the system.
        _ => match child.look(Members::Ignore) {
            Ok(Some(status)) => Step::Done(Ok(status)),
            Ok(None) => Step::Done(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the child did not end within 1 s of being killed",
            ))),
            Err(error) => Step::Done(Err(error)),
        },
    }
}

/// Reports a child the exit could not stop (not one that was reaped
/// elsewhere or detached: `NotFound`).
pub(super) fn report(pid: Option<u32>, result: &io::Result<ExitStatus>) {
    if let Err(error) = result {
        if error.kind() != io::ErrorKind::NotFound {
            let pid = pid.unwrap_or(0);
            os::write_stderr(
                format!("atexit: cannot stop child process {pid}: {error}\n").as_bytes(),
                Duration::from_millis(100),
            );
        }
    }
}
