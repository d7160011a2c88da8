//! The real-world examples (a batching producer, `tracing-appender`, a
//! crossterm TUI, `tempfile`, an SQLite transaction), run as processes that
//! end in each way the exit handlers cover: `main` returning,
//! `std::process::exit`, a panic in `main`, and SIGTERM. Each test checks
//! what the process left behind: files, a database, a terminal.

#![cfg(unix)]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{command, example, Finished, Running};

const LIMIT: Duration = Duration::from_secs(20);

/// How an example ends; its first argument.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ending {
    Return,
    Exit,
    Panic,
    Signal,
}

impl Ending {
    fn arg(self) -> &'static str {
        match self {
            Ending::Return => "return",
            Ending::Exit => "exit",
            Ending::Panic => "panic",
            Ending::Signal => "signal",
        }
    }

    /// Checks the status (the examples exit with 3), and that stderr holds
    /// the panic message for a panic and nothing at all otherwise: the
    /// handlers report their failures there.
    fn assert_ended(self, finished: &Finished, panic_message: &str) {
        let context = format!("{:?}\nstdout:\n{}", finished.status, finished.stdout);
        match self {
            Ending::Return => assert_eq!(finished.status.code(), Some(0), "{context}"),
            Ending::Exit => assert_eq!(finished.status.code(), Some(3), "{context}"),
            Ending::Panic => {
                assert_eq!(finished.status.code(), Some(101), "{context}");
                assert!(
                    finished.stderr.contains(panic_message),
                    "no {panic_message:?} in stderr:\n{}",
                    finished.stderr
                );
                return;
            }
            Ending::Signal => assert_eq!(finished.signal(), Some(libc::SIGTERM), "{context}"),
        }
        assert_eq!(finished.stderr, "", "{context}");
    }
}

/// Runs `command` to its end. For [`Ending::Signal`], waits for its `ready`
/// line, calls `before_signal` (the process is still running), then sends
/// SIGTERM.
fn run_until_end(command: &mut Command, ending: Ending, before_signal: impl FnOnce()) -> Finished {
    if ending != Ending::Signal {
        return support::run(command, LIMIT);
    }
    let mut running = Running::start(command);
    running.wait_for_line("ready");
    before_signal();
    running.signal(libc::SIGTERM);
    running.finish(LIMIT).0
}

/// One test per ending, in a module named after what they check.
macro_rules! for_each_ending {
    ($name:ident, $check:expr) => {
        mod $name {
            use super::Ending;

            #[test]
            fn on_return() {
                ($check)(Ending::Return);
            }

            #[test]
            fn on_exit() {
                ($check)(Ending::Exit);
            }

            #[test]
            fn on_panic() {
                ($check)(Ending::Panic);
            }

            #[test]
            fn on_sigterm() {
                ($check)(Ending::Signal);
            }
        }
    };
}

// --- batching_producer ---------------------------------------------------

