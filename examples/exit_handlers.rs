//! Two `#[atexit::handler]` functions in one file: the one declared last runs
//! first, as stacked Python decorators do.
//!
//! ```text
//! $ cargo run --example exit_handlers
//! Will sleep for 1 second...
//! Message from exit handler 2...
//! Message from exit handler 1...
//! ```

#[atexit::handler]
fn exit_handler_1() {
    println!("Message from exit handler 1...");
}

#[atexit::handler]
fn exit_handler_2() {
    println!("Message from exit handler 2...");
}

fn main() {
    println!("Will sleep for 1 second...");
    std::thread::sleep(std::time::Duration::from_secs(1));
}
