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

use crate::registry::Ticket;
use std::any::TypeId;
use std::collections::HashMap;

pub(crate) struct FunctionIndex {
    by_type: HashMap<TypeId, Vec<Ticket>>,
    pending: Vec<Ticket>,
    /// Tickets held, live or stale.
    held: usize,
}

impl FunctionIndex {
    pub(crate) fn new() -> Self {
        FunctionIndex {
            by_type: HashMap::new(),
            pending: Vec::new(),
            held: 0,
        }
    }

    /// Notes a new registration.
    pub(crate) fn note(&mut self, ticket: Ticket) {
        self.pending.push(ticket);
        self.held += 1;
    }

    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// Whether it holds so many stale tickets that rebuilding is cheaper.
    pub(crate) fn is_bloated(&self, live: usize) -> bool {
        self.held > 2 * live + 64
    }

    /// Files the pending tickets under their types; `type_of` is `None` for a
    /// ticket whose registration is gone.
    pub(crate) fn file_pending(&mut self, mut type_of: impl FnMut(Ticket) -> Option<TypeId>) {
        for ticket in std::mem::take(&mut self.pending) {
            match type_of(ticket) {
                Some(type_id) => self.by_type.entry(type_id).or_default().push(ticket),
                None => self.held -= 1,
            }
        }
    }

    /// The tickets filed under `type_id`, taken out; give back the ones to
    /// keep with [`FunctionIndex::put_back`].
    pub(crate) fn take(&mut self, type_id: TypeId) -> Vec<Ticket> {
        let tickets = self.by_type.remove(&type_id).unwrap_or_default();
        self.held -= tickets.len();
        tickets
    }

    pub(crate) fn put_back(&mut self, type_id: TypeId, tickets: Vec<Ticket>) {
        if !tickets.is_empty() {
            self.held += tickets.len();
            self.by_type.insert(type_id, tickets);
        }
    }
}
