//! Deadline: `set_timeout` bounds the whole exit; a handler still running
//! then is named, the rest are skipped, and the process ends with its status.

use std::sync::Mutex;
use std::time::Duration;

use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut all = vec![
        Scenario::new("deadline_on_process_exit", || {
            atexit::set_timeout(Some(Duration::from_millis(300)));
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
            atexit::set_timeout(Some(Duration::from_secs(5)));
            atexit::register(say("quick handler"));
        })
        .stdout("quick handler\n"),
        Scenario::new("handler_waits_for_a_lock_the_exiting_thread_holds", || {
            static LOCK: Mutex<()> = Mutex::new(());
            atexit::set_timeout(Some(Duration::from_millis(300)));
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
            atexit::set_timeout(Some(Duration::from_millis(500)));
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
        .stderr_has(&[
            "exit handler `scenarios::deadline::all::{{closure}}::hang` is still running",
        ]),
    ];
    #[cfg(unix)]
    all.push(
        Scenario::new("deadline_covers_a_blocked_flush", || {
            atexit::catch_signals().unwrap();
            atexit::set_timeout(Some(Duration::from_millis(500)));
            atexit::register(|| eprintln!("handler ran"));
            // Holds Rust's stdout lock, as a thread blocked on a full pipe does.
            std::thread::spawn(|| {
                let _stdout = std::io::stdout().lock();
                loop {
                    std::thread::park();
                }
            });
            crate::scenario::kill_self_after(100, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        })
        .killed_by(libc::SIGTERM)
        .stderr_has(&[
            "handler ran",
            "the handlers are done but the process has not ended",
        ]),
    );
    all
}
