//! Declared cleanups, run as a real program under a real pseudo-terminal:
//! `examples/last_words.rs` saves the tty's mode, declares a lock file, a
//! Unix socket, a scratch directory, a process group and one cancelled file,
//! puts the tty in raw mode and the alternate screen, then ends one way per
//! test (a return, an exit, a panic, a caught signal, a segfault, a stack
//! overflow, `abort()`, and from outside a `kill -9` or a SIGTERM nobody
//! catches, where only the watchdog can act).
//!
//! After each, from outside, once the program's watchdog is gone too (so
//! that whatever it would do is done): the pty's mode equals the one before, the
//! escape bytes came out on the master exactly once after the program's own,
//! the process ended as that way ends (its status, or the signal that
//! killed it, and std's overflow message on stderr), the lock, socket and
//! scratch directory are gone, the cancelled file is still there, and the
//! process group's `sleep` is dead.

#![cfg(target_os = "linux")]

mod support;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use support::TempDir;

const HANG: Duration = Duration::from_secs(30);
/// The bytes the program writes on entering its "TUI".
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[?1000h<in the TUI>";

struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

fn pty() -> Pty {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two new descriptors that we then own.
    let done = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(done, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY: fcntl on descriptors we own. Close-on-exec, so that the
        // other tests' children do not inherit this pty; the slave given to
        // the program as its stdin/stdout is dup2'ed, which clears it there.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: just opened, owned by nobody else.
    unsafe {
        libc::fcntl(master, libc::F_SETFL, libc::O_NONBLOCK);
        Pty {
            master: OwnedFd::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        }
    }
}

fn mode(fd: &OwnedFd) -> libc::termios {
    // SAFETY: a zeroed termios is valid storage for tcgetattr.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: a tty descriptor we own.
    assert_eq!(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut termios) }, 0);
    termios
}

fn flags(t: &libc::termios) -> (u32, u32, u32, u32, [u8; libc::NCCS]) {
    (t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag, t.c_cc)
}

/// Everything the program wrote to the terminal (the master is
/// non-blocking, and the program is gone).
fn drain(master: &OwnedFd) -> Vec<u8> {
    let mut file = std::fs::File::from(master.try_clone().expect("dup master"));
    let mut all = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(n) = file.read(&mut buffer) {
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buffer[..n]);
    }
    all
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|window| *window == needle)
        .count()
}

/// How the program ended, all it wrote, and what it left.
struct Ended {
    status: ExitStatus,
    stderr: String,
    terminal: Vec<u8>,
    restored: bool,
}

/// The pid of the watchdog of the program `pid`, while one runs: the process
/// whose environment names `pid` as its parent (see the watchdog's docs).
fn watchdog_of(pid: u32) -> Option<i32> {
    // `<version>:<fd>:<parent pid>:<token>`.
    let wanted = pid.to_string();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let candidate: i32 = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(format!("/proc/{candidate}/environ")).ok()?;
            environ
                .split(|&b| b == 0)
                .any(|var| {
                    var.strip_prefix(b"ATEXIT_WATCHDOG=").is_some_and(|value| {
                        value.split(|&b| b == b':').nth(2) == Some(wanted.as_bytes())
                    })
                })
                .then_some(candidate)
        })
}

