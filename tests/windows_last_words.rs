//! Declared removals on Windows (run under Wine in CI: `scripts/windows.sh`):
//! `examples/last_words.rs` declares a `canary` file, a lock file and a
//! scratch directory and cancels a fourth declaration (`kept`), then ends
//! as each test says. The canary was declared first, so it is removed last
//! (newest first): once it is gone, the watchdog is done.
//! After an ending that runs no code of the program (`TerminateProcess`,
//! `exit_now`, an abort) the watchdog removes them; a lock another instance took
//! meanwhile, and a cancelled declaration, are kept; what the program ran
//! itself is not run again.

#![cfg(windows)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What a test gives the watchdog to act: generous for a loaded machine
/// (it acts within milliseconds).
const PATIENCE: Duration = Duration::from_secs(20);

fn last_words(way: &str, dir: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(support::example("last_words"));
    command
        .arg(way)
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    support::wait_until(what, PATIENCE, done);
}

fn gone(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_err()
}

/// Waits until the watchdog is done: the canary, its last, is gone.
fn done(dir: &Path) {
    wait_until("the canary's removal", || gone(&dir.join("canary")));
}

/// Killed from outside (what Task Manager and `taskkill /F` do): no code of
/// the program runs, the watchdog removes both and keeps the cancelled one.
#[test]
fn after_terminate_process_the_watchdog_removes_the_lock_and_the_scratch_directory() {
    let dir = support::TempDir::new("lw-terminate");
    let mut program = last_words("wait", dir.path(), &[])
        .spawn()
        .expect("last_words");
    wait_until("ready", || dir.path().join("ready").exists());
    assert!(dir.path().join("app.lock").exists());
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    done(dir.path());
    assert!(gone(&dir.path().join("app.lock")), "the lock");
    assert!(gone(&dir.path().join("scratch")), "the scratch directory");
    assert!(dir.path().join("kept").exists(), "a cancelled one ran");
}

/// `exit_now` runs no handler: the watchdog does their work, with the
/// paths as the program meant them.
#[test]
fn after_exit_now_the_watchdog_removes_them() {
    let dir = support::TempDir::new("lw-exit-now");
    // Relative paths, from the program's working directory: the watchdog,
    // whose own is elsewhere, gets them made absolute at the declaration.
    let mut program = last_words("exit-now", Path::new("."), &[]);
    program.current_dir(dir.path());
    let ended = support::run(&mut program, PATIENCE);
    assert_eq!(ended.status.code(), Some(5), "{}", ended.describe());
    done(dir.path());
    assert!(gone(&dir.path().join("app.lock")), "the lock");
    assert!(gone(&dir.path().join("scratch")), "the scratch directory");
    assert!(dir.path().join("kept").exists(), "a cancelled one ran");
}

/// A crash (std's abort, a fail-fast; an access violation) runs no code
/// of the program either.
#[test]
fn after_a_crash_the_watchdog_removes_them() {
    for way in ["abort", "segv"] {
        let dir = support::TempDir::new(&format!("lw-{way}"));
        let ended = support::run(&mut last_words(way, dir.path(), &[]), PATIENCE);
        assert!(!ended.status.success(), "{way}: {}", ended.describe());
        done(dir.path());
        assert!(gone(&dir.path().join("app.lock")), "{way}: the lock");
        assert!(
            gone(&dir.path().join("scratch")),
            "{way}: the scratch directory"
        );
        assert!(
            dir.path().join("kept").exists(),
            "{way}: a cancelled one ran"
        );
    }
}

