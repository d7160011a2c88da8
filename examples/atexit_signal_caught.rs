//! `atexit_signal_child` with signal handling on: SIGTERM runs the exit
//! handler, then the process dies by SIGTERM all the same, so whoever sent it
//! sees the signal.
//!
//! ```text
//! $ cargo run --example atexit_signal_caught & sleep 1; kill -TERM $!
//! CHILD: Registered
//! CHILD: atexit handler ran on SIGTERM
//! ```

fn on_exit() {
    match atexit::exit_reason() {
        Some(atexit::ExitReason::Signal(signal)) => {
            println!("CHILD: atexit handler ran on {signal}")
        }
        other => println!("CHILD: atexit handler ran: {other:?}"),
    }
}

fn main() {
    atexit::catch_signals().expect("signal handling");
    atexit::register(on_exit);
    println!("CHILD: Registered");
    std::thread::sleep(std::time::Duration::from_secs(5));
    println!("CHILD: slept to the end, which it should not have");
}
