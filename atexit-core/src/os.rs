//! The operating-system calls the exit path needs, and nothing else: this
//! module calls no other module of the crate, so it can be used from any of
//! them (and from a signal handler, where the function says so).
//!
//! Everything here is bounded or cannot block on another thread: reports go
//! to file descriptor 2 by raw `write`s that give up when the descriptor stays
//! unwritable (a pipe nobody reads), and the process ends by `_exit` or by a
//! signal's default action, which no lock or destructor can hold up.

#[cfg(windows)]
pub(crate) mod console;
#[cfg(windows)]
pub(crate) mod file_id;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod start_time;
#[cfg(unix)]
pub(crate) mod tree;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// stderr stayed unwritable for a whole `patience` last time: later reports
/// do not wait for it again (each would cost the exit its patience), they
/// write what goes through at once.
static STDERR_STUCK: AtomicBool = AtomicBool::new(false);

/// Writes `bytes` to stderr without Rust's stderr lock (which a stuck thread
/// may hold), giving up once stderr has stayed unwritable for `patience` in
/// all (a full pipe nobody reads), or at once if it did so before.
pub(crate) fn write_stderr(bytes: &[u8], patience: Duration) {
    let patience = if STDERR_STUCK.load(Ordering::Relaxed) {
        Duration::ZERO
    } else {
        patience
    };
    let whole = imp::write_stderr(bytes, Instant::now().checked_add(patience));
    STDERR_STUCK.store(!whole, Ordering::Relaxed);
}

/// Whether stderr takes a write within `patience` (false for a full pipe
/// nobody reads; true where that cannot be told); no wait if it was stuck
/// before.
pub(crate) fn stderr_writable(patience: Duration) -> bool {
    let patience = if STDERR_STUCK.load(Ordering::Relaxed) {
        Duration::ZERO
    } else {
        patience
    };
    let writable = imp::stderr_writable(patience);
    STDERR_STUCK.store(!writable, Ordering::Relaxed);
    writable
}

/// Flushes the C runtime's output streams (`fflush(NULL)`). May block on a
/// full pipe: callers bound it with a watchdog.
pub(crate) fn flush_c_streams() {
    imp::flush_c_streams()
}

/// Ends the process with `code` at once, running nothing: `_exit`.
pub(crate) fn exit_now(code: i32) -> ! {
    imp::exit_now(code)
}

/// Ends the process by the default action of signal `number` (restored,
/// unblocked and raised), so the parent sees a death by that signal;
/// `128 + number` where that cannot be done.
pub(crate) fn die_by(number: i32) -> ! {
    imp::die_by(number)
}

/// Restores the default action of signal `number`, unblocks it in this
/// thread and raises it there. For a signal whose default ends the process
/// (every signal this crate catches) the process ends inside this call, by
/// that signal; for one whose default is to be ignored it returns.
///
/// Async-signal-safe: `sigaction`, `pthread_sigmask` and `raise` are all on
/// POSIX's list, so the signal handler calls it too. (The few lines
/// `signal-hook`'s `emulate_default_handler` was a dependency for.)
#[cfg(unix)]
pub(crate) fn raise_with_default_action(number: i32) {
    imp::raise_with_default_action(number)
}

/// Ends the process by `abort`.
pub(crate) fn abort() -> ! {
    std::process::abort()
}

/// Registers `hook` with the C runtime's exit (glibc's `on_exit`, which tells
/// the status; `atexit` elsewhere). Returns false if the C runtime refused.
pub(crate) fn on_c_exit(hook: fn(Option<i32>)) -> bool {
    imp::on_c_exit(hook)
}

/// Has `end` called once the C runtime's exit, in which this is called (from
/// this crate's hook), has done the rest of its work; false where that
/// cannot be arranged (the caller ends at once then).
///
/// On glibc: a destructor of this object (`.fini_array`) runs inside the
/// dynamic linker's finalizer (`_dl_fini`), an exit callback registered
/// before any of the executable's constructors; from there it registers
/// `end` with `on_exit`, and glibc runs a callback registered while the
/// list runs right after the one running (`_dl_fini`) returns. So `end`
/// runs after every C `atexit` callback registered after the dynamic
/// linker's (by the executable's constructors, `main`, `dlopen`ed
/// libraries) and after every object's destructors, where it flushes the C
/// streams itself (glibc's own flush, `_IO_cleanup`, would come after).
/// Still skipped: callbacks that libraries linked at start-up registered
/// from their constructors (those ran before the executable's first
/// instruction, so their callbacks are older than `_dl_fini`'s).
pub(crate) fn after_the_c_runtime(end: fn()) -> bool {
    imp::after_the_c_runtime(end)
}

