//! Deadline: `set_deadline` bounds the whole exit; a handler still running
//! then is named, the rest are skipped, and the process ends with its status.

use std::sync::Mutex;
use std::time::Duration;

#[cfg(unix)]
use crate::scenario::Streams;
use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut all =
        vec![
        Scenario::new("deadline_on_process_exit", || {
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register(say("older: skipped"));
            fn stuck() {
                println!("stuck starts");
                std::thread::sleep(Duration::from_secs(3600));
            }
            atexit::register(stuck);
            std::process::exit(4);
        })
        .stdout("stuck starts\n")
        .code(4)
        .stderr_has(&[
            "exit handler `scenarios::deadline::all::{{closure}}::stuck` is still running; the \
             remaining handlers are skipped and the process ends with status 4",
        ]),
        Scenario::new("deadline_not_reached", || {
            atexit::set_deadline(Some(Duration::from_secs(5)));
            atexit::register(say("quick handler"));
        })
        .stdout("quick handler\n"),
        Scenario::new("handler_waits_for_a_lock_the_exiting_thread_holds", || {
            static LOCK: Mutex<()> = Mutex::new(());
            atexit::set_deadline(Some(Duration::from_millis(300)));
            fn needs_the_lock() {
                let _guard = LOCK.lock();
                println!("never: the exiting thread holds the lock");
            }
            atexit::register(needs_the_lock);
            let _held = LOCK.lock().unwrap();
            std::process::exit(5);
        })
        .code(5)
        .stderr_has(&[
            "exit handler `scenarios::deadline::all::{{closure}}::needs_the_lock` is still running",
        ]),
        Scenario::new("deadline_covers_the_wait_for_another_thread", || {
            atexit::set_deadline(Some(Duration::from_millis(500)));
            atexit::register(say("older: skipped"));
            fn hang() {
                println!("hang starts");
                loop {
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            atexit::register(hang);
            std::thread::spawn(atexit::run_exitfuncs);
            std::thread::sleep(Duration::from_millis(100));
        })
        .stdout("hang starts\n")
        // Where the C runtime does not tell the status of the return from
        // `main` (all but glibc), an exit cut short by the deadline ends
        // with status 1: the status it would have had is unknown.
        .code(if cfg!(all(target_os = "linux", target_env = "gnu")) { 0 } else { 1 })
        .stderr_has(&[
            "exit handler `scenarios::deadline::all::{{closure}}::hang` is still running",
        ]),
    ];
    all.extend([
        // A deadline that has passed before the first handler could start
        // (1 ns) starts none: the runner looks at the clock, not only at
        // the watchdog's mark, which comes a moment later.
        Scenario::new("a_tiny_deadline_starts_no_handler", || {
            atexit::set_deadline(Some(Duration::from_nanos(1)));
            atexit::register(say("must not start"));
            std::process::exit(3);
        })
        .code(3)
        .stderr_has(&["exit deadline of 1ns passed: the exit handlers are still running"]),
        // What `main` printed is flushed before the handlers of an
        // `atexit::exit`, as `std::process::exit` does: a deadline that ends
        // the process in a handler does not lose it.
        Scenario::new(
            "atexit_exit_flushes_main_output_before_the_handlers",
            || {
                print!("main's output, no newline");
                atexit::set_deadline(Some(Duration::ZERO));
                atexit::register(say("must not start"));
                atexit::exit(2);
            },
        )
        .stdout("main's output, no newline")
        .code(2)
        .stderr_has(&["exit deadline of 0ns passed"]),
    ]);
    #[cfg(unix)]
    all.extend([
        // Issue 10, item 3: the deadline's own report used to block in
        // `write` on a stderr nobody reads, so the deadline never ended the
        // process.
        Scenario::new("deadline_with_stderr_a_full_pipe", || {
            let data = crate::scenario::data_file();
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register(move || crate::scenario::append(&data, "older: skipped"));
            crate::scenario::fill_pipe(2);
            fn stuck_writing() {
                eprintln!("a handler stuck writing to a full stderr");
            }
            atexit::register(stuck_writing);
        })
        .streams(Streams::StderrUnread)
        .data_file("")
        .faster_than(Duration::from_secs(3))
        .hang_after(Duration::from_secs(10)),
        // Issue 10, item 9: a stuck handler that returns while the deadline
        // reports (here: while the logger takes the record) used to let the
        // older handlers run after the deadline, and the record was lost.
        #[cfg(feature = "log")]
        Scenario::new("nothing_runs_after_the_deadline", || {
            struct SlowLogger;
            impl log::Log for SlowLogger {
                fn enabled(&self, _: &log::Metadata) -> bool {
                    true
                }
                fn log(&self, record: &log::Record) {
                    std::thread::sleep(Duration::from_millis(60));
                    let text = record.args().to_string();
                    if text.contains("exit deadline of 300ms passed") {
                        println!("logged: {} {}", record.level(), record.target());
                    }
                }
                fn flush(&self) {}
            }
            log::set_logger(&SlowLogger).unwrap();
            log::set_max_level(log::LevelFilter::Info);
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register(say("older: must not run after the deadline"));
            fn stuck_a_little_longer() {
                println!("stuck starts");
                std::thread::sleep(Duration::from_millis(330));
            }
            atexit::register(stuck_a_little_longer);
        })
        .stdout("stuck starts\nlogged: ERROR atexit\n")
        .stderr_has(&[
            "exit deadline of 300ms passed: exit handler",
            "is still running",
        ]),
    ]);
    all
}
