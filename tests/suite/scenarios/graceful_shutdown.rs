//! Services: graceful-shutdown mode ([`CatchSignals::graceful_shutdown`]). The first
//! signal asks for a shutdown and wakes the waiters; the program drains and
//! exits; the handlers run; the process still ends by the signal. The grace
//! and a second signal bound the drain; a signal during the handlers forces
//! the end.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use atexit::{Signal, SignalEnding};

use crate::scenario::{kill_self_after, Drive, Scenario, Step};
use crate::service_programs::{
    a_handler_signals_its_own_exit, drain_for_ever, report_reason, request_mode,
};

/// Waits for the request (sent by this process after 50 ms), then drains for
/// 200 ms, saying so.
fn requested_then_drained() {
    kill_self_after(50, libc::SIGTERM);
    let signal = atexit::shutdown_request().wait();
    println!("requested by {signal}");
    std::thread::sleep(Duration::from_millis(200));
    println!("drained");
}

const DRAINED: &str = "requested by SIGTERM\ndrained\n";

/// Makes `slow_fini` slow: a scenario's C runtime exit that goes on after
/// the handlers (a C++ static destructor, a slow flush).
static SLOW_FINI: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn slow_fini() {
    if SLOW_FINI.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(800));
    }
}

/// Runs after the C runtime's `atexit` callbacks, this crate's among them.
#[used]
#[link_section = ".fini_array"]
static SLOW_FINI_ENTRY: extern "C" fn() = slow_fini;

/// The home of "a second signal ends the drain": a drain of a minute with a
/// grace of a minute, the request by `first` and, once the program drains,
/// `second`: the handlers run at once (the items in progress are cut short),
/// nothing is said about the grace, and the process dies by `first`, the
/// signal `exit_reason` names. The example programs' tests (`tests/thread_pool.rs`,
/// `tcp_server.rs` and `axum_server.rs` in `examples/real-world/tests/`) check
/// what each program does with it: work cut short, requests in hand dropped.
fn second_signal_ends_the_drain(name: &str, first: Signal, second: Signal) -> Scenario {
    let (first_n, second_n) = (first.number(), second.number());
    Scenario::new(name, || {
        request_mode(Duration::from_secs(60)).install().unwrap();
        report_reason();
        println!("ready");
        let signal = atexit::shutdown_request().wait();
        println!("draining after {signal}");
        std::thread::sleep(Duration::from_secs(60));
    })
    .drive(Drive::Steps(vec![
        Step::WaitFor("ready"),
        Step::Signal(first_n),
        Step::WaitFor(leak(format!("draining after {first}"))),
        Step::Signal(second_n),
    ]))
    .stdout(format!(
        "ready\ndraining after {first}\nhandler: Some(Signal({first:?}))\n"
    ))
    .stderr(format!(
        "atexit: {second} during the shutdown asked for by {first} ends the drain: \
         the exit handlers run now\n"
    ))
    // Ends by the signal that asked, which `exit_reason` named.
    .killed_by(first_n)
    .hang_after(Duration::from_secs(20))
    .faster_than(Duration::from_secs(15))
}

/// When [`grace_ends_the_drain`]'s program raised its signal.
static SIGNALLED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The home of "the grace ends a drain that never finishes": a grace of
/// 300 ms after `signal`, and a drain that never ends: the handlers run once
/// the grace has passed, not before, and the process dies by the signal.
fn grace_ends_the_drain(name: &str, signal: Signal) -> Scenario {
    let number = signal.number();
    Scenario::new(name, move || {
        const GRACE: Duration = Duration::from_millis(300);
        request_mode(GRACE).install().unwrap();
        atexit::register(|| {
            let waited = SIGNALLED.get().expect("signalled").elapsed();
            println!(
                "handler: {:?}, after the grace: {}",
                atexit::exit_reason(),
                waited >= GRACE
            );
        });
        SIGNALLED.set(std::time::Instant::now()).unwrap();
        // SAFETY: signalling this thread; the handler runs before `raise` returns.
        unsafe { libc::raise(number) };
        atexit::shutdown_request().wait();
        drain_for_ever();
    })
    .stdout(format!(
        "draining for ever\nhandler: Some(Signal({signal:?})), after the grace: true\n"
    ))
    .stderr(format!(
        "atexit: the shutdown grace of 300ms after {signal} passed before the program \
         exited: the exit handlers run now\n"
    ))
    .killed_by(number)
    .hang_after(Duration::from_secs(20))
}

