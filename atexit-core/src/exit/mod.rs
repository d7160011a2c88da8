//! How the process exits: running the handlers once for the whole process,
//! and ending it.
//!
//! # The rule
//!
//! The exit path never blocks on anything another thread may hold, and never
//! waits without a bound:
//!
//! - Rust's stdout is flushed only when its lock can be taken at once (std's
//!   own exit does the same); the C streams are flushed under a watchdog.
//! - Reports (a panicking handler, an expired deadline) go to file descriptor
//!   2 by raw writes that give up when it stays unwritable, never through
//!   Rust's stderr lock; loggers get them on a thread of their own, for a
//!   bounded time.
//! - Once the handlers are done the process has [`ending::END_GRACE`] to end;
//!   a watchdog then ends it with its status or signal.
//! - A deadline ([`set_deadline`](crate::set_deadline)), with any `Duration`,
//!   ends the process when it passes, whatever a handler or another thread
//!   does: no handler starts after it, and the process ends with the status
//!   or signal it was going to have.
//!
//! # Every way out
//!
//! Each way out of the process is a few lines that call [`run_at_exit`] and
//! then [`ending::end`] (or, for the C runtime's exit, return to it when the
//! status it has is the right one):
//!
//! | exit path | handlers run on | the process ends with |
//! |---|---|---|
//! | `main` returns, `std::process::exit(n)`, panic in `main` (101) | the exiting thread, from the C runtime's exit | `n`, unless a handler chose a status (`set_exit_code`); a status chosen on another thread's exit wins |
//! | `atexit::exit(n)` | the calling thread | `n`, or the chosen status |
//! | a caught signal | the signal watcher thread | death by the signal (or `128 + n`), or the chosen status |
//! | any of the exits above after a shutdown request (graceful-shutdown mode) | as above | status 0 becomes death by the requesting signal (or `128 + n`); another status, a panic and a chosen status stay (`ExitPlan::after_a_shutdown_request`, read whenever the request comes while the handlers run) |
//! | graceful-shutdown mode's grace passes, or a second signal comes, before any exit | the grace's thread or the signal watcher thread | death by the requesting signal (or `128 + n`), or the chosen status |
//! | a panic under `panic = "abort"` with `run_on_panic_abort` | the panicking thread | abort |
//! | `atexit::exit(n)` in a child forked by a handler (or the handler returning there) | the child's thread | `n` (or the exit's own ending), unless the child chose a status (`std::process::exit` there aborts: std's exit guard is copied by `fork`) |
//! | the deadline passes | — (no further handler starts) | the status or signal the exit was going to end with |
//! | any of these on a panicking thread (from a panic hook) | a helper thread acting for it: a second panic there would abort | as above |
//!
//! # The C runtime's exit
//!
//! After a return from `main` or `std::process::exit` the handlers run
//! inside the C runtime's exit, from this crate's callback, and the C
//! runtime has more to do after it: the C `atexit` callbacks registered
//! before it (a C library's flush), the objects' destructors, the flush of
//! the C streams. When the process ends with the status the C runtime has,
//! the callback returns and the C runtime does it all. When it ends
//! otherwise (death by the requesting signal after a shutdown request, a
//! status chosen with `set_exit_code`), the process cannot end from inside
//! the callback, or all of that is skipped: on glibc the end is put off
//! until the C runtime is done (`os::after_the_c_runtime`). Measured on
//! glibc 2.36, with the crate in the executable and in a `dlopen`ed
//! `cdylib`, after `main` returns and after `std::process::exit`: the
//! callbacks run newest first; the dynamic linker's finalizer `_dl_fini`,
//! registered before the executable's constructors, runs every object's
//! `.fini_array` destructors (this crate's among them); a callback
//! registered while `_dl_fini` runs is run right after it returns (a plain
//! `atexit` there is tied to the executable's `__dso_handle` and would run
//! at once, from the executable's `__cxa_finalize`, so `on_exit` it is).
//! This crate's destructor registers the end that way: it runs after every
//! C callback registered by the executable's constructors, by `main` and by
//! `dlopen`ed libraries, and after all destructors, then flushes the C
//! streams (glibc's own flush would come next) and ends the process. What
//! is still skipped: callbacks that libraries linked at start-up registered
//! from their own constructors (older than `_dl_fini`'s). The end watchdog
//! bounds all of it: the C runtime's exit work gets [`ending::END_GRACE`].
//! Elsewhere (other C runtimes were not measured) the process ends from the
//! callback, right after the handlers, as before.
//!
//! And the outcomes a second call can meet:
//!
//! | asked while | outcome |
//! |---|---|
//! | another thread runs the exit | waits for it, then parks: that exit ends the process with its own status |
//! | a handler of this exit runs (same thread) | `atexit::exit` unwinds out of the handler (reported); `std::process::exit` is std's re-entrant abort, except when this exit is an `atexit::exit`, a signal or `run_exitfuncs` and the C runtime's exit is the first: then the rest of the handlers run and its status wins |
//! | this thread already ran the exit (a later C `atexit` callback) | ends at once with the code given |

