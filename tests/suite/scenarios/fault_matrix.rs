//! The exit-fault matrix: the process is in a state real programs are often
//! in ([`Fault`]: another thread holds a standard stream's lock, a standard
//! stream is a pipe nobody reads, the standard streams were closed at start,
//! an extreme deadline), and ends one of five ways ([`Way`]). Three handlers
//! each append a line to a file: every one must run once, newest first (with
//! a zero deadline none runs, as documented), and the process must end with
//! the documented status within 2 s. [`table`] prints the matrix after a run.

use std::time::Duration;

use crate::scenario::{append, data_file, fill_pipe, kill_self_after, Scenario, Streams};

/// The state the process is in when it ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Another thread holds `io::stdout().lock()` for good, with output of
    /// `main` still in stdout's buffer.
    StdoutLockHeld,
    /// Another thread holds `io::stderr().lock()` for good.
    StderrLockHeld,
    /// stderr is a full pipe nobody reads.
    StderrFullPipe,
    /// stdout is a full pipe nobody reads.
    StdoutFullPipe,
    /// Descriptors 0–2 were closed when the process started.
    StdioClosed,
    /// `set_deadline(Some(Duration::MAX))`.
    DeadlineMax,
    /// `set_deadline(Some(Duration::ZERO))`: no handler runs.
    DeadlineZero,
}

const FAULTS: [Fault; 7] = [
    Fault::StdoutLockHeld,
    Fault::StderrLockHeld,
    Fault::StderrFullPipe,
    Fault::StdoutFullPipe,
    Fault::StdioClosed,
    Fault::DeadlineMax,
    Fault::DeadlineZero,
];

/// How the process ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Return,
    /// `std::process::exit(3)`.
    ProcessExit,
    /// `atexit::exit(4)`.
    AtexitExit,
    /// A panic in `main`: status 101.
    PanicInMain,
    /// SIGTERM, caught by `catch_signals`: death by SIGTERM.
    Sigterm,
}

const WAYS: [Way; 5] = [
    Way::Return,
    Way::ProcessExit,
    Way::AtexitExit,
    Way::PanicInMain,
    Way::Sigterm,
];

impl Fault {
    fn label(self) -> &'static str {
        match self {
            Fault::StdoutLockHeld => "another thread holds the stdout lock",
            Fault::StderrLockHeld => "another thread holds the stderr lock",
            Fault::StderrFullPipe => "stderr is a full pipe",
            Fault::StdoutFullPipe => "stdout is a full pipe",
            Fault::StdioClosed => "fds 0–2 closed at start",
            Fault::DeadlineMax => "deadline `Duration::MAX`",
            Fault::DeadlineZero => "deadline `Duration::ZERO`",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Fault::StdoutLockHeld => "stdout_lock_held",
            Fault::StderrLockHeld => "stderr_lock_held",
            Fault::StderrFullPipe => "stderr_full_pipe",
            Fault::StdoutFullPipe => "stdout_full_pipe",
            Fault::StdioClosed => "stdio_closed",
            Fault::DeadlineMax => "deadline_max",
            Fault::DeadlineZero => "deadline_zero",
        }
    }

    fn streams(self) -> Streams {
        match self {
            Fault::StderrFullPipe => Streams::StderrUnread,
            Fault::StdoutFullPipe => Streams::StdoutUnread,
            Fault::StdioClosed => Streams::Closed,
            _ => Streams::Captured,
        }
    }
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Return => "return from `main`",
            Way::ProcessExit => "`std::process::exit(3)`",
            Way::AtexitExit => "`atexit::exit(4)`",
            Way::PanicInMain => "panic in `main`",
            Way::Sigterm => "SIGTERM caught",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Way::Return => "return",
            Way::ProcessExit => "process_exit",
            Way::AtexitExit => "atexit_exit",
            Way::PanicInMain => "panic_in_main",
            Way::Sigterm => "sigterm",
        }
    }

    /// How the process ends, in the table's words.
    fn ending(self) -> &'static str {
        match self {
            Way::Return => "status 0",
            Way::ProcessExit => "status 3",
            Way::AtexitExit => "status 4",
            Way::PanicInMain => "status 101",
            Way::Sigterm => "killed by SIGTERM",
        }
    }
}

