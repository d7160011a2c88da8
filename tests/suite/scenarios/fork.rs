//! Fork: a child process does not run its parent's handlers unless it adopts
//! them; the registry works in a child forked while threads use it, and from
//! a fork inside a handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("fork_child_skips_parent_handlers", || {
            fork_child(ChildEnd::ProcessExit)
        })
        .stdout(
            "child: ncallbacks 1\nchild's handler\nparent: child exited with 0\nparent's handler\n",
        ),
        // Adopted: the parent's handler and the binary's ten
        // `#[atexit::handler]`s (statics.rs), which print nothing here.
        Scenario::new("fork_child_adopts_parent_handlers", || {
            fork_child(ChildEnd::AdoptThenProcessExit)
        })
        .stdout(
            "child: ncallbacks 1\nchild: adopted 10\nchild's handler\nparent's handler\n\
             parent: child exited with 0\nparent's handler\n",
        ),
        Scenario::new("fork_child_exit_now", || fork_child(ChildEnd::ExitNow))
            .stdout("child: ncallbacks 1\nparent: child exited with 0\nparent's handler\n"),
        // Threads register and cancel handlers while the main thread forks:
        // every child must be able to use the registry (the lock is never
        // inherited held).
        Scenario::new("fork_while_threads_use_the_registry", || {
            static STOP: AtomicBool = AtomicBool::new(false);
            for _ in 0..3 {
                std::thread::spawn(|| {
                    while !STOP.load(Ordering::Relaxed) {
                        atexit::register(|| {}).unregister();
                    }
                });
            }
            let mut hung = 0;
            for _ in 0..300 {
                // SAFETY: the child only uses the registry and `_exit`.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    atexit::register(|| {});
                    let _ = atexit::ncallbacks();
                    atexit::exit_now(0);
                }
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let mut status = 0;
                    // SAFETY: polling our own child.
                    if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                        break;
                    }
                    if Instant::now() > deadline {
                        hung += 1;
                        // SAFETY: killing and reaping our own child.
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                            libc::waitpid(pid, &mut status, 0);
                        }
                        break;
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            STOP.store(true, Ordering::Relaxed);
            println!("children hung: {hung}");
            atexit::exit_now(0);
        })
        .stdout("children hung: 0\n"),
        Scenario::new("fork_in_handler_child_runs_its_own", || {
            atexit::register(say("parent's older handler"));
            atexit::register(fork_child_with_its_own_handler);
        })
        .stdout(
            "child: ncallbacks 1\nchild's own handler\nparent: child exited with 0\nparent's older handler\n",
        ),
        Scenario::new("fork_in_handler_child_exit", || {
            atexit::register(|| {
                // SAFETY: fork; the child only runs Rust code of this thread.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    atexit::register(say("child's handler"));
                    atexit::exit(3);
                }
                println!("parent: child exited with {}", wait_for(pid));
            });
        })
        .stdout("child's handler\nparent: child exited with 3\n"),
        Scenario::new("fork_in_async_handler_child_runs_its_own", || {
            atexit::register(say("parent's older handler"));
            atexit::register_async(|| async { fork_child_with_its_own_handler() });
            std::process::exit(7);
        })
        .stdout(
            "child: ncallbacks 1\nchild's own handler\nparent: child exited with 7\n\
             parent's older handler\n",
        )
        .code(7),
        Scenario::new("clear_in_forked_child_keeps_parent_captures", || {
            struct TempDir(u32);
            impl Drop for TempDir {
                fn drop(&mut self) {
                    let who = if std::process::id() == self.0 {
                        "parent"
                    } else {
                        "child"
                    };
                    println!("TempDir dropped in the {who}");
                }
            }
            let dir = TempDir(std::process::id());
            atexit::register(move || drop(dir));
            // SAFETY: fork of a single-threaded process.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                atexit::clear();
                println!("child cleared");
                atexit::exit(0);
            }
            println!("parent: child exited with {}", wait_for(pid));
        })
        .stdout("child cleared\nparent: child exited with 0\nTempDir dropped in the parent\n"),
        // Issue 10, item 7: the child used to lose the deadline set before
        // `fork`, so a child stuck in a handler ran for ever.
        Scenario::new("a_forked_child_keeps_the_deadline", || {
            atexit::set_deadline(Some(Duration::from_millis(300)));
            // SAFETY: fork of a single-threaded process.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                atexit::register(|| std::thread::sleep(Duration::from_secs(3600)));
                std::process::exit(6);
            }
            println!("parent: child exited with {}", wait_for_at_most(pid, 10));
        })
        .stdout("parent: child exited with 6\n")
        .stderr_has(&["exit deadline of 300ms passed", "ends with status 6"]),
        // Issue 10, item 13: a child forked by a handler during the exit
        // ends with the status its own handlers chose, as every other exit
        // path does; `atexit::exit` there used to ignore it.
        Scenario::new("set_exit_code_in_a_child_forked_by_a_handler", || {
            atexit::register(|| {
                // SAFETY: fork; the child only runs Rust code of this thread.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    atexit::register(|| atexit::set_exit_code(9));
                    atexit::exit(7);
                }
                println!("parent: child exited with {}", wait_for(pid));
            });
        })
        .stdout("parent: child exited with 9\n"),
        // Issue 20, item 6: a child forked by a handler during a deadline-
        // bound exit got its own watchdog only when its copy of the run went
        // on; one that stayed inside the handler ran past the deadline.
        Scenario::new("a_child_forked_by_a_handler_is_held_to_the_deadline", || {
            atexit::set_deadline(Some(Duration::from_secs(1)));
            atexit::register(fork_and_stay_in_the_handler);
        })
        .stdout("child forked\n")
        .stderr_has(&["exit deadline of 1s passed", "ends with status 0"])
        .hang_after(Duration::from_secs(20)),
        Scenario::new(
            "a_child_forked_by_an_async_handler_is_held_to_the_deadline",
            || {
                atexit::set_deadline(Some(Duration::from_secs(1)));
                atexit::register_async(|| async { fork_and_stay_in_the_handler() });
            },
        )
        .stdout("child forked\n")
        .stderr_has(&["exit deadline of 1s passed", "ends with status 0"])
        .hang_after(Duration::from_secs(20)),
        // The child's watch ends it with the status it chose, and leaves the
        // program's own `SIGALRM` (an `alarm` in the child, a handler
        // installed before) to the program's handler.
        Scenario::new("a_forked_child_held_to_the_deadline_keeps_its_status_and_alarm", || {
            extern "C" fn on_alarm(_: libc::c_int) {
                let text = b"grandchild: the program's SIGALRM handler ran\n";
                // SAFETY: writes bytes we own to stdout.
                unsafe { libc::write(1, text.as_ptr().cast(), text.len()) };
            }
            // SAFETY: installs an async-signal-safe handler; makes this
            // process the reaper of its orphaned descendants.
            unsafe {
                libc::signal(libc::SIGALRM, on_alarm as *const () as libc::sighandler_t);
                libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1);
            }
            // SAFETY: the child runs an exit of its own and never returns.
            if unsafe { libc::fork() } == 0 {
                atexit::set_deadline(Some(Duration::from_secs(2)));
                atexit::register(|| {
                    // SAFETY: fork; the grandchild only runs Rust code of
                    // this thread.
                    if unsafe { libc::fork() } == 0 {
                        atexit::set_exit_code(9);
                        // SAFETY: the program's own alarm, in 1 s.
                        unsafe { libc::alarm(1) };
                        std::thread::sleep(Duration::from_secs(4));
                        println!("grandchild: still inside the handler after 4 s");
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(3600));
                });
                std::process::exit(5);
            }
            // The child, then the grandchild (reparented here), in any order.
            let mut ended = Vec::new();
            for _ in 0..2 {
                let mut status = 0;
                // SAFETY: waits for any child of this process.
                let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
                assert!(pid > 0, "waitpid");
                ended.push(libc::WEXITSTATUS(status));
            }
            ended.sort();
            println!("statuses: {ended:?}");
        })
        .stdout("grandchild: the program's SIGALRM handler ran\nstatuses: [5, 9]\n")
        .stderr_has(&["exit deadline of 2s passed", "ends with status 9"])
        .hang_after(Duration::from_secs(20)),
        // The timer may fire while the child holds the crate's lock (here
        // it registers and cancels handlers without a pause): its handler
        // never waits for the lock, and ends the child all the same.
        Scenario::new("a_forked_child_busy_with_the_registry_is_held_to_the_deadline", || {
            atexit::set_deadline(Some(Duration::from_millis(500)));
            atexit::register(|| {
                // SAFETY: fork; the child only runs Rust code of this thread.
                if unsafe { libc::fork() } == 0 {
                    loop {
                        atexit::register(|| {}).unregister();
                    }
                }
                std::thread::sleep(Duration::from_secs(3600));
            });
        })
        .stderr_has(&["exit deadline of 500ms passed", "ends with status 0"])
        .hang_after(Duration::from_secs(20)),
    ]
}

