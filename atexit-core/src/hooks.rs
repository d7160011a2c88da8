//! The hooks this crate puts into the process: at load time, into the C
//! runtime's exit, around `fork`, and in front of the panic hook. Each hook
//! is wiring only: the exit itself is `exit`'s.

use crate::exit::{self, Way};
use crate::os;
use crate::runner;
use crate::state::{self, State};
use crate::warn;
use std::sync::{MutexGuard, Once};

static INSTALL: Once = Once::new();

/// Installs the hooks, once per process. Called from a load-time constructor
/// (so `#[atexit::handler]` functions run even if the API is never called) and
/// again on first use of the API, which covers a platform where the
/// constructor did not run.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        os::pin_this_object();
        // Both fail only when libc is out of memory. Say so: the handlers then
        // run only through `atexit::exit` and `run_exitfuncs`.
        if !os::on_c_exit(on_c_exit) {
            warn::warn(format_args!(
                "cannot hook the C runtime's exit; handlers run only on atexit::exit"
            ));
        }
        #[cfg(unix)]
        if !os::on_fork(fork::prepare, fork::parent, fork::child) {
            warn::warn(format_args!(
                "pthread_atfork() failed; forked children may run parent handlers"
            ));
        }
        panic::install();
    });
}

/// Locks the state for an API call, installing the hooks first (for a
/// platform where the load-time constructor did not run).
pub(crate) fn lock() -> MutexGuard<'static, State> {
    install();
    state::lock()
}

#[ctor::ctor(unsafe)]
fn install_at_load() {
    // Constructors run on the main thread, before `main`.
    runner::record_main_thread();
    install();
}

/// The C runtime's exit (returning from `main`, `std::process::exit`, a
/// panic in `main`) with its status, where the platform tells it.
fn on_c_exit(status: Option<i32>) {
    // Nothing may unwind into libc: handlers run under `catch_unwind` already,
    // and this catches the crate's own failures too.
    let _ = std::panic::catch_unwind(|| {
        exit::exit(Way::CRuntime {
            status,
            main_panicked: panic::main_panicked(),
        })
    });
}

/// A panic hook chained in front of the existing one: it notes a panic on the
/// main thread (so an exit with status 101 reads as `ExitReason::Panic`) and,
/// when asked, runs the exit handlers before a `panic = "abort"` abort.
pub(crate) mod panic {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    static MAIN_PANICKED: AtomicBool = AtomicBool::new(false);

    /// How long a panic on the exit path waits for stderr to take its message.
    const STDERR_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);
    static RUN_BEFORE_ABORT: AtomicBool = AtomicBool::new(false);

    /// Whether the main thread has panicked outside a handler.
    pub(crate) fn main_panicked() -> bool {
        MAIN_PANICKED.load(Ordering::SeqCst)
    }

    /// Chains the hook in front of the one installed now.
    pub(super) fn install() {
        // Changing the hook from a panicking thread panics.
        if std::thread::panicking() {
            return;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The thread recorded at load time, not a thread's name: any
            // thread may be named "main".
            let main = runner::is_main_thread();
            let in_handler = runner::depth() > 0;
            if main && !in_handler {
                MAIN_PANICKED.store(true, Ordering::SeqCst);
            }
            // A panic of `main` or of a handler is on the exit path, and the
            // default hook writes its message with a blocking write: on a
            // stderr nobody reads that would stop the exit for good.
            if (main || in_handler) && !os::stderr_writable(STDERR_PATIENCE) {
                let at = info
                    .location()
                    .map_or(String::new(), |at| format!(" at {at}"));
                let message = crate::report::message(info.payload());
                os::write_stderr(
                    format!("panicked{at}: {message}\n").as_bytes(),
                    STDERR_PATIENCE,
                );
            } else {
                previous(info);
            }
            if cfg!(panic = "abort") && RUN_BEFORE_ABORT.load(Ordering::SeqCst) {
                run_before_abort();
            }
        }));
    }

    /// `run_on_panic_abort`: see its docs.
    pub(crate) fn enable_run_before_abort() {
        RUN_BEFORE_ABORT.store(true, Ordering::SeqCst);
        // Chain again in case the program replaced the hook since start-up; a
        // second copy in the chain is harmless, as exit handlers run once.
        install();
    }

    fn run_before_abort() {
        // Returns whatever the outcome: the abort follows when the hook does.
        exit::exit(Way::PanicAbort)
    }
}

