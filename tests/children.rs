//! Child processes end with their parent: `examples/task_runner.rs` starts
//! two workers, each of which starts a `sleep` of its own, and ends in every
//! way a program ends. Each test checks, with real pids read from `/proc`,
//! that the workers and their children are gone within 2 s of the runner's
//! end, who reaped them, that a worker asked by SIGTERM flushed its file
//! first, and that nothing kept the runner's stderr pipe open.
//!
//! This test process makes itself a child subreaper, so the processes the
//! runner leaves behind come to it rather than to pid 1: it sees them and
//! reaps them. Each test prints its row of the matrix (`--nocapture`).

#![cfg(target_os = "linux")]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use support::{example, TempDir};

/// How long the workers and grandchildren may outlive the runner.
const GONE_WITHIN: Duration = Duration::from_secs(2);
/// A hang: the runner is killed and the test fails.
const HANG: Duration = Duration::from_secs(30);

/// A process seen once, told apart from a later one with its pid by its
/// start time.
#[derive(Clone, Copy, Debug)]
struct Seen {
    pid: i32,
    start: u64,
}

/// What `/proc` says of a process seen earlier.
#[derive(Debug, PartialEq)]
enum Now {
    Running,
    /// Ended, not reaped yet, by a parent other than this test.
    Zombie,
    /// Ended and reaped (by its parent, or by this test as subreaper).
    Gone,
}

fn stat(pid: i32) -> Option<(char, i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command is in parentheses and may hold spaces: split after it.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, ppid, start))
}

impl Seen {
    fn new(pid: i32) -> Self {
        let (_, _, start) = stat(pid).unwrap_or_else(|| panic!("no process {pid}"));
        Seen { pid, start }
    }

    /// Looks at it now. A zombie this test adopted is reaped here, and is
    /// then gone; `adopted` says whether that happened.
    fn now(&self, adopted: &mut bool) -> Now {
        match stat(self.pid) {
            Some((_, _, start)) if start != self.start => Now::Gone,
            None => Now::Gone,
            Some(('Z', ppid, _)) if ppid == std::process::id() as i32 => {
                // SAFETY: reaps our own (adopted) zombie child.
                unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), libc::WNOHANG) };
                *adopted = true;
                Now::Gone
            }
            Some(('Z', _, _)) => Now::Zombie,
            Some(_) => Now::Running,
        }
    }
}

/// How the runner ends, and what must happen to its children.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    Return,
    ProcessExit,
    AtexitExit,
    Panic,
    Sigterm,
    Sigkill,
    ExitNow,
    Abort,
}

impl Way {
    fn arg(self) -> &'static str {
        match self {
            Way::Return => "return",
            Way::ProcessExit => "exit",
            Way::AtexitExit => "atexit-exit",
            Way::Panic => "panic",
            Way::Sigterm => "signal",
            Way::Sigkill => "kill",
            Way::ExitNow => "exit-now",
            Way::Abort => "abort",
        }
    }

    /// Whether exit handlers run: the workers are then stopped by SIGTERM
    /// (and flush) and reaped by the runner; otherwise the OS kills them
    /// (`PR_SET_PDEATHSIG`) and the subreaper reaps them.
    fn runs_handlers(self) -> bool {
        !matches!(self, Way::Sigkill | Way::ExitNow | Way::Abort)
    }

    fn check_status(self, status: ExitStatus) {
        let expected = match self {
            Way::Return => status.code() == Some(0),
            Way::ProcessExit => status.code() == Some(3),
            Way::AtexitExit => status.code() == Some(4),
            Way::Panic => status.code() == Some(101),
            Way::Sigterm => status.signal() == Some(libc::SIGTERM),
            Way::Sigkill => status.signal() == Some(libc::SIGKILL),
            Way::ExitNow => status.code() == Some(5),
            Way::Abort => status.signal() == Some(libc::SIGABRT),
        };
        assert!(expected, "{self:?}: runner ended with {status:?}");
    }
}

/// What one run measured.
struct Outcome {
    /// Per worker: how long after the runner's end it was gone (zero: before).
    workers_gone: Vec<Duration>,
    /// Per grandchild: the same; `None`: still running after 2 s.
    grandchildren_gone: Vec<Option<Duration>>,
    /// Whether this test (the subreaper) had to reap a worker.
    workers_adopted: bool,
    grandchildren_adopted: bool,
    /// Workers that wrote their flush file.
    flushed: usize,
    /// The runner's stderr reached its end (no descendant holds it).
    stderr_closed: bool,
}

fn become_subreaper() {
    // SAFETY: sets a flag of this process.
    let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(done, 0, "PR_SET_CHILD_SUBREAPER");
}

