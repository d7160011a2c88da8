//! Declared cleanups ("last words"): cleanups given as data rather than code
//! (restore a terminal, remove a path, kill a process group), so that they can
//! be carried out even where no handler can run: in a crash.
//!
#![doc = include_str!("contract.md")]

use crate::handle::Handle;
use std::io;
use std::path::Path;

#[cfg(unix)]
mod crash;
#[cfg(not(unix))]
#[path = "other.rs"]
mod sys;
#[cfg(unix)]
#[path = "unix.rs"]
mod sys;
mod table;
#[cfg(all(test, unix))]
mod tests;

/// The bytes a terminal restore writes before it resets the mode, unless
/// [`LastWords::with_escape_bytes`] says otherwise: leave the alternate
/// screen, stop mouse reporting (the X10, button, any-motion, SGR and urxvt
/// modes), stop bracketed paste, show the cursor, reset colours and
/// attributes. Each is harmless on a terminal that was not in that mode.
///
/// ```
/// assert!(atexit_core::TERMINAL_RESET.starts_with(b"\x1b[?1049l"));
/// ```
pub const TERMINAL_RESET: &[u8] = b"\x1b[?1049l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?2004l\x1b[?25h\x1b[0m";

/// The most escape bytes a terminal restore takes
/// ([`LastWords::with_escape_bytes`]).
const MAX_ESCAPE_BYTES: usize = 64 * 1024;

/// A cleanup described as data, not yet declared: made by one of the
/// constructors, which capture what the cleanup needs *now* (a file's
/// identity, a terminal's mode), and armed by [`LastWords::declare`].
///
/// Declared cleanups run on every normal ending and, on Unix, on a crash
/// too; the contract in full follows the example.
///
/// ```
/// let path = std::env::temp_dir().join(format!("atexit-doc-lw-{}.lock", std::process::id()));
/// std::fs::write(&path, b"")?;
/// let lock = atexit_core::LastWords::remove_file(&path)?.declare();
/// // ... the program runs; at its end (or crash) the lock file is removed.
/// # lock.run_now();
/// # assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc = include_str!("contract.md")]
#[derive(Debug)]
pub struct LastWords {
    action: sys::Action,
}

