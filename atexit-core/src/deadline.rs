//! The deadline for a whole exit run: a watchdog thread, started when the run
//! starts, that ends the process if the handlers are not done in time.

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

fn watch(deadline: Instant, timeout: Duration) {
    let mut state = global::lock_state();
    loop {
        if !state.exit_running() {
            return;
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        state = global::wait_for(state, deadline - now);
    }
    let current = state.current();
    let ending = state.ending();
    drop(state);
    let still_running = match current {
        Some(name) => format!("exit handler `{name}` is still running"),
        None => "the exit handlers are still running".to_string(),
    };
    sys::write_stderr(&format!(
        "atexit: exit deadline of {timeout:?} passed: {still_running}; the remaining handlers \
         are skipped and the process ends {}\n",
        describe(ending)
    ));
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
