// A builder left without `.install()` does nothing: the compiler says so.
#![deny(unused_must_use)]

fn main() {
    atexit::CatchSignals::new().graceful_shutdown(std::time::Duration::from_secs(5));
}