impl LastWords {
    /// Removes `path` (a file, a Unix socket, a fifo or a symlink itself,
    /// never what it points to), if it is still the same file then.
    ///
    /// The file's device and inode are recorded now, and (see the module
    /// docs) an open descriptor keeps its inode number from being reused: a
    /// file another process put at the same path is not removed. `path` is
    /// made absolute now, so a later change of the working directory does not
    /// matter.
    ///
    /// Errors: [`io::ErrorKind::NotFound`] if nothing is at `path`,
    /// [`io::ErrorKind::IsADirectory`] for a directory (use
    /// [`LastWords::remove_dir_all`]).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("atexit-doc-rm-{}.pid", std::process::id()));
    /// std::fs::write(&path, std::process::id().to_string())?;
    /// atexit_core::LastWords::remove_file(&path)?.declare();
    ///
    /// let missing = atexit_core::LastWords::remove_file("/no/such/file").unwrap_err();
    /// assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_file(path: impl AsRef<Path>) -> io::Result<LastWords> {
        Ok(LastWords {
            action: sys::removal(path.as_ref(), false)?,
        })
    }

    /// Removes the directory `path` with everything in it, if `path` is
    /// still the same directory then. Symlinks inside are removed, never
    /// followed; a symlink at `path` itself is refused.
    ///
    /// Errors: [`io::ErrorKind::NotFound`] if nothing is at `path`,
    /// [`io::ErrorKind::NotADirectory`] if it is not a directory.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("atexit-doc-dir-{}", std::process::id()));
    /// std::fs::create_dir_all(dir.join("cache"))?;
    /// std::fs::write(dir.join("cache/part"), b"...")?;
    /// let scratch = atexit_core::LastWords::remove_dir_all(&dir)?.declare();
    /// # scratch.run_now();
    /// # assert!(!dir.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<LastWords> {
        Ok(LastWords {
            action: sys::removal(path.as_ref(), true)?,
        })
    }

    /// Sends SIGKILL to the process group `pgid`: the workers a program
    /// started in a group of their own (`Command::process_group(0)`, whose
    /// group id is the child's pid).
    ///
    /// Errors: [`io::ErrorKind::InvalidInput`] for 0, 1 or the program's own
    /// group; the error of `kill(-pgid, 0)` if no such group can be
    /// signalled (`ESRCH`, `EPERM`); [`io::ErrorKind::Unsupported`] on
    /// Windows.
    ///
    /// A pgid is a number: if the group ends and the number is reused before
    /// the cleanup runs, the new group is killed. Cancel the declaration when
    /// you reap the group's leader.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::process::CommandExt;
    /// let mut child = std::process::Command::new("sleep").arg("30").process_group(0).spawn()?;
    /// let group = atexit_core::LastWords::kill_process_group(child.id())?.declare();
    /// // ... on any ending, the whole group gets SIGKILL.
    /// # group.run_now();
    /// # use std::os::unix::process::ExitStatusExt;
    /// # assert_eq!(child.wait()?.signal(), Some(9));
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kill_process_group(pgid: u32) -> io::Result<LastWords> {
        Ok(LastWords {
            action: sys::kill_group(pgid)?,
        })
    }

    /// Restores the controlling terminal (the first of fds 0, 1 and 2 that
    /// is a tty, else `/dev/tty`; on Windows the console, `CONIN$` and
    /// `CONOUT$`, its input and output modes) to the mode it has now,
    /// after writing [`TERMINAL_RESET`] to it (on Windows only while the
    /// console processes escape sequences, else they would print).
    ///
    /// Call it **before** entering raw mode, so that the mode saved is the
    /// cooked one. [`restore_terminal_at_exit`] is this plus
    /// [`declare`](LastWords::declare).
    ///
    /// Errors: the error of opening `/dev/tty` when the process has no
    /// terminal; on Windows the error of opening `CONIN$` or `CONOUT$`, or
    /// of reading their modes, when the process has no console.
    ///
    /// ```
    /// match atexit_core::LastWords::restore_terminal() {
    ///     Ok(restore) => drop(restore.declare()),
    ///     Err(error) => eprintln!("no terminal to restore: {error}"),
    /// }
    /// ```
    pub fn restore_terminal() -> io::Result<LastWords> {
        Ok(LastWords {
            action: sys::controlling_terminal(TERMINAL_RESET)?,
        })
    }

    /// Restores the terminal open on `fd` to the mode it has now, after
    /// writing [`TERMINAL_RESET`] to it. A duplicate of `fd` is kept, so
    /// closing `fd` afterwards does not matter.
    ///
    /// Errors: the OS error `ENOTTY` (`raw_os_error()`; "Inappropriate ioctl
    /// for device") if `fd` is not a terminal.
    ///
    /// ```
    /// let file = std::fs::File::open("/dev/null")?;
    /// assert!(atexit_core::LastWords::restore_terminal_fd(&file).is_err(), "not a tty");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn restore_terminal_fd(fd: impl std::os::fd::AsFd) -> io::Result<LastWords> {
        Ok(LastWords {
            action: sys::terminal(fd.as_fd(), TERMINAL_RESET)?,
        })
    }

    /// Replaces the bytes a terminal restore writes (by default
    /// [`TERMINAL_RESET`]); an empty slice writes none.
    ///
    /// Errors: [`io::ErrorKind::InvalidInput`] if this is not a terminal
    /// restore, or if `bytes` is longer than 64 KiB (the watchdog is handed
    /// them as one message, and a reset is a few dozen bytes).
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// let path = std::env::temp_dir().join(format!("atexit-doc-esc-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let not_a_terminal = atexit_core::LastWords::remove_file(&path)?;
    /// assert!(not_a_terminal.with_escape_bytes(b"\x1b[?25h").is_err());
    /// # std::fs::remove_file(&path)?;
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_escape_bytes(self, bytes: &[u8]) -> io::Result<LastWords> {
        if bytes.len() > MAX_ESCAPE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "at most 64 KiB of escape bytes",
            ));
        }
        let mut this = self;
        if let sys::Action::Terminal(terminal) = &mut this.action {
            terminal.escape = bytes.into();
            return Ok(this);
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "escape bytes belong to a terminal restore",
        ))
    }

    /// Arms the cleanup: from now on it runs once when the program ends, on
    /// a normal ending as an exit handler (newest first among them) and, on
    /// Unix, on a crash from the crash handler (installed by the first
    /// declaration). The [`Declaration`] cancels it; dropping it keeps the
    /// declaration armed.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("atexit-doc-decl-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let before = atexit_core::ncallbacks();
    /// // What the handlers around it see: the file, then no file.
    /// let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let (older, newer) = ((path.clone(), seen.clone()), (path.clone(), seen.clone()));
    /// atexit_core::register(move || older.1.lock().unwrap().push(older.0.exists()));
    /// let declaration = atexit_core::LastWords::remove_file(&path)?.declare();
    /// atexit_core::register(move || newer.1.lock().unwrap().push(newer.0.exists()));
    /// assert_eq!(atexit_core::ncallbacks(), before + 3, "an exit handler like any other");
    /// assert!(declaration.is_pending());
    /// atexit_core::run_exitfuncs(); // what the exit does: newest first
    /// assert_eq!(*seen.lock().unwrap(), [true, false]);
    /// assert!(!declaration.is_pending());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn declare(self) -> Declaration {
        #[cfg(unix)]
        crash::install();
        let ticket = table::arm(self.action, sys::pid());
        let handle = crate::api::register(move || {
            ticket.run();
        });
        Declaration { ticket, handle }
    }
}

