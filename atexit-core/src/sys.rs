//! The operating-system hooks: run the handlers when the C runtime exits, keep
//! a forked child from running its parent's handlers, end the process in each
//! of the ways an exit can end.

use crate::global::Ending;
use crate::reason::Signal;
use std::io::Write;
use std::sync::Once;

static INSTALL: Once = Once::new();

/// Installs the hooks, once per process. Called from a load-time constructor
/// (so `#[atexit::handler]` functions run even if the API is never called) and
/// again on first use of the registry, which covers a platform where the
/// constructor did not run.
pub(crate) fn install_hooks() {
    INSTALL.call_once(|| {
        imp::install();
        crate::panic_hook::install();
    });
}

#[ctor::ctor(unsafe)]
fn install_at_load() {
    install_hooks();
}

/// Writes to stderr without taking Rust's stderr lock, which a stuck handler
/// may hold.
pub(crate) fn write_stderr(message: &str) {
    imp::write_stderr(message.as_bytes())
}

/// Ends the process with `code` without running any exit handler.
pub(crate) fn exit_now(code: i32) -> ! {
    imp::exit_now(code)
}

/// Flushes the C runtime's output streams.
pub(crate) fn flush_c_streams() {
    imp::flush_c_streams()
}

/// Flushes Rust's stdout and the C runtime's streams, then ends the process
/// with `code` at once: for a status chosen inside the C runtime's exit,
/// which cannot be told about it.
pub(crate) fn flush_and_exit_now(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    imp::flush_c_streams();
    imp::exit_now(code)
}

/// Ends the process at once as `ending` says, running nothing more. Used when
/// the deadline passes, so it takes no lock a stuck handler may hold.
pub(crate) fn end_now(ending: Ending) -> ! {
    match ending {
        Ending::Code(code) => imp::exit_now(code),
        Ending::Signal(signal) => die_by(signal),
        Ending::Abort => std::process::abort(),
        // The C runtime's status was not told to us; 1 says "not a success".
        Ending::Unknown => imp::exit_now(1),
    }
}

/// Ends the process by `signal`'s default action, so the parent sees a death
/// by that signal; `128 + number` where that cannot be done.
pub(crate) fn die_by(signal: Signal) -> ! {
    imp::die_by(signal)
}

#[cfg(unix)]
mod imp {
    use crate::global::at_exit;
    use crate::global::fork;
    use crate::reason::Signal;
    use std::ffi::{c_int, c_void};

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    extern "C" {
        // glibc's `on_exit`: like `atexit`, and the callback is told the status.
        fn on_exit(function: extern "C" fn(c_int, *mut c_void), argument: *mut c_void) -> c_int;
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    extern "C" fn exit_hook(status: c_int, _: *mut c_void) {
        at_exit(Some(status));
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    extern "C" fn exit_hook() {
        at_exit(None);
    }

    fn register_exit_hook() -> c_int {
        // SAFETY: `exit_hook` is an `extern "C"` function that never unwinds
        // (`at_exit` catches every panic).
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        unsafe {
            on_exit(exit_hook, std::ptr::null_mut())
        }
        // SAFETY: as above.
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        unsafe {
            libc::atexit(exit_hook)
        }
    }

    /// Keeps the shared object this code is in (a `cdylib` or plugin that
    /// uses atexit) loaded until the process ends: the C runtime's exit calls
    /// the hook registered below, and `on_exit` has no way to take it back if
    /// the object is unloaded (a `dlclose` then made the exit jump into
    /// unmapped memory). For the main executable this is a no-op.
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    ))]
    fn pin_this_object() {
        // SAFETY: `dladdr` fills a zeroed `Dl_info` we own for an address in
        // this object; `dlopen` with `RTLD_NOLOAD` only looks up an object
        // already loaded (never loads one) and marks it never to be unloaded.
        // The handle is kept on purpose: the object stays until the end.
        unsafe {
            let mut info: libc::Dl_info = std::mem::zeroed();
            let here = pin_this_object as *const () as *const c_void;
            if libc::dladdr(here, &mut info) != 0 && !info.dli_fname.is_null() {
                libc::dlopen(
                    info.dli_fname,
                    libc::RTLD_LAZY | libc::RTLD_NOLOAD | libc::RTLD_NODELETE,
                );
            }
        }
    }

    #[cfg(not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    )))]
    fn pin_this_object() {}

    pub(super) fn install() {
        pin_this_object();
        // Both fail only when libc is out of memory. Say so: the handlers then
        // run only through `atexit::exit` and `run_exitfuncs`.
        if register_exit_hook() != 0 {
            super::write_stderr(
                "atexit: cannot hook the C runtime's exit; handlers run only on atexit::exit\n",
            );
        }
        // SAFETY: the fork hooks are `extern "C" fn()`s that never unwind and
        // only touch our own lock.
        let fork_hooks = unsafe {
            libc::pthread_atfork(Some(fork::prepare), Some(fork::parent), Some(fork::child))
        };
        if fork_hooks != 0 {
            super::write_stderr(
                "atexit: pthread_atfork() failed; forked children may run parent handlers\n",
            );
        }
    }

    pub(super) fn write_stderr(mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // SAFETY: writing initialized bytes we own to file descriptor 2.
            let written = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
            match usize::try_from(written) {
                Ok(written) if written > 0 => bytes = &bytes[written..],
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return,
            }
        }
    }

    pub(super) fn flush_c_streams() {
        // SAFETY: `fflush(NULL)` flushes every C output stream.
        unsafe { libc::fflush(std::ptr::null_mut()) };
    }

    pub(super) fn exit_now(code: i32) -> ! {
        // SAFETY: `_exit` takes any status and does not return.
        unsafe { libc::_exit(code) }
    }

    pub(super) fn die_by(signal: Signal) -> ! {
        // Restores the default action, unblocks the signal and raises it.
        let _ = signal_hook::low_level::emulate_default_handler(signal.number());
        // Reached only for a signal whose default is to be ignored.
        exit_now(128 + signal.number())
    }
}

