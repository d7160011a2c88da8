//! Behaviour of the process-wide registry, one scenario per process.
//!
//! This binary is its own driver. Run without `ATEXIT_SCENARIO`, it is a test
//! harness (libtest-mimic): one test per scenario, which starts this binary
//! again with `ATEXIT_SCENARIO=<topic>::<name>`, drives that child process
//! and checks its stdout, stderr and how it ended. A hung child is killed
//! and fails. With the variable set, it runs that scenario's program.
//!
//! # Adding a scenario
//!
//! Add one entry to the `all()` list of its topic's file (`order.rs`,
//! `exit_paths.rs`, `signals.rs`, `graceful_shutdown.rs`, `shutdown_requests.rs`, `deadline.rs`, `fork.rs`, `threads.rs`,
//! `async_handlers.rs`, `faults.rs`, `data_loss.rs`, `finalize.rs`, `fault_matrix.rs`): the
//! program as a
//! closure, then its expectation.
//!
//! ```text
//! Scenario::new("process_exit", || {
//!     atexit::register(say("first"));
//!     atexit::register(say("second"));
//!     std::process::exit(7);
//! })
//! .stdout("second\nfirst\n") // the whole stdout (default: nothing)
//! .code(7),                  // or .killed_by(libc::SIGTERM) (default: 0)
//! ```
//!
//! stderr must be empty unless `.stderr_has(&[...])` names what it holds;
//! `.drive(Drive::Steps(...))` waits for lines and sends signals (see
//! `scenario.rs`). Nothing else changes: the child finds the scenario by name
//! in the same lists. A family of similar cells is a loop over an enum of
//! cases, the case captured by the program closure (see `signals.rs`).
//!
//! # Running some
//!
//! ```text
//! cargo test -p atexit-suite --test scenarios -- deadline           # names containing "deadline"
//! cargo test -p atexit-suite --test scenarios -- --exact exit_paths::process_exit
//! cargo test -p atexit-suite --test scenarios -- --list
//! cargo nextest run --test scenarios
//! ATEXIT_SCENARIO=exit_paths::process_exit target/debug/deps/scenarios-<hash>  # the bare program
//! ```
//!
//! Several filters select the union, as with libtest. Tests run one at a
//! time unless `--test-threads` (or `RUST_TEST_THREADS`) says otherwise.

#[path = "../../support/mod.rs"]
mod support;

mod scenario;
#[cfg(unix)]
mod service_programs;
mod statics;

mod async_handlers;
mod data_loss;
mod deadline;
mod exit_paths;
#[cfg(unix)]
mod fault_matrix;
mod faults;
mod finalize;
#[cfg(unix)]
mod fork;
#[cfg(unix)]
mod graceful_shutdown;
mod order;
#[cfg(unix)]
mod shutdown_requests;
#[cfg(unix)]
mod signals;
mod threads;

use std::process::ExitCode;

use scenario::Scenario;

/// Every scenario, named `topic::name`, in the order they run.
fn all() -> Vec<Scenario> {
    let topics = [
        ("order", order::all()),
        ("exit_paths", exit_paths::all()),
        #[cfg(unix)]
        ("signals", signals::all()),
        #[cfg(unix)]
        ("graceful_shutdown", graceful_shutdown::all()),
        #[cfg(unix)]
        ("shutdown_requests", shutdown_requests::all()),
        ("deadline", deadline::all()),
        #[cfg(unix)]
        ("fork", fork::all()),
        ("threads", threads::all()),
        ("async_handlers", async_handlers::all()),
        ("faults", faults::all()),
        ("data_loss", data_loss::all()),
        ("finalize", finalize::all()),
        #[cfg(unix)]
        ("fault_matrix", fault_matrix::all()),
    ];
    topics
        .into_iter()
        .flat_map(|(topic, scenarios)| {
            scenarios.into_iter().map(move |mut scenario| {
                scenario.name = format!("{topic}::{}", scenario.name);
                scenario
            })
        })
        .collect()
}

/// Tests run one at a time by default: the scenarios are timing-sensitive
/// (300 ms deadlines, a signal sent 50 ms into a 150 ms sleep, a stress loop
/// of 200 processes with 5 busy threads each), and must pass on a loaded
/// 2-core CI machine. Two threads passed four full runs on 2 cores (6 s
/// rather than 11 s), but the margins were set for one scenario at a time and
/// the few seconds saved are not worth a flaky CI. `--test-threads 2` (or
/// `RUST_TEST_THREADS`) is there for a quick local run; `.config/nextest.toml`
/// keeps nextest to one at a time as well.
const DEFAULT_TEST_THREADS: usize = 1;

fn main() -> ExitCode {
    let name = scenario::current();
    if !name.is_empty() {
        let scenario = all()
            .into_iter()
            .find(|scenario| scenario.name == name)
            .unwrap_or_else(|| panic!("no scenario named {name:?}"));
        (scenario.program)();
        return ExitCode::SUCCESS;
    }

    let (mut args, filters) = arguments();
    if args.test_threads.is_none() {
        args.test_threads = Some(
            std::env::var("RUST_TEST_THREADS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(DEFAULT_TEST_THREADS),
        );
    }
    let trials = all()
        .into_iter()
        .filter(|scenario| {
            filters.is_empty()
                || filters.iter().any(|filter| {
                    if args.exact {
                        scenario.name == *filter
                    } else {
                        scenario.name.contains(filter.as_str())
                    }
                })
        })
        .map(Scenario::trial)
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);

    // The data-loss matrix, as a table (the README shows it).
    if !matches!(args.format, Some(libtest_mimic::FormatSetting::Json)) {
        if let Some(table) = data_loss::table(scenario::passed) {
            println!("\n{table}");
        }
        #[cfg(unix)]
        if let Some(table) = fault_matrix::table(scenario::passed) {
            println!("\n{table}");
        }
    }
    conclusion.exit_code()
}

/// The command line for libtest-mimic, and the filters it would not take:
/// libtest-mimic takes one filter, libtest any number (a test runs when any
/// selects it). With two or more, they are taken out and returned, to be
/// applied here; with one, libtest-mimic applies it.
fn arguments() -> (libtest_mimic::Arguments, Vec<String>) {
    const TAKES_A_VALUE: [&str; 6] = [
        "--test-threads",
        "--logfile",
        "--skip",
        "--color",
        "--format",
        "-Z",
    ];
    let mut args = std::env::args();
    let mut rest: Vec<String> = args.next().into_iter().collect();
    let mut filters = Vec::new();
    while let Some(arg) = args.next() {
        if TAKES_A_VALUE.contains(&arg.as_str()) {
            rest.push(arg);
            rest.extend(args.next());
        } else if arg.starts_with('-') {
            rest.push(arg);
        } else {
            filters.push(arg);
        }
    }
    if filters.len() == 1 {
        rest.append(&mut filters);
    }
    (libtest_mimic::Arguments::from_iter(rest), filters)
}
