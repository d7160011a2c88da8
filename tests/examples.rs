//! Every example, run as a process: stdout exactly, stderr and exit status.

mod support;

use std::time::Duration;
use support::{command, example, run, Finished, TempDir};

const LIMIT: Duration = Duration::from_secs(30);

fn run_example(name: &str, args: &[&str]) -> Finished {
    run(command(&example(name)).args(args), LIMIT)
}

fn assert_clean(name: &str, args: &[&str], stdout: &str) {
    let finished = run_example(name, args);
    assert_eq!(finished.stdout, stdout, "stdout of {name}");
    assert_eq!(finished.stderr, "", "stderr of {name}");
    assert!(finished.status.success(), "{name}: {:?}", finished.status);
}

#[test]
fn atexit_simple() {
    assert_clean(
        "atexit_simple",
        &[],
        "Registering\nRegistered\nall_done()\n",
    );
}

#[test]
fn atexit_multiple() {
    assert_clean(
        "atexit_multiple",
        &[],
        "my_cleanup(third)\nmy_cleanup(second)\nmy_cleanup(first)\n",
    );
}

#[test]
fn atexit_decorator() {
    assert_clean(
        "atexit_decorator",
        &[],
        "starting main program\nall_done()\n",
    );
}

#[test]
fn atexit_unregister() {
    assert_clean("atexit_unregister", &[], "");
}

#[test]
fn atexit_unregister_not_registered() {
    assert_clean("atexit_unregister_not_registered", &[], "");
}

#[test]
fn atexit_os_exit() {
    assert_clean(
        "atexit_os_exit",
        &[],
        "Registering\nRegistered\nExiting...\n",
    );
}

#[test]
fn atexit_sys_exit() {
    assert_clean(
        "atexit_sys_exit",
        &[],
        "Registering\nRegistered\nExiting...\nall_done()\n",
    );
}

#[test]
fn atexit_exception() {
    let finished = run_example("atexit_exception", &[]);
    assert_eq!(finished.stdout, "");
    assert_eq!(
        finished.status.code(),
        Some(0),
        "the handlers' panics do not change the status"
    );
    let report = |message: &str| {
        format!(
            "atexit: exit handler `atexit_exception::exit_with_exception` panicked: {message}; \
             the other handlers still run\n"
        )
    };
    let second = finished.stderr.find(&report("Registered second"));
    let first = finished.stderr.find(&report("Registered first"));
    assert!(
        matches!((second, first), (Some(second), Some(first)) if second < first),
        "both reported, newest first:\n{}",
        finished.stderr
    );
}

#[test]
fn exit_handlers() {
    assert_clean(
        "exit_handlers",
        &[],
        "Will sleep for 1 second...\nMessage from exit handler 2...\nMessage from exit handler 1...\n",
    );
}

#[cfg(unix)]
#[test]
fn atexit_signal_parent() {
    // The parent finds the child next to itself, in the examples folder.
    let _ = example("atexit_signal_child");
    let finished = run_example("atexit_signal_parent", &[]);
    // The child writes straight to the stdout it inherited, first, as in
    // Python's run of the pair.
    assert_eq!(
        finished.stdout,
        "CHILD: Registered\nPARENT: Pausing before sending signal...\nPARENT: Signaling child\n\
         PARENT: child died by signal 15\n"
    );
    assert!(finished.status.success());
}

#[cfg(unix)]
#[test]
fn atexit_signal_child_dies_by_sigterm_without_running_handlers() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = command(&example("atexit_signal_child"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start child");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "CHILD: Registered\n");
    // SAFETY: `kill` with our own child's pid and a valid signal.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(rest, "", "the handler did not run");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM)
    );
}

#[test]
fn save_data() {
    let dir = TempDir::new("save_data");
    let file = dir.path().join("data.txt");
    let finished = run_example("save_data", &[file.to_str().unwrap()]);
    assert_eq!(
        finished.stdout,
        format!("Data saved to {}\n", file.display())
    );
    assert!(finished.status.success());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "alpha\nbeta\ngamma\n"
    );
}

#[test]
fn counter() {
    let dir = TempDir::new("counter");
    let arg = dir.path().to_str().unwrap();
    assert_clean("counter", &[arg], "counter: 3\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("counter.txt")).unwrap(),
        "3\n"
    );
    assert_clean("counter", &[arg], "counter: 6\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("counter.txt")).unwrap(),
        "6\n"
    );
}

#[test]
fn resource_manager_closed_at_exit() {
    assert_clean(
        "resource_manager",
        &[],
        "Resource opened.\nWorking...\nResource closed.\n",
    );
}

#[test]
fn resource_manager_closed_early() {
    assert_clean(
        "resource_manager",
        &["close"],
        "Resource opened.\nWorking...\nResource closed.\nDone.\n",
    );
}