/// Waits (5 s at most) until the program's watchdog has done what it does
/// and left.
fn wait_for_its_watchdog(pid: u32, describe: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Some(watchdog) = watchdog_of(pid) {
        if gone_within(watchdog, Duration::ZERO) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{describe}: the watchdog {watchdog} is still there 5 s after the program"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_way(program: &Path, way: &str, extra: &[&str], dir: &Path) -> Ended {
    run_way_with(program, way, extra, dir, false)
}

/// As `run_way`; with `core`, core dumps are allowed (a few MiB, written to
/// `dir`, its working directory) rather than turned off. The way `kill-N`
/// runs the example's `wait` and sends it signal N once it is ready.
fn run_way_with(program: &Path, way: &str, extra: &[&str], dir: &Path, core: bool) -> Ended {
    run_way_set_up(program, way, extra, dir, core, |_| {})
}

/// As `run_way_with`, with `set_up` given the command before it starts.
fn run_way_set_up(
    program: &Path,
    way: &str,
    extra: &[&str],
    dir: &Path,
    core: bool,
    set_up: impl FnOnce(&mut Command),
) -> Ended {
    let signal: Option<i32> = way.strip_prefix("kill-").map(|n| n.parse().unwrap());
    let way = if signal.is_some() { "wait" } else { way };
    let pty = pty();
    let before = mode(&pty.slave);
    let mut command = Command::new(program);
    command
        .arg(way)
        .arg(dir)
        .args(extra)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::piped());
    if core {
        use std::os::unix::process::CommandExt;
        command.current_dir(dir);
        // SAFETY: setrlimit is async-signal-safe and touches only the child.
        unsafe {
            command.pre_exec(|| {
                let some = libc::rlimit {
                    rlim_cur: 16 << 20,
                    rlim_max: 16 << 20,
                };
                libc::setrlimit(libc::RLIMIT_CORE, &some);
                Ok(())
            });
        }
    } else {
        support::no_core_dumps(&mut command);
    }
    set_up(&mut command);
    let mut child = command.spawn().expect("start the example");
    let pid = child.id();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + HANG;
    if let Some(signal) = signal {
        while !dir.join("ready").exists() {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("{way}: never got ready");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: a signal to our own child, unreaped.
        unsafe { libc::kill(pid as i32, signal) };
    }
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{way}: hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = reader.join().unwrap();
    wait_for_its_watchdog(pid, way);
    let after = mode(&pty.slave);
    Ended {
        status,
        stderr,
        terminal: drain(&pty.master),
        restored: flags(&before) == flags(&after),
    }
}

fn gone_within(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) if stat.rsplit(')').next().is_some_and(|r| r.starts_with(" Z")) => {
                return true
            }
            Ok(_) if Instant::now() > deadline => return false,
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// What ending `way` must look like.
#[derive(Clone, Copy)]
enum Expect {
    Code(i32),
    Signal(i32),
    SignalOrCode(i32, i32),
}

fn check(program: &Path, way: &str, extra: &[&str], expect: Expect) -> Ended {
    let dir = TempDir::new(&format!("last-words-{way}"));
    let ended = run_way(program, way, extra, dir.path());
    let describe = format!(
        "{way} {extra:?}: {:?}\nstderr:\n{}\nterminal: {:?}",
        ended.status,
        ended.stderr,
        String::from_utf8_lossy(&ended.terminal)
    );
    match expect {
        Expect::Code(code) => assert_eq!(ended.status.code(), Some(code), "{describe}"),
        Expect::Signal(signal) => assert_eq!(ended.status.signal(), Some(signal), "{describe}"),
        Expect::SignalOrCode(signal, code) => assert!(
            ended.status.signal() == Some(signal) || ended.status.code() == Some(code),
            "{describe}"
        ),
    }
    assert!(
        ended.restored,
        "the tty's mode was not restored: {describe}"
    );
    let enter = ended
        .terminal
        .windows(ENTER.len())
        .position(|w| w == ENTER)
        .unwrap_or_else(|| panic!("the program never entered its TUI: {describe}"));
    assert_eq!(
        count(&ended.terminal, atexit::TERMINAL_RESET),
        1,
        "the escape bytes must come out exactly once: {describe}"
    );
    assert_eq!(
        count(&ended.terminal[enter..], atexit::TERMINAL_RESET),
        1,
        "the escape bytes came before the TUI: {describe}"
    );
    let recreated = extra.contains(&"recreate");
    if extra.contains(&"symlink") {
        let lock = dir.path().join("app.lock");
        assert!(
            std::fs::symlink_metadata(&lock).is_ok_and(|m| m.file_type().is_symlink()),
            "the symlink put at the lock's path was removed: {describe}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("victim")).ok().as_deref(),
            Some(&b"not yours"[..]),
            "the symlink's target was touched: {describe}"
        );
    } else if recreated {
        assert_eq!(
            std::fs::read(dir.path().join("app.lock")).ok().as_deref(),
            Some(&b"second instance"[..]),
            "the second instance's lock was removed: {describe}"
        );
    } else {
        assert!(
            !dir.path().join("app.lock").exists(),
            "lock left: {describe}"
        );
    }
    assert!(
        std::fs::symlink_metadata(dir.path().join("app.sock")).is_err(),
        "socket left: {describe}"
    );
    assert!(
        !dir.path().join("scratch").exists(),
        "scratch dir left: {describe}"
    );
    assert!(
        dir.path().join("kept").exists(),
        "a cancelled declaration ran: {describe}"
    );
    if extra.contains(&"burst") {
        let left = std::fs::read_dir(dir.path().join("burst")).unwrap().count();
        assert_eq!(left, 0, "{left} of the 2,000 burst files left: {describe}");
    }
    let worker: i32 = std::fs::read_to_string(dir.path().join("worker.pid"))
        .expect("worker.pid")
        .parse()
        .unwrap();
    if !gone_within(worker, Duration::from_secs(2)) {
        // SAFETY: kill the leftover, so the test leaves nothing behind.
        unsafe { libc::kill(worker, libc::SIGKILL) };
        panic!("the process group's worker outlived the program: {describe}");
    }
    ended
}

/// The example, built by this test in a target directory of its own, so
/// that `cargo test --test last_words` (which builds no example) runs the
/// current code too.
fn last_words() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            support::build_in_own_target("last-words", &["--example", "last_words"])
                .join("debug/examples/last_words")
        })
        .clone()
}

