//! The process-wide state: the registry and where the process is in its exit
//! (its phase), behind one lock.
//!
//! The lock is `std::sync::Mutex`: on Linux a futex whose unlock only wakes
//! waiters (never hands the lock to a thread that may not exist in a forked
//! child) and that uses no thread-local storage, which is already destroyed on
//! the exiting thread. No code panics while holding it, and a poisoned lock
//! must not stop the exit handlers either, so poisoning is ignored.

use crate::callback::Callback;
use crate::reason::{ExitReason, Signal};
use crate::registry::Registry;
use crate::runner::ThreadKey;
use crate::shutdown::REQUEST;
use crate::static_intake::Taken;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How the process ends once the exit handlers are done.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Ending {
    /// Exit with this status.
    Code(i32),
    /// Die by this signal (default action, re-raised).
    Signal(Signal),
    /// Abort (a panic under `panic = "abort"`).
    Abort,
    /// Whatever the C runtime's exit does with a status it did not tell us.
    Unknown,
}

impl Ending {
    /// How a caught `signal` ends the process, as installed: by the signal
    /// (re-raised), or with `128 + n` (`SignalEnding::ExitCode`).
    pub(crate) fn by_signal(signal: Signal) -> Ending {
        if REQUEST.by_exit_code() {
            Ending::Code(128 + signal.number())
        } else {
            Ending::Signal(signal)
        }
    }
}

/// Why an exit started and how it is to end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ExitPlan {
    pub(crate) reason: ExitReason,
    pub(crate) ending: Ending,
}

impl ExitPlan {
    /// The plan as a shutdown request (graceful-shutdown mode) makes it,
    /// whenever the request comes: before the exit, or while its handlers
    /// run. The program drained and exited with status 0 (or one the
    /// platform does not tell): the exit says why it stopped, with the
    /// signal as its reason and its ending, so that a supervisor sees the
    /// process end by it. A failure status is the program's word and stays,
    /// with its reason, and so do a panic's and an abort's plans.
    ///
    /// Read when asked while the handlers run, not fixed when the exit
    /// starts: the signal handler notes the request, and another handler
    /// chained before it (`ctrlc`'s) may start an exit on another thread
    /// first. Once the handlers are done the request is fixed too
    /// (`SignalSafe::signal_as_closed`): a signal then changes nothing.
    pub(crate) fn after_a_shutdown_request(self, request: Option<Signal>) -> ExitPlan {
        let (ExitReason::Exit(Some(0) | None), Some(signal)) = (self.reason, request) else {
            return self;
        };
        ExitPlan {
            reason: ExitReason::Signal(signal),
            ending: Ending::by_signal(signal),
        }
    }
}

/// A run of the handlers in progress, explicit or at exit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    /// The thread taking handlers off the registry.
    pub(crate) runner: ThreadKey,
    /// The thread inside a handler, if any: the runner, or a runner an exit
    /// took over from, until its handler returns.
    pub(crate) busy: Option<ThreadKey>,
}

/// The exit handlers are running.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exiting {
    pub(crate) run: Run,
    pub(crate) plan: ExitPlan,
    /// The status a handler chose with `set_exit_code`.
    pub(crate) chosen: Option<i32>,
    /// The deadline, if one was set and can be watched.
    pub(crate) deadline: Option<Deadline>,
    /// A watchdog thread watches the deadline in this process.
    pub(crate) watched: bool,
    /// The deadline passed: no further handler starts.
    pub(crate) expired: bool,
    /// This is a child forked by a handler while its parent was exiting: its
    /// copy of the run goes on with the child's own handlers.
    pub(crate) in_forked_child: bool,
}

/// The exit handlers have run; the process is ending.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Closed {
    pub(crate) plan: ExitPlan,
    pub(crate) chosen: Option<i32>,
    /// The thread that ran the exit.
    pub(crate) by: ThreadKey,
}

/// The deadline of one exit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// When it passes.
    pub(crate) at: Instant,
    /// What `set_deadline` asked for, for the report.
    pub(crate) timeout: Duration,
}

/// Where the process is in its exit. Each phase carries only what is valid in
/// it: a plan exists only once an exit started, a run only while one is on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Phase {
    /// Not exiting; `run_exitfuncs` may be running handlers.
    Open {
        run: Option<Run>,
    },
    Exiting(Exiting),
    Closed(Closed),
}

impl Phase {
    /// The run in progress, explicit or at exit.
    pub(crate) fn run(&self) -> Option<&Run> {
        match self {
            Phase::Open { run } => run.as_ref(),
            Phase::Exiting(exiting) => Some(&exiting.run),
            Phase::Closed(_) => None,
        }
    }

