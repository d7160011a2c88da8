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
//! # The protocol
//!
//! Every way into the exit is a [`Way`], and each caller is a few lines
//! that hand theirs to [`exit`], which does the rest, in this order:
//!
//! 1. **Early ways.** The end put off until the C runtime's exit was done
//!    ([`Way::AfterTheCRuntime`]) ends at once; an async handler's return
//!    ([`Way::AsyncHandlerReturned`]) goes on with the run only in a child
//!    forked inside it; the C runtime's exit that this thread's own end
//!    started finds nothing to do and returns.
//! 2. **Prelude.** Rust's stdout is flushed (for `atexit::exit` and a
//!    signal: `std::process::exit` did it for the C runtime's), and the
//!    signals that no longer reach this crate are reported (registered by
//!    the signals' install, `report_on_start`).
//! 3. **The run** ([`run_at_exit`]), once for the whole process, under the
//!    state's lock: the phase goes from `Open` to `Exiting` (and the
//!    signal-safe "an exit has started" is set first), the deadline's
//!    watchdog starts, a run of `run_exitfuncs` on another thread is taken
//!    over after its handler, then the handlers run newest first, one lock
//!    per handler, and the phase is `Closed` (the shutdown request as it
//!    stands then is the one the end reads). A second call meets one of the
//!    [`ExitRun`] outcomes instead.
//! 4. **The outcome**: one `match` on the outcome and the way, one arm per
//!    case, each with its comment (see the second table below).
//! 5. **The ending**, written once: the status a handler chose with
//!    `set_exit_code`, else the plan as a shutdown request made it, else
//!    the way's plan (`state::final_ending`); then [`ending`] flushes under
//!    its watchdog and ends the process, or leaves the end to the C runtime.
//!
//! # Every way out
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

use crate::progress;
use crate::reason::{ExitReason, Signal};
use crate::report::{self, ExitFromHandler};
use crate::runner::{self, ThreadKey};
use crate::shutdown::REQUEST;
use crate::state::{self, Closed, Deadline, ExitPlan, Exiting, Phase, Run, State};
use ending::{Context, Ending};
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Instant;

/// A way into the exit, with what it knows of how the process is to end:
/// each is a few lines at its caller that hand this to [`exit`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Way {
    /// `atexit::exit(code)`, on any thread. Never returns.
    Exit(i32),
    /// The C runtime's exit (`main` returned, `std::process::exit`, a panic
    /// in `main`), from this crate's callback: with the status where the
    /// platform tells it, and whether `main` panicked. Returns to the C
    /// runtime when it is to end the process.
    CRuntime {
        status: Option<i32>,
        main_panicked: bool,
    },
    /// A caught signal, or the grace of a shutdown request, on the signal
    /// watcher's (or the grace's) thread: `signal` says how the process
    /// ends, `delivered` is the signal whose delivery starts this exit, if
    /// one does (none for the grace). Never returns.
    Signal {
        signal: Signal,
        delivered: Option<Signal>,
    },
    /// A panic about to abort (`run_on_panic_abort`), from the panic hook.
    /// Returns: the abort follows.
    PanicAbort,
    /// An async handler's future returned, on its thread: in a child forked
    /// inside it during an exit, no exiting thread waits for it there, so
    /// the child's exit goes on from here. Returns elsewhere.
    AsyncHandlerReturned,
    /// The end that [`ending::end_after_the_c_runtime`] put off, once the C
    /// runtime's exit has done the rest of its work (from this object's
    /// destructor, through `on_exit`). Never returns.
    AfterTheCRuntime,
}

impl Way {
    /// Why this way exits and how it ends, before a handler or a shutdown
    /// request has a say (see [`ending_of`]).
    fn plan(self) -> ExitPlan {
        match self {
            Way::Exit(code) => ExitPlan {
                reason: ExitReason::Exit(Some(code)),
                ending: Ending::Code(code),
            },
            Way::CRuntime {
                status,
                main_panicked,
            } => ExitPlan {
                // std's status for a panic in `main`; where the status is
                // not told, the panic alone says it.
                reason: match status {
                    Some(101) | None if main_panicked => ExitReason::Panic,
                    status => ExitReason::Exit(status),
                },
                ending: status.map_or(Ending::Unknown, Ending::Code),
            },
            Way::Signal { signal, .. } => ExitPlan {
                reason: ExitReason::Signal(signal),
                ending: Ending::by_signal(signal),
            },
            // A panic under `panic = "abort"`. (The other two start no
            // run: `exit` deals with them before one.)
            Way::PanicAbort | Way::AsyncHandlerReturned | Way::AfterTheCRuntime => ExitPlan {
                reason: ExitReason::Panic,
                ending: Ending::Abort,
            },
        }
    }
}