pub(crate) mod deadline;
pub(crate) mod ending;

use crate::report;
use crate::runner::{self, ThreadKey};
use crate::state::{self, Closed, Deadline, ExitPlan, Exiting, Phase, Run, State};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// An exit has started in this process (or in the parent it was forked
/// from, during that exit): read by the signal handler, which can take no
/// lock, to tell a signal that forces the end from one that asks for it.
static STARTED: AtomicBool = AtomicBool::new(false);

/// Whether an exit has started; async-signal-safe.
pub(crate) fn has_started() -> bool {
    STARTED.load(Ordering::SeqCst)
}

/// In a child forked outside the exit's run (its phase reopened): no exit
/// has started in it.
#[cfg(unix)]
pub(crate) fn forget_in_forked_child() {
    STARTED.store(false, Ordering::SeqCst);
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

/// `run_exitfuncs`: see its docs for the rules this implements.
pub(crate) fn run_now() {
    let me = runner::current();
    let nested = {
        let mut state = state::lock();
        match &mut state.phase {
            Phase::Closed(_) => return,
            Phase::Open { run: run @ None } => {
                *run = Some(Run {
                    runner: me,
                    busy: None,
                    current: None,
                });
                false
            }
            phase => match phase.run() {
                Some(run) if run.runner == me => true,
                _ => return, // another thread runs them: waiting could deadlock
            },
        }
    };
    drain(me, |state| {
        if let Phase::Open { run } = &mut state.phase {
            if !nested {
                *run = None;
                state.notify();
            }
        }
    });
}

/// Runs the exit handlers once for the whole process.
pub(crate) fn run_at_exit(plan: ExitPlan) -> ExitRun {
    let me = runner::current();
    {
        let mut state = state::lock();
        match state.phase {
            Phase::Open { run } => {
                STARTED.store(true, Ordering::SeqCst);
                // The deadline covers the wait below too. One too far in the
                // future to name is no deadline.
                let deadline = state.timeout.and_then(|timeout| {
                    let at = Instant::now().checked_add(timeout)?;
                    Some(Deadline { at, timeout })
                });
                let watched = deadline.as_ref().is_some_and(deadline::start);
                state.phase = Phase::Exiting(Exiting {
                    run: Run {
                        runner: me,
                        busy: run.and_then(|run| run.busy),
                        current: run.and_then(|run| run.current),
                    },
                    plan,
                    chosen: None,
                    deadline: deadline.filter(|_| watched),
                    // A zero deadline has passed already: no handler starts,
                    // and the watchdog ends the process at once.
                    expired: watched && deadline.is_some_and(|deadline| deadline.timeout.is_zero()),
                    in_forked_child: false,
                    watched,
                });
                state.notify();
                // Take over from an explicit run on another thread, after the
                // handler it is in: never two handlers at once, and none cut
                // off half-way by the end of the process.
                if let Some(other) = run.map(|run| run.runner).filter(|&runner| runner != me) {
                    while busy(&state) == Some(other) {
                        state = state::wait(state, None);
                    }
                }
            }
            Phase::Exiting(exiting) if exiting.run.runner == me => {
                return if exiting.in_forked_child {
                    ExitRun::FromHandlerInForkedChild
                } else {
                    ExitRun::FromHandler
                };
            }
            Phase::Exiting(_) => {
                // A handler of an explicit run that an exit took over from
                // asks to exit: the taker waits for that handler, so stop
                // being waited for, and let the taker finish.
                if let Some(run) = state.phase.run_mut().filter(|run| run.busy == Some(me)) {
                    run.busy = None;
                    state.notify();
                }
                while matches!(state.phase, Phase::Exiting(_)) {
                    state = state::wait(state, None);
                }
                return ExitRun::OtherThread;
            }
            Phase::Closed(closed) if closed.by == me => return ExitRun::AlreadyRan,
            Phase::Closed(_) => return ExitRun::OtherThread,
        }
    }
    drain_to_the_end(me);
    ExitRun::Ran
}

/// Runs the handlers still waiting in an exit this thread is running, from
/// inside one of its handlers, and ends the run.
pub(crate) fn finish_from_handler() {
    drain_to_the_end(runner::current());
}

/// In a child forked inside a handler during an exit: runs the child's own
/// handlers and ends the child as that exit would have ended. An async
/// handler's thread calls this when its future returns, because in the child
/// no exiting thread is waiting for it to go on with the exit.
#[cfg(unix)]
pub(crate) fn finish_exit_in_forked_child() {
    let forked = matches!(
        state::lock().phase,
        Phase::Exiting(Exiting {
            in_forked_child: true,
            ..
        })
    );
    if forked {
        finish_from_handler();
        ending::end(current_ending(), ending::Context::InsideExit)
    }
}

/// How the process will end as things stand; `Unknown` outside an exit.
pub(crate) fn current_ending() -> state::Ending {
    state::lock()
        .phase
        .ending()
        .unwrap_or(state::Ending::Unknown)
}

/// The status a handler chose with `set_exit_code`, during or after an exit.
pub(crate) fn chosen_code() -> Option<i32> {
    match state::lock().phase {
        Phase::Exiting(exiting) => exiting.chosen,
        Phase::Closed(closed) => closed.chosen,
        Phase::Open { .. } => None,
    }
}

/// The thread inside a handler of the run in progress.
fn busy(state: &State) -> Option<ThreadKey> {
    state.phase.run().and_then(|run| run.busy)
}

/// Runs the remaining exit handlers and closes the exit. On a thread that is
/// panicking (the exit was asked for from a panic hook) they run on a helper
/// thread acting for this one: a handler's panic there would abort.
fn drain_to_the_end(me: ThreadKey) {
    let finish = move || drain(me, close);
    if std::thread::panicking() {
        if let Err(finish) = runner::on_helper_thread("atexit-exit", finish) {
            finish(); // no thread to be had: run them here all the same
        }
    } else {
        finish();
    }
}

/// Ends an exit run: the handlers are done.
fn close(state: &mut State) {
    if let Phase::Exiting(exiting) = state.phase {
        crate::watchdog::bye();
        state.phase = Phase::Closed(Closed {
            plan: exiting.plan,
            request: crate::request::signal(),
            chosen: exiting.chosen,
            by: exiting.run.runner,
        });
        state.notify();
    }
}

/// Runs handlers, newest first, while this thread is the runner. When the
/// registry is empty, `on_empty` runs under the same lock that found it so,
/// so a registration racing with the end is either run or made after it.
/// One lock per handler: the one taken after a handler also takes the next.
fn drain(me: ThreadKey, on_empty: impl Fn(&mut State)) {
    let outermost = runner::depth() == 0;
    let mut state = state::lock();
    loop {
        let State {
            phase, registry, ..
        } = &mut *state;
        let run = match phase {
            Phase::Open { run: Some(run) } => run,
            Phase::Exiting(exiting) => {
                if !may_start_a_handler(exiting) {
                    // The deadline passed: its watchdog is ending the process.
                    drop(state);
                    park_forever();
                }
                &mut exiting.run
            }
            Phase::Open { run: None } | Phase::Closed(_) => break,
        };
        if run.runner != me {
            break;
        }
        let Some(callback) = registry.pop_own() else {
            on_empty(&mut state);
            break;
        };
        run.busy = Some(me);
        let previous = run.current.replace(callback.name());
        drop(state);
        runner::inside_handler(|| report::invoke(callback));
        state = state::lock_as_is();
        if let Some(run) = state.phase.run_mut() {
            run.current = previous;
        }
    }
    // `busy` stays set between handlers; a nested drain leaves it to the
    // handler it runs in.
    if outermost {
        if let Some(run) = state.phase.run_mut().filter(|run| run.busy == Some(me)) {
            run.busy = None;
            state.notify();
        }
    }
}

/// Whether the exit's deadline still lets a handler start. Also gives a
/// child forked during the exit its own watchdog thread: the parent's did
/// not come along, and the timer the fork hook armed watches only until now
/// (no deadline, if neither can be had).
fn may_start_a_handler(exiting: &mut Exiting) -> bool {
    let Some(deadline) = exiting.deadline else {
        return true;
    };
    if !exiting.watched {
        exiting.watched = deadline::start(&deadline);
        if exiting.watched {
            deadline::thread_took_over();
        } else if deadline::timer_watches() {
            exiting.watched = true; // the timer goes on watching
        } else {
            exiting.deadline = None;
            return true;
        }
    }
    // The watchdog marks the exit expired when it wakes; a deadline already
    // past (a tiny one) stops the next handler even before.
    exiting.expired = exiting.expired || Instant::now() >= deadline.at;
    !exiting.expired
}

/// Parks this thread for good: another thread ends the process.
pub(crate) fn park_forever() -> ! {
    loop {
        std::thread::park();
    }
}
