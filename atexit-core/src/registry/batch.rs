//! A batch: the newest registrations, taken off the registry's list under
//! one lock and run without it, so a run costs one lock per [`CAPACITY`]
//! handlers instead of one per handler.
//!
//! Each entry has an atomic state, the one thing the runner (without the
//! lock) and everyone else (under the registry's lock) both touch:
//!
//! ```text
//! Pending ──claim (runner)──▶ Running ──finish (runner)──▶ Done
//!    │ ▲
//!    │ └── Examining (under the lock, while `unregister(func)` compares it)
//!    ├──cancel (under the lock)──▶ Cancelled
//!    └──give back (under the lock)──▶ Returned (back on the list)
//! ```
//!
//! Whoever moves an entry out of `Pending` owns its callback: the runner
//! runs it, a cancel drops it, a give-back links it into the list again.
//! So a handler cancelled by an earlier handler of the same batch, or by
//! another thread while the batch runs, never runs, and `Handle::unregister`
//! says `true` exactly when it stopped the run. Everything else about an
//! entry (its callback's bytes, its slot number, how many entries there are)
//! is written only under the lock, by the thread that fills the batch,
//! before the runner reads it.

use crate::callback::Callback;
use std::cell::UnsafeCell;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

/// Handlers per batch: the lock's cost spread over 64 handlers is well
/// under a nanosecond each, and a batch is 1.5 KiB.
pub(crate) const CAPACITY: usize = 64;

const EMPTY: u8 = 0;
const PENDING: u8 = 1;
const RUNNING: u8 = 2;
const DONE: u8 = 3;
const CANCELLED: u8 = 4;
const RETURNED: u8 = 5;
const EXAMINING: u8 = 6;

struct Entry {
    state: AtomicU8,
    /// The registry slot it came from; under the lock only.
    slot: AtomicU32,
    callback: UnsafeCell<MaybeUninit<Callback>>,
}

pub(crate) struct Batch {
    entries: [Entry; CAPACITY],
    /// Entries filled.
    len: AtomicU32,
    /// The next entry the runner looks at: only the runner moves it.
    cursor: AtomicU32,
    /// Set under the lock when the runner must come back to it before the
    /// next handler: a registration (it runs next), a take-over, a deadline.
    interrupt: AtomicBool,
}

// SAFETY: an entry's callback is written only under the registry's lock and
// read by whoever moved its state out of `PENDING` (one thread, once), or,
// for its name, under the lock; the rest are atomics.
unsafe impl Sync for Batch {}

impl Batch {
    pub(super) fn new() -> Box<Batch> {
        Box::new(Batch {
            entries: std::array::from_fn(|_| Entry {
                state: AtomicU8::new(EMPTY),
                slot: AtomicU32::new(0),
                callback: UnsafeCell::new(MaybeUninit::uninit()),
            }),
            len: AtomicU32::new(0),
            cursor: AtomicU32::new(0),
            interrupt: AtomicBool::new(false),
        })
    }

    // ---- the runner, without the lock ----

