//! The scenario model: a program that runs in a process of its own, how the
//! driver drives that process, and what the process must leave behind.
//!
//! A [`Scenario`] is built with [`Scenario::new`] and the builder methods;
//! the defaults are strict: no stdout, an empty stderr, status 0, the
//! process started and waited for (killed as hung after 60 s).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::support::{self, command, try_run, Finished, Running};

/// Set in a child: the full name of the scenario whose program it runs.
pub const SCENARIO_VAR: &str = "ATEXIT_SCENARIO";

/// Set in a child whose scenario expects a [`Scenario::data_file`]: the path
/// (in a fresh temp directory of the driver's) the program writes.
pub const DATA_FILE_VAR: &str = "ATEXIT_DATA_FILE";

/// The full name of the scenario this process runs; empty in the driver.
pub fn current() -> String {
    std::env::var(SCENARIO_VAR).unwrap_or_default()
}

/// One process-level check: a program and what its process must do.
pub struct Scenario {
    /// `topic::name`; within a topic's `all()` just `name` (the driver adds
    /// the topic).
    pub name: String,
    /// What the child process runs, as its `main`.
    pub program: Box<dyn Fn() + Send + Sync>,
    pub expect: Expect,
    pub drive: Drive,
    pub streams: Streams,
}

/// How the child's standard streams are set up.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Streams {
    /// stdin from `/dev/null`, stdout and stderr piped to the driver, read
    /// as the child writes and checked.
    Captured,
    /// Descriptors 0, 1 and 2 closed when the program starts (as a daemon
    /// or a careless supervisor starts it); nothing is captured.
    #[cfg(unix)]
    Closed,
    /// stdout a pipe the driver never reads (stderr captured).
    #[cfg(unix)]
    StdoutUnread,
    /// stderr a pipe the driver never reads (stdout captured).
    #[cfg(unix)]
    StderrUnread,
}

/// What the child process must leave behind.
pub struct Expect {
    /// Its whole stdout, exactly; `None`: not checked.
    pub stdout: Option<String>,
    pub stderr: Stderr,
    pub end: End,
    /// The whole content of the file at [`DATA_FILE_VAR`], if it must have one.
    pub data_file: Option<String>,
    /// Killed and failed as hung when it runs longer.
    pub hang_after: Duration,
    /// Failed when it ran longer than this (measured when driven by steps).
    pub faster_than: Option<Duration>,
}

/// What stderr must hold.
pub enum Stderr {
    /// Nothing at all.
    Empty,
    /// Each of these, anywhere.
    Has(Vec<&'static str>),
    /// Exactly this.
    #[cfg_attr(not(unix), allow(dead_code))]
    Exactly(String),
    /// Not checked.
    Any,
}

/// How the process must end.
#[derive(Clone, Copy, Debug)]
pub enum End {
    /// Exit status.
    Code(i32),
    /// Killed by this signal.
    #[cfg_attr(not(unix), allow(dead_code))]
    Signal(i32),
    /// Killed by one of these signals: for signals sent back to back, whose
    /// handlers the kernel may run in either order on two threads.
    #[cfg_attr(not(unix), allow(dead_code))]
    SignalOneOf(&'static [i32]),
}

/// How the driver drives the child process.
pub enum Drive {
    /// Start it and wait for it to end.
    Run,
    /// Start it, take these steps in turn, then wait for it to end.
    Steps(Vec<Step>),
    /// [`Drive::Run`] this many times; every run must meet the expectation.
    Repeat(usize),
}

/// One step of [`Drive::Steps`].
pub enum Step {
    /// Read its stdout up to this line (the child fails after 20 s without).
    WaitFor(&'static str),
    /// Send it this signal.
    #[cfg(unix)]
    Signal(i32),
    /// Let it run a while.
    Sleep(Duration),
}

impl Scenario {
    /// A scenario whose process must print nothing, write nothing to stderr
    /// and exit with status 0 within 60 s; the builder methods say otherwise.
    pub fn new(name: impl Into<String>, program: impl Fn() + Send + Sync + 'static) -> Self {
        Scenario {
            name: name.into(),
            program: Box::new(program),
            expect: Expect {
                stdout: Some(String::new()),
                stderr: Stderr::Empty,
                end: End::Code(0),
                data_file: None,
                hang_after: Duration::from_secs(60),
                faster_than: None,
            },
            drive: Drive::Run,
            streams: Streams::Captured,
        }
    }

