//! The deadline for a whole exit: a watchdog thread, started when the exit
//! starts, that ends the process when the deadline passes.
//!
//! The watch does not stop when the handlers are done: the deadline bounds
//! the whole exit, up to the end of the process. When it passes it marks the
//! exit expired (so no further handler starts), reports which handler was
//! still running, and ends the process with the status or signal the exit was
//! going to end with. Its report is written without Rust's stderr lock and
//! gives up on a stderr nobody reads, and loggers get a bounded time: nothing
//! a handler or another thread does can keep it from ending the process.

use super::ending;
use crate::os;
use crate::report;
use crate::state::{self, Deadline, Phase};
use std::time::{Duration, Instant};

/// How long the report may wait for stderr, and then for the loggers.
const REPORT_PATIENCE: Duration = Duration::from_millis(100);

/// Starts the watchdog for `deadline`; false if no thread could be started
/// (said on stderr: no deadline applies then).
pub(crate) fn start(deadline: &Deadline) -> bool {
    let deadline = *deadline;
    let spawned = std::thread::Builder::new()
        .name("atexit-deadline".into())
        .spawn(move || watch(deadline));
    if spawned.is_err() {
        os::write_stderr(
            b"atexit: cannot start the exit deadline's thread; no deadline applies\n",
            REPORT_PATIENCE,
        );
    }
    spawned.is_ok()
}

fn watch(deadline: Deadline) {
    loop {
        let now = Instant::now();
        if now >= deadline.at {
            break;
        }
        std::thread::sleep(deadline.at - now);
    }
    let (running, current, ending) = {
        let mut state = state::lock_as_is();
        let ending = state.phase.ending().unwrap_or(state::Ending::Unknown);
        match &mut state.phase {
            Phase::Exiting(exiting) => {
                exiting.expired = true;
                (true, exiting.run.current, ending)
            }
            Phase::Closed(_) => (false, None, ending),
            // Not reached: an exit never reopens in the process that watches it.
            Phase::Open { .. } => return,
        }
    };
    let what = match (running, current) {
        (true, Some(name)) => {
            format!("exit handler `{name}` is still running; the remaining handlers are skipped")
        }
        (true, None) => "the exit handlers are still running; the rest are skipped".to_string(),
        (false, _) => "the handlers are done but the process has not ended".to_string(),
    };
    let text = format!(
        "exit deadline of {:?} passed: {what} and the process ends {}",
        deadline.timeout,
        ending::describe(ending)
    );
    os::write_stderr(format!("atexit: {text}\n").as_bytes(), REPORT_PATIENCE);
    // The stuck handler may be stuck inside the logger, holding its lock.
    report::to_loggers(current, text, REPORT_PATIENCE);
    // Read again: a shutdown request noted while the report was written
    // (the signal came while the stuck handler ran) changes the ending.
    let ending = state::lock_as_is().phase.ending().unwrap_or(ending);
    ending::end_now(ending)
}
