//! The declared cleanups on Unix: what is captured at declaration time, and
//! how each is carried out with async-signal-safe calls only, so that the
//! same code serves a normal exit and a crash handler.
//!
//! Every action here is plain data (a path with its device and inode, a
//! process group id, a tty descriptor with termios and bytes), so that a
//! watchdog process can later be handed the same declarations.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Where an action runs: the crash path may not allocate; a normal exit may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Context {
    Normal,
    Crash,
}

/// One declared cleanup, as data.
#[derive(Debug)]
pub(crate) enum Action {
    /// Remove `path` if it is still the file (or directory) `(dev, ino)`.
    Remove(Removal),
    /// `kill(-pgid, SIGKILL)`.
    KillGroup { pgid: libc::pid_t },
    /// Write `escape` to `fd`, then set its mode back to `saved`.
    Terminal(Terminal),
    #[cfg(test)]
    Noop,
}

#[derive(Debug)]
pub(crate) struct Removal {
    /// Absolute, so that a later `chdir` does not change what it names.
    pub(crate) path: CString,
    pub(crate) dev: libc::dev_t,
    pub(crate) ino: libc::ino_t,
    /// A directory, removed with its contents (never following symlinks).
    pub(crate) recursive: bool,
    /// An open descriptor that keeps the inode alive, so that its number is
    /// not given to a new file while we wait (ext4 reuses a freed inode
    /// number at once: CRASH-FACTS §4). A directory's is readable: its
    /// contents are removed through it.
    pub(crate) pin: Option<OwnedFd>,
}

pub(crate) struct Terminal {
    /// Our own duplicate of the tty descriptor, so that the program closing
    /// or reusing its fd 0 does not redirect the restore.
    pub(crate) fd: OwnedFd,
    /// The mode to restore: the tty's mode when the restore was declared.
    pub(crate) saved: libc::termios,
    pub(crate) escape: Box<[u8]>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("fd", &self.fd)
            .field("escape", &String::from_utf8_lossy(&self.escape))
            .finish_non_exhaustive()
    }
}

impl Action {
    #[cfg(test)]
    pub(crate) fn noop_for_tests() -> Action {
        Action::Noop
    }

    /// Hands a copy to the watchdog as declaration `id` (Linux with glibc;
    /// elsewhere nothing).
    pub(crate) fn tell_watchdog(&self, id: u64) {
        use crate::watchdog::Carried;
        let what = match self {
            Action::Remove(removal) => Carried::Remove {
                path: removal.path.as_bytes(),
                // Widened where dev_t and ino_t are narrower (macOS).
                #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
                dev: removal.dev as u64,
                #[allow(clippy::useless_conversion, clippy::unnecessary_cast)]
                ino: removal.ino as u64,
                recursive: removal.recursive,
                pin: removal.pin.as_ref().map(|pin| pin.as_fd()),
            },
            Action::KillGroup { pgid } => Carried::KillGroup {
                // Checked > 1 at declaration.
                pgid: *pgid as u32,
            },
            Action::Terminal(terminal) => Carried::Terminal {
                tty: terminal.fd.as_fd(),
                saved: &terminal.saved,
                escape: &terminal.escape,
            },
            #[cfg(test)]
            Action::Noop => return,
        };
        crate::watchdog::declare(id, what);
    }

    /// Carries it out. Async-signal-safe and panic-free in both contexts;
    /// errors are ignored (there is no one to tell at exit, and the
    /// declaration said what to do, not what to report).
    pub(crate) fn run(&self, context: Context) {
        match self {
            Action::Remove(removal) => removal.run(context),
            Action::KillGroup { pgid } => {
                // SAFETY: `kill` is async-signal-safe; `pgid` > 1 and not our
                // own group was checked at declaration.
                unsafe { libc::kill(-*pgid, libc::SIGKILL) };
            }
            Action::Terminal(terminal) => terminal.run(),
            #[cfg(test)]
            Action::Noop => {}
        }
    }
}

/// The process's id, as the table records owners.
pub(crate) fn pid() -> i64 {
    // SAFETY: `getpid` is async-signal-safe and cannot fail.
    i64::from(unsafe { libc::getpid() })
}

