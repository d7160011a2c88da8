//! `#[atexit::handler]` functions for the ordering scenarios, in two modules
//! and with priorities. They print only in the scenarios that check them, as
//! every scenario process registers them.

use crate::scenario::current;

fn show(line: &str) {
    if ["order::static_order", "order::unregister_static"].contains(&current().as_str()) {
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
