//! Order: handlers run newest first, after the `#[atexit::handler]`s by
//! priority; registering, unregistering and running during a run.

use crate::scenario::{say, Scenario};

pub fn all() -> Vec<Scenario> {
    vec![
        // The static handlers are in `statics.rs`; they print only in this
        // scenario and the next.
        Scenario::new("static_order", || {
            atexit::register(say("runtime 1"));
            atexit::register(say("runtime 2"));
        })
        .stdout(
            "runtime 2\nruntime 1\nalpha_urgent (priority 5)\nbeta_only\nalpha_second\nalpha_first\n\
             zz_declared_first\nalpha_last (priority -5)\n",
        ),
        // Issue 10, item 10: handlers from one `macro_rules!` expansion ran in
        // declaration order, as they share their line and column.
        Scenario::new("handlers_from_one_macro_expansion", || {})
            .stdout("third\nsecond\nfirst\n"),
        // Issue 10, item 6: `#[atexit::handler]`s taken in after a load-time
        // constructor used the API (`USES_THE_API_FIRST` below) keep their
        // order, and `clear` removes them: it used to miss them, and they ran.
        Scenario::new("static_order_after_a_load_time_use", || {
            atexit::register(say("runtime 1"));
            atexit::register(say("runtime 2"));
        })
        .stdout(
            "runtime 2\nruntime 1\nalpha_urgent (priority 5)\nbeta_only\nalpha_second\nalpha_first\n\
             zz_declared_first\nalpha_last (priority -5)\n",
        ),
        Scenario::new("clear_after_a_load_time_use", || {
            atexit::clear();
            println!("after clear: {}", atexit::ncallbacks());
            atexit::register(say("registered after clear"));
        })
        .stdout("after clear: 0\nregistered after clear\n"),
        Scenario::new("unregister_static", || {
            assert_eq!(atexit::unregister(crate::statics::alpha::alpha_last), 1);
            assert_eq!(atexit::unregister(crate::statics::alpha::alpha_last), 0);
        })
        .stdout(
            "alpha_urgent (priority 5)\nbeta_only\nalpha_second\nalpha_first\nzz_declared_first\n",
        ),
        Scenario::new("register_during_exit", || {
            atexit::register(say("C (oldest)"));
            atexit::register(|| {
                println!("A");
                atexit::register(say("B (registered by A)"));
            });
        })
        .stdout("A\nB (registered by A)\nC (oldest)\n"),
        Scenario::new("unregister_during_exit", || {
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
        })
        .stdout("killer: true 1\n"),
        // The run takes handlers in batches: one cancelled, or registered, by
        // another thread while an earlier handler of the batch runs is seen
        // before the next handler starts.
        Scenario::new("another_thread_cancels_and_registers_during_exit", || {
            atexit::register(say("C (oldest)"));
            let victim = atexit::register(say("victim: must not run"));
            atexit::register(move || {
                let cancelled = std::thread::spawn(move || victim.unregister());
                println!("A: cancelled on another thread: {}", cancelled.join().unwrap());
                std::thread::spawn(|| {
                    atexit::register(say("B (registered on another thread)"));
                })
                .join()
                .unwrap();
            });
        })
        .stdout("A: cancelled on another thread: true\nB (registered on another thread)\nC (oldest)\n"),
        Scenario::new("nested_run_exitfuncs", || {
            atexit::register(say("3"));
            atexit::register(say("2"));
            atexit::register(|| {
                println!("1 runs the rest");
                atexit::run_exitfuncs();
                println!("1 done");
            });
            atexit::run_exitfuncs();
            println!("main: ncallbacks {}", atexit::ncallbacks());
            atexit::register(say("registered after the explicit run"));
        })
        .stdout(
            "1 runs the rest\n2\n3\n1 done\nmain: ncallbacks 0\nregistered after the explicit run\n",
        ),
        Scenario::new("clear_and_ncallbacks", || {
            let base = atexit::ncallbacks();
            atexit::register(say("cleared: must not run"));
            atexit::register!(|n: u32| println!("cleared {n}: must not run"), 1);
            println!("added {}", atexit::ncallbacks() - base);
            atexit::clear();
            println!("after clear {}", atexit::ncallbacks());
            atexit::register(say("registered after clear"));
        })
        .stdout("added 2\nafter clear 0\nregistered after clear\n"),
    ]
}

/// A load-time constructor that uses the API before any other constructor
/// ran (its section sorts first): the `#[atexit::handler]`s come in after
/// the registry was first used. Only in the scenarios that check it.
extern "C" fn uses_the_api_first() {
    let scenario = crate::scenario::current();
    if scenario.starts_with("order::") && scenario.ends_with("_after_a_load_time_use") {
        assert_eq!(atexit::ncallbacks(), 0, "no handler is in yet");
    }
}

#[used]
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "freebsd"),
    link_section = ".init_array.00000"
)]
static USES_THE_API_FIRST: extern "C" fn() = uses_the_api_first;
