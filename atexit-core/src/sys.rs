//! The operating-system hooks: run the handlers when the C runtime exits, keep
//! a forked child from running its parent's handlers, end the process at once.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs the hooks, once per process. Called from a load-time constructor
/// (so `#[atexit::handler]` functions run even if the API is never called) and
/// again on first use of the registry, which covers a platform where the
/// constructor did not run.
pub(crate) fn install_hooks() {
    INSTALL.call_once(imp::install);
}

#[ctor::ctor(unsafe)]
fn install_at_load() {
    install_hooks();
}

#[cfg_attr(not(any(unix, windows)), allow(dead_code))]
fn warn(message: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// Ends the process with `code` without running any exit handler.
pub(crate) fn exit_now(code: i32) -> ! {
    imp::exit_now(code)
}

#[cfg(unix)]
mod imp {
    use crate::global::{at_exit, fork};

    pub(super) fn install() {
        // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds; the
        // fork hooks are `extern "C" fn()`s that only touch our own lock.
        let (exit_hook, fork_hooks) = unsafe {
            (
                libc::atexit(at_exit),
                libc::pthread_atfork(Some(fork::prepare), Some(fork::parent), Some(fork::child)),
            )
        };
        // Both fail only when libc is out of memory. Say so: the handlers then
        // run only through `atexit::exit` and `run_exitfuncs`.
        if exit_hook != 0 {
            super::warn("atexit: libc atexit() failed; handlers run only on atexit::exit\n");
        }
        if fork_hooks != 0 {
            super::warn(
                "atexit: pthread_atfork() failed; forked children may run parent handlers\n",
            );
        }
    }

    pub(super) fn exit_now(code: i32) -> ! {
        // SAFETY: `_exit` takes any status and does not return.
        unsafe { libc::_exit(code) }
    }
}

#[cfg(windows)]
mod imp {
    use crate::global::at_exit;
    use std::ffi::c_int;

    extern "C" {
        // The C runtime's `atexit`: runs when `main` returns, not on
        // `std::process::exit`, which calls `ExitProcess` (rust-lang/rust#104816).
        fn atexit(callback: extern "C" fn()) -> c_int;
    }

    pub(super) fn install() {
        // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds.
        if unsafe { atexit(at_exit) } != 0 {
            super::warn("atexit: CRT atexit() failed; handlers run only on atexit::exit\n");
        }
    }

    pub(super) fn exit_now(code: i32) -> ! {
        // `ExitProcess`: no C runtime `atexit` callbacks, like `_exit`.
        std::process::exit(code)
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    pub(super) fn install() {}

    pub(super) fn exit_now(code: i32) -> ! {
        std::process::exit(code)
    }
}
