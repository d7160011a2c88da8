//! Running one handler and reporting how it failed, as CPython's
//! "Exception ignored in atexit callback" does: the report names the handler,
//! the other handlers still run, and the exit status is not changed.
//!
//! Reports go to stderr, and with the `log` or `tracing` feature to that crate
//! too, at level error with target `atexit`.

use crate::callback::Callback;
use crate::warn;
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

/// How long a report may wait for stderr to take it (a pipe nobody reads),
/// and then for the loggers: the handlers still waiting go on after that.
const PATIENCE: Duration = Duration::from_secs(1);

/// The payload `atexit::exit` unwinds with when a handler calls it while the
/// process is already exiting.
pub(crate) struct ExitFromHandler(pub(crate) i32);

/// Runs `callback`, catching and reporting a panic.
pub(crate) fn invoke(callback: Callback) {
    // Named only if it panics: no call into the handler's type's code
    // for every handler.
    let namer = callback.namer();
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| callback.run())) {
        report_panic(namer.name(), payload);
    }
}

fn report_panic(name: &'static str, payload: Box<dyn Any + Send>) {
    let text = if let Some(ExitFromHandler(code)) = payload.downcast_ref() {
        format!(
            "exit handler `{name}` called atexit::exit({code}) while the process \
             was already exiting; the call ended that handler and the exit goes on \
             with its own status"
        )
    } else {
        let message = message(&*payload);
        format!(
            "exit handler `{name}` panicked: {message}; the other handlers still run{}",
            runtime_hint(message)
        )
    };
    report_failure(&format!("exit handler `{name}`"), Some(name), text, payload);
}

/// Reports a failure whose panic `payload` was caught: `text` goes to
/// stderr (not through Rust's stderr, whose lock another thread may hold
/// for good; stderr may be closed or a full pipe, and a failed report must
/// not stop the other handlers), then to the loggers (named for `handler`,
/// if one failed), each for a bounded time. Then the payload is dropped:
/// its destructor is user code and may panic in turn, which `who` (the one
/// that failed) names in a report of its own.
pub(crate) fn report_failure(
    who: &str,
    handler: Option<&'static str>,
    text: String,
    payload: Box<dyn Any + Send>,
) {
    warn::warn_within(format_args!("{text}"), PATIENCE);
    to_loggers(handler, text, PATIENCE);
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        warn::warn_within(
            format_args!("the panic payload of {who} panicked when dropped"),
            PATIENCE,
        );
        std::mem::forget(second);
    }
}

/// Sends a failure report to the `log` and `tracing` crates, when those
/// features are on, waiting at most `grace` for them.
///
/// The loggers run on a thread of their own: on the exiting thread the
/// thread-locals are already destroyed, and loggers keep buffers there
/// (`tracing-subscriber`'s formatter panics). A logger that panics is
/// ignored, and one that blocks (on a lock a stuck handler holds) is given
/// up on after `grace`: neither may cost the handlers still waiting or stop
/// the deadline.
///
/// One thread takes the reports in turn, and a logger that did not take a
/// report in time is remembered as stuck (as a stuck stderr is): later
/// reports are queued for it without waiting, until it catches up. Without
/// that, every failing handler's report waited its whole `grace` again, on
/// a thread of its own left stuck for good. The price: with a logger that is
/// only slow, the reports still queued when the process ends do not reach
/// it (stderr has every one).
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn to_loggers(handler: Option<&'static str>, text: String, grace: Duration) {
    to_loggers_at(Level::Error, handler, text, grace)
}

/// [`to_loggers`], at `level`.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn to_loggers_at(
    level: Level,
    handler: Option<&'static str>,
    text: String,
    grace: Duration,
) {
    let give_up_at = std::time::Instant::now().checked_add(grace);
    let Some((mut loggers, mine)) = loggers::queue(level, handler, text) else {
        return; // no thread to be had: stderr has it
    };
    if loggers.stuck {
        return; // queued for a logger that is not taking reports now
    }
    while loggers.logged < mine {
        let left = give_up_at.map(|at| at.saturating_duration_since(std::time::Instant::now()));
        if left == Some(Duration::ZERO) {
            loggers.stuck = true;
            return;
        }
        loggers = loggers::wait(loggers, left);
    }
}