#[test]
fn quickstart() {
    assert_clean(
        "quickstart",
        &[],
        "working...\nclosing the database\nsaving 3 records to report.csv\nflushing logs\n",
    );
}

#[test]
fn startup_handlers_registers_a_thousand() {
    assert_clean("startup_handlers", &["--count"], "1000\n");
    assert_clean("startup_empty", &["--count"], "0\n");
}

// --- The seed snippets: the Python programs this crate is modelled on, and
// their Rust twins (the README's table). Each prints what the original does.

#[test]
fn seed_exit_message() {
    assert_clean(
        "exit_message",
        &[],
        "Will sleep for 1 second...\nMessage from exit handler...\n",
    );
}

#[test]
fn seed_decorator_unregister() {
    assert_clean("decorator_unregister", &[], "Will sleep for 1 second...\n");
}

#[test]
fn seed_cleanup_resources() {
    assert_clean(
        "cleanup_resources",
        &[],
        "Main program is running...\nCleaning up resources...\n",
    );
}

#[test]
fn seed_two_tasks() {
    assert_clean(
        "two_tasks",
        &[],
        "Working...\nTask 2: Writing log summary\nTask 1: Closing database connection\n",
    );
}

#[test]
fn seed_no_cleanup() {
    assert_clean("no_cleanup", &[], "No cleanup this time!\n");
}

#[test]
fn seed_cleanup_with_argument() {
    assert_clean(
        "cleanup_with_argument",
        &[],
        "Cleaning up for project_x...\n",
    );
}

#[test]
fn seed_three_closures() {
    assert_clean("three_closures", &[], "3. Third\n2. Second\n1. First\n");
}

#[test]
fn seed_save_config() {
    let dir = TempDir::new("save_config");
    let file = dir.path().join("config.json");
    assert_clean(
        "save_config",
        &[file.to_str().unwrap()],
        &format!("Config saved to {}\n", file.display()),
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        r#"{"theme": "dark", "font_size": 14}"#,
        "the value changed after the registration is the one saved"
    );
}

#[test]
fn seed_log_exit_time() {
    let dir = TempDir::new("log_exit_time");
    let file = dir.path().join("app.log");
    assert_clean("log_exit_time", &[file.to_str().unwrap()], "");
    let log = std::fs::read_to_string(&file).unwrap();
    let time = log
        .strip_prefix("INFO: Program exited cleanly at ")
        .and_then(|rest| rest.strip_suffix(" UTC\n"))
        .unwrap_or_else(|| panic!("one line, the exit's: {log:?}"));
    // `YYYY-MM-DD hh:mm:ss`, this century.
    let shape: String = time
        .chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect();
    assert_eq!(shape, "9999-99-99 99:99:99", "{time}");
    assert!(time.starts_with("20"), "{time}");
}

#[test]
fn seed_delete_file() {
    let dir = TempDir::new("delete_file");
    let file = dir.path().join("temp.txt");
    assert_clean(
        "delete_file",
        &[file.to_str().unwrap()],
        &format!("Deleting {}\n", file.display()),
    );
    assert!(!file.exists(), "the handler deleted {}", file.display());
}

#[test]
fn seed_python_sector() {
    assert_clean(
        "python_sector",
        &[],
        "You are now leaving the Python sector.\n",
    );
}

// Seed 12, two panicking handlers reported newest first with status 0, is
// `atexit_exception` above.

#[test]
fn seed_join_worker_finished() {
    assert_clean(
        "join_worker",
        &["quick"],
        "main: done\nexit: joined the worker\n",
    );
}

#[test]
fn seed_join_worker_still_running() {
    let started = std::time::Instant::now();
    let finished = run_example("join_worker", &["slow"]);
    assert_eq!(finished.stdout, "main: done\n");
    assert_eq!(
        finished.stderr,
        "warning: the worker is still running after 500 ms; exiting without it\n"
    );
    assert!(finished.status.success(), "{:?}", finished.status);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "did not wait for the 10 s worker"
    );
}

#[test]
fn seed_only_as_program() {
    assert_clean(
        "only_as_program",
        &[],
        "Processed 3 items\nCleaning up temporary data...\n",
    );
}

// `thread_pool` without a signal: the work runs out, `main` returns, the
// summary says so and the status is 0. Its signals are in `tests/thread_pool.rs`.
#[test]
fn thread_pool_finishes_every_item_without_a_signal() {
    assert_clean(
        "thread_pool",
        &["--items", "3", "--workers", "1", "--item-ms", "10"],
        "start 1\ndone 1\nstart 2\ndone 2\nstart 3\ndone 3\n\
         summary: 3 of 3 done, 0 left (0 in progress, 0 not started); no shutdown asked\n",
    );
}
