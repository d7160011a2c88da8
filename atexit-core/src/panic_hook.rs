//! A panic hook chained in front of the existing one: it notes a panic on the
//! main thread (so an exit with status 101 reads as `ExitReason::Panic`) and,
//! when asked, runs the exit handlers before a `panic = "abort"` abort.

use crate::global::{self, Ending, ExitPlan};
use crate::reason::ExitReason;
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};

static MAIN_PANICKED: AtomicBool = AtomicBool::new(false);
static RUN_BEFORE_ABORT: AtomicBool = AtomicBool::new(false);

/// Whether the main thread has panicked.
pub(crate) fn main_panicked() -> bool {
    MAIN_PANICKED.load(Ordering::SeqCst)
}

/// Chains the hook in front of the one installed now.
pub(crate) fn install() {
    // Changing the hook from a panicking thread panics.
    if std::thread::panicking() {
        return;
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("main") {
            MAIN_PANICKED.store(true, Ordering::SeqCst);
        }
        previous(info);
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
    let plan = ExitPlan {
        reason: ExitReason::Panic,
        ending: Ending::Abort,
    };
    // Whatever the outcome (ran them; another thread runs them; this panic
    // came from a handler), the abort follows when the hook returns.
    let _ = global::run_at_exit(plan);
}
