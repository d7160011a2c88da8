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
    #[cfg(unix)]
    all.extend([
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
    all
}