/// [`wait_for`], killing the child after `seconds` (then minus SIGKILL).
fn wait_for_at_most(pid: libc::pid_t, seconds: u64) -> i32 {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut status = 0;
    // SAFETY: polling for our own child, killing it once.
    unsafe {
        while libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 {
            if Instant::now() > until {
                libc::kill(pid, libc::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    }
}

/// How the child of [`fork_child`] ends.
#[derive(Clone, Copy)]
enum ChildEnd {
    /// `std::process::exit(0)`.
    ProcessExit,
    /// `adopt_inherited()`, then `std::process::exit(0)`.
    AdoptThenProcessExit,
    /// `exit_now(0)`: no handlers at all.
    ExitNow,
}

/// The parent registers a handler and forks; the child registers one of its
/// own and ends as `end` says, while the parent waits for it.
fn fork_child(end: ChildEnd) {
    use std::io::Write;

    atexit::register(say("parent's handler"));
    std::io::stdout().flush().unwrap();
    // SAFETY: the child only calls async-signal-safe-enough code: this process
    // is single-threaded at this point, so the whole runtime is usable.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        atexit::register(say("child's handler"));
        println!("child: ncallbacks {}", atexit::ncallbacks());
        match end {
            ChildEnd::ProcessExit => std::process::exit(0),
            ChildEnd::AdoptThenProcessExit => {
                println!("child: adopted {}", atexit::adopt_inherited());
                std::process::exit(0)
            }
            ChildEnd::ExitNow => atexit::exit_now(0),
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    println!("parent: child exited with {}", libc::WEXITSTATUS(status));
}

/// From a handler: forks a child that registers a handler of its own and
/// returns, while the parent waits for it.
fn fork_child_with_its_own_handler() {
    // SAFETY: fork; the child only runs Rust code of this thread.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        atexit::register(say("child's own handler"));
        println!("child: ncallbacks {}", atexit::ncallbacks());
        return;
    }
    println!("parent: child exited with {}", wait_for(pid));
}

/// Waits for the child `pid`: its exit status, or minus the killing signal.
fn wait_for(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -libc::WTERMSIG(status)
    }
}

/// A handler's body that forks: the child stays inside the handler for 3 s
/// (past a 1 s deadline, which must end it first), the parent for an hour.
fn fork_and_stay_in_the_handler() {
    // SAFETY: fork; the child only runs Rust code of this thread.
    if unsafe { libc::fork() } == 0 {
        println!("child forked");
        std::thread::sleep(Duration::from_secs(3));
        println!("child: still inside the handler after 3 s");
        return;
    }
    std::thread::sleep(Duration::from_secs(3600));
}
