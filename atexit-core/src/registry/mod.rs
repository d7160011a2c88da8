//! The registry as a plain data structure: no globals, no locks, no exit.
//!
//! Registrations live in a slab of 32-byte slots threaded into one
//! doubly-linked list, oldest at the bottom, newest at the top. A slot is
//! reused after its registration is gone, with its generation bumped, so a
//! stale [`Ticket`] can never remove someone else's registration. Every
//! operation but the scans (`unregister` of a function, `clear`) is O(1).
//!
//! A run takes the newest registrations off the list a batch at a time
//! (`batch`) and runs them without the lock. A registration in a batch keeps
//! its slot and its ticket (the slot says where in which batch it is), so
//! cancelling it, by ticket or by function, still works while the batch
//! runs. A registration made meanwhile sets the batch's interrupt: the
//! runner comes back, gives the batch's rest back to the list just below
//! the new registrations, and takes a new batch from the top, so the
//! newest always runs next.
//!
//! Registrations carry the fork epoch they were made in; the ones from an
//! earlier epoch (made by a parent process) sit below all others and are not
//! run until adopted.
//!
//! The helpers only the registry uses live beside it:
//!
//! - `slab`: the slots' storage, chunks that never move once allocated;
//! - `batch`: the handlers taken off for a run, each with an atomic state;
//! - `index`: registrations by function type, for `unregister(func)`;
//! - `model` (tests only): the model-based test that runs random operations
//!   against this registry and a plain `Vec`.

mod batch;
mod index;
#[cfg(test)]
mod model;
mod slab;

use crate::callback::Callback;
pub(crate) use batch::Batch;
use index::{FunctionIndex, Verdict};
use slab::Chunked;
use std::any::TypeId;

const NIL: u32 = u32::MAX;

/// In `above`, with no callback: the registration is in a batch, at the
/// place `below` says ([`batch_place`]).
const IN_BATCH: u32 = u32::MAX - 1;

/// Where a batched registration is, as `below` stores it: the batch (the
/// handler depth of the run that filled it) and the entry.
fn batch_place(depth: u32, at: u32) -> u32 {
    (depth << 8) | at
}

/// Names one registration: its slot and that slot's generation at the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ticket {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

struct Slot {
    callback: Option<Callback>,
    generation: u32,
    /// Towards the bottom (older); in a free slot, unused; in a batch,
    /// where ([`batch_place`]).
    below: u32,
    /// Towards the top (newer); in a free slot, the next free slot; in a
    /// batch, `IN_BATCH`.
    above: u32,
    epoch: u32,
}

pub(crate) struct Registry {
    slots: Chunked<Slot>,
    free: u32,
    top: u32,
    bottom: u32,
    /// The topmost registration made by `#[atexit::handler]`; those form the
    /// bottom of the list (or sit just above inherited ones).
    static_top: u32,
    /// Registrations on the list (a batch's pending ones are not).
    len: usize,
    inherited: usize,
    epoch: u32,
    /// Built by the first `remove_function`; see `index.rs`.
    index: Option<Box<FunctionIndex>>,
    /// One batch per handler depth (a nested run fills its own), allocated
    /// once and never freed: the runner holds on to one without the lock.
    batches: Vec<&'static Batch>,
    /// The batch filled last, while it may have pending entries.
    active: Option<u32>,
    /// The lowest registration made since the active batch was filled
    /// (those sit on top, above where its rest goes back).
    lowest_new: u32,
}

impl Registry {
    pub(crate) const fn new() -> Self {
        Registry {
            slots: Chunked::new(),
            free: NIL,
            top: NIL,
            bottom: NIL,
            static_top: NIL,
            len: 0,
            inherited: 0,
            epoch: 0,
            index: None,
            batches: Vec::new(),
            active: None,
            lowest_new: NIL,
        }
    }

