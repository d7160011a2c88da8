//! Model-based test of the registry: random sequences of operations run
//! against the real `Registry` and against a plain `Vec`, which must agree on
//! every count, every removal and the order handlers run in.
//!
//! Runs go through batches as the exit's run does: a batch is filled (at
//! handler depth 0 or 1, as a nested run would), handlers are claimed from
//! it one at a time, and meanwhile registrations, cancellations by ticket
//! or function, clears, forks and settles happen in any order. The model
//! marks the entries a batch holds; the order never changes.

use super::{Batch, Registry, Ticket};
use crate::callback::{Callback, Tagged};
use proptest::prelude::*;
use std::any::TypeId;
use std::sync::{Arc, Mutex};

/// The function a registration stands for: four of them, so that removals
/// by function find several registrations.
struct Function<const N: usize>;

const FUNCTIONS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    Push(usize),
    RemoveTicket(usize),
    RemoveFunction(usize),
    Clear,
    Pop,
    ForkChild,
    Adopt,
    /// `next_batch` at this handler depth.
    TakeBatch(u32),
    /// Claims and runs one handler of the batch filled at this depth.
    Claim(u32),
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..FUNCTIONS).prop_map(Op::Push),
        3 => (0..64usize).prop_map(Op::RemoveTicket),
        2 => (0..FUNCTIONS).prop_map(Op::RemoveFunction),
        1 => Just(Op::Clear),
        3 => Just(Op::Pop),
        1 => Just(Op::ForkChild),
        1 => Just(Op::Adopt),
        2 => (0..2u32).prop_map(Op::TakeBatch),
        6 => (0..2u32).prop_map(Op::Claim),
        1 => Just(Op::Settle),
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    id: usize,
    function: usize,
    inherited: bool,
    /// Pending in the active batch.
    batched: bool,
}

type Ran = Arc<Mutex<Vec<usize>>>;

fn callback(function: usize, id: usize, ran: &Ran) -> Callback {
    fn make<const N: usize>(id: usize, ran: &Ran) -> Callback {
        let ran = Arc::clone(ran);
        Callback::new(Tagged {
            tag: Function::<N>,
            run: move || ran.lock().unwrap().push(id),
        })
    }
    match function {
        0 => make::<0>(id, ran),
        1 => make::<1>(id, ran),
        2 => make::<2>(id, ran),
        _ => make::<3>(id, ran),
    }
}

fn type_of(function: usize) -> TypeId {
    match function {
        0 => TypeId::of::<Function<0>>(),
        1 => TypeId::of::<Function<1>>(),
        2 => TypeId::of::<Function<2>>(),
        _ => TypeId::of::<Function<3>>(),
    }
}

fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let ran = Ran::default();
    let mut registry = Registry::new();
    // Oldest first, as the registry's list from the bottom.
    let mut model: Vec<Entry> = Vec::new();
    let mut tickets: Vec<(Ticket, usize)> = Vec::new();
    let mut next_id = 0;
    let mut dropped = Vec::new();
    let mut batches: [Option<&'static Batch>; 2] = [None, None];
    let mut active: Option<u32> = None;
    for op in ops {
        match *op {
            Op::Push(function) => {
                let ticket = registry.push(callback(function, next_id, &ran));
                tickets.push((ticket, next_id));
                model.push(Entry {
                    id: next_id,
                    function,
                    inherited: false,
                    batched: false,
                });
                next_id += 1;
            }
            Op::RemoveTicket(n) => {
                if let Some(&(ticket, id)) = tickets.get(n % tickets.len().max(1)) {
                    let expected = model.iter().position(|entry| entry.id == id);
                    prop_assert_eq!(registry.remove(ticket, &mut dropped), expected.is_some());
                    if let Some(position) = expected {
                        model.remove(position);
                    }
                }
            }
            Op::RemoveFunction(function) => {
                let expected = model
                    .iter()
                    .filter(|entry| entry.function == function)
                    .count();
                let removed =
                    registry.remove_function(type_of(function), &mut |_| true, &mut dropped);
                prop_assert_eq!(removed, expected);
                model.retain(|entry| entry.function != function);
            }
            Op::Clear => {
                prop_assert_eq!(registry.clear(&mut dropped), model.len());
                model.clear();
            }
            Op::Pop => {
                let expected = model
                    .last()
                    .filter(|entry| !entry.inherited)
                    .map(|entry| entry.id);
                settle(&mut model, &mut active);
                match registry.pop_own() {
                    Some(callback) => {
                        callback.run();
                        let got = ran.lock().unwrap().pop();
                        prop_assert_eq!(got, expected);
                        model.pop();
                    }
                    None => prop_assert_eq!(expected, None),
                }
            }
            Op::ForkChild => {
                registry.fork_child();
                settle(&mut model, &mut active);
                model.iter_mut().for_each(|entry| entry.inherited = true);
            }
            Op::TakeBatch(depth) => {
                settle(&mut model, &mut active);
                let batch = registry.next_batch(depth);
                let own = model.iter().rev().take_while(|entry| !entry.inherited);
                let expected = own.count().min(super::batch::CAPACITY);
                prop_assert_eq!(batch.is_some(), expected > 0);
                if let Some(batch) = batch {
                    batches[depth as usize] = Some(batch);
                    active = Some(depth);
                    let len = model.len();
                    model[len - expected..]
                        .iter_mut()
                        .for_each(|entry| entry.batched = true);
                }
            }
            Op::Claim(depth) => {
                if let Some(batch) = batches[depth as usize] {
                    let expected = match active {
                        Some(active) if active == depth => {
                            model.iter().rposition(|entry| entry.batched)
                        }
                        _ => None,
                    };
                    match batch.claim() {
                        Some((at, callback)) => {
                            callback.run();
                            batch.finish(at);
                            let got = ran.lock().unwrap().pop();
                            let position = expected.expect("claimed from a settled batch");
                            prop_assert_eq!(got, Some(model[position].id));
                            model.remove(position);
                        }
                        None => prop_assert_eq!(expected, None),
                    }
                }
            }
            Op::Settle => {
                registry.settle();
                settle(&mut model, &mut active);
            }
            Op::Adopt => {
                let expected = model.iter().filter(|entry| entry.inherited).count();
                prop_assert_eq!(registry.adopt_inherited(), expected);
                model.iter_mut().for_each(|entry| entry.inherited = false);
            }
        }
        prop_assert_eq!(registry.len(), model.len());
        let own = model.iter().filter(|entry| !entry.inherited).count();
        prop_assert_eq!(registry.own_len(), own);
        for &(ticket, id) in &tickets {
            prop_assert_eq!(
                registry.contains(ticket),
                model.iter().any(|entry| entry.id == id)
            );
        }
    }
    // Everything this process owns runs, newest first, batch by batch.
    let expected: Vec<usize> = model
        .iter()
        .rev()
        .take_while(|entry| !entry.inherited)
        .map(|entry| entry.id)
        .collect();
    ran.lock().unwrap().clear();
    while let Some(batch) = registry.next_batch(0) {
        while let Some((at, callback)) = batch.claim() {
            callback.run();
            batch.finish(at);
        }
    }
    prop_assert_eq!(&*ran.lock().unwrap(), &expected);
    Ok(())
}

/// The model's side of `Registry::settle`: nothing moves.
fn settle(model: &mut [Entry], active: &mut Option<u32>) {
    model.iter_mut().for_each(|entry| entry.batched = false);
    *active = None;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn registry_agrees_with_a_vec(ops in proptest::collection::vec(op(), 0..80)) {
        check(&ops)?;
    }
}
