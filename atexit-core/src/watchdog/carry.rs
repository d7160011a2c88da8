//! The declared cleanups the watchdog holds (issue 24), and what it does once
//! the program died without saying `Bye`: first the process groups (the tied
//! ones and the declared ones, through [`super::reap`]: stopped at once, so
//! that nothing of theirs writes to the terminal after it is given back, and
//! killed with their descendants right after the terminal), then the
//! terminals, then the paths; newest first within each kind, as the program
//! would have run them.
//!
//! Each is checked before it acts, so that a cleanup the program already
//! carried out (a `Ran` lost in a full socket, or a kill between the run and
//! its `Ran`) is found done rather than done twice:
//!
//! - **A path** is removed only if `lstat(path)` still shows the declared
//!   `(dev, ino)`, which the descriptor held here pins (CRASH-FACTS §4: ext4
//!   reuses a freed inode number at once). A directory is removed with its
//!   contents by the crash handler's walk (`os::tree`), which never follows
//!   a symlink nor enters a file system mounted inside.
//! - **A process group** is killed only while it is provably the one
//!   declared: the leader's pidfd, or its start time (the [`super::reap`]
//!   rule for tied groups, descendants included).
//! - **A terminal** is restored by compare-and-restore (CRASH-FACTS §3: a
//!   late blind restore clobbers the mode readline set for the shell's next
//!   prompt). The program's own raw mode is not known at declaration (a TUI
//!   library sets it after), so the watchdog looks at the tty's mode while
//!   the program lives (see [`super::run`]) and keeps the last mode it saw
//!   *before* the program was seen alive. At the death it acts only if the
//!   tty still holds exactly that mode and it is not the saved one: then it
//!   writes the escape bytes and sets the saved mode. A mode the shell set
//!   after the death (bash restores its own; readline sets its own) is
//!   another mode, and is left alone; so is a tty already back in the saved
//!   mode (no escape bytes then either: the program gave it back itself,
//!   or the shell did).

use super::protocol::{Declared, Tie};
use super::run::Group;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// One declaration: what it is, its descriptor, and for a terminal the mode
/// it was last seen in while the program lived.
struct Held {
    what: Declared,
    fd: Option<OwnedFd>,
    seen: Option<libc::termios>,
}

/// The declarations still to be carried out, by id (ids grow with time, so
/// the last is the newest).
#[derive(Default)]
pub(super) struct Declarations {
    held: BTreeMap<u64, Held>,
    terminals: usize,
}

impl Declarations {
    pub(super) fn add(&mut self, id: u64, what: Declared, fd: Option<OwnedFd>) {
        if matches!(what, Declared::Terminal { .. }) {
            if fd.is_none() {
                return;
            }
            self.terminals += 1;
        }
        let old = self.held.insert(
            id,
            Held {
                what,
                fd,
                seen: None,
            },
        );
        if let Some(Held {
            what: Declared::Terminal { .. },
            ..
        }) = old
        {
            self.terminals -= 1;
        }
    }

    /// Cancelled, or carried out by the program.
    pub(super) fn forget(&mut self, id: u64) {
        if let Some(Held {
            what: Declared::Terminal { .. },
            ..
        }) = self.held.remove(&id)
        {
            self.terminals -= 1;
        }
    }

    pub(super) fn has_terminals(&self) -> bool {
        self.terminals > 0
    }

    /// Reads every declared tty's mode; keeps what it read only if
    /// `program_lives()` says so afterwards (a mode read after the death may
    /// be the shell's).
    pub(super) fn look_at_terminals(&mut self, program_lives: impl FnOnce() -> bool) {
        let read: Vec<(u64, libc::termios)> = self
            .held
            .iter()
            .filter_map(|(&id, held)| Some((id, mode(held.fd.as_ref()?)?)))
            .collect();
        if read.is_empty() || !program_lives() {
            return;
        }
        for (id, mode) in read {
            if let Some(held) = self.held.get_mut(&id) {
                held.seen = Some(mode);
            }
        }
    }
}

/// A tty's mode now.
fn mode(fd: &OwnedFd) -> Option<libc::termios> {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::zeroed();
    // SAFETY: a tty descriptor of ours; `termios` is written on success.
    (unsafe { libc::tcgetattr(fd.as_raw_fd(), termios.as_mut_ptr()) } == 0)
        // SAFETY: tcgetattr returned 0 and filled it.
        .then(|| unsafe { termios.assume_init() })
}

/// Whether two modes are the same, field by field (padding is not data).
pub(super) fn same_mode(a: &libc::termios, b: &libc::termios) -> bool {
    (a.c_iflag, a.c_oflag, a.c_cflag, a.c_lflag, a.c_line, a.c_cc)
        == (b.c_iflag, b.c_oflag, b.c_cflag, b.c_lflag, b.c_line, b.c_cc)
        && (a.c_ispeed, a.c_ospeed) == (b.c_ispeed, b.c_ospeed)
}

