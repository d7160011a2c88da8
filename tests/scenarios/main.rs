//! Behaviour of the process-wide registry, one scenario per process.
//!
//! This binary is its own driver: run without `ATEXIT_SCENARIO`, it starts
//! itself once per scenario with that variable set, and checks each child's
//! stdout, stderr and exit status. A hung child is killed and fails.

#[path = "../support/mod.rs"]
mod support;

mod programs;
mod statics;

use std::time::Duration;
use support::{command, try_run, Finished, Running};

fn scenario() -> String {
    std::env::var("ATEXIT_SCENARIO").unwrap_or_default()
}

enum End {
    Code(i32),
    #[cfg_attr(not(unix), allow(dead_code))]
    Signal(i32),
}

struct Expect {
    name: &'static str,
    stdout: &'static str,
    end: End,
    stderr_has: &'static [&'static str],
}

const fn expect(
    name: &'static str,
    stdout: &'static str,
    end: End,
    stderr_has: &'static [&'static str],
) -> Expect {
    Expect {
        name,
        stdout,
        end,
        stderr_has,
    }
}

fn expectations() -> Vec<Expect> {
    use End::Code;
    let mut all = vec![
        expect(
            "static_order",
            "runtime 2\nruntime 1\nalpha_urgent (priority 5)\nbeta_only\nalpha_second\nalpha_first\n\
             zz_declared_first\nalpha_last (priority -5)\n",
            Code(0),
            &[],
        ),
        expect(
            "unregister_static",
            "alpha_urgent (priority 5)\nbeta_only\nalpha_second\nalpha_first\nzz_declared_first\n",
            Code(0),
            &[],
        ),
        expect("process_exit", "second\nfirst\n", Code(7), &[]),
        expect("atexit_exit_status", "first\n", Code(3), &[]),
        expect("panic_in_main", "handler after panic\n", Code(101), &["boom in main"]),
        expect(
            "panicking_handler_keeps_status",
            "registered third\nregistered first\n",
            Code(3),
            &["atexit: exit handler `scenarios::programs::run::{{closure}}` panicked: handler failure; \
               the other handlers still run\n"],
        ),
        expect("non_string_panic_payload", "still runs\n", Code(0), &["panicked: Box<dyn Any>;"]),
        expect("register_during_exit", "A\nB (registered by A)\nC (oldest)\n", Code(0), &[]),
        expect("unregister_during_exit", "killer: true 1\n", Code(0), &[]),
        expect(
            "unregister_self_then_panic",
            "removed itself: 0\nolder handler still runs\n",
            Code(0),
            &["`scenarios::programs::run::self_remover` panicked: after unregistering itself"],
        ),
        expect(
            "atexit_exit_in_handler",
            "newest handler\ncalling atexit::exit(5)\nolder handler still runs\n",
            Code(2),
            &["called atexit::exit(5) while the process was already exiting"],
        ),
        expect("exit_during_run_exitfuncs", "newest\noldest\n", Code(4), &[]),
        expect(
            "nested_run_exitfuncs",
            "1 runs the rest\n2\n3\n1 done\nmain: ncallbacks 0\nregistered after the explicit run\n",
            Code(0),
            &[],
        ),
        expect(
            "run_exitfuncs_from_another_thread_during_a_run",
            "helper's run_exitfuncs returned at once\nhandler joined the helper\nolder\n",
            Code(0),
            &[],
        ),
        expect("handler_spawns_and_joins_a_thread", "thread answered 42\n", Code(0), &[]),
        expect(
            "clear_and_ncallbacks",
            "added 2\nafter clear 0\nregistered after clear\n",
            Code(0),
            &[],
        ),
        expect("thread_local_in_handler", "thread-local already destroyed\n", Code(0), &[]),
        expect(
            "threads_register_concurrently",
            "unregistered by function: 4000\nran once: 8000, never: 8000, twice or more: 0\n",
            Code(0),
            &[],
        ),
        expect("threads_hammer_during_exit", "", Code(0), &[]),
        expect("reason_on_return", "reason: Some(Exit(Some(0)))\n", Code(0), &[]),
        expect("reason_on_process_exit", "reason: Some(Exit(Some(4)))\n", Code(4), &[]),
        expect("reason_on_atexit_exit", "reason: Some(Exit(Some(2)))\n", Code(2), &[]),
        expect("reason_on_panic", "reason: Some(Panic)\n", Code(101), &["main fails"]),
        expect("reason_in_run_exitfuncs", "reason: None\n", Code(0), &[]),
        expect("exit_code_on_return", "", Code(5), &[]),
        expect("exit_code_on_atexit_exit", "", Code(6), &[]),
        expect("exit_code_outside_an_exit_is_ignored", "", Code(0), &[]),
        expect(
            "deadline_on_process_exit",
            "stuck starts\n",
            Code(4),
            &["exit handler `scenarios::programs::run::stuck` is still running; the remaining \
               handlers are skipped and the process ends with status 4"],
        ),
        expect(
            "async_handlers_keep_their_place",
            "sync, registered third\nasync, registered second\nregistered by the async handler\n\
             sync, registered first\n",
            Code(0),
            &[],
        ),
        expect(
            "async_handler_has_live_thread_locals",
            "thread-local in an async handler: 5\n",
            Code(0),
            &[],
        ),
        expect(
            "async_handler_panics",
            "older handler still runs\n",
            Code(4),
            &["panicked: async failure; the other handlers still run"],
        ),
        expect(
            "async_handler_calls_exit",
            "async handler asks to exit\nolder handler still runs\n",
            Code(4),
            &["called atexit::exit(9) while the process was already exiting"],
        ),
        expect(
            "async_handler_calls_process_exit",
            "async handler calls std::process::exit(6)\n",
            Code(0),
            &["exit deadline of 300ms passed: exit handler `scenarios::programs::run::{{closure}}` \
               is still running; the remaining handlers are skipped and the process ends with status 0"],
        ),
        expect(
            "async_handler_nested_run_is_waited_for",
            "async handler started\nolder handler\nasync handler finished\n",
            Code(0),
            &[],
        ),
        expect(
            "async_handler_calls_process_exit_during_atexit_exit",
            "calling std::process::exit(7)\noldest: still runs\n",
            Code(7),
            &[],
        ),
        expect("async_handler_unregistered", "", Code(0), &[]),
        expect(
            "async_handler_past_the_deadline",
            "",
            Code(5),
            &[
                "exit deadline of 300ms passed: exit handler `core::future::pending::pending<()>", 
                "` is still running; the remaining handlers are skipped and the process ends with status 5",
            ],
        ),
        expect("deadline_not_reached", "quick handler\n", Code(0), &[]),
        expect("cpython_thread_safety", "done, 0 left\n", Code(0), &[]),
        expect("two_threads_process_exit_at_once", "handler run 1\n", Code(0), &[]),
        expect(
            "atexit_exit_on_another_thread_during_an_exit",
            "slow handler starts\nslow handler ends\n",
            Code(4),
            &[],
        ),
        expect(
            "payload_drop_panics",
            "",
            Code(0),
            &["the panic payload of exit handler", "panicked when dropped", "older handler still runs"],
        ),
        expect(
            "handler_waits_for_a_lock_the_exiting_thread_holds",
            "",
            Code(5),
            &["exit handler `scenarios::programs::run::needs_the_lock` is still running"],
        ),
        expect(
            "deadline_covers_the_wait_for_another_thread",
            "hang starts\n",
            Code(0),
            &["exit handler `scenarios::programs::run::hang` is still running"],
        ),
        expect(
            "exit_waits_for_a_handler_on_another_thread",
            "newer: start (worker)\nmain returns\nnewer: done\nolder\n",
            Code(0),
            &[],
        ),
        expect(
            "process_exit_in_handler_during_atexit_exit",
            "calling std::process::exit(7)\noldest: still runs\n",
            Code(7),
            &[],
        ),
    ];
    #[cfg(unix)]
    all.extend([
        expect(
            "process_exit_in_handler",
            "calling std::process::exit(5)\n",
            End::Signal(libc::SIGABRT),
            &["re-entrant"],
        ),
        expect("fork_while_threads_use_the_registry", "children hung: 0\n", Code(0), &[]),
        expect(
            "signal_during_a_normal_exit",
            "slow handler starts\nslow handler ends\n",
            Code(0),
            &[],
        ),
        expect(
            "handler_writes_to_a_closed_stdout",
            "",
            Code(0),
            &["failed printing to stdout: Broken pipe", "older handler still runs"],
        ),
        expect(
            "signal_then_main_returns",
            "handler starts\nhandler done\n",
            Code(128 + libc::SIGTERM),
            &[],
        ),
        expect("signal_then_main_returns_with_set_exit_code", "", Code(42), &[]),
        expect("signal_then_process_exit", "", End::Signal(libc::SIGTERM), &[]),
        expect(
            "signal_takes_over_a_run_whose_handler_exits",
            "handler starts\nhandler calls atexit::exit(7)\n",
            End::Signal(libc::SIGTERM),
            &[],
        ),
        expect(
            "deadline_covers_a_blocked_flush",
            "",
            End::Signal(libc::SIGTERM),
            &["handler ran", "the handlers are done but the process has not ended"],
        ),
        expect(
            "sigpipe_from_a_handler_does_not_force",
            "newer handler: write failed\nolder handler still runs\n",
            End::Signal(libc::SIGPIPE),
            &[],
        ),
        expect(
            "fork_in_handler_child_runs_its_own",
            "child: ncallbacks 1\nchild's own handler\nparent: child exited with 0\nparent's older handler\n",
            Code(0),
            &[],
        ),
        expect(
            "fork_in_handler_child_exit",
            "child's handler\nparent: child exited with 3\n",
            Code(0),
            &[],
        ),
        expect(
            "fork_in_async_handler_child_runs_its_own",
            "child: ncallbacks 1\nchild's own handler\nparent: child exited with 7\n\
             parent's older handler\n",
            Code(7),
            &[],
        ),
        expect(
            "clear_in_forked_child_keeps_parent_captures",
            "child cleared\nparent: child exited with 0\nTempDir dropped in the parent\n",
            Code(0),
            &[],
        ),
        expect("abort_runs_nothing", "", End::Signal(libc::SIGABRT), &[]),
        expect(
            "handler_panics_while_panicking",
            "",
            End::Signal(libc::SIGABRT),
            &["first panic", "a destructor panics during unwinding"],
        ),
        expect("sigkill_runs_nothing", "", End::Signal(libc::SIGKILL), &[]),
        expect(
            "fork_child_skips_parent_handlers",
            "child: ncallbacks 1\nchild's handler\nparent: child exited with 0\nparent's handler\n",
            Code(0),
            &[],
        ),
        expect(
            "fork_child_adopts_parent_handlers",
            "child: ncallbacks 1\nchild: adopted 7\nchild's handler\nparent's handler\n\
             parent: child exited with 0\nparent's handler\n",
            Code(0),
            &[],
        ),
        expect(
            "fork_child_exit_now",
            "child: ncallbacks 1\nparent: child exited with 0\nparent's handler\n",
            Code(0),
            &[],
        ),
    ]);
    all
}

