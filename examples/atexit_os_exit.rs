//! `atexit::exit_now` is Python's `os._exit`: the process ends at once and no
//! handler runs.
//!
//! ```text
//! $ cargo run --example atexit_os_exit
//! Registering
//! Registered
//! Exiting...
//! ```

fn not_called() {
    println!("This should not be called");
}

fn main() {
    println!("Registering");
    atexit::register(not_called);
    println!("Registered");
    println!("Exiting...");
    atexit::exit_now(0);
}
