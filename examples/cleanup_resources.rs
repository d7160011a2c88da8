//! The smallest use: one cleanup function, run after the main program.
//!
//! ```python
//! import atexit
//!
//! def cleanup():
//!     print("Cleaning up resources...")
//!
//! atexit.register(cleanup)
//! print("Main program is running...")
//! ```
//!
//! ```text
//! $ cargo run --example cleanup_resources
//! Main program is running...
//! Cleaning up resources...
//! ```

fn cleanup() {
    println!("Cleaning up resources...");
}

fn main() {
    atexit::register(cleanup);
    println!("Main program is running...");
}