/// Registers the three `fork` hooks. Returns false if that failed.
#[cfg(unix)]
pub(crate) fn on_fork(
    prepare: extern "C" fn(),
    parent: extern "C" fn(),
    child: extern "C" fn(),
) -> bool {
    // SAFETY: the hooks are `extern "C" fn()`s; the caller guarantees they
    // never unwind.
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) == 0 }
}

/// A timer that calls a function from a signal handler when it expires: the
/// deadline's watch where no thread may be started (the `fork` child hook),
/// until a watchdog thread takes over.
///
/// A POSIX timer (`timer_create` on `CLOCK_MONOTONIC`, the clock `Instant`
/// reads) that raises `SIGALRM`: the timer is the process's own, so a
/// program's `alarm` or `setitimer` neither cancels it nor is cancelled by
/// it, and the signal handler tells its `SIGALRM` (`SI_TIMER`, with this
/// timer's value) from any other, which goes to the handler that was there
/// before. `timer_create` and `timer_settime` are plain system calls in
/// glibc (2.34 on) for a signal timer, and `sigaction` is
/// async-signal-safe, so arming it in a forked child is safe.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) mod alarm {
    use std::cell::UnsafeCell;
    use std::ffi::{c_int, c_void};
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    use std::time::Duration;

    /// The timer's value, which its `SIGALRM`s carry.
    const MARK: usize = 0x6174_6578; // "atex"

    /// The timer is armed (the handler is installed).
    static ARMED: AtomicBool = AtomicBool::new(false);
    static TIMER: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());
    /// The `fn()` to call when the timer expires.
    static ON_TIME: AtomicUsize = AtomicUsize::new(0);

    /// The `SIGALRM` action before this one.
    struct Previous(UnsafeCell<Option<libc::sigaction>>);
    // SAFETY: written only by `arm`, before the handler that reads it is
    // installed and while `ARMED` is false, on the one thread of a child
    // just forked; read by the handler and by `disarm`.
    unsafe impl Sync for Previous {}
    static PREVIOUS: Previous = Previous(UnsafeCell::new(None));

    /// Calls `on_time` from a signal handler `after` from now: it may only
    /// do what is async-signal-safe. Async-signal-safe itself. False if the
    /// timer could not be made.
    pub(crate) fn arm(after: Duration, on_time: fn()) -> bool {
        // A child forked again while armed: the timer did not come along (a
        // forked child has none), the handler and its predecessor did.
        ARMED.store(false, Ordering::SeqCst);
        ON_TIME.store(on_time as usize, Ordering::SeqCst);
        // SAFETY: plain system calls on structures we own; the handler is an
        // `extern "C"` function that never unwinds.
        unsafe {
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGALRM, std::ptr::null(), &mut current) != 0 {
                return false;
            }
            if current.sa_sigaction != on_signal as *const () as usize {
                *PREVIOUS.0.get() = Some(current);
            }
            let mut event: libc::sigevent = std::mem::zeroed();
            event.sigev_notify = libc::SIGEV_SIGNAL;
            event.sigev_signo = libc::SIGALRM;
            event.sigev_value = libc::sigval {
                sival_ptr: MARK as *mut c_void,
            };
            let mut timer: libc::timer_t = std::ptr::null_mut();
            if libc::timer_create(libc::CLOCK_MONOTONIC, &mut event, &mut timer) != 0 {
                return false;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(libc::SIGALRM, &action, std::ptr::null_mut()) != 0 {
                libc::timer_delete(timer);
                return false;
            }
            TIMER.store(timer, Ordering::SeqCst);
            ARMED.store(true, Ordering::SeqCst);
            // A zero `it_value` would disarm: one nanosecond is "at once".
            let after = after.max(Duration::from_nanos(1));
            let spec = libc::itimerspec {
                it_interval: libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                it_value: libc::timespec {
                    tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
                    tv_nsec: after.subsec_nanos().into(),
                },
            };
            if libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) != 0 {
                disarm();
                return false;
            }
        }
        true
    }

    /// In any child just forked (async-signal-safe): the timer did not come
    /// along, the handler did; puts the action before it back.
    pub(crate) fn forget_after_fork() {
        if !ARMED.swap(false, Ordering::SeqCst) {
            return;
        }
        // SAFETY: restores the action `arm` saved (`PREVIOUS` is not
        // written while armed).
        unsafe {
            if let Some(previous) = &*PREVIOUS.0.get() {
                libc::sigaction(libc::SIGALRM, previous, std::ptr::null_mut());
            }
        }
    }

    /// Whether the timer is armed.
    pub(crate) fn armed() -> bool {
        ARMED.load(Ordering::SeqCst)
    }

    /// Deletes the timer and puts the `SIGALRM` action back, if armed.
    pub(crate) fn disarm() {
        if !ARMED.swap(false, Ordering::SeqCst) {
            return;
        }
        // SAFETY: deletes the timer `arm` made, and restores the action it
        // saved (`PREVIOUS` is not written while armed).
        unsafe {
            libc::timer_delete(TIMER.load(Ordering::SeqCst));
            if let Some(previous) = &*PREVIOUS.0.get() {
                libc::sigaction(libc::SIGALRM, previous, std::ptr::null_mut());
            }
        }
    }

    extern "C" fn on_signal(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
        // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO`
        // handler; `si_value` is meaningful for `SI_TIMER`.
        let ours = !info.is_null()
            && unsafe {
                (*info).si_code == libc::SI_TIMER && (*info).si_value().sival_ptr as usize == MARK
            };
        if ours {
            if ARMED.load(Ordering::SeqCst) {
                let on_time = ON_TIME.load(Ordering::SeqCst);
                if on_time != 0 {
                    // SAFETY: `ON_TIME` only ever holds a `fn()` (`arm`).
                    let on_time: fn() = unsafe { std::mem::transmute(on_time) };
                    // Nothing may unwind out of a signal handler.
                    let _ = std::panic::catch_unwind(on_time);
                }
            }
            return;
        }
        // Another `SIGALRM` (the program's `alarm`): as the action before.
        // SAFETY: `PREVIOUS` is not written while this handler is installed.
        let Some(previous) = (unsafe { &*PREVIOUS.0.get() }) else {
            return;
        };
        match previous.sa_sigaction {
            libc::SIG_IGN => {}
            libc::SIG_DFL => {
                // The default action of `SIGALRM` ends the process.
                crate::os::raise_with_default_action(signal);
            }
            handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
                // SAFETY: the previous handler, called as it was installed.
                let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                    unsafe { std::mem::transmute(handler) };
                handler(signal, info, context);
            }
            handler => {
                // SAFETY: as above, a handler without `SA_SIGINFO`.
                let handler: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
                handler(signal);
            }
        }
    }
}