/// 2,000 declarations with long names (about 800 KB of messages, read by
/// the watchdog 4 KiB at a time, so messages span reads) from 8 threads at
/// once: none is lost. Under Wine a pipe write never waits for the reader
/// (measured: the test passes with no patience at all), so the bounded
/// wait for a full pipe is exercised only on Windows.
#[test]
fn a_burst_of_declarations_from_threads_is_all_carried_out() {
    let dir = support::TempDir::new("lw-burst");
    let mut program = last_words("wait", dir.path(), &["burst"])
        .spawn()
        .expect("last_words");
    wait_until("ready", || dir.path().join("ready").exists());
    assert_eq!(
        std::fs::read_dir(dir.path().join("burst")).unwrap().count(),
        2_000
    );
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    done(dir.path());
    let left: Vec<_> = std::fs::read_dir(dir.path().join("burst"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(
        left.is_empty(),
        "{} of 2,000 left, such as {:?}",
        left.len(),
        left.first()
    );
    assert!(gone(&dir.path().join("app.lock")), "the lock");
}

/// Another thread keeps calling `note_terminal_mode` (a look, which waits
/// for the watchdog) while the program cancels one declaration and makes
/// another: the watchdog hears both (a look held the pipe's lock for its
/// whole wait, and both were dropped after 500 ms, before).
#[test]
fn a_busy_look_loses_no_cancellation_and_no_declaration() {
    let dir = support::TempDir::new("lw-busy-look");
    let mut program = last_words("wait", dir.path(), &["busy-look"])
        .spawn()
        .expect("last_words");
    wait_until("ready", || dir.path().join("ready").exists());
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    wait_until("the late declaration's removal", || {
        gone(&dir.path().join("late"))
    });
    done(dir.path());
    assert!(dir.path().join("kept-too").exists(), "a cancelled one ran");
}

/// The watchdog is killed while the program lives: the next declaration
/// starts another, which carries out it and the ones after, and knows
/// nothing of the earlier ones (the contract says so: the lock stays).
/// Before, the first declaration after the kill went to the dead watchdog
/// and was lost.
#[test]
fn a_killed_watchdog_is_replaced_by_the_next_declaration() {
    let dir = support::TempDir::new("lw-kill-watchdog");
    let mut program = last_words("wait", dir.path(), &["kill-watchdog"])
        .spawn()
        .expect("last_words");
    wait_until("ready", || dir.path().join("ready").exists());
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    wait_until(
        "late-b's removal (the first declaration after the kill)",
        || gone(&dir.path().join("late-b")),
    );
    assert!(gone(&dir.path().join("late-c")), "late-c");
    assert!(
        dir.path().join("app.lock").exists(),
        "declared to the killed watchdog only"
    );
}

/// A second instance took the lock (a new file at the same path) before
/// the kill: the watchdog acts (the scratch directory goes) but keeps it.
///
/// A file is known by its volume's serial number and its file index. On
/// NTFS the index carries a sequence number, so a new file never has the
/// old one's; under Wine the index is the Unix inode number, which ext4
/// gives the next new file at once (measured) and tmpfs never reuses. So
/// under Wine this test runs on tmpfs (`Z:` is `/`), where it checks the
/// watchdog's own check, as NTFS would.
#[test]
fn a_lock_a_second_instance_took_is_kept() {
    let wine_tmpfs = Path::new(r"Z:\dev\shm");
    let dir = if wine_tmpfs.is_dir() {
        support::TempDir::new_in(wine_tmpfs, "lw-recreate")
    } else {
        support::TempDir::new("lw-recreate")
    };
    let mut program = last_words("wait", dir.path(), &["recreate"])
        .spawn()
        .expect("last_words");
    wait_until("ready", || dir.path().join("ready").exists());
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    done(dir.path());
    assert!(gone(&dir.path().join("scratch")), "the scratch directory");
    assert_eq!(
        std::fs::read(dir.path().join("app.lock")).expect("the second lock"),
        b"second instance"
    );
}

/// The ordinary endings remove them in the process.
#[test]
fn a_return_and_atexit_exit_remove_them() {
    for (way, code) in [("return", 0), ("atexit-exit", 4)] {
        let dir = support::TempDir::new("lw-normal");
        let ended = support::run(&mut last_words(way, dir.path(), &[]), PATIENCE);
        assert_eq!(ended.status.code(), Some(code), "{}", ended.describe());
        assert!(gone(&dir.path().join("app.lock")), "{way}: the lock");
        assert!(gone(&dir.path().join("scratch")), "{way}: the scratch");
        assert!(gone(&dir.path().join("canary")), "{way}: the canary");
        assert!(
            dir.path().join("kept").exists(),
            "{way}: a cancelled one ran"
        );
    }
}

/// What the program ran itself (`run_now`) is not run again by the
/// watchdog: the lock taken again afterwards is kept, while the canary
/// shows that the watchdog did act.
#[test]
fn what_the_program_ran_is_not_run_again() {
    let dir = support::TempDir::new("lw-ran");
    let ended = support::run(&mut last_words("ran-exit-now", dir.path(), &[]), PATIENCE);
    assert_eq!(ended.status.code(), Some(6), "{}", ended.describe());
    done(dir.path());
    assert_eq!(
        std::fs::read(dir.path().join("app.lock")).expect("the lock taken again"),
        b"taken again"
    );
}
