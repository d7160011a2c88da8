//! The declared cleanups where there is no Unix (Windows): removals and
//! the console's modes, carried out in the process on normal exits, and by the watchdog
//! (`watchdog::windows_role`) when the process dies any other way. There is
//! no crash path in the process (no handler of this crate runs on an access
//! violation: the watchdog sees the death). The console's modes are read
//! and set by `os::console`. Process groups are refused with
//! `Unsupported` rather than accepted and never killed. A file is named by
//! its identity (`os::file_id`), checked when it is removed.

use crate::os::console::{self, Modes};
use crate::os::file_id::{self, FileId};
use std::io;
use std::os::windows::io::AsRawHandle as _;
use std::path::{Path, PathBuf};

/// Where an action runs; only normal exits here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Normal,
}

/// One declared cleanup, as data.
#[derive(Debug)]
pub(crate) enum Action {
    Remove(Removal),
    Terminal(Terminal),
    #[cfg(test)]
    Noop,
}

#[derive(Debug)]
pub(crate) struct Removal {
    pub(crate) path: PathBuf,
    /// The file's identity when it was declared: a file re-created at the
    /// path since is another file, and is kept.
    pub(crate) file: FileId,
    pub(crate) recursive: bool,
}

/// The console this process was attached to at the declaration, and its
/// modes then.
#[derive(Debug)]
pub(crate) struct Terminal {
    input: std::fs::File,
    output: std::fs::File,
    saved: Modes,
    pub(crate) escape: Box<[u8]>,
}

impl Action {
    #[cfg(test)]
    pub(crate) fn noop_for_tests() -> Action {
        Action::Noop
    }

    /// Hands the declaration to the watchdog, started if need be.
    pub(crate) fn tell_watchdog(&self, id: u64) {
        match self {
            Action::Remove(removal) => {
                crate::watchdog::declare_removal(id, &removal.path, removal.file, removal.recursive)
            }
            Action::Terminal(terminal) => crate::watchdog::declare_console(
                id,
                terminal.handles(),
                terminal.saved,
                &terminal.escape,
            ),
            #[cfg(test)]
            Action::Noop => {}
        }
    }

    pub(crate) fn run(&self, _context: Context) {
        match self {
            Action::Remove(removal) => removal.run(),
            Action::Terminal(terminal) => {
                let [input, output] = terminal.handles();
                console::give_back(input, output, terminal.saved, &terminal.escape);
            }
            #[cfg(test)]
            Action::Noop => {}
        }
    }
}

impl Terminal {
    /// The console's input and screen buffer.
    fn handles(&self) -> [std::os::windows::io::RawHandle; 2] {
        [self.input.as_raw_handle(), self.output.as_raw_handle()]
    }
}

impl Removal {
    fn run(&self) {
        file_id::remove_if_same(&self.path, self.file, self.recursive);
    }
}

pub(crate) fn pid() -> i64 {
    i64::from(std::process::id())
}

pub(crate) fn removal(path: &Path, recursive: bool) -> io::Result<Action> {
    let path = std::path::absolute(path)?;
    let (file, is_dir) = file_id::identity(&path)?;
    if is_dir && !recursive {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "remove_file was given a directory; use remove_dir_all",
        ));
    }
    if !is_dir && recursive {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "remove_dir_all was given something that is not a directory; use remove_file",
        ));
    }
    Ok(Action::Remove(Removal {
        path,
        file,
        recursive,
    }))
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is a Unix declaration: not available on this platform"),
    )
}

pub(crate) fn kill_group(_pgid: u32) -> io::Result<Action> {
    Err(unsupported("killing a process group"))
}

/// The console this process is attached to, its modes saved now.
pub(crate) fn controlling_terminal(escape: &[u8]) -> io::Result<Action> {
    let (input, output) = console::open()?;
    let saved = console::modes(input.as_raw_handle(), output.as_raw_handle())?;
    Ok(Action::Terminal(Terminal {
        input,
        output,
        saved,
        escape: escape.into(),
    }))
}
