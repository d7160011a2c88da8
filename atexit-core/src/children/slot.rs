//! The state an `ExitChild` shares with its registration: the `Child`, its
//! pid while it is ours, how it ended, and the stop's progress. Every reap
//! goes through `Slot::reap_if_ended`, under the slot's lock, so a pid is
//! never used once its child is reaped (see the module docs); the waits of
//! `ExitChild::wait` reap through it too.

use super::process::Process;
use super::sys;
use std::io;
use std::process::ExitStatus;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The grace a child has between SIGTERM and SIGKILL unless
/// `ExitChild::with_grace` says otherwise.
pub(super) const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// The state one registration shares with its `ExitChild`.
pub(super) struct Shared<C> {
    slot: Mutex<Slot<C>>,
}

pub(super) struct Slot<C> {
    /// The pid, while the child is neither reaped nor detached.
    pub(super) pid: Option<u32>,
    /// What tells whether something else reaped it (on Linux its start
    /// time, or a pidfd where `/proc` cannot be read).
    pub(super) hold: sys::Hold,
    /// `None` once reaped or detached.
    pub(super) child: Option<C>,
    /// How it ended, once reaped.
    pub(super) status: Option<ExitStatus>,
    /// Between SIGTERM and SIGKILL: read when the stop begins.
    pub(super) grace: Duration,
    /// When it was asked to stop (SIGTERM sent), by whichever stop came first.
    pub(super) asked: Option<Instant>,
    /// It led a process group of its own when asked to stop.
    pub(super) group: bool,
    /// Its stop at exit was taken by a handler (its own or a newer child's,
    /// stopping a batch): its own handler then does nothing.
    pub(super) taken: bool,
    /// Its registration, once made.
    pub(super) handle: Option<crate::handle::Handle>,
    /// The tasks in `ExitChild::wait` (Tokio) that last found it running:
    /// woken when another thread reaps, forgets or detaches it. Tokio's
    /// own wake (the child's pidfd, or SIGCHLD) is not enough: measured, a
    /// task waiting on a current-thread runtime while another thread
    /// stopped the child slept on in about 1 run in 10 under load.
    pub(super) waiters: Vec<std::task::Waker>,
}

impl<C> Slot<C> {
    /// No child, no pid: what a slot holds once reaped or detached.
    pub(super) fn empty() -> Self {
        Slot {
            pid: None,
            hold: sys::hold(None),
            child: None,
            status: None,
            grace: DEFAULT_GRACE,
            asked: None,
            group: false,
            taken: false,
            handle: None,
            waiters: Vec::new(),
        }
    }

    /// Wakes the tasks waiting for it: it was reaped, forgotten or
    /// detached. (A waker only schedules its task; none blocks.)
    pub(super) fn wake_waiters(&mut self) {
        for waiter in self.waiters.drain(..) {
            waiter.wake();
        }
    }
}

impl<C: Process> Slot<C> {
    /// Reaps the child if it has ended. When it leads a group, `members`
    /// says whether the reap also waits for the group's other members.
    pub(super) fn reap_if_ended(&mut self, members: Members) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(pid) = self.pid else {
            return Err(detached());
        };
        // A look that reaps nothing first: a child still running costs one
        // system call, so a stop polling a thousand children stays cheap.
        // Still running means a child of ours has the pid; whether it is
        // this one is checked before anything is sent to it or reaped.
        let ended = match sys::has_ended(pid) {
            Ok(ended) => ended,
            // Not our child to wait for: reaped elsewhere (std's `try_wait`
            // says so below) or by Tokio, which then has the status.
            Err(error) if is_no_child(&error) => true,
            Err(error) => return Err(error),
        };
        if !ended {
            return Ok(None);
        }
        self.ensure_ours()?;
        let Some(child) = self.child.as_mut() else {
            return Err(detached());
        };
        if self.group && members != Members::Ignore {
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
            self.wake_waiters();
        }
        Ok(status)
    }
}

/// What reaping a group leader waits for besides the leader itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Members {
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
    pub(super) fn ensure_ours(&mut self) -> io::Result<()> {
        if self.child.is_some()
            && self
                .pid
                .is_some_and(|pid| sys::reaped_elsewhere(pid, &self.hold))
        {
            self.forget();
            return Err(reaped_elsewhere());
        }
        Ok(())
    }

    fn forget(&mut self) {
        self.child = None;
        crate::watchdog::untie(self.pid.take());
        self.hold = sys::hold(None);
        self.wake_waiters();
    }
}

impl<C: Process> Shared<C> {
    /// Wraps the slot of a child, tied or not.
    pub(super) fn new(slot: Slot<C>) -> Self {
        Shared {
            slot: Mutex::new(slot),
        }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Slot<C>> {
        // Nothing panics while holding it; a poisoned lock must not stop the exit.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `wait`: blocks until the child has ended (holding no lock), then reaps
    /// it through the slot.
    pub(super) fn wait_blocking(&self) -> io::Result<ExitStatus> {
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

#[cfg(feature = "tokio")]
impl Shared<tokio::process::Child> {
    /// One look for `ExitChild::wait`: polls a fresh Tokio `wait()` future
    /// once, under the lock (it does not block), and drops it. Tokio keeps
    /// the waker with the child's own registration (its pidfd, or SIGCHLD),
    /// and the slot keeps it too ([`Slot::waiters`]): whoever reaps the
    /// child (the stop at exit, a `stop` on another thread) wakes the task,
    /// and the next look finds the status in the slot. The only code not
    /// ours or Tokio's that runs under the lock is the executor's waker
    /// (its clone here, its wake there), as in any poll; nothing there
    /// blocks.
    pub(super) fn poll_wait(
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
            Poll::Pending => {
                if !slot
                    .waiters
                    .iter()
                    .any(|waiter| waiter.will_wake(cx.waker()))
                {
                    slot.waiters.push(cx.waker().clone());
                }
                Poll::Pending
            }
            Poll::Ready(Ok(status)) => {
                slot.status = Some(status);
                slot.child = None;
                crate::watchdog::untie(slot.pid.take());
                slot.wake_waiters();
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

/// The child was detached (or, for an `ExitChild` with nothing to stop,
/// never tied): there is no pid to use.
pub(super) fn detached() -> io::Error {
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