#[test]
fn on_return() {
    check(&last_words(), "return", &[], Expect::Code(0));
}

#[test]
fn on_process_exit() {
    check(&last_words(), "exit", &[], Expect::Code(3));
}

#[test]
fn on_atexit_exit() {
    check(&last_words(), "atexit-exit", &[], Expect::Code(4));
}

#[test]
fn on_an_unwinding_panic() {
    let ended = check(&last_words(), "panic", &[], Expect::Code(101));
    assert!(
        ended.stderr.contains("the TUI panicked"),
        "{}",
        ended.stderr
    );
}

#[test]
fn on_a_caught_signal() {
    // A caught SIGTERM ends as the crate's signal mode says: by the signal
    // again, or with 128 + 15.
    check(
        &last_words(),
        "signal",
        &[],
        Expect::SignalOrCode(libc::SIGTERM, 128 + libc::SIGTERM),
    );
}

#[test]
fn on_a_segfault() {
    check(&last_words(), "segv", &[], Expect::Signal(libc::SIGSEGV));
}

/// A SIGSEGV sent rather than faulted (`kill -SEGV`, `raise`): std's
/// handler, chained after ours, resets the default and returns, and no fault
/// comes again; the process must still die by the signal, not live on with
/// its cleanups spent.
#[test]
fn on_a_segv_sent_with_raise() {
    check(
        &last_words(),
        "raise-segv",
        &[],
        Expect::Signal(libc::SIGSEGV),
    );
}

#[test]
fn on_a_segfault_in_a_thread() {
    check(
        &last_words(),
        "segv-thread",
        &[],
        Expect::Signal(libc::SIGSEGV),
    );
}

#[test]
fn on_a_stack_overflow_with_std_s_message_kept() {
    // std's handler prints its message and aborts: the process dies by
    // SIGABRT, after a SIGSEGV that ran the cleanups; they ran once.
    let ended = check(
        &last_words(),
        "overflow",
        &[],
        Expect::Signal(libc::SIGABRT),
    );
    assert!(
        ended.stderr.contains("thread 'main'") && ended.stderr.contains("has overflowed its stack"),
        "std's overflow message is missing: {}",
        ended.stderr
    );
}