#[cfg(windows)]
mod imp {
    use crate::reason::Signal;
    use std::ffi::c_int;

    extern "C" {
        // The C runtime's `atexit`: runs when `main` returns, not on
        // `std::process::exit`, which calls `ExitProcess` (rust-lang/rust#104816).
        fn atexit(callback: extern "C" fn()) -> c_int;
        fn fflush(stream: *mut std::ffi::c_void) -> c_int;
    }

    type Handle = *mut std::ffi::c_void;
    const STD_ERROR_HANDLE: u32 = -12_i32 as u32;

    extern "system" {
        fn GetStdHandle(which: u32) -> Handle;
        fn WriteFile(
            file: Handle,
            buffer: *const u8,
            length: u32,
            written: *mut u32,
            overlapped: *mut std::ffi::c_void,
        ) -> i32;
        fn GetCurrentProcess() -> Handle;
        fn TerminateProcess(process: Handle, code: u32) -> i32;
    }

    extern "C" fn exit_hook() {
        crate::global::at_exit(None);
    }

    pub(super) fn install() {
        // SAFETY: `exit_hook` is an `extern "C" fn()` that never unwinds.
        if unsafe { atexit(exit_hook) } != 0 {
            super::write_stderr("atexit: CRT atexit() failed; handlers run only on atexit::exit\n");
        }
    }

    pub(super) fn write_stderr(bytes: &[u8]) {
        // Not through Rust's stderr, whose lock a stuck handler may hold.
        let mut written = 0;
        // SAFETY: writes bytes we own to the process's stderr handle.
        unsafe {
            WriteFile(
                GetStdHandle(STD_ERROR_HANDLE),
                bytes.as_ptr(),
                u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                &mut written,
                std::ptr::null_mut(),
            );
        }
    }

    pub(super) fn flush_c_streams() {
        // SAFETY: `fflush(NULL)` flushes every C output stream.
        unsafe { fflush(std::ptr::null_mut()) };
    }

    pub(super) fn exit_now(code: i32) -> ! {
        // `TerminateProcess`, not `ExitProcess`: no DLL detach code runs, so
        // no lock a stuck thread holds can stop the end.
        // SAFETY: ends this process; the pseudo-handle needs no closing.
        unsafe { TerminateProcess(GetCurrentProcess(), code as u32) };
        std::process::abort()
    }

    pub(super) fn die_by(signal: Signal) -> ! {
        // Windows has no death by signal. Ctrl+C and Ctrl+Break end a console
        // program with STATUS_CONTROL_C_EXIT by default; do the same.
        let _ = signal;
        exit_now(0xC000_013A_u32 as i32)
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use crate::reason::Signal;

    pub(super) fn install() {}

    pub(super) fn write_stderr(bytes: &[u8]) {
        use std::io::Write;
        let _ = std::io::stderr().write_all(bytes);
    }

    pub(super) fn flush_c_streams() {}

    pub(super) fn exit_now(code: i32) -> ! {
        std::process::exit(code)
    }

    pub(super) fn die_by(signal: Signal) -> ! {
        exit_now(128 + signal.number())
    }
}
