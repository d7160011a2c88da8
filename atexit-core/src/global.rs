//! The process-wide registry and the protocol that runs it.
//!
//! Handlers are taken off the registry one at a time under the lock and run
//! without it, so a handler may use the whole API. One thread at a time is the
//! *runner*; other threads asking for a run return (explicit runs) or wait for
//! it to finish (exits), so a handler is never run twice and nothing is left
//! behind when the process ends.

use crate::callback::Callback;
use crate::registry::Registry;
use crate::report;
use crate::static_handler;
use crate::sys;
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::thread::{self, ThreadId};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// The process is not exiting; explicit runs come and go.
    Open,
    /// The exit handlers are running on `State::runner`.
    Exiting,
    /// The exit handlers have run; the process is ending.
    Closed,
}

pub(crate) struct State {
    pub(crate) registry: Registry,
    statics: static_handler::Taken,
    phase: Phase,
    runner: Option<ThreadId>,
    exit_thread: Option<ThreadId>,
    started: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    registry: Registry::new(),
    statics: static_handler::Taken::new(),
    phase: Phase::Open,
    runner: None,
    exit_thread: None,
    started: false,
});

static EXIT_DONE: Condvar = Condvar::new();

/// Locks the registry, taking in the `#[atexit::handler]` functions and
/// installing the process hooks on first use.
pub(crate) fn lock() -> MutexGuard<'static, State> {
    let mut state = STATE.lock();
    if !state.started {
        state.started = true;
        sys::install_hooks();
        state.take_new_statics();
    }
    state
}

impl State {
    /// Takes in `#[atexit::handler]` functions not seen yet (see
    /// `static_handler::take_new`).
    pub(crate) fn take_new_statics(&mut self) {
        for callback in self.statics.take_new() {
            self.registry.push_static(callback);
        }
    }

    pub(crate) fn is_exiting(&self) -> bool {
        self.phase != Phase::Open
    }
}

/// Drops removed handlers outside the lock: their captures' destructors are
/// user code that may call back into the registry.
pub(crate) fn drop_unlocked(state: MutexGuard<'static, State>, removed: Vec<Callback>) -> usize {
    drop(state);
    let count = removed.len();
    drop(removed);
    count
}

/// Runs handlers, newest first, while this thread is the runner.
fn drain(me: ThreadId) {
    loop {
        let next = {
            let mut state = STATE.lock();
            if state.runner != Some(me) {
                return;
            }
            state.registry.pop_own()
        };
        match next {
            Some(callback) => report::invoke(callback),
            None => return,
        }
    }
}

/// `run_exitfuncs`: see its docs for the rules this implements.
pub(crate) fn run_now() {
    let me = thread::current().id();
    let nested = {
        let mut state = lock();
        state.take_new_statics();
        match state.runner {
            Some(runner) if runner != me => return,
            Some(_) => true,
            None => {
                state.runner = Some(me);
                false
            }
        }
    };
    drain(me);
    if !nested {
        let mut state = STATE.lock();
        if state.phase == Phase::Open && state.runner == Some(me) {
            state.runner = None;
        }
    }
}

/// How a request to run the exit handlers went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExitRun {
    /// This call ran them all; the process may end now.
    Ran,
    /// This thread is already running them: the request came from a handler.
    FromHandler,
    /// Another thread ran them; it is ending the process.
    OtherThread,
    /// This thread ran them earlier and is inside the process's exit now.
    AlreadyRan,
}

/// Runs the exit handlers once for the whole process.
pub(crate) fn run_at_exit() -> ExitRun {
    let me = thread::current().id();
    {
        let mut state = lock();
        match state.phase {
            Phase::Open => {
                state.take_new_statics();
                state.phase = Phase::Exiting;
                // Takes over from an explicit run on another thread, which stops
                // after the handler it is in.
                state.runner = Some(me);
                state.exit_thread = Some(me);
            }
            Phase::Exiting if state.runner == Some(me) => return ExitRun::FromHandler,
            Phase::Exiting => {
                while state.phase == Phase::Exiting {
                    EXIT_DONE.wait(&mut state);
                }
                return ExitRun::OtherThread;
            }
            Phase::Closed if state.exit_thread == Some(me) => return ExitRun::AlreadyRan,
            Phase::Closed => return ExitRun::OtherThread,
        }
    }
    drain(me);
    let mut state = STATE.lock();
    state.phase = Phase::Closed;
    state.runner = None;
    EXIT_DONE.notify_all();
    ExitRun::Ran
}

/// The libc `atexit` callback: the path of returning from `main`, of
/// `std::process::exit` and of a panic in `main`.
pub(crate) extern "C" fn at_exit() {
    // Nothing may unwind into libc: handlers run under `catch_unwind` already,
    // and this catches the registry's own failures too.
    let _ = std::panic::catch_unwind(run_at_exit);
}

/// `pthread_atfork` hooks: the forking thread holds the lock across `fork`, so
/// the child never inherits it locked by a thread that does not exist there.
#[cfg(unix)]
pub(crate) mod fork {
    use super::{Phase, STATE};

    pub(crate) extern "C" fn prepare() {
        std::mem::forget(STATE.lock());
    }

    pub(crate) extern "C" fn parent() {
        // SAFETY: `prepare` locked the registry on this thread and forgot the guard.
        unsafe { STATE.force_unlock() }
    }

    pub(crate) extern "C" fn child() {
        // SAFETY: as in `parent`; the child's only thread is the one that forked.
        unsafe { STATE.force_unlock() }
        let mut state = STATE.lock();
        state.registry.fork_child();
        state.phase = Phase::Open;
        state.runner = None;
        state.exit_thread = None;
    }
}