#[test]
fn on_a_stack_overflow_in_a_std_thread() {
    let ended = check(
        &last_words(),
        "overflow-thread",
        &[],
        Expect::Signal(libc::SIGABRT),
    );
    assert!(
        ended.stderr.contains("thread 'worker'")
            && ended.stderr.contains("has overflowed its stack"),
        "std's overflow message is missing: {}",
        ended.stderr
    );
}

#[test]
fn on_abort_in_c_code() {
    check(&last_words(), "abort", &[], Expect::Signal(libc::SIGABRT));
}

/// `kill -9`: no code runs in the process; the watchdog restores the tty
/// (it saw the raw mode while the program lived, and the tty still holds
/// it), kills the group, removes the paths.
#[test]
fn on_sigkill_the_watchdog_carries_them_out() {
    check(
        &last_words(),
        &format!("kill-{}", libc::SIGKILL),
        &[],
        Expect::Signal(libc::SIGKILL),
    );
}

/// A SIGTERM nobody catches (no `catch_signals`): the default action ends
/// the process at once, as a SIGKILL does.
#[test]
fn on_an_uncaught_sigterm_the_watchdog_carries_them_out() {
    check(
        &last_words(),
        &format!("kill-{}", libc::SIGTERM),
        &[],
        Expect::Signal(libc::SIGTERM),
    );
}

#[test]
fn a_lock_a_second_instance_recreated_is_kept_on_sigkill() {
    check(
        &last_words(),
        &format!("kill-{}", libc::SIGKILL),
        &["recreate"],
        Expect::Signal(libc::SIGKILL),
    );
}

/// `exit_now` runs no code in the process (by design), so the watchdog,
/// which hears no `Bye`, carries them out.
#[test]
fn on_exit_now_the_watchdog_carries_them_out() {
    check(&last_words(), "exit-now", &[], Expect::Code(5));
}

/// Every declaration ran in the process (`run_now`), then the program went
/// back to raw mode, took the lock again and ended with `exit_now` (no
/// `Bye`): the watchdog, told each one ran, does none of them again: the
/// tty stays raw, the escape bytes came out once, the new lock is kept.
#[test]
fn what_ran_in_the_process_is_not_run_again_by_the_watchdog() {
    let dir = TempDir::new("last-words-ran-exit-now");
    let ended = run_way(&last_words(), "ran-exit-now", &[], dir.path());
    let describe = format!(
        "{:?}\nstderr:\n{}\nterminal: {:?}",
        ended.status,
        ended.stderr,
        String::from_utf8_lossy(&ended.terminal)
    );
    assert_eq!(ended.status.code(), Some(6), "{describe}");
    assert_eq!(
        count(&ended.terminal, ENTER),
        2,
        "the TUI was entered twice: {describe}"
    );
    assert_eq!(
        count(&ended.terminal, atexit::TERMINAL_RESET),
        1,
        "the watchdog wrote the escape bytes again: {describe}"
    );
    assert!(
        !ended.restored,
        "the watchdog restored a tty whose declaration had already run: {describe}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("app.lock")).ok().as_deref(),
        Some(&b"taken again"[..]),
        "{describe}"
    );
    assert!(!dir.path().join("scratch").exists(), "{describe}");
}

#[test]
fn a_lock_a_second_instance_recreated_is_kept_on_a_crash() {
    check(
        &last_words(),
        "segv",
        &["recreate"],
        Expect::Signal(libc::SIGSEGV),
    );
}

/// A symlink (to a file of someone else's) put at a declared path is
/// another file: kept, and its target untouched, by the watchdog and by the
/// crash handler alike.
#[test]
fn a_symlink_put_at_the_lock_s_path_is_kept_and_not_followed() {
    on_sigkill_and_on_a_crash("symlink");
}

/// 2,000 declarations from 8 threads at once (the watchdog is starting
/// while they come): every one is carried out after a `kill -9`, and in a
/// crash.
#[test]
fn a_burst_of_declarations_from_threads_is_all_carried_out() {
    on_sigkill_and_on_a_crash("burst");
}