fn read_messages(broker: &Path) -> Vec<String> {
    std::fs::read_to_string(broker)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", broker.display()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every message once, in order: the last partial batch neither lost nor
/// sent twice.
fn assert_all_messages_once(broker: &Path) {
    let expected: Vec<String> = (1..=1000).map(|n| format!("message {n}")).collect();
    let sent = read_messages(broker);
    assert_eq!(sent.len(), expected.len(), "messages at the broker");
    assert!(sent == expected, "messages out of order or repeated");
}

fn batching_producer(ending: Ending) {
    let dir = support::TempDir::new("batching_producer");
    let broker = dir.path().join("broker.txt");
    let finished = run_until_end(
        command(&example("batching_producer"))
            .arg(ending.arg())
            .arg(&broker),
        ending,
        || {
            // 1,000 is not a multiple of the batch size: the tail is pending.
            assert_eq!(read_messages(&broker).len(), 960, "15 full batches of 64");
        },
    );
    ending.assert_ended(&finished, "the producer's caller failed");
    assert_all_messages_once(&broker);
}

for_each_ending!(
    batching_producer_sends_the_last_batch,
    super::batching_producer
);

#[test]
fn batching_producer_close_cancels_the_exit_flush() {
    let dir = support::TempDir::new("batching_producer_close");
    let broker = dir.path().join("broker.txt");
    let finished = support::run(
        command(&example("batching_producer"))
            .arg("close")
            .arg(&broker),
        LIMIT,
    );
    Ending::Return.assert_ended(&finished, "");
    assert_eq!(
        finished.stdout,
        "handlers before close: 1\nhandlers after close: 0\n"
    );
    assert_all_messages_once(&broker);
}

#[test]
fn batching_producer_dropped_sends_once_and_its_guard_cancels_the_handler() {
    let dir = support::TempDir::new("batching_producer_drop");
    let broker = dir.path().join("broker.txt");
    let finished = support::run(
        command(&example("batching_producer"))
            .arg("drop")
            .arg(&broker),
        LIMIT,
    );
    Ending::Return.assert_ended(&finished, "");
    // The guard cancelled the registration with the producer, and the drop
    // itself sent the tail: nothing is left for the exit, nothing sent twice.
    assert_eq!(
        finished.stdout,
        "handlers after drop: 0\nmessages at the broker after drop: 1000\n"
    );
    assert_all_messages_once(&broker);
}

// --- tracing_flush -------------------------------------------------------

fn tracing_flush(ending: Ending) {
    let dir = support::TempDir::new("tracing_flush");
    let finished = run_until_end(
        command(&example("tracing_flush"))
            .arg(ending.arg())
            .arg(dir.path()),
        ending,
        || {},
    );
    ending.assert_ended(&finished, "the work failed");
    let log = std::fs::read_to_string(dir.path().join("app.log")).expect("the log file");
    // With atexit's `tracing` feature the file also has atexit's own line
    // that a shutdown's handlers start (SIGTERM's; a plain exit's is told
    // at debug), logged before they run (the guard's drop).
    let (atexit, lines): (Vec<&str>, Vec<&str>) = log
        .lines()
        .partition(|line| line.contains(" INFO atexit: exit handlers start ("));
    let expected = usize::from(cfg!(feature = "tracing") && ending.arg() == "signal");
    assert_eq!(atexit.len(), expected, "atexit's line: {atexit:?}");
    assert_eq!(lines.len(), 10_001, "every line logged is in the file");
    let last = lines.last().expect("a last line");
    assert!(
        last.ends_with("INFO tracing_flush: last line before exit"),
        "the last line is {last:?}"
    );
}

for_each_ending!(tracing_flush_keeps_the_last_line, super::tracing_flush);

// Without the handler (`--no-atexit`), `std::process::exit` loses the queued
// lines only when the writer thread is behind: measured, 14 runs in 20 lost
// lines, so the loss is not asserted.

// --- temp_cleanup --------------------------------------------------------

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list the parent directory")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    entries
}

/// The path printed after `label` on stdout.
fn printed_path(stdout: &str, label: &str) -> PathBuf {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no {label:?} line in stdout:\n{stdout}"))
}

fn temp_cleanup(ending: Ending) {
    let parent = support::TempDir::new("temp_cleanup");
    let mut while_running = Vec::new();
    let finished = run_until_end(
        command(&example("temp_cleanup"))
            .arg(ending.arg())
            .arg(parent.path()),
        ending,
        || while_running = entries(parent.path()),
    );
    ending.assert_ended(&finished, "the work failed");
    let scratch = printed_path(&finished.stdout, "scratch dir: ");
    let spool = printed_path(&finished.stdout, "spool file: ");
    assert!(scratch.starts_with(parent.path()) && spool.starts_with(parent.path()));
    if ending == Ending::Signal {
        let mut expected = vec![scratch.clone(), spool.clone()];
        expected.sort();
        assert_eq!(while_running, expected, "both existed before SIGTERM");
    }
    assert_eq!(entries(parent.path()), Vec::<PathBuf>::new(), "left behind");
    // Removed by the handlers, newest first (not by a `Drop` in `main`).
    assert!(
        finished.stdout.ends_with(&format!(
            "removed {}\nremoved {}\n",
            spool.display(),
            scratch.display()
        )),
        "stdout:\n{}",
        finished.stdout
    );
}

for_each_ending!(temp_cleanup_leaves_nothing_behind, super::temp_cleanup);

// --- sqlite_commit -------------------------------------------------------

fn journal(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-journal");
    PathBuf::from(name)
}

fn open_without_waiting(db: &Path) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    // rusqlite waits 5 s for a lock by default: a held lock must fail at once.
    connection
        .busy_timeout(Duration::ZERO)
        .expect("set the busy timeout");
    connection
}

