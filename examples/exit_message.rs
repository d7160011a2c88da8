//! One handler, registered with `atexit::register`, runs after `main`, even
//! after a pause.
//!
//! ```python
//! import atexit, time
//!
//! def exit_handler():
//!     print('Message from exit handler...')
//!
//! atexit.register(exit_handler)
//! print('Will sleep for 1 second...')
//! time.sleep(1)
//! ```
//!
//! ```text
//! $ cargo run --example exit_message
//! Will sleep for 1 second...
//! Message from exit handler...
//! ```

fn exit_handler() {
    println!("Message from exit handler...");
}

fn main() {
    atexit::register(exit_handler);
    println!("Will sleep for 1 second...");
    std::thread::sleep(std::time::Duration::from_secs(1));
}