fn check(expect: &Expect, finished: &Finished) -> Result<(), String> {
    let mut problems = Vec::new();
    if finished.stdout != expect.stdout {
        problems.push(format!(
            "stdout:\n{:?}\nexpected:\n{:?}",
            finished.stdout, expect.stdout
        ));
    }
    let end_ok = match expect.end {
        End::Code(code) => finished.status.code() == Some(code),
        End::Signal(signal) => finished.signal() == Some(signal),
    };
    if !end_ok {
        problems.push(format!("ended with {:?}", finished.status));
    }
    verdict(problems, finished, expect.stderr_has)
}

/// Adds the stderr checks to `problems`: each of `stderr_has` must be in it,
/// and with none expected it must be empty. `Ok` when nothing is wrong.
fn verdict(
    mut problems: Vec<String>,
    finished: &Finished,
    stderr_has: &[&str],
) -> Result<(), String> {
    for needle in stderr_has {
        if !finished.stderr.contains(needle) {
            problems.push(format!("stderr lacks {needle:?}"));
        }
    }
    if stderr_has.is_empty() && !finished.stderr.is_empty() {
        problems.push("stderr is not empty".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nstderr:\n{}",
            problems.join("\n"),
            finished.stderr
        ))
    }
}

/// Runs one scenario in a process of its own and checks it.
fn run_scenario(exe: &std::path::Path, expect: &Expect) -> Result<(), String> {
    try_run(
        command(exe).env("ATEXIT_SCENARIO", expect.name),
        Duration::from_secs(60),
    )
    .and_then(|finished| check(expect, &finished))
}