/// The program died without `Bye`: groups, then terminals, then paths.
pub(super) fn carry_out(mut groups: HashMap<u32, Group>, declared: Declarations) {
    let mut terminals = Vec::new();
    let mut paths = Vec::new();
    for (_, held) in declared.held.into_iter().rev() {
        match held.what {
            Declared::KillGroup { pgid, leader_start } => {
                // A tied group and a declared one with the same id are one
                // group: ended once.
                groups.entry(pgid).or_insert(Group {
                    tie: Tie {
                        pgid,
                        leader: pgid,
                        leader_start,
                    },
                    pidfd: held.fd,
                });
            }
            Declared::Terminal { termios, escape } => {
                if let (Some(fd), Some(saved)) = (held.fd, super::termios_from(&termios)) {
                    terminals.push((fd, saved, escape, held.seen));
                }
            }
            Declared::Remove {
                recursive,
                dev,
                ino,
                path,
            } => paths.push((path, dev, ino, recursive, held.fd)),
        }
    }
    // Stopped first (a signal each), so that nothing of theirs writes to the
    // terminal once it is given back; their descendants are looked for in
    // `/proc`, which takes longer, only after the terminal: the shell is
    // racing us for it (CRASH-FACTS §3).
    let stopped = super::reap::stop(&groups);
    for (fd, saved, escape, seen) in terminals {
        restore(&fd, &saved, &escape, seen.as_ref());
    }
    stopped.finish();
    for (path, dev, ino, recursive, pin) in paths {
        remove(
            std::ffi::OsStr::from_bytes(&path).as_ref(),
            dev,
            ino,
            recursive,
        );
        // The pin goes only now: until the removal, the inode number was ours.
        drop(pin);
    }
}

/// Compare-and-restore (see the module docs).
fn restore(fd: &OwnedFd, saved: &libc::termios, escape: &[u8], seen: Option<&libc::termios>) {
    let Some(seen) = seen else { return };
    let Some(now) = mode(fd) else { return };
    if !same_mode(&now, seen) || same_mode(&now, saved) {
        return;
    }
    let mut bytes = escape;
    for _ in 0..100 {
        if bytes.is_empty() {
            break;
        }
        // SAFETY: writes from a buffer we own to a descriptor we own.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = bytes.get(n as usize..).unwrap_or(&[]);
        } else if n == 0
            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            break;
        }
    }
    for _ in 0..100 {
        // SAFETY: a tty descriptor of ours and a termios tcgetattr filled.
        // No SIGTTOU: the watchdog is in a session of its own, with no
        // controlling terminal (CRASH-FACTS §3: no EIO either then).
        if unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, saved) } == 0
            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            break;
        }
    }
}

/// Removes `path` if it is still `(dev, ino)`.
fn remove(path: &std::path::Path, dev: u64, ino: u64, recursive: bool) {
    use std::os::unix::fs::MetadataExt;
    let Ok(now) = std::fs::symlink_metadata(path) else {
        return;
    };
    if (now.dev(), now.ino()) != (dev, ino) || now.is_dir() != recursive {
        return;
    }
    // Between the check and the removal, a window of tens of microseconds
    // that no Unix call closes (CRASH-FACTS §4; the contract says so).
    if !recursive {
        let _ = std::fs::remove_file(path);
        return;
    }
    // The crash handler's walk, not std's `remove_dir_all`: std's crosses
    // into a file system mounted inside the tree and empties it.
    use std::os::fd::AsFd;
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(dir) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(path)
    else {
        return;
    };
    if dir
        .metadata()
        .is_ok_and(|opened| (opened.dev(), opened.ino()) == (dev, ino))
    {
        crate::os::tree::empty_dir_deep(dir.as_fd());
        let _ = std::fs::remove_dir(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terminal() -> Declared {
        Declared::Terminal {
            termios: vec![0; 4],
            escape: Vec::new(),
        }
    }

    #[test]
    fn a_cancelled_or_ran_declaration_is_forgotten_and_terminals_are_counted() {
        let mut declared = Declarations::default();
        let tty = || Some(OwnedFd::from(std::fs::File::open("/dev/null").unwrap()));
        declared.add(1, terminal(), tty());
        declared.add(2, terminal(), None); // no tty: nothing to restore
        declared.add(
            3,
            Declared::KillGroup {
                pgid: 5,
                leader_start: 0,
            },
            None,
        );
        assert!(declared.has_terminals());
        assert_eq!(declared.held.len(), 2);
        declared.forget(1);
        assert!(!declared.has_terminals());
        declared.forget(3);
        declared.forget(99);
        assert!(declared.held.is_empty());
    }

    #[test]
    fn a_termios_round_trips_field_by_field() {
        // SAFETY: a zeroed termios is a valid value.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        termios.c_iflag = 1;
        termios.c_oflag = 2;
        termios.c_cflag = 3;
        termios.c_lflag = u32::MAX;
        termios.c_line = 5;
        termios.c_cc[libc::NCCS - 1] = 6;
        termios.c_ispeed = 7;
        termios.c_ospeed = 8;
        let back = super::super::termios_from(&super::super::termios_bytes(&termios)).unwrap();
        assert!(same_mode(&termios, &back));
        let mut other = back;
        other.c_ospeed = 9;
        assert!(!same_mode(&termios, &other));
        assert!(super::super::termios_from(&[0; 3]).is_none());
    }

    #[test]
    fn a_path_is_removed_only_while_it_is_the_declared_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("atexit-carry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("lock");
        std::fs::write(&lock, b"first").unwrap();
        let first = std::fs::metadata(&lock).unwrap();
        let _pin = std::fs::File::open(&lock).unwrap();
        // A second instance's file at the same path: kept.
        std::fs::remove_file(&lock).unwrap();
        std::fs::write(&lock, b"second").unwrap();
        remove(&lock, first.dev(), first.ino(), false);
        assert_eq!(std::fs::read(&lock).unwrap(), b"second");
        // The declared file itself: removed; a directory only as one.
        let now = std::fs::metadata(&lock).unwrap();
        remove(&lock, now.dev(), now.ino(), true);
        assert!(lock.exists(), "a file removed as a directory");
        remove(&lock, now.dev(), now.ino(), false);
        assert!(!lock.exists());
        let tree = std::fs::metadata(&dir).unwrap();
        std::fs::write(dir.join("inside"), b"").unwrap();
        remove(&dir, tree.dev(), tree.ino(), true);
        assert!(!dir.exists());
    }
}
