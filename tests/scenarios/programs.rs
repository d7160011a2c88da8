//! The scenario programs: each runs in a process of its own and prints what
//! its handlers do. The driver in `main.rs` checks the output.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn say(line: &'static str) -> impl FnOnce() + Send + 'static {
    move || println!("{line}")
}

pub fn run(name: &str) {
    match name {
        "static_order" => {
            atexit::register(say("runtime 1"));
            atexit::register(say("runtime 2"));
        }
        "unregister_static" => {
            assert_eq!(atexit::unregister(super::statics::alpha::alpha_last), 1);
            assert_eq!(atexit::unregister(super::statics::alpha::alpha_last), 0);
        }
        "process_exit" => {
            atexit::register(say("first"));
            atexit::register(say("second"));
            std::process::exit(7);
        }
        "atexit_exit_status" => {
            atexit::register(say("first"));
            atexit::exit(3);
        }
        "panic_in_main" => {
            atexit::register(say("handler after panic"));
            panic!("boom in main");
        }
        "panicking_handler_keeps_status" => {
            atexit::register(say("registered first"));
            atexit::register(|| panic!("handler failure"));
            atexit::register(say("registered third"));
            std::process::exit(3);
        }
        "non_string_panic_payload" => {
            atexit::register(say("still runs"));
            atexit::register(|| std::panic::panic_any(42_u32));
        }
        "async_handlers_keep_their_place" => {
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
        }
        "async_handler_has_live_thread_locals" => {
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
        }
        "async_handler_panics" => {
            atexit::register(say("older handler still runs"));
            atexit::register_async(|| async { panic!("async failure") });
            std::process::exit(4);
        }
        "async_handler_calls_exit" => {
            atexit::register(say("older handler still runs"));
            atexit::register_async(|| async {
                println!("async handler asks to exit");
                atexit::exit(9);
            });
            std::process::exit(4);
        }
        "async_handler_calls_process_exit" => {
            // Misuse: std parks a second exiting thread for ever, so only the
            // deadline ends this exit.
            atexit::set_timeout(Some(Duration::from_millis(300)));
            atexit::register(say("older handler: skipped by the deadline"));
            atexit::register_async(|| async {
                println!("async handler calls std::process::exit(6)");
                std::process::exit(6);
            });
        }
        "async_handler_nested_run_is_waited_for" => {
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
        }
        "async_handler_calls_process_exit_during_atexit_exit" => {
            atexit::register(say("oldest: still runs"));
            atexit::register_async(|| async {
                println!("calling std::process::exit(7)");
                std::process::exit(7)
            });
            atexit::exit(0);
        }
        "async_handler_unregistered" => {
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
        }
        "async_handler_past_the_deadline" => {
            atexit::set_timeout(Some(Duration::from_millis(300)));
            atexit::register(say("never reached"));
            atexit::register_async(std::future::pending::<()>);
            std::process::exit(5);
        }
        "register_during_exit" => {
            atexit::register(say("C (oldest)"));
            atexit::register(|| {
                println!("A");
                atexit::register(say("B (registered by A)"));
            });
        }
        "unregister_during_exit" => {
            let victim = atexit::register(say("victim: must not run"));
            fn by_function() {
                println!("by_function: must not run");
            }
            atexit::register(by_function);
            atexit::register(move || {
                println!(
                    "killer: {} {}",
                    victim.unregister(),
                    atexit::unregister(by_function)
                );
            });
        }
        "unregister_self_then_panic" => {
            fn self_remover() {
                println!("removed itself: {}", atexit::unregister(self_remover));
                panic!("after unregistering itself");
            }
            atexit::register(say("older handler still runs"));
            atexit::register(self_remover);
        }
        "atexit_exit_in_handler" => {
            atexit::register(say("older handler still runs"));
            atexit::register(|| {
                println!("calling atexit::exit(5)");
                atexit::exit(5);
            });
            atexit::register(say("newest handler"));
            std::process::exit(2);
        }
        "abort_runs_nothing" => {
            atexit::register(say("must not run after abort"));
            std::process::abort();
        }
        #[cfg(unix)]
        "sigkill_runs_nothing" => {
            atexit::register(say("must not run after SIGKILL"));
            // SAFETY: signalling our own process.
            unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            std::thread::sleep(Duration::from_secs(10));
        }
        "process_exit_in_handler" => {
            atexit::register(|| {
                println!("calling std::process::exit(5)");
                std::process::exit(5);
            });
        }
        "exit_during_run_exitfuncs" => {
            atexit::register(say("oldest"));
            atexit::register(|| atexit::exit(4));
            atexit::register(say("newest"));
            atexit::run_exitfuncs();
            println!("not reached");
        }
        "nested_run_exitfuncs" => {
            atexit::register(say("3"));
            atexit::register(say("2"));
            atexit::register(|| {
                println!("1 runs the rest");
                atexit::run_exitfuncs();
                println!("1 done");
            });
            atexit::run_exitfuncs();
            println!("main: ncallbacks {}", count_own());
            atexit::register(say("registered after the explicit run"));
        }
        "run_exitfuncs_from_another_thread_during_a_run" => {
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
        }
        "handler_spawns_and_joins_a_thread" => {
            atexit::register(|| {
                let answer = std::thread::spawn(|| 6 * 7).join().unwrap();
                println!("thread answered {answer}");
            });
        }
        "clear_and_ncallbacks" => {
            let base = atexit::ncallbacks();
            atexit::register(say("cleared: must not run"));
            atexit::register!(|n: u32| println!("cleared {n}: must not run"), 1);
            println!("added {}", atexit::ncallbacks() - base);
            atexit::clear();
            println!("after clear {}", atexit::ncallbacks());
            atexit::register(say("registered after clear"));
        }
        "thread_local_in_handler" => {
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
        }
        #[cfg(unix)]
        "signal_case" => signal_case(),
        #[cfg(unix)]
        "signal_then_main_returns" => {
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
        }
        #[cfg(unix)]
        "signal_then_main_returns_with_set_exit_code" => {
            atexit::catch_signals().unwrap();
            atexit::register(|| {
                std::thread::sleep(Duration::from_millis(300));
                atexit::set_exit_code(42);
            });
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(150));
        }
        #[cfg(unix)]
        "signal_then_process_exit" => {
            atexit::catch_signals().unwrap();
            atexit::register(|| std::thread::sleep(Duration::from_millis(300)));
            kill_self_after(50, libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(150));
            std::process::exit(3);
        }
        #[cfg(unix)]
        "signal_takes_over_a_run_whose_handler_exits" => {
            atexit::catch_signals().unwrap();
            atexit::set_timeout(Some(Duration::from_secs(10)));
            atexit::register(|| {
                println!("handler starts");
                std::thread::sleep(Duration::from_millis(300));
                println!("handler calls atexit::exit(7)");
                atexit::exit(7);
            });
            std::thread::spawn(atexit::run_exitfuncs);
            kill_self_after(100, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        }
        "deadline_covers_the_wait_for_another_thread" => {
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
        }
        #[cfg(unix)]
        "deadline_covers_a_blocked_flush" => {
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
            kill_self_after(100, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        }
        #[cfg(unix)]
        "sigpipe_from_a_handler_does_not_force" => {
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
        }
        "reason_on_return" => {
            atexit::register(print_reason);
        }
        "reason_on_process_exit" => {
            atexit::register(print_reason);
            std::process::exit(4);
        }
        "reason_on_atexit_exit" => {
            atexit::register(print_reason);
            atexit::exit(2);
        }
        "reason_on_panic" => {
            atexit::register(print_reason);
            panic!("main fails");
        }
        "reason_in_run_exitfuncs" => {
            atexit::register(print_reason);
            atexit::run_exitfuncs();
        }
        "exit_code_on_return" => {
            atexit::register(|| atexit::set_exit_code(5));
        }
        "exit_code_on_atexit_exit" => {
            atexit::register(|| atexit::set_exit_code(6));
            atexit::exit(2);
        }
        "exit_code_outside_an_exit_is_ignored" => {
            atexit::set_exit_code(9);
        }
        "deadline_on_process_exit" => {
            atexit::set_timeout(Some(Duration::from_millis(300)));
            atexit::register(say("older: skipped"));
            fn stuck() {
                println!("stuck starts");
                std::thread::sleep(Duration::from_secs(3600));
            }
            atexit::register(stuck);
            std::process::exit(4);
        }
        "deadline_not_reached" => {
            atexit::set_timeout(Some(Duration::from_secs(5)));
            atexit::register(say("quick handler"));
        }
        "cpython_thread_safety" => {
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
        }
        "two_threads_process_exit_at_once" => {
            use std::sync::atomic::AtomicUsize;
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
        }
        #[cfg(unix)]
        "signal_during_a_normal_exit" => {
            atexit::catch_signals().unwrap();
            atexit::register(|| {
                println!("slow handler starts");
                // SAFETY: signalling our own process.
                unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
                std::thread::sleep(Duration::from_millis(300));
                println!("slow handler ends");
            });
        }
        "handler_panics_while_panicking" => {
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
        }
        "atexit_exit_on_another_thread_during_an_exit" => {
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
        }
        "payload_drop_panics" => {
            struct Grenade;
            impl Drop for Grenade {
                fn drop(&mut self) {
                    panic!("the payload's destructor panics");
                }
            }
            atexit::register(|| eprintln!("older handler still runs"));
            atexit::register(|| std::panic::panic_any(Grenade));
        }
        #[cfg(unix)]
        "handler_writes_to_a_closed_stdout" => {
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
        }
        "handler_waits_for_a_lock_the_exiting_thread_holds" => {
            static LOCK: Mutex<()> = Mutex::new(());
            atexit::set_timeout(Some(Duration::from_millis(300)));
            fn needs_the_lock() {
                let _guard = LOCK.lock();
                println!("never: the exiting thread holds the lock");
            }
            atexit::register(needs_the_lock);
            let _held = LOCK.lock().unwrap();
            std::process::exit(5);
        }
        "data_loss" => data_loss(),
        "threads_register_concurrently" => threads_register_concurrently(),
        "threads_hammer_during_exit" => threads_hammer_during_exit(),
        "exit_while_threads_register" => exit_while_threads_register(),
        "exit_waits_for_a_handler_on_another_thread" => {
            atexit::register(say("older"));
            atexit::register(|| {
                println!("newer: start (worker)");
                std::thread::sleep(Duration::from_millis(300));
                println!("newer: done");
            });
            std::thread::spawn(atexit::run_exitfuncs);
            std::thread::sleep(Duration::from_millis(100));
            println!("main returns");
        }
        "process_exit_in_handler_during_atexit_exit" => {
            atexit::register(say("oldest: still runs"));
            atexit::register(|| {
                println!("calling std::process::exit(7)");
                std::process::exit(7)
            });
            atexit::exit(0);
        }
        #[cfg(unix)]
        "fork_while_threads_use_the_registry" => fork_while_threads_use_the_registry(),
        #[cfg(unix)]
        "fork_in_handler_child_runs_its_own" => {
            atexit::register(say("parent's older handler"));
            atexit::register(fork_child_with_its_own_handler);
        }
        #[cfg(unix)]
        "fork_in_handler_child_exit" => {
            atexit::register(|| {
                // SAFETY: fork; the child only runs Rust code of this thread.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    atexit::register(say("child's handler"));
                    atexit::exit(3);
                }
                println!("parent: child exited with {}", wait_for(pid));
            });
        }
        #[cfg(unix)]
        "fork_in_async_handler_child_runs_its_own" => {
            atexit::register(say("parent's older handler"));
            atexit::register_async(|| async { fork_child_with_its_own_handler() });
            std::process::exit(7);
        }
        #[cfg(unix)]
        "clear_in_forked_child_keeps_parent_captures" => {
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
        }
        #[cfg(unix)]
        "fork_child_skips_parent_handlers" => fork_scenario(ForkEnd::Exit),
        #[cfg(unix)]
        "fork_child_adopts_parent_handlers" => fork_scenario(ForkEnd::Adopt),
        #[cfg(unix)]
        "fork_child_exit_now" => fork_scenario(ForkEnd::ExitNow),
        other => panic!("unknown scenario {other}"),
    }
}

