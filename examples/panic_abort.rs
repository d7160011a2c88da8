//! Under `panic = "abort"` nothing runs after a panic, unless the program
//! calls `atexit::run_on_panic_abort()`: then the handlers run before the
//! abort. Build it with the `panic-abort` profile to see it:
//!
//! ```text
//! $ cargo run --profile panic-abort --example panic_abort
//! handler ran before the abort
//! (killed by SIGABRT)
//! $ cargo run --profile panic-abort --example panic_abort -- --no-hook
//! (killed by SIGABRT, nothing printed)
//! ```

fn main() {
    if !std::env::args().any(|arg| arg == "--no-hook") {
        atexit::run_on_panic_abort();
    }
    atexit::register(|| println!("handler ran before the abort"));
    panic!("boom");
}
