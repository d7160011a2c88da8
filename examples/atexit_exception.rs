//! A handler that panics is reported on stderr, the others still run, and the
//! exit status the program chose (0 here) is kept.
//!
//! ```text
//! $ cargo run --example atexit_exception
//! ... stderr:
//! atexit: exit handler `atexit_exception::exit_with_exception` panicked: Registered second; ...
//! atexit: exit handler `atexit_exception::exit_with_exception` panicked: Registered first; ...
//! ```

fn exit_with_exception(message: &'static str) {
    panic!("{message}");
}

fn main() {
    atexit::register!(exit_with_exception, "Registered first");
    atexit::register!(exit_with_exception, "Registered second");
}
