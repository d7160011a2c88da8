//! The watchdog (issue 22, item 1): when the program dies without running
//! any code, the process groups its tied children lead are killed, members
//! and grandchildren, and a reader of the program's stdout sees its end.
//!
//! The program is this test binary, started again with `SCENARIO` set: it
//! spawns a tied `sh -c 'sleep 30 & echo bg $!; sleep 30'` in a group of its
//! own, whose `sleep`s inherit the program's stdout (the test's pipe), says
//! `ready`, and then ends as the test says. This test process is a child
//! subreaper, so the processes the program leaves come to it: it reaps them
//! and sees that they are gone (a zombie counts as gone).

#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use atexit::CommandExt as _;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the issue promises: gone, and the end of stdout, within 1 s.
const WITHIN: Duration = Duration::from_secs(1);
/// A hang: the test fails.
const HANG: Duration = Duration::from_secs(20);

const SCENARIO: &str = "ATEXIT_WATCHDOG_SCENARIO";

// ---------------------------------------------------------------------------
// The program.

/// Not a test of its own: runs a scenario when started by [`Program::start`].
#[test]
fn program() {
    let Ok(name) = std::env::var(SCENARIO) else {
        return;
    };
    let mut parts = name.split(' ');
    let (shape, end) = (parts.next().unwrap(), parts.next().unwrap_or("sigkill"));
    let script = match shape {
        // `setsid` in a background job (not a group leader) does not fork:
        // that `sleep` is the shell's child in a session of its own.
        "detached" => "setsid sleep 30 & echo detached $!; sleep 30 & echo bg $!; sleep 30",
        // The same `setsid sleep`, started by a member that is not the
        // leader: a subshell, which no parent-death signal reaches.
        "detached-member" => {
            "(setsid sleep 30 & echo detached $!; sleep 30) & echo bg $!; sleep 30"
        }
        // The shell ends at once; its `sleep` stays in the group.
        "launcher" => "sleep 30 & echo bg $!",
        _ => "sleep 30 & echo bg $!; sleep 30",
    };
    let mut command = Command::new("sh");
    command.args(["-c", script]).stdin(Stdio::null());
    command.process_group(0);
    let child = command.spawn_tied().expect("spawn sh");
    println!("leader {}", child.id().expect("running"));
    if shape == "launcher" {
        // Reaped by the crate: its group is untied.
        assert!(child.wait().expect("wait").success());
    }
    if shape == "fork" {
        // A forked child that lingers (no exec) with a copy of everything.
        // SAFETY: the child only makes async-signal-safe calls, then `_exit`s.
        unsafe {
            if libc::fork() == 0 {
                let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
                libc::dup2(null, 1);
                libc::dup2(null, 2);
                libc::sleep(5);
                libc::_exit(0);
            }
        }
    }
    println!("ready");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let mut later = Vec::new();
    if shape == "successor" {
        // The test killed the watchdog: this spawn starts another.
        let second = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .spawn_tied()
            .expect("spawn sleep");
        println!("second {}", second.id().expect("running"));
        later.push(second);
        let _ = std::io::stdin().read_line(&mut line);
    }
    match end {
        "abort" => std::process::abort(),
        "exit_now" => atexit::exit_now(0),
        "exit" => std::process::exit(0),
        "exec" => {
            // The program lives on as another one; the crate's socket
            // closes with the exec (close-on-exec).
            let error = Command::new("sleep").arg("30").exec();
            panic!("exec: {error}");
        }
        _ => loop {
            std::thread::park();
        },
    }
}

// ---------------------------------------------------------------------------
// The harness.

fn become_subreaper() {
    // SAFETY: sets a flag of this process.
    let done = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(done, 0, "PR_SET_CHILD_SUBREAPER");
}

/// `/proc/<pid>/stat`: state, ppid, pgrp, session, start time.
fn stat(pid: i32) -> Option<(char, i32, i32, i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((
        fields.first()?.chars().next()?,
        fields.get(1)?.parse().ok()?,
        fields.get(2)?.parse().ok()?,
        fields.get(3)?.parse().ok()?,
        fields.get(19)?.parse().ok()?,
    ))
}

/// Every process whose `field` (of [`stat`]) is `value`.
fn processes_where(field: impl Fn((char, i32, i32, i32, u64)) -> i32, value: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|s| s.0 != 'Z' && field(s) == value))
        .collect()
}

/// A process seen running, told apart from a later one by its start time.
#[derive(Clone, Copy, Debug)]
struct Seen {
    pid: i32,
    start: u64,
}

impl Seen {
    fn new(pid: i32) -> Self {
        let start = stat(pid).unwrap_or_else(|| panic!("no process {pid}")).4;
        Seen { pid, start }
    }

