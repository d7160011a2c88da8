//! Async handlers: they keep their place among the sync ones, run on a
//! thread with live thread-locals, and fail, exit and hang like sync ones.

use std::time::Duration;

use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario::new("async_handlers_keep_their_place", || {
            atexit::register(say("sync, registered first"));
            atexit::register_async(|| async {
                // Yields once, so the handler really waits to be woken.
                let mut yielded = false;
                std::future::poll_fn(|cx| {
                    if yielded {
                        std::task::Poll::Ready(())
                    } else {
                        yielded = true;
                        cx.waker().wake_by_ref();
                        std::task::Poll::Pending
                    }
                })
                .await;
                println!("async, registered second");
                atexit::register(say("registered by the async handler"));
            });
            atexit::register(say("sync, registered third"));
        })
        .stdout(
            "sync, registered third\nasync, registered second\nregistered by the async handler\n\
             sync, registered first\n",
        ),
        Scenario::new("async_handler_has_live_thread_locals", || {
            thread_local!(static BUFFER: std::cell::RefCell<Vec<u8>> = const {
                std::cell::RefCell::new(Vec::new())
            });
            atexit::register_async(|| async {
                BUFFER.with(|buffer| buffer.borrow_mut().extend_from_slice(b"fresh"));
                println!(
                    "thread-local in an async handler: {}",
                    BUFFER.with(|b| b.borrow().len())
                );
            });
        })
        .stdout("thread-local in an async handler: 5\n"),
        Scenario::new("async_handler_panics", || {
            atexit::register(say("older handler still runs"));
            atexit::register_async(|| async { panic!("async failure") });
            std::process::exit(4);
        })
        .stdout("older handler still runs\n")
        .code(4)
        .stderr_has(&["panicked: async failure; the other handlers still run"]),
        Scenario::new("async_handler_calls_exit", || {
            atexit::register(say("older handler still runs"));
            atexit::register_async(|| async {
                println!("async handler asks to exit");
                atexit::exit(9);
            });
            std::process::exit(4);
        })
        .stdout("async handler asks to exit\nolder handler still runs\n")
        .code(4)
        .stderr_has(&["called atexit::exit(9) while the process was already exiting"]),
        Scenario::new("async_handler_calls_process_exit", || {
            // Misuse: std parks a second exiting thread for ever, so only the
            // deadline ends this exit.
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register(say("older handler: skipped by the deadline"));
            atexit::register_async(|| async {
                println!("async handler calls std::process::exit(6)");
                std::process::exit(6);
            });
        })
        .stdout("async handler calls std::process::exit(6)\n")
        .stderr_has(&[
            "exit deadline of 300ms passed: exit handler \
             `scenarios::async_handlers::all::{{closure}}::{{closure}}` is still running; the \
             remaining handlers are skipped and the process ends with status 0",
        ]),
        Scenario::new("async_handler_nested_run_is_waited_for", || {
            let (started, has_started) = std::sync::mpsc::channel();
            atexit::register(say("older handler"));
            atexit::register_async(move || async move {
                println!("async handler started");
                // A nested run: the older handler runs now, inside this one.
                atexit::run_exitfuncs();
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                println!("async handler finished");
            });
            std::thread::spawn(atexit::run_exitfuncs);
            has_started.recv().unwrap();
            // `main` returns: the exit waits for the handler in progress.
        })
        .stdout("async handler started\nolder handler\nasync handler finished\n"),
        Scenario::new("async_handler_calls_process_exit_during_atexit_exit", || {
            atexit::register(say("oldest: still runs"));
            atexit::register_async(|| async {
                println!("calling std::process::exit(7)");
                std::process::exit(7)
            });
            atexit::exit(0);
        })
        .stdout("calling std::process::exit(7)\noldest: still runs\n")
        .code(7),
        Scenario::new("async_handler_unregistered", || {
            async fn flush() {
                println!("flush: must not run");
            }
            let before = atexit::ncallbacks();
            atexit::register_async(flush);
            atexit::register_async(flush);
            let handle = atexit::register_async(|| async { println!("cancelled: must not run") });
            assert!(handle.unregister());
            assert_eq!(atexit::unregister(flush), 2);
            assert_eq!(atexit::ncallbacks(), before);
        }),
        // Issue 20, item 1: a `poll` that blocks on a std channel (which
        // parks the thread) while its waker fires from another thread; the
        // built-in executor's bare park slept through that wake-up for ever.
        Scenario::new("a_wake_up_during_a_blocking_poll_is_not_lost", || {
            atexit::register_async(|| async {
                let mut polls = 0;
                std::future::poll_fn(|cx| {
                    polls += 1;
                    if polls > 1 {
                        return std::task::Poll::Ready(());
                    }
                    let (send, receive) = std::sync::mpsc::channel();
                    let waker = cx.waker().clone();
                    std::thread::spawn(move || {
                        waker.wake();
                        std::thread::sleep(Duration::from_millis(50));
                        send.send(()).unwrap();
                    });
                    receive.recv().unwrap();
                    std::task::Poll::Pending
                })
                .await;
                println!("woken after a blocking poll");
            });
        })
        .stdout("woken after a blocking poll\n")
        .hang_after(Duration::from_secs(20)),
        Scenario::new("async_handler_past_the_deadline", || {
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register(say("never reached"));
            atexit::register_async(std::future::pending::<()>);
            std::process::exit(5);
        })
        .code(5)
        .stderr_has(&[
            "exit deadline of 300ms passed: exit handler `core::future::pending::pending<()>",
            "` is still running; the remaining handlers are skipped and the process ends with status 5",
        ]),
    ]
}
