//! The deadline for a whole exit: a watchdog thread, started when the exit
//! starts, that ends the process if it has not ended in time.

use crate::global::{self, Ending};
use crate::sys;
use std::time::{Duration, Instant};

/// Starts the watchdog for a run that began now.
pub(crate) fn start(timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let spawned = std::thread::Builder::new()
        .name("atexit-deadline".into())
        .spawn(move || watch(deadline, timeout));
    if spawned.is_err() {
        sys::write_stderr("atexit: cannot start the exit deadline's thread; no deadline applies\n");
    }
}

/// Waits for the deadline. The watch does not stop when the handlers are
/// done: the deadline bounds the whole exit, up to the end of the process, so
/// a flush blocked afterwards (on a lock another thread holds) is covered too.
fn watch(deadline: Instant, timeout: Duration) {
    let mut state = global::lock_state();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        state = global::wait_for(state, deadline - now);
    }
    let running = state.exit_running();
    let current = state.current();
    let ending = state.ending();
    drop(state);
    let what = match (running, current) {
        (true, Some(name)) => {
            format!("exit handler `{name}` is still running; the remaining handlers are skipped")
        }
        (true, None) => "the exit handlers are still running; the rest are skipped".to_string(),
        (false, _) => "the handlers are done but the process has not ended".to_string(),
    };
    let text = format!(
        "exit deadline of {timeout:?} passed: {what} and the process ends {}",
        describe(ending)
    );
    sys::write_stderr(&format!("atexit: {text}\n"));
    log_briefly(current, text);
    sys::end_now(ending)
}

/// How long the deadline's report may take in the `log` and `tracing`
/// loggers before the process ends anyway.
#[cfg(any(feature = "log", feature = "tracing"))]
const LOGGING_GRACE: Duration = Duration::from_millis(100);

/// Reports the expiry to the loggers, from a thread of its own: the stuck
/// handler may be stuck inside the logger, holding its lock, and the deadline
/// must end the process all the same.
#[cfg(any(feature = "log", feature = "tracing"))]
fn log_briefly(handler: Option<&'static str>, text: String) {
    let (done, logged) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("atexit-deadline-log".into())
        .spawn(move || {
            crate::report::to_loggers(handler, &text);
            let _ = done.send(());
        });
    if spawned.is_ok() {
        let _ = logged.recv_timeout(LOGGING_GRACE);
    }
}

#[cfg(not(any(feature = "log", feature = "tracing")))]
fn log_briefly(_: Option<&'static str>, _: String) {}

fn describe(ending: Ending) -> String {
    match ending {
        Ending::Code(code) => format!("with status {code}"),
        Ending::Signal(signal) => format!("by {signal}"),
        Ending::Abort => "by abort".to_string(),
        Ending::Unknown => "with status 1".to_string(),
    }
}
