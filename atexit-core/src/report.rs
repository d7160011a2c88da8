//! Running one handler and reporting how it failed, as CPython's
//! "Exception ignored in atexit callback" does: the report names the handler,
//! the other handlers still run, and the exit status is not changed.

use crate::callback::Callback;
use std::any::Any;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};

/// The payload `atexit::exit` unwinds with when a handler calls it while the
/// process is already exiting.
pub(crate) struct ExitFromHandler(pub(crate) i32);

/// Runs `callback`, catching and reporting a panic.
pub(crate) fn invoke(callback: Callback) {
    let name = callback.name();
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| callback.run())) {
        report_panic(name, payload);
    }
}

fn report_panic(name: &str, payload: Box<dyn Any + Send>) {
    let line = if let Some(ExitFromHandler(code)) = payload.downcast_ref() {
        format!(
            "atexit: exit handler `{name}` called atexit::exit({code}) while the process \
             was already exiting; the call ended that handler and the exit goes on \
             with its own status\n"
        )
    } else {
        format!(
            "atexit: exit handler `{name}` panicked: {}; the other handlers still run\n",
            message(&*payload)
        )
    };
    // stderr may be closed; a failed report must not stop the other handlers.
    let _ = std::io::stderr().write_all(line.as_bytes());
    // The payload's destructor is user code and may panic in turn.
    if let Err(second) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        let _ = std::io::stderr().write_all(
            format!("atexit: the panic payload of exit handler `{name}` panicked when dropped\n")
                .as_bytes(),
        );
        std::mem::forget(second);
    }
}

/// The text of a panic payload, as the default panic hook shows it.
pub(crate) fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "Box<dyn Any>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(message(&"static"), "static");
        assert_eq!(message(&String::from("owned")), "owned");
        assert_eq!(message(&42_u8), "Box<dyn Any>");
    }
}
