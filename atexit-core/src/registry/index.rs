//! An index of registrations by function type, so `unregister(func)` costs
//! O(its matches) instead of a scan of every registration: CPython's is
//! quadratic over many distinct functions.
//!
//! It is lazy. Nothing is kept until the first `unregister(func)`; after it,
//! `register` only appends its ticket to `pending` (no hashing on the hot
//! path), and the next lookup files the pending ones. Tickets of
//! registrations that are gone are pruned when met, and the whole index is
//! dropped once stale tickets outnumber live registrations, which keeps its
//! memory proportional to the registry and every operation amortized O(1).

use super::Ticket;
use std::any::TypeId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// What to do with one ticket filed under the type being unregistered.
pub(crate) enum Verdict {
    /// Its registration matched and was removed.
    Removed,
    /// It stays: same type, another function (a different fn pointer).
    Keep,
    /// Its registration is gone.
    Stale,
}

/// Most functions are registered once: keep one ticket without a `Vec`.
enum Tickets {
    One(Ticket),
    Many(Vec<Ticket>),
}

/// `TypeId`s are already uniformly random hashes: use their bits as they are.
#[derive(Default)]
struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, bits: u64) {
        self.0 ^= bits;
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not how `TypeId` hashes itself today; kept correct for any input.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub(crate) struct FunctionIndex {
    by_type: HashMap<TypeId, Tickets, BuildHasherDefault<TypeIdHasher>>,
    pending: Vec<(Ticket, TypeId)>,
    /// Tickets held, live or stale.
    held: usize,
}

impl FunctionIndex {
    /// An index with room for `live` registrations.
    pub(crate) fn with_capacity(live: usize) -> Self {
        FunctionIndex {
            by_type: HashMap::with_capacity_and_hasher(live, Default::default()),
            pending: Vec::new(),
            held: 0,
        }
    }

    /// Files a registration now.
    pub(crate) fn file(&mut self, ticket: Ticket, type_id: TypeId) {
        self.held += 1;
        match self.by_type.entry(type_id) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(Tickets::One(ticket));
            }
            std::collections::hash_map::Entry::Occupied(mut entry) => match entry.get_mut() {
                Tickets::Many(tickets) => tickets.push(ticket),
                Tickets::One(first) => {
                    let first = *first;
                    entry.insert(Tickets::Many(vec![first, ticket]));
                }
            },
        }
    }

    /// Notes a new registration, to be filed at the next lookup.
    pub(crate) fn note(&mut self, ticket: Ticket, type_id: TypeId) {
        self.pending.push((ticket, type_id));
        self.held += 1;
    }

    /// Whether it holds so many stale tickets that rebuilding is cheaper.
    pub(crate) fn is_bloated(&self, live: usize) -> bool {
        self.held > 2 * live + 64
    }

    /// Asks `verdict` about every ticket filed under `type_id` (filing the
    /// pending ones first) and forgets those removed or stale.
    pub(crate) fn sweep(&mut self, type_id: TypeId, mut verdict: impl FnMut(Ticket) -> Verdict) {
        self.held -= self.pending.len();
        for (ticket, type_id) in std::mem::take(&mut self.pending) {
            self.file(ticket, type_id);
        }
        // One lookup: the entry is kept to remove it when it empties.
        let std::collections::hash_map::Entry::Occupied(mut entry) = self.by_type.entry(type_id)
        else {
            return;
        };
        let (before, after) = match entry.get_mut() {
            Tickets::One(ticket) => match verdict(*ticket) {
                Verdict::Keep => (1, 1),
                Verdict::Removed | Verdict::Stale => (1, 0),
            },
            Tickets::Many(tickets) => {
                let before = tickets.len();
                tickets.retain(|&ticket| matches!(verdict(ticket), Verdict::Keep));
                (before, tickets.len())
            }
        };
        if after == 0 {
            entry.remove();
        }
        self.held -= before - after;
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }
}