    /// The child's standard streams are set up as `streams` says; the ones
    /// not captured are not checked.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn streams(mut self, streams: Streams) -> Self {
        self.streams = streams;
        self
    }

    /// Its stdout must be exactly `text`.
    pub fn stdout(mut self, text: impl Into<String>) -> Self {
        self.expect.stdout = Some(text.into());
        self
    }

    /// Its stdout is not checked.
    pub fn any_stdout(mut self) -> Self {
        self.expect.stdout = None;
        self
    }

    /// Its stderr must hold each of `needles`; with none, it must be empty.
    pub fn stderr_has(mut self, needles: &[&'static str]) -> Self {
        self.expect.stderr = if needles.is_empty() {
            Stderr::Empty
        } else {
            Stderr::Has(needles.to_vec())
        };
        self
    }

    /// Its whole stderr must be exactly `text`.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn stderr(mut self, text: impl Into<String>) -> Self {
        self.expect.stderr = Stderr::Exactly(text.into());
        self
    }

    /// Its stderr is not checked.
    pub fn any_stderr(mut self) -> Self {
        self.expect.stderr = Stderr::Any;
        self
    }

    /// It must exit with status `code`.
    pub fn code(mut self, code: i32) -> Self {
        self.expect.end = End::Code(code);
        self
    }

    /// It must be killed by `signal`.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn killed_by(mut self, signal: i32) -> Self {
        self.expect.end = End::Signal(signal);
        self
    }

    /// The process must die by one of `signals`.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn killed_by_one_of(mut self, signals: &'static [i32]) -> Self {
        self.expect.end = End::SignalOneOf(signals);
        self
    }

    /// The file at [`DATA_FILE_VAR`] must hold exactly `contents`.
    pub fn data_file(mut self, contents: impl Into<String>) -> Self {
        self.expect.data_file = Some(contents.into());
        self
    }

    /// It is killed (and fails) after `limit` rather than 60 s.
    pub fn hang_after(mut self, limit: Duration) -> Self {
        self.expect.hang_after = limit;
        self
    }

    /// It fails when it runs longer than `limit`.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub fn faster_than(mut self, limit: Duration) -> Self {
        self.expect.faster_than = Some(limit);
        self
    }

    /// The driver drives it as `drive` says rather than just running it.
    pub fn drive(mut self, drive: Drive) -> Self {
        self.drive = drive;
        self
    }

    /// The test that drives this scenario's process and checks it; its
    /// outcome is also kept for [`passed`].
    pub fn trial(self) -> libtest_mimic::Trial {
        let Scenario {
            name,
            expect,
            drive,
            streams,
            program: _,
        } = self;
        libtest_mimic::Trial::test(name.clone(), move || {
            // Failed until it passes: a panic (a missing line) leaves it so.
            record(&name, false);
            let exe = std::env::current_exe().expect("path of this test binary");
            let outcome = match &drive {
                Drive::Run => run_once(&exe, &name, &expect, streams, &[]),
                Drive::Steps(steps) => run_once(&exe, &name, &expect, streams, steps),
                Drive::Repeat(runs) => (0..*runs).try_for_each(|run| {
                    run_once(&exe, &name, &expect, streams, &[])
                        .map_err(|error| format!("run {run}: {error}"))
                }),
            };
            record(&name, outcome.is_ok());
            outcome.map_err(Into::into)
        })
    }
}

/// The outcome of every scenario run in this process, by name.
static OUTCOMES: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());

fn record(name: &str, passed: bool) {
    OUTCOMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(name.to_string(), passed);
}

/// Whether the scenario `name` passed; `None` when it was not run.
pub fn passed(name: &str) -> Option<bool> {
    OUTCOMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(name)
        .copied()
}

