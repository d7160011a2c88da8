//! The process-wide registry and the protocol that runs it.
//!
//! Handlers are taken off the registry one at a time under the lock and run
//! without it, so a handler may use the whole API. One thread at a time is the
//! *runner*; another thread asking for an explicit run returns at once, and an
//! exit on another thread waits for the handler in progress, then takes over.
//! A run ends in the same critical section that finds the registry empty, so
//! a registration racing with the end is either run or made after the end.
//!
//! The lock is `std::sync::Mutex`: on Linux a futex whose unlock only wakes
//! waiters (never hands the lock to a thread that may not exist in a forked
//! child) and that uses no thread-local storage, which is already destroyed on
//! the exiting thread.

use crate::callback::Callback;
use crate::deadline;
use crate::reason::{ExitReason, Signal};
use crate::registry::Registry;
use crate::report;
use crate::static_handler;
use crate::sys;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// The process is not exiting; explicit runs come and go.
    Open,
    /// The exit handlers are running on `State::runner`.
    Exiting,
    /// The exit handlers have run; the process is ending.
    Closed,
}

/// How the process will end once the exit handlers are done.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ending {
    /// Exit with this status.
    Code(i32),
    /// Die by this signal (default action, re-raised).
    Signal(Signal),
    /// Abort (a panic under `panic = "abort"`).
    Abort,
    /// Whatever the C runtime's exit does with a status we were not told.
    Unknown,
}

/// Why an exit run started and how it is to end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ExitPlan {
    pub(crate) reason: ExitReason,
    pub(crate) ending: Ending,
}

/// Set by any thread the moment an exit run starts; read by signal handlers.
pub(crate) static EXITING: AtomicBool = AtomicBool::new(false);

pub(crate) struct State {
    pub(crate) registry: Registry,
    plan: Option<ExitPlan>,
    exit_code: Option<i32>,
    timeout: Option<Duration>,
    /// The name of the handler running now, for the deadline's report.
    current: Option<&'static str>,
    statics: static_handler::Taken,
    phase: Phase,
    /// The thread taking handlers off the registry.
    runner: Option<ThreadId>,
    /// The thread inside a handler, if any.
    busy: Option<ThreadId>,
    exit_thread: Option<ThreadId>,
    /// This is a child forked by a handler while its parent was exiting.
    forked_during_exit: bool,
    /// Threads waiting on `CHANGED`: notifying nobody would still cost a
    /// system call per handler.
    waiters: u32,
    started: bool,
}

static STATE: Mutex<State> = Mutex::new(State {
    registry: Registry::new(),
    plan: None,
    exit_code: None,
    timeout: None,
    current: None,
    statics: static_handler::Taken::new(),
    phase: Phase::Open,
    runner: None,
    busy: None,
    exit_thread: None,
    forked_during_exit: false,
    waiters: 0,
    started: false,
});

/// Signalled whenever `phase`, `runner` or `busy` changes.
static CHANGED: Condvar = Condvar::new();

thread_local! {
    /// How many handlers this thread is inside (nested runs make it more
    /// than one). No destructor, so it works after thread-local destruction.
    static HANDLER_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Locks the state. No code panics while holding the lock, but a poisoned
/// lock must not stop the exit handlers either.
pub(crate) fn lock_state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn wait(mut state: MutexGuard<'static, State>) -> MutexGuard<'static, State> {
    state.waiters += 1;
    let mut state = CHANGED.wait(state).unwrap_or_else(PoisonError::into_inner);
    state.waiters -= 1;
    state
}

/// Wakes the waiters, if there are any.
fn notify(state: &State) {
    if state.waiters > 0 {
        CHANGED.notify_all();
    }
}

/// Waits for a change for at most `timeout`.
pub(crate) fn wait_for(
    mut state: MutexGuard<'static, State>,
    timeout: Duration,
) -> MutexGuard<'static, State> {
    state.waiters += 1;
    let mut state = CHANGED
        .wait_timeout(state, timeout)
        .unwrap_or_else(PoisonError::into_inner)
        .0;
    state.waiters -= 1;
    state
}

/// Locks the registry, taking in the `#[atexit::handler]` functions and
/// installing the process hooks on first use.
pub(crate) fn lock() -> MutexGuard<'static, State> {
    let mut state = lock_state();
    if !state.started {
        state.started = true;
        sys::install_hooks();
        state.take_new_statics();
    }
    state
}

impl State {
    /// Takes in `#[atexit::handler]` functions not seen yet.
    pub(crate) fn take_new_statics(&mut self) {
        for callback in self.statics.take_new() {
            self.registry.push_static(callback);
        }
    }

    pub(crate) fn is_exiting(&self) -> bool {
        self.phase != Phase::Open
    }

    /// Whether the exit handlers are running now.
    pub(crate) fn exit_running(&self) -> bool {
        self.phase == Phase::Exiting
    }

    /// Why the process is exiting, while it is.
    pub(crate) fn reason(&self) -> Option<ExitReason> {
        self.plan
            .filter(|_| self.phase != Phase::Open)
            .map(|plan| plan.reason)
    }