fn cell_name(fault: Fault, way: Way) -> String {
    format!("{}::{}", fault.name(), way.name())
}

pub fn all() -> Vec<Scenario> {
    let mut all = Vec::new();
    for fault in FAULTS {
        for way in WAYS {
            let ran = if fault == Fault::DeadlineZero {
                ""
            } else {
                "handler 3\nhandler 2\nhandler 1\n"
            };
            let cell = Scenario::new(cell_name(fault, way), move || program(fault, way))
                .streams(fault.streams())
                .any_stdout()
                .any_stderr()
                .data_file(ran)
                .faster_than(Duration::from_secs(2))
                .hang_after(Duration::from_secs(10));
            all.push(match way {
                Way::Return => cell,
                Way::ProcessExit => cell.code(3),
                Way::AtexitExit => cell.code(4),
                Way::PanicInMain => cell.code(101),
                Way::Sigterm => cell.killed_by(libc::SIGTERM),
            });
        }
    }
    all
}

/// One cell: puts the process in `fault`, registers three handlers, then
/// ends as `way` says.
fn program(fault: Fault, way: Way) {
    let data = data_file();
    if way == Way::Sigterm {
        atexit::catch_signals().unwrap();
    }
    match fault {
        Fault::StdoutLockHeld => {
            print!("in stdout's buffer when the exit starts");
            crate::scenario::hold_stdout_for_good();
        }
        Fault::StderrLockHeld => {
            crate::scenario::hold_stderr_for_good();
        }
        Fault::StderrFullPipe => fill_pipe(2),
        Fault::StdoutFullPipe => fill_pipe(1),
        Fault::StdioClosed => {}
        Fault::DeadlineMax => atexit::set_deadline(Some(Duration::MAX)),
        Fault::DeadlineZero => atexit::set_deadline(Some(Duration::ZERO)),
    }
    for n in 1..=3 {
        let data = data.clone();
        atexit::register(move || append(&data, &format!("handler {n}")));
    }
    match way {
        Way::Return => {}
        Way::ProcessExit => std::process::exit(3),
        Way::AtexitExit => atexit::exit(4),
        Way::PanicInMain => panic!("main fails"),
        Way::Sigterm => {
            kill_self_after(0, libc::SIGTERM);
            std::thread::sleep(Duration::from_secs(30));
        }
    }
}

/// The matrix as a markdown table, from the outcomes of the cells run in
/// this process (`passed` gives them by full name); `None` when none ran.
pub fn table(passed: impl Fn(&str) -> Option<bool>) -> Option<String> {
    let mut table = String::from("| the process | ");
    table.push_str(&WAYS.map(Way::label).join(" | "));
    table.push_str(" |\n|---|");
    table.push_str(&"---|".repeat(WAYS.len()));
    table.push('\n');
    let mut any = false;
    for fault in FAULTS {
        let outcomes = WAYS.map(|way| passed(&format!("fault_matrix::{}", cell_name(fault, way))));
        if outcomes.iter().all(Option::is_none) {
            continue;
        }
        any = true;
        table.push_str(&format!("| {} |", fault.label()));
        for (way, outcome) in WAYS.into_iter().zip(outcomes) {
            let ran = if fault == Fault::DeadlineZero {
                "no handler (documented)"
            } else {
                "3 handlers, once each"
            };
            table.push_str(&match outcome {
                Some(true) => format!(" {ran}, {} |", way.ending()),
                Some(false) => " **FAILED** |".to_string(),
                None => " not run |".to_string(),
            });
        }
        table.push('\n');
    }
    any.then_some(table)
}
