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
    // The stuck handler may be stuck inside the logger, holding its lock.
    crate::report::to_loggers(current, text, Duration::from_millis(100));
    sys::end_now(ending)
}

fn describe(ending: Ending) -> String {
    match ending {
        Ending::Code(code) => format!("with status {code}"),
        Ending::Signal(signal) => format!("by {signal}"),
        Ending::Abort => "by abort".to_string(),
        Ending::Unknown => "with status 1".to_string(),
    }
}
