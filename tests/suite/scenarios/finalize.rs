//! `finalize`: a cleanup that runs exactly once, at drop or at exit,
//! whichever comes first, whatever the threads race, and never in a forked
//! child that did not adopt it.

use crate::scenario::{say, Scenario};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A cleanup that prints `line` with its value.
fn print(line: &'static str) -> impl FnOnce(u32) + Send + 'static {
    move |value| println!("{line} {value}")
}

pub fn all() -> Vec<Scenario> {
    vec![
        // Dropped first: runs at the drop, and not again at exit.
        Scenario::new("runs_at_drop_not_again_at_exit", || {
            let finalizer = atexit::finalize(1, print("cleanup"));
            println!("before drop");
            drop(finalizer);
            println!("after drop");
        })
        .stdout("before drop\ncleanup 1\nafter drop\n"),
        // Alive at exit: runs in its place among the handlers, newest first.
        Scenario::new("alive_at_exit_runs_in_its_place", || {
            atexit::register(say("registered before"));
            let finalizer = atexit::finalize(2, print("cleanup"));
            atexit::register(say("registered after"));
            // Not dropped before the exit: `atexit::exit` skips
            // destructors, as a `static` or a leaked value would (and it
            // runs the handlers on Windows too, where `std::process::exit`
            // runs none).
            let _keep = finalizer;
            atexit::exit(3);
        })
        .stdout("registered after\ncleanup 2\nregistered before\n")
        .code(3),
        Scenario::new("run_then_drop_runs_once", || {
            let finalizer = atexit::finalize(3, print("cleanup"));
            println!("ran: {}", finalizer.run());
            println!("ran again: {}", finalizer.run());
            println!("pending: {}", finalizer.is_pending());
        })
        .stdout("cleanup 3\nran: true\nran again: false\npending: false\n"),
        Scenario::new("detach_gives_the_value_back_and_runs_nothing", || {
            let finalizer = atexit::finalize(4, print("must not run:"));
            println!("detached: {:?}", finalizer.detach());
            println!("again: {:?}", finalizer.detach());
            std::mem::forget(finalizer);
        })
        .stdout("detached: Some(4)\nagain: None\n"),
        // A panic in a cleanup run by a drop is reported; the thread goes on.
        Scenario::new("a_panic_at_drop_is_reported", || {
            let finalizer = atexit::finalize(5u32, |_| panic!("disk full"));
            drop(finalizer);
            println!("still here");
        })
        .stdout("still here\n")
        .stderr_has(&[
            "disk full",
            "atexit: the finalizer of a `u32` panicked when dropped",
        ]),
        // Dropped during unwinding: the cleanup's own panic must not abort.
        Scenario::new("a_panic_at_drop_while_unwinding_does_not_abort", || {
            let caught = std::panic::catch_unwind(|| {
                let _finalizer = atexit::finalize(6, |_| panic!("second panic"));
                panic!("first panic");
            });
            println!("caught: {}", caught.is_err());
        })
        .stdout("caught: true\n")
        .stderr_has(&["first panic", "second panic"]),
        // Threads drop their finalizers while the main thread exits: each
        // cleanup runs exactly once, at its drop or at exit.
        Scenario::new("threads_dropping_while_the_exit_runs", || {
            static RAN: AtomicUsize = AtomicUsize::new(0);
            static DONE: AtomicUsize = AtomicUsize::new(0);
            const N: usize = 200;
            // Registered first, so it runs last: it waits (bounded) for the
            // threads to finish their drops, then counts. More than N is a
            // cleanup run twice, fewer is one lost.
            atexit::register(|| {
                let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
                while DONE.load(Ordering::SeqCst) < 4 && std::time::Instant::now() < until {
                    std::thread::yield_now();
                }
                println!("ran {} of {N}", RAN.load(Ordering::SeqCst));
            });
            let start = std::sync::Arc::new(std::sync::Barrier::new(5));
            for thread in 0..4 {
                let start = start.clone();
                let finalizers: Vec<_> = (0..N / 4)
                    .map(|i| {
                        atexit::finalize(thread * 1000 + i, |_| {
                            RAN.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                std::thread::spawn(move || {
                    start.wait();
                    for finalizer in finalizers {
                        drop(finalizer);
                    }
                    DONE.fetch_add(1, Ordering::SeqCst);
                    // Parked, so the exit's handlers and these drops race.
                    loop {
                        std::thread::park();
                    }
                });
            }
            start.wait();
            atexit::exit(0);
        })
        .stdout("ran 200 of 200\n"),
        // A child forked after `finalize` holds the parent's cleanup: its
        // drop and its exit run nothing; the parent's runs once.
        #[cfg(unix)]
        Scenario::new("a_forked_child_leaves_the_parents_alone", || forked(false))
            .stdout("child: pending false\nchild: ran false\nparent: child exited 0\ncleanup 7\n"),
        // Adopted, it is the child's own: its drop runs it there.
        #[cfg(unix)]
        Scenario::new("a_forked_child_that_adopts_runs_its_copy", || forked(true)).stdout(
            "child: pending true\ncleanup 7\nchild: ran true\nparent: child exited 0\ncleanup 7\n",
        ),
    ]
}

#[cfg(unix)]
fn forked(adopt: bool) {
    use std::io::Write;

    let finalizer = atexit::finalize(7, print("cleanup"));
    std::io::stdout().flush().unwrap();
    // SAFETY: single-threaded here, so the child may use the whole runtime.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        if adopt {
            atexit::adopt_inherited();
        }
        println!("child: pending {}", finalizer.is_pending());
        println!("child: ran {}", finalizer.run());
        drop(finalizer);
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    println!("parent: child exited {}", libc::WEXITSTATUS(status));
    std::mem::forget(finalizer); // alive at the parent's exit
}