/// A line for a [`Step::WaitFor`], made once per scenario.
fn leak(line: String) -> &'static str {
    Box::leak(line.into_boxed_str())
}

/// A signal handler that does nothing, as another library's would.
extern "C" fn ignore_signal(_: libc::c_int) {}

/// A minimal executor: polls `future` on this thread, parking in between.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("main_drains_returns_and_dies_by_the_signal", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            requested_then_drained();
        })
        .stdout(format!("{DRAINED}handler: Some(Signal(Term))\n"))
        .killed_by(libc::SIGTERM),
        Scenario::new("exit_code_ending_after_the_drain", || {
            request_mode(Duration::from_secs(20))
                .ending(SignalEnding::ExitCode)
                .install()
                .unwrap();
            report_reason();
            requested_then_drained();
        })
        .stdout(format!("{DRAINED}handler: Some(Signal(Term))\n"))
        .code(128 + libc::SIGTERM),
        Scenario::new("atexit_exit_0_after_the_drain", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            requested_then_drained();
            atexit::exit(0);
        })
        .stdout(format!("{DRAINED}handler: Some(Signal(Term))\n"))
        .killed_by(libc::SIGTERM),
        Scenario::new("a_failure_status_after_the_drain_is_kept", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            requested_then_drained();
            std::process::exit(3);
        })
        .stdout(format!("{DRAINED}handler: Some(Exit(Some(3)))\n"))
        .code(3),
        Scenario::new("set_exit_code_wins_after_the_drain", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            atexit::register(|| atexit::set_exit_code(42));
            requested_then_drained();
        })
        .stdout(DRAINED)
        .code(42),
        Scenario::new("a_panic_in_main_after_the_request_stays_a_panic", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            requested_then_drained();
            panic!("drain failed");
        })
        .stdout(format!("{DRAINED}handler: Some(Panic)\n"))
        .stderr_has(&["drain failed"])
        .code(101),
        Scenario::new("the_future_wakes_every_waiter", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            let request = atexit::shutdown_request();
            let waiters: Vec<_> = (0..50)
                .map(|_| {
                    let request = request.clone();
                    std::thread::spawn(move || block_on(request))
                })
                .collect();
            // Some polled already, some not yet: both must end.
            kill_self_after(20, libc::SIGTERM);
            let woken = waiters
                .into_iter()
                .map(|waiter| waiter.join().unwrap())
                .filter(|&signal| signal == Signal::Term)
                .count();
            println!("{woken} woken");
            // Ready again at once, however often it is awaited.
            println!("{}", block_on(request));
        })
        .stdout("50 woken\nSIGTERM\n")
        .killed_by(libc::SIGTERM),
        Scenario::new("no_request_no_wait", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            let request = atexit::shutdown_request();
            println!(
                "{:?} {:?}",
                request.signal(),
                request.wait_timeout(Duration::from_millis(20))
            );
            println!("{:?}", request.wait_timeout(Duration::ZERO));
        })
        .stdout("None None\nNone\n"),
        grace_ends_the_drain("the_grace_ends_a_drain_that_never_finishes", Signal::Term),
        grace_ends_the_drain(
            "the_grace_after_sigint_ends_a_drain_that_never_finishes",
            Signal::Int,
        ),
        Scenario::new("a_zero_grace_runs_the_handlers_at_once", || {
            request_mode(Duration::ZERO).install().unwrap();
            atexit::register(|| println!("handler"));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(60));
        })
        .stdout("handler\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        Scenario::new("no_grace_bound_waits_for_main", || {
            request_mode(Duration::MAX).install().unwrap();
            report_reason();
            kill_self_after(50, libc::SIGTERM);
            atexit::shutdown_request().wait();
            std::thread::sleep(Duration::from_millis(500));
            println!("drained");
        })
        .stdout("drained\nhandler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM),
        second_signal_ends_the_drain("a_second_signal_ends_the_drain", Signal::Term, Signal::Int),
        second_signal_ends_the_drain(
            "a_second_signal_after_sigint_ends_the_drain",
            Signal::Int,
            Signal::Term,
        ),
        second_signal_ends_the_drain(
            "the_same_signal_again_ends_the_drain",
            Signal::Int,
            Signal::Int,
        ),
        Scenario::new("a_signal_during_the_handlers_forces_the_end", || {
            request_mode(Duration::from_secs(60)).install().unwrap();
            atexit::register(|| println!("never: the forced end skips it"));
            atexit::register(|| {
                println!("slow handler starts");
                std::thread::sleep(Duration::from_secs(60));
            });
            kill_self_after(50, libc::SIGTERM);
            atexit::shutdown_request().wait();
        })
        .drive(Drive::Steps(vec![
            Step::WaitFor("slow handler starts"),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("slow handler starts\n")
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // `main` returned before any signal; the first one comes while the
        // handlers run: they go on (it is no second signal), and the exit
        // now says why it ends.
        Scenario::new(
            "a_first_signal_during_a_normal_exit_lets_it_finish_by_it",
            || {
                request_mode(Duration::from_secs(60)).install().unwrap();
                a_handler_signals_its_own_exit(false);
            },
        )
        .stdout(
            "slow handler starts: Some(Exit(Some(0)))\nslow handler ends\n\
             handler: Some(Signal(Term))\n",
        )
        .killed_by(libc::SIGTERM),
        Scenario::new("without_request_mode_a_signal_ends_the_process", || {
            atexit::CatchSignals::new()
                .only([Signal::Term])
                .install()
                .unwrap();
            atexit::register(|| println!("handler"));
            kill_self_after(50, libc::SIGTERM);
            let requested = atexit::shutdown_request().wait_timeout(Duration::from_secs(30));
            println!("never: {requested:?}");
        })
        .stdout("handler\n")
        .killed_by(libc::SIGTERM),
        Scenario::new("a_forked_child_forgets_the_request", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            kill_self_after(0, libc::SIGTERM);
            atexit::shutdown_request().wait();
            // SAFETY: the child only prints and exits through atexit.
            match unsafe { libc::fork() } {
                0 => {
                    atexit::register(|| println!("child handler"));
                    println!("child sees {:?}", atexit::shutdown_request().signal());
                    atexit::exit(0);
                }
                child => {
                    let mut status = 0;
                    // SAFETY: waiting for our own child.
                    unsafe { libc::waitpid(child, &mut status, 0) };
                    println!("child exited {}", libc::WEXITSTATUS(status));
                }
            }
        })
        .stdout("child sees None\nchild handler\nchild exited 0\nhandler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM),
        // Another thread exits with status 0 once the signal handler has
        // noted the request, whether or not the watcher thread has woken
        // yet (a `ctrlc` handler's `exit(0)`, a runtime's own signal
        // stream): the exit ends by the signal.
        Scenario::new("an_exit_0_after_the_signal_ends_by_it", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            std::thread::spawn(|| {
                while !atexit::shutdown_request().is_requested() {
                    std::hint::spin_loop();
                }
                std::process::exit(0);
            });
            kill_self_after(10, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM)
        .drive(Drive::Repeat(10)),
        Scenario::new(
            "a_plain_install_after_the_request_keeps_the_second_signal",
            || {
                request_mode(Duration::from_secs(60)).install().unwrap();
                report_reason();
                println!("ready");
                atexit::shutdown_request().wait();
                // A library's own `catch_signals()`, during the drain.
                atexit::CatchSignals::new()
                    .only([Signal::Term, Signal::Int])
                    .install()
                    .unwrap();
                println!("draining");
                std::thread::sleep(Duration::from_secs(60));
            },
        )
        .drive(Drive::Steps(vec![
            Step::WaitFor("ready"),
            Step::Signal(libc::SIGTERM),
            Step::WaitFor("draining"),
            Step::Signal(libc::SIGTERM),
        ]))
        .stdout("ready\ndraining\nhandler: Some(Signal(Term))\n")
        .stderr_has(&["atexit: SIGTERM during the shutdown asked for by SIGTERM ends the drain"])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        Scenario::new("a_later_plain_sigaction_is_told_and_not_reported", || {
            atexit::CatchSignals::new()
                .only([Signal::Term, Signal::Int])
                .install()
                .unwrap();
            println!("{:?}", atexit::replaced_signals());
            // SAFETY: installs a handler that does nothing, as ctrlc would.
            unsafe {
                libc::signal(
                    libc::SIGINT,
                    ignore_signal as *const () as libc::sighandler_t,
                )
            };
            println!("{:?}", atexit::replaced_signals());
        })
        // The program was told: the exit does not say it again.
        .stdout("[]\n[Int]\n"),
        Scenario::new("a_later_plain_sigaction_is_reported_at_exit", || {
            atexit::CatchSignals::new()
                .only([Signal::Term, Signal::Int])
                .install()
                .unwrap();
            // SAFETY: as above.
            unsafe {
                libc::signal(
                    libc::SIGINT,
                    ignore_signal as *const () as libc::sighandler_t,
                )
            };
        })
        .stderr_has(&["atexit: SIGINT no longer runs the exit handlers"]),
        Scenario::new("a_forked_child_resetting_a_signal_is_not_reported", || {
            atexit::CatchSignals::new()
                .only([Signal::Term])
                .install()
                .unwrap();
            // SAFETY: the child resets SIGTERM (as pre-fork workers do),
            // prints and exits through atexit.
            match unsafe { libc::fork() } {
                0 => {
                    unsafe { libc::signal(libc::SIGTERM, libc::SIG_DFL) };
                    println!("child: {:?}", atexit::replaced_signals());
                    atexit::exit(0);
                }
                child => {
                    let mut status = 0;
                    // SAFETY: waiting for our own child.
                    unsafe { libc::waitpid(child, &mut status, 0) };
                    println!("child exited {}", libc::WEXITSTATUS(status));
                }
            }
        })
        .stdout("child: []\nchild exited 0\n"),
        Scenario::new(
            "a_panicking_waker_stops_neither_the_others_nor_the_grace",
            || {
                struct Panics;
                impl Wake for Panics {
                    fn wake(self: Arc<Self>) {
                        panic!("a waker that panics");
                    }
                }
                request_mode(Duration::from_millis(300)).install().unwrap();
                report_reason();
                let waker = Waker::from(Arc::new(Panics));
                let mut first = atexit::shutdown_request();
                let polled = pin!(&mut first).poll(&mut Context::from_waker(&waker));
                assert!(polled.is_pending());
                let second = std::thread::spawn(|| block_on(atexit::shutdown_request()));
                kill_self_after(50, libc::SIGTERM);
                println!("woken by {}", second.join().unwrap());
                std::thread::sleep(Duration::from_secs(60));
            },
        )
        .stdout("woken by SIGTERM\nhandler: Some(Signal(Term))\n")
        .stderr_has(&[
            "a waker that panics",
            "atexit: a waker of a ShutdownRequest panicked",
            "atexit: the shutdown grace of 300ms after SIGTERM passed",
        ])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        Scenario::new("request_shutdown_without_a_signal", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            let waiter = std::thread::spawn(|| atexit::shutdown_request().wait());
            println!("{}", atexit::request_shutdown(Signal::Term));
            println!("{}", atexit::request_shutdown(Signal::Int));
            println!("woken by {}", waiter.join().unwrap());
        })
        .stdout("true\nfalse\nwoken by SIGTERM\nhandler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM),
        Scenario::new(
            "std_exit_0_in_a_handler_after_the_request_ends_by_the_signal",
            || {
                request_mode(Duration::from_secs(20)).install().unwrap();
                atexit::register(|| std::process::exit(0));
                report_reason();
                kill_self_after(10, libc::SIGTERM);
                atexit::shutdown_request().wait();
                atexit::exit(0);
            },
        )
        .stdout("handler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM),
        // A child forked by another thread while the parent exits does not
        // inherit that exit: in graceful-shutdown mode its grace runs.
        Scenario::new(
            "a_child_forked_during_the_parents_exit_has_its_own_grace",
            || {
                static DONE: std::sync::atomic::AtomicBool =
                    std::sync::atomic::AtomicBool::new(false);
                atexit::register(|| {
                    for _ in 0..1000 {
                        if DONE.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                });
                std::thread::spawn(|| {
                    while !atexit::is_exiting() {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    // SAFETY: the child only installs, waits and exits through
                    // atexit's own paths.
                    match unsafe { libc::fork() } {
                        0 => {
                            request_mode(Duration::from_millis(300)).install().unwrap();
                            atexit::register(|| println!("child handler"));
                            kill_self_after(10, libc::SIGTERM);
                            atexit::shutdown_request().wait();
                            // A drain that outlasts the grace; ended here
                            // if the grace does not end it (the test then
                            // fails rather than hangs).
                            std::thread::sleep(Duration::from_secs(5));
                            atexit::exit_now(9);
                        }
                        child => {
                            let mut status = 0;
                            // SAFETY: waiting for our own child.
                            unsafe { libc::waitpid(child, &mut status, 0) };
                            if libc::WIFSIGNALED(status) {
                                println!("child killed by {}", libc::WTERMSIG(status));
                            } else {
                                println!("child exited {}", libc::WEXITSTATUS(status));
                            }
                            DONE.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            },
        )
        .stdout(format!(
            "child handler\nchild killed by {}\n",
            libc::SIGTERM
        ))
        .stderr_has(&["atexit: the shutdown grace of 300ms after SIGTERM passed"])
        .hang_after(Duration::from_secs(30)),
        // The program sees the signal's request and asks too (as a Tokio
        // program whose own `ctrl_c()` fired would): the request was made
        // already, and the signal is still the first, not a second one.
        Scenario::new(
            "request_shutdown_after_the_signal_asked_is_no_second_signal",
            || {
                request_mode(Duration::from_secs(20)).install().unwrap();
                report_reason();
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
                while !atexit::shutdown_request().is_requested() {
                    std::hint::spin_loop();
                }
                println!("asked again: {}", atexit::request_shutdown(Signal::Term));
                std::thread::sleep(Duration::from_millis(300));
                println!("drained");
            },
        )
        .stdout("asked again: false\ndrained\nhandler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM)
        .drive(Drive::Repeat(5)),
        // The handlers are done and the C runtime's exit goes on (a slow
        // destructor here) when the first signal comes: it changes nothing,
        // even when the deadline then ends the process.
        Scenario::new("a_signal_after_the_handlers_changes_nothing", || {
            SLOW_FINI.store(true, std::sync::atomic::Ordering::SeqCst);
            atexit::set_deadline(Some(Duration::from_millis(400)));
            request_mode(Duration::from_secs(20)).install().unwrap();
            atexit::register(|| kill_self_after(100, libc::SIGTERM));
        })
        .stderr_has(&[
            "atexit: exit deadline of 400ms passed",
            "ends with status 0",
        ])
        .hang_after(Duration::from_secs(20)),
        // A request made without a signal: the first signal that comes
        // is the second request, and ends the drain.
        Scenario::new("a_signal_after_request_shutdown_ends_the_drain", || {
            request_mode(Duration::from_secs(60)).install().unwrap();
            report_reason();
            println!("asked: {}", atexit::request_shutdown(Signal::Term));
            println!("ready");
            std::thread::sleep(Duration::from_secs(60));
        })
        .drive(Drive::Steps(vec![
            Step::WaitFor("ready"),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("asked: true\nready\nhandler: Some(Signal(Term))\n")
        .stderr_has(&["atexit: SIGINT during the shutdown asked for by SIGTERM ends the drain"])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // After `request_shutdown`, the first signal that comes while the
        // handlers run is no first request: it forces the end.
        Scenario::new(
            "a_signal_during_the_handlers_after_request_shutdown_forces",
            || {
                request_mode(Duration::from_secs(60)).install().unwrap();
                atexit::register(|| {
                    println!("slow handler starts");
                    std::thread::sleep(Duration::from_secs(60));
                });
                atexit::request_shutdown(Signal::Term);
            },
        )
        .drive(Drive::Steps(vec![
            Step::WaitFor("slow handler starts"),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("slow handler starts\n")
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // The program sees the request at once and installs again: the
        // request keeps the grace in force when its signal came.
        Scenario::new("an_install_right_after_the_signal_keeps_its_grace", || {
            request_mode(Duration::from_millis(300)).install().unwrap();
            report_reason();
            // SAFETY: signalling our own process; the handler runs before
            // `raise` returns.
            unsafe { libc::raise(libc::SIGTERM) };
            request_mode(Duration::from_secs(30)).install().unwrap();
            drain_for_ever();
        })
        .stdout("draining for ever\nhandler: Some(Signal(Term))\n")
        .stderr_has(&["atexit: the shutdown grace of 300ms after SIGTERM passed"])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        // A forked child has not installed its parent's mode: its own
        // `request_shutdown` starts no grace.
        Scenario::new(
            "request_shutdown_in_a_forked_child_starts_no_inherited_grace",
            || {
                request_mode(Duration::from_millis(100)).install().unwrap();
                // SAFETY: the child only asks, sleeps and exits through atexit.
                match unsafe { libc::fork() } {
                    0 => {
                        atexit::register(|| println!("child handler"));
                        atexit::request_shutdown(Signal::Term);
                        std::thread::sleep(Duration::from_millis(500));
                        println!("child drained");
                    }
                    child => {
                        let mut status = 0;
                        // SAFETY: waiting for our own child.
                        unsafe { libc::waitpid(child, &mut status, 0) };
                        println!("child killed by {}", libc::WTERMSIG(status));
                    }
                }
            },
        )
        .stdout(format!(
            "child drained\nchild handler\nchild killed by {}\n",
            libc::SIGTERM
        )),
        // Issue 20: three signals in a row (Ctrl+C pressed three times).
        // The second ends the drain; the third came before the exit had
        // started, went to the watcher, busy running the handlers, and
        // was swallowed: the process waited for the slow handler (a
        // fourth was needed). Once a signal has ended the drain, the next
        // forces the end.
        Scenario::new("a_third_signal_right_after_the_second_forces", || {
            request_mode(Duration::from_secs(60)).install().unwrap();
            atexit::register(|| {
                eprintln!("slow handler starts");
                std::thread::sleep(Duration::from_secs(60));
            });
            // SAFETY: signalling this thread; each handler runs before
            // `raise` returns.
            unsafe {
                libc::raise(libc::SIGTERM); // the request
                libc::raise(libc::SIGTERM); // ends the drain
                libc::raise(libc::SIGINT); // forces the end
            }
            std::thread::sleep(Duration::from_secs(60));
        })
        .any_stderr()
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15))
        .drive(Drive::Repeat(3)),
        // The same three from outside, the third while the exit runs the
        // slow handler: it forces.
        Scenario::new("three_signals_from_outside_force_the_end", || {
            slow_drain(|line| println!("{line}"))
        })
        .drive(Drive::Steps(vec![
            Step::WaitFor("ready"),
            Step::Signal(libc::SIGTERM),
            Step::WaitFor("draining"),
            Step::Signal(libc::SIGTERM),
            Step::WaitFor("slow handler starts"),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("ready\ndraining\nslow handler starts\n")
        .any_stderr()
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // The second and third sent by the parent back to back: whether
        // the exit has started when the third comes or not, it forces.
        // Which of the two is "the third" is the kernel's choice (it
        // delivers the lower number first when both are pending, and two
        // threads may run the handlers at once), so either may end it; a
        // swallowed third would leave the 60 s handler running.
        Scenario::new("signals_sent_back_to_back_force_the_end", || {
            slow_drain(|line| eprintln!("{line}"))
        })
        .drive(Drive::Steps(vec![
            Step::WaitFor("ready"),
            Step::Signal(libc::SIGTERM),
            Step::WaitFor("draining"),
            Step::Signal(libc::SIGTERM),
            Step::Signal(libc::SIGINT),
        ]))
        .stdout("ready\ndraining\n")
        .any_stderr()
        .killed_by_one_of(&[libc::SIGINT, libc::SIGTERM])
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15)),
        // After `request_shutdown`, the first signal ends the drain and the
        // second forces, even before the exit has started.
        Scenario::new("after_request_shutdown_the_second_signal_forces", || {
            request_mode(Duration::from_secs(60)).install().unwrap();
            atexit::register(|| {
                eprintln!("slow handler starts");
                std::thread::sleep(Duration::from_secs(60));
            });
            atexit::request_shutdown(Signal::Term);
            // SAFETY: signalling this thread; each handler runs before
            // `raise` returns.
            unsafe {
                libc::raise(libc::SIGINT); // ends the drain
                libc::raise(libc::SIGINT); // forces the end
            }
            std::thread::sleep(Duration::from_secs(60));
        })
        .any_stderr()
        .killed_by(libc::SIGINT)
        .hang_after(Duration::from_secs(20))
        .faster_than(Duration::from_secs(15))
        .drive(Drive::Repeat(3)),
        // Issue 20: a library's own `atexit::catch_signals()`, called after
        // the binary installed graceful-shutdown mode, switched the mode
        // off: the signal then ran the handlers at once, cutting the drain.
        // An install changes only what its builder asked for.
        Scenario::new("a_librarys_plain_catch_signals_keeps_graceful_mode", || {
            request_mode(Duration::from_secs(20)).install().unwrap();
            report_reason();
            atexit::catch_signals().unwrap(); // the library's
            requested_then_drained();
        })
        .stdout(format!("{DRAINED}handler: Some(Signal(Term))\n"))
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        // A later graceful install sets a new grace; the mode stays on.
        Scenario::new("a_later_graceful_install_sets_the_grace", || {
            request_mode(Duration::from_secs(60)).install().unwrap();
            atexit::catch_signals().unwrap();
            request_mode(Duration::from_millis(300)).install().unwrap();
            atexit::catch_signals().unwrap();
            report_reason();
            kill_self_after(50, libc::SIGTERM);
            atexit::shutdown_request().wait();
            drain_for_ever();
        })
        .stdout("draining for ever\nhandler: Some(Signal(Term))\n")
        .stderr_has(&["atexit: the shutdown grace of 300ms after SIGTERM passed"])
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        // Issue 20: the docs said `exit_reason` says `Signal` "from then
        // on" when the first signal comes during an exit's handlers; after
        // `exit(3)` the status is the program's word, and the reason keeps
        // telling it, as for a failure status after the request (the docs
        // now say so).
        Scenario::new(
            "a_first_signal_during_an_exit_3_keeps_its_reason_and_status",
            || {
                request_mode(Duration::from_secs(60)).install().unwrap();
                a_handler_signals_its_own_exit(true);
                std::process::exit(3);
            },
        )
        .stdout(
            "slow handler starts: Some(Exit(Some(3)))\n\
             slow handler ends: Some(Exit(Some(3)))\n\
             handler: Some(Exit(Some(3)))\n",
        )
        .code(3)
        .hang_after(Duration::from_secs(20)),
        // Issue 20, item 7: a C library's exit work (a libc `atexit`
        // callback registered before this crate's hook, here from a load-time
        // constructor that sorts first, and C stdio it buffered) used to be
        // skipped after a shutdown request: the death by the signal was
        // raised from inside this crate's C exit callback.
        Scenario::new(
            "the_c_runtime_exit_work_runs_after_a_shutdown_request",
            || {
                C_LIBRARY_FLUSH.store(true, std::sync::atomic::Ordering::SeqCst);
                request_mode(Duration::from_secs(20)).install().unwrap();
                atexit::register(|| println!("handler"));
                requested_then_drained();
            },
        )
        .stdout(format!("{DRAINED}handler\n{C_FLUSHED}"))
        .killed_by(libc::SIGTERM),
        Scenario::new(
            "the_c_runtime_exit_work_runs_after_a_shutdown_request_and_process_exit",
            || {
                C_LIBRARY_FLUSH.store(true, std::sync::atomic::Ordering::SeqCst);
                request_mode(Duration::from_secs(20)).install().unwrap();
                atexit::register(|| println!("handler"));
                requested_then_drained();
                std::process::exit(0);
            },
        )
        .stdout(format!("{DRAINED}handler\n{C_FLUSHED}"))
        .killed_by(libc::SIGTERM),
        // The C runtime's exit work gets its second, no more: a C callback
        // that hangs does not keep the process from dying by the signal.
        Scenario::new("a_hung_c_exit_callback_after_a_shutdown_request", || {
            C_LIBRARY_HANGS.store(true, std::sync::atomic::Ordering::SeqCst);
            request_mode(Duration::from_secs(20)).install().unwrap();
            atexit::register(|| println!("handler"));
            requested_then_drained();
        })
        .stdout(format!("{DRAINED}handler\n"))
        .stderr_has(&["had not ended 1s after its exit handlers", "by SIGTERM"])
        .killed_by(libc::SIGTERM)
        .faster_than(Duration::from_secs(5))
        .hang_after(Duration::from_secs(20)),
        // The C runtime's exit work blocked on a stdout nobody reads (the
        // final flush of the C streams): the end watchdog still ends the
        // process by the signal.
        Scenario::new("the_c_runtime_exit_work_on_a_full_stdout", || {
            C_LIBRARY_FLUSH.store(true, std::sync::atomic::Ordering::SeqCst);
            request_mode(Duration::from_secs(20)).install().unwrap();
            atexit::request_shutdown(Signal::Term);
            crate::scenario::fill_pipe(1);
        })
        .streams(crate::scenario::Streams::StdoutUnread)
        .any_stdout()
        .stderr_has(&["had not ended 1s after its exit handlers", "by SIGTERM"])
        .killed_by(libc::SIGTERM)
        .faster_than(Duration::from_secs(6))
        .hang_after(Duration::from_secs(20)),
        // With the standard streams closed, nothing changes.
        Scenario::new("the_c_runtime_exit_work_with_closed_stdio", || {
            C_LIBRARY_FLUSH.store(true, std::sync::atomic::Ordering::SeqCst);
            request_mode(Duration::from_secs(20)).install().unwrap();
            atexit::request_shutdown(Signal::Term);
        })
        .streams(crate::scenario::Streams::Closed)
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(20)),
        // The same for a status a handler chose after a return from `main`.
        Scenario::new("the_c_runtime_exit_work_runs_after_set_exit_code", || {
            C_LIBRARY_FLUSH.store(true, std::sync::atomic::Ordering::SeqCst);
            atexit::register(|| atexit::set_exit_code(42));
        })
        .stdout(C_FLUSHED)
        .code(42),
    ]
}

/// Makes [`c_library_flush`] do its work: only in the scenarios that check it.
static C_LIBRARY_FLUSH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`c_library_flush`] hang.
static C_LIBRARY_HANGS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// What [`c_library_flush`] leaves in the C runtime's stdout buffer.
const C_FLUSHED: &str = "C library's exit work ran\n";

/// A C library's exit callback: it writes through C stdio (a pipe: fully
/// buffered, so the text is out only when the C streams are flushed).
extern "C" fn c_library_flush() {
    if C_LIBRARY_HANGS.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_secs(3600));
    }
    if C_LIBRARY_FLUSH.load(std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: a NUL-terminated format with no conversions.
        unsafe { libc::printf(c"C library's exit work ran\n".as_ptr()) };
    }
}

/// A C library's load-time constructor that registers its exit callback
/// before this crate's hook (its section sorts before the plain
/// `.init_array` the crate's constructor is in), as a C library linked
/// before it does.
extern "C" fn c_library_constructor() {
    // SAFETY: registers an `extern "C" fn()` that never unwinds.
    unsafe { libc::atexit(c_library_flush) };
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    link_section = ".init_array.00099"
)]
static C_LIBRARY_CONSTRUCTOR: extern "C" fn() = c_library_constructor;

/// Request mode with a 60 s grace and a 60 s handler that says when it
/// starts through `announce`; prints `ready`, waits for the request, prints
/// `draining` and drains for 60 s: only a forced end is fast.
fn slow_drain(announce: fn(&str)) {
    request_mode(Duration::from_secs(60)).install().unwrap();
    atexit::register(move || {
        announce("slow handler starts");
        std::thread::sleep(Duration::from_secs(60));
    });
    println!("ready");
    atexit::shutdown_request().wait();
    println!("draining");
    std::thread::sleep(Duration::from_secs(60));
}