fn sqlite_commit(ending: Ending, action: &str) {
    let dir = support::TempDir::new("sqlite_commit");
    let db = dir.path().join("events.db");
    let finished = run_until_end(
        command(&example("sqlite_commit"))
            .arg(ending.arg())
            .arg(&db)
            .arg(action),
        ending,
        || {
            // The transaction is open: its journal exists and the write lock
            // is taken. A kill now would leave a hot journal behind.
            assert!(
                journal(&db).exists(),
                "no journal while the transaction is open"
            );
            let error = open_without_waiting(&db)
                .execute_batch("BEGIN IMMEDIATE")
                .expect_err("the child holds the write lock");
            assert_eq!(
                error.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy),
                "{error}"
            );
        },
    );
    ending.assert_ended(&finished, "the import failed");
    let done = if action == "commit" {
        "committed"
    } else {
        "rolled back"
    };
    let ready = if ending == Ending::Signal {
        "ready\n"
    } else {
        ""
    };
    assert_eq!(
        finished.stdout,
        format!("inserted 100 rows, not committed yet\n{ready}{done}, database closed\n")
    );
    // Checked before opening: opening would roll a hot journal back.
    assert!(!journal(&db).exists(), "a hot journal was left behind");

    let connection = open_without_waiting(&db);
    let rows: i64 = connection
        .query_row("SELECT count(*) FROM events", [], |row| row.get(0))
        .expect("count the rows");
    assert_eq!(rows, if action == "commit" { 100 } else { 0 });
    // Not locked: a write transaction starts and commits at once.
    connection
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO events (body) VALUES ('after exit'); COMMIT;")
        .expect("the database is free for writing");
}

for_each_ending!(sqlite_commit_commits_the_open_transaction, |ending| {
    super::sqlite_commit(ending, "commit")
});

for_each_ending!(sqlite_commit_rolls_back_the_open_transaction, |ending| {
    super::sqlite_commit(ending, "rollback")
});

// --- terminal_restore ----------------------------------------------------

/// The example under a real pseudo-terminal: the child's stdin, stdout and
/// stderr are the terminal, as in a shell.
#[cfg(target_os = "linux")]
mod terminal {
    use std::fs::File;
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::process::{Child, ExitStatus, Stdio};
    use std::sync::mpsc::{self, Receiver};
    use std::time::{Duration, Instant};

    use super::support::{command, example};
    use super::{Ending, LIMIT};

    fn check(result: libc::c_int, what: &str) -> libc::c_int {
        assert!(
            result >= 0,
            "{what} failed: {}",
            std::io::Error::last_os_error()
        );
        result
    }