/// A pipe whose two ends are close-on-exec and above the standard streams.
///
/// Above, because a constructor may run before std reopens a closed stdin,
/// stdout or stderr on `/dev/null`: a pipe made then could take descriptor 0
/// or 1, and the program's reads and prints would go to it.
#[cfg(unix)]
pub(crate) fn pipe_above_stdio() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills the two-element array we own.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut moved = [-1; 2];
    for (fd, to) in fds.iter().zip(moved.iter_mut()) {
        // SAFETY: duplicates a descriptor `pipe` just gave us to the lowest
        // free one from 3 up, close-on-exec.
        *to = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 3) };
    }
    let failed = moved.contains(&-1).then(std::io::Error::last_os_error);
    for fd in fds
        .into_iter()
        .chain(moved.into_iter().filter(|_| failed.is_some()))
    {
        if fd >= 0 {
            // SAFETY: closes descriptors this function opened and owns.
            unsafe { libc::close(fd) };
        }
    }
    if let Some(error) = failed {
        return Err(error);
    }
    // SAFETY: two open descriptors this function owns, handed over once.
    Ok(unsafe {
        (
            OwnedFd::from_raw_fd(moved[0]),
            OwnedFd::from_raw_fd(moved[1]),
        )
    })
}

/// Keeps the shared object this code is in loaded until the process ends.
///
/// A `cdylib` or plugin that uses atexit registers its exit hook with the C
/// runtime, which has no way to take it back: a `dlclose` then made the exit
/// jump into unmapped memory. For the main executable this is a no-op.
pub(crate) fn pin_this_object() {
    imp::pin_this_object()
}

#[cfg(unix)]
mod imp {
    use std::ffi::{c_int, c_void};
    use std::sync::OnceLock;
    use std::time::Instant;

