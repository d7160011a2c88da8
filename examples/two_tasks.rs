//! Two handlers run in reverse order of registration: the log summary,
//! registered last, is written before the database connection is closed.
//!
//! ```python
//! import atexit
//!
//! def task1():
//!     print("Task 1: Closing database connection")
//!
//! def task2():
//!     print("Task 2: Writing log summary")
//!
//! atexit.register(task1)
//! atexit.register(task2)
//! print("Working...")
//! ```
//!
//! ```text
//! $ cargo run --example two_tasks
//! Working...
//! Task 2: Writing log summary
//! Task 1: Closing database connection
//! ```

fn task1() {
    println!("Task 1: Closing database connection");
}

fn task2() {
    println!("Task 2: Writing log summary");
}

fn main() {
    atexit::register(task1);
    atexit::register(task2);
    println!("Working...");
}
