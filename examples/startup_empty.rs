//! `startup_handlers` without its 1,000 handlers: the baseline of the
//! start-up benchmark (`tests/suite/benches/startup.rs`).

fn main() {
    if std::env::args().any(|arg| arg == "--exit-now") {
        atexit::exit_now(0);
    }
    if std::env::args().any(|arg| arg == "--count") {
        println!("{}", atexit::ncallbacks());
    }
}