    /// Whether it is gone: reaped (by us, as subreaper, or its parent), a
    /// zombie, or its pid another process's.
    fn gone(&self) -> bool {
        // SAFETY: reaps only this pid, if it is a child of ours that ended.
        unsafe { libc::waitpid(self.pid, std::ptr::null_mut(), libc::WNOHANG) };
        match stat(self.pid) {
            None => true,
            Some((state, .., start)) => state == 'Z' || start != self.start,
        }
    }

    /// Kills it if it still runs (cleanup).
    fn kill(&self) {
        if !self.gone() {
            // SAFETY: the process we saw (same start time), still there.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
            let limit = Instant::now() + HANG;
            while !self.gone() && Instant::now() < limit {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// The program, with its tree once it said `ready`.
struct Program {
    child: Child,
    lines: mpsc::Receiver<Option<String>>,
    leader: Seen,
    /// The leader and the other members of its group.
    group: Vec<Seen>,
    /// The `setsid` one, in the `detached` shape.
    detached: Option<Seen>,
    watchdog: Option<Seen>,
}

impl Program {
    fn start(scenario: &str) -> Program {
        become_subreaper();
        let mut command = support::command(&std::env::current_exe().expect("this binary"));
        command
            .args([
                "program",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(SCENARIO, scenario)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        support::no_core_dumps(&mut command);
        let mut child = command.spawn().expect("start the program");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = sender.send(Some(line));
            }
            // The end of the pipe: every writer has closed it.
            let _ = sender.send(None);
        });
        let mut leader = None;
        let mut detached = None;
        let mut bg = None;
        let mut ready = false;
        let limit = Instant::now() + HANG;
        while !(ready && bg.is_some()) {
            let line = lines
                .recv_timeout(limit.saturating_duration_since(Instant::now()))
                .expect("the program's lines")
                .expect("the program's stdout ended early");
            let mut words = line.split_whitespace();
            let pid = || -> i32 { line.split_whitespace().nth(1).unwrap().parse().unwrap() };
            match words.next() {
                // The launcher's leader may be gone already.
                Some("leader") => {
                    let pid = pid();
                    leader = Some(Seen {
                        pid,
                        start: stat(pid).map_or(0, |s| s.4),
                    })
                }
                Some("detached") => detached = Some(Seen::new(pid())),
                Some("bg") => bg = Some(pid()),
                Some("ready") => ready = true,
                _ => {}
            }
        }
        let leader = leader.expect("a leader line");
        let launcher = scenario.starts_with("launcher");
        // The shell's foreground `sleep` appears a moment later.
        let members = if launcher { 1 } else { 3 };
        let group = loop {
            let group = processes_where(|s| s.2, leader.pid);
            if group.len() >= members {
                break group;
            }
            assert!(
                Instant::now() < limit,
                "the group never had {members} members"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        if let Some(detached) = detached {
            // Until `setsid` has run, it is still in the group.
            while stat(detached.pid).is_some_and(|s| s.3 != detached.pid) {
                assert!(Instant::now() < limit, "setsid never ran");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // The launcher's shell has ended (reaped by the crate): only its
        // `sleep` is left of the group.
        let group = group
            .into_iter()
            .filter(|&pid| detached.is_none_or(|d| d.pid != pid))
            .filter(|&pid| !launcher || pid != leader.pid)
            .filter_map(|pid| {
                Some(Seen {
                    pid,
                    start: stat(pid)?.4,
                })
            })
            .collect();
        let watchdog = processes_where(|s| s.1, child.id() as i32)
            .into_iter()
            .find(|&pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|line| line.starts_with(b"atexit-watchdog\0"))
            })
            .map(Seen::new);
        Program {
            child,
            lines,
            leader,
            group,
            detached,
            watchdog,
        }
    }

    /// Ends the program as its scenario says (SIGKILL, or a line on stdin
    /// for the others); returns when it has ended.
    fn end(&mut self, sigkill: bool) -> Instant {
        if sigkill {
            self.child.kill().expect("SIGKILL");
        } else {
            let mut stdin = self.child.stdin.take().expect("piped");
            stdin.write_all(b"go\n").expect("go");
        }
        let limit = Instant::now() + HANG;
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < limit, "the program hung");
            std::thread::sleep(Duration::from_millis(1));
        }
        Instant::now()
    }

    /// When stdout reached its end after `ended`; `None` within [`WITHIN`].
    fn stdout_end(&self, ended: Instant) -> Option<Duration> {
        loop {
            let left = (ended + WITHIN).saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(None) => return Some(ended.elapsed()),
                Ok(Some(_)) => {}
                Err(_) => return None,
            }
        }
    }

    /// The members still running [`WITHIN`] after `ended`.
    fn left_running(&self, ended: Instant) -> Vec<Seen> {
        loop {
            let left: Vec<Seen> = self.group.iter().copied().filter(|s| !s.gone()).collect();
            if left.is_empty() || ended.elapsed() > WITHIN {
                return left;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn clean_up(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for seen in self
            .group
            .iter()
            .chain(&self.detached)
            .chain(&self.watchdog)
        {
            seen.kill();
        }
    }
}

/// The program dies as `end` says (no handler runs): the whole group is
/// gone, and the end of its stdout seen, within 1 s.
fn tree_is_gone(end: &str) {
    let mut program = Program::start(&format!("tree {end}"));
    assert!(program.watchdog.is_some(), "no watchdog process");
    let ended = program.end(end == "sigkill");
    let left = program.left_running(ended);
    let eof = program.stdout_end(ended);
    // For a failure's message: each one's state (T: stopped by the
    // watchdog and never killed) and whether the watchdog still runs.
    let states: Vec<Option<char>> = left.iter().map(|s| stat(s.pid).map(|st| st.0)).collect();
    let watchdog_alive = program.watchdog.is_some_and(|w| !w.gone());
    program.clean_up();
    assert!(
        left.is_empty(),
        "{end}: still running after {WITHIN:?}: {left:?}, states {states:?}, \
         watchdog still running: {watchdog_alive}"
    );
    let eof = eof.unwrap_or_else(|| panic!("{end}: no end of stdout within {WITHIN:?}"));
    println!(
        "| {end} | group of {} gone, stdout's end after {eof:?} |",
        program.group.len()
    );
}

#[test]
fn sigkill_ends_the_tied_group_and_stdout() {
    tree_is_gone("sigkill");
}

#[test]
fn abort_ends_the_tied_group_and_stdout() {
    tree_is_gone("abort");
}

#[test]
fn exit_now_ends_the_tied_group_and_stdout() {
    tree_is_gone("exit_now");
}

/// A watchdog killed on its own is replaced at the next tied spawn, and the
/// successor is told of the children tied before: after a SIGKILL of the
/// program the first shell's group (its `sleep`s, which no parent-death
/// signal reaches) is gone too, not only the child tied after.
#[test]
fn a_successor_watchdog_is_told_of_the_children_tied_before() {
    let mut program = Program::start("successor sigkill");
    let first = program.watchdog.expect("a watchdog");
    first.kill();
    let limit = Instant::now() + HANG;
    while !first.gone() {
        assert!(Instant::now() < limit, "the watchdog stayed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut stdin = program.child.stdin.take().expect("piped");
    stdin.write_all(b"next\n").expect("next");
    let second = loop {
        let line = program
            .lines
            .recv_timeout(limit.saturating_duration_since(Instant::now()))
            .expect("the program's lines")
            .expect("the program's stdout ended early");
        if let Some(pid) = line.strip_prefix("second ") {
            break Seen::new(pid.parse().expect("a pid"));
        }
    };
    let successor = loop {
        let found = processes_where(|s| s.1, program.child.id() as i32)
            .into_iter()
            .filter(|&pid| pid != first.pid)
            .find(|&pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|line| line.starts_with(b"atexit-watchdog\0"))
            });
        if let Some(pid) = found {
            break Seen::new(pid);
        }
        assert!(Instant::now() < limit, "no successor watchdog");
        std::thread::sleep(Duration::from_millis(5));
    };
    program.group.push(second);
    program.watchdog = Some(successor);
    let ended = program.end(true);
    let left = program.left_running(ended);
    program.clean_up();
    assert!(left.is_empty(), "still running after {WITHIN:?}: {left:?}");
}

/// An `exec` replaces the program without ending the process: the kernel's
/// parent-death signal ends the tied shell (its spawner thread is gone),
/// and the watchdog, which sees the socket's end while the program's
/// process lives, ends the rest of the group, which no signal of the
/// kernel reaches. The `sleep`s outlive the exec without it.
#[test]
fn exec_ends_the_tied_group() {
    let mut program = Program::start("tree exec");
    let watchdog = program.watchdog.expect("a watchdog");
    let mut stdin = program.child.stdin.take().expect("piped");
    stdin.write_all(b"go\n").expect("go");
    // The exec is done when the program's command line is `sleep`'s.
    let pid = program.child.id();
    let limit = Instant::now() + HANG;
    while !std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|line| line.starts_with(b"sleep\0"))
    {
        assert!(Instant::now() < limit, "the program never exec'd");
        std::thread::sleep(Duration::from_millis(2));
    }
    let execd = Instant::now();
    let left = program.left_running(execd);
    let watchdog_left = watchdog.gone();
    program.clean_up();
    assert!(
        left.is_empty(),
        "still running {WITHIN:?} after the exec: {left:?}"
    );
    assert!(watchdog_left, "the watchdog stayed after the exec");
}

/// A normal exit stops the group itself (SIGTERM) and says `Bye`: the
/// watchdog leaves, and kills nothing more: the `setsid` grandchild, outside
/// the group, outlives the program, as the docs say.
#[test]
fn a_normal_exit_says_bye_and_the_watchdog_leaves_the_rest() {
    let mut program = Program::start("detached exit");
    let watchdog = program.watchdog.expect("a watchdog");
    let detached = program.detached.expect("the detached sleep");
    let ended = program.end(false);
    let status = program.child.try_wait().expect("reaped").expect("ended");
    let left = program.left_running(ended);
    let limit = Instant::now() + HANG;
    while !watchdog.gone() {
        assert!(Instant::now() < limit, "the watchdog stayed");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let detached_survived = !detached.gone();
    program.clean_up();
    assert_eq!(status.code(), Some(0));
    assert!(left.is_empty(), "the exit's own stop: {left:?}");
    assert!(detached_survived, "the setsid grandchild was killed");
}

/// A descendant that left the group (`setsid`, a session of its own) is
/// killed after a SIGKILL of the program when the watchdog finds it still
/// the child of a member: here a subshell's. (The leader's own children are
/// not promised: the parent-death signal kills the leader in the same
/// moment, and its children go to init before the watchdog looks; see the
/// docs' table.)
#[test]
fn sigkill_ends_a_member_s_child_that_left_the_group() {
    let mut program = Program::start("detached-member sigkill");
    let detached = program.detached.expect("the detached sleep");
    let ended = program.end(true);
    let left = program.left_running(ended);
    let detached_left = loop {
        if detached.gone() || ended.elapsed() > WITHIN {
            break !detached.gone();
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    program.clean_up();
    assert!(left.is_empty(), "still running after {WITHIN:?}: {left:?}");
    assert!(
        !detached_left,
        "the setsid sleep outlived the program by {WITHIN:?}"
    );
}

/// The watchdog is in a session (and group) of its own: the terminal's
/// Ctrl+C and hang-up, sent to the foreground group and session, never
/// reach it.
#[test]
fn the_watchdog_is_in_a_session_of_its_own() {
    let mut program = Program::start("tree sigkill");
    let watchdog = program.watchdog.expect("a watchdog");
    let (_, _, pgrp, session, _) = stat(watchdog.pid).expect("the watchdog");
    let (_, _, program_pgrp, program_session, _) = stat(program.child.id() as i32).expect("it");
    program.end(true);
    program.clean_up();
    assert_eq!((pgrp, session), (watchdog.pid, watchdog.pid));
    assert_ne!(pgrp, program_pgrp);
    assert_ne!(session, program_session);
}

/// A group whose leader the crate reaped (`wait`) is untied: its remaining
/// member is not the watchdog's to kill after the program's SIGKILL (the
/// same rule that keeps a reused group id safe: only registered groups).
#[test]
fn an_untied_group_is_never_killed() {
    let mut program = Program::start("launcher sigkill");
    let ended = program.end(true);
    let left = program.left_running(ended);
    program.clean_up();
    assert_eq!(left.len(), 1, "the untied group's sleep was killed");
    assert!(!left.iter().any(|seen| seen.pid == program.leader.pid));
}

/// A forked child that lingers (5 s) with a copy of everything: the notice
/// is not delayed (the fork hook closed its copy of the socket, and the
/// watchdog also watches the program's pidfd).
#[test]
fn a_lingering_forked_child_does_not_delay_the_notice() {
    let mut program = Program::start("fork sigkill");
    let ended = program.end(true);
    let left = program.left_running(ended);
    let eof = program.stdout_end(ended);
    program.clean_up();
    assert!(left.is_empty(), "still running after {WITHIN:?}: {left:?}");
    assert!(eof.is_some(), "no end of stdout within {WITHIN:?}");
}

/// A user's stray `ATEXIT_WATCHDOG` (it names the real parent, and stdin is
/// a socket: socket activation, a test harness) does not turn the program
/// into a watchdog: the program runs. Before the random token the parent
/// writes first into the socket, the old value's shape (`1:0:<parent>`)
/// made this test binary a watchdog, waiting on the socket instead of
/// listing its tests.
#[test]
fn a_stray_watchdog_variable_does_not_take_the_program_over() {
    let parent = std::process::id();
    for value in [
        format!("1:0:{parent}"),
        format!("1:0:{parent}:{:032x}", 0x1234u128),
    ] {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .arg("--list")
            .env("ATEXIT_WATCHDOG", &value)
            .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let limit = Instant::now() + HANG;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{value}: the program became a watchdog (it hung)");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut listed = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut listed).unwrap();
        drop(ours);
        assert!(status.success(), "{value}: {status:?}");
        assert!(listed.contains("program: test"), "{value}: {listed}");
    }
}
