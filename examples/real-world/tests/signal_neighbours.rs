//! Who wins when another library handles the same signals as atexit: runs
//! `examples/signal_neighbours.rs` for every library (`tokio`, `ctrlc`,
//! `ctrlc-exit`, `signal-hook`), order (installed before or after atexit's
//! handlers), atexit mode (default, request) and signal (SIGINT, SIGTERM),
//! and checks, per run: whether the other library's handler ran, how many
//! times atexit's exit handlers ran, how the process ended, what
//! `replaced_signals()` said, and whether the exit reported the replacement.
//!
//! Cells whose outcome is decided by the order the handlers run in are run
//! three times and asserted strictly (each run alike). Cells where two
//! threads race (the other library's thread against atexit's watcher, which
//! ends the process once the handlers ran, or ctrlc's `exit(0)` against the
//! shutdown request) are run ten times (`ATEXIT_NEIGHBOURS_RUNS` sets
//! another number); every run must read as one of the outcomes listed, and
//! atexit's handlers run exactly once in each. The measured table, with the
//! distributions, is printed: `cargo test -p atexit-real-world --test
//! signal_neighbours -- --nocapture`.

#![cfg(unix)]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::sync::Mutex;
use std::time::Duration;

use support::{Finished, Running};

/// Every wait on a child (for its `ready` line, for its end) is bounded by
/// this: then it is killed and the run fails.
const LIMIT: Duration = Duration::from_secs(10);
/// Runs of a cell whose outcome is a race; `ATEXIT_NEIGHBOURS_RUNS` sets
/// another number, for a finer distribution.
const RACY_RUNS: usize = 10;
/// Runs of a cell asserted strictly: enough to see that it is no race.
const STRICT_RUNS: usize = 3;
/// Children run at the same time.
const WORKERS: usize = 6;