/// One armed declaration, made by [`LastWords::declare`]: it can be
/// cancelled or run early. Dropping it keeps the declaration armed.
///
/// ```
/// let path = std::env::temp_dir().join(format!("atexit-doc-handle-{}", std::process::id()));
/// std::fs::write(&path, b"")?;
/// let declaration = atexit_core::LastWords::remove_file(&path)?.declare();
/// assert!(declaration.cancel(), "was waiting");
/// assert!(path.exists(), "a cancelled declaration does not run");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Declaration {
    ticket: table::Ticket,
    handle: Handle,
}

impl Declaration {
    /// Cancels it: it will not run on any ending, and its exit handler is
    /// unregistered. Returns whether it was still waiting (`false` once it
    /// ran, or while it is running).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("atexit-doc-cancel-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let before = atexit_core::ncallbacks();
    /// let declaration = atexit_core::LastWords::remove_file(&path)?.declare();
    /// assert!(declaration.cancel());
    /// assert_eq!(atexit_core::ncallbacks(), before);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cancel(self) -> bool {
        let was_waiting = self.ticket.cancel();
        self.handle.unregister();
        was_waiting
    }

    /// Runs it now (a TUI that leaves the alternate screen, a lock released
    /// early), and not again at the end. Returns whether it ran (`false` if
    /// it already ran, or is running on another thread).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("atexit-doc-now-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let declaration = atexit_core::LastWords::remove_file(&path)?.declare();
    /// assert!(declaration.run_now());
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn run_now(self) -> bool {
        let ran = self.ticket.run();
        self.handle.unregister();
        ran
    }

    /// Tells the watchdog that the terminal now holds the mode the program
    /// wants (call it right after entering raw mode), and waits until the
    /// watchdog has looked (at most 200 ms). Whether a watchdog looked:
    /// `false` where there is none (musl, macOS, the BSDs, a `cdylib` or
    /// DLL: see the contract on [`LastWords`]), and while it is still
    /// starting.
    ///
    /// The watchdog restores a terminal after a `kill -9` only if the tty
    /// still holds the mode it last saw while the program lived (so that it
    /// never undoes a mode the shell set after the death). It looks on its
    /// own after every declaration, then 10 ms, 20 ms, 40 ms ... later, at
    /// most a second apart; this call makes the look happen now, so a kill
    /// a moment after entering raw mode is covered too. It applies to every
    /// terminal declared, whichever declaration it is called on.
    ///
    /// ```no_run
    /// let restore = atexit_core::restore_terminal_at_exit()?;
    /// // crossterm::terminal::enable_raw_mode()?;
    /// restore.note_terminal_mode();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn note_terminal_mode(&self) -> bool {
        crate::watchdog::look_at_terminals()
    }

    /// Whether it is still waiting to run.
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("atexit-doc-pending-{}", std::process::id()));
    /// std::fs::write(&path, b"")?;
    /// let declaration = atexit_core::LastWords::remove_file(&path)?.declare();
    /// assert!(declaration.is_pending());
    /// # declaration.run_now();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_pending(&self) -> bool {
        self.ticket.is_pending()
    }
}

/// The terminal helper for TUI programs: saves the controlling terminal's
/// mode now and declares its restore, with [`TERMINAL_RESET`] written first
/// (leave the alternate screen, show the cursor, stop mouse reporting, reset
/// attributes). Run on every ending a [`LastWords`] runs on, a crash
/// included.
///
/// **Call it before entering raw mode.** crossterm's `enable_raw_mode` and
/// ratatui's `ratatui::init` (which calls it) switch the terminal to raw mode
/// themselves; the mode saved is the one the terminal has at this call, so
/// calling it afterwards would "restore" raw mode.
///
/// ```no_run
/// fn main() -> std::io::Result<()> {
///     // First, while the terminal is still cooked:
///     let _restore = atexit_core::restore_terminal_at_exit()?;
///     // Then: crossterm::terminal::enable_raw_mode()?;
///     //       crossterm::execute!(stdout, EnterAlternateScreen, EnableMouseCapture)?;
///     // or:   let terminal = ratatui::init();
///     // ... a panic, a segfault in a C library, an abort() or atexit::exit(1)
///     // now all leave the user's shell usable.
///     Ok(())
/// }
/// ```
pub fn restore_terminal_at_exit() -> io::Result<Declaration> {
    LastWords::restore_terminal().map(LastWords::declare)
}
