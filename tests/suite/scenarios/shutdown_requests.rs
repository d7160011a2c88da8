//! Services, beyond the signal's request (`graceful_shutdown.rs` has that):
//! the program's own request with a reason (`request_shutdown_because`), the
//! drain delay (`CatchSignals::drain_delay`), and what an operator sees
//! while a shutdown runs (stderr's "still running" line).

use std::time::{Duration, Instant};

use atexit::{CatchSignals, ShutdownCause, Signal};

use crate::scenario::{kill_self_after, Drive, Scenario, Step};
use crate::service_programs::{drain_for_ever, report_reason, request_mode};

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
            drain_for_ever();
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
        // Made while the handlers of a plain exit run: from then on the
        // exit is the request's, as with a first signal (the status stays).
        Scenario::new(
            "a_program_request_during_the_handlers_is_told_from_then_on",
            || {
                request_mode(Duration::from_secs(20)).install().unwrap();
                report_reason();
                atexit::register(|| {
                    println!("before: {:?}", atexit::exit_reason());
                    assert!(atexit::request_shutdown_because("late"));
                    println!("cause: {:?}", atexit::shutdown_request().cause());
                });
            },
        )
        .stdout(
            "before: Some(Exit(Some(0)))\ncause: Some(Program(\"late\"))\n\
             handler: Some(ShutdownRequested(\"late\"))\n",
        )
        .code(0),
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

/// The socket systemd would listen on, bound by the program before it
/// installs, at `address` (a path, or `@name`), set as `NOTIFY_SOCKET`.
fn listen_as_systemd(address: &str) -> std::os::unix::net::UnixDatagram {
    use std::os::unix::net::UnixDatagram;
    let socket = match address.strip_prefix('@') {
        #[cfg(target_os = "linux")]
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name).unwrap();
            UnixDatagram::bind_addr(&address).unwrap()
        }
        _ => {
            let _ = std::fs::remove_file(address);
            UnixDatagram::bind(address).unwrap()
        }
    };
    socket.set_nonblocking(true).unwrap();
    std::env::set_var("NOTIFY_SOCKET", address);
    socket
}

/// Every datagram waiting on `socket`, each as `[text]`.
fn received(socket: &std::os::unix::net::UnixDatagram) -> String {
    let mut all = String::new();
    let mut buffer = [0u8; 512];
    while let Ok(length) = socket.recv(&mut buffer) {
        all.push_str(&format!("[{}]", String::from_utf8_lossy(&buffer[..length])));
    }
    all
}

/// The next datagram on `socket`, waited for at most 10 s, as `[text]`:
/// the request is seen at once (the signal handler notes it), and told to
/// systemd a moment later, by the signal watcher.
fn next_datagram(socket: &std::os::unix::net::UnixDatagram) -> String {
    socket.set_nonblocking(false).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buffer = [0u8; 512];
    let got = match socket.recv(&mut buffer) {
        Ok(length) => format!("[{}]", String::from_utf8_lossy(&buffer[..length])),
        Err(error) => format!("nothing: {error}"),
    };
    socket.set_nonblocking(true).unwrap();
    got
}

/// A notify socket's path for this process.
fn socket_path() -> String {
    std::env::temp_dir()
        .join(format!("atexit-notify-{}", std::process::id()))
        .to_str()
        .unwrap()
        .to_string()
}

/// The home of "systemd is told the stop": the program listens on
/// `address` as systemd would, drains after SIGTERM, and its handler prints
/// what the socket got: `STOPPING=1` with the time the rest needs at the
/// request (drain timeout 20 s + deadline 5 s + 1 s), and the deadline + 1 s
/// when the handlers start.
fn systemd_is_told_the_stop(name: &str, abstract_name: bool) -> Scenario {
    Scenario::new(name, move || {
        let address = if abstract_name {
            format!("@atexit-notify-{}", std::process::id())
        } else {
            socket_path()
        };
        let socket = listen_as_systemd(&address);
        atexit::set_deadline(Some(Duration::from_secs(5)));
        request_mode(Duration::from_secs(20))
            .notify_systemd(true)
            .install()
            .unwrap();
        raise_now(libc::SIGTERM);
        atexit::shutdown_request().wait();
        println!("at the request: {}", next_datagram(&socket));
        atexit::register(move || {
            println!("when the handlers start: {}", received(&socket));
            if !abstract_name {
                let _ = std::fs::remove_file(&address);
            }
        });
    })
    .stdout(
        "at the request: [STOPPING=1\nEXTEND_TIMEOUT_USEC=26000000\n]\n\
         when the handlers start: [EXTEND_TIMEOUT_USEC=6000000\n]\n",
    )
    .killed_by(libc::SIGTERM)
}

