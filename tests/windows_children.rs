//! Tied children on Windows (run under Wine in CI: `scripts/windows.sh`).
//!
//! This test binary plays three roles, chosen by `ATEXIT_TEST_ROLE` when it
//! runs itself with `--exact <role test> --nocapture`:
//! - the *runner* spawns a *worker* with `spawn_tied` and another without
//!   (the control), prints `worker <tied pid> <its grandchild's pid>
//!   <untied pid>` and `ready`, then ends as `ATEXIT_TEST_ENDING` says;
//! - a *worker* starts a grandchild (a plain spawn, at once: with the
//!   suspended spawn it is in the job before it exists), prints its pid and
//!   sleeps;
//! - a *sleeper* sleeps.
//!
//! After the runner's end the tied worker and its grandchild must be gone
//! within 10 s, and the untied one must still run (so the check can fail).

#![cfg(windows)]
// The untied child and the grandchild are left running on purpose: the test
// looks at whether they outlive their parent, then ends them by pid (and
// Windows has no zombies to leave).
#![allow(clippy::zombie_processes)]

mod support;

use atexit::CommandExt as _;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use windows_sys::Win32::Foundation::{CloseHandle, WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    OpenProcess, WaitForSingleObject, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    PROCESS_TERMINATE,
};

const ROLE: &str = "ATEXIT_TEST_ROLE";
/// A file the runner's exit handler writes: read after the runner ended,
/// not from its stdout, whose pipe the untied child (which inherits every
/// inheritable handle) keeps open.
const MARK: &str = "ATEXIT_TEST_MARK";
const ENDING: &str = "ATEXIT_TEST_ENDING";
const SLEEP: Duration = Duration::from_secs(60);

/// This binary, run as `role`.
fn as_role(role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("this test binary"));
    command
        .args([
            "--exact",
            &format!("role_{role}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role);
    command
}

/// What follows `mark` in `line` (the harness's own words may come first).
fn marked<'a>(line: &'a str, mark: &str) -> Option<&'a str> {
    line.split_once(mark).map(|(_, rest)| rest.trim())
}

fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

#[test]
fn role_runner() {
    if role().as_deref() != Some("runner") {
        return;
    }
    atexit::register(|| {
        std::fs::write(std::env::var(MARK).expect("the mark's path"), "handler ran")
            .expect("write the mark");
    });
    let tied = as_role("worker")
        .stdout(Stdio::piped())
        .spawn_tied()
        .expect("spawn_tied");
    let stdout = tied.take_stdout().expect("the worker's stdout");
    // The harness writes its own lines too (ours may follow its
    // `test role_worker ... ` on the same line): ours is marked.
    let grandchild: u32 = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| marked(&line, "grandchild ").map(str::to_owned))
        .expect("the worker's grandchild line")
        .parse()
        .expect("a pid");
    let untied = as_role("sleeper")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let tied_pid = tied.id().expect("not reaped");
    println!("worker {tied_pid} {grandchild} {}", untied.id());
    println!("ready");
    match std::env::var(ENDING).as_deref() {
        Ok("return") => {}
        Ok("atexit-exit") => atexit::exit(4),
        // No handler runs: only the job ends the worker.
        Ok("exit-now") => atexit::exit_now(5),
        Ok("wait") => std::thread::sleep(SLEEP),
        other => panic!("unknown ending {other:?}"),
    }
}

#[test]
fn role_worker() {
    if role().as_deref() != Some("worker") {
        return;
    }
    let grandchild = as_role("sleeper")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn the grandchild");
    println!("grandchild {}", grandchild.id());
    std::thread::sleep(SLEEP);
}

#[test]
fn role_sleeper() {
    if role().as_deref() != Some("sleeper") {
        return;
    }
    std::thread::sleep(SLEEP);
}

/// Whether process `pid` ends within `limit` (true if it is gone already).
fn ends_within(pid: u32, limit: Duration) -> bool {
    // SAFETY: opens a process by id for waiting; closed below.
    let process = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            pid,
        )
    };
    if process.is_null() {
        let error = std::io::Error::last_os_error();
        // ERROR_INVALID_PARAMETER: no process has this id (any more).
        assert_eq!(
            error.raw_os_error(),
            Some(87),
            "OpenProcess({pid}): {error}"
        );
        return true;
    }
    // SAFETY: the handle was opened with SYNCHRONIZE.
    let waited = unsafe { WaitForSingleObject(process, limit.as_millis() as u32) };
    // SAFETY: closes the handle opened above.
    unsafe { CloseHandle(process) };
    match waited {
        WAIT_OBJECT_0 => true,
        WAIT_TIMEOUT => false,
        other => panic!("WaitForSingleObject: {other}"),
    }
}

fn terminate(pid: u32) {
    // SAFETY: opens the process to end it; closed below.
    let process = unsafe { OpenProcess(PROCESS_TERMINATE, 0, pid) };
    if !process.is_null() {
        // SAFETY: the handle was opened with PROCESS_TERMINATE.
        unsafe {
            windows_sys::Win32::System::Threading::TerminateProcess(process, 1);
            CloseHandle(process);
        }
    }
}

