//! A handler registered by the attribute (Python's decorator) can be
//! unregistered in `main` like any other: nothing runs at exit.
//!
//! ```python
//! import atexit, time
//!
//! @atexit.register
//! def exit_handler():
//!     print('Message from exit handler...')
//!
//! atexit.unregister(exit_handler)
//! print('Will sleep for 1 second...')
//! time.sleep(1)
//! ```
//!
//! ```text
//! $ cargo run --example decorator_unregister
//! Will sleep for 1 second...
//! ```

#[atexit::handler]
fn exit_handler() {
    println!("Message from exit handler...");
}

fn main() {
    atexit::unregister(exit_handler);
    println!("Will sleep for 1 second...");
    std::thread::sleep(std::time::Duration::from_secs(1));
}
