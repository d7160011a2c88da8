//! `#[atexit::handler]` functions for the ordering scenarios, in two modules
//! and with priorities. They print only in the scenarios that check them, as
//! every scenario process registers them.

use crate::scenario::current;

fn show(line: &str) {
    let scenarios = [
        "order::static_order",
        "order::unregister_static",
        "order::static_order_after_a_load_time_use",
    ];
    if scenarios.contains(&current().as_str()) {
        println!("{line}");
    }
}

/// Three handlers from one `macro_rules!` expansion: they share the line and
/// column `line!()` and `column!()` give, and still run newest first.
macro_rules! three_handlers {
    () => {
        #[atexit::handler]
        fn from_a_macro_first() {
            show_in_macro_scenario("first");
        }
        #[atexit::handler]
        fn from_a_macro_second() {
            show_in_macro_scenario("second");
        }
        #[atexit::handler]
        fn from_a_macro_third() {
            show_in_macro_scenario("third");
        }
    };
}

three_handlers!();

fn show_in_macro_scenario(line: &str) {
    if current() == "order::handlers_from_one_macro_expansion" {
        println!("{line}");
    }
}

/// Declared first in the file, in a module whose name sorts last: the order
/// follows the file, not module names.
mod zz_inline {
    use super::show;

    #[atexit::handler]
    fn zz_declared_first() {
        show("zz_declared_first");
    }
}

pub mod alpha {
    use super::show;

    #[atexit::handler]
    fn alpha_first() {
        show("alpha_first");
    }

    #[atexit::handler(priority = 5)]
    fn alpha_urgent() {
        show("alpha_urgent (priority 5)");
    }

    #[atexit::handler]
    fn alpha_second() {
        show("alpha_second");
    }

    #[atexit::handler(priority = -5)]
    pub fn alpha_last() {
        show("alpha_last (priority -5)");
    }
}

pub mod beta {
    use super::show;

    #[atexit::handler]
    fn beta_only() {
        show("beta_only");
    }
}