const LIBRARIES: [&str; 4] = ["tokio", "ctrlc", "ctrlc-exit", "signal-hook"];
const ORDERS: [&str; 2] = ["before", "after"];
const MODES: [&str; 2] = ["default", "request"];
const SIGNALS: [(i32, &str); 2] = [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")];

#[derive(Clone, Copy, Debug)]
struct Cell {
    library: &'static str,
    order: &'static str,
    mode: &'static str,
    signal: (i32, &'static str),
}

/// What a cell's runs must show.
enum Expected {
    /// Every run reads exactly so.
    Strict(&'static str),
    /// A race: every run reads as one of these.
    Racy(&'static [&'static str]),
}

/// The outcomes, with "the signal" for the one sent (SIGINT and SIGTERM
/// read alike). `ctrlc` has the `termination` feature: it takes SIGINT,
/// SIGTERM and SIGHUP.
fn expected(cell: Cell) -> Expected {
    match (cell.library, cell.order, cell.mode) {
        // The other library's thread races atexit's watcher, which ends the
        // process once the handlers ran.
        ("tokio", _, "default") => Expected::Racy(&[
            "both run; dies by the signal",
            "atexit's handlers run, tokio's not before the end; dies by the signal",
        ]),
        ("signal-hook", _, "default") => Expected::Racy(&[
            "both run; dies by the signal",
            "atexit's handlers run, signal-hook's not before the end; dies by the signal",
        ]),
        ("ctrlc", "before", "default") => Expected::Racy(&[
            "both run; dies by the signal",
            "atexit's handlers run, ctrlc's not before the end; dies by the signal",
        ]),
        // Graceful-shutdown mode: `main` waits (up to 1 s) for the other handler.
        ("tokio" | "signal-hook", _, "request") | ("ctrlc", "before", "request") => {
            Expected::Strict("both run; dies by the signal")
        }
        ("ctrlc", "after", "default") => Expected::Strict(
            "ctrlc's runs; the signal does not end the process: atexit's handlers run \
             when main returns (3 s later); exits 0; \
             replaced_signals = [SIGHUP, SIGINT, SIGTERM]",
        ),
        ("ctrlc", "after", "request") => Expected::Strict(
            "ctrlc's runs; no shutdown request: atexit's handlers run when main \
             returns (3 s later); exits 0; \
             replaced_signals = [SIGHUP, SIGINT, SIGTERM]",
        ),
        // Graceful-shutdown mode: atexit's signal handler notes the request right
        // after ctrlc's (chained, so first) has woken its thread, and the
        // exit reads it whenever it comes, so ctrlc's `exit(0)` ends by the
        // signal; unless that thread's whole exit runs before atexit's
        // signal handler does (the signalled thread preempted in between).
        ("ctrlc-exit", "before", "request") => Expected::Racy(&[
            "both run; dies by the signal",
            // Its exit started before atexit's part of the signal handler
            // ran, which then noted the request: the ending follows it.
            "ctrlc's runs, and its exit(0) runs atexit's handlers; dies by the signal",
            "ctrlc's runs, and its exit(0) runs atexit's handlers; exits 0",
        ]),
        // Default mode: ctrlc's `exit(0)` races atexit's watcher: one of
        // them starts the exit.
        ("ctrlc-exit", "before", "default") => Expected::Racy(&[
            "both run; dies by the signal",
            "ctrlc's runs, and its exit(0) runs atexit's handlers; exits 0",
            "atexit's handlers run, ctrlc's not before the end; dies by the signal",
        ]),
        // ctrlc's `exit(0)` is an exit like any: it runs atexit's handlers.
        ("ctrlc-exit", "after", _) => Expected::Strict(
            "ctrlc's runs, and its exit(0) runs atexit's handlers; exits 0; \
             replaced_signals = [SIGHUP, SIGINT, SIGTERM]",
        ),
        _ => unreachable!("{cell:?}"),
    }
}

/// Starts the example for `cell`, sends the signal once it is ready, and
/// waits for its end; each wait bounded by [`LIMIT`].
fn run(cell: Cell) -> Result<Finished, String> {
    let mut command = support::command(&support::example("signal_neighbours"));
    command.args([cell.library, cell.order, cell.mode]);
    // `support::command` starts it with the caught signals at their default
    // action, as in a terminal, whatever the harness or shell left ignored.
    let mut running = Running::try_start(&mut command)?.with_wait_limit(LIMIT);
    running.try_wait_for("the `ready` line", |line| line == "ready")?;
    running.signal(cell.signal.0);
    Ok(running.try_finish(LIMIT)?.0)
}

/// A run in the table's words (the signal sent reads "the signal").
fn describe(cell: Cell, run: &Finished) -> String {
    let library = cell.library.trim_end_matches("-exit");
    let neighbour_line = match library {
        "ctrlc" => "ctrlc: handler ran".to_string(),
        _ => format!("{library}: {} arrived", cell.signal.1),
    };
    let neighbour_ran = run
        .stdout
        .lines()
        .any(|line| line.starts_with(&neighbour_line));
    // atexit's handlers, by why they ran.
    let reasons: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("atexit: exit handler ran "))
        .collect();
    let for_the_signal = reasons
        .first()
        .is_some_and(|reason| reason.starts_with("(Signal"));
    let mut parts = vec![match reasons.len() {
        0 if neighbour_ran => format!("{library}'s runs, atexit's handlers do not"),
        0 => "neither runs".into(),
        1 if for_the_signal && neighbour_ran => "both run".into(),
        1 if for_the_signal => format!("atexit's handlers run, {library}'s not before the end"),
        1 if run.stdout.contains("main: slept") => format!(
            "{library}'s runs; the signal does not end the process: atexit's handlers run \
             when main returns (3 s later)"
        ),
        1 if run.stdout.contains("main: no shutdown request") => format!(
            "{library}'s runs; no shutdown request: atexit's handlers run when main \
             returns (3 s later)"
        ),
        1 if run.stdout.contains("calling exit(0)") => {
            format!("{library}'s runs, and its exit(0) runs atexit's handlers")
        }
        1 => format!("atexit's handlers run {}", reasons[0]),
        runs => format!("atexit's handlers run {runs} times: {reasons:?}"),
    }];
    parts.push(match (run.status.signal(), run.status.code()) {
        (Some(signal), _) if signal == cell.signal.0 => "dies by the signal".into(),
        (Some(signal), _) => format!("dies by signal {signal}"),
        (None, Some(code)) => format!("exits {code}"),
        (None, None) => format!("{:?}", run.status),
    });
    let replaced = run
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("replaced_signals = "))
        .unwrap_or("(not printed)");
    if replaced != "[]" {
        parts.push(format!("replaced_signals = {replaced}"));
    }
    let mut stderr = run.stderr.clone();
    if let Some(report) = run
        .stderr
        .lines()
        .find(|line| line.contains("no longer run"))
    {
        parts.push("reported at exit".into());
        stderr = stderr.replacen(&format!("{report}\n"), "", 1);
    }
    if !stderr.is_empty() {
        parts.push(format!("stderr: {stderr:?}"));
    }
    parts.join("; ")
}

