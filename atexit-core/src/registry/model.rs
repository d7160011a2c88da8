//! Model-based test of the registry: random sequences of operations run
//! against the real `Registry` and against a plain `Vec`, which must agree on
//! every count, every removal and the order handlers run in.

use super::{Registry, Ticket};
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
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Entry {
    id: usize,
    function: usize,
    inherited: bool,
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
    for op in ops {
        match *op {
            Op::Push(function) => {
                let ticket = registry.push(callback(function, next_id, &ran));
                tickets.push((ticket, next_id));
                model.push(Entry {
                    id: next_id,
                    function,
                    inherited: false,
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
                model.iter_mut().for_each(|entry| entry.inherited = true);
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
    // Everything this process owns runs, newest first.
    let expected: Vec<usize> = model
        .iter()
        .rev()
        .take_while(|entry| !entry.inherited)
        .map(|entry| entry.id)
        .collect();
    ran.lock().unwrap().clear();
    while let Some(callback) = registry.pop_own() {
        callback.run();
    }
    prop_assert_eq!(&*ran.lock().unwrap(), &expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn registry_agrees_with_a_vec(ops in proptest::collection::vec(op(), 0..80)) {
        check(&ops)?;
    }
}
