//! The simplest use: register a function, and it runs when `main` returns.
//!
//! ```text
//! $ cargo run --example atexit_simple
//! Registering
//! Registered
//! all_done()
//! ```

fn all_done() {
    println!("all_done()");
}

fn main() {
    println!("Registering");
    atexit::register(all_done);
    println!("Registered");
}
