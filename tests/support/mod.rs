//! Running the example and scenario programs as real processes.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a finished process left: its output and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Finished {
    /// How it ended and all it wrote, for a failure message.
    pub fn describe(&self) -> String {
        format!(
            "{:?}\nstdout:\n{}stderr:\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    /// The signal that killed the process, if one did.
    pub fn signal(&self) -> Option<i32> {
        #[cfg(unix)]
        {
            std::os::unix::process::ExitStatusExt::signal(&self.status)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

/// The path of a built example. `cargo test` builds every example before it
/// runs the tests, next to the test binaries' `deps` folder.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test binary");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run the tests with `cargo test`",
        path.display()
    );
    path
}

/// Runs `cargo build` with `args` in a target directory of its own, named
/// `name`, next to this build's; returns that directory. The outer `cargo
/// test` (or `cargo bench`) holds the lock on its own target directory, so a
/// nested build there would wait forever.
pub fn build_in_own_target(name: &str, args: &[&str]) -> PathBuf {
    let exe = std::env::current_exe().expect("path of this binary");
    let target = exe.ancestors().nth(3).expect("target directory").join(name);
    let status = Command::new(env!("CARGO"))
        .arg("build")
        .arg("--quiet")
        .args(args)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(workspace_root())
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build {args:?} failed");
    target
}

/// The repository's root (the workspace), whichever package this file is
/// compiled into: `atexit` itself, `tests/suite` or `examples/real-world`.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("atexit-core").is_dir())
        .expect("the workspace root holds atexit-core/")
}

/// The signals the tests send or count on at their default action.
#[cfg(unix)]
const RESET_SIGNALS: [i32; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGALRM,
    libc::SIGTERM,
    libc::SIGCHLD,
    libc::SIGPIPE,
];

/// A command with a stable environment: no backtraces in panic messages, and
/// (on Unix) the signals the tests send at their default action, as in a
/// terminal. A shell starts a background job (`cargo test ... &` in a script)
/// with SIGINT and SIGQUIT ignored, `nohup` SIGHUP, and an ignored signal is
/// inherited: atexit leaves a default-set signal that was ignored at start
/// alone, so every SIGINT scenario would fail there. (`Command` itself only
/// resets SIGPIPE and the signal mask.) A `pre_exec` closure the caller adds
/// later (a test of a signal ignored at start) runs after this one.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("RUST_BACKTRACE", "0").stdin(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: `signal` is async-signal-safe, and touches only the child,
        // between fork and exec.
        unsafe {
            command.pre_exec(|| {
                for signal in RESET_SIGNALS {
                    libc::signal(signal, libc::SIG_DFL);
                }
                Ok(())
            });
        }
    }
    command
}