/// Runs the scenario `name` once in a child process, taking `steps` (none:
/// just waits for the end), and checks what the process left.
fn run_once(
    exe: &Path,
    name: &str,
    expect: &Expect,
    streams: Streams,
    steps: &[Step],
) -> Result<(), String> {
    let dir = expect
        .data_file
        .is_some()
        .then(|| support::TempDir::new("data_loss"));
    let data_file = dir.as_ref().map(|dir| dir.path().join("records.txt"));
    let mut child = command(exe);
    child.env(SCENARIO_VAR, name);
    if let Some(file) = &data_file {
        child.env(DATA_FILE_VAR, file);
    }
    let (finished, ran) = if streams != Streams::Captured {
        assert!(steps.is_empty(), "steps need captured streams");
        let started = std::time::Instant::now();
        let finished = run_uncaptured(&mut child, streams, expect.hang_after)?;
        (finished, started.elapsed())
    } else if steps.is_empty() {
        let started = std::time::Instant::now();
        let finished = try_run(&mut child, expect.hang_after)?;
        (finished, started.elapsed())
    } else {
        let mut running = Running::start(&mut child);
        for step in steps {
            match step {
                Step::WaitFor(line) => running.wait_for_line(line),
                #[cfg(unix)]
                Step::Signal(signal) => running.signal(*signal),
                Step::Sleep(pause) => std::thread::sleep(*pause),
            }
        }
        running.try_finish(expect.hang_after)?
    };
    let data = match &data_file {
        Some(file) => {
            Some(std::fs::read_to_string(file).map_err(|error| format!("no data file: {error}"))?)
        }
        None => None,
    };
    check(expect, streams, &finished, ran, data.as_deref())
}

/// Runs `child` with its streams set up as `streams` says, reading only the
/// captured one; kills it after `limit`.
#[cfg(unix)]
fn run_uncaptured(
    child: &mut std::process::Command,
    streams: Streams,
    limit: Duration,
) -> Result<Finished, String> {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut fds = [0; 2];
    // SAFETY: `pipe` fills the array we own with two new descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are open and owned by nobody else.
    let (unread, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    match streams {
        Streams::Captured => unreachable!("captured streams are run by `try_run`"),
        Streams::Closed => {
            child.stdout(Stdio::null()).stderr(Stdio::null());
            // SAFETY: `close` is async-signal-safe and touches only the child.
            unsafe {
                child.pre_exec(|| {
                    for fd in 0..3 {
                        libc::close(fd);
                    }
                    Ok(())
                });
            }
        }
        Streams::StdoutUnread => {
            child.stdout(Stdio::from(write_end)).stderr(Stdio::piped());
        }
        Streams::StderrUnread => {
            child.stdout(Stdio::piped()).stderr(Stdio::from(write_end));
        }
    }
    let mut process = child
        .spawn()
        .map_err(|error| format!("cannot start: {error}"))?;
    let captured = process
        .stdout
        .take()
        .map(|out| Box::new(out) as Box<dyn Read + Send>);
    let captured = captured.or_else(|| {
        process
            .stderr
            .take()
            .map(|err| Box::new(err) as Box<dyn Read + Send>)
    });
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut captured) = captured {
            let _ = captured.read_to_string(&mut text);
        }
        text
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = process.try_wait().expect("wait for child") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = process.kill();
            let _ = process.wait();
            return Err(format!("process did not end within {limit:?} (hung)"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Whatever the child left in the unread pipe goes with it.
    drop(unread);
    let text = reader.join().unwrap_or_default();
    let (stdout, stderr) = match streams {
        Streams::StdoutUnread => (String::new(), text),
        _ => (text, String::new()),
    };
    Ok(Finished {
        stdout,
        stderr,
        status,
    })
}

#[cfg(not(unix))]
fn run_uncaptured(
    _: &mut std::process::Command,
    _: Streams,
    _: Duration,
) -> Result<Finished, String> {
    unreachable!("only captured streams exist off Unix")
}

/// `Ok` when the process left what `expect` says; else what was wrong, with
/// its stderr.
fn check(
    expect: &Expect,
    streams: Streams,
    finished: &Finished,
    ran: Duration,
    data: Option<&str>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    #[cfg(unix)]
    let (stdout_seen, stderr_seen) = (
        !matches!(streams, Streams::Closed | Streams::StdoutUnread),
        !matches!(streams, Streams::Closed | Streams::StderrUnread),
    );
    #[cfg(not(unix))]
    let (stdout_seen, stderr_seen) = {
        let _ = streams;
        (true, true)
    };
    if let Some(stdout) = expect.stdout.as_ref().filter(|_| stdout_seen) {
        if finished.stdout != *stdout {
            problems.push(format!(
                "stdout:\n{:?}\nexpected:\n{stdout:?}",
                finished.stdout
            ));
        }
    }
    if let (Some(expected), Some(data)) = (&expect.data_file, data) {
        if data != expected {
            problems.push(format!(
                "{} of {} lines in the data file, or not in order",
                data.lines().count(),
                expected.lines().count()
            ));
        }
    }
    let ended_right = match expect.end {
        End::Code(code) => finished.status.code() == Some(code),
        End::Signal(signal) => finished.signal() == Some(signal),
        End::SignalOneOf(signals) => finished.signal().is_some_and(|s| signals.contains(&s)),
    };
    if !ended_right {
        problems.push(format!(
            "ended with {}, expected {:?}",
            finished.status, expect.end
        ));
    }
    if let Some(limit) = expect.faster_than {
        if ran > limit {
            problems.push(format!("took {ran:?}, more than {limit:?}"));
        }
    }
    match &expect.stderr {
        _ if !stderr_seen => {}
        Stderr::Empty if !finished.stderr.is_empty() => {
            problems.push("stderr is not empty".to_string());
        }
        Stderr::Exactly(text) if finished.stderr != *text => {
            problems.push(format!("stderr is not exactly {text:?}"));
        }
        Stderr::Has(needles) => {
            for needle in needles {
                if !finished.stderr.contains(needle) {
                    problems.push(format!("stderr lacks {needle:?}"));
                }
            }
        }
        _ => {}
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nstderr:\n{}",
            problems.join("\n"),
            finished.stderr
        ))
    }
}

