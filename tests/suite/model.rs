//! Model-based test of the public API on the process-wide registry:
//! random sequences of `register!`, `Handle::unregister`, `unregister(func)`,
//! `clear` and `run_exitfuncs`, where running handlers themselves register,
//! cancel and unregister. A plain `Vec` model runs the same sequence; the
//! handlers that run, in their order, every return value and every count
//! must agree. 10,000 cases.
//!
//! This binary has no `#[atexit::handler]`, so the registry holds only what
//! the test puts there; one test function, so nothing else touches it.

use proptest::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;

/// What a handler does when it runs.
#[derive(Clone, Copy, Debug)]
enum Action {
    Nothing,
    /// Registers a new handler of this function (which does nothing).
    Register(usize),
    /// Cancels the registration made n-th (modulo the count so far).
    Cancel(usize),
    /// `unregister`s this function.
    Unregister(usize),
}

#[derive(Clone, Debug)]
enum Op {
    Register(usize, Action),
    Cancel(usize),
    Unregister(usize),
    Clear,
    Run,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Nothing),
        2 => (0..FUNCTIONS).prop_map(Action::Register),
        2 => (0..64usize).prop_map(Action::Cancel),
        1 => (0..FUNCTIONS).prop_map(Action::Unregister),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => ((0..FUNCTIONS), action()).prop_map(|(f, a)| Op::Register(f, a)),
        3 => (0..64usize).prop_map(Op::Cancel),
        2 => (0..FUNCTIONS).prop_map(Op::Unregister),
        1 => Just(Op::Clear),
        2 => Just(Op::Run),
    ]
}

const FUNCTIONS: usize = 4;

/// The real side's state, shared with the handlers.
#[derive(Default)]
struct Real {
    actions: HashMap<usize, Action>,
    handles: Vec<atexit::Handle>,
    log: Vec<String>,
}

static REAL: Mutex<Option<Real>> = Mutex::new(None);

fn with_real<T>(f: impl FnOnce(&mut Real) -> T) -> T {
    f(REAL.lock().unwrap().as_mut().unwrap())
}

fn handler_0(id: usize) {
    ran(id)
}
fn handler_1(id: usize) {
    ran(id)
}
fn handler_2(id: usize) {
    ran(id)
}
fn handler_3(id: usize) {
    ran(id)
}

fn register(function: usize, action: Action) -> usize {
    // The lock is not held while calling into atexit: handlers take it too.
    let id = with_real(|real| {
        let id = real.handles.len();
        real.actions.insert(id, action);
        id
    });
    let handle = match function {
        0 => atexit::register!(handler_0, id),
        1 => atexit::register!(handler_1, id),
        2 => atexit::register!(handler_2, id),
        _ => atexit::register!(handler_3, id),
    };
    with_real(|real| real.handles.push(handle));
    id
}

fn unregister(function: usize) -> usize {
    match function {
        0 => atexit::unregister(handler_0),
        1 => atexit::unregister(handler_1),
        2 => atexit::unregister(handler_2),
        _ => atexit::unregister(handler_3),
    }
}

fn cancel(n: usize) -> Option<bool> {
    let handle =
        with_real(|real| (!real.handles.is_empty()).then(|| real.handles[n % real.handles.len()]))?;
    Some(handle.unregister())
}

/// What every handler does: log that it ran, then its action.
fn ran(id: usize) {
    let action = with_real(|real| {
        real.log.push(format!("ran {id}"));
        real.actions[&id]
    });
    let outcome = match action {
        Action::Nothing => return,
        Action::Register(function) => format!("registered {}", register(function, Action::Nothing)),
        Action::Cancel(n) => format!("cancel {:?}", cancel(n)),
        Action::Unregister(function) => format!("unregistered {}", unregister(function)),
    };
    with_real(|real| real.log.push(outcome));
}

/// The model: registrations oldest first, as (id, function, action).
#[derive(Default)]
struct Model {
    stack: Vec<(usize, usize, Action)>,
    /// Every registration ever made: its function.
    registered: Vec<usize>,
    log: Vec<String>,
}

impl Model {
    fn register(&mut self, function: usize, action: Action) -> usize {
        let id = self.registered.len();
        self.registered.push(function);
        self.stack.push((id, function, action));
        id
    }

    fn cancel(&mut self, n: usize) -> Option<bool> {
        if self.registered.is_empty() {
            return None;
        }
        let id = n % self.registered.len();
        let found = self.stack.iter().position(|entry| entry.0 == id);
        if let Some(position) = found {
            self.stack.remove(position);
        }
        Some(found.is_some())
    }

    fn unregister(&mut self, function: usize) -> usize {
        let before = self.stack.len();
        self.stack.retain(|entry| entry.1 != function);
        before - self.stack.len()
    }

    fn run(&mut self) {
        while let Some((id, _, action)) = self.stack.pop() {
            self.log.push(format!("ran {id}"));
            let outcome = match action {
                Action::Nothing => continue,
                Action::Register(function) => {
                    format!("registered {}", self.register(function, Action::Nothing))
                }
                Action::Cancel(n) => format!("cancel {:?}", self.cancel(n)),
                Action::Unregister(function) => {
                    format!("unregistered {}", self.unregister(function))
                }
            };
            self.log.push(outcome);
        }
    }
}

fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    atexit::clear();
    *REAL.lock().unwrap() = Some(Real::default());
    let mut model = Model::default();
    for op in ops {
        match *op {
            Op::Register(function, action) => {
                prop_assert_eq!(register(function, action), model.register(function, action));
            }
            Op::Cancel(n) => prop_assert_eq!(cancel(n), model.cancel(n)),
            Op::Unregister(function) => {
                prop_assert_eq!(unregister(function), model.unregister(function))
            }
            Op::Clear => {
                atexit::clear();
                model.stack.clear();
            }
            Op::Run => {
                atexit::run_exitfuncs();
                model.run();
            }
        }
        prop_assert_eq!(atexit::ncallbacks(), model.stack.len());
        let real_log = with_real(|real| real.log.clone());
        prop_assert_eq!(&real_log, &model.log);
    }
    atexit::clear();
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn the_api_agrees_with_a_vec(ops in proptest::collection::vec(op(), 0..40)) {
        check(&ops)?;
    }
}
