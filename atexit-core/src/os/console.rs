//! A console's modes on Windows: what `LastWords::restore_terminal` saves
//! and gives back on a normal ending, and what the watchdog gives back
//! after the program was killed (through handles the program duplicated
//! into it), hence its place here, below both.
//!
//! A console has an input mode (line input, echo, Ctrl+C processing: what
//! a TUI turns off for raw mode) and an output mode (virtual terminal
//! processing: what lets escape sequences such as the alternate screen's
//! work). Both are given back; the escape bytes are written first, and
//! only while the output mode processes them (without it a console prints
//! them as text).

use std::io;
use std::os::windows::io::RawHandle;
use windows_sys::Win32::Storage::FileSystem::WriteFile;
use windows_sys::Win32::System::Console::{
    GetConsoleMode, SetConsoleMode, ENABLE_VIRTUAL_TERMINAL_PROCESSING,
};

/// A console's two modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Modes {
    pub(crate) input: u32,
    pub(crate) output: u32,
}

/// The console this process is attached to: its input and its screen
/// buffer, opened by name (so redirected std handles do not matter).
pub(crate) fn open() -> io::Result<(std::fs::File, std::fs::File)> {
    let open = |name: &str| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name)
            .map_err(|error| io::Error::new(error.kind(), format!("no console ({name}): {error}")))
    };
    Ok((open("CONIN$")?, open("CONOUT$")?))
}

fn mode(handle: RawHandle) -> io::Result<u32> {
    let mut mode = 0;
    // SAFETY: only reads; a handle that is not a console's fails, and the
    // out-pointer is a local.
    if unsafe { GetConsoleMode(handle, &mut mode) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(mode)
}

/// The modes of the console behind `input` and `output` now.
pub(crate) fn modes(input: RawHandle, output: RawHandle) -> io::Result<Modes> {
    Ok(Modes {
        input: mode(input)?,
        output: mode(output)?,
    })
}

/// Writes `escape` to `output` if its mode processes escape sequences, then
/// sets both modes back to `saved`. Each step that fails is skipped.
pub(crate) fn give_back(input: RawHandle, output: RawHandle, saved: Modes, escape: &[u8]) {
    let processes_escapes =
        mode(output).is_ok_and(|mode| mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0);
    if processes_escapes && !escape.is_empty() {
        let length = u32::try_from(escape.len()).unwrap_or(u32::MAX);
        let mut written = 0;
        // SAFETY: writes from a slice that outlives the call (synchronous:
        // a console handle is not overlapped).
        unsafe {
            WriteFile(
                output,
                escape.as_ptr(),
                length,
                &mut written,
                std::ptr::null_mut(),
            )
        };
    }
    // SAFETY: sets modes on handles given; a wrong one fails.
    unsafe {
        SetConsoleMode(output, saved.output);
        SetConsoleMode(input, saved.input);
    }
}