fn run(way: Way, options: &[&str]) -> Outcome {
    become_subreaper();
    let dir = TempDir::new(&format!("children-{}", way.arg()));
    let mut command = support::command(&example("task_runner"));
    command.arg(way.arg()).arg(dir.path()).args(options);
    support::no_core_dumps(&mut command);
    let mut runner = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start task_runner");
    let lines = lines_of(&mut runner);
    let mut workers = Vec::new();
    let mut grandchildren = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                let _ = runner.kill();
                panic!("no `ready` from task_runner")
            });
        if line == "ready" {
            break;
        }
        let pids: Vec<i32> = line
            .split_whitespace()
            .skip(2)
            .map(|pid| pid.parse().expect("a pid"))
            .collect();
        workers.push(Seen::new(pids[0]));
        grandchildren.push(Seen::new(pids[1]));
    }
    assert_eq!(workers.len(), 2, "two workers");
    // The tree is up: every worker and grandchild runs.
    let mut adopted = false;
    for seen in workers.iter().chain(&grandchildren) {
        let now = seen.now(&mut adopted);
        assert_eq!(
            now,
            Now::Running,
            "{seen:?} {:?} {:?} {:?}",
            stat(seen.pid),
            workers,
            grandchildren
        );
    }
    let (stderr_done, stderr_closed) = mpsc::channel();
    let mut stderr = runner.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = stderr_done.send(text);
    });
    let mut go = runner.stdin.take().expect("piped");
    match way {
        Way::Sigterm => signal(&runner, libc::SIGTERM),
        Way::Sigkill => signal(&runner, libc::SIGKILL),
        _ => go.write_all(b"go\n").expect("tell the runner to go on"),
    }
    let status = wait(&mut runner);
    let ended = Instant::now();
    way.check_status(status);

    let mut workers_adopted = false;
    let workers_gone = workers
        .iter()
        .map(|seen| {
            gone_within(seen, ended, &mut workers_adopted).unwrap_or_else(|| {
                panic!("{way:?} {options:?}: worker {seen:?} still there after {GONE_WITHIN:?}")
            })
        })
        .collect();
    let mut grandchildren_adopted = false;
    let grandchildren_gone = grandchildren
        .iter()
        .map(|seen| gone_within(seen, ended, &mut grandchildren_adopted))
        .collect();
    let flushed = (0..workers.len())
        .filter(|i| {
            std::fs::read_to_string(dir.path().join(format!("worker-{i}.flushed")))
                .is_ok_and(|text| text == "flushed\n")
        })
        .count();
    let stderr = stderr_closed.recv_timeout(GONE_WITHIN);
    // Clean up what the documented cases leave running (the `--shell`
    // `sleep` on SIGKILL), then reap it.
    for seen in &grandchildren {
        if seen.now(&mut adopted) == Now::Running {
            // SAFETY: signals a process we checked is the one we saw.
            unsafe { libc::kill(seen.pid, libc::SIGKILL) };
            gone_within(seen, Instant::now(), &mut adopted);
        }
    }
    if let Ok(text) = &stderr {
        if way != Way::Panic {
            assert_eq!(text, "", "{way:?}: stderr");
        }
    }
    Outcome {
        workers_gone,
        grandchildren_gone,
        workers_adopted,
        grandchildren_adopted,
        flushed,
        stderr_closed: stderr.is_ok(),
    }
}

