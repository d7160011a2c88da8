//! `atexit::exit` is Python's `sys.exit`: the handlers run, then the process
//! ends with the status given, on every platform.
//!
//! ```text
//! $ cargo run --example atexit_sys_exit
//! Registering
//! Registered
//! Exiting...
//! all_done()
//! ```

fn all_done() {
    println!("all_done()");
}

fn main() {
    println!("Registering");
    atexit::register(all_done);
    println!("Registered");
    println!("Exiting...");
    atexit::exit(0);
}
