//! Exit paths: returning from `main`, `std::process::exit`, `atexit::exit`, a
//! panic, `abort`; the exit reason and the exit code handlers see and set.

use crate::scenario::{say, Scenario};

fn print_reason() {
    println!("reason: {:?}", atexit::exit_reason());
}

pub fn all() -> Vec<Scenario> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut all = vec![
        Scenario::new("process_exit", || {
            atexit::register(say("first"));
            atexit::register(say("second"));
            std::process::exit(7);
        })
        // On Windows `std::process::exit` is `ExitProcess`, which skips the
        // C runtime's `atexit` list (rust-lang/rust#104816): no handler
        // runs, the status stays. `atexit::exit` is the way there.
        .stdout(if cfg!(windows) { "" } else { "second\nfirst\n" })
        .code(7),
        Scenario::new("atexit_exit_status", || {
            atexit::register(say("first"));
            atexit::exit(3);
        })
        .stdout("first\n")
        .code(3),
        Scenario::new("panic_in_main", || {
            atexit::register(say("handler after panic"));
            panic!("boom in main");
        })
        .stdout("handler after panic\n")
        .code(101)
        .stderr_has(&["boom in main"]),
        Scenario::new("atexit_exit_in_handler", || {
            atexit::register(say("older handler still runs"));
            atexit::register(|| {
                println!("calling atexit::exit(5)");
                atexit::exit(5);
            });
            atexit::register(say("newest handler"));
            std::process::exit(2);
        })
        .stdout("newest handler\ncalling atexit::exit(5)\nolder handler still runs\n")
        .code(2)
        .stderr_has(&["called atexit::exit(5) while the process was already exiting"]),
        Scenario::new("exit_during_run_exitfuncs", || {
            atexit::register(say("oldest"));
            atexit::register(|| atexit::exit(4));
            atexit::register(say("newest"));
            atexit::run_exitfuncs();
            println!("not reached");
        })
        .stdout("newest\noldest\n")
        .code(4),
        Scenario::new("process_exit_in_handler_during_atexit_exit", || {
            atexit::register(say("oldest: still runs"));
            atexit::register(|| {
                println!("calling std::process::exit(7)");
                std::process::exit(7)
            });
            atexit::exit(0);
        })
        .stdout("calling std::process::exit(7)\noldest: still runs\n")
        .code(7),
        Scenario::new("thread_local_in_handler", || {
            struct Noisy;
            impl Drop for Noisy {
                fn drop(&mut self) {}
            }
            thread_local!(static LOCAL: Noisy = const { Noisy });
            LOCAL.with(|_| {});
            atexit::register(|| match LOCAL.try_with(|_| ()) {
                Ok(()) => println!("thread-local alive"),
                Err(_) => println!("thread-local already destroyed"),
            });
        })
        // glibc runs the exiting thread's TLS destructors before the
        // `atexit` list; Windows runs the C runtime's list first.
        .stdout(if cfg!(windows) {
            "thread-local alive\n"
        } else {
            "thread-local already destroyed\n"
        }),
        Scenario::new("reason_on_return", || {
            atexit::register(print_reason);
        })
        // Only glibc's `on_exit` tells the status of a return from `main`.
        .stdout(if cfg!(all(target_os = "linux", target_env = "gnu")) {
            "reason: Some(Exit(Some(0)))\n"
        } else {
            "reason: Some(Exit(None))\n"
        }),
        Scenario::new("reason_on_process_exit", || {
            atexit::register(print_reason);
            std::process::exit(4);
        })
        .stdout("reason: Some(Exit(Some(4)))\n")
        .code(4),
        Scenario::new("reason_on_atexit_exit", || {
            atexit::register(print_reason);
            atexit::exit(2);
        })
        .stdout("reason: Some(Exit(Some(2)))\n")
        .code(2),
        Scenario::new("reason_on_panic", || {
            atexit::register(print_reason);
            panic!("main fails");
        })
        .stdout("reason: Some(Panic)\n")
        .code(101)
        .stderr_has(&["main fails"]),
        Scenario::new("reason_in_run_exitfuncs", || {
            atexit::register(print_reason);
            atexit::run_exitfuncs();
        })
        .stdout("reason: None\n"),
        Scenario::new("exit_code_on_return", || {
            atexit::register(|| atexit::set_exit_code(5));
        })
        .code(5),
        Scenario::new("exit_code_on_atexit_exit", || {
            atexit::register(|| atexit::set_exit_code(6));
            atexit::exit(2);
        })
        .code(6),
        Scenario::new("exit_code_outside_an_exit_is_ignored", || {
            atexit::set_exit_code(9);
        }),
    ];
    all.extend([
        // Issue 10, item 8: `atexit::exit` from a panic hook (a panic anywhere
        // ends the process) ran the handlers on the panicking thread, where a
        // handler's panic aborted the process and the older handlers were lost.
        Scenario::new("atexit_exit_from_a_panic_hook", || {
            std::panic::set_hook(Box::new(|_| atexit::exit(3)));
            atexit::register(say("older handler still runs"));
            atexit::register(|| panic!("the handler fails too"));
            panic!("main fails");
        })
        .stdout("older handler still runs\n")
        .code(3)
        .stderr_has(&["called atexit::exit(3) while the process was already exiting"]),
        // Issue 10, item 12: a worker thread *named* "main" that panicked
        // made the exit read as a panic of `main`.
        Scenario::new("a_thread_named_main_is_not_main", || {
            let worker = std::thread::Builder::new().name("main".into());
            let _ = worker
                .spawn(|| panic!("a worker named main"))
                .unwrap()
                .join();
            atexit::register(print_reason);
            std::process::exit(101);
        })
        .stdout("reason: Some(Exit(Some(101)))\n")
        .code(101)
        .stderr_has(&["a worker named main"]),
    ]);
    #[cfg(unix)]
    all.extend([
        Scenario::new("process_exit_in_handler", || {
            atexit::register(|| {
                println!("calling std::process::exit(5)");
                std::process::exit(5);
            });
        })
        .stdout("calling std::process::exit(5)\n")
        .killed_by(libc::SIGABRT)
        .stderr_has(&["re-entrant"]),
        Scenario::new("abort_runs_nothing", || {
            atexit::register(say("must not run after abort"));
            std::process::abort();
        })
        .killed_by(libc::SIGABRT),
    ]);
    all
}