/// Told when an exit starts, with the signal whose delivery starts it:
/// the signals' report of the ones that no longer reach this crate
/// (`signals::replaced`), registered when the signals are installed.
static ON_START: OnceLock<fn(Option<Signal>)> = OnceLock::new();

/// Has `report` called when an exit starts (see [`ON_START`]).
pub(crate) fn report_on_start(report: fn(Option<Signal>)) {
    let _ = ON_START.set(report);
}

thread_local! {
    /// This thread has run an exit and is ending the process through the C
    /// runtime's exit (`std::process::exit`), whose callback then finds
    /// nothing to do. A `Cell` of a `Copy` value with a `const`
    /// initializer: no destructor, so it is still there inside that exit,
    /// after the thread's other thread-locals are gone.
    #[allow(unknown_lints, clippy::missing_const_for_thread_local)]
    static ENDING_THROUGH_THE_C_RUNTIME: Cell<bool> = const { Cell::new(false) };
}

/// The exit: every way out of the process comes here with its [`Way`]. It
/// runs the prelude, the handlers (once for the whole process), and then
/// ends the process as the outcome of that run says, one arm per case.
///
/// The ending of an exit is the status a handler chose with
/// `set_exit_code`, else the plan as a shutdown request makes it, else the
/// plan ([`ending_of`], `Phase::ending`).
pub(crate) fn exit(way: Way) {
    match way {
        // The handlers ran; the C runtime's exit has done its work: end.
        Way::AfterTheCRuntime => ending::end_put_off(),
        // Not an exit of its own: in a child forked inside the async
        // handler during an exit, the child's copy of the run goes on here
        // and ends the child as that exit would have ended (a plain
        // handler returns into the run instead). Elsewhere the exiting
        // thread waits for this handler and goes on.
        Way::AsyncHandlerReturned => {
            #[cfg(unix)]
            if in_forked_child_exit() {
                finish_from_handler();
                ending::end(current_ending(), Context::InsideExit)
            }
            return;
        }
        // The C runtime's exit that this thread's own exit started
        // (`atexit::exit` or a signal ended through `std::process::exit`):
        // the handlers ran and the end watchdog is armed; the C runtime
        // finishes and ends with the status it was given.
        Way::CRuntime { .. } if ENDING_THROUGH_THE_C_RUNTIME.with(Cell::get) => return,
        _ => {}
    }

    // The prelude. What `main` printed goes out before the handlers, as
    // `std::process::exit` flushes before the C runtime's exit (which
    // flushed already for that way): it is out even if the deadline ends
    // the process in a handler. The signals that can no longer start an
    // exit are reported when one starts otherwise. A panic about to abort
    // does neither: the panic hook runs the handlers, no more.
    if matches!(way, Way::Exit(_) | Way::Signal { .. }) {
        ending::flush_stdout();
    }
    if way != Way::PanicAbort {
        if let Some(report) = ON_START.get() {
            let delivered = match way {
                Way::Signal { delivered, .. } => delivered,
                _ => None,
            };
            report(delivered);
        }
    }

    let plan = way.plan();
    let run = run_at_exit(plan);

    // The outcome: who ran the handlers, and how this way ends.
    match (run, way) {
        // A panic under `panic = "abort"`: whatever the outcome (ran them;
        // another thread runs them; the panic came from a handler), the
        // abort follows when the panic hook returns.
        (_, Way::PanicAbort) => {}
        // This call ran the handlers: the process ends as the exit says now
        // (a handler's status, a request made while they ran).
        (ExitRun::Ran, Way::CRuntime { status, .. }) => {
            end_in_the_c_runtime(status, current_ending(), false)
        }
        (ExitRun::Ran, _) => end_through_the_c_runtime(current_ending()),
        // `atexit::exit` from a handler of the exit under way: CPython's
        // `SystemExit` in a callback. It ends that handler by unwinding (the
        // runner reports it), and the exit goes on with its own status.
        (ExitRun::FromHandler, Way::Exit(code)) => {
            std::panic::resume_unwind(Box::new(ExitFromHandler(code)))
        }
        // The C runtime's exit from a handler of `atexit::exit`,
        // `run_exitfuncs` or a signal (`std::process::exit` in it, the first
        // real exit), or in a child forked by a handler: this exit ends the
        // process, so the handlers still waiting run now, and its status
        // wins unless a handler chose one.
        (
            ExitRun::FromHandler | ExitRun::FromHandlerInForkedChild,
            Way::CRuntime { status, .. },
        ) => {
            finish_from_handler();
            end_in_the_c_runtime(status, ending_of(plan), false)
        }
        // `atexit::exit` in a child forked by a handler: the child's own
        // handlers run, then it ends with its own status (std's exit guard,
        // copied from the exiting parent, would abort `std::process::exit`
        // there, so the end is `_exit`'s).
        (ExitRun::FromHandlerInForkedChild, Way::Exit(_)) => {
            finish_from_handler();
            ending::end(ending_of(plan), Context::InsideExit)
        }
        // Another thread's exit ran the handlers while this one waited. In
        // the C runtime's exit: that exit's ending wins, not the status the
        // C runtime has, or the other thread's status would be lost to
        // whichever thread happens to end the process first.
        (ExitRun::OtherThread, Way::CRuntime { status, .. }) => {
            end_in_the_c_runtime(status, current_ending(), true)
        }
        // This thread ran the exit and is inside the C runtime's exit now (a
        // later C `atexit` callback, a destructor), where
        // `std::process::exit` aborts: it ends at once with the code given.
        (ExitRun::AlreadyRan, Way::Exit(code)) => {
            ending::end(Ending::Code(code), Context::InsideExit)
        }
        // The C runtime's exit after this thread's own exit: caught before
        // the run (`ENDING_THROUGH_THE_C_RUNTIME`); left to the C runtime.
        (ExitRun::AlreadyRan, Way::CRuntime { .. }) => {}
        // Any other: another exit is under way (or done), and it ends the
        // process; this thread waits for it for good. A signal's watcher and
        // the grace's thread never run a handler, so this is all they meet
        // but `Ran`.
        (ExitRun::OtherThread, _)
        | (_, Way::Signal { .. })
        | (_, Way::AsyncHandlerReturned | Way::AfterTheCRuntime) => park_forever(),
    }
}

