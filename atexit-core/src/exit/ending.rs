//! Ending the process: the one place that flushes output and makes the
//! process end with its status, by its signal, or by abort.
//!
//! The flush policy: Rust's stdout is flushed only when its lock can be taken
//! at once, on a helper thread, since a thread that holds it (a writer thread,
//! a CLI that locked stdout once) may never let go; the C streams are flushed
//! as the C runtime's exit does. Either can still block on a pipe nobody
//! reads, so a watchdog armed first ends the process [`END_GRACE`] later
//! whatever happens.

pub(crate) use crate::state::Ending;
use crate::{helper_thread, os, warn};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How long the process has to end once its handlers are done: to flush its
/// output and let the C runtime finish its exit.
pub(crate) const END_GRACE: Duration = Duration::from_secs(1);

/// How long "at once" is, for taking Rust's stdout lock on a helper thread.
const LOCK_AT_ONCE: Duration = Duration::from_millis(50);

/// Where [`end`] is called from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Context {
    /// A thread that may call `std::process::exit`: it then ends through the
    /// C runtime's exit, which runs the other C `atexit` callbacks.
    Outside,
    /// Inside the C runtime's exit (or a forked copy of one), where
    /// `std::process::exit` would abort as re-entrant.
    InsideExit,
}

/// Ends the process as `ending` says, flushing first under the end watchdog.
pub(crate) fn end(ending: Ending, context: Context) -> ! {
    arm_end_watchdog(ending);
    match (ending, context) {
        // std flushes its stdout if the lock is free, then the C runtime's
        // exit runs (this crate's hook finds the exit done) and ends.
        (Ending::Code(code), Context::Outside) => std::process::exit(code),
        (Ending::Code(code), Context::InsideExit) => {
            flush_output();
            os::exit_now(code)
        }
        (Ending::Signal(signal), _) => {
            flush_output();
            os::die_by(signal.number())
        }
        (Ending::Abort, _) => os::abort(),
        (Ending::Unknown, _) => {
            flush_output();
            os::exit_now(1)
        }
    }
}

/// Leaves the end to the C runtime's exit, which called this crate's hook and
/// goes on when it returns, under the end watchdog.
pub(crate) fn leave_to_the_c_runtime(ending: Ending) {
    arm_end_watchdog(ending);
}

/// Ends the process as `ending` says once the C runtime's exit, which called
/// this crate's hook and goes on when it returns, has done the rest of its
/// work (the C `atexit` callbacks registered before the hook, the
/// destructors), under the end watchdog: `later` is called then, and ends
/// it with [`end_put_off`]. At once where that cannot be arranged (see
/// `os::after_the_c_runtime`).
pub(crate) fn end_after_the_c_runtime(ending: Ending, later: fn()) {
    arm_end_watchdog(ending);
    if !os::after_the_c_runtime(later) {
        end(ending, Context::InsideExit)
    }
}

/// The end [`end_after_the_c_runtime`] put off: the latest ending asked for.
pub(crate) fn end_put_off() -> ! {
    let ending = WATCHDOG_ENDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .unwrap_or(Ending::Unknown);
    end(ending, Context::InsideExit)
}

/// Ends the process at once as `ending` says, flushing nothing.
pub(crate) fn end_now(ending: Ending) -> ! {
    match ending {
        Ending::Code(code) => os::exit_now(code),
        Ending::Signal(signal) => os::die_by(signal.number()),
        Ending::Abort => os::abort(),
        // The C runtime's status was not told to us; 1 says "not a success".
        Ending::Unknown => os::exit_now(1),
    }
}

/// How the process ends, for reports.
pub(crate) fn describe(ending: Ending) -> String {
    match ending {
        Ending::Code(code) => format!("with status {code}"),
        Ending::Signal(signal) => format!("by {signal}"),
        Ending::Abort => "by abort".to_string(),
        Ending::Unknown => "with status 1".to_string(),
    }
}

/// Flushes Rust's stdout if its lock can be had at once, then the C streams.
fn flush_output() {
    flush_stdout();
    os::flush_c_streams();
}

/// Flushes Rust's stdout if its lock can be had at once (on a helper thread,
/// waiting for the flush at most [`END_GRACE`]). Exits that do not go
/// through std's own exit call it before their handlers too, as
/// `std::process::exit` flushes before the C runtime's exit: what `main`
/// printed is out even if the deadline ends the process in a handler.
pub(crate) fn flush_stdout() {
    let flush = helper_thread::with_steps("atexit-flush", |step| {
        let mut stdout = std::io::stdout().lock();
        step.done();
        let _ = stdout.flush();
        step.done();
    });
    if let Some(steps) = flush {
        if steps.wait(LOCK_AT_ONCE) {
            steps.wait(END_GRACE);
        }
    }
}

/// The ending the end watchdog ends with: the latest one asked for.
static WATCHDOG_ENDING: Mutex<Option<Ending>> = Mutex::new(None);
/// The process whose end watchdog is running (a forked child has none).
static WATCHDOG_PROCESS: AtomicU32 = AtomicU32::new(0);

/// Makes sure the process ends within [`END_GRACE`] from the first call, with
/// the latest `ending` given.
fn arm_end_watchdog(ending: Ending) {
    *WATCHDOG_ENDING
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(ending);
    let process = std::process::id();
    if WATCHDOG_PROCESS.swap(process, Ordering::SeqCst) == process {
        return;
    }
    let started = helper_thread::after("atexit-end", END_GRACE, || {
        let ending = WATCHDOG_ENDING
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or(Ending::Unknown);
        warn::warn_within(
            format_args!(
                "the process had not ended {END_GRACE:?} after its exit handlers \
                 (output blocked?); it ends now {}",
                describe(ending)
            ),
            Duration::from_millis(100),
        );
        end_now(ending)
    });
    if !started {
        WATCHDOG_PROCESS.store(0, Ordering::SeqCst);
    }
}