/// Polls `done` every 20 ms until it holds; fails after `limit`, naming
/// `what` was awaited.
pub fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` to completion, killing it after `limit` (a hang is a failure).
pub fn run(command: &mut Command, limit: Duration) -> Finished {
    try_run(command, limit).unwrap_or_else(|hang| panic!("{hang}"))
}

/// As [`run`], with a hang as an `Err` rather than a panic.
pub fn try_run(command: &mut Command, limit: Duration) -> Result<Finished, String> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = spawn(command).unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    wait(child, limit)
}

/// Spawns `command`. Under Wine 8.0 a spawn now and then fails with
/// ERROR_INTERNAL_ERROR (1359) after its client printed "wine client error:
/// sendmsg: Socket operation on non-socket" (seen in 1 of 2 runs of the
/// Windows test set on a loaded machine, at the session's base commit too):
/// Wine's fault, not the program's, so that one error is retried a few
/// times. Elsewhere a spawn is tried once.
fn spawn(command: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match command.spawn() {
            Err(error) if cfg!(windows) && error.raw_os_error() == Some(1359) && tries < 3 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            spawned => return spawned,
        }
    }
}

/// Waits for `child`, collecting its piped output; kills it after `limit`.
pub fn wait(mut child: Child, limit: Duration) -> Result<Finished, String> {
    // Read on threads that send what they read: a process that leaves a
    // child of its own holding the pipes must not hang the test.
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        let (sender, text) = mpsc::channel();
        std::thread::spawn(move || {
            let mut read = String::new();
            let _ = pipe.read_to_string(&mut read);
            let _ = sender.send(read);
        });
        text
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "process did not end within {limit:?} (hung); stdout:\n{}",
                stdout
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // The pipes close once the process is gone, unless a child of its own
    // still holds them.
    let rest = |text: mpsc::Receiver<String>, which: &str| {
        text.recv_timeout(Duration::from_secs(5)).map_err(|_| {
            format!(
                "the process ended ({status:?}) but its {which} stayed open (a child of its own?)"
            )
        })
    };
    Ok(Finished {
        stdout: rest(stdout, "stdout")?,
        stderr: rest(stderr, "stderr")?,
        status,
    })
}

/// A fresh empty directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        Self::new_in(&std::env::temp_dir(), label)
    }

    /// A fresh empty directory under `base`.
    pub fn new_in(base: &Path, label: &str) -> Self {
        let path = base.join(
            format!(
                "atexit-test-{label}-{}-{:?}",
                std::process::id(),
                Instant::now()
            )
            .replace([' ', '.'], "_"),
        );
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Core dumps off in the child `command` starts (SIGQUIT's and abort's
/// default actions would write one).
#[cfg(unix)]
pub fn no_core_dumps(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `setrlimit` is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
}

/// A process under test that is sent signals while it runs: its stdout read
/// line by line as it comes, its stderr collected.
pub struct Running {
    child: Child,
    /// The program's file name, for the failure messages.
    program: String,
    lines: mpsc::Receiver<String>,
    stdout: String,
    stderr: mpsc::Receiver<String>,
    started: Instant,
    wait_limit: Duration,
}

impl Running {
    /// Starts `command` with piped output and core dumps off (SIGQUIT's
    /// default action would write one).
    pub fn start(command: &mut Command) -> Self {
        Self::try_start(command).unwrap_or_else(|error| panic!("{error}"))
    }

    /// As [`Running::start`], with a failure to start as an `Err` rather than
    /// a panic. Core dumps are turned off by a `pre_exec` closure of its own,
    /// which runs after any the caller set on `command`.
    pub fn try_start(command: &mut Command) -> Result<Self, String> {
        #[cfg(unix)]
        no_core_dumps(command);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            spawn(command).map_err(|error| format!("cannot start {command:?}: {error}"))?;
        let program = Path::new(command.get_program())
            .file_name()
            .unwrap_or(command.get_program())
            .to_string_lossy()
            .into_owned();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (line_sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_sender.send(line).is_err() {
                    break;
                }
            }
        });
        // Sent rather than joined, so that waiting for it can be bounded.
        let (stderr_sender, stderr_text) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = stderr_sender.send(text);
        });
        Ok(Running {
            child,
            program,
            lines,
            stdout: String::new(),
            stderr: stderr_text,
            started: Instant::now(),
            wait_limit: Duration::from_secs(20),
        })
    }

    /// Bounds each wait for output by `limit` rather than 20 s: a wait for a
    /// line, and the wait for the rest of the output once the process ended.
    pub fn with_wait_limit(mut self, limit: Duration) -> Self {
        self.wait_limit = limit;
        self
    }

    /// Reads stdout up to the first line for which `wanted` holds, and
    /// returns that line. When none comes within the wait limit (20 s unless
    /// [`Running::with_wait_limit`] said otherwise), or stdout closes first,
    /// the process is killed and the `Err` names `what` and holds the stdout
    /// read so far.
    pub fn try_wait_for(
        &mut self,
        what: &str,
        mut wanted: impl FnMut(&str) -> bool,
    ) -> Result<String, String> {
        let limit = self.wait_limit;
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let why = match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                    if wanted(&line) {
                        return Ok(line);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => format!("within {limit:?}"),
                Err(mpsc::RecvTimeoutError::Disconnected) => "before stdout closed".to_string(),
            };
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(format!(
                "{}: {what}: not seen {why}; killed; stdout so far:\n{}",
                self.program, self.stdout
            ));
        }
    }

    /// Reads stdout until the line `wanted` (within 20 s).
    pub fn wait_for_line(&mut self, wanted: &str) {
        self.try_wait_for(&format!("line {wanted:?}"), |line| line == wanted)
            .unwrap_or_else(|error| panic!("{error}"));
    }

    /// Reads stdout until `done` holds for the lines read so far (within
    /// 20 s); `what` names the wait in the failure message.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&[&str]) -> bool) {
        let mut seen: Vec<String> = self.stdout.lines().map(str::to_owned).collect();
        let holds = |seen: &[String]| done(&seen.iter().map(String::as_str).collect::<Vec<_>>());
        if holds(&seen) {
            return;
        }
        self.try_wait_for(what, |line| {
            seen.push(line.to_owned());
            holds(&seen)
        })
        .unwrap_or_else(|error| panic!("{error}"));
    }

    /// The process's id (on Windows, also its process group's, when it was
    /// started with `CREATE_NEW_PROCESS_GROUP`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the process.
    #[cfg(unix)]
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: `kill` with our own child's pid and a valid signal.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill failed");
    }

    /// Waits for the end (killing it after `limit`); returns what it left and
    /// how long it ran.
    pub fn finish(self, limit: Duration) -> (Finished, Duration) {
        self.try_finish(limit)
            .unwrap_or_else(|hang| panic!("{hang}"))
    }

    /// As [`Running::finish`], with a hang as an `Err` rather than a panic:
    /// the process still running after `limit`, or its output still open
    /// after the wait limit once it ended (something it started holds it).
    pub fn try_finish(mut self, limit: Duration) -> Result<(Finished, Duration), String> {
        let program = &self.program;
        let deadline = Instant::now() + limit;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(error) => return Err(format!("cannot wait for {program}: {error}")),
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "{program} did not end within {limit:?} (hung); stdout:\n{}",
                    self.stdout
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let ran = self.started.elapsed();
        // The pipes close once the process is gone: the rest comes at once.
        let deadline = Instant::now() + self.wait_limit;
        let left = || deadline.saturating_duration_since(Instant::now());
        loop {
            match self.lines.recv_timeout(left()) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "{program} ended ({status:?}) but its stdout stayed open; stdout:\n{}",
                        self.stdout
                    ))
                }
            }
        }
        let stderr = self.stderr.recv_timeout(left()).map_err(|_| {
            format!(
                "{program} ended ({status:?}) but its stderr stayed open; stdout:\n{}",
                self.stdout
            )
        })?;
        Ok((
            Finished {
                stdout: self.stdout,
                stderr,
                status,
            },
            ran,
        ))
    }
}
