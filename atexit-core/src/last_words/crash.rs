//! The crash handler: on SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT it runs
//! the waiting declared cleanups, then hands the signal on to whatever
//! handler was there before, so the process still dies by its signal.
//!
//! Installed lazily, at the first declaration, never from a load-time
//! constructor: std installs its stack-overflow handler (and every thread's
//! alternate stack) only if SIGSEGV is still `SIG_DFL` when it initializes,
//! so a handler installed before `main` silently removes std's overflow
//! message and all alternate stacks (CRASH-FACTS §1, "(i) ctor").
//!
//! Chaining, as measured in CRASH-FACTS §1 (ii):
//! - previous handler `SIG_DFL` or `SIG_IGN`: set `SIG_DFL` and return, so a
//!   real fault re-executes and kills the process with a core dump. A signal
//!   that no fault will repeat (SIGABRT, or one sent with `kill`/`raise`) is
//!   raised again; it is blocked while the handler runs and is delivered, to
//!   the default action, when it returns.
//! - a previous handler (std's overflow reporter, a crash reporter): call it
//!   as it asked to be called (`SA_SIGINFO` or not, its `sa_mask`,
//!   `SA_NODEFER`, `SA_RESETHAND`), then set `SIG_DFL` if ours is still
//!   installed, and return. std's handler prints the overflow message and
//!   aborts; the SIGABRT comes back here, finds nothing left to run (each
//!   cleanup ran once) and dies by SIGABRT. When the previous handler
//!   returns from a signal no fault will repeat (std's, on a `kill -SEGV`,
//!   resets the default and returns), it is raised again to the default
//!   action: the cleanups are spent, the process must not live on.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

const SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// The disposition each signal had before ours, readable from the handler.
struct Previous {
    ready: AtomicBool,
    action: UnsafeCell<MaybeUninit<libc::sigaction>>,
}

// SAFETY: `action` is written once, before `ready` is stored (Release), and
// only read after `ready` is loaded true (Acquire).
unsafe impl Sync for Previous {}

static PREVIOUS: [Previous; SIGNALS.len()] = [const {
    Previous {
        ready: AtomicBool::new(false),
        action: UnsafeCell::new(MaybeUninit::uninit()),
    }
}; SIGNALS.len()];

/// Installs the handler for the crash signals, once per process.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (signal, previous) in SIGNALS.iter().zip(&PREVIOUS) {
            // SAFETY: reading a disposition into storage only this Once writes.
            let read = unsafe {
                libc::sigaction(
                    *signal,
                    std::ptr::null(),
                    (*previous.action.get()).as_mut_ptr(),
                )
            };
            if read != 0 {
                continue;
            }
            previous.ready.store(true, Ordering::Release);
            // SAFETY: a zeroed sigaction is valid; every field is set below.
            let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
            ours.sa_sigaction = on_crash as extern "C" fn(_, _, _) as libc::sighandler_t;
            // SA_ONSTACK: a stack overflow can only be handled on the
            // alternate stack std gives the main thread and its threads.
            ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            // SAFETY: fills the mask we own. A full mask also blocks SIGTTOU,
            // so restoring a tty from a background process is not stopped.
            unsafe { libc::sigfillset(&mut ours.sa_mask) };
            // SAFETY: `ours` is a valid disposition whose handler is
            // async-signal-safe and does not unwind.
            unsafe { libc::sigaction(*signal, &ours, std::ptr::null_mut()) };
        }
    });
}

fn previous(signal: libc::c_int) -> Option<&'static libc::sigaction> {
    let index = SIGNALS.iter().position(|&s| s == signal)?;
    let previous = PREVIOUS.get(index)?;
    if !previous.ready.load(Ordering::Acquire) {
        return None;
    }
    // SAFETY: written by `install` before `ready` was set, never again.
    Some(unsafe { (*previous.action.get()).assume_init_ref() })
}

/// The handler. Async-signal-safe: atomics, `getpid`, `nanosleep`,
/// `sigaction`, `raise` and the cleanups' own syscalls; no allocation, no
/// lock, no formatting, nothing that can panic (a panic here would abort
/// anyway: an `extern "C"` function does not unwind).
extern "C" fn on_crash(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    super::table::run_all_in_crash(super::sys::pid(), super::sys::sleep_1ms);
    chain(signal, info, context);
}