    pub(crate) fn run_mut(&mut self) -> Option<&mut Run> {
        match self {
            Phase::Open { run } => run.as_mut(),
            Phase::Exiting(exiting) => Some(&mut exiting.run),
            Phase::Closed(_) => None,
        }
    }

    /// Why the process is exiting, once it is.
    pub(crate) fn reason(&self) -> Option<ExitReason> {
        match self {
            Phase::Open { .. } => None,
            Phase::Exiting(exiting) => Some(
                exiting
                    .plan
                    .after_a_shutdown_request(REQUEST.signal())
                    .reason,
            ),
            Phase::Closed(closed) => Some(
                closed
                    .plan
                    .after_a_shutdown_request(REQUEST.signal_as_closed())
                    .reason,
            ),
        }
    }

    /// How the process will end: see [`final_ending`]. `None` while not
    /// exiting.
    pub(crate) fn ending(&self) -> Option<Ending> {
        match self {
            Phase::Open { .. } => None,
            Phase::Exiting(exiting) => {
                Some(final_ending(exiting.plan, REQUEST.signal(), exiting.chosen))
            }
            Phase::Closed(closed) => Some(final_ending(
                closed.plan,
                REQUEST.signal_as_closed(),
                closed.chosen,
            )),
        }
    }
}

/// How an exit of `plan` ends: the status a handler chose with
/// `set_exit_code`, else the plan as the shutdown `request` makes it
/// ([`ExitPlan::after_a_shutdown_request`]), else the plan. The one place
/// this rule is written.
pub(crate) fn final_ending(plan: ExitPlan, request: Option<Signal>, chosen: Option<i32>) -> Ending {
    chosen.map_or(plan.after_a_shutdown_request(request).ending, Ending::Code)
}

pub(crate) struct State {
    pub(crate) registry: Registry,
    pub(crate) phase: Phase,
    /// The deadline `set_deadline` asked for, read when an exit starts.
    pub(crate) timeout: Option<Duration>,
    statics: Taken,
    /// Threads waiting on `CHANGED`: notifying nobody would still cost a
    /// system call per handler.
    waiters: u32,
}

static STATE: Mutex<State> = Mutex::new(State {
    registry: Registry::new(),
    phase: Phase::Open { run: None },
    timeout: None,
    statics: Taken::new(),
    waiters: 0,
});

/// Signalled whenever the phase, a runner or a busy thread changes.
static CHANGED: Condvar = Condvar::new();

/// Locks the state, taking in the `#[atexit::handler]` functions whose
/// constructors ran since the last look (O(1) when there are none), so every
/// operation sees them, in their place.
pub(crate) fn lock() -> MutexGuard<'static, State> {
    let mut state = lock_as_is();
    let State {
        statics, registry, ..
    } = &mut *state;
    statics.take_new(registry);
    state
}

/// Locks the state without looking for new `#[atexit::handler]`s: for the
/// runner between two handlers (its run took them in when it started) and
/// for the deadline, neither of which should pay for the look.
pub(crate) fn lock_as_is() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The state if its lock is free now; never waits, so a signal handler may
/// use it (on Linux a `try_lock` and its unlock are an atomic operation and
/// at most a futex wake).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn try_lock_as_is() -> Option<MutexGuard<'static, State>> {
    match STATE.try_lock() {
        Ok(state) => Some(state),
        Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Waits for a change, for at most `timeout` if one is given.
pub(crate) fn wait(
    mut state: MutexGuard<'static, State>,
    timeout: Option<Duration>,
) -> MutexGuard<'static, State> {
    state.waiters += 1;
    let mut state = match timeout {
        Some(timeout) => {
            CHANGED
                .wait_timeout(state, timeout)
                .unwrap_or_else(PoisonError::into_inner)
                .0
        }
        None => CHANGED.wait(state).unwrap_or_else(PoisonError::into_inner),
    };
    state.waiters -= 1;
    state
}

impl State {
    /// Wakes the waiters, if there are any.
    pub(crate) fn notify(&self) {
        if self.waiters > 0 {
            CHANGED.notify_all();
        }
    }

    /// In a forked child, after `fork`: nobody waits here.
    #[cfg(unix)]
    pub(crate) fn forget_waiters(&mut self) {
        self.waiters = 0;
    }
}

/// Drops removed handlers outside the lock: their captures' destructors are
/// user code that may call back into the registry.
pub(crate) fn drop_unlocked(state: MutexGuard<'static, State>, removed: Vec<Callback>) {
    drop(state);
    drop(removed);
}