    /// The handler running now, if any.
    pub(crate) fn current(&self) -> Option<&'static str> {
        self.current
    }

    /// How the process will end: the plan, unless a handler chose a status.
    pub(crate) fn ending(&self) -> Ending {
        match (self.exit_code, self.plan) {
            (Some(code), _) => Ending::Code(code),
            (None, Some(plan)) => plan.ending,
            (None, None) => Ending::Unknown,
        }
    }

    /// The status a handler chose with `set_exit_code`, if any.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    pub(crate) fn set_exit_code(&mut self, code: i32) {
        self.exit_code = Some(code);
    }

    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }
}

/// Drops removed handlers outside the lock: their captures' destructors are
/// user code that may call back into the registry.
pub(crate) fn drop_unlocked(state: MutexGuard<'static, State>, removed: Vec<Callback>) {
    drop(state);
    drop(removed);
}

/// How many handlers this thread is inside (nested runs count).
pub(crate) fn handler_depth() -> u32 {
    HANDLER_DEPTH.with(Cell::get)
}

/// For the thread of an async handler, which acts for the thread running it:
/// it is inside as many handlers as that thread.
pub(crate) fn set_handler_depth(depth: u32) {
    HANDLER_DEPTH.with(|current| current.set(depth));
}

/// In a child forked inside a handler during an exit: runs the child's own
/// handlers and ends the child as that exit would have ended. An async
/// handler's thread calls this when its future returns, because in the child
/// no exiting thread is waiting for it to go on with the exit.
#[cfg(unix)]
pub(crate) fn finish_exit_in_forked_child() {
    let forked = lock_state().forked_during_exit;
    if forked {
        finish_from_handler();
        let ending = lock_state().ending();
        let _ = std::io::Write::flush(&mut std::io::stdout());
        crate::sys::end_now(ending)
    }
}

/// Runs handlers, newest first, while this thread is the runner. When the
/// registry is empty, `on_empty` runs under the same lock that found it so.
/// One lock per handler: the one taken after a handler also takes the next.
fn drain(me: ThreadId, on_empty: impl Fn(&mut State)) {
    let outermost = HANDLER_DEPTH.with(Cell::get) == 0;
    let mut state = lock_state();
    loop {
        if state.runner != Some(me) {
            break;
        }
        let Some(callback) = state.registry.pop_own() else {
            on_empty(&mut state);
            break;
        };
        state.busy = Some(me);
        let previous = state.current.replace(callback.name());
        drop(state);
        HANDLER_DEPTH.with(|depth| depth.set(depth.get() + 1));
        report::invoke(callback);
        HANDLER_DEPTH.with(|depth| depth.set(depth.get() - 1));
        state = lock_state();
        state.current = previous;
    }
    // `busy` stays set between handlers; a nested drain leaves it to the
    // handler it runs in.
    if outermost && state.busy == Some(me) {
        state.busy = None;
        notify(&state);
    }
}
/// `run_exitfuncs`: see its docs for the rules this implements.
pub(crate) fn run_now() {
    let me = crate::executor::acting_thread();
    let nested = {
        let mut state = lock();
        if state.phase == Phase::Closed {
            return;
        }
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
    drain(me, |state| {
        if !nested && state.phase == Phase::Open {
            state.runner = None;
            notify(state);
        }
    });
}

/// How a request to run the exit handlers went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExitRun {
    /// This call ran them all; the process may end now.
    Ran,
    /// This thread is already running them: the request came from a handler.
    FromHandler,
    /// As `FromHandler`, in a child forked by a handler during its parent's
    /// exit: the child has its own handlers and its own status to exit with.
    FromHandlerInForkedChild,
    /// Another thread ran them; it is ending the process.
    OtherThread,
    /// This thread ran them earlier and is inside the process's exit now.
    AlreadyRan,
}

fn finish_exit(state: &mut State) {
    state.phase = Phase::Closed;
    state.runner = None;
    notify(state);
}

/// Runs the exit handlers once for the whole process.
pub(crate) fn run_at_exit(plan: ExitPlan) -> ExitRun {
    let me = crate::executor::acting_thread();
    {
        let mut state = lock();
        match state.phase {
            Phase::Open => {
                state.take_new_statics();
                state.phase = Phase::Exiting;
                EXITING.store(true, Ordering::SeqCst);
                state.plan = Some(plan);
                state.exit_thread = Some(me);
                // The deadline covers the wait below too.
                if let Some(timeout) = state.timeout {
                    deadline::start(timeout);
                }
                // Take over from an explicit run on another thread, after the
                // handler it is in: never two handlers at once, and none cut
                // off half-way by the end of the process.
                let previous = state.runner.replace(me);
                notify(&state);
                if let Some(other) = previous.filter(|&runner| runner != me) {
                    while state.busy == Some(other) {
                        state = wait(state);
                    }
                }
            }
            Phase::Exiting if state.runner == Some(me) => {
                return if state.forked_during_exit {
                    ExitRun::FromHandlerInForkedChild
                } else {
                    ExitRun::FromHandler
                };
            }
            Phase::Exiting => {
                // A handler of an explicit run that an exit took over from
                // asks to exit: the taker waits for that handler, so stop
                // being waited for, and let the taker finish.
                if state.busy == Some(me) {
                    state.busy = None;
                    notify(&state);
                }
                while state.phase == Phase::Exiting {
                    state = wait(state);
                }
                return ExitRun::OtherThread;
            }
            Phase::Closed if state.exit_thread == Some(me) => return ExitRun::AlreadyRan,
            Phase::Closed => return ExitRun::OtherThread,
        }
    }
    drain(me, finish_exit);
    ExitRun::Ran
}

