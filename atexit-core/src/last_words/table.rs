//! The table of declared cleanups that a crash handler can read: a lock-free,
//! append-only list of leaked nodes, each with one atomic state word.
//!
//! Whoever moves a node's state from `PENDING` to something else owns the
//! node's action: that compare-and-swap is the "exactly once". The crash
//! handler walks the list with loads and compare-and-swaps only (no
//! allocation, no lock); everything that allocates or frees (declaring,
//! cancelling, running on a normal exit) happens in ordinary code, on nodes
//! it owns.
//!
//! A node is never freed, so a pointer to it stays valid for ever; a node
//! whose cleanup ran or was cancelled goes back to `FREE` with the next
//! generation and is reused by a later declaration. The generation, kept in
//! the same word as the state, tells a stale [`Ticket`] (a cancelled or run
//! declaration) from the node's next declaration.

use super::sys::Action;
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// The id the next declaration gets: how the watchdog, which holds a copy of
/// each declaration, is told which one was cancelled or ran.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Nothing declared; a declaration may claim it.
const FREE: usize = 0;
/// Owned by one thread, which is writing, running or dropping its action.
const BUSY: usize = 1;
/// Declared and waiting: whoever swaps this away runs (or cancels) it.
const PENDING: usize = 2;
/// Run by a crash handler: the process is ending, the node is never reused
/// (its action is not dropped: a signal handler may not free memory).
#[cfg(unix)]
const SPENT: usize = 3;
const TAG_BITS: u32 = 2;
const TAG_MASK: usize = (1 << TAG_BITS) - 1;

fn word(generation: usize, tag: usize) -> usize {
    (generation << TAG_BITS) | tag
}

fn generation(word: usize) -> usize {
    word >> TAG_BITS
}

/// One declared cleanup, or a free slot for one.
struct Node {
    state: AtomicUsize,
    /// The process that declared it (`-1` where there are no pids): a forked
    /// child that crashes does not carry out its parent's declarations.
    owner: AtomicI64,
    /// The declaration's id with the watchdog; written while `BUSY`, before
    /// the Release store of `PENDING`.
    id: AtomicU64,
    /// Written only by the thread that holds the node `BUSY`; read by the
    /// thread that swapped it out of `PENDING` (Acquire on that swap, Release
    /// on the store of `PENDING`).
    action: UnsafeCell<Option<Action>>,
    /// The node pushed before this one; set before the node is published and
    /// never changed.
    next: *const Node,
}

// SAFETY: `action` is only touched by the one thread the state word makes its
// owner (see `Node::action`); everything else is atomic or immutable.
unsafe impl Sync for Node {}

static HEAD: AtomicPtr<Node> = AtomicPtr::new(ptr::null_mut());

/// One declaration: its node and the generation it was made in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket {
    node: &'static Node,
    generation: usize,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").finish_non_exhaustive()
    }
}

impl PartialEq for Node {
    fn eq(&self, other: &Self) -> bool {
        ptr::eq(self, other)
    }
}

impl Eq for Node {}

fn nodes() -> impl Iterator<Item = &'static Node> {
    // SAFETY: every pointer in the list comes from `Box::leak` and is never
    // freed; `next` is written before the node is published by the Release
    // swap of HEAD that the Acquire load here pairs with.
    let mut at = HEAD.load(Ordering::Acquire) as *const Node;
    std::iter::from_fn(move || {
        // SAFETY: as above, `at` is null or a leaked, published node.
        let node = unsafe { at.as_ref()? };
        at = node.next;
        Some(node)
    })
}

/// Puts `action` in the table, waiting, and hands a copy to the watchdog;
/// returns its ticket.
///
/// The watchdog gets it before it is `PENDING`, so that a `Ran` from the
/// crash handler can only follow the `Declare` on the socket; a crash in
/// between leaves it to the watchdog alone (the crash path does not run a
/// `BUSY` node): exactly once either way.
pub(crate) fn arm(action: Action, owner: i64) -> Ticket {
    let (node, generation) = claim();
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    action.tell_watchdog(id);
    // SAFETY: we hold the node BUSY, so no other thread touches `action`.
    unsafe { *node.action.get() = Some(action) };
    node.owner.store(owner, Ordering::Relaxed);
    node.id.store(id, Ordering::Relaxed);
    node.state
        .store(word(generation, PENDING), Ordering::Release);
    Ticket { node, generation }
}

/// A node held BUSY by the caller: a free one, or a new one.
fn claim() -> (&'static Node, usize) {
    for node in nodes() {
        let now = node.state.load(Ordering::Relaxed);
        if now & TAG_MASK == FREE
            && node
                .state
                .compare_exchange(now, now | BUSY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            return (node, generation(now));
        }
    }
    let node: &'static mut Node = Box::leak(Box::new(Node {
        state: AtomicUsize::new(word(0, BUSY)),
        owner: AtomicI64::new(-1),
        id: AtomicU64::new(0),
        action: UnsafeCell::new(None),
        next: ptr::null(),
    }));
    let mut head = HEAD.load(Ordering::Relaxed);
    loop {
        node.next = head;
        match HEAD.compare_exchange_weak(
            head,
            node as *mut Node,
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            Ok(_) => return (node, 0),
            Err(now) => head = now,
        }
    }
}

