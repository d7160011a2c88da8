//! The program's side on Windows: starting the watchdog when the first
//! cleanup is declared, and sending it messages over a pipe; a console
//! declaration also duplicates the console's handles, and the "looked"
//! event `note_terminal_mode` waits on, into the watchdog's process.
//!
//! The watchdog is the program's executable run again
//! ([`std::env::current_exe`]) with `ATEXIT_WATCHDOG=<version>:<pid>:<handle>`
//! in its environment: this process's id and an inherited handle to this
//! process (`SYNCHRONIZE`, so it can wait for the death, and
//! `PROCESS_QUERY_LIMITED_INFORMATION`, so it can check whose handle it
//! is). Its stdin is the reading end of a named pipe this process created;
//! the writing end is never inheritable, so when this process dies, however
//! it dies, the watchdog reads the end of the pipe ([`super::windows_role`]
//! says what it then does). It is started detached from the console
//! (`DETACHED_PROCESS`): no Ctrl+C, Ctrl+Break or closing of the console
//! window reaches it. Its directory is the Windows directory, so that it
//! holds no directory a cleanup may remove.
//!
//! Sends are overlapped writes with a bounded wait ([`SEND_PATIENCE`]): a
//! watchdog that stopped reading (suspended, say) costs one send that
//! long, then it is given up: ended with `TerminateProcess` (a slow one
//! must not act later on declarations whose `Cancel` it will never read)
//! and its pipe closed. A declaration that finds the watchdog gone starts
//! another and goes to it; the new one knows only the declarations made
//! from then on (the contract says so).

use super::protocol::{self, Declared, Kind};
use crate::os::console::Modes;
use std::io;
use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle, RawHandle};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    DuplicateHandle, GetLastError, DUPLICATE_SAME_ACCESS, ERROR_IO_PENDING, GENERIC_READ,
    INVALID_HANDLE_VALUE, WAIT_OBJECT_0,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, WriteFile, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, OPEN_EXISTING,
    PIPE_ACCESS_OUTBOUND, SYNCHRONIZE,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_WAIT,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, ResetEvent, TerminateProcess, WaitForSingleObject,
    DETACHED_PROCESS, PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

/// The environment variable that makes the executable the watchdog.
pub(super) const VARIABLE: &str = "ATEXIT_WATCHDOG";

/// How long a message waits for room in the pipe before the watchdog is
/// given up.
const SEND_PATIENCE: Duration = Duration::from_millis(100);

/// How long `note_terminal_mode` waits for the watchdog's look.
const LOOK_PATIENCE: Duration = Duration::from_millis(200);

/// How long a sender waits for another sender (or a start) to finish.
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// A running watchdog.
struct Link {
    /// The pipe's writing end (overlapped).
    pipe: OwnedHandle,
    /// The event its overlapped writes signal.
    event: OwnedHandle,
    /// The watchdog's process, into which console handles are duplicated,
    /// and which is ended if it is given up (so that it never acts on
    /// declarations whose `Cancel` or `Ran` it will not hear).
    process: OwnedHandle,
    /// Set by the watchdog once it looked at the consoles (a duplicate goes
    /// with each console declaration). Shared, so that a look can wait on
    /// it without holding [`LINK`].
    looked: Arc<OwnedHandle>,
    /// A console declaration went to it: only then does a look get an
    /// answer.
    consoles: bool,
}

/// The watchdog, once started; `None` before and after it is given up.
static LINK: Mutex<Option<Link>> = Mutex::new(None);
/// The watchdog's pid while one runs (0: none): `Cancel`, `Ran`, `Look`
/// and `Bye` are sent only then.
static WATCHDOG: AtomicU32 = AtomicU32::new(0);
/// Nothing more is started: a start failed, or the exit said `Bye`.
static NO_MORE: AtomicBool = AtomicBool::new(false);