/// One cell of the data-loss matrix: 1,000 numbered records go through a
/// buffered writer whose flush is an exit handler, then the process ends as
/// `ATEXIT_END` says, with `ATEXIT_OTHERS` other handlers registered (one of
/// them panicking).
fn data_loss() {
    use std::io::{BufWriter, Write};

    static WRITER: Mutex<Option<BufWriter<std::fs::File>>> = Mutex::new(None);
    let path = std::env::var("ATEXIT_DATA_FILE").expect("ATEXIT_DATA_FILE");
    let end = std::env::var("ATEXIT_END").unwrap_or_default();
    let others: usize = std::env::var("ATEXIT_OTHERS")
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    if end.starts_with("SIG") {
        atexit::catch_signals().expect("catch signals");
    }
    let file = std::fs::File::create(path).expect("create the data file");
    *WRITER.lock().unwrap() = Some(BufWriter::with_capacity(1 << 20, file));
    fn flush() {
        // A panicking writer thread may have poisoned the lock: the data is
        // still there.
        let mut writer = WRITER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(writer) = writer.as_mut() {
            writer.flush().expect("flush the records");
        }
    }
    atexit::register(flush);
    for other in 0..others {
        if other == others / 2 {
            atexit::register(|| panic!("one of the other handlers fails"));
        } else {
            atexit::register(move || {
                std::hint::black_box(other);
            });
        }
    }
    for record in 0..1000 {
        let mut writer = WRITER.lock().unwrap();
        writeln!(writer.as_mut().unwrap(), "record {record}").unwrap();
    }
    match end.as_str() {
        "return" => {}
        "process::exit" => std::process::exit(0),
        "atexit::exit" => atexit::exit(0),
        "panic in main" => panic!("main fails"),
        "panic in a thread" => {
            let worker = std::thread::spawn(|| {
                let _writer = WRITER.lock().unwrap();
                panic!("a worker fails while holding the writer");
            });
            assert!(worker.join().is_err());
        }
        _ => {
            println!("ready");
            std::thread::sleep(Duration::from_secs(30));
        }
    }
}