/// When `seen` was gone, counted from `ended` (zero if it was gone before);
/// `None` if it is still running after [`GONE_WITHIN`]. A zombie of another
/// parent counts as not gone: no zombie may be left.
fn gone_within(seen: &Seen, ended: Instant, adopted: &mut bool) -> Option<Duration> {
    loop {
        if seen.now(adopted) == Now::Gone {
            return Some(ended.elapsed());
        }
        if ended.elapsed() > GONE_WITHIN {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped");
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: signals our own unreaped child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

fn wait(child: &mut Child) -> ExitStatus {
    let limit = Instant::now() + HANG;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("task_runner hung");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The matrix row for one run.
fn row(way: Way, options: &[&str], outcome: &Outcome) -> String {
    let max = |times: &[Duration]| times.iter().max().copied().unwrap_or_default();
    let grandchildren: Vec<Duration> = outcome
        .grandchildren_gone
        .iter()
        .flatten()
        .copied()
        .collect();
    let grandchildren = if grandchildren.len() == outcome.grandchildren_gone.len() {
        format!(
            "gone ≤ {:?}, reaped by {}",
            max(&grandchildren),
            if outcome.grandchildren_adopted {
                "the subreaper"
            } else {
                "the worker"
            }
        )
    } else {
        "still running (documented)".to_string()
    };
    format!(
        "| {} {} | workers gone ≤ {:?} after the runner's end, reaped by {} | {} | {}/2 flushed | stderr {} |",
        way.arg(),
        options.join(" "),
        max(&outcome.workers_gone),
        if outcome.workers_adopted { "the subreaper" } else { "the runner" },
        grandchildren,
        outcome.flushed,
        if outcome.stderr_closed { "closed" } else { "held open" },
    )
}

/// Runs `way` with `options` and checks the common outcome: workers gone
/// (reaped by the runner when handlers ran), the flush files when handlers
/// ran, and the grandchildren gone unless `grandchildren_survive`.
fn check(way: Way, options: &[&str], flushed: usize, grandchildren_survive: bool) {
    let outcome = run(way, options);
    println!("{}", row(way, options, &outcome));
    assert_eq!(
        outcome.workers_adopted,
        !way.runs_handlers(),
        "{way:?}: the runner reaps its workers exactly when its handlers run"
    );
    assert_eq!(outcome.flushed, flushed, "{way:?} {options:?}: flush files");
    if grandchildren_survive {
        assert!(outcome.grandchildren_gone.iter().all(Option::is_none));
    } else {
        for gone in &outcome.grandchildren_gone {
            assert!(gone.is_some(), "{way:?} {options:?}: a grandchild is left");
        }
        assert!(outcome.stderr_closed, "{way:?}: stderr held open");
    }
}

macro_rules! cases {
    ($($name:ident: $way:expr, $options:expr, flushed $flushed:expr, survive $survive:expr;)*) => {$(
        #[test]
        fn $name() {
            check($way, $options, $flushed, $survive);
        }
    )*};
}

cases! {
    return_from_main: Way::Return, &[], flushed 2, survive false;
    process_exit: Way::ProcessExit, &[], flushed 2, survive false;
    atexit_exit: Way::AtexitExit, &[], flushed 2, survive false;
    panic_in_main: Way::Panic, &[], flushed 2, survive false;
    sigterm_caught: Way::Sigterm, &[], flushed 2, survive false;
    sigkill: Way::Sigkill, &[], flushed 0, survive false;
    exit_now: Way::ExitNow, &[], flushed 0, survive false;
    abort: Way::Abort, &[], flushed 0, survive false;
    // Workers that ignore SIGTERM are killed after the grace: no flush.
    stubborn_workers_killed_after_the_grace: Way::ProcessExit, &["--stubborn", "--grace-ms", "300"], flushed 0, survive false;
    // A shell worker: its `sleep` is in its group, so an exit that runs
    // handlers ends it; on SIGKILL of the runner the watchdog does.
    shell_worker_group_on_exit: Way::ProcessExit, &["--shell"], flushed 0, survive false;
    shell_worker_group_on_sigterm: Way::Sigterm, &["--shell"], flushed 0, survive false;
    shell_worker_on_sigkill: Way::Sigkill, &["--shell"], flushed 0, survive false;
}

/// `PR_SET_PDEATHSIG` follows the thread that forked the child: a child
/// spawned tied from a thread that then ends must live on (the spawn ran on
/// the crate's long-lived thread), and still be stoppable.
#[test]
fn spawned_from_a_thread_that_ends() {
    use atexit::CommandExt as _;
    let child = std::thread::spawn(|| {
        std::process::Command::new("sleep")
            .arg("1000")
            .spawn_tied()
            .expect("spawn sleep")
    })
    .join()
    .expect("the spawning thread");
    // Give a parent-death signal from the ended thread time to arrive.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        child.try_wait().expect("try_wait"),
        None,
        "killed with its thread"
    );
    let status = child.stop().expect("stop");
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(!child.is_registered());
}

/// The control: std's own spawn from a thread that ends, with the same
/// `prctl`, kills the child when the thread ends. This is the pitfall
/// `spawn_tied` avoids.
#[test]
fn the_pitfall_spawn_tied_avoids() {
    let mut child = std::thread::spawn(|| {
        let mut command = std::process::Command::new("sleep");
        command.arg("1000");
        // SAFETY: `prctl` is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
                Ok(())
            });
        }
        command.spawn().expect("spawn sleep")
    })
    .join()
    .expect("the spawning thread");
    let status = child.wait().expect("wait");
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

// ---------------------------------------------------------------------------
// Programs run by the tests below: this test binary, started again with
// `SCENARIO` naming one, runs only `scenario_program`, which runs that
// scenario and ends the process through `std::process::exit` (its exit
// handlers, the stops of tied children among them, run then).

/// The variable that names the scenario `scenario_program` runs.
const SCENARIO: &str = "ATEXIT_CHILDREN_SCENARIO";

/// Not a test of its own: does nothing unless started by [`scenario`].
#[test]
fn scenario_program() {
    let Ok(name) = std::env::var(SCENARIO) else {
        return;
    };
    let dir = std::path::PathBuf::from(std::env::var("SCENARIO_DIR").expect("SCENARIO_DIR"));
    match name.as_str() {
        "debug-on-blocked-stderr" => debug_on_blocked_stderr(),
        "reaped-pid-reused" => reaped_pid_reused(),
        "ended-leader" => ended_leader(&dir, true, false),
        "leader-ends-first" => ended_leader(&dir, false, false),
        "ended-leader-stubborn" => ended_leader(&dir, true, true),
        "stopped-together" => stopped_together(),
        "many-under-fd-limit" => many_under_fd_limit(),
        "groups-together" => groups_together(),
        "left-out-of-a-run" => left_out_of_a_run(),
        "exec-from-main" => exec_away(false),
        "exec-from-a-thread" => exec_away(true),
        "ctrl-c" => ctrl_c(&dir),
        other => panic!("no scenario {other}"),
    }
    std::process::exit(0);
}

/// Starts this binary running the scenario `name`, with `dir` for its files.
fn scenario(name: &str, dir: &std::path::Path) -> support::Running {
    let mut command = support::command(&std::env::current_exe().expect("this test binary"));
    command
        .args([
            "scenario_program",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(SCENARIO, name)
        .env("SCENARIO_DIR", dir);
    support::Running::start(&mut command)
}

/// Waits (bounded, generously) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let limit = Instant::now() + HANG;
    while !done() {
        assert!(Instant::now() < limit, "not within {HANG:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many bytes wait in the pipe `fd` (`FIONREAD`).
fn pipe_bytes(fd: i32) -> usize {
    let mut bytes: libc::c_int = 0;
    // SAFETY: `FIONREAD` writes one `c_int` we own.
    unsafe { libc::ioctl(fd, libc::FIONREAD, &mut bytes) };
    usize::try_from(bytes).unwrap_or(0)
}

/// Issue 20, 2: a thread prints a tied child with `{:?}` to a stderr pipe
/// nobody reads, and blocks in the middle of it. The exit must still stop
/// the child (nothing the crate locks is held across that write).
fn debug_on_blocked_stderr() {
    use atexit::CommandExt as _;
    let child = std::sync::Arc::new(
        std::process::Command::new("sleep")
            .arg("1000")
            .spawn_tied()
            .expect("spawn sleep"),
    );
    println!("child {}", child.id().expect("running"));
    let printed = std::sync::Arc::clone(&child);
    std::thread::spawn(move || loop {
        eprintln!("{printed:?}");
    });
    // Until the pipe is full, and the printing thread blocked in a write.
    eventually("stderr full", || pipe_bytes(2) >= 60_000);
    std::thread::sleep(Duration::from_millis(100));
    println!("stderr full");
}

/// Issue 20, 3: a child reaped by `Child::wait`, then tied. Its pid is given
/// to another child (steered with `ns_last_pid`) that leads a group and
/// blocks SIGTERM, so a SIGTERM sent to it stays pending, for the check.
fn reaped_pid_reused() {
    // Another process may take the freed pid first (a busy machine: a
    // compiler that lives for seconds): then start over with a new one.
    let mut found = None;
    'fresh: for _ in 0..50 {
        let mut first = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = first.id();
        first.wait().expect("wait");
        for _ in 0..20 {
            if std::fs::write("/proc/sys/kernel/ns_last_pid", format!("{}", pid - 1)).is_err() {
                println!("cannot steer pids");
                return;
            }
            let mut command = std::process::Command::new("sleep");
            command.arg("1000").process_group(0);
            // SAFETY: `sigprocmask` is async-signal-safe; the mask outlives exec.
            unsafe {
                command.pre_exec(|| {
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, libc::SIGTERM);
                    libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                    Ok(())
                });
            }
            let mut child = command.spawn().expect("spawn sleep");
            if child.id() == pid {
                found = Some((first, pid, child));
                break 'fresh;
            }
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }
    let (first, pid, other) = found.expect("no child got a reaped pid in 50 × 20 tries");
    println!("reused {pid}");
    // Runs after the tied child's stop (newest first).
    atexit::register(move || {
        let mut other = other;
        let status = std::fs::read_to_string(format!("/proc/{}/status", other.id()))
            .expect("the other child's status");
        let pending = status
            .lines()
            .find_map(|line| line.strip_prefix("ShdPnd:"))
            .map(str::trim)
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .expect("ShdPnd");
        println!(
            "sigterm pending {}",
            pending & (1 << (libc::SIGTERM - 1)) != 0
        );
        let _ = other.kill();
        let _ = other.wait();
    });
    let tied = atexit::stop_at_exit(first);
    println!("registered {}", tied.is_registered());
}

/// Issue 20, 4: a tied launcher in a group of its own starts a worker and
/// ends at once; at exit the worker must get SIGTERM and the grace (it
/// flushes), not SIGKILL. With `ended` false the launcher is a shell that
/// waits for the worker: SIGTERM ends it at once, and the worker, asked with
/// it, must have the grace too. A `stubborn` worker ignores SIGTERM: it is
/// killed when the (short) grace ends.
fn ended_leader(dir: &std::path::Path, ended: bool, stubborn: bool) {
    use atexit::CommandExt as _;
    let worker = if stubborn {
        "trap '' TERM; echo $$ > ready.tmp; mv ready.tmp ready; while :; do sleep 0.05; done"
    } else {
        "trap 'sleep 0.1; echo flushed > flushed; exit 0' TERM; echo $$ > ready.tmp; mv ready.tmp ready; while :; do sleep 0.05; done"
    };
    let grace = if stubborn { 300 } else { 20_000 };
    let launcher = std::process::Command::new("sh")
        .args([
            "-c",
            if ended {
                "sh -c \"$1\" >/dev/null & exit 0"
            } else {
                "sh -c \"$1\" >/dev/null & wait"
            },
            "launcher",
            worker,
        ])
        .current_dir(dir)
        .process_group(0)
        .spawn_tied()
        .expect("spawn the launcher")
        .with_grace(Duration::from_millis(grace));
    let leader = launcher.id().expect("running") as i32;
    eventually("the worker is ready", || dir.join("ready").exists());
    if ended {
        eventually("the launcher has ended", || {
            stat(leader).is_some_and(|(state, _, _)| state == 'Z')
        });
    }
    let worker: i32 = std::fs::read_to_string(dir.join("ready"))
        .expect("ready")
        .trim()
        .parse()
        .expect("the worker's pid");
    println!("worker {worker}");
}

#[test]
fn a_tied_child_printed_on_a_blocked_stderr_does_not_block_the_exit() {
    let dir = TempDir::new("blocked-stderr");
    let mut command = support::command(&std::env::current_exe().expect("this test binary"));
    command
        .args([
            "scenario_program",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(SCENARIO, "debug-on-blocked-stderr")
        .env("SCENARIO_DIR", dir.path());
    // Its stderr is a pipe this test never reads.
    let mut program = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the scenario");
    let _unread_stderr = program.stderr.take();
    let lines = lines_of(&mut program);
    let mut next = || {
        lines.recv_timeout(HANG).unwrap_or_else(|_| {
            let _ = program.kill();
            panic!("the scenario said nothing within {HANG:?}")
        })
    };
    let child = loop {
        if let Some(pid) = next().strip_prefix("child ") {
            break Seen::new(pid.parse().expect("a pid"));
        }
    };
    while next() != "stderr full" {}
    let status = wait(&mut program);
    assert_eq!(status.code(), Some(0), "{status}");
    let mut adopted = false;
    assert_eq!(child.now(&mut adopted), Now::Gone);
    assert!(!adopted, "the program reaped its child");
}

#[test]
fn a_reaped_child_handed_over_never_signals_the_pid_s_next_owner() {
    let dir = TempDir::new("pid-reused");
    let program = scenario("reaped-pid-reused", dir.path());
    let (finished, _) = program.finish(HANG);
    if finished.stdout.contains("cannot steer pids") {
        println!("skipped: /proc/sys/kernel/ns_last_pid is not writable here");
        return;
    }
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    assert!(
        finished.stdout.contains("registered false"),
        "a reaped child has nothing to stop: {}",
        finished.describe()
    );
    assert!(
        finished.stdout.contains("sigterm pending false"),
        "the pid's new owner was signalled: {}",
        finished.describe()
    );
}

#[test]
fn a_group_whose_leader_ended_gets_sigterm_and_the_grace() {
    group_members_have_the_grace("ended-leader");
}

#[test]
fn group_members_have_the_grace_when_their_leader_ends_first() {
    group_members_have_the_grace("leader-ends-first");
}

/// The members of a group whose leader ended that ignore SIGTERM are killed
/// when the grace ends: the exit does not wait for them for ever.
#[test]
fn stubborn_members_of_a_group_whose_leader_ended_are_killed_after_the_grace() {
    become_subreaper();
    let dir = TempDir::new("ended-leader-stubborn");
    let mut program = scenario("ended-leader-stubborn", dir.path());
    let line = program
        .try_wait_for("the worker's pid", |line| line.starts_with("worker "))
        .unwrap_or_else(|error| panic!("{error}"));
    let worker = Seen::new(line["worker ".len()..].parse().expect("a pid"));
    let (finished, _) = program.finish(HANG);
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    let mut adopted = false;
    eventually("the worker is gone", || {
        worker.now(&mut adopted) == Now::Gone
    });
    assert!(!dir.path().join("flushed").exists());
}

fn group_members_have_the_grace(name: &str) {
    become_subreaper();
    let dir = TempDir::new(name);
    let mut program = scenario(name, dir.path());
    let line = program
        .try_wait_for("the worker's pid", |line| line.starts_with("worker "))
        .unwrap_or_else(|error| panic!("{error}"));
    let worker = Seen::new(line["worker ".len()..].parse().expect("a pid"));
    let (finished, _) = program.finish(HANG);
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    // The worker was reparented to this test (the subreaper) when its
    // launcher ended: it is reaped here.
    let mut adopted = false;
    eventually("the worker is gone", || {
        worker.now(&mut adopted) == Now::Gone
    });
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flushed"))
            .ok()
            .as_deref(),
        Some("flushed\n"),
        "the worker was killed before it could flush"
    );
}

/// A tied `sleep` that ignores SIGTERM (an ignored signal stays ignored
/// across `exec`), with `grace`: only SIGKILL ends it.
fn stubborn_sleep(grace: Duration) -> atexit::ExitChild {
    use atexit::CommandExt as _;
    std::process::Command::new("sh")
        .args(["-c", "trap '' TERM; exec sleep 1000"])
        .stdin(Stdio::null())
        .spawn_tied()
        .expect("spawn sh")
        .with_grace(grace)
}

/// Whether the process `pid` is alive (running, not a zombie).
fn alive(pid: u32) -> bool {
    stat(pid as i32).is_some_and(|(state, _, _)| state != 'Z')
}

/// Issue 21: children tied one after another are stopped together, and
/// handlers registered between them run in their place. Registered oldest
/// first: two handlers, child A, a handler, twenty children B (ten that
/// ignore SIGTERM, ten that obey it), a handler. The newest handler sees
/// every child running; the one between A and B sees every B stopped and
/// reaped and A still running; the one before A sees A gone. One after
/// another, the ten B that ignore SIGTERM would take ten graces (5 s).
fn stopped_together() {
    use atexit::CommandExt as _;
    use std::sync::{Arc, Mutex};
    let grace = Duration::from_millis(500);
    // The pids, filled in once spawned: the handlers that look at a child
    // are registered before it (they run after its stop).
    let a_pid = Arc::new(Mutex::new(0));
    let b_pids = Arc::new(Mutex::new(Vec::new()));
    atexit::register(|| println!("oldest handler"));
    let a_seen = Arc::clone(&a_pid);
    atexit::register(move || println!("before A: A alive {}", alive(*a_seen.lock().unwrap())));
    let a = stubborn_sleep(Duration::from_millis(300));
    *a_pid.lock().unwrap() = a.id().expect("running");
    println!("child A {}", *a_pid.lock().unwrap());
    let (a_seen, b_seen) = (Arc::clone(&a_pid), Arc::clone(&b_pids));
    atexit::register(move || {
        let b = b_seen.lock().unwrap();
        let gone = b.iter().all(|&pid| stat(pid as i32).is_none());
        println!(
            "between A and B: B gone {gone}, A alive {}",
            alive(*a_seen.lock().unwrap())
        );
    });
    for n in 0..20 {
        let child = if n % 2 == 0 {
            stubborn_sleep(grace)
        } else {
            std::process::Command::new("sleep")
                .arg("1000")
                .stdin(Stdio::null())
                .spawn_tied()
                .expect("spawn sleep")
                .with_grace(grace)
        };
        let pid = child.id().expect("running");
        println!("child B {pid}");
        b_pids.lock().unwrap().push(pid);
    }
    let (a_seen, b_seen) = (Arc::clone(&a_pid), Arc::clone(&b_pids));
    atexit::register(move || {
        let running = b_seen.lock().unwrap().iter().all(|&pid| alive(pid));
        println!(
            "newest handler: B running {running}, A alive {}",
            alive(*a_seen.lock().unwrap())
        );
    });
    // The exit's handlers run when this returns (`std::process::exit`).
    println!("exiting");
}

/// Issue 22, 2: a tied child holds no descriptor. Under a limit of 256 open
/// descriptors, 2,000 tied children are spawned (each held one before: the
/// spawn failed with EMFILE near the limit) and all are stopped at exit.
fn many_under_fd_limit() {
    use atexit::CommandExt as _;
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: sets this process's limit from a value we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    for n in 0..2000 {
        let child = std::process::Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn_tied()
            .unwrap_or_else(|error| panic!("spawn {n}: {error}"));
        println!("child {}", child.id().expect("running"));
    }
    println!("exiting");
}

/// The pids of the lines `prefix <pid>` of `stdout`.
fn pids(stdout: &str, prefix: &str) -> Vec<Seen> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(prefix))
        .map(|pid| Seen {
            pid: pid.parse().expect("a pid"),
            start: 0,
        })
        .collect()
}

/// Every one of `pids` is gone, reaped by the program (not left to this
/// test, the subreaper).
fn all_reaped_by_the_program(pids: &[Seen]) {
    for seen in pids {
        let state = stat(seen.pid);
        assert!(
            state.is_none_or(|(_, ppid, _)| ppid != std::process::id() as i32),
            "child {} was left behind: {state:?}",
            seen.pid
        );
    }
}

#[test]
fn children_tied_one_after_another_are_stopped_together_in_their_place() {
    become_subreaper();
    let dir = TempDir::new("stopped-together");
    let mut program = scenario("stopped-together", dir.path());
    program.wait_for_line("exiting");
    let exiting = Instant::now();
    let (finished, _) = program.finish(HANG);
    let took = exiting.elapsed();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    let order: Vec<&str> = finished
        .stdout
        .lines()
        .filter(|line| {
            line.contains("handler") || line.starts_with("between") || line.starts_with("before")
        })
        .collect();
    assert_eq!(
        order,
        [
            "newest handler: B running true, A alive true",
            "between A and B: B gone true, A alive true",
            "before A: A alive false",
            "oldest handler",
        ],
        "{}",
        finished.describe()
    );
    let b = pids(&finished.stdout, "child B ");
    assert_eq!(b.len(), 20);
    all_reaped_by_the_program(&b);
    all_reaped_by_the_program(&pids(&finished.stdout, "child A "));
    // One grace (500 ms) for all the B, one (300 ms) for A; one after
    // another they took 5.3 s. Generous for a loaded machine.
    assert!(took < Duration::from_secs(4), "the exit took {took:?}");
}

#[test]
fn two_thousand_tied_children_under_a_limit_of_256_descriptors() {
    become_subreaper();
    let dir = TempDir::new("many-under-fd-limit");
    let program = scenario("many-under-fd-limit", dir.path());
    let (finished, _) = program.finish(Duration::from_secs(120));
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    assert!(
        finished.stdout.contains("exiting"),
        "{}",
        finished.describe()
    );
    let children = pids(&finished.stdout, "child ");
    assert_eq!(children.len(), 2000);
    all_reaped_by_the_program(&children);
}

/// Issue 22, 5: `exec` replaces the program, from whichever thread calls
/// it: the kernel ends every other thread first, the spawner thread among
/// them, and the parent-death signal of the children spawned from it comes
/// then. No handler runs (the program is gone); the tied child is killed.
fn exec_away(from_a_thread: bool) {
    use atexit::CommandExt as _;
    let child = std::process::Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn_tied()
        .expect("spawn sleep");
    println!("child {}", child.id().expect("running"));
    atexit::register(|| println!("a handler ran"));
    let exec = || {
        let error = std::process::Command::new("sh")
            .args(["-c", "echo execd; sleep 3"])
            .exec();
        panic!("exec: {error}");
    };
    if from_a_thread {
        std::thread::spawn(exec);
        std::thread::sleep(HANG);
    } else {
        exec();
    }
}

/// Issue 22, 5: Ctrl+C in a terminal sends SIGINT to the terminal's
/// foreground process group: the program and every child in its group, at
/// once. A tied child in the program's group gets it directly, before the
/// program's handlers run (a `sleep` dies of it); one started in a group of
/// its own gets only the stop's SIGTERM, and its grace. The test sends the
/// SIGINT as the terminal does (to the group), the program leading it.
fn ctrl_c(dir: &std::path::Path) {
    use atexit::CommandExt as _;
    use std::sync::{Arc, Mutex};
    atexit::catch_signals().expect("catch_signals");
    let children: Arc<Mutex<Vec<atexit::ExitChild>>> = Arc::default();
    let seen = Arc::clone(&children);
    // Registered first: runs after the children's stops.
    atexit::register(move || {
        for (name, child) in ["same group", "own group"]
            .iter()
            .zip(seen.lock().unwrap().iter())
        {
            let status = child.try_wait().expect("reaped");
            println!("{name}: {status:?}");
        }
    });
    let same = std::process::Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn_tied()
        .expect("spawn sleep");
    let own = std::process::Command::new("sh")
        .args([
            "-c",
            "trap 'echo flushed > flushed; exit 0' TERM; : > ready; while :; do sleep 0.05; done",
        ])
        .current_dir(dir)
        .process_group(0)
        .stdin(Stdio::null())
        .spawn_tied()
        .expect("spawn sh");
    children.lock().unwrap().extend([same, own]);
    eventually("the shell is ready", || dir.join("ready").exists());
    println!("ready");
    std::thread::sleep(HANG);
}

#[test]
fn exec_from_the_main_thread_kills_tied_children() {
    exec_kills_tied_children("exec-from-main");
}

#[test]
fn exec_from_another_thread_kills_tied_children() {
    exec_kills_tied_children("exec-from-a-thread");
}

fn exec_kills_tied_children(name: &str) {
    let dir = TempDir::new(name);
    let mut program = scenario(name, dir.path());
    let line = program
        .try_wait_for("the child's pid", |line| line.starts_with("child "))
        .unwrap_or_else(|error| panic!("{error}"));
    let child = Seen::new(line["child ".len()..].parse().expect("a pid"));
    program.wait_for_line("execd");
    // Killed: a zombie of the exec'd program (which does not reap it), or
    // gone.
    let mut adopted = false;
    eventually("the tied child is killed", || {
        child.now(&mut adopted) != Now::Running
    });
    let (finished, _) = program.finish(HANG);
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    assert!(
        !finished.stdout.contains("a handler ran"),
        "{}",
        finished.describe()
    );
}

#[test]
fn ctrl_c_reaches_tied_children_in_the_program_s_group_directly() {
    let dir = TempDir::new("ctrl-c");
    let mut command = support::command(&std::env::current_exe().expect("this test binary"));
    command
        .args([
            "scenario_program",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(SCENARIO, "ctrl-c")
        .env("SCENARIO_DIR", dir.path())
        // A foreground process group of its own, as a shell gives a job.
        .process_group(0);
    let mut program = support::Running::start(&mut command);
    program.wait_for_line("ready");
    // What the terminal does on Ctrl+C: SIGINT to the foreground group.
    // SAFETY: signals the group the program leads (it has not been waited).
    unsafe { libc::kill(-(program.id() as i32), libc::SIGINT) };
    let (finished, _) = program.finish(HANG);
    assert_eq!(
        finished.status.signal(),
        Some(libc::SIGINT),
        "{}",
        finished.describe()
    );
    assert!(
        finished.stdout.contains(&format!(
            "same group: Some(ExitStatus(unix_wait_status({})))",
            libc::SIGINT
        )),
        "the child in the program's group died of the SIGINT: {}",
        finished.describe()
    );
    assert!(
        finished
            .stdout
            .contains("own group: Some(ExitStatus(unix_wait_status(0)))"),
        "the child in its own group ended on the stop's SIGTERM: {}",
        finished.describe()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("flushed"))
            .ok()
            .as_deref(),
        Some("flushed\n")
    );
}

/// Twenty tied shells, each leading a group of its own with a `sleep` in
/// it, all ignoring SIGTERM (grace 500 ms): stopped together, every group
/// killed after the one grace.
fn groups_together() {
    use atexit::CommandExt as _;
    for _ in 0..20 {
        let leader = std::process::Command::new("sh")
            .args(["-c", "trap '' TERM; sleep 1000 & wait"])
            .stdin(Stdio::null())
            .process_group(0)
            .spawn_tied()
            .expect("spawn sh")
            .with_grace(Duration::from_millis(500));
        let pid = leader.id().expect("running");
        // Its `sleep` has started.
        eventually("the group's member", || {
            std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
                entry
                    .file_name()
                    .to_str()
                    .and_then(|name| name.parse::<i32>().ok())
                    .is_some_and(|other| other != pid as i32 && group_of(other) == Some(pid as i32))
            })
        });
        println!("leader {pid}");
    }
    println!("exiting");
}

/// The process group of `pid`, from `/proc`.
fn group_of(pid: i32) -> Option<i32> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    text[text.rfind(')')? + 2..]
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

#[test]
fn groups_tied_one_after_another_are_stopped_together() {
    become_subreaper();
    let dir = TempDir::new("groups-together");
    let mut program = scenario("groups-together", dir.path());
    program.wait_for_line("exiting");
    let exiting = Instant::now();
    let (finished, _) = program.finish(HANG);
    let took = exiting.elapsed();
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    let leaders = pids(&finished.stdout, "leader ");
    assert_eq!(leaders.len(), 20);
    all_reaped_by_the_program(&leaders);
    // No member of any of the groups is left (the members' zombies come to
    // this test, the subreaper, and are reaped here).
    eventually("every member is gone", || {
        std::fs::read_dir("/proc").unwrap().flatten().all(|entry| {
            let Some(other) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<i32>().ok())
            else {
                return true;
            };
            let in_one =
                group_of(other).is_some_and(|group| leaders.iter().any(|l| l.pid == group));
            if in_one {
                // SAFETY: reaps an adopted zombie, if it is one of ours.
                unsafe { libc::waitpid(other, std::ptr::null_mut(), libc::WNOHANG) };
            }
            !in_one
        })
    });
    // One grace for all (one after another: 10 s). Generous for a loaded
    // machine.
    assert!(took < Duration::from_secs(4), "the exit took {took:?}");
}