    /// The hook `on_c_exit` was given; the C callback below forwards to it.
    static HOOK: OnceLock<fn(Option<i32>)> = OnceLock::new();

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    extern "C" {
        // glibc's `on_exit`: like `atexit`, and the callback is told the status.
        fn on_exit(function: extern "C" fn(c_int, *mut c_void), argument: *mut c_void) -> c_int;
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    extern "C" fn c_exit_hook(status: c_int, _: *mut c_void) {
        if let Some(hook) = HOOK.get() {
            hook(Some(status));
        }
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    extern "C" fn c_exit_hook() {
        if let Some(hook) = HOOK.get() {
            hook(None);
        }
    }

    pub(super) fn on_c_exit(hook: fn(Option<i32>)) -> bool {
        if HOOK.set(hook).is_err() {
            return true; // registered already
        }
        // Named, so the linker keeps the destructor's entry with this code.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        std::hint::black_box(&late::AFTER_THE_DESTRUCTORS);
        // SAFETY: `c_exit_hook` is an `extern "C"` function; the hook it calls
        // is documented (at `on_c_exit`'s caller) never to unwind.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        let status = unsafe { on_exit(c_exit_hook, std::ptr::null_mut()) };
        // SAFETY: as above.
        #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
        let status = unsafe { libc::atexit(c_exit_hook) };
        status == 0
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub(super) use late::after_the_c_runtime;

    /// Elsewhere the order of the C runtime's last steps was not measured.
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub(super) fn after_the_c_runtime(_: fn()) -> bool {
        false
    }

    /// See `os::after_the_c_runtime`.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    mod late {
        use super::on_exit;
        use std::ffi::{c_int, c_void};
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::OnceLock;

        /// What to call at the end; the same function every time.
        static END: OnceLock<fn()> = OnceLock::new();
        /// The process whose end is put off (not a child forked since).
        static PUT_OFF_IN: AtomicU32 = AtomicU32::new(0);

        pub(in super::super) fn after_the_c_runtime(end: fn()) -> bool {
            let _ = END.set(end);
            PUT_OFF_IN.store(std::process::id(), Ordering::SeqCst);
            true
        }

        /// Run by `_dl_fini` with this object's other destructors.
        #[used]
        #[link_section = ".fini_array"]
        pub(super) static AFTER_THE_DESTRUCTORS: extern "C" fn() = after_the_destructors;

        extern "C" fn after_the_destructors() {
            if PUT_OFF_IN.load(Ordering::SeqCst) != std::process::id() {
                return;
            }
            // SAFETY: registers an `extern "C"` function that never unwinds;
            // not tied to this object (no `__dso_handle`), which stays loaded.
            if unsafe { on_exit(at_the_end, std::ptr::null_mut()) } != 0 {
                at_the_end(0, std::ptr::null_mut()); // no room: end here
            }
        }

        extern "C" fn at_the_end(_: c_int, _: *mut c_void) {
            // `end` ends the process; nothing may unwind into libc.
            if let Some(end) = END.get() {
                let _ = std::panic::catch_unwind(end);
            }
        }
    }

    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    ))]
    pub(super) fn pin_this_object() {
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
    pub(super) fn pin_this_object() {}

    /// Whether all of `bytes` went out.
    pub(super) fn write_stderr(mut bytes: &[u8], give_up_at: Option<Instant>) -> bool {
        while !bytes.is_empty() {
            // Wait until a write cannot block: a pipe has room for at least
            // `PIPE_BUF` bytes then, so chunks of that size go through whole.
            let wait_ms = give_up_at.map_or(-1, |at| {
                let left = at.saturating_duration_since(Instant::now());
                c_int::try_from(left.as_millis()).unwrap_or(c_int::MAX)
            });
            let mut poll = libc::pollfd {
                fd: 2,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: polls one `pollfd` we own.
            let ready = unsafe { libc::poll(&mut poll, 1, wait_ms) };
            if ready < 0
                && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
            {
                continue;
            }
            if ready != 1 || poll.revents & libc::POLLOUT == 0 {
                return false; // not writable in time, closed, or in error
            }
            let chunk = &bytes[..bytes.len().min(libc::PIPE_BUF)];
            // SAFETY: writes initialized bytes we own to file descriptor 2.
            let written = unsafe { libc::write(2, chunk.as_ptr().cast(), chunk.len()) };
            match usize::try_from(written) {
                Ok(written) if written > 0 => bytes = &bytes[written..],
                _ if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {}
                _ => return false,
            }
        }
        true
    }

    pub(super) fn stderr_writable(patience: std::time::Duration) -> bool {
        let mut poll = libc::pollfd {
            fd: 2,
            events: libc::POLLOUT,
            revents: 0,
        };
        let wait_ms = c_int::try_from(patience.as_millis()).unwrap_or(c_int::MAX);
        // SAFETY: polls one `pollfd` we own.
        let ready = unsafe { libc::poll(&mut poll, 1, wait_ms) };
        // A closed or broken stderr fails at once: nothing blocks on it.
        ready != 0
    }

    pub(super) fn flush_c_streams() {
        // SAFETY: `fflush(NULL)` flushes every C output stream.
        unsafe { libc::fflush(std::ptr::null_mut()) };
    }

    pub(super) fn exit_now(code: i32) -> ! {
        // SAFETY: `_exit` takes any status and does not return.
        unsafe { libc::_exit(code) }
    }

    pub(super) fn die_by(number: i32) -> ! {
        raise_with_default_action(number);
        // Reached only for a signal whose default is to be ignored.
        exit_now(128 + number)
    }

    pub(super) fn raise_with_default_action(number: c_int) {
        // SAFETY: plain C structs zeroed and then filled through libc's own
        // functions; the three calls take pointers to our locals only, and
        // each is async-signal-safe. A failure (a number that is no signal)
        // leaves the process as it was, and the caller ends it another way.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(number, &action, std::ptr::null_mut());
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, number);
            // Unblocked in this thread, the raised signal is delivered to it
            // before `raise` returns (a signal handler runs with its own
            // signal blocked).
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(number);
        }
    }
}

