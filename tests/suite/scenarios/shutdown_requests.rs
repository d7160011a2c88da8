//! Services, beyond the signal's request (`graceful_shutdown.rs` has that):
//! the program's own request with a reason (`request_shutdown_because`), the
//! drain delay (`CatchSignals::drain_delay`), and what an operator sees
//! while a shutdown runs (stderr's "still running" line).

use std::time::Duration;

use atexit::{CatchSignals, ShutdownCause, Signal};

use crate::scenario::{kill_self_after, Drive, Scenario, Step};

/// Graceful-shutdown mode for SIGTERM and SIGINT (named: caught even when
/// the harness started the process with SIGINT ignored).
fn request_mode(grace: Duration) -> CatchSignals {
    CatchSignals::new()
        .only([Signal::Term, Signal::Int])
        .graceful_shutdown(grace)
}

/// An exit handler that prints why the process exits.
fn report_reason() {
    atexit::register(|| println!("handler: {:?}", atexit::exit_reason()));
}

/// Asks for the shutdown with `reason` from another thread after 50 ms, as
/// an admin endpoint's handler would, and waits for it on this one.
fn asked_by_the_program(reason: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        assert!(atexit::request_shutdown_because(reason));
        assert!(!atexit::request_shutdown_because("again"));
        assert!(!atexit::request_shutdown(Signal::Term));
    });
    let cause = atexit::shutdown_request().wait();
    let shutdown = atexit::shutdown_request();
    println!("requested: {cause:?}, signal {:?}", shutdown.signal());
    std::thread::sleep(Duration::from_millis(100));
    println!("drained");
}

fn program_request_scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("a_program_request_drains_and_exits_0", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            asked_by_the_program("admin endpoint");
        })
        .stdout(
            "requested: Program(\"admin endpoint\"), signal None\ndrained\n\
             handler: Some(ShutdownRequested(\"admin endpoint\"))\n",
        )
        .code(0),
        Scenario::new("a_program_request_without_any_signal_handling", || {
            report_reason();
            asked_by_the_program("test");
            std::process::exit(0);
        })
        .stdout(
            "requested: Program(\"test\"), signal None\ndrained\n\
             handler: Some(ShutdownRequested(\"test\"))\n",
        )
        .code(0),
        Scenario::new("a_program_request_keeps_a_failure_status", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            asked_by_the_program("admin endpoint");
            atexit::exit(3);
        })
        .stdout(
            "requested: Program(\"admin endpoint\"), signal None\ndrained\n\
             handler: Some(Exit(Some(3)))\n",
        )
        .code(3),
        Scenario::new("the_grace_after_a_program_request_exits_1", || {
            request_mode(Duration::from_millis(300)).install().unwrap();
            report_reason();
            assert!(atexit::request_shutdown_because("deploy"));
            atexit::shutdown_request().wait();
            println!("draining for ever");
            std::thread::sleep(Duration::from_secs(60));
        })
        .stdout("draining for ever\nhandler: Some(Exit(Some(1)))\n")
        .stderr(
            "atexit: the shutdown grace of 300ms after the program's request (deploy) \
             passed before the program exited: the exit handlers run now\n",
        )
        .code(1)
        .hang_after(Duration::from_secs(20)),
        Scenario::new(
            "a_signal_after_a_program_request_ends_the_drain_by_it",
            || {
                request_mode(Duration::from_secs(60)).install().unwrap();
                report_reason();
                assert!(atexit::request_shutdown_because("admin endpoint"));
                let cause = atexit::shutdown_request().wait();
                assert_eq!(cause, ShutdownCause::Program("admin endpoint"));
                println!("draining");
                std::thread::sleep(Duration::from_secs(60));
            },
        )
        .drive(Drive::Steps(vec![
            Step::WaitFor("draining"),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("draining\nhandler: Some(Signal(Int))\n")
        .stderr(
            "atexit: SIGINT during the shutdown asked for by the program's request \
             (admin endpoint) ends the drain: the exit handlers run now\n",
        )
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // Without graceful-shutdown mode a signal ends the drain too: it is
        // not the first signal of a process that is not draining.
        Scenario::new(
            "a_signal_after_a_program_request_without_request_mode",
            || {
                CatchSignals::new().only([Signal::Term]).install().unwrap();
                report_reason();
                assert!(atexit::request_shutdown_because("admin endpoint"));
                kill_self_after(50, libc::SIGTERM);
                std::thread::sleep(Duration::from_secs(60));
            },
        )
        .stdout("handler: Some(Signal(Term))\n")
        .stderr_has(&["atexit: SIGTERM during the shutdown asked for by the program's request"])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
    ]
}

pub fn all() -> Vec<Scenario> {
    program_request_scenarios()
}