/// How the exit of `plan` ends now: the status a handler chose, else the
/// plan as a shutdown request makes it, else the plan. For an exit that is
/// not the one under way (the C runtime's exit from a handler, an exit in a
/// forked child): its plan, not the run's, is the one that ends the process.
fn ending_of(plan: ExitPlan) -> Ending {
    state::final_ending(plan, REQUEST.signal(), chosen_code())
}

/// Ends the process from a thread that may call `std::process::exit`: with
/// a status, through the C runtime's exit (whose callback, this crate's,
/// then has nothing to do).
fn end_through_the_c_runtime(ending: Ending) -> ! {
    ENDING_THROUGH_THE_C_RUNTIME.with(|ending_here| ending_here.set(true));
    ending::end(ending, Context::Outside)
}

/// Ends the C runtime's exit, which called this crate's callback with
/// `status`, as `ending` says: by returning to it when that is the status it
/// has; else at once when `other_thread`'s exit is ending the process (its
/// end comes first); else once the C runtime has done the rest of its exit
/// work (see the module docs, "The C runtime's exit").
fn end_in_the_c_runtime(status: Option<i32>, ending: Ending, other_thread: bool) {
    let runtime_ending = status.map_or(Ending::Unknown, Ending::Code);
    if ending == runtime_ending || ending == Ending::Unknown {
        ending::leave_to_the_c_runtime(runtime_ending);
    } else if other_thread {
        ending::end(ending, Context::InsideExit);
    } else {
        ending::end_after_the_c_runtime(ending, || exit(Way::AfterTheCRuntime));
    }
}

