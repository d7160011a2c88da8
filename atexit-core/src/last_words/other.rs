//! The declared cleanups where there is no Unix (Windows): removals only,
//! carried out on normal exits by std's file functions. There is no crash
//! path here (no signal handler runs on an access violation in this crate),
//! and process groups and terminals are refused with `Unsupported` rather
//! than accepted and never restored.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Where an action runs; only normal exits here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Normal,
}

/// One declared cleanup, as data.
#[derive(Debug)]
pub(crate) enum Action {
    Remove(Removal),
    #[cfg(test)]
    Noop,
}

#[derive(Debug)]
pub(crate) struct Removal {
    pub(crate) path: PathBuf,
    /// The file's creation time, as the stand-in for its identity: std has no
    /// stable file index on Windows. A file re-created since is kept.
    pub(crate) created: Option<SystemTime>,
    pub(crate) recursive: bool,
}

impl Action {
    #[cfg(test)]
    pub(crate) fn noop_for_tests() -> Action {
        Action::Noop
    }

    /// No watchdog here (see the contract): nothing to tell.
    pub(crate) fn tell_watchdog(&self, _id: u64) {}

    pub(crate) fn run(&self, _context: Context) {
        match self {
            Action::Remove(removal) => removal.run(),
            #[cfg(test)]
            Action::Noop => {}
        }
    }
}

impl Removal {
    fn run(&self) {
        let Ok(metadata) = std::fs::symlink_metadata(&self.path) else {
            return;
        };
        if metadata.created().ok() != self.created {
            return;
        }
        let _ = if self.recursive {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::remove_file(&self.path)
        };
    }
}

pub(crate) fn pid() -> i64 {
    i64::from(std::process::id())
}

pub(crate) fn removal(path: &Path, recursive: bool) -> io::Result<Action> {
    let path = std::path::absolute(path)?;
    let metadata = std::fs::symlink_metadata(&path)?;
    if metadata.is_dir() && !recursive {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "remove_file was given a directory; use remove_dir_all",
        ));
    }
    if !metadata.is_dir() && recursive {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "remove_dir_all was given something that is not a directory; use remove_file",
        ));
    }
    Ok(Action::Remove(Removal {
        path,
        created: metadata.created().ok(),
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

pub(crate) fn controlling_terminal(_escape: &[u8]) -> io::Result<Action> {
    Err(unsupported("restoring the terminal's mode"))
}