/// The command line's filters and the count of passed and failed checks.
struct Tally {
    filter: Vec<String>,
    passed: usize,
    failed: usize,
}

impl Tally {
    /// Whether the check `name` is selected by the filters (all are without).
    fn wants(&self, name: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| name.contains(f.as_str()))
    }

    /// Counts and prints one check's outcome; returns whether it passed.
    fn record(&mut self, name: &str, outcome: Result<(), String>) -> bool {
        match outcome {
            Ok(()) => {
                self.passed += 1;
                println!("test {name} ... ok");
                true
            }
            Err(problem) => {
                self.failed += 1;
                println!("test {name} ... FAILED\n{problem}\n");
                false
            }
        }
    }
}

/// One cell of the signal matrix, run and checked; `Err` says what was wrong.
#[cfg(unix)]
fn signal_cell(
    exe: &std::path::Path,
    signal: i32,
    case: &str,
    code_ending: bool,
) -> Result<(), String> {
    let mut child = command(exe);
    child
        .env("ATEXIT_SCENARIO", "signal_case")
        .env("ATEXIT_SIGNAL_CASE", case)
        .env(
            "ATEXIT_SIGNAL_ENDING",
            if code_ending { "code" } else { "reraise" },
        );
    let mut running = Running::start(&mut child);
    running.wait_for_line("ready");
    let name = signal_name(signal);
    if case == "ignored" {
        // SIGHUP stays ignored (nohup); SIGTERM then ends the process.
        running.signal(libc::SIGHUP);
        std::thread::sleep(Duration::from_millis(200));
        running.signal(libc::SIGTERM);
    } else {
        running.signal(signal);
    }
    if case == "second_signal" {
        running.wait_for_line("slow handler starts");
        running.signal(signal);
    }
    let (finished, ran) = running.try_finish(Duration::from_secs(20))?;
    let (stdout, stderr_has): (String, &[&str]) = match case {
        "none" | "ignored" | "exit_code" => ("ready\n".into(), &[]),
        "three" | "pipe" => (format!("ready\nh3\nh2\nh1 ({name})\n"), &[]),
        "chained" => (format!("ready\napp handler\nh3\nh2\nh1 ({name})\n"), &[]),
        "panicking" => ("ready\nh3\nh1\n".into(), &["panicked: h2 fails"]),
        "hung" => (
            "ready\nh2 hangs\n".into(),
            &["exit deadline of 300ms passed", "is still running"],
        ),
        "second_signal" => ("ready\nslow handler starts\n".into(), &[]),
        _ => unreachable!(),
    };
    let ended_by = if case == "ignored" {
        libc::SIGTERM
    } else {
        signal
    };
    let mut problems = Vec::new();
    if finished.stdout != stdout {
        problems.push(format!("stdout {:?}, expected {stdout:?}", finished.stdout));
    }
    let ended_right = if case == "exit_code" {
        finished.status.code() == Some(7)
    } else if code_ending {
        finished.status.code() == Some(128 + ended_by)
    } else {
        finished.signal() == Some(ended_by)
    };
    if !ended_right {
        problems.push(format!("ended with {:?}", finished.status));
    }
    if ran > Duration::from_secs(10) {
        problems.push(format!("took {ran:?}"));
    }
    verdict(problems, &finished, stderr_has)
}

