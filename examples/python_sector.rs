//! A farewell from a handler registered by the attribute, Python's
//! `@atexit.register` decorator.
//!
//! ```python
//! import atexit
//!
//! @atexit.register
//! def goodbye():
//!     print("You are now leaving the Python sector.")
//! ```
//!
//! ```text
//! $ cargo run --example python_sector
//! You are now leaving the Python sector.
//! ```

#[atexit::handler]
fn goodbye() {
    println!("You are now leaving the Python sector.");
}

fn main() {}