/// Takes [`LINK`], waiting at most [`LOCK_PATIENCE`]: a sender holds it for
/// a bounded time (one send, at most [`SEND_PATIENCE`], or one start), so
/// this gives up only on a thread stopped while it held it, and says so.
/// A poisoned lock is taken as it is: no code that can panic runs under it
/// but the start, which sets it first.
fn link(what: &str) -> Option<MutexGuard<'static, Option<Link>>> {
    let limit = Instant::now() + LOCK_PATIENCE;
    loop {
        match LINK.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() < limit => {
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(TryLockError::WouldBlock) => {
                crate::warn::warn(format_args!(
                    "the watchdog's pipe was busy for {LOCK_PATIENCE:?}: {what} did not reach it"
                ));
                return None;
            }
        }
    }
}

/// Starts a watchdog into `link` if there is none and one may be started;
/// whether one runs.
fn ensure_started(link: &mut Option<Link>) -> bool {
    if link.is_none() && !NO_MORE.load(Ordering::Acquire) {
        match start() {
            Ok(started) => *link = Some(started),
            Err(error) => {
                NO_MORE.store(true, Ordering::Release);
                crate::warn::warn(format_args!(
                    "could not start the watchdog ({error}): declared cleanups run on normal endings only"
                ));
            }
        }
    }
    link.is_some()
}

/// Hands declaration `id` to the watchdog, starting one if need be. A
/// watchdog that went away (killed on its own) is replaced, once: the new
/// one gets this declaration (and knows nothing of the earlier ones: the
/// contract says so).
pub(super) fn declare(id: u64, what: &Declared) {
    let message = protocol::declare(id, what, 0);
    let Some(mut link) = link("a declaration") else {
        return;
    };
    for _ in 0..2 {
        if !ensure_started(&mut link) || send(&mut link, &message) {
            return;
        }
    }
}

/// Hands the console restore `id` to the watchdog, starting one if need
/// be (and replacing one that went away, once, as [`declare`] does): the
/// two console handles and the "looked" event are duplicated into the
/// watchdog's process and their values sent with the modes to give back.
/// A handle that cannot be duplicated leaves the declaration to the
/// process.
pub(super) fn declare_console(id: u64, handles: [RawHandle; 2], saved: Modes, escape: &[u8]) {
    let Some(mut link) = link("a console declaration") else {
        return;
    };
    for _ in 0..2 {
        if !ensure_started(&mut link) {
            return;
        }
        let Some(running) = link.as_ref() else { return };
        let mut theirs = [0u64; 3];
        let ours = [handles[0], handles[1], running.looked.as_raw_handle()];
        for (handle, their) in ours.into_iter().zip(&mut theirs) {
            let mut duplicate = std::ptr::null_mut();
            // SAFETY: duplicates a handle of ours into the watchdog's
            // process (its handle has every right, std opened it), same
            // access, not inheritable; the value is meaningful only there.
            let done = unsafe {
                DuplicateHandle(
                    GetCurrentProcess(),
                    handle,
                    running.process.as_raw_handle(),
                    &mut duplicate,
                    0,
                    0,
                    DUPLICATE_SAME_ACCESS,
                )
            };
            if done == 0 {
                return;
            }
            *their = duplicate as usize as u64;
        }
        let what = Declared::Terminal {
            termios: console_payload(theirs, saved),
            escape: escape.to_vec(),
        };
        if send(&mut link, &protocol::declare(id, &what, 0)) {
            if let Some(running) = link.as_mut() {
                running.consoles = true;
            }
            return;
        }
    }
}

/// A console restore's payload: the console's input, its screen buffer and
/// the "looked" event (as the watchdog's process has them), then the input
/// and output modes to give back, little-endian.
pub(super) fn console_payload(handles: [u64; 3], saved: Modes) -> Vec<u8> {
    let mut payload = Vec::with_capacity(CONSOLE_PAYLOAD);
    for handle in handles {
        payload.extend_from_slice(&handle.to_le_bytes());
    }
    payload.extend_from_slice(&saved.input.to_le_bytes());
    payload.extend_from_slice(&saved.output.to_le_bytes());
    payload
}

