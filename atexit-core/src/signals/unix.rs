//! Signals on Unix: `signal-hook-registry` installs the handler (and chains
//! to earlier ones); the handler writes the signal number to a pipe; a
//! watcher thread reads it and runs the exit.

use super::config::CatchSignals;
use super::decide::{goes_to_the_watcher, note_first_signal, on_caught};
use crate::reason::Signal;
use crate::shutdown::REQUEST;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// The pipe's write end, read by the handler.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

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
/// For each signal number, the address of another's handler that was
/// the system's when the signal came and that called this crate's in turn
/// (a crash reporter's, chaining to the handler it found): proof that the
/// signal still reaches this crate through it, which nothing short of the
/// signal can give. 0 when none was seen; a handler set after it is judged
/// afresh.
static CHAINED_VIA: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];
/// The signals blocked in the watcher thread's mask, bit `1 << number`:
/// the mask of the thread that started it, read just before (a new thread
/// inherits it, and this crate never changes it); `u64::MAX` before.
static WATCHER_BLOCKED: AtomicU64 = AtomicU64::new(u64::MAX);

pub(super) fn install(config: &CatchSignals) -> io::Result<()> {
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // SAFETY: `getpid` has no preconditions.
    let pid = unsafe { libc::getpid() };
    // The process whose watcher reads the pipe (a forked child has none
    // until it installs its own) is `REQUEST`'s, for the handler.
    if !REQUEST.is_installed_in(pid) {
        start_watcher()?;
        REQUEST.installed_in(pid);
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
        // `getpid`, `write`, `sigaction` (reading), and signal-hook's async-signal-safe
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
fn installed_here() -> bool {
    // SAFETY: `getpid` has no preconditions.
    REQUEST.is_installed_in(unsafe { libc::getpid() })
}

/// The signals whose handler is no longer the one installed, save those
/// the new handler was seen to chain to this crate's; none in a forked
/// child that has not installed its own.
pub(super) fn replaced() -> Vec<Signal> {
    if !installed_here() {
        return Vec::new();
    }
    (0..OURS.len())
        .filter_map(|number| {
            let ours = OURS[number].load(Ordering::SeqCst);
            let chained_via = CHAINED_VIA[number].load(Ordering::SeqCst);
            let replaced = ours != 0
                && current_handler(number as i32)
                    .is_ok_and(|now| now != ours && now != chained_via);
            replaced
                .then(|| Signal::from_number(number as i32))
                .flatten()
        })
        .collect()
}

/// The caught signals (handler still this crate's) that no thread would
/// run the handler for: blocked in every thread's mask, or waited for by
/// a thread inside `sigwait` (which takes them without any handler). On
/// Linux every thread is read from `/proc/self/task`; without it only the
/// watcher thread's mask and the calling thread's are known.
pub(super) fn blocked() -> Vec<Signal> {
    if !installed_here() {
        return Vec::new();
    }
    let caught = (0..OURS.len())
        .filter(|&number| OURS[number].load(Ordering::SeqCst) != 0)
        .fold(0u64, |bits, number| bits | 1 << number);
    // The watcher's mask is known without looking (it is the installing
    // thread's, and a new thread's status shows all blocked until it sets
    // it): the signals it takes reach this crate, and only the others need
    // the other threads.
    let candidates = caught & WATCHER_BLOCKED.load(Ordering::SeqCst);
    if candidates == 0 {
        return Vec::new();
    }
    // Where every thread's mask can be read (Linux's /proc), that answer;
    // elsewhere only this thread's is known.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let blocked = linux::taken_from_every_thread(candidates)
        .unwrap_or_else(|| candidates & this_thread_blocked());
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let blocked = candidates & this_thread_blocked();
    (0..OURS.len())
        .filter(|&number| blocked & (1 << number) != 0)
        .filter_map(|number| Signal::from_number(number as i32))
        .collect()
}

/// The signals blocked in the calling thread's mask, bit `1 << number`.
fn this_thread_blocked() -> u64 {
    // SAFETY: `pthread_sigmask` with a null new set only reads this
    // thread's mask into a zeroed set we own; `sigismember` reads it.
    unsafe {
        let mut mask: libc::sigset_t = std::mem::zeroed();
        if libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask) != 0 {
            return 0;
        }
        (1..OURS.len() as i32)
            .filter(|&number| libc::sigismember(&mask, number) == 1)
            .fold(0u64, |bits, number| bits | 1 << number)
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::fs;
    use std::os::unix::fs::FileExt;

    /// Of the signals in `candidates` (bit `1 << number`), the ones that
    /// no thread of the process would run a handler for: each thread
    /// blocks them (`SigBlk` in its status) or is inside `sigwait` for
    /// them. A thread inside `rt_sigtimedwait` shows the signals it waits
    /// for as unblocked (the kernel unblocks them for the wait); its wait
    /// set is read from the call's first argument through `/proc/self/mem`,
    /// and when that cannot be read it counts as waiting for all it shows
    /// unblocked. A snapshot: threads come and go, masks change. `None`
    /// without `/proc`.
    pub(super) fn taken_from_every_thread(candidates: u64) -> Option<u64> {
        let mut left = candidates;
        let mut mem = None;
        for entry in fs::read_dir("/proc/self/task").ok()? {
            let Ok(entry) = entry else { continue };
            let task = entry.path();
            // A thread that ended since the listing takes nothing.
            let Ok(status) = fs::read_to_string(task.join("status")) else {
                continue;
            };
            let Some(blocked) = status
                .lines()
                .find_map(|line| line.strip_prefix("SigBlk:"))
                .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
            else {
                continue;
            };
            // The kernel's bit `n - 1` is signal `n`.
            let mut takes = !(blocked << 1) & left;
            if takes != 0 {
                if let Some(waited) = waited_for(&task, &mut mem) {
                    takes &= !waited;
                }
            }
            left &= !takes;
            if left == 0 {
                break;
            }
        }
        Some(left)
    }

    /// The signals (bit `1 << number`) the thread at `task` waits for
    /// inside `rt_sigtimedwait`, or `None` when it is in no such call.
    fn waited_for(task: &std::path::Path, mem: &mut Option<fs::File>) -> Option<u64> {
        let syscall = fs::read_to_string(task.join("syscall")).ok()?;
        let mut fields = syscall.split_whitespace();
        if fields.next()?.parse::<libc::c_long>().ok()? != libc::SYS_rt_sigtimedwait {
            return None;
        }
        let all = u64::MAX;
        let Some(address) = fields
            .next()
            .and_then(|arg| u64::from_str_radix(arg.trim_start_matches("0x"), 16).ok())
        else {
            return Some(all);
        };
        if mem.is_none() {
            *mem = fs::File::open("/proc/self/mem").ok();
        }
        let mut set = [0u8; 8];
        match mem {
            Some(file) if file.read_exact_at(&mut set, address).is_ok() => {
                Some(u64::from_ne_bytes(set) << 1)
            }
            _ => Some(all),
        }
    }
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
    // The watcher's mask is the installing thread's: a signal blocked here
    // (a `signalfd` or `sigwait` library installed first) is blocked there.
    WATCHER_BLOCKED.store(this_thread_blocked(), Ordering::SeqCst);
    std::thread::Builder::new()
        .name("atexit-signals".into())
        .spawn(move || watch(read))?;
    // The write end lives as long as the process: the handler may write to it
    // at any time. An earlier one (a parent's, in a forked child) is left open.
    WAKE_FD.store(write.as_raw_fd(), Ordering::SeqCst);
    std::mem::forget(write);
    Ok(())
}

/// The signal handler proper.
fn on_raw_signal(number: i32) {
    // Reached through another's handler installed after this crate's: it
    // chains, so the signal is not lost. `sigaction` is async-signal-safe.
    if let (Some(ours), Some(via)) = (OURS.get(number as usize), CHAINED_VIA.get(number as usize)) {
        let ours = ours.load(Ordering::SeqCst);
        if let Ok(now) = current_handler(number) {
            if ours != 0 && now != ours {
                via.store(now, Ordering::SeqCst);
            }
        }
    }
    // The shutdown's contract from here on (its module docs): `REQUEST`
    // only, in its order.
    // SAFETY: `getpid` is async-signal-safe.
    let this_process = REQUEST.is_installed_in(unsafe { libc::getpid() });
    let first = REQUEST.first_signal();
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