/// How a request to run the exit handlers went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExitRun {
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
fn run_at_exit(plan: ExitPlan) -> ExitRun {
    let me = runner::current();
    // What the exit's start tells the outside (`progress`), once the
    // state's lock is let go.
    let started;
    {
        let mut state = state::lock();
        match state.phase {
            Phase::Open { run } => {
                REQUEST.exit_starts();
                // The deadline covers the wait below too. One too far in the
                // future to name is no deadline.
                let deadline = state.timeout.and_then(|timeout| {
                    let at = Instant::now().checked_add(timeout)?;
                    Some(Deadline { at, timeout })
                });
                let watched = deadline.as_ref().is_some_and(deadline::start);
                started = (
                    plan.after_a_shutdown_request(REQUEST.signal()).reason,
                    deadline
                        .filter(|_| watched)
                        .map(|deadline| deadline.timeout),
                );
                state.phase = Phase::Exiting(Exiting {
                    run: Run {
                        runner: me,
                        busy: run.and_then(|run| run.busy),
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
                // off half-way by the end of the process. Its runner comes
                // back to the lock after that handler, not after its batch.
                if let Some(other) = run.map(|run| run.runner).filter(|&runner| runner != me) {
                    state.registry.interrupt();
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
    let (reason, deadline) = started;
    // A shutdown (a caught signal, a request) is news in the logs; a
    // plain exit is not.
    let shutdown = REQUEST.is_requested() || matches!(plan.reason, ExitReason::Signal(_));
    crate::shutdown::tell_the_request_before_the_exit();
    progress::exit_starts(
        crate::shutdown::reason_after_the_request(reason),
        deadline,
        shutdown,
    );
    drain_to_the_end(me);
    ExitRun::Ran
}

/// Runs the handlers still waiting in an exit this thread is running, from
/// inside one of its handlers, and ends the run.
fn finish_from_handler() {
    drain_to_the_end(runner::current());
}

/// In a child forked inside a handler during an exit (its copy of the run
/// goes on there).
#[cfg(unix)]
fn in_forked_child_exit() -> bool {
    matches!(
        state::lock().phase,
        Phase::Exiting(Exiting {
            in_forked_child: true,
            ..
        })
    )
}

/// How the process will end as things stand; `Unknown` outside an exit.
fn current_ending() -> state::Ending {
    state::lock()
        .phase
        .ending()
        .unwrap_or(state::Ending::Unknown)
}

/// The status a handler chose with `set_exit_code`, during or after an exit.
fn chosen_code() -> Option<i32> {
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
        // The handlers (the tied children's stops among them) are done: the
        // watchdog has nothing left to act on.
        crate::watchdog::bye();
        // The request as it stands now is the one the end reads.
        REQUEST.close_the_request();
        state.phase = Phase::Closed(Closed {
            plan: exiting.plan,
            chosen: exiting.chosen,
            by: exiting.run.runner,
        });
        state.notify();
    }
}

/// Runs handlers, newest first, while this thread is the runner. When the
/// registry is empty, `on_empty` runs under the same lock that found it so,
/// so a registration racing with the end is either run or made after it.
///
/// One lock per batch (`registry::Batch`), not per handler: the lock takes
/// up to 64 of the newest handlers off the registry, and they run without
/// it, each claimed as it starts, so one cancelled meanwhile (by an earlier
/// handler of the batch, or by another thread) does not run. After each
/// handler the runner looks at one flag, set under the lock when it must
/// come back before the next: a registration (which runs next: the batch's
/// rest goes back below it), another thread taking the run over, the
/// deadline passing. A nested run (`run_exitfuncs` in a handler) gives the
/// outer batch's rest back and fills a batch of its own depth.
fn drain(me: ThreadKey, on_empty: impl Fn(&mut State)) {
    let depth = runner::depth();
    let outermost = depth == 0;
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
        let Some(batch) = registry.next_batch(depth) else {
            on_empty(&mut state);
            break;
        };
        run.busy = Some(me);
        drop(state);
        while let Some((at, callback)) = batch.claim() {
            // The one place a handler of a run starts and ends.
            let namer = callback.namer();
            progress::handler_starts(|| namer.name());
            runner::inside_handler(|| report::invoke(callback));
            progress::handler_ends(|| namer.name());
            batch.finish(at);
            if batch.interrupted() {
                break;
            }
        }
        state = state::lock_as_is();
    }
    // Whatever the batch has left goes back: to the thread that took the
    // run over, or to the next run.
    state.registry.settle();
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