/// A console restore's payload length.
pub(super) const CONSOLE_PAYLOAD: usize = 3 * 8 + 2 * 4;

/// Asks the watchdog to look at the declared consoles' modes now, and
/// waits (at most [`LOOK_PATIENCE`]) until it has: it sets the "looked"
/// event. Whether it did; `false` at once when no console was declared to
/// it. One look at a time (a second would reset the first's answer); the
/// wait holds no lock the senders need.
pub(super) fn look() -> bool {
    static ONE: Mutex<()> = Mutex::new(());
    let _one = ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if WATCHDOG.load(Ordering::Acquire) == 0 {
        return false;
    }
    let looked = {
        let Some(mut link) = link("a look") else {
            return false;
        };
        let Some(running) = link.as_ref().filter(|running| running.consoles) else {
            return false;
        };
        let looked = Arc::clone(&running.looked);
        // SAFETY: an event we own, kept open by the `Arc`.
        unsafe { ResetEvent(looked.as_raw_handle()) };
        if !send(&mut link, &protocol::look()) {
            return false;
        }
        looked
    };
    // SAFETY: as above.
    unsafe {
        WaitForSingleObject(looked.as_raw_handle(), LOOK_PATIENCE.as_millis() as u32)
            == WAIT_OBJECT_0
    }
}

/// `Cancel` or `Ran` for declaration `id`.
pub(super) fn about(kind: Kind, id: u64) {
    if WATCHDOG.load(Ordering::Acquire) == 0 {
        return;
    }
    if let Some(mut link) = link(match kind {
        Kind::Cancel => "a cancellation",
        _ => "a declaration's run",
    }) {
        send(&mut link, &protocol::about(kind, id));
    }
}

/// The exit's handlers are done: the watchdog leaves without acting, and
/// no other is started.
pub(super) fn bye() {
    NO_MORE.store(true, Ordering::Release);
    if WATCHDOG.load(Ordering::Acquire) == 0 {
        return;
    }
    if let Some(mut link) = link("the exit's end") {
        send(&mut link, &protocol::bye());
    }
}

/// Writes `bytes` to the watchdog, waiting at most [`SEND_PATIENCE`];
/// whether it took them. A watchdog that does not is given up: ended (it
/// may only be slow, and must not act later on what it was told before)
/// and its pipe closed.
fn send(link: &mut Option<Link>, bytes: &[u8]) -> bool {
    let Some(running) = link.as_ref() else {
        return false;
    };
    if write(running, bytes) {
        return true;
    }
    // SAFETY: ends the watchdog's process, ours to end (its handle has
    // every right); one that is already gone makes this fail, harmlessly.
    unsafe { TerminateProcess(running.process.as_raw_handle(), 0) };
    *link = None;
    WATCHDOG.store(0, Ordering::Release);
    false
}

/// One overlapped write of all of `bytes`; whether it went through.
fn write(link: &Link, bytes: &[u8]) -> bool {
    let Ok(length) = u32::try_from(bytes.len()) else {
        return false;
    };
    let pipe = link.pipe.as_raw_handle();
    // SAFETY: all-zero is a valid OVERLAPPED; the event is ours.
    let mut overlapped: OVERLAPPED = unsafe { std::mem::zeroed() };
    overlapped.hEvent = link.event.as_raw_handle();
    // SAFETY: an event we own.
    unsafe { ResetEvent(overlapped.hEvent) };
    // SAFETY: `bytes` and `overlapped` outlive the operation: it is waited
    // for below whatever happens, before either goes out of scope.
    let started = unsafe {
        WriteFile(
            pipe,
            bytes.as_ptr(),
            length,
            std::ptr::null_mut(),
            &mut overlapped,
        )
    };
    // SAFETY: only reads the calling thread's last error.
    if started == 0 && unsafe { GetLastError() } != ERROR_IO_PENDING {
        return false;
    }
    // SAFETY: waits on our event.
    let wait = unsafe { WaitForSingleObject(overlapped.hEvent, SEND_PATIENCE.as_millis() as u32) };
    if wait != WAIT_OBJECT_0 {
        // SAFETY: cancels our own operation on our handle; the wait below
        // then ends at once.
        unsafe { CancelIoEx(pipe, &overlapped) };
    }
    let mut written = 0u32;
    // SAFETY: the operation started above, on our handle; waiting for its
    // end (TRUE) is what keeps `bytes` and `overlapped` alive long enough.
    let done = unsafe { GetOverlappedResult(pipe, &overlapped, &mut written, 1) };
    done != 0 && written == length
}

