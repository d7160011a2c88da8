//! Signals: a caught signal runs the handlers, then ends the process as the
//! signal would (or with `128 + n`). The named scenarios first, then the
//! matrix: every caught signal × every [`SignalCase`], and the special cells.

use std::time::Duration;

use atexit::{CatchSignals, Signal, SignalEnding};

use crate::scenario::{kill_self_after, say, signal_name, Drive, Scenario, Step};

pub fn all() -> Vec<Scenario> {
    let mut all = vec![
        Scenario::new("signal_during_a_normal_exit", || {
            atexit::catch_signals().unwrap();
            atexit::register(|| {
                println!("slow handler starts");
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
                std::thread::sleep(Duration::from_millis(300));
                println!("slow handler ends");
            });
        })
        .stdout("slow handler starts\nslow handler ends\n"),
        Scenario::new("signal_then_main_returns", || {
            atexit::CatchSignals::new()
                .ending(atexit::SignalEnding::ExitCode)
                .install()
                .unwrap();
            atexit::register(|| {
                println!("handler starts");
                std::thread::sleep(Duration::from_millis(300));
                println!("handler done");
            });
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(150));
        })
        .stdout("handler starts\nhandler done\n")
        .code(128 + libc::SIGTERM),
        Scenario::new("signal_then_main_returns_with_set_exit_code", || {
            atexit::catch_signals().unwrap();
            atexit::register(|| {
                std::thread::sleep(Duration::from_millis(300));
                atexit::set_exit_code(42);
            });
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(150));
        })
        .code(42),
        Scenario::new("signal_then_process_exit", || {
            atexit::catch_signals().unwrap();
            atexit::register(|| std::thread::sleep(Duration::from_millis(300)));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(150));
            std::process::exit(3);
        })
        .killed_by(libc::SIGTERM),
        Scenario::new("signal_takes_over_a_run_whose_handler_exits", || {
            atexit::catch_signals().unwrap();
            atexit::set_deadline(Some(Duration::from_secs(10)));
            atexit::register(|| {
                println!("handler starts");
                std::thread::sleep(Duration::from_millis(300));
                println!("handler calls atexit::exit(7)");
                atexit::exit(7);
            });
            std::thread::spawn(atexit::run_exitfuncs);
            kill_self_after(100, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler starts\nhandler calls atexit::exit(7)\n")
        .killed_by(libc::SIGTERM),
        Scenario::new("sigpipe_from_a_handler_does_not_force", || {
            use std::io::Write;
            use std::os::fd::FromRawFd;
            atexit::CatchSignals::new()
                .only([atexit::Signal::Pipe])
                .install()
                .unwrap();
            let mut fds = [0; 2];
            // SAFETY: `pipe` fills the array; the read end is closed at once.
            let mut broken = unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                std::fs::File::from_raw_fd(fds[1])
            };
            atexit::register(say("older handler still runs"));
            let mut for_handler = broken.try_clone().unwrap();
            atexit::register(move || {
                let result = for_handler.write_all(b"x");
                println!(
                    "newer handler: write {}",
                    if result.is_err() { "failed" } else { "worked" }
                );
            });
            let _ = broken.write_all(b"x");
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("newer handler: write failed\nolder handler still runs\n")
        .killed_by(libc::SIGPIPE),
        Scenario::new("sigkill_runs_nothing", || {
            atexit::register(say("must not run after SIGKILL"));
            // SAFETY: signalling our own process.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            std::thread::sleep(Duration::from_secs(10));
        })
        .killed_by(libc::SIGKILL),
        // Issue 10, item 1: with another thread holding stdout's lock for
        // good, the signal's ending used to block flushing stdout (for ever,
        // or until a deadline).
        Scenario::new("a_held_stdout_lock_does_not_stop_the_ending", || {
            atexit::catch_signals().unwrap();
            atexit::register(|| eprintln!("handler ran"));
            crate::scenario::hold_stdout_for_good();
            kill_self_after(100, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .killed_by(libc::SIGTERM)
        .stderr_has(&["handler ran"])
        .faster_than(Duration::from_secs(3))
        .hang_after(Duration::from_secs(10)),
        // Issue 10, item 5: `#[atexit::handler(catch_signals)]` makes the
        // wake-up pipe in a load-time constructor, before std reopens closed
        // standard streams: it took descriptors 0 and 1, so stdin never saw
        // EOF and a `\r` printed to stdout read as SIGPIPE.
        Scenario::new(CLOSED_STDIO, || {
            use std::io::{Read, Write};
            let data = crate::scenario::data_file();
            let mut input = Vec::new();
            let read = std::io::stdin().read_to_end(&mut input);
            crate::scenario::append(&data, &format!("stdin: {read:?}"));
            print!("\r");
            std::io::stdout().flush().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            let log = data.clone();
            atexit::register(move || {
                crate::scenario::append(&log, &format!("handler: {:?}", atexit::exit_reason()));
            });
            kill_self_after(0, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .streams(crate::scenario::Streams::Closed)
        .data_file("stdin: Ok(0)\nhandler: Some(Signal(Term))\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
        // Issue 10, item 11: a signal the program names is caught even when
        // it is ignored at start (only the default set respects `nohup`).
        Scenario::new("a_named_signal_is_caught_though_ignored", || {
            // SAFETY: sets SIGHUP's disposition to ignored, as `nohup` does.
            unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
            CatchSignals::new()
                .only([])
                .signal(Signal::Hup)
                .install()
                .unwrap();
            atexit::register(say("handler ran"));
            kill_self_after(50, libc::SIGHUP);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler ran\n")
        .killed_by(libc::SIGHUP)
        .hang_after(Duration::from_secs(10)),
        // Issue 20: a library's own `atexit::catch_signals()` after the
        // binary chose `128 + n` put the ending back to the default (death
        // by the signal). An install changes only what its builder set.
        Scenario::new("a_librarys_plain_catch_signals_keeps_the_ending", || {
            CatchSignals::new()
                .only([Signal::Term])
                .ending(SignalEnding::ExitCode)
                .install()
                .unwrap();
            atexit::catch_signals().unwrap(); // the library's
            atexit::register(say("handler ran"));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler ran\n")
        .code(128 + libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
        // Asking for the default ending by name does set it.
        Scenario::new("an_install_naming_the_ending_sets_it", || {
            CatchSignals::new()
                .only([Signal::Term])
                .ending(SignalEnding::ExitCode)
                .install()
                .unwrap();
            CatchSignals::new()
                .ending(SignalEnding::Reraise)
                .install()
                .unwrap();
            atexit::register(say("handler ran"));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler ran\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
        // Issue 20: a signal library that takes SIGTERM with `signalfd` or
        // `sigwait` blocks it in the thread mask; installed after, the
        // watcher inherits the mask, no thread runs the handler, and
        // `replaced_signals()` said nothing.
        Scenario::new("a_signal_blocked_in_every_thread_is_told", || {
            block(libc::SIGTERM);
            CatchSignals::new().only([Signal::Term]).install().unwrap();
            println!("{:?}", atexit::replaced_signals());
        })
        .stdout("[Term]\n"),
        Scenario::new(
            "a_signal_blocked_in_every_thread_is_reported_at_exit",
            || {
                block(libc::SIGTERM);
                CatchSignals::new().only([Signal::Term]).install().unwrap();
            },
        )
        .stderr_has(&[
            "atexit: SIGTERM no longer runs the exit handlers: it is blocked in every thread",
        ]),
        // A thread inside `sigwait` shows the signals it waits for as
        // unblocked (the kernel unblocks them for the wait); it takes them
        // all the same.
        Scenario::new("a_thread_in_sigwait_takes_the_signal_and_is_told", || {
            block(libc::SIGTERM);
            let (sent, got) = std::sync::mpsc::channel();
            std::thread::spawn(move || loop {
                let set = sigset(libc::SIGTERM);
                let mut number = 0;
                // SAFETY: waits for SIGTERM, blocked in every thread.
                if unsafe { libc::sigwait(&set, &mut number) } == 0 {
                    let _ = sent.send(number);
                }
            });
            CatchSignals::new().only([Signal::Term]).install().unwrap();
            atexit::register(say("handler: main returned"));
            // Inside `sigwait` or not, the answer is the same.
            std::thread::sleep(Duration::from_millis(100));
            println!("{:?}", atexit::replaced_signals());
            // SAFETY: signalling our own process.
            unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
            println!("sigwait got {}", got.recv().unwrap() == libc::SIGTERM);
        })
        .stdout("[Term]\nsigwait got true\nhandler: main returned\n")
        .hang_after(Duration::from_secs(20)),
        // A thread inside `sigwait` for another signal, with SIGTERM
        // unblocked, takes SIGTERM by the handler: its wait set is read, not
        // guessed.
        Scenario::new(
            "a_thread_in_sigwait_for_another_signal_still_takes_it",
            || {
                block(libc::SIGTERM);
                block(libc::SIGUSR1);
                std::thread::spawn(|| {
                    let term = sigset(libc::SIGTERM);
                    // SAFETY: changes this thread's mask only.
                    unsafe {
                        libc::pthread_sigmask(libc::SIG_UNBLOCK, &term, std::ptr::null_mut())
                    };
                    let usr1 = sigset(libc::SIGUSR1);
                    let mut number = 0;
                    loop {
                        // SAFETY: waits for SIGUSR1, blocked in every thread.
                        unsafe { libc::sigwait(&usr1, &mut number) };
                    }
                });
                CatchSignals::new().only([Signal::Term]).install().unwrap();
                atexit::register(say("handler ran"));
                std::thread::sleep(Duration::from_millis(100));
                println!("{:?}", atexit::replaced_signals());
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
                std::thread::sleep(Duration::from_secs(30));
            },
        )
        .stdout("[]\nhandler ran\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10))
        .drive(Drive::Repeat(5)),
        // Blocked in the main thread after the install: the watcher thread
        // still takes it, and nothing is told.
        Scenario::new(
            "a_signal_blocked_after_the_install_still_runs_the_handlers",
            || {
                CatchSignals::new().only([Signal::Term]).install().unwrap();
                block(libc::SIGTERM);
                println!("{:?}", atexit::replaced_signals());
                atexit::register(say("handler ran"));
                kill_self_after(50, libc::SIGTERM);
                std::thread::sleep(Duration::from_secs(30));
            },
        )
        .stdout("[]\nhandler ran\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
        // A crash reporter installs its own handler after this crate's and
        // calls the one it found: the signal still reaches this crate.
        // Nothing tells before the signal comes (`replaced_signals` cannot
        // know), but the exit that signal starts must not report the signal
        // as lost: it just ran the handlers.
        Scenario::new("a_chaining_handler_is_not_reported_when_it_chains", || {
            CatchSignals::new().only([Signal::Term]).install().unwrap();
            install_chaining_reporter(libc::SIGTERM);
            atexit::register(say("handler ran"));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("reporter\nhandler ran\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
        // In graceful-shutdown mode the chaining handler's signal only asks
        // for the shutdown: from then on it is known to reach this crate,
        // and is no longer listed.
        Scenario::new(
            "a_chaining_handler_is_no_longer_listed_once_it_chained",
            || {
                CatchSignals::new()
                    .only([Signal::Term])
                    .graceful_shutdown(Duration::from_secs(20))
                    .install()
                    .unwrap();
                install_chaining_reporter(libc::SIGTERM);
                atexit::register(say("handler ran"));
                println!("before: {:?}", atexit::replaced_signals());
                // SAFETY: signalling this thread.
                unsafe { libc::raise(libc::SIGTERM) };
                atexit::shutdown_request().wait();
                println!("after: {:?}", atexit::replaced_signals());
                // A handler set after it is judged afresh.
                // SAFETY: installs a handler that does nothing, as ctrlc would.
                unsafe {
                    libc::signal(
                        libc::SIGTERM,
                        ignore_signal as *const () as libc::sighandler_t,
                    )
                };
                println!("then: {:?}", atexit::replaced_signals());
            },
        )
        .stdout("before: [Term]\nreporter\nafter: []\nthen: [Term]\nhandler ran\n")
        .killed_by(libc::SIGTERM)
        .hang_after(Duration::from_secs(10)),
    ];
    // The matrix: every signal × every case, then the `128 + n` ending.
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        for case in [
            SignalCase::None,
            SignalCase::Three,
            SignalCase::Panicking,
            SignalCase::Hung,
            SignalCase::SecondSignal,
        ] {
            all.push(cell(signal, case, SignalEnding::Reraise));
        }
        all.push(cell(signal, SignalCase::Three, SignalEnding::ExitCode));
    }
    all.extend([
        cell(libc::SIGTERM, SignalCase::Chained, SignalEnding::Reraise),
        cell(libc::SIGHUP, SignalCase::Ignored, SignalEnding::Reraise),
        cell(libc::SIGPIPE, SignalCase::Pipe, SignalEnding::Reraise),
        cell(libc::SIGTERM, SignalCase::ExitCode, SignalEnding::Reraise),
    ]);
    all
}

/// A set holding `signal` alone.
fn sigset(signal: i32) -> libc::sigset_t {
    // SAFETY: `sigemptyset` initialises the set we own.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        set
    }
}

/// Blocks `signal` in this thread's mask (inherited by threads it starts),
/// as a library that takes signals with `signalfd` or `sigwait` does.
fn block(signal: i32) {
    let set = sigset(signal);
    // SAFETY: changes this thread's mask only.
    let blocked = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    assert_eq!(blocked, 0);
}

/// A signal handler that does nothing, as another library's would.
extern "C" fn ignore_signal(_: libc::c_int) {}

/// The handler found when the crash reporter installed its own.
static PREVIOUS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A crash reporter's handler: says so, then calls the one it replaced.
extern "C" fn reporter(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let text = b"reporter\n";
    // SAFETY: `write` is async-signal-safe.
    unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
    let previous = PREVIOUS.load(std::sync::atomic::Ordering::SeqCst);
    if previous > libc::SIG_IGN {
        // SAFETY: the previous handler was installed with SA_SIGINFO
        // (signal-hook-registry's), so it takes these three arguments.
        let previous: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(previous) };
        previous(signal, info, context);
    }
}

/// Installs [`reporter`] for `signal` with a plain `sigaction`, keeping the
/// handler it replaces to chain to.
fn install_chaining_reporter(signal: i32) {
    // SAFETY: installs an async-signal-safe handler; the old action is
    // read into a zeroed struct we own.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = reporter as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signal, &action, &mut old), 0);
        assert_ne!(old.sa_flags & libc::SA_SIGINFO, 0);
        PREVIOUS.store(old.sa_sigaction, std::sync::atomic::Ordering::SeqCst);
    }
}

const CLOSED_STDIO: &str = "closed_standard_streams_and_signals_caught_at_load";

/// What `#[atexit::handler(catch_signals)]` does, for the scenario above
/// only: catch the signals from a load-time constructor, which runs before
/// std reopens closed standard streams.
extern "C" fn catch_signals_at_load() {
    if crate::scenario::current() == format!("signals::{CLOSED_STDIO}") {
        atexit::catch_signals().unwrap();
    }
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    link_section = ".init_array"
)]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static CATCH_SIGNALS_AT_LOAD: extern "C" fn() = catch_signals_at_load;

/// What a matrix cell registers before it prints `ready` and waits for the
/// signal.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SignalCase {
    /// No handlers.
    None,
    /// Three handlers, the oldest printing the exit reason.
    Three,
    /// [`SignalCase::Three`], with the application's own SIGTERM handler
    /// installed before atexit's.
    Chained,
    /// Three handlers, the middle one panicking.
    Panicking,
    /// A handler that never returns, under a 300 ms deadline.
    Hung,
    /// A slow handler; the signal comes again while it runs.
    SecondSignal,
    /// SIGHUP ignored before (as `nohup` does) stays ignored; SIGTERM ends it.
    Ignored,
    /// [`SignalCase::Three`], with SIGPIPE caught on request.
    Pipe,
    /// A handler calls `set_exit_code(7)`.
    ExitCode,
}

impl SignalCase {
    /// The cell's name after the signal's.
    fn name(self, ending: SignalEnding) -> &'static str {
        match (self, ending) {
            (SignalCase::Three, SignalEnding::ExitCode) => "three_handlers_exit_128_plus_n",
            (SignalCase::None, _) => "no_handlers",
            (SignalCase::Three, _) => "three_handlers",
            (SignalCase::Chained, _) => "chained_to_the_apps_handler",
            (SignalCase::Panicking, _) => "panicking_handler",
            (SignalCase::Hung, _) => "hung_handler",
            (SignalCase::SecondSignal, _) => "second_signal",
            (SignalCase::Ignored, _) => "ignored_before_stays_ignored",
            (SignalCase::Pipe, _) => "caught_when_asked",
            (SignalCase::ExitCode, _) => "set_exit_code_7_exits_7",
        }
    }

    /// The program: installs the signal handling, registers the case's
    /// handlers, prints `ready` and waits to be signalled.
    fn program(self, ending: SignalEnding) {
        if self == SignalCase::Chained {
            // The application's own handler, installed before atexit's.
            extern "C" fn app_handler(_: libc::c_int) {
                let text = b"app handler\n";
                // SAFETY: `write` is async-signal-safe.
                unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
            }
            // SAFETY: installs an async-signal-safe handler.
            unsafe {
                libc::signal(
                    libc::SIGTERM,
                    app_handler as *const () as libc::sighandler_t,
                )
            };
        }
        if self == SignalCase::Ignored {
            // SAFETY: sets SIGHUP to be ignored, as `nohup` does.
            unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
        }
        let mut catch = CatchSignals::new().ending(ending);
        if self == SignalCase::Pipe {
            catch = catch.signal(Signal::Pipe);
        }
        catch.install().expect("catch signals");
        catch.install().expect("installing twice is harmless");

        fn reason() -> String {
            match atexit::exit_reason() {
                Some(atexit::ExitReason::Signal(signal)) => signal.to_string(),
                other => format!("{other:?}"),
            }
        }
        match self {
            SignalCase::None | SignalCase::Ignored => {}
            SignalCase::ExitCode => {
                atexit::register(|| atexit::set_exit_code(7));
            }
            SignalCase::Three | SignalCase::Chained | SignalCase::Pipe => {
                atexit::register(|| println!("h1 ({})", reason()));
                atexit::register(say("h2"));
                atexit::register(say("h3"));
            }
            SignalCase::Panicking => {
                atexit::register(say("h1"));
                atexit::register(|| panic!("h2 fails"));
                atexit::register(say("h3"));
            }
            SignalCase::Hung => {
                atexit::set_deadline(Some(Duration::from_millis(300)));
                atexit::register(say("h1: skipped by the deadline"));
                atexit::register(|| {
                    println!("h2 hangs");
                    loop {
                        std::thread::sleep(Duration::from_secs(3600));
                    }
                });
            }
            SignalCase::SecondSignal => {
                atexit::register(say("older: never runs"));
                atexit::register(|| {
                    println!("slow handler starts");
                    std::thread::sleep(Duration::from_secs(20));
                    println!("slow handler ends");
                });
            }
        }
        println!("ready");
        std::thread::sleep(Duration::from_secs(30));
        println!("not interrupted");
    }

    /// What the program must print to stdout (given the signal's name) and
    /// to stderr.
    fn expected(self, name: &str) -> (String, &'static [&'static str]) {
        match self {
            SignalCase::None | SignalCase::Ignored | SignalCase::ExitCode => {
                ("ready\n".into(), &[])
            }
            SignalCase::Three | SignalCase::Pipe => (format!("ready\nh3\nh2\nh1 ({name})\n"), &[]),
            SignalCase::Chained => (format!("ready\napp handler\nh3\nh2\nh1 ({name})\n"), &[]),
            SignalCase::Panicking => ("ready\nh3\nh1\n".into(), &["panicked: h2 fails"]),
            SignalCase::Hung => (
                "ready\nh2 hangs\n".into(),
                &["exit deadline of 300ms passed", "is still running"],
            ),
            SignalCase::SecondSignal => ("ready\nslow handler starts\n".into(), &[]),
        }
    }
}

/// One cell of the matrix, `SIGNAL::case`: the program waits for `signal`
/// (the parent sends it once the child says `ready`), and must end within
/// 10 s as `ending` says.
fn cell(signal: i32, case: SignalCase, ending: SignalEnding) -> Scenario {
    let name = signal_name(signal);
    let mut steps = vec![Step::WaitFor("ready")];
    let ended_by = if case == SignalCase::Ignored {
        // SIGHUP stays ignored (nohup); SIGTERM then ends the process.
        steps.extend([
            Step::Signal(libc::SIGHUP),
            Step::Sleep(Duration::from_millis(200)),
            Step::Signal(libc::SIGTERM),
        ]);
        libc::SIGTERM
    } else {
        steps.push(Step::Signal(signal));
        signal
    };
    if case == SignalCase::SecondSignal {
        steps.extend([Step::WaitFor("slow handler starts"), Step::Signal(signal)]);
    }
    let (stdout, stderr_has) = case.expected(&name);
    let scenario = Scenario::new(format!("{name}::{}", case.name(ending)), move || {
        case.program(ending)
    })
    .stdout(stdout)
    .stderr_has(stderr_has)
    .drive(Drive::Steps(steps))
    .hang_after(Duration::from_secs(20))
    .faster_than(Duration::from_secs(10));
    match (case, ending) {
        (SignalCase::ExitCode, _) => scenario.code(7),
        (_, SignalEnding::ExitCode) => scenario.code(128 + ended_by),
        _ => scenario.killed_by(ended_by),
    }
}