#[cfg(windows)]
mod imp {
    use std::ffi::c_int;
    use std::sync::OnceLock;
    use std::time::Instant;

    static HOOK: OnceLock<fn(Option<i32>)> = OnceLock::new();

    extern "C" {
        // The C runtime's `atexit`: runs when `main` returns, not on
        // `std::process::exit`, which calls `ExitProcess` (rust-lang/rust#104816).
        fn atexit(callback: extern "C" fn()) -> c_int;
        fn fflush(stream: *mut std::ffi::c_void) -> c_int;
    }

    use windows_sys::Win32::Storage::FileSystem::WriteFile;
    use windows_sys::Win32::System::Console::{GetStdHandle, STD_ERROR_HANDLE};
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, TerminateProcess};

    extern "C" fn c_exit_hook() {
        if let Some(hook) = HOOK.get() {
            hook(None);
        }
    }

    pub(super) fn on_c_exit(hook: fn(Option<i32>)) -> bool {
        if HOOK.set(hook).is_err() {
            return true;
        }
        // SAFETY: `c_exit_hook` is an `extern "C" fn()` that never unwinds.
        unsafe { atexit(c_exit_hook) == 0 }
    }

    pub(super) fn pin_this_object() {}

    pub(super) fn after_the_c_runtime(_: fn()) -> bool {
        false
    }

    pub(super) fn write_stderr(bytes: &[u8], _give_up_at: Option<Instant>) -> bool {
        // Not through Rust's stderr, whose lock a stuck handler may hold.
        // Windows has no poll for a console or pipe handle; a pipe nobody
        // reads can block this write, which the deadline's end still bounds.
        let mut written = 0;
        // SAFETY: writes bytes we own to the process's stderr handle.
        unsafe {
            WriteFile(
                GetStdHandle(STD_ERROR_HANDLE),
                bytes.as_ptr(),
                u32::try_from(bytes.len()).unwrap_or(u32::MAX),
                &mut written,
                std::ptr::null_mut(),
            ) != 0
        }
    }

    pub(super) fn stderr_writable(_: std::time::Duration) -> bool {
        true
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

    pub(super) fn die_by(number: i32) -> ! {
        // Windows has no death by signal. Ctrl+C and Ctrl+Break end a console
        // program with STATUS_CONTROL_C_EXIT by default; do the same.
        let _ = number;
        exit_now(0xC000_013A_u32 as i32)
    }
}

#[cfg(not(any(unix, windows)))]
mod imp {
    use std::time::Instant;

    pub(super) fn on_c_exit(_: fn(Option<i32>)) -> bool {
        false
    }

    pub(super) fn pin_this_object() {}

    pub(super) fn after_the_c_runtime(_: fn()) -> bool {
        false
    }

    pub(super) fn write_stderr(bytes: &[u8], _: Option<Instant>) -> bool {
        use std::io::Write;
        std::io::stderr().write_all(bytes).is_ok()
    }

    pub(super) fn stderr_writable(_: std::time::Duration) -> bool {
        true
    }

    pub(super) fn flush_c_streams() {}

    pub(super) fn exit_now(code: i32) -> ! {
        std::process::exit(code)
    }

    pub(super) fn die_by(number: i32) -> ! {
        exit_now(128 + number)
    }
}