/// `check`s the example with `extra` after a `kill -9` (the watchdog acts)
/// and after a segfault (the crash handler acts).
fn on_sigkill_and_on_a_crash(extra: &str) {
    check(
        &last_words(),
        &format!("kill-{}", libc::SIGKILL),
        &[extra],
        Expect::Signal(libc::SIGKILL),
    );
    check(
        &last_words(),
        "segv",
        &[extra],
        Expect::Signal(libc::SIGSEGV),
    );
}

/// A watchdog killed while the program lives is replaced by the next
/// declaration, and the new one knows only what was declared after (the
/// contract says so): after a `kill -9` of the program the late file goes,
/// the lock declared before stays.
#[test]
fn a_killed_watchdog_is_replaced_by_the_next_declaration() {
    let dir = TempDir::new("last-words-late");
    let (mut program, _pty) = start_on_a_pty(&["wait", "late"], dir.path());
    let pid = program.id();
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + HANG;
        while !done() {
            if Instant::now() > deadline {
                let _ = program_kill(pid);
                panic!("{what}: not within {HANG:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for("ready", &|| dir.path().join("ready").exists());
    let first = watchdog_of(pid).expect("a watchdog");
    // SAFETY: a signal to the watchdog, a process of this test's tree.
    unsafe { libc::kill(first, libc::SIGKILL) };
    wait_for("the first watchdog's end", &|| {
        gone_within(first, Duration::ZERO)
    });
    std::fs::write(dir.path().join("go"), b"").unwrap();
    wait_for("the late declaration", &|| {
        dir.path().join("late-ready").exists()
    });
    let second = watchdog_of(pid).expect("a new watchdog");
    assert_ne!(second, first);
    program.kill().unwrap();
    program.wait().unwrap();
    wait_for_its_watchdog(pid, "late");
    assert!(
        !dir.path().join("late").exists(),
        "the late declaration was not carried out"
    );
    let lock_stayed = dir.path().join("app.lock").exists();
    // The worker's group was declared to the killed watchdog only, too.
    if let Ok(worker) = std::fs::read_to_string(dir.path().join("worker.pid")) {
        // SAFETY: ends the leftover `sleep`, a process of this test's tree.
        unsafe { libc::kill(worker.parse().unwrap(), libc::SIGKILL) };
    }
    assert!(
        lock_stayed,
        "the lock, declared to the killed watchdog only, went: the contract says it stays"
    );
}

/// `exec` replaces the program: as with exit handlers, which `exec` does
/// not run, its declarations are neither carried out nor kept. The
/// watchdog sees its socket close (close-on-exec) while the process lives,
/// and leaves; a `kill -9` of the new image then leaves the lock.
#[test]
fn after_exec_the_declarations_are_dropped_and_the_watchdog_leaves() {
    let dir = TempDir::new("last-words-exec");
    let (mut program, _pty) = start_on_a_pty(&["exec"], dir.path());
    let pid = program.id();
    let deadline = Instant::now() + HANG;
    // The exec'ed `sleep` has its own name in /proc.
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |c| c.trim() != "sleep")
    {
        assert!(Instant::now() < deadline, "never exec'ed");
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for_its_watchdog(pid, "exec");
    program.kill().unwrap();
    program.wait().unwrap();
    // The watchdog is gone (above): nothing is left to remove the lock.
    let lock_stayed = dir.path().join("app.lock").exists();
    if let Ok(worker) = std::fs::read_to_string(dir.path().join("worker.pid")) {
        // SAFETY: ends the leftover `sleep`, a process of this test's tree.
        unsafe { libc::kill(worker.parse().unwrap(), libc::SIGKILL) };
    }
    assert!(
        lock_stayed,
        "the lock went: the declarations did not die with the exec"
    );
}

/// Starts the example (`way`, then `dir`, then the rest of `args`) on a
/// new pty of its own, stderr discarded; the pty is kept open by the
/// caller.
fn start_on_a_pty(args: &[&str], dir: &Path) -> (std::process::Child, Pty) {
    let pty = pty();
    let mut command = Command::new(last_words());
    command
        .arg(args[0])
        .arg(dir)
        .args(&args[1..])
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::null());
    support::no_core_dumps(&mut command);
    (command.spawn().expect("start the example"), pty)
}

fn program_kill(pid: u32) -> i32 {
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) }
}

