//! Running the example and scenario programs as real processes.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// What a finished process left: its output and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Finished {
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

/// A command with a stable environment: no backtraces in panic messages.
pub fn command(program: &Path) -> Command {
    let mut command = Command::new(program);
    command.env("RUST_BACKTRACE", "0").stdin(Stdio::null());
    command
}

/// Runs `command` to completion, killing it after `limit` (a hang is a failure).
pub fn run(command: &mut Command, limit: Duration) -> Finished {
    try_run(command, limit).unwrap_or_else(|hang| panic!("{hang}"))
}

/// As [`run`], with a hang as an `Err` rather than a panic.
pub fn try_run(command: &mut Command, limit: Duration) -> Result<Finished, String> {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
    wait(child, limit)
}

/// Waits for `child`, collecting its piped output; kills it after `limit`.
pub fn wait(mut child: Child, limit: Duration) -> Result<Finished, String> {
    let mut stdout_pipe = child.stdout.take().expect("piped stdout");
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout_pipe.read_to_string(&mut text);
        text
    });
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
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
                stdout_reader.join().unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Finished {
        stdout: stdout_reader.join().expect("stdout reader"),
        stderr: stderr_reader.join().expect("stderr reader"),
        status,
    })
}

/// A fresh empty directory under the system's temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(
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

/// A process under test that is sent signals while it runs.
pub struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdout: String,
    stderr: std::thread::JoinHandle<String>,
    started: Instant,
}

impl Running {
    /// Starts `command` with piped output and core dumps off (SIGQUIT's
    /// default action would write one).
    pub fn start(command: &mut Command) -> Self {
        #[cfg(unix)]
        no_core_dumps(command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Running {
            child,
            lines,
            stdout: String::new(),
            stderr,
            started: Instant::now(),
        }
    }

    /// Reads stdout until the line `wanted` (within 20 s).
    pub fn wait_for_line(&mut self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                    if line == wanted {
                        return;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no line {wanted:?}; stdout so far:\n{}", self.stdout);
                }
            }
        }
    }

    /// Reads stdout until `done` holds for the lines read so far (within
    /// 20 s); `what` names the wait in the failure message.
    pub fn wait_until(&mut self, what: &str, done: impl Fn(&[&str]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done(&self.stdout.lines().collect::<Vec<_>>()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push_str(&line);
                    self.stdout.push('\n');
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("{what}: not seen; stdout so far:\n{}", self.stdout);
                }
            }
        }
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

    /// As [`Running::finish`], with a hang as an `Err` rather than a panic.
    pub fn try_finish(mut self, limit: Duration) -> Result<(Finished, Duration), String> {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for child") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "process did not end within {limit:?} (hung); stdout:\n{}",
                    self.stdout
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let ran = self.started.elapsed();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push_str(&line);
            self.stdout.push('\n');
        }
        let stderr = self.stderr.join().expect("stderr reader");
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