/// `pthread_atfork` hooks: the forking thread holds the lock across `fork`, so
/// the child never inherits it locked by a thread that does not exist there.
#[cfg(unix)]
mod fork {
    use crate::runner;
    use crate::state::{self, Phase, State};
    use std::cell::UnsafeCell;
    use std::sync::MutexGuard;

    struct Held {
        guard: MutexGuard<'static, State>,
        by_runner: bool,
        /// The reports on their way to the loggers, taken after the state.
        #[cfg(any(feature = "log", feature = "tracing"))]
        loggers: MutexGuard<'static, crate::report::loggers::Loggers>,
        /// The shutdown request's wakers, taken last.
        wakers: MutexGuard<'static, crate::shutdown::waiters::Wakers>,
    }

    /// The guard `prepare` took, until `parent` or `child` releases it.
    struct HeldAcrossFork(UnsafeCell<Option<Held>>);

    // SAFETY: only touched by the three hooks, and only by the thread that
    // holds the registry lock (`prepare` stores after locking; `parent` and
    // `child` run on that same thread before anyone else can lock).
    unsafe impl Sync for HeldAcrossFork {}

    static HELD: HeldAcrossFork = HeldAcrossFork(UnsafeCell::new(None));

    pub(super) extern "C" fn prepare() {
        let guard = state::lock();
        let by_runner = guard
            .phase
            .run()
            .is_some_and(|run| run.runner == runner::current());
        // Nothing takes the state while it holds this lock: the order is safe.
        #[cfg(any(feature = "log", feature = "tracing"))]
        let loggers = crate::report::loggers::lock();
        // Nothing takes another lock while it holds this one.
        let wakers = crate::shutdown::waiters::lock();
        // SAFETY: we hold the lock (see `HeldAcrossFork`).
        unsafe {
            *HELD.0.get() = Some(Held {
                guard,
                by_runner,
                #[cfg(any(feature = "log", feature = "tracing"))]
                loggers,
                wakers,
            })
        };
    }

    fn take() -> Option<Held> {
        // SAFETY: called by `parent`/`child` on the thread that ran `prepare`,
        // which still holds the lock.
        unsafe { (*HELD.0.get()).take() }
    }

    pub(super) extern "C" fn parent() {
        drop(take());
    }

    pub(super) extern "C" fn child() {
        crate::watchdog::forget_in_forked_child();
        let Some(Held {
            mut guard,
            by_runner,
            #[cfg(any(feature = "log", feature = "tracing"))]
            mut loggers,
            mut wakers,
        }) = take()
        else {
            return;
        };
        #[cfg(any(feature = "log", feature = "tracing"))]
        crate::report::loggers::forget_in_forked_child(&mut loggers);
        let state = &mut *guard;
        state.registry.fork_child();
        state.forget_waiters();
        // The request, its wakers and (unless this child goes on with the
        // run) the exit were the parent's.
        crate::shutdown::forget_in_forked_child(&mut wakers, by_runner);
        crate::exit::deadline::forget_timer_in_forked_child();
        // The deadline setting stays: the child's own exit gets it too.
        if by_runner {
            // Forked from inside a handler: the child's copy of that run goes
            // on, with the child's own handlers only, and a watchdog of its
            // own for the same deadline: a timer from now (no thread may be
            // started here), a thread when the run goes on (see `deadline`).
            if let Some(run) = state.phase.run_mut() {
                run.busy = None;
            }
            let running = state.registry.running_name();
            if let Phase::Exiting(exiting) = &mut state.phase {
                exiting.in_forked_child = true;
                exiting.watched = false;
                crate::exit::deadline::watch_in_forked_child(exiting, running);
            }
        } else {
            // The parent's exit is not the child's: its signals ask for a
            // shutdown, and its grace runs, as in a process not exiting.
            state.phase = Phase::Open { run: None };
        }
    }
}