/// The exit report names the replaced signals as `replaced_signals()` did.
fn check_report(run: &Finished) -> Result<(), String> {
    let Some(report) = run
        .stderr
        .lines()
        .find(|line| line.contains("no longer run"))
    else {
        return Ok(());
    };
    let wanted = "atexit: SIGHUP, SIGINT, SIGTERM no longer run the exit handlers: a handler \
                  installed after catch_signals() with a plain sigaction (ctrlc::set_handler \
                  does) replaced this crate's";
    if report == wanted {
        Ok(())
    } else {
        Err(format!("unexpected report {report:?}"))
    }
}

#[test]
fn who_wins_with_the_other_signal_users() {
    let racy_runs = std::env::var("ATEXIT_NEIGHBOURS_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(RACY_RUNS);
    let mut jobs = Vec::new();
    for library in LIBRARIES {
        for order in ORDERS {
            for mode in MODES {
                for signal in SIGNALS {
                    let cell = Cell {
                        library,
                        order,
                        mode,
                        signal,
                    };
                    let runs = match expected(cell) {
                        Expected::Strict(_) => STRICT_RUNS,
                        Expected::Racy(_) => racy_runs,
                    };
                    jobs.extend((0..runs).map(|_| cell));
                }
            }
        }
    }
    // The slow cells (3 s) first, so that they overlap the rest.
    jobs.sort_by_key(|cell| cell.library != "ctrlc" || cell.order != "after");
    let queue = Mutex::new(jobs.into_iter());
    // (library, order, mode, signal) -> outcome -> runs.
    type Key = (&'static str, &'static str, &'static str, &'static str);
    let outcomes: Mutex<BTreeMap<Key, BTreeMap<String, usize>>> = Mutex::default();
    let failures: Mutex<Vec<String>> = Mutex::default();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let Some(cell) = queue.lock().unwrap().next() else {
                    return;
                };
                let key = (cell.library, cell.order, cell.mode, cell.signal.1);
                let outcome = match run(cell).and_then(|run| {
                    check_report(&run)?;
                    Ok(describe(cell, &run))
                }) {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        failures.lock().unwrap().push(format!("{key:?}: {error}"));
                        format!("failed: {error}")
                    }
                };
                *outcomes
                    .lock()
                    .unwrap()
                    .entry(key)
                    .or_default()
                    .entry(outcome)
                    .or_default() += 1;
            });
        }
    });
    let outcomes = outcomes.into_inner().unwrap();
    let mut failures = failures.into_inner().unwrap();

    // Check each cell, and print the measured table.
    let mut table =
        String::from("| library, order | default mode | graceful-shutdown mode |\n|---|---|---|\n");
    for library in LIBRARIES {
        for order in ORDERS {
            table.push_str(&format!("| {library}, {order} |"));
            for mode in MODES {
                let mut texts = Vec::new();
                for signal in SIGNALS {
                    let cell = Cell {
                        library,
                        order,
                        mode,
                        signal,
                    };
                    let key = (library, order, mode, signal.1);
                    let measured = &outcomes[&key];
                    let runs: usize = measured.values().sum();
                    for (outcome, count) in measured {
                        let fits = match expected(cell) {
                            Expected::Strict(text) => outcome == text,
                            Expected::Racy(texts) => texts.contains(&outcome.as_str()),
                        };
                        if !fits {
                            failures.push(format!("{key:?}: {count}/{runs} runs: {outcome}"));
                        }
                    }
                    let text = match measured.len() {
                        1 => measured.keys().next().unwrap().clone(),
                        _ => measured
                            .iter()
                            .map(|(outcome, count)| format!("{count}/{runs}: {outcome}"))
                            .collect::<Vec<_>>()
                            .join("<br>"),
                    };
                    texts.push((signal.1, text));
                }
                let cell_text = if texts.iter().all(|(_, text)| *text == texts[0].1) {
                    texts[0].1.clone()
                } else {
                    texts
                        .iter()
                        .map(|(signal, text)| format!("{signal}: {text}"))
                        .collect::<Vec<_>>()
                        .join("<br>")
                };
                table.push_str(&format!(" {cell_text} |"));
            }
            table.push('\n');
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
