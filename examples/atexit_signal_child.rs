//! Registers a handler and sleeps. Without signal handling, SIGTERM ends the
//! process at once by the signal's default action: the handler does not run.
//! Started by `atexit_signal_parent`.

fn not_called() {
    println!("CHILD: atexit handler should not have been called");
}

fn main() {
    atexit::register(not_called);
    println!("CHILD: Registered");
    std::thread::sleep(std::time::Duration::from_secs(5));
    println!("CHILD: slept to the end, which it should not have");
}