impl Ticket {
    /// Takes the action if the declaration is still waiting, so that the
    /// caller alone runs or drops it; `None` if it ran, is running or was
    /// cancelled.
    fn take(self) -> Option<Taken> {
        self.node
            .state
            .compare_exchange(
                word(self.generation, PENDING),
                word(self.generation, BUSY),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()?;
        Some(Taken { ticket: self })
    }

    /// Runs the cleanup now, unless it ran or was cancelled; whether it ran.
    pub(crate) fn run(self) -> bool {
        let Some(taken) = self.take() else {
            return false;
        };
        if let Some(action) = taken.action() {
            action.run(super::sys::Context::Normal);
        }
        // After the run: a kill in between leaves the watchdog to find it
        // done (each of its cleanups checks first), never undone.
        crate::watchdog::ran(taken.id());
        true
    }

    /// Drops the cleanup unrun, unless it ran or is running; whether it was
    /// still waiting.
    pub(crate) fn cancel(self) -> bool {
        let Some(taken) = self.take() else {
            return false;
        };
        crate::watchdog::cancel(taken.id());
        true
    }

    /// Whether it is still waiting to run.
    pub(crate) fn is_pending(self) -> bool {
        self.node.state.load(Ordering::Acquire) == word(self.generation, PENDING)
    }
}

/// A node taken out of `PENDING` by ordinary code: dropping it drops the
/// action (closing its descriptors) and frees the node for the next
/// generation.
struct Taken {
    ticket: Ticket,
}

impl Taken {
    fn id(&self) -> u64 {
        self.ticket.node.id.load(Ordering::Relaxed)
    }

    fn action(&self) -> Option<&Action> {
        // SAFETY: the node is BUSY and we made it so: no one else touches
        // `action` until `drop` stores FREE.
        unsafe { (*self.ticket.node.action.get()).as_ref() }
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        let node = self.ticket.node;
        // SAFETY: as in `action`: we own the BUSY node.
        let action = unsafe { (*node.action.get()).take() };
        drop(action);
        node.state.store(
            word(self.ticket.generation.wrapping_add(1), FREE),
            Ordering::Release,
        );
    }
}

#[cfg(unix)]
/// How many times the crash path sleeps (1 ms each) for nodes another thread
/// holds BUSY (running a cleanup on a normal exit, or declaring one) before
/// it lets the process die anyway: a crash on the thread that holds the node
/// must not hang the process.
const BUSY_WAITS: u32 = 200;

#[cfg(unix)]
/// Runs every waiting cleanup of process `pid`, from a crash signal handler:
/// async-signal-safe (atomics and the actions' own signal-safe calls) and
/// panic-free. Each node is swapped to `SPENT` before it runs, so a second
/// crash signal (an overflow's SIGSEGV, then SIGABRT) or a second crashing
/// thread finds nothing left to run.
pub(crate) fn run_all_in_crash(pid: i64, sleep_1ms: fn()) {
    for node in nodes() {
        let now = node.state.load(Ordering::Acquire);
        if now & TAG_MASK != PENDING || node.owner.load(Ordering::Relaxed) != pid {
            continue;
        }
        let spent = word(generation(now), SPENT);
        if node
            .state
            .compare_exchange(now, spent, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        // SAFETY: we swapped the node out of PENDING, so we own `action`
        // (written before the Release store of PENDING our Acquire pairs
        // with); SPENT nodes are never touched again.
        if let Some(action) = unsafe { (*node.action.get()).as_ref() } {
            action.run(super::sys::Context::Crash);
            crate::watchdog::ran_in_crash(node.id.load(Ordering::Relaxed));
        }
    }
    // Another thread may be halfway through one (a normal exit's cleanup
    // while this thread crashed): give it a moment to finish before the
    // process dies.
    for _ in 0..BUSY_WAITS {
        let busy = nodes().any(|node| {
            node.state.load(Ordering::Acquire) & TAG_MASK == BUSY
                && node.owner.load(Ordering::Relaxed) == pid
        });
        if !busy {
            return;
        }
        sleep_1ms();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Action {
        Action::noop_for_tests()
    }

    #[test]
    fn a_declaration_runs_once_and_a_cancelled_one_never() {
        let ticket = arm(noop(), 1);
        assert!(ticket.is_pending());
        assert!(ticket.run());
        assert!(!ticket.run(), "ran twice");
        assert!(!ticket.cancel(), "cancelled after it ran");
        assert!(!ticket.is_pending());

        let cancelled = arm(noop(), 1);
        assert!(cancelled.cancel());
        assert!(!cancelled.run(), "a cancelled declaration ran");
    }

    #[test]
    fn a_reused_node_is_not_reached_by_a_stale_ticket() {
        let old = arm(noop(), 1);
        assert!(old.cancel());
        // Claim free nodes until the old one comes back with a new generation.
        let mut made = Vec::new();
        let reused = loop {
            let ticket = arm(noop(), 1);
            if ptr::eq(ticket.node, old.node) {
                break ticket;
            }
            made.push(ticket);
            assert!(made.len() < 10_000, "the freed node was never reused");
        };
        assert_ne!(reused.generation, old.generation);
        assert!(
            !old.cancel(),
            "a stale ticket cancelled the new declaration"
        );
        assert!(!old.run(), "a stale ticket ran the new declaration");
        assert!(reused.is_pending());
        assert!(reused.cancel());
        for ticket in made {
            ticket.cancel();
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_crash_path_runs_only_its_own_process_and_only_once() {
        // A pid no real process of this test has: nothing else runs.
        let pid = -7;
        let mine = arm(noop(), pid);
        let other = arm(noop(), pid - 1);
        run_all_in_crash(pid, || {});
        assert!(!mine.is_pending(), "the crash path did not take it");
        assert!(!mine.run(), "ran again after the crash path");
        assert!(other.is_pending(), "ran another process's declaration");
        run_all_in_crash(pid, || {});
        assert!(other.cancel());
    }

    #[test]
    fn racing_threads_run_each_declaration_exactly_once() {
        let tickets: Vec<Ticket> = (0..200).map(|_| arm(noop(), 1)).collect();
        let wins = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for ticket in &tickets {
                        if ticket.run() {
                            wins.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(wins.into_inner(), 200);
    }
}