    /// All registrations, inherited ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len + self.batch_pending()
    }

    /// Registrations this process made (or adopted): the ones that will run.
    pub(crate) fn own_len(&self) -> usize {
        self.len - self.inherited + self.batch_pending()
    }

    /// The active batch's entries still waiting (batches hold only this
    /// process's own).
    fn batch_pending(&self) -> usize {
        self.active
            .map_or(0, |depth| self.batches[depth as usize].pending_count())
    }

    /// Registers `callback` on top: it will run first.
    pub(crate) fn push(&mut self, callback: Callback) -> Ticket {
        let index = self.allocate(callback);
        // `link_above(index, self.top)`, written for the top: nothing is
        // above it, so one slot fewer is read.
        let below = self.top;
        let slot = &mut self.slots[index as usize];
        slot.below = below;
        slot.above = NIL;
        if below == NIL {
            self.bottom = index;
        } else {
            self.slots[below as usize].above = index;
        }
        self.top = index;
        if let Some(depth) = self.active {
            // Runs before the batch's rest: the runner must come back.
            if self.lowest_new == NIL {
                self.lowest_new = index;
            }
            self.batches[depth as usize].interrupt();
        }
        let ticket = self.ticket(index);
        if self.index.is_some() {
            self.note(ticket);
        }
        ticket
    }

    /// Tells the function index (if there is one) about a registration.
    fn note(&mut self, ticket: Ticket) {
        if let Some(index) = &mut self.index {
            if index.is_bloated(self.len) {
                self.index = None;
            } else {
                let type_id = self.slots[ticket.index as usize]
                    .callback
                    .as_ref()
                    .map_or(TypeId::of::<()>(), Callback::type_id);
                index.note(ticket, type_id);
            }
        }
    }

    /// Registers a load-time handler in the region of the others, below
    /// everything registered at run time: just above the highest of them for
    /// which `goes_below` holds (so `goes_below` says "runs after the new
    /// one"), or at the bottom of the region. Handlers taken in all at once,
    /// in order, land on top each time; one taken in late still finds its
    /// place.
    pub(crate) fn push_static(
        &mut self,
        callback: Callback,
        goes_below: &dyn Fn(&Callback) -> bool,
    ) -> Ticket {
        let region_top =
            if self.static_top != NIL && self.slots[self.static_top as usize].epoch == self.epoch {
                self.static_top
            } else {
                self.highest_inherited()
            };
        // Below `static_top`, every registration of this epoch is a static.
        let mut below = region_top;
        while below != NIL && self.slots[below as usize].epoch == self.epoch {
            let slot = &self.slots[below as usize];
            if slot.callback.as_ref().is_some_and(goes_below) {
                break;
            }
            below = slot.below;
        }
        let index = self.allocate(callback);
        self.link_above(index, below);
        if below == region_top {
            self.static_top = index;
        }
        let ticket = self.ticket(index);
        self.note(ticket);
        ticket
    }

    /// Whether the registration `ticket` names is still waiting to run.
    pub(crate) fn contains(&self, ticket: Ticket) -> bool {
        self.slots.get(ticket.index as usize).is_some_and(|slot| {
            slot.generation == ticket.generation
                && (slot.callback.is_some()
                    || self
                        .in_batch(ticket.index)
                        .is_some_and(|(batch, at)| batch.is_pending(at)))
        })
    }

    /// The batch and entry of a registration taken into a batch (pending,
    /// running or done: its slot is freed at the batch's next fill).
    fn in_batch(&self, index: u32) -> Option<(&'static Batch, u32)> {
        let slot = &self.slots[index as usize];
        (slot.callback.is_none() && slot.above == IN_BATCH)
            .then(|| (self.batches[(slot.below >> 8) as usize], slot.below & 0xff))
    }

    /// Whether the registration `ticket` names is still waiting to run and
    /// is this process's own (not one inherited through `fork` and not
    /// adopted): the ones whose work this process may do.
    pub(crate) fn owns(&self, ticket: Ticket) -> bool {
        self.contains(ticket) && self.slots[ticket.index as usize].epoch == self.epoch
    }

    /// The registration just below `ticket`'s (the one that runs right
    /// after it), when both are waiting and this process's own. Read-only;
    /// `children` uses it to stop consecutive tied children together.
    pub(crate) fn below_own(&self, ticket: Ticket) -> Option<Ticket> {
        if !self.owns(ticket) {
            return None;
        }
        let below = self.slots[ticket.index as usize].below;
        if below == NIL || self.slots[below as usize].epoch != self.epoch {
            return None;
        }
        Some(self.ticket(below))
    }

    /// Removes the registration `ticket` names, if it is still waiting;
    /// returns whether it was. See [`Registry::take`] for `dropped`.
    pub(crate) fn remove(&mut self, ticket: Ticket, dropped: &mut Vec<Callback>) -> bool {
        let Some(slot) = self.slots.get(ticket.index as usize) else {
            return false;
        };
        if slot.generation != ticket.generation {
            return false;
        }
        if slot.callback.is_some() {
            self.take(ticket.index, dropped);
            return true;
        }
        match self.in_batch(ticket.index) {
            Some((batch, at)) => match batch.cancel(at) {
                Some(callback) => {
                    self.cancelled_in_batch(ticket.index, callback, dropped);
                    true
                }
                None => false, // the runner has it: it runs, or ran
            },
            None => false,
        }
    }

    /// A batched registration was cancelled: frees its slot, and hands its
    /// callback to `dropped` (see [`Registry::take`]).
    fn cancelled_in_batch(&mut self, index: u32, callback: Callback, dropped: &mut Vec<Callback>) {
        self.free_slot(index);
        if callback.needs_drop() {
            dropped.push(callback);
        }
    }

    /// Takes the newest registration of this process, to be run (the tests'
    /// one-at-a-time run).
    #[cfg(test)]
    pub(crate) fn pop_own(&mut self) -> Option<Callback> {
        self.settle();
        if self.top == NIL || self.slots[self.top as usize].epoch != self.epoch {
            return None;
        }
        Some(self.unlink(self.top))
    }

    /// The batch the run at handler `depth` runs next: the newest
    /// registrations of this process, up to a batch's capacity, taken off
    /// the list (a load-time handler alone: one registered late may belong
    /// before the next). `None` when none is waiting. First settles the
    /// batch before ([`Registry::settle`]).
    pub(crate) fn next_batch(&mut self, depth: u32) -> Option<&'static Batch> {
        self.settle();
        if self.top == NIL || self.slots[self.top as usize].epoch != self.epoch {
            return None;
        }
        while self.batches.len() <= depth as usize {
            self.batches.push(Box::leak(Batch::new()));
        }
        let batch = self.batches[depth as usize];
        batch.settled_slots(|index| self.free_slot(index));
        if self.top == self.static_top {
            let index = self.top;
            let callback = self.detach(index);
            let at = batch.add(index, callback);
            let slot = &mut self.slots[index as usize];
            slot.above = IN_BATCH;
            slot.below = batch_place(depth, at);
        } else {
            // The top run of run-time registrations, cut off the list in one
            // piece: each slot is read once, and only the new top is relinked.
            let (static_top, epoch) = (self.static_top, self.epoch);
            let mut index = self.top;
            let mut taken = 0;
            'walk: while index != NIL {
                // Registrations made one after another sit in consecutive
                // slots, so the walk goes down the slots of `index`'s chunk
                // by address while each one's `below` says the next is the
                // slot under it: the CPU predicts that branch and need not
                // wait for each slot's load to learn where the next one is.
                let mut at = index;
                for slot in self.slots.downward_from(index as usize) {
                    if taken == batch::CAPACITY || at == static_top || slot.epoch != epoch {
                        index = at;
                        break 'walk;
                    }
                    let callback = slot.callback.take().expect("a linked slot has a callback");
                    let next = slot.below;
                    let place = batch.add(at, callback);
                    slot.above = IN_BATCH;
                    slot.below = batch_place(depth, place);
                    taken += 1;
                    if next != at.wrapping_sub(1) {
                        index = next;
                        continue 'walk;
                    }
                    at = next;
                }
                // The chunk's first slot was taken; its `below` is the last
                // slot of the chunk before (or `NIL`, under slot 0).
                index = at;
            }
            self.top = index;
            if index == NIL {
                self.bottom = NIL;
            } else {
                self.slots[index as usize].above = NIL;
            }
            self.len -= taken;
        }
        self.active = Some(depth);
        self.lowest_new = NIL;
        Some(batch)
    }

    /// Puts the active batch's pending entries back on the list, in their
    /// order, just below the registrations made since it was filled: the
    /// runner left it (interrupted, or done), or the process forked.
    pub(crate) fn settle(&mut self) {
        let Some(depth) = self.active.take() else {
            return;
        };
        let batch = self.batches[depth as usize];
        let mut below = if self.lowest_new == NIL {
            self.top
        } else {
            self.slots[self.lowest_new as usize].below
        };
        // Oldest first, each above the one before.
        for at in batch.maybe_pending().rev() {
            if let Some(callback) = batch.give_back(at) {
                let index = batch.slot(at);
                self.slots[index as usize].callback = Some(callback);
                self.link_above(index, below);
                self.len += 1;
                below = index;
            }
        }
        self.lowest_new = NIL;
    }

    /// Makes the runner of the active batch come back to the lock before
    /// its next handler (another thread takes the run over, the deadline
    /// passed). Only atomics: a signal handler may call it.
    pub(crate) fn interrupt(&self) {
        if let Some(depth) = self.active {
            self.batches[depth as usize].interrupt();
        }
    }

    /// The name of the handler a run is inside now, the innermost if runs
    /// are nested.
    pub(crate) fn running_name(&self) -> Option<&'static str> {
        self.batches
            .iter()
            .rev()
            .find_map(|batch| batch.running_name())
    }

    /// Removes every registration for which `matches` holds, newest first;
    /// returns how many. See [`Registry::take`] for `dropped`.
    pub(crate) fn remove_where(
        &mut self,
        mut matches: impl FnMut(&Callback) -> bool,
        dropped: &mut Vec<Callback>,
    ) -> usize {
        let mut removed = self.remove_from_batch(&mut matches, dropped);
        let mut index = self.top;
        while index != NIL {
            let slot = &self.slots[index as usize];
            let below = slot.below;
            if slot.callback.as_ref().is_some_and(&mut matches) {
                self.take(index, dropped);
                removed += 1;
            }
            index = below;
        }
        removed
    }

    /// Cancels the active batch's pending entries for which `matches`
    /// holds; returns how many.
    fn remove_from_batch(
        &mut self,
        matches: &mut dyn FnMut(&Callback) -> bool,
        dropped: &mut Vec<Callback>,
    ) -> usize {
        let Some(depth) = self.active else {
            return 0;
        };
        let batch = self.batches[depth as usize];
        let mut removed = 0;
        for at in batch.maybe_pending() {
            if let Some(callback) = batch.cancel_if(at, matches) {
                self.cancelled_in_batch(batch.slot(at), callback, dropped);
                removed += 1;
            }
        }
        removed
    }

    /// Removes every registration of the function type `type_id` for which
    /// `matches` holds; returns how many. `matches` is asked only about
    /// registrations of that type. Uses (and builds, the first time)
    /// the function index. See [`Registry::take`] for `dropped`.
    /// Not generic over `matches`, so it is compiled once, not once per
    /// function type that is ever unregistered.
    pub(crate) fn remove_function(
        &mut self,
        type_id: TypeId,
        matches: &mut dyn FnMut(&Callback) -> bool,
        dropped: &mut Vec<Callback>,
    ) -> usize {
        let mut index = match self.index.take() {
            Some(index) => index,
            None => {
                let mut index = Box::new(FunctionIndex::with_capacity(self.len));
                let mut slot = self.top;
                while slot != NIL {
                    let entry = &self.slots[slot as usize];
                    if let Some(callback) = &entry.callback {
                        index.file(self.ticket(slot), callback.type_id());
                    }
                    slot = entry.below;
                }
                if let Some(depth) = self.active {
                    let batch = self.batches[depth as usize];
                    for at in batch.maybe_pending() {
                        let slot = batch.slot(at);
                        let ticket = self.ticket(slot);
                        let mut type_id = None;
                        // Read under `EXAMINING`, so the runner keeps off it.
                        batch.cancel_if(at, &mut |callback| {
                            type_id = Some(callback.type_id());
                            false
                        });
                        if let Some(type_id) = type_id {
                            index.file(ticket, type_id);
                        }
                    }
                }
                index
            }
        };
        let mut removed = 0;
        index.sweep(type_id, |ticket| {
            let verdict = self.remove_ticket_if(ticket, matches, dropped);
            if let Verdict::Removed = verdict {
                removed += 1;
            }
            verdict
        });
        self.index = Some(index);
        removed
    }

    /// Removes the registration `ticket` names if it is still waiting and
    /// `matches` holds for it.
    fn remove_ticket_if(
        &mut self,
        ticket: Ticket,
        matches: &mut dyn FnMut(&Callback) -> bool,
        dropped: &mut Vec<Callback>,
    ) -> Verdict {
        let Some(slot) = self
            .slots
            .get(ticket.index as usize)
            .filter(|slot| slot.generation == ticket.generation)
        else {
            return Verdict::Stale;
        };
        if let Some(callback) = &slot.callback {
            return if matches(callback) {
                self.take(ticket.index, dropped);
                Verdict::Removed
            } else {
                Verdict::Keep
            };
        }
        let Some((batch, at)) = self.in_batch(ticket.index) else {
            return Verdict::Stale;
        };
        match batch.cancel_if(at, matches) {
            Some(callback) => {
                self.cancelled_in_batch(ticket.index, callback, dropped);
                Verdict::Removed
            }
            None if batch.is_pending(at) => Verdict::Keep,
            None => Verdict::Stale,
        }
    }

    /// Removes everything; returns how many. See [`Registry::take`].
    pub(crate) fn clear(&mut self, dropped: &mut Vec<Callback>) -> usize {
        self.index = None;
        self.remove_where(|_| true, dropped)
    }

    /// Unlinks a registration that will not run. This process's own go to
    /// `dropped`, for the caller to drop outside its lock; a parent's are
    /// forgotten, because dropping their captures in a child would run the
    /// parent's destructors twice (removing its files, flushing its buffers).
    fn take(&mut self, index: u32, dropped: &mut Vec<Callback>) {
        let inherited = self.slots[index as usize].epoch != self.epoch;
        let callback = self.unlink(index);
        if inherited {
            std::mem::forget(callback);
        } else if callback.needs_drop() {
            dropped.push(callback);
        }
        // Otherwise dropping it runs no code: done here, without a `Vec`.
    }

    /// In a forked child: everything registered so far belongs to the parent.
    /// (No `fork` on Windows; the unit tests exercise it everywhere.)
    #[cfg(any(unix, test))]
    pub(crate) fn fork_child(&mut self) {
        // A batch's pending entries were the parent's run's: back on the
        // list, inherited like the rest.
        self.settle();
        self.epoch = self.epoch.wrapping_add(1);
        self.inherited = self.len;
    }

    /// Makes the inherited registrations this process's own; returns how many.
    pub(crate) fn adopt_inherited(&mut self) -> usize {
        let adopted = self.inherited;
        let mut index = self.top;
        while index != NIL {
            let slot = &mut self.slots[index as usize];
            slot.epoch = self.epoch;
            index = slot.below;
        }
        self.inherited = 0;
        adopted
    }

    /// Calls `visit` on each registration, newest first.
    #[cfg(test)]
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&Callback, bool)) {
        let mut index = self.top;
        while index != NIL {
            let slot = &self.slots[index as usize];
            visit(slot.callback.as_ref().unwrap(), slot.epoch != self.epoch);
            index = slot.below;
        }
    }

    fn ticket(&self, index: u32) -> Ticket {
        Ticket {
            index,
            generation: self.slots[index as usize].generation,
        }
    }

    fn highest_inherited(&self) -> u32 {
        let mut index = self.top;
        while index != NIL && self.slots[index as usize].epoch == self.epoch {
            index = self.slots[index as usize].below;
        }
        index
    }

    fn allocate(&mut self, callback: Callback) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let index = self.free;
            let slot = &mut self.slots[index as usize];
            self.free = slot.above;
            slot.callback = Some(callback);
            slot.epoch = self.epoch;
            return index;
        }
        let Some(index) = u32::try_from(self.slots.len())
            .ok()
            .filter(|&index| index < IN_BATCH)
        else {
            // 128 GiB of registrations; unwinding here would drop the callback
            // under the registry lock.
            eprintln!("atexit: more than 4 billion exit handlers registered");
            std::process::abort();
        };
        self.slots.push(Slot {
            callback: Some(callback),
            generation: 0,
            below: NIL,
            above: NIL,
            epoch: self.epoch,
        });
        index
    }

    /// Links the allocated slot `index` just above `below` (`NIL`: at the bottom).
    fn link_above(&mut self, index: u32, below: u32) {
        let above = if below == NIL {
            self.bottom
        } else {
            self.slots[below as usize].above
        };
        let slot = &mut self.slots[index as usize];
        slot.below = below;
        slot.above = above;
        if below == NIL {
            self.bottom = index;
        } else {
            self.slots[below as usize].above = index;
        }
        if above == NIL {
            self.top = index;
        } else {
            self.slots[above as usize].below = index;
        }
    }

    fn unlink(&mut self, index: u32) -> Callback {
        let callback = self.detach(index);
        self.free_slot(index);
        callback
    }

    /// Makes a detached slot free: its registration is gone.
    fn free_slot(&mut self, index: u32) {
        let slot = &mut self.slots[index as usize];
        // A slot whose generation would wrap is retired rather than reused, so
        // an old ticket can never name a new registration.
        slot.generation = slot.generation.wrapping_add(1);
        slot.above = NIL;
        if slot.generation != u32::MAX {
            slot.above = self.free;
            self.free = index;
        }
    }

    /// Takes a registration off the list; its slot stays taken.
    fn detach(&mut self, index: u32) -> Callback {
        let slot = &mut self.slots[index as usize];
        let callback = slot.callback.take().expect("unlink of a free slot");
        let (below, above, epoch) = (slot.below, slot.above, slot.epoch);
        if self.lowest_new == index {
            self.lowest_new = above;
        }
        if below == NIL {
            self.bottom = above;
        } else {
            self.slots[below as usize].above = above;
        }
        if above == NIL {
            self.top = below;
        } else {
            self.slots[above as usize].below = below;
        }
        if self.static_top == index {
            self.static_top = below;
            if below != NIL && self.slots[below as usize].epoch != epoch {
                self.static_top = NIL;
            }
        }
        self.len -= 1;
        if epoch != self.epoch {
            self.inherited -= 1;
        }
        callback
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::{Plain, Tagged};
    use std::sync::{Arc, Mutex};

    type Log = Arc<Mutex<Vec<&'static str>>>;

    fn entry(log: &Log, name: &'static str) -> Callback {
        let log = Arc::clone(log);
        Callback::new(Tagged {
            tag: (),
            run: move || log.lock().unwrap().push(name),
        })
    }

    fn run_all(registry: &mut Registry) {
        while let Some(callback) = registry.pop_own() {
            callback.run();
        }
    }

    impl Registry {
        fn push_static_on_top(&mut self, callback: Callback) -> Ticket {
            self.push_static(callback, &|_| true)
        }
    }

    fn taken(log: &Log) -> Vec<&'static str> {
        std::mem::take(&mut *log.lock().unwrap())
    }

    #[test]
    fn runs_newest_first() {
        let log = Log::default();
        let mut registry = Registry::new();
        for name in ["a", "b", "c"] {
            registry.push(entry(&log, name));
        }
        assert_eq!(registry.len(), 3);
        run_all(&mut registry);
        assert_eq!(taken(&log), ["c", "b", "a"]);
        assert_eq!(registry.len(), 0);
    }

    #[test]
    fn statics_stay_below_runtime_registrations() {
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push(entry(&log, "runtime 1"));
        registry.push_static_on_top(entry(&log, "static 1"));
        registry.push_static_on_top(entry(&log, "static 2"));
        registry.push(entry(&log, "runtime 2"));
        run_all(&mut registry);
        assert_eq!(
            taken(&log),
            ["runtime 2", "runtime 1", "static 2", "static 1"]
        );
    }

    /// A load-time handler taken in late goes where its key puts it among the
    /// others, not on top of them, and stays below the run-time ones.
    #[test]
    fn a_late_static_finds_its_place() {
        struct Rank<const N: usize>;
        fn ranked<const N: usize>(log: &Log, name: &'static str) -> Callback {
            let log = Arc::clone(log);
            Callback::new(Tagged {
                tag: Rank::<N>,
                run: move || log.lock().unwrap().push(name),
            })
        }
        let ranks = [
            TypeId::of::<Rank<0>>(),
            TypeId::of::<Rank<1>>(),
            TypeId::of::<Rank<2>>(),
            TypeId::of::<Rank<3>>(),
        ];
        let rank = move |callback: &Callback| ranks.iter().position(|&id| id == callback.type_id());
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push_static_on_top(ranked::<1>(&log, "rank 1"));
        registry.push_static_on_top(ranked::<3>(&log, "rank 3"));
        registry.push(entry(&log, "runtime"));
        registry.push_static(ranked::<2>(&log, "rank 2, late"), &|other| {
            rank(other) <= Some(2)
        });
        registry.push_static(ranked::<0>(&log, "rank 0, late"), &|other| {
            rank(other) <= Some(0)
        });
        run_all(&mut registry);
        assert_eq!(
            taken(&log),
            [
                "runtime",
                "rank 3",
                "rank 2, late",
                "rank 1",
                "rank 0, late"
            ]
        );
    }

    #[test]
    fn removing_the_top_static_keeps_the_region() {
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push_static_on_top(entry(&log, "s1"));
        let s2 = registry.push_static_on_top(entry(&log, "s2"));
        registry.push(entry(&log, "r1"));
        assert!(registry.remove(s2, &mut Vec::new()));
        registry.push_static_on_top(entry(&log, "s3"));
        run_all(&mut registry);
        assert_eq!(taken(&log), ["r1", "s3", "s1"]);
    }

    #[test]
    fn tickets_remove_exactly_their_registration() {
        let log = Log::default();
        let mut registry = Registry::new();
        let a = registry.push(entry(&log, "a"));
        let b = registry.push(entry(&log, "b"));
        let c = registry.push(entry(&log, "c"));
        let mut dropped = Vec::new();
        assert!(registry.remove(b, &mut dropped));
        assert_eq!(dropped.len(), 1);
        assert!(
            !registry.remove(b, &mut dropped),
            "a second removal finds nothing"
        );
        assert!(!registry.contains(b));
        assert!(registry.contains(a) && registry.contains(c));
        // The freed slot is reused with a new generation.
        let d = registry.push(entry(&log, "d"));
        assert_eq!(d.index, b.index);
        assert_ne!(d.generation, b.generation);
        assert!(
            !registry.remove(b, &mut dropped),
            "a stale ticket never removes a new registration"
        );
        run_all(&mut registry);
        assert_eq!(taken(&log), ["d", "c", "a"]);
        assert!(
            !registry.remove(a, &mut dropped),
            "a registration that ran is gone"
        );
    }

    #[test]
    fn remove_where_and_clear() {
        let log = Log::default();
        let mut registry = Registry::new();
        for name in ["keep", "drop", "keep", "drop"] {
            registry.push(entry(&log, name));
        }
        let mut seen = 0;
        let mut dropped = Vec::new();
        let removed = registry.remove_where(
            |_| {
                seen += 1;
                seen % 2 == 1
            },
            &mut dropped,
        );
        assert_eq!((removed, dropped.len()), (2, 2));
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.clear(&mut dropped), 2);
        assert_eq!(dropped.len(), 4);
        assert_eq!(registry.len(), 0);
        run_all(&mut registry);
        assert!(taken(&log).is_empty());
    }

    #[test]
    fn fork_child_keeps_parent_registrations_unrun_until_adopted() {
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push_static_on_top(entry(&log, "parent static"));
        let parent = registry.push(entry(&log, "parent"));
        registry.fork_child();
        assert_eq!(registry.own_len(), 0);
        registry.push(entry(&log, "child"));
        assert_eq!((registry.len(), registry.own_len()), (3, 1));
        let mut inherited = Vec::new();
        registry.for_each(|_, is_inherited| inherited.push(is_inherited));
        assert_eq!(inherited, [false, true, true]);
        run_all(&mut registry);
        assert_eq!(taken(&log), ["child"]);
        assert_eq!(registry.len(), 2);

        let mut dropped = Vec::new();
        assert!(
            registry.remove(parent, &mut dropped),
            "a child may remove a parent's registration"
        );
        assert!(
            dropped.is_empty(),
            "and forgets its closure instead of dropping it"
        );
        assert_eq!((registry.len(), registry.own_len()), (1, 0));
        assert_eq!(registry.adopt_inherited(), 1);
        run_all(&mut registry);
        assert_eq!(taken(&log), ["parent static"]);
    }

    #[test]
    fn statics_absorbed_in_a_child_stay_with_the_inherited_ones() {
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push(entry(&log, "parent"));
        registry.fork_child();
        registry.push(entry(&log, "child"));
        registry.push_static_on_top(entry(&log, "late static"));
        run_all(&mut registry);
        assert_eq!(taken(&log), ["child", "late static"]);
    }

    fn typed<F: FnOnce() + Send + 'static>(f: F) -> Callback {
        Callback::new::<_, F>(Plain(f))
    }

    #[test]
    fn remove_function_uses_an_index_that_follows_later_registrations() {
        let mut registry = Registry::new();
        let a = || {};
        let b = || {};
        fn id_of<F: 'static>(_: &F) -> TypeId {
            TypeId::of::<F>()
        }
        registry.push(typed(a));
        let cancelled = registry.push(typed(a));
        registry.push(typed(b));
        let mut dropped = Vec::new();
        // Builds the index.
        assert_eq!(
            registry.remove_function(id_of(&b), &mut |_| true, &mut dropped),
            1
        );
        assert!(registry.index.is_some());
        // Registrations after the index was built, and removals by ticket.
        registry.push(typed(a));
        registry.push(typed(b));
        assert!(registry.remove(cancelled, &mut dropped));
        assert_eq!(
            registry.remove_function(id_of(&a), &mut |_| true, &mut dropped),
            2
        );
        assert_eq!(
            registry.remove_function(id_of(&a), &mut |_| true, &mut dropped),
            0
        );
        assert_eq!(
            registry.remove_function(id_of(&b), &mut |_| true, &mut dropped),
            1
        );
        assert_eq!(registry.len(), 0);
        // A predicate that declines keeps the registration for later.
        registry.push(typed(a));
        assert_eq!(
            registry.remove_function(id_of(&a), &mut |_| false, &mut dropped),
            0
        );
        assert_eq!(
            registry.remove_function(id_of(&a), &mut |_| true, &mut dropped),
            1
        );
    }

    #[test]
    fn the_index_is_dropped_when_stale_tickets_pile_up() {
        let mut registry = Registry::new();
        let a = || {};
        let mut dropped = Vec::new();
        registry.remove_function(TypeId::of::<()>(), &mut |_| true, &mut dropped);
        assert!(registry.index.is_some());
        for _ in 0..10_000 {
            let ticket = registry.push(typed(a));
            registry.remove(ticket, &mut dropped);
        }
        let held = registry.index.as_ref().map_or(0, |index| index.held());
        assert!(held <= 64 + 2, "{held} stale tickets kept");
    }

    /// Runs one batch as the exit's run does: claims until the batch is
    /// done or interrupted.
    fn run_batch(batch: &Batch) {
        while let Some((at, callback)) = batch.claim() {
            callback.run();
            batch.finish(at);
            if batch.interrupted() {
                break;
            }
        }
    }

    #[test]
    fn a_handler_cancelled_by_an_earlier_one_of_its_batch_does_not_run() {
        let log = Log::default();
        let registry = Arc::new(Mutex::new(Registry::new()));
        let by_ticket = registry.lock().unwrap().push(entry(&log, "by ticket"));
        struct Victim;
        let by_function = {
            let log = Arc::clone(&log);
            Callback::new(Tagged {
                tag: Victim,
                run: move || log.lock().unwrap().push("by function"),
            })
        };
        let by_function = registry.lock().unwrap().push(by_function);
        let canceller = {
            let (log, registry) = (Arc::clone(&log), Arc::clone(&registry));
            Callback::new(Tagged {
                tag: (),
                run: move || {
                    log.lock().unwrap().push("canceller");
                    let mut registry = registry.lock().unwrap();
                    let mut dropped = Vec::new();
                    assert!(registry.contains(by_ticket) && registry.contains(by_function));
                    assert!(registry.remove(by_ticket, &mut dropped));
                    assert!(!registry.remove(by_ticket, &mut dropped));
                    let victim = TypeId::of::<Victim>();
                    assert_eq!(
                        registry.remove_function(victim, &mut |_| true, &mut dropped),
                        1
                    );
                    assert_eq!(dropped.len(), 2);
                    assert!(!registry.contains(by_ticket) && !registry.contains(by_function));
                },
            })
        };
        let running = registry.lock().unwrap().push(canceller);
        let batch = registry.lock().unwrap().next_batch(0).unwrap();
        assert_eq!(batch.filled(), 3, "all three in one batch");
        run_batch(batch);
        assert_eq!(taken(&log), ["canceller"]);
        let mut registry = registry.lock().unwrap();
        assert!(!registry.remove(running, &mut Vec::new()), "it ran");
        assert_eq!(registry.len(), 0);
        assert!(registry.next_batch(0).is_none());
    }

    #[test]
    fn a_registration_during_a_batch_runs_before_its_rest() {
        let log = Log::default();
        let registry = Arc::new(Mutex::new(Registry::new()));
        for name in ["c", "b"] {
            registry.lock().unwrap().push(entry(&log, name));
        }
        let registers = {
            let (log, registry) = (Arc::clone(&log), Arc::clone(&registry));
            Callback::new(Tagged {
                tag: (),
                run: move || {
                    log.lock().unwrap().push("a");
                    let mut registry = registry.lock().unwrap();
                    registry.push(entry(&log, "new 1"));
                    registry.push(entry(&log, "new 2"));
                    assert_eq!(registry.own_len(), 4);
                },
            })
        };
        registry.lock().unwrap().push(registers);
        let batch = registry.lock().unwrap().next_batch(0).unwrap();
        run_batch(batch);
        assert!(batch.interrupted());
        assert_eq!(taken(&log), ["a"]);
        loop {
            let Some(batch) = registry.lock().unwrap().next_batch(0) else {
                break;
            };
            run_batch(batch);
        }
        assert_eq!(taken(&log), ["new 2", "new 1", "b", "c"]);
        assert_eq!(registry.lock().unwrap().len(), 0);
    }

    #[test]
    fn a_batch_stops_at_the_load_time_handlers_and_takes_those_alone() {
        let log = Log::default();
        let mut registry = Registry::new();
        registry.push_static_on_top(entry(&log, "s1"));
        registry.push_static_on_top(entry(&log, "s2"));
        for _ in 0..batch::CAPACITY + 3 {
            registry.push(entry(&log, "r"));
        }
        let mut sizes = Vec::new();
        while let Some(batch) = registry.next_batch(0) {
            sizes.push(batch.filled());
            run_batch(batch);
        }
        assert_eq!(sizes, [batch::CAPACITY as u32, 3, 1, 1]);
        let ran = taken(&log);
        assert_eq!(ran[ran.len() - 2..], ["s2", "s1"]);
    }

    #[test]
    fn slots_are_reused() {
        let log = Log::default();
        let mut registry = Registry::new();
        for _ in 0..1000 {
            let ticket = registry.push(entry(&log, "x"));
            registry.remove(ticket, &mut Vec::new());
        }
        assert_eq!(registry.slots.len(), 1);
        assert_eq!(std::mem::size_of::<Slot>(), 32);
    }
}
