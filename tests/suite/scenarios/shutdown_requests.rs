//! Services, beyond the signal's request (`graceful_shutdown.rs` has that):
//! the program's own request with a reason (`request_shutdown_because`), the
//! drain delay (`CatchSignals::drain_delay`), and what an operator sees
//! while a shutdown runs (stderr's "still running" line).

use std::time::{Duration, Instant};

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

/// When a drain delay scenario's signal was raised (or its request made).
static ASKED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Raises `signal` on this thread (its handler runs before `raise` returns),
/// noting when.
fn raise_now(signal: i32) {
    ASKED.set(Instant::now()).unwrap();
    // SAFETY: signalling this thread.
    unsafe { libc::raise(signal) };
}

/// An exit handler that prints why the process exits and whether the
/// program sees the request by then.
fn report_reason_and_sight() {
    atexit::register(|| {
        println!(
            "handler: {:?}, seen {}",
            atexit::exit_reason(),
            atexit::shutdown_request().is_requested()
        )
    });
}

/// The home of "a second signal during the drain delay ends the drain": a
/// delay of `delay` inside a drain timeout of `grace`; the program never
/// sees the request before the second signal, which shows it and runs the
/// handlers; the process dies by the first.
fn a_second_signal_during_the_delay(name: &str, delay: Duration, grace: Duration) -> Scenario {
    Scenario::new(name, move || {
        request_mode(grace).drain_delay(delay).install().unwrap();
        report_reason_and_sight();
        println!("ready");
        std::thread::sleep(Duration::from_secs(60));
    })
    .drive(Drive::Steps(vec![
        Step::WaitFor("ready"),
        Step::Signal(libc::SIGTERM),
        Step::Sleep(Duration::from_millis(300)),
        Step::Signal(libc::SIGINT),
    ]))
    .stdout("ready\nhandler: Some(Signal(Term)), seen true\n")
    .stderr(
        "atexit: SIGINT during the shutdown asked for by SIGTERM ends the drain: the exit \
         handlers run now\n",
    )
    .killed_by(libc::SIGTERM)
    .hang_after(Duration::from_secs(20))
    .faster_than(Duration::from_secs(15))
}

fn drain_delay_scenarios() -> Vec<Scenario> {
    const DELAY: Duration = Duration::from_millis(300);
    vec![
        Scenario::new("a_drain_delay_shows_the_request_once_it_passed", || {
            request_mode(Duration::from_secs(20))
                .drain_delay(DELAY)
                .install()
                .unwrap();
            report_reason_and_sight();
            raise_now(libc::SIGTERM);
            let shutdown = atexit::shutdown_request();
            println!(
                "at once: {:?} {}",
                shutdown.cause(),
                shutdown.is_requested()
            );
            let cause = shutdown.wait();
            let waited = ASKED.get().unwrap().elapsed();
            println!("{cause} after the delay: {}", waited >= DELAY);
        })
        .stdout(
            "at once: None false\nSIGTERM after the delay: true\n\
             handler: Some(Signal(Term)), seen true\n",
        )
        .killed_by(libc::SIGTERM),
        Scenario::new("a_drain_delay_holds_back_a_program_request_too", || {
            request_mode(Duration::from_secs(20))
                .drain_delay(DELAY)
                .install()
                .unwrap();
            ASKED.set(Instant::now()).unwrap();
            assert!(atexit::request_shutdown_because("admin endpoint"));
            println!("at once: {:?}", atexit::shutdown_request().cause());
            let cause = block_on(atexit::shutdown_request());
            let waited = ASKED.get().unwrap().elapsed();
            println!("{cause:?} after the delay: {}", waited >= DELAY);
        })
        .stdout("at once: None\nProgram(\"admin endpoint\") after the delay: true\n")
        .code(0),
        // The program exits (status 0) before it saw the request: the exit
        // ends by the signal all the same.
        Scenario::new("an_exit_during_the_delay_ends_by_the_signal", || {
            request_mode(Duration::from_secs(120))
                .drain_delay(Duration::from_secs(60))
                .install()
                .unwrap();
            report_reason_and_sight();
            raise_now(libc::SIGTERM);
            println!("seen: {}", atexit::shutdown_request().is_requested());
        })
        .stdout("seen: false\nhandler: Some(Signal(Term)), seen false\n")
        .killed_by(libc::SIGTERM)
        .faster_than(Duration::from_secs(15)),
        Scenario::new("a_zero_drain_delay_is_no_delay", || {
            request_mode(Duration::from_secs(20))
                .drain_delay(Duration::ZERO)
                .install()
                .unwrap();
            raise_now(libc::SIGTERM);
            println!("seen: {}", atexit::shutdown_request().is_requested());
        })
        .stdout("seen: true\n")
        .killed_by(libc::SIGTERM),
        // A delay no shorter than the drain timeout: the program never
        // drains; the drain timeout shows the request and runs the handlers.
        Scenario::new("a_drain_delay_past_the_drain_timeout", || {
            const GRACE: Duration = Duration::from_millis(600);
            request_mode(GRACE)
                .drain_delay(Duration::from_secs(3600))
                .install()
                .unwrap();
            report_reason_and_sight();
            raise_now(libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(100));
            println!("at 100 ms: {}", atexit::shutdown_request().is_requested());
            std::thread::sleep(Duration::from_secs(60));
        })
        .stdout("at 100 ms: false\nhandler: Some(Signal(Term)), seen true\n")
        .stderr(
            "atexit: the shutdown grace of 600ms after SIGTERM passed before the program \
             exited: the exit handlers run now\n",
        )
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        a_second_signal_during_the_delay(
            "a_second_signal_during_the_delay_ends_the_drain",
            Duration::from_secs(60),
            Duration::from_secs(120),
        ),
        a_second_signal_during_the_delay(
            "a_second_signal_ends_an_endless_delay",
            Duration::MAX,
            Duration::MAX,
        ),
        // Installed again without a delay (a library's `catch_signals`):
        // the delay stays, as the drain timeout does.
        Scenario::new("a_plain_install_keeps_the_drain_delay", || {
            request_mode(Duration::from_secs(20))
                .drain_delay(Duration::from_secs(60))
                .install()
                .unwrap();
            atexit::catch_signals().unwrap();
            raise_now(libc::SIGTERM);
            println!("seen: {}", atexit::shutdown_request().is_requested());
        })
        .stdout("seen: false\n")
        .killed_by(libc::SIGTERM),
    ]
}

