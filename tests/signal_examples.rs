//! The signal, deadline and abort examples, run as processes that are sent
//! real signals: stdout, stderr and how each process ended.

#![cfg(unix)]

mod support;

use std::time::Duration;
use support::{command, example, Running};

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn atexit_signal_caught_runs_the_handler_then_dies_by_sigterm() {
    let mut running = Running::start(&mut command(&example("atexit_signal_caught")));
    running.wait_for_line("CHILD: Registered");
    running.signal(libc::SIGTERM);
    let (finished, _) = running.finish(LIMIT);
    assert_eq!(
        finished.stdout,
        "CHILD: Registered\nCHILD: atexit handler ran on SIGTERM\n"
    );
    assert_eq!(
        finished.signal(),
        Some(libc::SIGTERM),
        "{:?}",
        finished.status
    );
    assert_eq!(finished.stderr, "");
}

#[test]
fn final_report_keeps_every_collected_line_on_sigint() {
    let dir = support::TempDir::new("final_report");
    let report = dir.path().join("report.txt");
    let mut running = Running::start(command(&example("final_report")).arg(&report));
    running.wait_for_line("collected 3");
    running.signal(libc::SIGINT);
    let (finished, _) = running.finish(LIMIT);
    assert_eq!(
        finished.signal(),
        Some(libc::SIGINT),
        "{:?}",
        finished.status
    );
    let collected: Vec<String> = finished
        .stdout
        .lines()
        .map(|line| line.replace("collected", "sample"))
        .collect();
    assert!(collected.len() >= 3);
    let written = std::fs::read_to_string(&report).expect("the report was written");
    let written: Vec<&str> = written.lines().collect();
    // Every announced line is in the report; at most one more was collected
    // between its announcement and the signal.
    assert!(written.starts_with(&collected.iter().map(String::as_str).collect::<Vec<_>>()));
    assert!(written.len() <= collected.len() + 1, "{written:?}");
}

fn staged(args: &[&str]) -> support::Finished {
    let mut running = Running::start(command(&example("staged_cleanup")).args(args));
    running.wait_for_line("stage two: created");
    running.signal(libc::SIGTERM);
    running.finish(LIMIT).0
}

#[test]
fn staged_cleanup_undoes_both_stages_newest_first_then_dies_by_sigterm() {
    let finished = staged(&[]);
    assert_eq!(
        finished.stdout,
        "stage one: created\nstage two: created\ncleanup_stage_two\ncleanup_stage_one\n"
    );
    assert_eq!(finished.signal(), Some(libc::SIGTERM));
}

#[test]
fn staged_cleanup_with_exit_code_exits_143() {
    let finished = staged(&["--exit-code"]);
    assert_eq!(
        finished.stdout,
        "stage one: created\nstage two: created\ncleanup_stage_two\ncleanup_stage_one\n"
    );
    assert_eq!(finished.status.code(), Some(128 + libc::SIGTERM));
}

#[test]
fn deadline_names_the_hung_handler_and_keeps_the_status() {
    let running = Running::start(&mut command(&example("deadline")));
    let (finished, ran) = running.finish(LIMIT);
    assert_eq!(finished.stdout, "main: exiting with 3\n");
    assert_eq!(finished.status.code(), Some(3));
    assert!(
        finished.stderr.contains(
            "atexit: exit deadline of 500ms passed: exit handler `deadline::hang_forever` is \
             still running; the remaining handlers are skipped and the process ends with status 3"
        ),
        "{}",
        finished.stderr
    );
    assert!(ran < Duration::from_secs(5), "ended after {ran:?}");
}

#[test]
fn signal_attribute_catches_signals_for_attribute_only_programs() {
    let mut running = Running::start(&mut command(&example("signal_attribute")));
    running.wait_for_line("working... (press Ctrl+C)");
    running.signal(libc::SIGINT);
    let (finished, _) = running.finish(LIMIT);
    assert_eq!(
        finished.stdout,
        "working... (press Ctrl+C)\nflushing on SIGINT\n"
    );
    assert_eq!(finished.signal(), Some(libc::SIGINT));
}

/// Builds `panic_abort` with `panic = "abort"` in a target directory of its
/// own (the outer `cargo test` holds the lock on the usual one).
fn panic_abort_example() -> std::path::PathBuf {
    support::build_in_own_target(
        "panic-abort",
        &["--profile", "panic-abort", "--example", "panic_abort"],
    )
    .join("panic-abort/examples/panic_abort")
}

#[test]
fn panic_abort_runs_handlers_only_when_asked() {
    let path = panic_abort_example();
    let with_hook = support::run(&mut command(&path), LIMIT);
    assert_eq!(with_hook.stdout, "handler ran before the abort\n");
    assert_eq!(with_hook.signal(), Some(libc::SIGABRT));
    assert!(with_hook.stderr.contains("boom"));

    let without = support::run(command(&path).arg("--no-hook"), LIMIT);
    assert_eq!(without.stdout, "", "nothing runs after an aborting panic");
    assert_eq!(without.signal(), Some(libc::SIGABRT));
}
