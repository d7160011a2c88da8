//! Threads: registering, cancelling and running from many threads, exits
//! racing each other, and the stress loop (an exit while threads register).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::scenario::{say, Drive, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("run_exitfuncs_from_another_thread_during_a_run", || {
            atexit::register(say("older"));
            atexit::register(|| {
                let helper = std::thread::spawn(|| {
                    atexit::run_exitfuncs();
                    println!("helper's run_exitfuncs returned at once");
                });
                helper.join().unwrap();
                println!("handler joined the helper");
            });
            atexit::run_exitfuncs();
        })
        .stdout("helper's run_exitfuncs returned at once\nhandler joined the helper\nolder\n"),
        Scenario::new("handler_spawns_and_joins_a_thread", || {
            atexit::register(|| {
                let answer = std::thread::spawn(|| 6 * 7).join().unwrap();
                println!("thread answered {answer}");
            });
        })
        .stdout("thread answered 42\n"),
        // Another thread cancels every registration, oldest first, while the
        // run takes them newest first, in batches: each one either ran once
        // or was cancelled (`unregister` said true), never both, never none.
        Scenario::new("cancels_race_the_batched_run", || {
            const COUNT: usize = 20_000;
            let runs: Arc<Vec<AtomicUsize>> =
                Arc::new((0..COUNT).map(|_| AtomicUsize::new(0)).collect());
            let handles: Vec<atexit::Handle> = (0..COUNT)
                .map(|id| {
                    let runs = Arc::clone(&runs);
                    atexit::register(move || {
                        runs[id].fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            let canceller = std::thread::spawn(move || {
                handles
                    .into_iter()
                    .map(atexit::Handle::unregister)
                    .collect::<Vec<bool>>()
            });
            atexit::run_exitfuncs();
            let cancelled = canceller.join().unwrap();
            atexit::run_exitfuncs(); // what the canceller left after the run
            let wrong = (0..COUNT)
                .filter(|&id| runs[id].load(Ordering::SeqCst) + usize::from(cancelled[id]) != 1)
                .count();
            println!("ran or cancelled, once each, but {wrong}");
        })
        .stdout("ran or cancelled, once each, but 0\n"),
        // 8 threads × 2,000 registrations, a quarter of them cancelled by
        // handle and a quarter by function: every survivor runs exactly once.
        Scenario::new("threads_register_concurrently", || {
            const THREADS: usize = 8;
            const PER_THREAD: usize = 2000;
            let runs: Arc<Vec<AtomicUsize>> = Arc::new(
                (0..THREADS * PER_THREAD)
                    .map(|_| AtomicUsize::new(0))
                    .collect(),
            );
            {
                let runs = Arc::clone(&runs);
                atexit::register(move || {
                    let mut counts = [0usize; 3];
                    for (index, run) in runs.iter().enumerate() {
                        let expected = usize::from(index % 4 < 2);
                        let got = run.load(Ordering::SeqCst);
                        counts[got.min(2)] += 1;
                        if got != expected {
                            println!("registration {index} ran {got} times, expected {expected}");
                        }
                    }
                    println!(
                        "ran once: {}, never: {}, twice or more: {}",
                        counts[1], counts[0], counts[2]
                    );
                });
            }
            fn cancelled_by_function(_: usize) {
                println!("cancelled by function: must not run");
            }
            let threads: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let runs = Arc::clone(&runs);
                    std::thread::spawn(move || {
                        for i in 0..PER_THREAD {
                            let index = thread * PER_THREAD + i;
                            match index % 4 {
                                0 | 1 => {
                                    let runs = Arc::clone(&runs);
                                    atexit::register(move || {
                                        runs[index].fetch_add(1, Ordering::SeqCst);
                                    });
                                }
                                2 => {
                                    let handle =
                                        atexit::register(|| println!("cancelled: must not run"));
                                    assert!(handle.unregister());
                                }
                                _ => {
                                    atexit::register!(cancelled_by_function, index);
                                }
                            }
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let removed = atexit::unregister(cancelled_by_function);
            println!("unregistered by function: {removed}");
        })
        .stdout("unregistered by function: 4000\nran once: 8000, never: 8000, twice or more: 0\n"),
        // Threads register, cancel, clear and run while the main thread
        // exits: the process ends (no deadlock) and no handler runs twice.
        // Each thread stops after a bounded number of registrations: one
        // registering forever would hold the exit up (documented).
        Scenario::new("threads_hammer_during_exit", || {
            const THREADS: usize = 4;
            const PER_THREAD: usize = 5000;
            static RUNS: [AtomicUsize; THREADS * PER_THREAD] =
                [const { AtomicUsize::new(0) }; THREADS * PER_THREAD];
            for thread in 0..THREADS {
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let index = thread * PER_THREAD + i;
                        let handle = atexit::register(move || {
                            if RUNS[index].fetch_add(1, Ordering::SeqCst) != 0 {
                                println!("handler {index} ran twice");
                            }
                        });
                        match i % 8 {
                            0 => {
                                handle.unregister();
                            }
                            1 if thread == 0 && i % 64 == 1 => atexit::run_exitfuncs(),
                            2 => {
                                let _ = atexit::ncallbacks();
                            }
                            3 if thread == 1 && i % 256 == 3 => atexit::clear(),
                            _ => {}
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(5));
            atexit::exit(0);
        }),
        Scenario::new("cpython_thread_safety", || {
            // CPython's test_atexit_thread_safety: 10 threads x 100 loops.
            fn func() {}
            let threads: Vec<_> = (0..10)
                .map(|_| {
                    std::thread::spawn(|| {
                        for _ in 0..100 {
                            atexit::register(func);
                            atexit::clear();
                            atexit::register(func);
                            atexit::unregister(func);
                            atexit::run_exitfuncs();
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            println!("done, {} left", atexit::ncallbacks());
        })
        .stdout("done, 0 left\n"),
        Scenario::new("two_threads_process_exit_at_once", || {
            static RUNS: AtomicUsize = AtomicUsize::new(0);
            atexit::register(|| {
                let runs = RUNS.fetch_add(1, Ordering::SeqCst) + 1;
                std::thread::sleep(Duration::from_millis(50));
                println!("handler run {runs}");
            });
            let barrier = Arc::new(std::sync::Barrier::new(2));
            for code in [0, 0] {
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    std::process::exit(code);
                });
            }
            std::thread::sleep(Duration::from_secs(30));
        })
        .stdout("handler run 1\n"),
        Scenario::new("atexit_exit_on_another_thread_during_an_exit", || {
            atexit::register(|| {
                println!("slow handler starts");
                std::thread::sleep(Duration::from_millis(300));
                println!("slow handler ends");
            });
            std::thread::spawn(|| {
                std::thread::sleep(Duration::from_millis(100));
                // Waits for the exit under way, then parks: its 9 is lost.
                atexit::exit(9);
            });
            std::process::exit(4);
        })
        .stdout("slow handler starts\nslow handler ends\n")
        .code(4),
        Scenario::new("exit_waits_for_a_handler_on_another_thread", || {
            atexit::register(say("older"));
            atexit::register(|| {
                println!("newer: start (worker)");
                std::thread::sleep(Duration::from_millis(300));
                println!("newer: done");
            });
            std::thread::spawn(atexit::run_exitfuncs);
            std::thread::sleep(Duration::from_millis(100));
            println!("main returns");
        })
        .stdout("newer: start (worker)\nmain returns\nnewer: done\nolder\n"),
        // The stress loop, `ATEXIT_STRESS_RUNS` times (200 by default): four
        // threads register and cancel handlers while the main thread calls
        // `atexit::exit`; the 100 handlers registered before the exit each run
        // exactly once, no handler runs twice, and the process ends.
        Scenario::new("stress::exit_while_threads_register", || {
            const PRE: usize = 100;
            const THREADS: usize = 4;
            const PER_THREAD: usize = 5000;
            static PRE_RUNS: [AtomicUsize; PRE] = [const { AtomicUsize::new(0) }; PRE];
            static RUNS: [AtomicUsize; THREADS * PER_THREAD] =
                [const { AtomicUsize::new(0) }; THREADS * PER_THREAD];
            // Registered first, so it runs last (after every pre-exit handler).
            atexit::register(|| {
                let once = PRE_RUNS
                    .iter()
                    .filter(|runs| runs.load(Ordering::SeqCst) == 1)
                    .count();
                let twice = RUNS
                    .iter()
                    .filter(|runs| runs.load(Ordering::SeqCst) > 1)
                    .count();
                println!(
                    "pre-exit handlers run once: {once} of {PRE}; handlers run twice: {twice}"
                );
            });
            for runs in &PRE_RUNS {
                atexit::register(move || {
                    runs.fetch_add(1, Ordering::SeqCst);
                });
            }
            for thread in 0..THREADS {
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let runs = &RUNS[thread * PER_THREAD + i];
                        let handle = atexit::register(move || {
                            runs.fetch_add(1, Ordering::SeqCst);
                        });
                        if i % 3 == 0 {
                            handle.unregister();
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(2));
            atexit::exit(0);
        })
        .stdout("pre-exit handlers run once: 100 of 100; handlers run twice: 0\n")
        .drive(Drive::Repeat(stress_runs())),
    ]
}

/// `ATEXIT_STRESS_RUNS`, 200 without.
fn stress_runs() -> usize {
    std::env::var("ATEXIT_STRESS_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}
