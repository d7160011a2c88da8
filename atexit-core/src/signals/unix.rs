//! Signals on Unix: `signal-hook-registry` installs the handler (and chains
//! to earlier ones); the handler writes the signal number to a pipe; a
//! watcher thread reads it and runs the exit.

use super::{goes_to_the_watcher, note_first_signal, on_caught, CatchSignals};
use crate::reason::Signal;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The pipe's write end, read by the handler.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The process whose watcher thread reads the pipe: a forked child has none.
static WATCHER_PID: AtomicI32 = AtomicI32::new(0);
/// Caught signals since the watcher started: the second forces the end.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// The bit of a byte on the pipe that says its signal made the shutdown
/// request (signal numbers are below it).
const MADE_THE_REQUEST: u8 = 0x80;

/// The signals with a handler installed, by number; held while installing.
static INSTALLED: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// For each signal number with a handler installed, the address of the
/// handler the system had for it right after (signal-hook-registry's, which
/// stays while nobody replaces it); 0 for the others. Atomics, so that the
/// check at exit takes no lock a thread (or a thread lost to `fork`) holds.
static OURS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];

pub(super) fn install(config: &CatchSignals) -> io::Result<()> {
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: `getpid` has no preconditions.
    let pid = unsafe { libc::getpid() };
    if WATCHER_PID.load(Ordering::SeqCst) != pid {
        start_watcher()?;
        WATCHER_PID.store(pid, Ordering::SeqCst);
    }
    for &signal in config.get_signals() {
        let number = signal.number();
        if installed.contains(&number) {
            continue;
        }
        if !config.is_named(signal) && is_ignored(number)? {
            continue;
        }
        // SAFETY: `on_raw_signal` only does async-signal-safe work: atomics,
        // `getpid`, `write`, and signal-hook's async-signal-safe
        // `emulate_default_handler`; it never panics.
        unsafe { signal_hook_registry::register(number, move || on_raw_signal(number)) }?;
        installed.push(number);
        if let (Some(slot), Ok(handler)) = (OURS.get(number as usize), current_handler(number)) {
            slot.store(handler, Ordering::SeqCst);
        }
    }
    Ok(())
}

/// Whether this process installed the signal handling (a forked child has
/// not, until it calls `catch_signals` itself).
pub(super) fn installed_here() -> bool {
    // SAFETY: `getpid` has no preconditions.
    WATCHER_PID.load(Ordering::SeqCst) == unsafe { libc::getpid() }
}

/// The signals whose handler is no longer the one installed; none in a
/// forked child that has not installed its own.
pub(super) fn replaced() -> Vec<Signal> {
    if !installed_here() {
        return Vec::new();
    }
    (0..OURS.len())
        .filter_map(|number| {
            let ours = OURS[number].load(Ordering::SeqCst);
            let number = number as i32;
            let replaced = ours != 0 && current_handler(number).is_ok_and(|now| now != ours);
            replaced.then(|| Signal::from_number(number)).flatten()
        })
        .collect()
}

fn is_ignored(number: i32) -> io::Result<bool> {
    Ok(current_handler(number)? == libc::SIG_IGN)
}

/// The address of the handler the system has for signal `number` (or
/// `SIG_DFL`, `SIG_IGN`).
fn current_handler(number: i32) -> io::Result<usize> {
    // SAFETY: `sigaction` with a null new action only reads the current one
    // into a zeroed struct we own.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(number, std::ptr::null(), &mut current) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(current.sa_sigaction)
    }
}

/// Creates the pipe and the thread that reads it.
fn start_watcher() -> io::Result<()> {
    let (read, write) = crate::os::pipe_above_stdio()?;
    std::thread::Builder::new()
        .name("atexit-signals".into())
        .spawn(move || watch(read))?;
    RECEIVED.store(0, Ordering::SeqCst);
    // The write end lives as long as the process: the handler may write to it
    // at any time. An earlier one (a parent's, in a forked child) is left open.
    WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
    std::mem::forget(write);
    Ok(())
}

/// The signal handler proper.
fn on_raw_signal(number: i32) {
    // SAFETY: `getpid` is async-signal-safe.
    let this_process = unsafe { libc::getpid() } == WATCHER_PID.load(Ordering::SeqCst);
    let first = RECEIVED.fetch_add(1, Ordering::SeqCst) == 0;
    if !first && number == libc::SIGPIPE {
        // A handler writing to the broken pipe raises it again: that write
        // fails with `BrokenPipe`; it is no request to force the end.
        return;
    }
    let made_the_request = this_process && first && note_first_signal(number);
    if this_process && goes_to_the_watcher(first, made_the_request) {
        // The signal's number, with the top bit when it made the request.
        let byte = number as u8
            | if made_the_request {
                MADE_THE_REQUEST
            } else {
                0
            };
        // SAFETY: `write` is async-signal-safe; one byte from our stack.
        let written = unsafe {
            libc::write(
                WAKE_FD.load(Ordering::SeqCst),
                (&byte as *const u8).cast(),
                1,
            )
        };
        if written == 1 {
            return;
        }
    }
    // A second signal (once the exit started, in graceful-shutdown mode), a forked
    // child without a watcher, or no way to wake it: end the process now,
    // as the signal's default action would.
    crate::os::raise_with_default_action(number);
}

fn watch(read: OwnedFd) {
    let fd: RawFd = read.as_raw_fd();
    loop {
        let mut byte = 0u8;
        // SAFETY: reading one byte into a local we own.
        let got = unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) };
        if got == 1 {
            let made_the_request = byte & MADE_THE_REQUEST != 0;
            if let Some(signal) = Signal::from_number(i32::from(byte & !MADE_THE_REQUEST)) {
                // The watcher must outlive any failure of its own: a later
                // signal needs it.
                let _ = std::panic::catch_unwind(|| on_caught(signal, made_the_request));
            }
        } else if got < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        } else {
            return;
        }
    }
}
