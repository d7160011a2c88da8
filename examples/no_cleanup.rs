//! A function registered and then unregistered does not run at exit.
//!
//! ```python
//! import atexit
//!
//! def cleanup():
//!     print("Cleaning up...")
//!
//! atexit.register(cleanup)
//! atexit.unregister(cleanup)
//! print("No cleanup this time!")
//! ```
//!
//! ```text
//! $ cargo run --example no_cleanup
//! No cleanup this time!
//! ```

fn cleanup() {
    println!("Cleaning up...");
}

fn main() {
    atexit::register(cleanup);
    atexit::unregister(cleanup);
    println!("No cleanup this time!");
}
