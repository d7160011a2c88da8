//! A handler registered with its arguments: Python's
//! `atexit.register(func, *args)` is `atexit::register!(func, args...)`.
//!
//! ```python
//! import atexit
//!
//! def cleanup(name):
//!     print(f"Cleaning up for {name}...")
//!
//! atexit.register(cleanup, "project_x")
//! ```
//!
//! ```text
//! $ cargo run --example cleanup_with_argument
//! Cleaning up for project_x...
//! ```

fn cleanup(name: &str) {
    println!("Cleaning up for {name}...");
}

fn main() {
    atexit::register!(cleanup, "project_x");
}