#[cfg(unix)]
fn signal_name(signal: i32) -> String {
    atexit::Signal::from_number(signal).map_or_else(|| signal.to_string(), |s| s.to_string())
}

/// Every signal × every case, then the `128 + n` ending, then the special cases.
#[cfg(unix)]
fn signal_matrix() -> Vec<(String, i32, &'static str, bool)> {
    let signals = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];
    let mut cells = Vec::new();
    for signal in signals {
        for case in ["none", "three", "panicking", "hung", "second_signal"] {
            cells.push((
                format!("signal {} {case}", signal_name(signal)),
                signal,
                case,
                false,
            ));
        }
        cells.push((
            format!("signal {} three, exit 128+n", signal_name(signal)),
            signal,
            "three",
            true,
        ));
    }
    cells.push((
        "signal SIGTERM chained to the app's handler".into(),
        libc::SIGTERM,
        "chained",
        false,
    ));
    cells.push((
        "signal SIGHUP ignored before stays ignored".into(),
        libc::SIGHUP,
        "ignored",
        false,
    ));
    cells.push((
        "signal SIGPIPE caught when asked".into(),
        libc::SIGPIPE,
        "pipe",
        false,
    ));
    cells.push((
        "signal SIGTERM with set_exit_code(7) exits 7".into(),
        libc::SIGTERM,
        "exit_code",
        false,
    ));
    cells
}

/// The ways a data-loss cell ends, and how the process must end then.
const DATA_LOSS_ENDS: [&str; 9] = [
    "return",
    "process::exit",
    "atexit::exit",
    "panic in main",
    "panic in a thread",
    "SIGINT",
    "SIGTERM",
    "SIGHUP",
    "SIGQUIT",
];