/// Runs the runner with `ending`; `end` ends it from outside if the ending
/// waits. Returns its stdout and exit code, after checking the children.
fn run_runner(ending: &str, end: impl FnOnce(&mut std::process::Child)) -> (bool, Option<i32>) {
    let dir = support::TempDir::new(&format!("windows-children-{ending}"));
    let mark = dir.path().join("mark");
    let mut runner = as_role("runner")
        .env(ENDING, ending)
        .env(MARK, &mark)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the runner");
    let mut stdout = BufReader::new(runner.stdout.take().expect("stdout"));
    let mut seen = String::new();
    let mut pids = None;
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("read the runner") == 0 {
            panic!("the runner ended before `ready`: {seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = marked(&line, "worker ") {
            let parsed: Vec<u32> = rest.split(' ').map(|p| p.parse().expect("a pid")).collect();
            pids = Some((parsed[0], parsed[1], parsed[2]));
        }
        if line.trim().ends_with("ready") {
            break;
        }
    }
    let (tied, grandchild, untied) = pids.expect("the worker line");
    end(&mut runner);
    // Read on (a closed pipe would end the runner's harness with an error
    // status), on a thread left behind: the untied child holds the pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let status = runner.wait().expect("wait for the runner");
    let untied_alive = !ends_within(untied, Duration::from_millis(500));
    let tied_gone = ends_within(tied, Duration::from_secs(10));
    let grandchild_gone = ends_within(grandchild, Duration::from_secs(10));
    terminate(untied);
    terminate(tied);
    terminate(grandchild);
    assert!(
        untied_alive,
        "{ending}: the untied child ended too, so the check proves nothing"
    );
    assert!(tied_gone, "{ending}: the tied worker outlived the runner");
    assert!(
        grandchild_gone,
        "{ending}: the worker's grandchild outlived the runner (not in the job)"
    );
    (mark.exists(), status.code())
}

#[test]
fn a_return_from_main_stops_the_tied_child_and_its_grandchild() {
    if role().is_some() {
        return;
    }
    let (handler_ran, code) = run_runner("return", |_| {});
    assert!(handler_ran);
    assert_eq!(code, Some(0));
}

#[test]
fn atexit_exit_stops_the_tied_child_and_its_grandchild() {
    if role().is_some() {
        return;
    }
    let (handler_ran, code) = run_runner("atexit-exit", |_| {});
    assert!(handler_ran);
    assert_eq!(code, Some(4));
}

/// No handler runs: the job alone ends them when the process ends.
#[test]
fn exit_now_leaves_no_tied_child_behind() {
    if role().is_some() {
        return;
    }
    let (handler_ran, code) = run_runner("exit-now", |_| {});
    assert!(!handler_ran);
    assert_eq!(code, Some(5));
}

/// `TerminateProcess` from another process (what `Child::kill`, Task
/// Manager and `taskkill /F` do): no code of the runner's runs.
#[test]
fn terminate_process_from_outside_leaves_no_tied_child_behind() {
    if role().is_some() {
        return;
    }
    let (handler_ran, _) = run_runner("wait", |runner| runner.kill().expect("TerminateProcess"));
    assert!(!handler_ran);
}

/// A child in our job (spawned tied) tries a tied spawn of its own with
/// the flags in `ATEXIT_TEST_FLAGS`, and says how it went.
#[test]
fn role_spawner() {
    if role().as_deref() != Some("spawner") {
        return;
    }
    let flags: u32 = std::env::var("ATEXIT_TEST_FLAGS").unwrap().parse().unwrap();
    match as_role("sleeper")
        .stdout(Stdio::null())
        .spawn_tied_with_creation_flags(flags)
    {
        Ok(child) => {
            println!("result spawned");
            child.stop().expect("stop");
        }
        Err(error) => println!("result refused {}", error.raw_os_error().unwrap_or(-1)),
    }
}

/// The caller's creation flags reach `CreateProcessW` beside
/// `CREATE_SUSPENDED`: `CREATE_BREAKAWAY_FROM_JOB`, asked by a process in
/// the job, is refused with access denied (the job does not allow it), and
/// the same spawn without it works.
#[test]
fn spawn_tied_with_creation_flags_passes_them_on() {
    if role().is_some() {
        return;
    }
    const CREATE_BREAKAWAY_FROM_JOB: u32 = 0x0100_0000;
    for (flags, expected) in [(CREATE_BREAKAWAY_FROM_JOB, "refused 5"), (0, "spawned")] {
        let spawner = as_role("spawner")
            .env("ATEXIT_TEST_FLAGS", flags.to_string())
            .stdout(Stdio::piped())
            .spawn_tied()
            .expect("spawn_tied");
        let mut lines = BufReader::new(spawner.take_stdout().expect("its stdout")).lines();
        let result = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| marked(&line, "result ").map(str::to_owned));
        // Read to its end: a pipe closed early fails its harness's last words.
        lines.for_each(drop);
        spawner.stop().expect("stop");
        assert_eq!(result.as_deref(), Some(expected), "flags {flags:#x}");
    }
}
