//! One function registered three times with different arguments runs three
//! times, newest registration first.
//!
//! ```text
//! $ cargo run --example atexit_multiple
//! my_cleanup(third)
//! my_cleanup(second)
//! my_cleanup(first)
//! ```

fn my_cleanup(name: &str) {
    println!("my_cleanup({name})");
}

fn main() {
    atexit::register!(my_cleanup, "first");
    atexit::register!(my_cleanup, "second");
    atexit::register!(my_cleanup, "third");
}