/// A UTF-16, NUL-terminated copy of `text`.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Takes ownership of a handle a call returned; the call's error for a
/// failure (`INVALID_HANDLE_VALUE` or null).
fn owned(handle: RawHandle) -> io::Result<OwnedHandle> {
    if handle.is_null() || handle == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a handle just returned to us, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// A pipe name nobody can guess: another local process that opened it
/// first would read the declarations (or, as the one instance, keep the
/// watchdog from starting).
fn pipe_name() -> Vec<u16> {
    use std::hash::{BuildHasher as _, Hasher as _};
    // `RandomState`'s keys come from the system's generator.
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    wide(&format!(
        r"\\.\pipe\atexit-watchdog-{}-{:016x}{:016x}",
        std::process::id(),
        random(),
        random()
    ))
}

/// Starts the watchdog (then none is tried again if this fails).
fn start() -> io::Result<Link> {
    use std::os::windows::process::CommandExt as _;
    if !super::windows_role::in_the_executable() {
        // A DLL loaded by a host: the executable is not ours to re-run.
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "not in the executable (a DLL): there is no watchdog there",
        ));
    }
    let name = pipe_name();
    // SAFETY: a NUL-terminated name we own; no security attributes (the
    // handle is not inheritable).
    let pipe = owned(unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            PIPE_ACCESS_OUTBOUND | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            1,
            64 * 1024,
            0,
            0,
            std::ptr::null(),
        )
    })?;
    // The watchdog's end, opened here (so the pipe is connected before any
    // write) and made inheritable by std for the spawn only.
    // SAFETY: as above.
    let reading = owned(unsafe {
        CreateFileW(
            name.as_ptr(),
            GENERIC_READ,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    })?;
    // SAFETY: manual-reset events, unnamed, not inheritable.
    let event = owned(unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) })?;
    // SAFETY: as above.
    let looked = owned(unsafe { CreateEventW(std::ptr::null(), 1, 0, std::ptr::null()) })?;
    let mut this = std::ptr::null_mut();
    // SAFETY: duplicates the pseudo-handle of this process into a real,
    // inheritable one with the two rights the watchdog needs.
    let duplicated = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            GetCurrentProcess(),
            GetCurrentProcess(),
            &mut this,
            SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            1,
            0,
        )
    };
    if duplicated == 0 {
        return Err(io::Error::last_os_error());
    }
    // Closed after the spawn: a child another thread spawns meanwhile may
    // inherit it too, which only keeps this process's object alive.
    let this = owned(this)?;
    let windows = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\".into());
    let child = std::process::Command::new(std::env::current_exe()?)
        .env(
            VARIABLE,
            format!(
                "{}:{}:{}",
                protocol::VERSION,
                std::process::id(),
                this.as_raw_handle() as usize
            ),
        )
        .stdin(std::process::Stdio::from(reading))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir(windows)
        .creation_flags(DETACHED_PROCESS)
        .spawn()?;
    drop(this);
    WATCHDOG.store(child.id(), Ordering::Release);
    Ok(Link {
        pipe,
        event,
        process: child.into(),
        looked: Arc::new(looked),
        consoles: false,
    })
}
