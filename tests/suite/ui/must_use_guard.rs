// A guard dropped at once cancels the registration at once.
#![deny(unused_must_use)]

fn main() {
    atexit::register(|| println!("cleanup")).cancel_on_drop();
}