fn print_reason() {
    println!("reason: {:?}", atexit::exit_reason());
}

fn count_own() -> usize {
    atexit::ncallbacks()
}

/// 8 threads × 2,000 registrations, a quarter of them cancelled by handle and
/// a quarter by function: every survivor runs exactly once at exit.
fn threads_register_concurrently() {
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
                            let handle = atexit::register(|| println!("cancelled: must not run"));
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
}

/// Threads register, cancel, clear and run while the main thread exits: the
/// process ends (no deadlock) and no handler runs twice. Each thread stops
/// after a bounded number of registrations: one registering forever would
/// hold the exit up (documented).
fn threads_hammer_during_exit() {
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
}

/// One cell of the signal matrix: `ATEXIT_SIGNAL_CASE` says which handlers to
/// register, `ATEXIT_SIGNAL_ENDING=code` asks for `128 + n`. Prints `ready`
/// once signals are caught, then waits to be signalled.
#[cfg(unix)]
fn signal_case() {
    use atexit::{CatchSignals, Signal, SignalEnding};

    let case = std::env::var("ATEXIT_SIGNAL_CASE").unwrap_or_default();
    let ending = match std::env::var("ATEXIT_SIGNAL_ENDING").as_deref() {
        Ok("code") => SignalEnding::ExitCode,
        _ => SignalEnding::Reraise,
    };
    if case == "chained" {
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
    if case == "ignored" {
        // SAFETY: sets SIGHUP to be ignored, as `nohup` does.
        unsafe { libc::signal(libc::SIGHUP, libc::SIG_IGN) };
    }
    let mut catch = CatchSignals::new().ending(ending);
    if case == "pipe" {
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
    match case.as_str() {
        "none" | "ignored" => {}
        "exit_code" => {
            atexit::register(|| atexit::set_exit_code(7));
        }
        "three" | "chained" | "pipe" => {
            atexit::register(|| println!("h1 ({})", reason()));
            atexit::register(say("h2"));
            atexit::register(say("h3"));
        }
        "panicking" => {
            atexit::register(say("h1"));
            atexit::register(|| panic!("h2 fails"));
            atexit::register(say("h3"));
        }
        "hung" => {
            atexit::set_timeout(Some(Duration::from_millis(300)));
            atexit::register(say("h1: skipped by the deadline"));
            atexit::register(|| {
                println!("h2 hangs");
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            });
        }
        "second_signal" => {
            atexit::register(say("older: never runs"));
            atexit::register(|| {
                println!("slow handler starts");
                std::thread::sleep(Duration::from_secs(20));
                println!("slow handler ends");
            });
        }
        other => panic!("unknown signal case {other}"),
    }
    println!("ready");
    std::thread::sleep(Duration::from_secs(30));
    println!("not interrupted");
}

/// Sends `signal` to this process after `ms` milliseconds, from a thread.
#[cfg(unix)]
fn kill_self_after(ms: u64, signal: i32) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        // SAFETY: signalling our own process.
        unsafe { libc::kill(libc::getpid(), signal) };
    });
}

#[cfg(unix)]
/// From a handler: forks a child that registers a handler of its own and
/// returns, while the parent waits for it.
#[cfg(unix)]
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

/// Threads register and cancel handlers while the main thread forks: every
/// child must be able to use the registry (the lock is never inherited held).
#[cfg(unix)]
fn fork_while_threads_use_the_registry() {
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;
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
}

/// Four threads register and cancel handlers while the main thread calls
/// `atexit::exit`: the 100 handlers registered before the exit each run
/// exactly once, no handler runs twice, and the process ends.
fn exit_while_threads_register() {
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
        println!("pre-exit handlers run once: {once} of {PRE}; handlers run twice: {twice}");
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
}

#[cfg(unix)]
enum ForkEnd {
    Exit,
    Adopt,
    ExitNow,
}

#[cfg(unix)]
fn fork_scenario(end: ForkEnd) {
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
            ForkEnd::Exit => std::process::exit(0),
            ForkEnd::Adopt => {
                println!("child: adopted {}", atexit::adopt_inherited());
                std::process::exit(0)
            }
            ForkEnd::ExitNow => atexit::exit_now(0),
        }
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    println!("parent: child exited with {}", libc::WEXITSTATUS(status));
}
