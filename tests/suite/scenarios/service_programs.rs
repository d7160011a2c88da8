//! Program pieces the service scenarios share (`graceful_shutdown.rs`,
//! `shutdown_requests.rs`): one definition of graceful-shutdown mode as they
//! install it, and of the handler that says why the process exits.

use std::time::Duration;

use atexit::{CatchSignals, Signal};

/// Graceful-shutdown mode for SIGTERM and SIGINT (named: caught even when
/// the test harness started the process with SIGINT ignored).
pub fn request_mode(grace: Duration) -> CatchSignals {
    CatchSignals::new()
        .only([Signal::Term, Signal::Int])
        .graceful_shutdown(grace)
}

/// An exit handler that prints why the process exits.
pub fn report_reason() {
    atexit::register(|| println!("handler: {:?}", atexit::exit_reason()));
}

/// Two handlers: the one registered last (so run first) says it starts,
/// with the exit's reason, signals this process with SIGTERM, and sleeps
/// 300 ms, then says it ends with `ends_with_reason` deciding whether the
/// reason is printed again; below it, [`report_reason`]'s handler. A signal
/// that comes while the handlers run is no second signal: they go on.
pub fn a_handler_signals_its_own_exit(ends_with_reason: bool) {
    report_reason();
    atexit::register(move || {
        println!("slow handler starts: {:?}", atexit::exit_reason());
        // SAFETY: signalling our own process.
        unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(300));
        if ends_with_reason {
            println!("slow handler ends: {:?}", atexit::exit_reason());
        } else {
            println!("slow handler ends");
        }
    });
}

/// A drain that never ends: says "draining for ever" and sleeps a minute,
/// longer than any scenario may run, so only the grace, a second signal or
/// an exit ends it.
pub fn drain_for_ever() {
    println!("draining for ever");
    std::thread::sleep(Duration::from_secs(60));
}
