//! Tied children registered one after another are stopped together at exit.
//!
//! Each tied child keeps a registration of its own (so `ExitChild` cancels
//! it in O(1), and handlers keep their place in the newest-first order).
//! A child whose registration lands directly on top of the previous tied
//! child's (nothing registered in between, that one still waiting) joins
//! that child's *batch*. At exit, the handler of the newest child of a run
//! takes every older child of its batch that is still to be stopped and
//! stops them all at once (`stop::stop_all`: one SIGTERM each, their graces
//! side by side, SIGKILL for those left, all reaped); their own handlers,
//! cancelled or run later, find nothing to do. A handler registered between
//! child A and child B splits the run: B's batch is stopped before that
//! handler runs, and A's after it.
//!
//! Locks: `CURRENT` and a batch's list are leaves, taken after the state
//! lock is let go and never while a slot's lock is held; a slot's lock is
//! taken under them only by `take`'s look at each member.

use super::process::Process;
use super::slot::Shared;
use super::stop::{report, stop_all, Stoppable};
use crate::handle::Handle;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// The children of one run, oldest first, each with its number in the run.
/// Held weakly: a child whose `ExitChild` and registration are both gone
/// leaves only a dead entry, which `join` sweeps away.
pub(super) struct Batch {
    members: Mutex<Members>,
}

struct Members {
    list: Vec<(u64, Weak<dyn Stoppable>)>,
    next: u64,
    /// The list's length at which dead entries are swept next.
    sweep_at: usize,
}

/// Where a child is: its batch and number there. Set once it has joined;
/// a handler that runs before that stops its child alone.
#[derive(Default)]
pub(super) struct Place {
    spot: Mutex<Option<(Arc<Batch>, u64)>>,
}

/// The newest tied child's registration, its batch, and the process they
/// belong to (a forked child starts runs of its own).
struct Current {
    newest: Handle,
    batch: Arc<Batch>,
    pid: u32,
}

static CURRENT: Mutex<Option<Current>> = Mutex::new(None);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these; a poisoned lock must not stop the exit.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Puts the child `member`, just registered with `handle`, in the batch of
/// the tied child registered just before it if that one's registration is
/// directly below (nothing in between), or in a new batch.
pub(super) fn join(place: &Place, member: Weak<dyn Stoppable>, handle: Handle) {
    let below = crate::hooks::lock().registry.below_own(handle.ticket);
    let pid = std::process::id();
    let mut current = lock(&CURRENT);
    let batch = match current.as_ref() {
        Some(run) if run.pid == pid && below == Some(run.newest.ticket) => Arc::clone(&run.batch),
        _ => Arc::new(Batch {
            members: Mutex::new(Members {
                list: Vec::new(),
                next: 0,
                sweep_at: 16,
            }),
        }),
    };
    let number = {
        let mut members = lock(&batch.members);
        if members.list.len() >= members.sweep_at {
            // Amortized O(1) a join: swept when the list has doubled.
            members.list.retain(|(_, member)| member.strong_count() > 0);
            members.sweep_at = (members.list.len() * 2).max(16);
        }
        let number = members.next;
        members.next += 1;
        members.list.push((number, member));
        number
    };
    *lock(&place.spot) = Some((Arc::clone(&batch), number));
    *current = Some(Current {
        newest: handle,
        batch,
        pid,
    });
}

/// The handler each tied child registers: stops it, and with it every older
/// child of its batch that is still to be stopped, all at once.
pub(super) fn stop_at_exit_handler<C: Process>(shared: Arc<Shared<C>>, place: Arc<Place>) {
    if !shared.take_for_exit() {
        return;
    }
    let mut children: Vec<Arc<dyn Stoppable>> = vec![shared];
    let spot = lock(&place.spot).clone();
    if let Some((batch, number)) = spot {
        let older: Vec<Arc<dyn Stoppable>> = lock(&batch.members)
            .list
            .iter()
            .rev()
            .filter(|(other, _)| *other < number)
            .filter_map(|(_, member)| member.upgrade())
            .collect();
        for member in older {
            if member.take_for_exit() {
                // It must not run again on its own (it may have been taken
                // out for a run already: then it finds its stop taken).
                member.unregister();
                children.push(member);
            }
        }
    }
    let pids: Vec<Option<u32>> = children.iter().map(|child| child.pid()).collect();
    let stopping: Vec<&dyn Stoppable> = children.iter().map(|child| &**child).collect();
    let results = stop_all(&stopping);
    for (pid, result) in pids.into_iter().zip(&results) {
        report(pid, result);
    }
}