/// What the crash path calls while it waits for another thread.
pub(crate) fn sleep_1ms() {
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    // SAFETY: `nanosleep` is async-signal-safe; `ts` is valid.
    unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
}

fn cstring(path: &Path) -> io::Result<CString> {
    let absolute = std::path::absolute(path)?;
    CString::new(absolute.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))
}

fn lstat(path: &CStr) -> io::Result<libc::stat> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `path` is NUL-terminated; `stat` is written on success.
    if unsafe { libc::lstat(path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: lstat returned 0, so it filled `stat`.
    Ok(unsafe { stat.assume_init() })
}

fn open(path: &CStr, flags: libc::c_int) -> Option<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; a non-negative result is a new
    // descriptor that we own.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC | libc::O_NOFOLLOW) };
    // SAFETY: `fd` was just opened and is owned by no one else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `(dev, ino)` of an open descriptor, async-signal-safe.
fn fstat_id(fd: RawFd) -> Option<(libc::dev_t, libc::ino_t)> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is written on success; a bad fd only fails.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat returned 0.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_dev, stat.st_ino))
}

/// Declares the removal of a file, socket, symlink or fifo (`recursive` =
/// false) or of a directory tree (`recursive` = true).
pub(crate) fn removal(path: &Path, recursive: bool) -> io::Result<Action> {
    let path = cstring(path)?;
    let stat = lstat(&path)?;
    let is_dir = stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
    if is_dir && !recursive {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "remove_file was given a directory; use remove_dir_all",
        ));
    }
    if !is_dir && recursive {
        return Err(io::Error::new(
            io::ErrorKind::NotADirectory,
            "remove_dir_all was given something that is not a directory (a symlink to one is \
             not followed); use remove_file",
        ));
    }
    let pin = if is_dir {
        open(&path, libc::O_RDONLY | libc::O_DIRECTORY)
    } else {
        pin_file(&path, stat.st_mode)
    };
    // The pin must be the file we stat'ed, or it pins the wrong inode.
    let pin = pin.filter(|fd| fstat_id(fd.as_raw_fd()) == Some((stat.st_dev, stat.st_ino)));
    if is_dir && pin.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "cannot open the directory to remove its contents later",
        ));
    }
    Ok(Action::Remove(Removal {
        path,
        dev: stat.st_dev,
        ino: stat.st_ino,
        recursive,
        pin,
    }))
}

/// A descriptor that keeps a non-directory's inode alive. Linux's `O_PATH`
/// opens anything (a socket, a symlink itself, a fifo) without reading it;
/// elsewhere only a regular file can be opened harmlessly, and others stay
/// unpinned (their inode number could be reused: see the module docs).
fn pin_file(path: &CStr, mode: libc::mode_t) -> Option<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = mode;
        open(path, libc::O_PATH)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        (mode & libc::S_IFMT == libc::S_IFREG)
            .then(|| open(path, libc::O_RDONLY | libc::O_NONBLOCK))
            .flatten()
    }
}

impl Removal {
    fn run(&self, context: Context) {
        // Only if the path still names the declared inode: a lock file that
        // a new instance re-created (a new inode, as our pin keeps the old
        // number taken) is kept. Linux has no unlink-if-inode: a swap between
        // this check and the unlink is not caught (the module docs say so).
        let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: `path` is NUL-terminated; `stat` is written on success;
        // lstat is async-signal-safe in practice (fstatat is in POSIX's
        // list, and glibc's lstat is fstatat).
        if unsafe { libc::lstat(self.path.as_ptr(), stat.as_mut_ptr()) } != 0 {
            return;
        }
        // SAFETY: lstat returned 0.
        let stat = unsafe { stat.assume_init() };
        if (stat.st_dev, stat.st_ino) != (self.dev, self.ino) {
            return;
        }
        if !self.recursive {
            // SAFETY: async-signal-safe; the path is NUL-terminated.
            unsafe { libc::unlink(self.path.as_ptr()) };
            return;
        }
        let Some(pin) = &self.pin else { return };
        match context {
            Context::Crash => crate::os::tree::empty_dir(pin.as_fd()),
            Context::Normal => crate::os::tree::empty_dir_normal(pin.as_fd(), &self.path),
        }
        // SAFETY: async-signal-safe; the path is NUL-terminated.
        unsafe { libc::rmdir(self.path.as_ptr()) };
    }
}