#[test]
fn a_lock_a_second_instance_recreated_is_kept_on_a_return() {
    check(&last_words(), "return", &["recreate"], Expect::Code(0));
}

/// Builds the example with `panic = "abort"` in a target directory of its
/// own (the outer `cargo test` holds this one's lock).
fn last_words_panic_abort() -> std::path::PathBuf {
    support::build_in_own_target(
        "last-words-panic-abort",
        &["--profile", "panic-abort", "--example", "last_words"],
    )
    .join("panic-abort/examples/last_words")
}

#[test]
fn on_an_aborting_panic() {
    let program = last_words_panic_abort();
    // No panic hook: the abort's SIGABRT runs them, from the crash handler.
    let ended = check(&program, "panic", &[], Expect::Signal(libc::SIGABRT));
    assert!(
        ended.stderr.contains("the TUI panicked"),
        "{}",
        ended.stderr
    );
    // With `run_on_panic_abort`: the exit handlers run them, and the SIGABRT
    // that follows finds nothing left to run (still exactly once).
    check(&program, "panic", &["hook"], Expect::Signal(libc::SIGABRT));
}

/// The crash handler hands the signal on, so the kernel still writes a core
/// dump. Checked only where `core_pattern` writes a plain file in the
/// working directory (a pipe to systemd-coredump or a path elsewhere is the
/// machine's business, not this test's).
#[test]
fn a_crash_still_dumps_core() {
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.starts_with('|') || pattern.contains('/') {
        eprintln!("core_pattern {pattern:?} does not write to the working directory: not checked");
        return;
    }
    for (way, signal) in [("segv", libc::SIGSEGV), ("overflow", libc::SIGABRT)] {
        let dir = TempDir::new(&format!("last-words-core-{way}"));
        let ended = run_way_with(&last_words(), way, &[], dir.path(), true);
        assert_eq!(
            ended.status.signal(),
            Some(signal),
            "{way}: {:?}",
            ended.status
        );
        assert!(ended.restored, "{way}: the tty's mode was not restored");
        assert!(
            libc::WCOREDUMP(ended.status.into_raw()),
            "{way}: no core dump: {:?}",
            ended.status
        );
    }
}

