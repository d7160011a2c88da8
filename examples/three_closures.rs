//! Closures (Python's lambdas) run newest first.
//!
//! ```python
//! import atexit
//!
//! atexit.register(lambda: print("1. First"))
//! atexit.register(lambda: print("2. Second"))
//! atexit.register(lambda: print("3. Third"))
//! ```
//!
//! ```text
//! $ cargo run --example three_closures
//! 3. Third
//! 2. Second
//! 1. First
//! ```

fn main() {
    atexit::register(|| println!("1. First"));
    atexit::register(|| println!("2. Second"));
    atexit::register(|| println!("3. Third"));
}