/// Declares a `kill(-pgid, SIGKILL)`; refuses what it would be wrong to kill.
pub(crate) fn kill_group(pgid: u32) -> io::Result<Action> {
    let pgid = libc::pid_t::try_from(pgid)
        .ok()
        .filter(|&pgid| pgid > 1)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a process group id must be greater than 1",
            )
        })?;
    // SAFETY: `getpgrp` cannot fail.
    if pgid == unsafe { libc::getpgrp() } {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "this is the program's own process group: killing it would kill the program \
             before its other cleanups (and its shell's job with it)",
        ));
    }
    // SAFETY: signal 0 only checks that the group exists and may be signalled.
    if unsafe { libc::kill(-pgid, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Action::KillGroup { pgid })
}

/// The controlling terminal: the first of fds 0, 1 and 2 that is a tty, else
/// `/dev/tty`.
pub(crate) fn controlling_terminal(escape: &[u8]) -> io::Result<Action> {
    for fd in 0..3 {
        // SAFETY: `isatty` on any number only answers.
        if unsafe { libc::isatty(fd) } == 1 {
            // SAFETY: fd is open (isatty said it is a tty) for this call.
            return terminal(unsafe { BorrowedFd::borrow_raw(fd) }, escape);
        }
    }
    let tty = c"/dev/tty";
    // SAFETY: a NUL-terminated path; we own the new descriptor.
    let fd = unsafe {
        libc::open(
            tty.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(
            error.kind(),
            format!("no terminal: fds 0, 1 and 2 are not ttys, and /dev/tty: {error}"),
        ));
    }
    // SAFETY: just opened, owned by us.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    terminal(owned.as_fd(), escape)
}

/// Saves `fd`'s mode now and keeps a duplicate of it for the restore.
pub(crate) fn terminal(fd: BorrowedFd<'_>, escape: &[u8]) -> io::Result<Action> {
    let mut saved = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: `saved` is written on success.
    // (ENOTTY, "Inappropriate ioctl for device", if it is not a tty: kept
    // as the OS error so that callers can match `raw_os_error()`.)
    if unsafe { libc::tcgetattr(fd.as_raw_fd(), saved.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: tcgetattr returned 0.
    let saved = unsafe { saved.assume_init() };
    // Above 2, so that it is not mistaken for a standard stream.
    let fd = fd.try_clone_to_owned()?;
    Ok(Action::Terminal(Terminal {
        fd,
        saved,
        escape: escape.into(),
    }))
}

impl Terminal {
    fn run(&self) {
        let fd = self.fd.as_raw_fd();
        // A background process writing to or setting its tty is stopped by
        // SIGTTOU unless it blocks it; the crash handler's mask already
        // blocks everything, a normal exit blocks it here.
        let mut block = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: sigemptyset/sigaddset initialize `block`;
        // pthread_sigmask is async-signal-safe and writes `old` on success.
        let blocked = unsafe {
            libc::sigemptyset(block.as_mut_ptr());
            libc::sigaddset(block.as_mut_ptr(), libc::SIGTTOU);
            libc::pthread_sigmask(libc::SIG_BLOCK, block.as_ptr(), old.as_mut_ptr()) == 0
        };
        write_all(fd, &self.escape);
        for _ in 0..100 {
            // SAFETY: async-signal-safe; `saved` is a termios tcgetattr filled.
            if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &self.saved) } == 0
                || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR)
            {
                break;
            }
        }
        if blocked {
            // SAFETY: `old` was filled by the pthread_sigmask above.
            unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut()) };
        }
    }
}

/// Writes all of `bytes`, retrying short writes and EINTR a bounded number of
/// times (a tty whose output is stopped must not hang the exit).
fn write_all(fd: RawFd, mut bytes: &[u8]) {
    for _ in 0..100 {
        if bytes.is_empty() {
            return;
        }
        // SAFETY: `write` is async-signal-safe; the buffer is valid.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = bytes.get(n as usize..).unwrap_or(&[]);
        } else if n == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}