/// Compare-and-restore, and a lock taken over, both after the death and
/// before the watchdog acts (the watchdog is held stopped meanwhile): the
/// "shell" set a mode of its own on the tty and a second instance replaced
/// the lock. The watchdog must leave both alone (no escape bytes either),
/// and still remove the rest and kill the group.
#[test]
fn after_sigkill_what_others_did_before_the_watchdog_acted_is_kept() {
    let dir = TempDir::new("last-words-late-watchdog");
    let pty = pty();
    let mut command = Command::new(last_words());
    command
        .arg("wait")
        .arg(dir.path())
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::null());
    support::no_core_dumps(&mut command);
    let mut child = command.spawn().expect("start the example");
    let pid = child.id();
    let deadline = Instant::now() + HANG;
    while !dir.path().join("ready").exists() {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none());
        std::thread::sleep(Duration::from_millis(5));
    }
    let watchdog = watchdog_of(pid).expect("the first declaration started a watchdog");
    // SAFETY: signals to the watchdog (held still) and to our own child.
    unsafe {
        libc::kill(watchdog, libc::SIGSTOP);
        libc::kill(pid as i32, libc::SIGKILL);
    }
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    // The shell's own mode (readline's: no echo, no canonical input, but
    // signals and output processing kept), and a second instance's lock.
    let mut shells = mode(&pty.slave);
    shells.c_iflag = libc::ICRNL;
    shells.c_oflag = libc::OPOST | libc::ONLCR;
    shells.c_lflag = libc::ISIG | libc::IEXTEN;
    // SAFETY: a tty we own and a termios tcgetattr filled.
    assert_eq!(
        unsafe { libc::tcsetattr(pty.slave.as_raw_fd(), libc::TCSANOW, &shells) },
        0
    );
    let lock = dir.path().join("app.lock");
    std::fs::remove_file(&lock).unwrap();
    std::fs::write(&lock, b"second instance").unwrap();
    let before = drain(&pty.master);
    // SAFETY: lets the watchdog go on.
    unsafe { libc::kill(watchdog, libc::SIGCONT) };
    wait_for_its_watchdog(pid, "late watchdog");
    let after = drain(&pty.master);
    assert_eq!(count(&before, atexit::TERMINAL_RESET), 0);
    assert_eq!(
        count(&after, atexit::TERMINAL_RESET),
        0,
        "the watchdog wrote to a tty the shell had taken back"
    );
    assert!(
        flags(&mode(&pty.slave)) == flags(&shells),
        "the watchdog undid the shell's mode"
    );
    assert_eq!(std::fs::read(&lock).unwrap(), b"second instance");
    assert!(std::fs::symlink_metadata(dir.path().join("app.sock")).is_err());
    assert!(!dir.path().join("scratch").exists());
    assert!(dir.path().join("kept").exists());
    let worker: i32 = std::fs::read_to_string(dir.path().join("worker.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(gone_within(worker, Duration::from_secs(5)));
}

/// A file system mounted inside a declared directory (here a bind mount of
/// a directory of the same file system, so the same `st_dev`) is not
/// emptied, on any ending: the walk stops at a mount point, as
/// `rm -r --one-file-system` does, and the rest of the tree still goes.
/// Before the fix, all three emptied the mounted directory (std's
/// `remove_dir_all` in the watchdog, and the crash handler's own walk). Needs
/// root, for a mount namespace of the example's own.
#[test]
fn a_file_system_mounted_inside_a_declared_directory_is_left_alone() {
    // SAFETY: only reads.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: a mount namespace needs root");
        return;
    }
    for way in ["return", "segv", &format!("kill-{}", libc::SIGKILL)] {
        let dir = TempDir::new(&format!("last-words-mounted-{way}"));
        let outside = dir.path().join("outside");
        let inside = dir.path().join("scratch/mounted");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::write(outside.join("precious"), b"keep me").unwrap();
        let from = std::ffi::CString::new(outside.as_os_str().as_encoded_bytes()).unwrap();
        let onto = std::ffi::CString::new(inside.as_os_str().as_encoded_bytes()).unwrap();
        let ended = run_way_set_up(&last_words(), way, &[], dir.path(), false, |command| {
            use std::os::unix::process::CommandExt;
            // SAFETY: unshare and mount are system calls that touch only the
            // child (its own mount namespace, gone when it and its watchdog
            // are).
            unsafe {
                command.pre_exec(move || {
                    if libc::unshare(libc::CLONE_NEWNS) != 0
                        || libc::mount(
                            std::ptr::null(),
                            c"/".as_ptr(),
                            std::ptr::null(),
                            libc::MS_REC | libc::MS_PRIVATE,
                            std::ptr::null(),
                        ) != 0
                        || libc::mount(
                            from.as_ptr(),
                            onto.as_ptr(),
                            std::ptr::null(),
                            libc::MS_BIND,
                            std::ptr::null(),
                        ) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        });
        assert!(
            outside.join("precious").exists(),
            "{way}: the mounted directory was emptied ({:?}, {})",
            ended.status,
            ended.stderr
        );
        assert!(
            !dir.path().join("scratch/cache").exists(),
            "{way}: the rest of the tree was left ({:?}, {})",
            ended.status,
            ended.stderr
        );
        assert!(
            !dir.path().join("app.lock").exists(),
            "{way}: the lock was left"
        );
    }
}