/// A run of five children tied one after another, of which one is detached
/// and one reaped by the program before the exit: the run's stop takes the
/// other three and leaves the detached one alone (it has no parent-death
/// signal: tied by `stop_at_exit`, not spawned tied).
fn left_out_of_a_run() {
    use atexit::CommandExt as _;
    let sleep = || {
        std::process::Command::new("sleep")
            .arg("1000")
            .stdin(Stdio::null())
            // The detached one outlives the program: not with its output.
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sleep")
    };
    let a = atexit::stop_at_exit(sleep());
    let b = atexit::stop_at_exit(sleep());
    let c = atexit::stop_at_exit(sleep());
    let d = std::process::Command::new("true")
        .spawn_tied()
        .expect("spawn true");
    let e = atexit::stop_at_exit(sleep());
    for (name, child) in [("a", &a), ("c", &c), ("e", &e)] {
        println!("stopped {name} {}", child.id().expect("running"));
    }
    d.wait().expect("wait");
    let b = b.detach().expect("not reaped");
    println!("detached {}", b.id());
    // Still the program's child: it must not be waited for by a drop.
    std::mem::forget(b);
    println!("exiting");
}

#[test]
fn a_run_s_stop_leaves_out_children_detached_or_reaped_before_it() {
    become_subreaper();
    let dir = TempDir::new("left-out-of-a-run");
    let program = scenario("left-out-of-a-run", dir.path());
    let (finished, _) = program.finish(HANG);
    assert_eq!(finished.status.code(), Some(0), "{}", finished.describe());
    let mut stopped = Vec::new();
    for line in finished.stdout.lines() {
        if let Some(rest) = line.strip_prefix("stopped ") {
            let pid: i32 = rest
                .split(' ')
                .nth(1)
                .expect("a pid")
                .parse()
                .expect("a pid");
            stopped.push(Seen { pid, start: 0 });
        }
    }
    assert_eq!(stopped.len(), 3, "{}", finished.describe());
    all_reaped_by_the_program(&stopped);
    let detached: i32 = pids(&finished.stdout, "detached ")[0].pid;
    let state = stat(detached);
    // SAFETY: the detached child came to this test (the subreaper) when
    // the program ended: kill and reap it.
    unsafe {
        libc::kill(detached, libc::SIGKILL);
        libc::waitpid(detached, std::ptr::null_mut(), 0);
    }
    assert!(
        state.is_some_and(|(state, _, _)| state != 'Z'),
        "the detached child was stopped: {state:?}"
    );
}
