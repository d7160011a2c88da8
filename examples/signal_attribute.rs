//! A program that only uses `#[atexit::handler]` can still catch signals:
//! `catch_signals` on any one handler installs the signal handling at load
//! time. Ctrl+C runs the handler, then the process dies by SIGINT.
//!
//! ```text
//! $ cargo run --example signal_attribute
//! working... (press Ctrl+C)
//! ^Cflushing on SIGINT
//! ```

#[atexit::handler(catch_signals)]
fn flush() {
    match atexit::exit_reason() {
        Some(atexit::ExitReason::Signal(signal)) => println!("flushing on {signal}"),
        other => println!("flushing: {other:?}"),
    }
}

fn main() {
    println!("working... (press Ctrl+C)");
    std::thread::sleep(std::time::Duration::from_secs(10));
    println!("done without a signal");
}