    /// Claims the next pending entry, newest first: its position and its
    /// callback, now the runner's to run.
    pub(crate) fn claim(&self) -> Option<(u32, Callback)> {
        let len = self.len.load(Ordering::Relaxed);
        let mut at = self.cursor.load(Ordering::Relaxed);
        while at < len {
            let entry = &self.entries[at as usize];
            match entry.state.compare_exchange(
                PENDING,
                RUNNING,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.cursor.store(at + 1, Ordering::Relaxed);
                    // SAFETY: the fill wrote a callback here, and the
                    // successful exchange out of `PENDING` makes it ours.
                    let callback = unsafe { (*entry.callback.get()).assume_init_read() };
                    return Some((at, callback));
                }
                // `unregister(func)` is comparing it under the lock (no user
                // code, a few instructions): wait for its verdict.
                Err(EXAMINING) => std::thread::yield_now(),
                Err(_) => at += 1,
            }
        }
        self.cursor.store(len, Ordering::Relaxed);
        None
    }

    /// The claimed entry at `at` has run.
    pub(crate) fn finish(&self, at: u32) {
        self.entries[at as usize]
            .state
            .store(DONE, Ordering::Release);
    }

    /// Whether the runner must take the lock before the next handler.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt.load(Ordering::Relaxed)
    }

    // ---- under the registry's lock ----

    pub(super) fn interrupt(&self) {
        self.interrupt.store(true, Ordering::Relaxed);
    }

    /// Starts a new fill: the previous entries are all settled (see
    /// [`Batch::settled_slots`]).
    pub(super) fn reset(&self) {
        self.len.store(0, Ordering::Relaxed);
        self.cursor.store(0, Ordering::Relaxed);
        self.interrupt.store(false, Ordering::Relaxed);
    }

    /// Adds a pending entry; returns its position.
    pub(super) fn add(&self, slot: u32, callback: Callback) -> u32 {
        let at = self.len.load(Ordering::Relaxed);
        let entry = &self.entries[at as usize];
        entry.slot.store(slot, Ordering::Relaxed);
        // SAFETY: under the lock, and no one reads an entry that is not
        // `PENDING` (or `RUNNING`, for its name) but the filler.
        unsafe { (*entry.callback.get()).write(callback) };
        entry.state.store(PENDING, Ordering::Release);
        self.len.store(at + 1, Ordering::Relaxed);
        at
    }

    /// The slots of the entries that ran or are running: theirs to free
    /// before a new fill. Empties the batch of them.
    pub(super) fn settled_slots(&self, mut free: impl FnMut(u32)) {
        // Plain loads and stores, no read-modify-write: no entry is pending,
        // so no one else changes these states now.
        for entry in &self.entries[..self.len.load(Ordering::Relaxed) as usize] {
            let state = entry.state.load(Ordering::Acquire);
            debug_assert!(state != PENDING && state != EXAMINING);
            entry.state.store(EMPTY, Ordering::Relaxed);
            if state == DONE || state == RUNNING {
                free(entry.slot.load(Ordering::Relaxed));
            }
        }
        self.reset();
    }

    /// Whether the entry at `at` is still waiting to run.
    pub(super) fn is_pending(&self, at: u32) -> bool {
        self.entries[at as usize].state.load(Ordering::Acquire) == PENDING
    }

    /// Takes the pending entry at `at` away from the runner (`to` says
    /// why); `None` if the runner has it already.
    fn take(&self, at: u32, to: u8) -> Option<Callback> {
        let entry = &self.entries[at as usize];
        // Under the lock only the runner moves an entry out of `PENDING`, and
        // nothing moves one back in: a load that sees another state is final,
        // and saves a locked instruction per entry when the batch is settled.
        if entry.state.load(Ordering::Relaxed) != PENDING {
            return None;
        }
        entry
            .state
            .compare_exchange(PENDING, to, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // SAFETY: the exchange out of `PENDING` makes the callback ours.
        Some(unsafe { (*entry.callback.get()).assume_init_read() })
    }

    /// Cancels the pending entry at `at`: its callback, to be dropped.
    pub(super) fn cancel(&self, at: u32) -> Option<Callback> {
        self.take(at, CANCELLED)
    }

    /// Takes the pending entry at `at` back, to go on the list again.
    pub(super) fn give_back(&self, at: u32) -> Option<Callback> {
        self.take(at, RETURNED)
    }

    /// Asks `examine` about the pending entry at `at` (the runner waits
    /// meanwhile) and cancels it if it says so: its callback, to be
    /// dropped. `None` if the runner has it already or `examine` said no.
    pub(super) fn cancel_if(
        &self,
        at: u32,
        examine: &mut dyn FnMut(&Callback) -> bool,
    ) -> Option<Callback> {
        let entry = &self.entries[at as usize];
        if entry.state.load(Ordering::Relaxed) != PENDING {
            return None;
        }
        entry
            .state
            .compare_exchange(PENDING, EXAMINING, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        // SAFETY: `EXAMINING` keeps the runner off it; the fill wrote it.
        let callback = unsafe { (*entry.callback.get()).assume_init_ref() };
        if examine(callback) {
            entry.state.store(CANCELLED, Ordering::Relaxed);
            // SAFETY: as above; `CANCELLED` hands it to us for good.
            Some(unsafe { (*entry.callback.get()).assume_init_read() })
        } else {
            entry.state.store(PENDING, Ordering::Release);
            None
        }
    }

    /// How many entries were filled (pending or not).
    pub(super) fn filled(&self) -> u32 {
        self.len.load(Ordering::Relaxed)
    }

    /// The entries that may still be pending: those the runner has not
    /// passed (it passes an entry only once it is out of `PENDING` for good).
    pub(super) fn maybe_pending(&self) -> std::ops::Range<u32> {
        self.cursor.load(Ordering::Relaxed)..self.filled()
    }

    /// How many entries are still pending.
    pub(super) fn pending_count(&self) -> usize {
        self.maybe_pending()
            .filter(|&at| self.is_pending(at))
            .count()
    }

    /// The slot the entry at `at` came from.
    pub(super) fn slot(&self, at: u32) -> u32 {
        self.entries[at as usize].slot.load(Ordering::Relaxed)
    }

    /// The name of the handler running now from this batch, if one is.
    pub(super) fn running_name(&self) -> Option<&'static str> {
        let len = self.len.load(Ordering::Relaxed) as usize;
        self.entries[..len]
            .iter()
            .rev()
            .find(|entry| entry.state.load(Ordering::Acquire) == RUNNING)
            .map(|entry| {
                // SAFETY: the fill wrote it, and only the fill writes it. The
                // runner may have consumed the value already; the copy is
                // only read for its name, which a `Namer` allows.
                let copy = ManuallyDrop::new(unsafe { (*entry.callback.get()).assume_init_read() });
                copy.namer().name()
            })
    }
}