/// One data-loss cell: `Ok` when every record is in the file exactly once
/// and the process ended as documented.
fn data_loss_cell(exe: &std::path::Path, end: &str, others: usize) -> Result<(), String> {
    let dir = support::TempDir::new("data_loss");
    let file = dir.path().join("records.txt");
    let mut child = command(exe);
    child
        .env("ATEXIT_SCENARIO", "data_loss")
        .env("ATEXIT_END", end)
        .env("ATEXIT_OTHERS", others.to_string())
        .env("ATEXIT_DATA_FILE", &file);
    let finished = if let Some(signal) = signal_number(end) {
        let mut running = Running::start(&mut child);
        running.wait_for_line("ready");
        #[cfg(unix)]
        running.signal(signal);
        #[cfg(not(unix))]
        let _ = signal;
        running.try_finish(Duration::from_secs(20))?.0
    } else {
        try_run(&mut child, Duration::from_secs(20))?
    };
    let text = std::fs::read_to_string(&file).map_err(|error| format!("no data file: {error}"))?;
    let expected: String = (0..1000)
        .map(|record| format!("record {record}\n"))
        .collect();
    let mut problems = Vec::new();
    if text != expected {
        problems.push(format!(
            "{} of 1000 records in the file",
            text.lines().count()
        ));
    }
    let ended_right = match end {
        "panic in main" => finished.status.code() == Some(101),
        end => match signal_number(end) {
            Some(signal) => finished.signal() == Some(signal),
            None => finished.status.code() == Some(0),
        },
    };
    if !ended_right {
        problems.push(format!("ended with {:?}", finished.status));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nstderr:\n{}",
            problems.join("; "),
            finished.stderr
        ))
    }
}

fn signal_number(end: &str) -> Option<i32> {
    #[cfg(unix)]
    {
        match end {
            "SIGINT" => Some(libc::SIGINT),
            "SIGTERM" => Some(libc::SIGTERM),
            "SIGHUP" => Some(libc::SIGHUP),
            "SIGQUIT" => Some(libc::SIGQUIT),
            _ => None,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = end;
        None
    }
}

fn main() {
    let name = scenario();
    if !name.is_empty() {
        programs::run(&name);
        return;
    }
    let filter = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let mut tally = Tally {
        filter,
        passed: 0,
        failed: 0,
    };
    let exe = std::env::current_exe().expect("path of this test binary");
    for expect in expectations() {
        if tally.wants(expect.name) {
            tally.record(expect.name, run_scenario(&exe, &expect));
        }
    }
    #[cfg(unix)]
    for (name, signal, case, code_ending) in signal_matrix() {
        if tally.wants(&name) {
            tally.record(&name, signal_cell(&exe, signal, case, code_ending));
        }
    }
    // Stress: an exit racing with registering threads, many times over.
    let runs: usize = std::env::var("ATEXIT_STRESS_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let name = format!("stress: exit while threads register, {runs} runs");
    if tally.wants(&name) {
        let stress = expect(
            "exit_while_threads_register",
            "pre-exit handlers run once: 100 of 100; handlers run twice: 0\n",
            End::Code(0),
            &[],
        );
        let outcome = (0..runs).try_for_each(|run| {
            run_scenario(&exe, &stress).map_err(|error| format!("run {run}: {error}"))
        });
        tally.record(&name, outcome);
    }

    // The data-loss matrix, printed as a table.
    let mut table = String::from(
        "\n| how the process ends | 0 other handlers | 1 | 100 (one panics) |\n|---|---|---|---|\n",
    );
    for end in DATA_LOSS_ENDS {
        if !cfg!(unix) && end.starts_with("SIG") {
            continue;
        }
        let name = format!("data loss: {end}");
        if !tally.wants(&name) {
            continue;
        }
        table.push_str(&format!("| {end} |"));
        for others in [0, 1, 100] {
            let cell = format!("{name}, {others} other handlers");
            let kept = tally.record(&cell, data_loss_cell(&exe, end, others));
            table.push_str(if kept {
                " all 1,000 records, once |"
            } else {
                " **FAILED** |"
            });
        }
        table.push('\n');
    }
    if table.lines().count() > 3 {
        println!("{table}");
    }
    let Tally { passed, failed, .. } = tally;
    println!("\nscenarios: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
