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
//! - It reads messages (the same [`protocol`](super::protocol) as on Linux)
//!   from its stdin, the pipe, until the pipe ends, on a thread of its own.
//!   No handles travel in them: a console declaration carries the values
//!   of handles the program duplicated into this process (the console's
//!   input and screen buffer, and the program's "looked" event). `Bye`
//!   (the exit ran its handlers) or a stream that is not ours makes it
//!   leave without acting.
//! - It looks at the declared consoles' modes on each `Look` (then sets
//!   the "looked" event the program waits on), and 10 ms, 20 ms, 40 ms ...
//!   after a declaration or a `Look`, at most a second apart. A look counts
//!   only if the program still lived after it: a mode read after the death
//!   may be the shell's.
//! - When the pipe ends, it waits for the program's process handle (at
//!   most 5 s: the handle table is closed a moment before the process is
//!   signalled). Signalled: the program is dead without a `Bye` (killed by
//!   `TerminateProcess`, Task Manager, `taskkill /F`, a crash, `exit_now`),
//!   and it carries out the declarations neither cancelled nor run, newest
//!   first: the consoles (each only if it still holds the modes last seen),
//!   then the removals. Not signalled: the program lives and gave this watchdog up; it
//!   leaves without acting.

use super::protocol::{self, Declared, Decoded, Message};
use crate::os::console::{self, Modes};
use std::io::Read as _;
use std::os::windows::io::{AsRawHandle as _, FromRawHandle as _, OwnedHandle};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{HMODULE, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::LibraryLoader::{
    GetModuleHandleExW, GetModuleHandleW, GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
    GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
};
use windows_sys::Win32::System::Threading::{
    ExitProcess, GetProcessId, SetEvent, WaitForSingleObject,
};

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

/// A declared console restore, as the watchdog holds it.
struct Console {
    /// The console's input and screen buffer, duplicated into this process
    /// by the program.
    input: OwnedHandle,
    output: OwnedHandle,
    /// The program's "looked" event, set after each look it asked for.
    looked: OwnedHandle,
    saved: Modes,
    escape: Vec<u8>,
    /// The modes seen last while the program lived: given back only if
    /// the console still has them (never undo what the shell set since).
    seen: Option<Modes>,
}

impl Console {
    /// From a `Terminal` declaration's payload (`windows::console_payload`).
    fn from_declared(payload: &[u8], escape: &[u8]) -> Option<Console> {
        let field = |at: usize, length: usize| payload.get(at..at + length);
        let handle = |at| {
            let value = u64::from_le_bytes(field(at, 8)?.try_into().ok()?);
            let raw = usize::try_from(value).ok()? as std::os::windows::io::RawHandle;
            // SAFETY: a handle the program duplicated into this process for
            // this declaration alone (0 is no handle and is refused).
            (value != 0).then(|| unsafe { OwnedHandle::from_raw_handle(raw) })
        };
        let mode = |at| Some(u32::from_le_bytes(field(at, 4)?.try_into().ok()?));
        if payload.len() != super::windows::CONSOLE_PAYLOAD {
            return None;
        }
        Some(Console {
            input: handle(0)?,
            output: handle(8)?,
            looked: handle(16)?,
            saved: Modes {
                input: mode(24)?,
                output: mode(28)?,
            },
            escape: escape.to_vec(),
            seen: None,
        })
    }

    /// Reads the console's modes; they count as seen while the program
    /// lived only if it still lives after the read.
    fn look(&mut self, parent: &OwnedHandle) {
        let now = console::modes(self.input.as_raw_handle(), self.output.as_raw_handle()).ok();
        if alive(parent) {
            self.seen = now;
        }
    }

    /// Gives the saved modes back if the console still has the modes last
    /// seen, and they differ from the saved ones.
    fn give_back(&self) {
        let now = console::modes(self.input.as_raw_handle(), self.output.as_raw_handle()).ok();
        if now.is_some() && now == self.seen && now != Some(self.saved) {
            console::give_back(
                self.input.as_raw_handle(),
                self.output.as_raw_handle(),
                self.saved,
                &self.escape,
            );
        }
    }
}

/// Whether the program's process still runs.
fn alive(parent: &OwnedHandle) -> bool {
    // SAFETY: polls the program's process handle we own.
    unsafe { WaitForSingleObject(parent.as_raw_handle(), 0) == WAIT_TIMEOUT }
}

/// The first timed look after a console declaration or a `Look`; each
/// next one waits twice as long, up to [`LOOK_EVERY_AT_MOST`].
const FIRST_LOOK: Duration = Duration::from_millis(10);
const LOOK_EVERY_AT_MOST: Duration = Duration::from_secs(1);

/// What the pipe gave: bytes, nothing before the deadline, or its end.
enum Read {
    Bytes(Vec<u8>),
    Nothing,
    End,
}

/// The pipe, read by a thread of its own so that the timed looks need no
/// message; read in place if no thread can be started (then the consoles
/// are looked at only when a message comes).
enum Pipe {
    Thread(Receiver<Vec<u8>>),
    InPlace,
}

impl Pipe {
    fn open() -> Pipe {
        let (sender, receiver) = sync_channel(16);
        let reader = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                while let Some(bytes) = read_some() {
                    if sender.send(bytes).is_err() {
                        return;
                    }
                }
            });
        match reader {
            Ok(_) => Pipe::Thread(receiver),
            Err(_) => Pipe::InPlace,
        }
    }

    fn read(&self, until: Option<Instant>) -> Read {
        let Pipe::Thread(receiver) = self else {
            return read_some().map_or(Read::End, Read::Bytes);
        };
        let received = match until {
            Some(until) => receiver.recv_timeout(until.saturating_duration_since(Instant::now())),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok(bytes) => Read::Bytes(bytes),
            Err(RecvTimeoutError::Timeout) => Read::Nothing,
            Err(RecvTimeoutError::Disconnected) => Read::End,
        }
    }
}

