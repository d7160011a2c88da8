//! Registers a handler and sleeps. Without signal handling, SIGTERM ends the
//! process at once by the signal's default action: the handler does not run.
//! Started by `atexit_signal_parent`.

fn not_called() {
    println!("CHILD: atexit handler should not have been called");
}

fn main() {
    atexit::register(not_called);
    println!("CHILD: Registered");
    // Started by `atexit_signal_parent`: tell it the line is out, so that it
    // prints its own after it, as in Python's run of this pair.
    if let Some(ready) = std::env::var_os("ATEXIT_SIGNAL_CHILD_READY") {
        std::fs::write(ready, "").expect("write the ready file");
    }
    std::thread::sleep(std::time::Duration::from_secs(5));
    println!("CHILD: slept to the end, which it should not have");
}