/// The data file the driver named ([`Scenario::data_file`]), created empty.
pub fn data_file() -> std::path::PathBuf {
    let path = std::path::PathBuf::from(
        std::env::var_os(DATA_FILE_VAR).expect("a scenario with a data file"),
    );
    std::fs::write(&path, "").expect("create the data file");
    path
}

/// Appends `line` to the data file at `path`, in one write.
pub fn append(path: &Path, line: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open the data file");
    file.write_all(format!("{line}\n").as_bytes())
        .expect("append to the data file");
}

/// Fills the pipe at file descriptor `fd` (one nobody reads) until a write
/// would block, leaving it blocking: the next write to it blocks.
#[cfg(unix)]
pub fn fill_pipe(fd: i32) {
    let chunk = [b'.'; 4096];
    // SAFETY: reads and sets the flags of a descriptor this process owns, and
    // writes bytes from a local buffer to it.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags >= 0, "fd {fd} is open");
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        while libc::write(fd, chunk.as_ptr().cast(), chunk.len()) > 0 {}
        libc::fcntl(fd, libc::F_SETFL, flags);
    }
}

/// Holds Rust's stdout lock on a thread of its own, for good: a writer
/// thread, or a thread blocked writing to a full pipe. Returns once it holds it.
pub fn hold_stdout_for_good() {
    hold_for_good(|| Box::new(std::io::stdout().lock()));
}

/// Holds Rust's stderr lock on a thread of its own, for good: a logger
/// thread. Returns once it holds it.
pub fn hold_stderr_for_good() {
    hold_for_good(|| Box::new(std::io::stderr().lock()));
}

fn hold_for_good(lock: fn() -> Box<dyn std::any::Any>) {
    let (locked, is_locked) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _held = lock();
        locked.send(()).unwrap();
        loop {
            std::thread::park();
        }
    });
    is_locked.recv().unwrap();
}

/// A handler that prints `line`.
pub fn say(line: &'static str) -> impl FnOnce() + Send + 'static {
    move || println!("{line}")
}

/// Sends `signal` to this process after `ms` milliseconds, from a thread.
#[cfg(unix)]
pub fn kill_self_after(ms: u64, signal: i32) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(ms));
        // SAFETY: signalling our own process.
        unsafe { libc::kill(libc::getpid(), signal) };
    });
}

/// The name of `signal`, as `SIGTERM`.
#[cfg(unix)]
pub fn signal_name(signal: i32) -> String {
    atexit::Signal::from_number(signal).map_or_else(|| signal.to_string(), |s| s.to_string())
}