/// Up to 4 KiB from stdin, the program's pipe; `None` at its end (a
/// broken pipe, the program's end closed, reads as an error or 0).
fn read_some() -> Option<Vec<u8>> {
    let mut chunk = vec![0u8; 4096];
    match std::io::stdin().read(&mut chunk) {
        Ok(0) | Err(_) => None,
        Ok(read) => {
            chunk.truncate(read);
            Some(chunk)
        }
    }
}

/// Collects the declarations until the pipe ends, then carries out those
/// still standing if the program is dead: the consoles first (nothing of
/// the program writes to them any more), then the removals, newest first
/// within each. Returns only to leave.
///
/// The consoles are looked at on each `Look` (then their "looked" events
/// are set), and 10 ms, 20 ms, 40 ms ... after a declaration or a `Look`,
/// at most a second apart, as on Linux.
fn watch(parent: &OwnedHandle) {
    let mut declared: Vec<(u64, Declared)> = Vec::new();
    let mut consoles: Vec<(u64, Console)> = Vec::new();
    let mut stream = Vec::new();
    let pipe = Pipe::open();
    let mut next_look: Option<(Instant, Duration)> = None;
    loop {
        let bytes = match pipe.read(next_look.map(|(at, _)| at)) {
            Read::Bytes(bytes) => bytes,
            Read::End => break,
            Read::Nothing => {
                for (_, console) in &mut consoles {
                    console.look(parent);
                }
                next_look = next_look.map(|(_, every)| {
                    let every = (every * 2).min(LOOK_EVERY_AT_MOST);
                    (Instant::now() + every, every)
                });
                continue;
            }
        };
        stream.extend_from_slice(&bytes);
        loop {
            match protocol::decode(&stream) {
                Decoded::Incomplete => break,
                Decoded::Broken => return,
                Decoded::Message(message, _, length) => {
                    stream.drain(..length);
                    match message {
                        Message::Declare {
                            id,
                            what: Declared::Terminal { termios, escape },
                        } => {
                            if let Some(mut console) = Console::from_declared(&termios, &escape) {
                                console.look(parent);
                                consoles.push((id, console));
                                next_look = Some((Instant::now() + FIRST_LOOK, FIRST_LOOK));
                            }
                        }
                        Message::Declare { id, what } => declared.push((id, what)),
                        Message::Cancel { id } | Message::Ran { id } => {
                            declared.retain(|&(declared, _)| declared != id);
                            consoles.retain(|(declared, _)| *declared != id);
                        }
                        Message::Look => {
                            for (_, console) in &mut consoles {
                                console.look(parent);
                                // SAFETY: sets the program's event, which
                                // it duplicated into this process.
                                unsafe { SetEvent(console.looked.as_raw_handle()) };
                            }
                            next_look = Some((Instant::now() + FIRST_LOOK, FIRST_LOOK));
                        }
                        Message::Bye => return,
                        _ => {}
                    }
                }
            }
        }
        if consoles.is_empty() {
            next_look = None;
        }
    }
    // SAFETY: waits on the program's process handle we own.
    if unsafe { WaitForSingleObject(parent.as_raw_handle(), DEATH_PATIENCE_MS) } != WAIT_OBJECT_0 {
        return;
    }
    for (_, console) in consoles.iter().rev() {
        console.give_back();
    }
    for (_, what) in declared.iter().rev() {
        carry_out(what);
    }
}

/// Carries out one removal (consoles are [`Console`]s).
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