/// The reports on their way to the loggers, and the one thread that gives
/// them (see [`to_loggers`]).
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) mod loggers {
    use std::collections::VecDeque;
    use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
    use std::time::Duration;

    /// A report on its way: its level, the handler it names, its text.
    type Report = (super::Level, Option<&'static str>, String);

    pub(crate) struct Loggers {
        pub(super) queue: VecDeque<Report>,
        /// Reports queued and reports given to the loggers, ever.
        pub(super) sent: u64,
        pub(super) logged: u64,
        /// The thread that gives them is running.
        pub(super) worker: bool,
        /// A report was not taken within its time: later ones do not wait.
        pub(super) stuck: bool,
    }

    static LOGGERS: Mutex<Loggers> = Mutex::new(Loggers {
        queue: VecDeque::new(),
        sent: 0,
        logged: 0,
        worker: false,
        stuck: false,
    });
    static LOGGED: Condvar = Condvar::new();

    /// Queues a report and makes sure the reporting thread runs: the lock
    /// and the report's number, for the caller to wait for it; `None` when
    /// no thread could be started (the report is dropped).
    pub(super) fn queue(
        level: super::Level,
        handler: Option<&'static str>,
        text: String,
    ) -> Option<(MutexGuard<'static, Loggers>, u64)> {
        let mut loggers = lock();
        loggers.queue.push_back((level, handler, text));
        loggers.sent += 1;
        let mine = loggers.sent;
        if !loggers.worker {
            if crate::helper_thread::spawn("atexit-report", work).is_err() {
                loggers.queue.pop_back();
                loggers.sent -= 1;
                return None;
            }
            loggers.worker = true;
        }
        Some((loggers, mine))
    }

    /// Held only for a moment, never while a logger runs.
    pub(crate) fn lock() -> MutexGuard<'static, Loggers> {
        LOGGERS.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn wait(
        loggers: MutexGuard<'static, Loggers>,
        at_most: Option<Duration>,
    ) -> MutexGuard<'static, Loggers> {
        match at_most {
            Some(at_most) => {
                LOGGED
                    .wait_timeout(loggers, at_most)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => LOGGED.wait(loggers).unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// The reporting thread: gives the queued reports to the loggers, in
    /// turn, and ends when none is left.
    pub(super) fn work() {
        loop {
            let Some((level, handler, text)) = ({
                let mut loggers = lock();
                let next = loggers.queue.pop_front();
                loggers.worker = next.is_some();
                next
            }) else {
                return;
            };
            super::log_now(level, handler, &text);
            let mut loggers = lock();
            loggers.logged += 1;
            if loggers.queue.is_empty() {
                loggers.stuck = false; // caught up: the next report waits again
            }
            LOGGED.notify_all();
        }
    }

    /// In a child forked while the lock was held (by the forking thread,
    /// from the `fork` hooks): the reporting thread did not come along, nor
    /// did the reports it had yet to give.
    #[cfg(unix)]
    pub(crate) fn forget_in_forked_child(loggers: &mut Loggers) {
        loggers.queue.clear();
        loggers.logged = loggers.sent;
        loggers.worker = false;
        loggers.stuck = false;
    }
}

#[cfg(not(any(feature = "log", feature = "tracing")))]
pub(crate) fn to_loggers(_: Option<&'static str>, _: String, _: Duration) {}

/// The level of an event for the loggers: failures are errors; the
/// progress of a shutdown (`progress`) is told at info and debug.
#[cfg(any(feature = "log", feature = "tracing"))]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Level {
    Error,
    Info,
    Debug,
}

#[cfg(any(feature = "log", feature = "tracing"))]
fn log_now(level: Level, handler: Option<&str>, text: &str) {
    let _ = handler; // unused with `log` alone
    #[cfg(feature = "log")]
    let _ = panic::catch_unwind(|| {
        let level = match level {
            Level::Error => log::Level::Error,
            Level::Info => log::Level::Info,
            Level::Debug => log::Level::Debug,
        };
        log::log!(target: "atexit", level, "{text}");
        // The process is ending: a buffering logger gets no later chance.
        log::logger().flush();
    });
    #[cfg(feature = "tracing")]
    let _ = panic::catch_unwind(|| match (level, handler) {
        (Level::Error, Some(handler)) => tracing::error!(target: "atexit", handler, "{text}"),
        (Level::Error, None) => tracing::error!(target: "atexit", "{text}"),
        (Level::Info, Some(handler)) => tracing::info!(target: "atexit", handler, "{text}"),
        (Level::Info, None) => tracing::info!(target: "atexit", "{text}"),
        (Level::Debug, Some(handler)) => tracing::debug!(target: "atexit", handler, "{text}"),
        (Level::Debug, None) => tracing::debug!(target: "atexit", "{text}"),
    });
}

/// Tokio's words for an object used after the runtime it was made on was
/// dropped (at the end of `#[tokio::main]`).
const RUNTIME_DROPPED: &str = "Tokio 1.x context was found, but it is being shutdown";
/// Tokio's words for a Tokio object used with no Tokio runtime around.
const NO_RUNTIME: &str = "there is no reactor running";

/// What to add to the report of a panic that says a Tokio object outlived
/// its runtime, or found none: the rule for handlers and runtimes.
fn runtime_hint(message: &str) -> &'static str {
    if message.contains(RUNTIME_DROPPED) {
        " (an object made on the program's Tokio runtime, such as a connection or a \
         timer, stops working once that runtime is dropped, as at the end of \
         `#[tokio::main]`, and exit handlers run after that: make it inside the handler, \
         or close it before `main` returns)"
    } else if message.contains(NO_RUNTIME) && cfg!(feature = "tokio") {
        " (only async handlers get a Tokio runtime of their own: use Tokio objects in \
         an `async` handler)"
    } else if message.contains(NO_RUNTIME) {
        " (async handlers get a Tokio runtime of their own with atexit's `tokio` \
         feature)"
    } else {
        ""
    }
}

/// The text of a panic payload, as the default panic hook shows it.
pub(crate) fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "Box<dyn Any>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_hints() {
        let gone = "called `Result::unwrap()` on an `Err` value: Custom { kind: Other, error: \
                    \"A Tokio 1.x context was found, but it is being shutdown.\" }";
        assert!(runtime_hint(gone).contains("make it inside the handler"));
        let none =
            "there is no reactor running, must be called from the context of a Tokio 1.x runtime";
        assert!(runtime_hint(none).contains("a Tokio runtime of their own"));
        assert_eq!(runtime_hint("disk full"), "");
    }

    #[test]
    fn messages() {
        assert_eq!(message(&"static"), "static");
        assert_eq!(message(&String::from("owned")), "owned");
        assert_eq!(message(&42_u8), "Box<dyn Any>");
    }
}
