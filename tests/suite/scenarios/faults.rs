//! Faults: a handler that panics (with any payload, or while panicking) or
//! cannot write is reported, and the other handlers still run.

use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut all = vec![
        Scenario::new("panicking_handler_keeps_status", || {
            atexit::register(say("registered first"));
            atexit::register(|| panic!("handler failure"));
            atexit::register(say("registered third"));
            std::process::exit(3);
        })
        .stdout("registered third\nregistered first\n")
        .code(3)
        .stderr_has(&[
            "atexit: exit handler `scenarios::faults::all::{{closure}}::{{closure}}` panicked: \
             handler failure; the other handlers still run\n",
        ]),
        Scenario::new("non_string_panic_payload", || {
            atexit::register(say("still runs"));
            atexit::register(|| std::panic::panic_any(42_u32));
        })
        .stdout("still runs\n")
        .stderr_has(&["panicked: Box<dyn Any>;"]),
        Scenario::new("unregister_self_then_panic", || {
            fn self_remover() {
                println!("removed itself: {}", atexit::unregister(self_remover));
                panic!("after unregistering itself");
            }
            atexit::register(say("older handler still runs"));
            atexit::register(self_remover);
        })
        .stdout("removed itself: 0\nolder handler still runs\n")
        .stderr_has(&[
            "`scenarios::faults::all::{{closure}}::self_remover` panicked: after unregistering itself",
        ]),
        Scenario::new("payload_drop_panics", || {
            struct Grenade;
            impl Drop for Grenade {
                fn drop(&mut self) {
                    panic!("the payload's destructor panics");
                }
            }
            atexit::register(|| eprintln!("older handler still runs"));
            atexit::register(|| std::panic::panic_any(Grenade));
        })
        .stderr_has(&[
            "the panic payload of exit handler",
            "panicked when dropped",
            "older handler still runs",
        ]),
    ];
    all.extend([
        // Issue 10, item 2: with a logger thread holding stderr's lock, a
        // handler's panic report blocked on it and the other handlers never
        // ran. (std's own panic message does not take the lock.)
        Scenario::new("a_held_stderr_lock_does_not_stop_the_report", || {
            crate::scenario::hold_stderr_for_good();
            atexit::register(say("older handler still runs"));
            atexit::register(|| panic!("handler failure"));
        })
        .stdout("older handler still runs\n")
        .stderr_has(&["panicked: handler failure; the other handlers still run"])
        .hang_after(std::time::Duration::from_secs(10)),
    ]);
    #[cfg(unix)]
    all.extend([
        // Issue 10, item 1: `set_exit_code` after `main` returned ends the
        // process through a flush of stdout, which used to wait for a lock
        // another thread held for good.
        Scenario::new("set_exit_code_with_stdout_held_by_another_thread", || {
            crate::scenario::hold_stdout_for_good();
            atexit::register(|| atexit::set_exit_code(5));
        })
        .code(5)
        .faster_than(std::time::Duration::from_secs(3))
        .hang_after(std::time::Duration::from_secs(10)),
        // std's default panic message is a blocking write: on a stderr nobody
        // reads, a handler's panic stopped the exit for good. The crate's
        // hook gives stderr a moment, then skips it; the report gives up too.
        Scenario::new("a_handler_panics_with_stderr_a_full_pipe", || {
            let data = crate::scenario::data_file();
            atexit::register(move || crate::scenario::append(&data, "older handler ran"));
            atexit::register(|| panic!("handler failure"));
            crate::scenario::fill_pipe(2);
            atexit::exit(4);
        })
        .streams(crate::scenario::Streams::StderrUnread)
        .data_file("older handler ran\n")
        .code(4)
        .faster_than(std::time::Duration::from_secs(2))
        .hang_after(std::time::Duration::from_secs(10)),
        // A tied child the program reaps itself (SIGCHLD ignored: the kernel
        // reaps it; or a `waitpid(-1)` loop) may have its pid given to
        // another process: the crate notices (its start time on Linux), signals
        // nothing and says nothing. It used to report "No child processes"
        // at every exit, and to signal whatever process had the pid by then.
        Scenario::new("a_tied_child_reaped_by_the_program_is_left_alone", || {
            use atexit::CommandExt as _;
            // SAFETY: sets SIGCHLD's disposition: ended children are reaped
            // by the kernel at once.
            unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
            let child = std::process::Command::new("true").spawn_tied().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(child.is_registered());
            let mut other = std::process::Command::new("true").spawn_tied().unwrap();
            // SAFETY: reaps any child of ours, as a SIGCHLD loop does.
            unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
            std::thread::sleep(std::time::Duration::from_millis(200));
            // SAFETY: as above.
            while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
            let _ = &mut other;
        }),
        Scenario::new("handler_panics_while_panicking", || {
            struct PanicsOnDrop;
            impl Drop for PanicsOnDrop {
                fn drop(&mut self) {
                    panic!("a destructor panics during unwinding");
                }
            }
            atexit::register(say("older handler: never runs, the process aborts"));
            atexit::register(|| {
                let _guard = PanicsOnDrop;
                panic!("first panic");
            });
        })
        .killed_by(libc::SIGABRT)
        .stderr_has(&["first panic", "a destructor panics during unwinding"]),
        Scenario::new("handler_writes_to_a_closed_stdout", || {
            atexit::register(|| eprintln!("older handler still runs"));
            atexit::register(|| println!("to nowhere"));
            // stdout becomes a pipe nobody reads: writes fail with EPIPE (Rust
            // ignores SIGPIPE), and `println!` panics.
            let mut fds = [0; 2];
            // SAFETY: `pipe` fills the array; then our own descriptors are
            // rearranged: the read end closed, the write end made stdout.
            unsafe {
                assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
                libc::close(fds[0]);
                libc::dup2(fds[1], 1);
                libc::close(fds[1]);
            }
        })
        .stderr_has(&[
            "failed printing to stdout: Broken pipe",
            "older handler still runs",
        ]),
    ]);
    // Issue 20, item 5: a logger whose lock a hung thread holds used to
    // cost every failing handler's report the loggers' whole patience
    // (1 s each: 15 s here) and a leaked thread; once stuck, the loggers are
    // not waited for again, as stderr is not.
    #[cfg(feature = "log")]
    all.push(
        Scenario::new("a_stuck_logger_is_waited_for_once", || {
            struct StuckLogger;
            impl log::Log for StuckLogger {
                fn enabled(&self, _: &log::Metadata) -> bool {
                    true
                }
                fn log(&self, _: &log::Record) {
                    let _guard = STUCK.lock();
                }
                fn flush(&self) {}
            }
            log::set_logger(&StuckLogger).unwrap();
            log::set_max_level(log::LevelFilter::Info);
            fifteen_failures_beside_a_stuck_logger();
        })
        .stdout("oldest handler still runs\n")
        .stderr_has(&["panicked: failing handler; the other handlers still run"])
        .faster_than(std::time::Duration::from_secs(6))
        .hang_after(std::time::Duration::from_secs(40)),
    );
    #[cfg(feature = "tracing")]
    all.push(
        Scenario::new("a_stuck_tracing_subscriber_is_waited_for_once", || {
            struct StuckSubscriber;
            impl tracing::Subscriber for StuckSubscriber {
                fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                    true
                }
                fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                    tracing::span::Id::from_u64(1)
                }
                fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
                fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
                fn event(&self, _: &tracing::Event<'_>) {
                    let _guard = STUCK.lock();
                }
                fn enter(&self, _: &tracing::span::Id) {}
                fn exit(&self, _: &tracing::span::Id) {}
            }
            tracing::subscriber::set_global_default(StuckSubscriber).unwrap();
            fifteen_failures_beside_a_stuck_logger();
        })
        .stdout("oldest handler still runs\n")
        .stderr_has(&["panicked: failing handler; the other handlers still run"])
        .faster_than(std::time::Duration::from_secs(6))
        .hang_after(std::time::Duration::from_secs(40)),
    );
    all
}

/// With the logger made stuck: fifteen handlers that panic, each a report
/// for the logger, and the oldest that must still run: the stuck logger is
/// waited for once, not fifteen times.
#[cfg(any(feature = "log", feature = "tracing"))]
fn fifteen_failures_beside_a_stuck_logger() {
    hold_the_logger_lock_for_ever();
    atexit::register(say("oldest handler still runs"));
    for _ in 0..15 {
        atexit::register(|| panic!("failing handler"));
    }
}

/// The lock of a logger that [`hold_the_logger_lock_for_ever`] makes stuck.
#[cfg(any(feature = "log", feature = "tracing"))]
static STUCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A thread takes [`STUCK`] and never lets go (a hung logger thread).
#[cfg(any(feature = "log", feature = "tracing"))]
fn hold_the_logger_lock_for_ever() {
    let (held, is_held) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _guard = STUCK.lock();
        held.send(()).unwrap();
        loop {
            std::thread::park();
        }
    });
    is_held.recv().unwrap();
}
