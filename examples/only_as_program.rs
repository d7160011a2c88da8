//! Registering only when the code runs as the program, not when it is used as
//! a library: Python's `if __name__ == "__main__":` guard.
//!
//! ```python
//! import atexit
//!
//! def cleanup():
//!     print("Cleaning up temporary data...")
//!
//! def process(items):
//!     return len(items)
//!
//! if __name__ == "__main__":
//!     atexit.register(cleanup)
//!     print(f"Processed {process(['a', 'b', 'c'])} items")
//! ```
//!
//! In Rust the guard is the crate's shape: only a binary has a `main`, and
//! code in `main` runs only when it is the program. So a library offers the
//! cleanup as a function (here the `library` module stands for one) and the
//! binary registers it in `main`. A library should not register by itself,
//! nor use `#[atexit::handler]`, which registers in every program that links
//! it, unless every such program wants the handler.
//!
//! ```text
//! $ cargo run --example only_as_program
//! Processed 3 items
//! Cleaning up temporary data...
//! ```

/// What would be the library crate: functions, no registration.
mod library {
    /// The cleanup the library offers; the program decides to register it.
    pub fn cleanup() {
        println!("Cleaning up temporary data...");
    }

    pub fn process(items: &[&str]) -> usize {
        items.len()
    }
}

/// Runs only when this is the program: the Rust `__name__ == "__main__"`.
fn main() {
    atexit::register(library::cleanup);
    println!("Processed {} items", library::process(&["a", "b", "c"]));
}
