//! Async handlers (`examples/async_flush.rs`, on Tokio; the runtime rule,
//! `examples/runtime_rule.rs`) and failure reports
//! through `log` and `tracing` (`examples/logged_failures.rs`), run as
//! processes. Both need the crate's features: `cargo test -p atexit-real-world --all-features`.

#![cfg(all(unix, feature = "tokio", feature = "log", feature = "tracing"))]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::time::Duration;
use support::{command, example, run, Running};

const LIMIT: Duration = Duration::from_secs(30);

/// Both async handlers ran to completion: the imperative one first, then the
/// `async fn`, which slept on a Tokio timer and talked to the collector over a
/// Tokio socket.
const FLUSHED: &str = "session closed\n\
                       sent 100 records after 50 ms; collector: acknowledged 100 records\n";

fn async_flush(path: &str) -> support::Finished {
    run(command(&example("async_flush")).arg(path), LIMIT)
}

#[test]
fn async_handlers_run_after_tokio_main_returns() {
    let finished = async_flush("return");
    assert_eq!(finished.stdout, FLUSHED);
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.status.code(), Some(0));
}

#[test]
fn async_handlers_run_on_process_exit_inside_the_runtime() {
    let finished = async_flush("exit");
    assert_eq!(finished.stdout, FLUSHED);
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.status.code(), Some(3));
}

#[test]
fn async_handlers_run_after_a_panic_in_main() {
    let finished = async_flush("panic");
    assert_eq!(finished.stdout, FLUSHED);
    assert!(finished.stderr.contains("lost the configuration"));
    assert_eq!(finished.status.code(), Some(101));
}

#[test]
fn async_handlers_run_on_sigterm() {
    let mut running = Running::start(command(&example("async_flush")).arg("signal"));
    running.wait_for_line("ready");
    running.signal(libc::SIGTERM);
    let (finished, _) = running.finish(LIMIT);
    assert_eq!(finished.stdout, format!("ready\n{FLUSHED}"));
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.signal(), Some(libc::SIGTERM));
}

#[test]
fn an_async_handler_that_never_finishes_meets_the_deadline() {
    let finished = async_flush("hang");
    assert_eq!(
        finished.stdout, "",
        "the stuck handler is newest; the rest are skipped"
    );
    assert_eq!(
        finished.stderr,
        "atexit: exit deadline of 300ms passed: exit handler \
         `core::future::pending::pending<()>` is still running; the remaining handlers \
         are skipped and the process ends with status 4\n"
    );
    assert_eq!(finished.status.code(), Some(4));
}

/// What the program logs before it exits: the loggers' thread-local buffers
/// exist, and are destroyed on the exiting thread before the handlers run.
const STARTED: &str = concat!(
    "[log] INFO logged_failures: service started\n",
    " INFO logged_failures: service started\n",
);

/// What the loggers get at info when a shutdown's exit handlers start (a
/// plain exit's start is told at debug): its reason and its deadline,
/// before any handler runs.
fn handlers_start(reason: &str, deadline: &str) -> String {
    let text = format!("exit handlers start ({reason}), {deadline}");
    format!("[log] INFO atexit: {text}\n INFO atexit: {text}\n")
}

fn logged_failures(path: &str) -> support::Finished {
    run(command(&example("logged_failures")).arg(path), LIMIT)
}

#[test]
fn a_panicking_handler_is_reported_to_log_and_tracing_and_stderr() {
    let finished = logged_failures("panic");
    let report = "exit handler `logged_failures::remove_cache` panicked: \
                  the cache directory is gone; the other handlers still run";
    assert_eq!(
        finished.stdout,
        format!(
            "{STARTED}[log] ERROR atexit: {report}\n\
             ERROR atexit: {report} handler=\"logged_failures::remove_cache\"\n\
             closing the database\n"
        )
    );
    assert!(
        finished.stderr.ends_with(&format!("atexit: {report}\n")),
        "stderr keeps its report: {}",
        finished.stderr
    );
    assert_eq!(finished.status.code(), Some(2));
}

#[test]
fn an_expired_deadline_is_reported_to_log_and_tracing_and_stderr() {
    let finished = logged_failures("deadline");
    let report = "exit deadline of 200ms passed: exit handler `logged_failures::upload_metrics` \
                  is still running; the remaining handlers are skipped and the process ends \
                  with status 2";
    assert_eq!(
        finished.stdout,
        format!(
            "{STARTED}[log] ERROR atexit: {report}\n\
             ERROR atexit: {report} handler=\"logged_failures::upload_metrics\"\n"
        )
    );
    assert_eq!(finished.stderr, format!("atexit: {report}\n"));
    assert_eq!(finished.status.code(), Some(2));
}