fn set_default(signal: libc::c_int) {
    // SAFETY: a zeroed sigaction is SIG_DFL with no flags and an empty mask.
    let default: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: installing SIG_DFL is always valid and async-signal-safe.
    unsafe { libc::sigaction(signal, &default, std::ptr::null_mut()) };
}

/// Whether the signal came from a fault that will happen again when the
/// handler returns (rather than from `kill`, `raise` or `abort`).
fn is_fault(signal: libc::c_int, info: *const libc::siginfo_t) -> bool {
    if signal == libc::SIGABRT || info.is_null() {
        return false;
    }
    // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO.
    let code = unsafe { (*info).si_code };
    // Codes a process sends (SI_USER, SI_QUEUE, SI_TKILL...) are <= 0 on
    // Linux; elsewhere SI_USER and friends are positive (0x10001 on macOS),
    // so the signal is raised again there in every case, which ends the
    // process the same way (a core dump, the same signal).
    cfg!(any(target_os = "linux", target_os = "android")) && code > 0
}

fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous_action = previous(signal);
    match previous_action {
        Some(action)
            if action.sa_sigaction != libc::SIG_DFL && action.sa_sigaction != libc::SIG_IGN =>
        {
            call_previous(action, signal, info, context);
            if still_ours(signal) {
                set_default(signal);
            }
            if !is_fault(signal, info) {
                // Nothing will bring this signal back (std's handler, for
                // one, resets the default and returns on a SIGSEGV that is
                // not its stack overflow): the cleanups are spent, so the
                // process must die by it now, not live on.
                set_default(signal);
                raise_again(signal);
            }
        }
        _ => {
            set_default(signal);
            if !is_fault(signal, info) {
                raise_again(signal);
            }
        }
    }
}

/// Calls the handler that was there before ours the way the kernel would
/// have: with its `sa_mask` (and the signal itself, unless it asked for
/// `SA_NODEFER`) blocked while it runs, and with `SA_RESETHAND` honoured
/// by setting the default first.
fn call_previous(
    action: &libc::sigaction,
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let mut mask = action.sa_mask;
    if action.sa_flags & libc::SA_NODEFER == 0 {
        // SAFETY: adds a valid signal number to a set we own.
        unsafe { libc::sigaddset(&mut mask, signal) };
    }
    let mut saved = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: both sets are valid; pthread_sigmask is async-signal-safe in
    // practice (it is a system call) and only changes this thread's mask.
    // Ours blocks every signal already, so this adds nothing; it matters
    // for a handler that unblocks, then expects its own mask back.
    let masked =
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &mask, saved.as_mut_ptr()) } == 0;
    if action.sa_flags & libc::SA_RESETHAND != 0 {
        set_default(signal);
    }
    if action.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler asked for SA_SIGINFO, so its address
        // is such a function; we pass on the kernel's own arguments.
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(action.sa_sigaction) };
        handler(signal, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the address is a plain handler.
        let handler: extern "C" fn(libc::c_int) =
            unsafe { std::mem::transmute(action.sa_sigaction) };
        handler(signal);
    }
    if masked {
        // SAFETY: `saved` was filled by the call above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, saved.as_ptr(), std::ptr::null_mut()) };
    }
}

/// Raises `signal` again, to the default action the caller installed: the
/// signal is blocked while the crash handler runs, so it stays pending and
/// kills the process when the handler returns.
fn raise_again(signal: libc::c_int) {
    // SAFETY: raise only sends a signal, and is async-signal-safe.
    unsafe { libc::raise(signal) };
}

fn still_ours(signal: libc::c_int) -> bool {
    let mut now = MaybeUninit::<libc::sigaction>::uninit();
    // SAFETY: reads the disposition into `now`.
    if unsafe { libc::sigaction(signal, std::ptr::null(), now.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: sigaction returned 0 and filled `now`.
    let now = unsafe { now.assume_init() };
    now.sa_sigaction == on_crash as extern "C" fn(_, _, _) as libc::sighandler_t
}