/// A handler that takes 700 ms.
fn slow_flush() {
    std::thread::sleep(Duration::from_millis(700));
    println!("flushed");
}

const STILL_RUNNING: &str =
    "atexit: still running `scenarios::shutdown_requests::slow_flush` after 200ms\n";

fn still_running_scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("a_slow_handler_is_reported_while_it_runs", || {
            atexit::set_still_running_report(Some(Duration::from_millis(200)));
            atexit::register(|| println!("quick"));
            atexit::register(slow_flush);
        })
        .stdout("flushed\nquick\n")
        .stderr(STILL_RUNNING),
        // Written without Rust's stderr lock, which a thread holds for good.
        Scenario::new("the_report_does_not_wait_for_a_held_stderr_lock", || {
            atexit::set_still_running_report(Some(Duration::from_millis(200)));
            atexit::register(slow_flush);
            crate::scenario::hold_stderr_for_good();
        })
        .stdout("flushed\n")
        .stderr(STILL_RUNNING)
        .hang_after(Duration::from_secs(20)),
        // Said once per handler, however long it runs; a quick one never.
        Scenario::new("each_slow_handler_is_reported_once", || {
            atexit::set_still_running_report(Some(Duration::from_millis(200)));
            atexit::register(slow_flush);
            atexit::register(|| std::thread::sleep(Duration::from_millis(20)));
            atexit::register(slow_flush);
        })
        .stdout("flushed\nflushed\n")
        .stderr(format!("{STILL_RUNNING}{STILL_RUNNING}")),
        Scenario::new("the_report_turned_off_says_nothing", || {
            atexit::set_still_running_report(None);
            atexit::register(slow_flush);
        })
        .stdout("flushed\n"),
        Scenario::new(
            "a_zero_interval_reports_a_handler_at_the_first_look",
            || {
                atexit::set_still_running_report(Some(Duration::ZERO));
                atexit::register(slow_flush);
            },
        )
        .stdout("flushed\n")
        .stderr("atexit: still running `scenarios::shutdown_requests::slow_flush` after 0ns\n"),
        Scenario::new("a_huge_interval_never_reports", || {
            atexit::set_still_running_report(Some(Duration::MAX));
            atexit::register(slow_flush);
        })
        .stdout("flushed\n"),
        // On by default, after 5 s: what a service's operator needs to see
        // before the supervisor's SIGKILL.
        Scenario::new(
            "a_handler_still_running_after_5_s_is_reported_by_default",
            || {
                atexit::register(|| {
                    std::thread::sleep(Duration::from_millis(6500));
                    println!("done");
                });
            },
        )
        .stdout("done\n")
        .stderr_has(&["atexit: still running `", "` after 5s\n"])
        .hang_after(Duration::from_secs(30)),
    ]
}

/// A minimal executor: polls `future` on this thread, parking in between.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

pub fn all() -> Vec<Scenario> {
    let mut all = program_request_scenarios();
    all.extend(drain_delay_scenarios());
    all.extend(still_running_scenarios());
    all
}
