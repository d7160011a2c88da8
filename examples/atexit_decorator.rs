//! `#[atexit::handler]` registers a function before `main` starts, as
//! Python's `@atexit.register` decorator does.
//!
//! ```text
//! $ cargo run --example atexit_decorator
//! starting main program
//! all_done()
//! ```

#[atexit::handler]
fn all_done() {
    println!("all_done()");
}

fn main() {
    println!("starting main program");
}