/// Runs the handlers still waiting in an exit this thread is running, from
/// inside one of its handlers, and ends the run.
pub(crate) fn finish_from_handler() {
    drain(crate::executor::acting_thread(), finish_exit);
}

/// The exit plan of the C runtime's exit (returning from `main`,
/// `std::process::exit`, a panic in `main`), with its status if known.
fn runtime_exit_plan(status: Option<i32>) -> ExitPlan {
    let main_panicked = crate::panic_hook::main_panicked();
    let reason = match status {
        Some(101) if main_panicked => ExitReason::Panic,
        None if main_panicked => ExitReason::Panic,
        status => ExitReason::Exit(status),
    };
    let ending = status.map_or(Ending::Unknown, Ending::Code);
    ExitPlan { reason, ending }
}

/// The C runtime exit callback, for both `atexit` and glibc's `on_exit`.
pub(crate) fn at_exit(status: Option<i32>) {
    // Nothing may unwind into libc: handlers run under `catch_unwind` already,
    // and this catches the registry's own failures too.
    let _ = std::panic::catch_unwind(|| {
        match run_at_exit(runtime_exit_plan(status)) {
            // A handler of `atexit::exit` or `run_exitfuncs` called
            // `std::process::exit`: this exit is the one that ends the
            // process, so the handlers still waiting run now.
            ExitRun::FromHandler | ExitRun::FromHandlerInForkedChild => finish_from_handler(),
            ExitRun::Ran => {}
            ExitRun::AlreadyRan => return,
            // Another thread's exit (a signal, `atexit::exit`) ran the
            // handlers while this one was waiting: its ending wins, not the
            // status the C runtime has, or the other thread's status would be
            // lost to whichever thread happens to end the process first.
            ExitRun::OtherThread => {
                let ending = lock_state().ending();
                if ending != status.map_or(Ending::Unknown, Ending::Code) {
                    sys::flush_c_streams();
                    sys::end_now(ending);
                }
                return;
            }
        }
        // A handler chose another status: the C runtime cannot be told, so
        // end the process here with it.
        let chosen = lock_state().exit_code();
        if let Some(code) = chosen.filter(|&code| Some(code) != status) {
            sys::flush_and_exit_now(code);
        }
    });
}

/// `pthread_atfork` hooks: the forking thread holds the lock across `fork`, so
/// the child never inherits it locked by a thread that does not exist there.
#[cfg(unix)]
pub(crate) mod fork {
    use super::{lock_state, Phase, State};
    use std::cell::UnsafeCell;
    use std::sync::MutexGuard;

    struct Held {
        guard: MutexGuard<'static, State>,
        by_runner: bool,
    }

    /// The guard `prepare` took, until `parent` or `child` releases it.
    struct HeldAcrossFork(UnsafeCell<Option<Held>>);

    // SAFETY: only touched by the three hooks, and only by the thread that
    // holds the registry lock (`prepare` stores after locking; `parent` and
    // `child` run on that same thread before anyone else can lock).
    unsafe impl Sync for HeldAcrossFork {}

    static HELD: HeldAcrossFork = HeldAcrossFork(UnsafeCell::new(None));

    pub(crate) extern "C" fn prepare() {
        let guard = lock_state();
        let by_runner = guard.runner == Some(crate::executor::acting_thread());
        // SAFETY: we hold the lock (see `HeldAcrossFork`).
        unsafe { *HELD.0.get() = Some(Held { guard, by_runner }) };
    }

    fn take() -> Option<Held> {
        // SAFETY: called by `parent`/`child` on the thread that ran `prepare`,
        // which still holds the lock.
        unsafe { (*HELD.0.get()).take() }
    }

    pub(crate) extern "C" fn parent() {
        drop(take());
    }

    pub(crate) extern "C" fn child() {
        let Some(Held {
            mut guard,
            by_runner,
        }) = take()
        else {
            return;
        };
        let state = &mut *guard;
        state.registry.fork_child();
        state.busy = None;
        state.waiters = 0;
        state.timeout = None;
        if by_runner {
            // Forked from inside a handler: the child's copy of that run goes
            // on, with the child's own handlers only.
            state.forked_during_exit = state.phase == Phase::Exiting;
        } else {
            state.phase = Phase::Open;
            state.runner = None;
            state.exit_thread = None;
            state.forked_during_exit = false;
            state.plan = None;
            state.exit_code = None;
            state.current = None;
            super::EXITING.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