    /// A new pseudo-terminal: its master and its slave, both close-on-exec so
    /// that children started by other tests never hold them.
    fn open_pty() -> (OwnedFd, OwnedFd) {
        // SAFETY: plain libc calls on a descriptor this function owns; the
        // name buffer is large enough and NUL-terminated by `ptsname_r`.
        unsafe {
            let master = check(
                libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC),
                "posix_openpt",
            );
            let master = OwnedFd::from_raw_fd(master);
            check(libc::grantpt(master.as_raw_fd()), "grantpt");
            check(libc::unlockpt(master.as_raw_fd()), "unlockpt");
            let mut name = [0 as libc::c_char; 128];
            let error = libc::ptsname_r(master.as_raw_fd(), name.as_mut_ptr(), name.len());
            assert_eq!(error, 0, "ptsname_r failed");
            let slave = check(
                libc::open(
                    name.as_ptr(),
                    libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
                ),
                "open the pty slave",
            );
            (master, OwnedFd::from_raw_fd(slave))
        }
    }

    /// Whether the terminal is in canonical mode with echo: not raw.
    fn cooked(slave: &OwnedFd) -> bool {
        // SAFETY: `tcgetattr` fills the zeroed struct from a valid descriptor.
        let termios = unsafe {
            let mut termios: libc::termios = std::mem::zeroed();
            check(
                libc::tcgetattr(slave.as_raw_fd(), &mut termios),
                "tcgetattr",
            );
            termios
        };
        let wanted = libc::ICANON | libc::ECHO;
        termios.c_lflag & wanted == wanted
    }

    struct InPty {
        child: Child,
        master: File,
        slave: OwnedFd,
        chunks: Receiver<Vec<u8>>,
        output: Vec<u8>,
    }

    impl InPty {
        fn start(ending: Ending) -> Self {
            let (master, slave) = open_pty();
            assert!(cooked(&slave), "a new terminal starts cooked");
            let stdio = || Stdio::from(slave.try_clone().expect("dup the pty slave"));
            let child = command(&example("terminal_restore"))
                .arg(ending.arg())
                .stdin(stdio())
                .stdout(stdio())
                .stderr(stdio())
                .spawn()
                .expect("start terminal_restore");
            // The `Command` and its copies of the slave are gone: once the
            // child has ended and `slave` is closed, reading the master fails.
            let mut reader = File::from(master.try_clone().expect("dup the pty master"));
            let (sender, chunks) = mpsc::channel();
            std::thread::spawn(move || {
                let mut buffer = [0; 4096];
                // Ends with EIO once no process holds the slave.
                while let Ok(read @ 1..) = reader.read(&mut buffer) {
                    if sender.send(buffer[..read].to_vec()).is_err() {
                        break;
                    }
                }
            });
            InPty {
                child,
                master: File::from(master),
                slave,
                chunks,
                output: Vec::new(),
            }
        }

        fn output_text(&self) -> String {
            String::from_utf8_lossy(&self.output).into_owned()
        }

        fn wait_for(&mut self, wanted: &[u8]) {
            let deadline = Instant::now() + LIMIT;
            while find(&self.output, wanted, 0).is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.chunks.recv_timeout(left) {
                    Ok(chunk) => self.output.extend(chunk),
                    Err(_) => {
                        let _ = self.child.kill();
                        panic!("no {wanted:?} in the output:\n{:?}", self.output_text());
                    }
                }
            }
        }

        fn press_key(&mut self) {
            self.master.write_all(b"q").expect("type a key");
        }

        fn signal(&self, signal: i32) {
            let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
            // SAFETY: `kill` with our own child's pid and a valid signal.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill failed");
        }

        /// Waits for the end; returns the status, whether the terminal was
        /// left cooked, and the whole output.
        fn finish(mut self) -> (ExitStatus, bool, String) {
            let deadline = Instant::now() + LIMIT;
            let status = loop {
                if let Some(status) = self.child.try_wait().expect("wait for the child") {
                    break status;
                }
                if Instant::now() > deadline {
                    let _ = self.child.kill();
                    panic!("hung; output:\n{:?}", self.output_text());
                }
                std::thread::sleep(Duration::from_millis(5));
            };
            let cooked = cooked(&self.slave);
            drop(self.slave);
            while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_secs(5)) {
                self.output.extend(chunk);
            }
            let output = String::from_utf8_lossy(&self.output).into_owned();
            (status, cooked, output)
        }
    }

    fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        haystack
            .get(from..)?
            .windows(needle.len())
            .position(|window| window == needle)
            .map(|at| at + from)
    }

    const ENTER_ALTERNATE_SCREEN: &str = "\x1b[?1049h";
    const LEAVE_ALTERNATE_SCREEN: &str = "\x1b[?1049l";
    const HIDE_CURSOR: &str = "\x1b[?25l";
    const SHOW_CURSOR: &str = "\x1b[?25h";

    pub fn terminal_restore(ending: Ending) {
        let mut pty = InPty::start(ending);
        pty.wait_for(b"ready");
        assert!(!cooked(&pty.slave), "raw mode while the TUI runs");
        if ending == Ending::Signal {
            pty.signal(libc::SIGTERM);
        } else {
            pty.press_key();
        }
        let (status, cooked, output) = pty.finish();

        let code = std::os::unix::process::ExitStatusExt::signal(&status);
        match ending {
            Ending::Return => assert_eq!(status.code(), Some(0), "{output:?}"),
            Ending::Exit => assert_eq!(status.code(), Some(3), "{output:?}"),
            Ending::Panic => {
                assert_eq!(status.code(), Some(101), "{output:?}");
                assert!(output.contains("the TUI failed"), "{output:?}");
            }
            Ending::Signal => assert_eq!(code, Some(libc::SIGTERM), "{status:?}"),
        }
        assert!(cooked, "raw mode left on; output:\n{output:?}");
        let entered = output
            .find(ENTER_ALTERNATE_SCREEN)
            .unwrap_or_else(|| panic!("never entered the alternate screen: {output:?}"));
        let hidden = output[entered..]
            .find(HIDE_CURSOR)
            .unwrap_or_else(|| panic!("never hid the cursor: {output:?}"));
        let ready = output.find("ready").expect("the ready line");
        for restore in [LEAVE_ALTERNATE_SCREEN, SHOW_CURSOR] {
            assert!(
                output[ready..].contains(restore),
                "no {restore:?} after the ready line: {output:?}"
            );
        }
        assert!(entered + hidden < ready);
    }
}

#[cfg(target_os = "linux")]
for_each_ending!(
    terminal_restore_gives_the_terminal_back,
    super::terminal::terminal_restore
);