#[test]
fn a_logger_blocked_by_the_stuck_handler_does_not_stop_the_deadline() {
    let finished = logged_failures("stuck-in-logger");
    assert_eq!(
        finished.stdout, STARTED,
        "the deadline's report could not be logged"
    );
    assert_eq!(
        finished.stderr,
        "atexit: exit deadline of 200ms passed: exit handler `logged_failures::rotate_logs` \
         is still running; the remaining handlers are skipped and the process ends with status 2\n"
    );
    assert_eq!(finished.status.code(), Some(2));
}

#[test]
fn nothing_is_logged_at_info_when_nothing_fails() {
    // A plain exit's start is told at debug only: no news in the log.
    let finished = logged_failures("none");
    assert_eq!(finished.stdout, format!("{STARTED}closing the database\n"));
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.status.code(), Some(2));
}

/// A shutdown's progress in the logs: at info the request (by what, the
/// drain timeout, the exit deadline) and
/// the start of the handlers; at debug each handler, with its duration,
/// told before the next one runs.
#[test]
fn a_shutdown_is_told_to_log_and_tracing_as_it_goes() {
    let mut running = Running::start(command(&example("logged_failures")).arg("graceful"));
    running.wait_for_line("ready");
    running.signal(libc::SIGTERM);
    let (finished, _) = running.finish(LIMIT);
    let requested = "shutdown requested by SIGTERM: drain timeout 20s, exit deadline 5s";
    let spool = "exit handler `logged_failures::flush_spool` ran in ";
    // The durations vary: each is cut to `ran in _`, after checking it.
    let lines: Vec<String> = finished
        .stdout
        .lines()
        .map(|line| match line.find("ran in ") {
            Some(at) => {
                let (head, tail) = line.split_at(at + "ran in ".len());
                let took = tail.split(' ').next().unwrap_or("");
                assert!(took.ends_with('s'), "a duration: {line}");
                let rest = &tail[took.len()..];
                format!("{head}_{rest}")
            }
            None => line.to_string(),
        })
        .collect();
    // The program sees the request at once (the signal handler notes it);
    // the watcher tells the loggers a moment later: its line is anywhere
    // before the handlers start.
    let draining = "draining after SIGTERM";
    let at = lines.iter().position(|line| line == draining);
    let start = lines
        .iter()
        .position(|line| line.contains("exit handlers start"));
    assert!(at < start && at.is_some(), "{}", finished.stdout);
    let lines: Vec<String> = lines.into_iter().filter(|line| line != draining).collect();
    let closure = "logged_failures::main::{{closure}}";
    assert_eq!(
        lines.join("\n") + "\n",
        format!(
            "{STARTED}ready\n\
             [log] INFO atexit: {requested}\n INFO atexit: {requested}\n{}\
             [log] DEBUG atexit: {spool}_\n\
             DEBUG atexit: {spool}_ handler=\"logged_failures::flush_spool\"\n\
             closing the database\n\
             [log] DEBUG atexit: exit handler `{closure}` ran in _\n\
             DEBUG atexit: exit handler `{closure}` ran in _ handler=\"{closure}\"\n",
            handlers_start("SIGTERM", "exit deadline 5s")
        ),
        "{}",
        finished.stdout
    );
    assert_eq!(finished.stderr, "");
    assert_eq!(finished.signal(), Some(libc::SIGTERM));
}

/// The runtime rule, on the return path: `#[tokio::main]` has dropped its
/// runtime, so the handler that reuses `main`'s connection fails, and its
/// report says why; the one that connects anew works.
#[test]
fn an_object_of_mains_runtime_fails_after_main_returns_and_the_report_says_why() {
    let finished = run(command(&example("runtime_rule")).arg("return"), LIMIT);
    assert_eq!(
        finished.stdout,
        "collector got: bye over a connection the handler made\n"
    );
    assert!(
        finished.stderr.contains("it is being shutdown")
            && finished.stderr.contains("make it inside the handler"),
        "{}",
        finished.stderr
    );
    assert_eq!(finished.status.code(), Some(0));
}

/// The same handlers on the forced path (graceful-shutdown mode, a second signal ends
/// the drain): `main`'s runtime is still alive, so the reused connection
/// works there. The difference the rule in the docs warns about.
#[test]
fn an_object_of_mains_runtime_works_while_main_still_drains() {
    let mut running = Running::start(command(&example("runtime_rule")).arg("forced"));
    running.wait_for_line("ready");
    running.signal(libc::SIGTERM);
    running.wait_for_line("draining");
    running.signal(libc::SIGTERM);
    let (finished, _) = running.finish(LIMIT);
    assert_eq!(
        finished.stdout,
        "ready\ndraining\n\
         collector got: bye over a connection the handler made\n\
         collector got: bye over the connection main made\n"
    );
    assert!(finished
        .stderr
        .contains("ends the drain: the exit handlers run now"));
    assert_eq!(finished.signal(), Some(libc::SIGTERM));
}
