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
