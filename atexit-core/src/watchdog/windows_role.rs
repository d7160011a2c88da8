//! The watchdog's side on Windows: the program's executable, run again by
//! [`super::windows`], takes the role before any code of the program runs,
//! collects the declarations the program sends, and carries out those still
//! standing once the program is dead.
//!
//! - The role is taken in a C runtime initializer in `.CRT$XCT`: the C
//!   runtime runs the initializers of `.CRT$XCA` to `.CRT$XCZ` in the order
//!   of their section names before `main`, and constructors (`ctor`'s, so
//!   `#[atexit::handler]`'s and every crate's) sit in `.CRT$XCU`, after
//!   this one. It checks `ATEXIT_WATCHDOG` (this version, and an inherited
//!   handle that is the named process) and then never returns: it ends in
//!   `ExitProcess`. Without the variable, or with one that does not check,
//!   it returns at once and the program runs as itself.
//! - It reads messages (the same [`protocol`](super::protocol) as on Linux;
//!   no handles travel) from its stdin until the pipe ends. `Bye` (the exit
//!   ran its handlers) or a stream that is not ours makes it leave without
//!   acting.
//! - When the pipe ends, it waits for the program's process handle (at
//!   most 5 s: the handle table is closed a moment before the process is
//!   signalled). Signalled: the program is dead without a `Bye` (killed by
//!   `TerminateProcess`, Task Manager, `taskkill /F`, a crash, `exit_now`),
//!   and it carries out the declarations neither cancelled nor run, newest
//!   first. Not signalled: the program lives and gave this watchdog up; it
//!   leaves without acting.

use super::protocol::{self, Declared, Decoded, Message};
use std::io::Read as _;
use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};
use windows_sys::Win32::Foundation::{HMODULE, WAIT_OBJECT_0};
use windows_sys::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GetModuleHandleW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows_sys::Win32::System::Threading::{ExitProcess, GetProcessId, WaitForSingleObject};

/// How long the watchdog waits, once the pipe ended, for the program's
/// process to be signalled.
const DEATH_PATIENCE_MS: u32 = 5_000;

/// Run by the C runtime before the constructors and `main` (module docs).
#[used]
#[link_section = ".CRT$XCT"]
static TAKE_ROLE: extern "C" fn() = take_role;

extern "C" fn take_role() {
    // Nothing unwinds out of an `extern "C"` function. A panic while the
    // variable is checked (none is expected) lets the program run as
    // itself; once the role is taken, the process only ever leaves.
    let Ok(Some(parent)) = std::panic::catch_unwind(role) else {
        return;
    };
    let _ = std::panic::catch_unwind(|| watch(&parent));
    leave();
}

/// Whether this code is in the process's executable (not in a DLL a host
/// loaded): only then is the executable ours to run again.
pub(super) fn in_the_executable() -> bool {
    let mut module: HMODULE = std::ptr::null_mut();
    // SAFETY: asks which module holds the address of one of our functions,
    // without taking a reference on it.
    let found = unsafe {
        GetModuleHandleExW(
            GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
            take_role as *const u16,
            &mut module,
        )
    };
    // SAFETY: a null name asks for the executable's module.
    found != 0 && module == unsafe { GetModuleHandleW(std::ptr::null()) }
}

/// The program's process, if the variable makes this process its watchdog.
fn role() -> Option<OwnedHandle> {
    let value = std::env::var_os(super::windows::VARIABLE)?;
    let mut fields = value.to_str()?.split(':');
    let version: u8 = fields.next()?.parse().ok()?;
    let pid: u32 = fields.next()?.parse().ok()?;
    let handle: usize = fields.next()?.parse().ok()?;
    if version != protocol::VERSION || fields.next().is_some() {
        return None;
    }
    let handle = handle as std::os::windows::io::RawHandle;
    // SAFETY: only asks; a value that is no process handle of ours fails
    // with 0, which no process has as its id.
    if pid == 0 || unsafe { GetProcessId(handle) } != pid {
        return None;
    }
    // SAFETY: an inherited handle of this process that names the program,
    // owned by nothing else here.
    Some(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// Collects the declarations until the pipe ends, then carries out those
/// still standing if the program is dead. Returns only to leave.
fn watch(parent: &OwnedHandle) {
    let mut declared: Vec<(u64, Declared)> = Vec::new();
    let mut stream = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut stdin = std::io::stdin().lock();
    loop {
        // A broken pipe (the program's end closed) reads as 0.
        let read = match stdin.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        stream.extend_from_slice(&chunk[..read]);
        loop {
            match protocol::decode(&stream) {
                Decoded::Incomplete => break,
                Decoded::Broken => return,
                Decoded::Message(message, _, length) => {
                    stream.drain(..length);
                    match message {
                        Message::Declare { id, what } => declared.push((id, what)),
                        Message::Cancel { id } | Message::Ran { id } => {
                            declared.retain(|&(declared, _)| declared != id);
                        }
                        Message::Bye => return,
                        _ => {}
                    }
                }
            }
        }
    }
    // SAFETY: waits on the program's process handle we own.
    if unsafe { WaitForSingleObject(parent.as_raw_handle(), DEATH_PATIENCE_MS) } != WAIT_OBJECT_0 {
        return;
    }
    for (_, what) in declared.iter().rev() {
        carry_out(what);
    }
}

/// Carries out one declaration (only removals are declared on Windows).
fn carry_out(what: &Declared) {
    use std::os::windows::ffi::OsStringExt as _;
    let Declared::Remove {
        recursive,
        dev,
        ino,
        path,
    } = what
    else {
        return;
    };
    let wide: Vec<u16> = path
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    let path = std::path::PathBuf::from(std::ffi::OsString::from_wide(&wide));
    let id = crate::os::file_id::FileId {
        volume: *dev,
        index: *ino,
    };
    crate::os::file_id::remove_if_same(&path, id, *recursive);
}

/// Ends the watchdog, running nothing of the program's (no exit handler
/// was registered: no constructor has run).
fn leave() -> ! {
    // SAFETY: ends this process.
    unsafe { ExitProcess(0) }
}
