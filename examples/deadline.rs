//! A handler that never returns, and a deadline of 500 ms for the whole exit:
//! the deadline names the hung handler on stderr, skips the handlers still
//! waiting, and ends the process with the status it was going to have (3).
//!
//! ```text
//! $ cargo run --example deadline; echo "status $?"
//! main: exiting with 3
//! atexit: exit deadline of 500ms passed: exit handler `deadline::hang_forever` is still running; ...
//! status 3
//! ```

use std::time::Duration;

fn never_reached() {
    println!("never_reached: skipped by the deadline");
}

fn hang_forever() {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn main() {
    atexit::set_deadline(Some(Duration::from_millis(500)));
    atexit::register(never_reached);
    atexit::register(hang_forever);
    println!("main: exiting with 3");
    atexit::exit(3);
}