fn systemd_scenarios() -> Vec<Scenario> {
    vec![
        systemd_is_told_the_stop("systemd_is_told_the_stop", false),
        #[cfg(target_os = "linux")]
        systemd_is_told_the_stop("systemd_is_told_the_stop_on_an_abstract_socket", true),
        // No bound to promise: `STOPPING=1` alone, once.
        Scenario::new("without_a_deadline_systemd_is_told_only_stopping", || {
            let address = socket_path();
            let socket = listen_as_systemd(&address);
            request_mode(Duration::from_secs(20))
                .notify_systemd(true)
                .install()
                .unwrap();
            raise_now(libc::SIGTERM);
            atexit::shutdown_request().wait();
            let first = next_datagram(&socket);
            atexit::register(move || {
                println!("got: {first}{}", received(&socket));
                let _ = std::fs::remove_file(&address);
            });
        })
        .stdout("got: [STOPPING=1\n]\n")
        .killed_by(libc::SIGTERM),
        // A plain exit is a stop too.
        Scenario::new("an_exit_without_a_request_tells_systemd_it_stops", || {
            let address = socket_path();
            let socket = listen_as_systemd(&address);
            atexit::set_deadline(Some(Duration::from_millis(1500)));
            CatchSignals::new().notify_systemd(true).install().unwrap();
            atexit::register(move || {
                println!("got: {}", received(&socket));
                let _ = std::fs::remove_file(&address);
            });
        })
        .stdout("got: [STOPPING=1\nEXTEND_TIMEOUT_USEC=2500000\n]\n"),
        Scenario::new("systemd_is_told_nothing_unless_asked", || {
            let address = socket_path();
            let socket = listen_as_systemd(&address);
            atexit::set_deadline(Some(Duration::from_secs(5)));
            request_mode(Duration::from_secs(20)).install().unwrap();
            raise_now(libc::SIGTERM);
            atexit::shutdown_request().wait();
            // Time for the watcher to tell, had it been asked to.
            std::thread::sleep(Duration::from_millis(200));
            atexit::register(move || {
                println!("got: {:?}", received(&socket));
                let _ = std::fs::remove_file(&address);
            });
        })
        .stdout("got: \"\"\n")
        .killed_by(libc::SIGTERM),
        // Nobody listens at the address: the sends fail, silently.
        Scenario::new("a_notify_socket_nobody_listens_on_is_ignored", || {
            std::env::set_var("NOTIFY_SOCKET", "/nonexistent/atexit-notify");
            request_mode(Duration::from_secs(20))
                .notify_systemd(true)
                .install()
                .unwrap();
            raise_now(libc::SIGTERM);
            atexit::shutdown_request().wait();
            println!("drained");
        })
        .stdout("drained\n")
        .killed_by(libc::SIGTERM),
        // The listener's queue is full (a systemd that does not read): a
        // send would block; it is non-blocking, so the shutdown goes on.
        Scenario::new("a_full_notify_socket_does_not_block_the_shutdown", || {
            let address = socket_path();
            let listener = listen_as_systemd(&address);
            let filler = std::os::unix::net::UnixDatagram::unbound().unwrap();
            filler.set_nonblocking(true).unwrap();
            let mut queued = 0;
            while filler.send_to(b"FILL=1", &address).is_ok() {
                queued += 1;
            }
            assert!(queued > 0);
            atexit::set_deadline(Some(Duration::from_secs(5)));
            request_mode(Duration::from_secs(20))
                .notify_systemd(true)
                .install()
                .unwrap();
            raise_now(libc::SIGTERM);
            atexit::shutdown_request().wait();
            println!("drained");
            atexit::register(move || {
                drop(listener);
                let _ = std::fs::remove_file(&address);
            });
        })
        .stdout("drained\n")
        .killed_by(libc::SIGTERM)
        .faster_than(Duration::from_secs(4)),
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
    all.extend(systemd_scenarios());
    all
}
