//! The data-loss matrix: 1,000 numbered records go through a buffered writer
//! whose flush is an exit handler, then the process ends one of nine ways
//! ([`DataLossEnd`]) with 0, 1 or 100 other handlers registered (one of them
//! panicking). Every record must be in the file exactly once, and the process
//! must end as documented. [`table`] prints the matrix after a run.

use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::time::Duration;

use crate::scenario::{Drive, Scenario, DATA_FILE_VAR};

/// How a cell's process ends once its records are written.
#[derive(Clone, Copy)]
enum DataLossEnd {
    Return,
    ProcessExit,
    AtexitExit,
    PanicInMain,
    /// A worker thread panics while holding the writer's lock; `main` returns.
    PanicInAThread,
    /// Signals are caught; the parent sends this one.
    #[cfg_attr(not(unix), allow(dead_code))]
    Signal(i32),
}

/// The ends, in the table's order.
fn ends() -> Vec<DataLossEnd> {
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut ends = vec![
        DataLossEnd::Return,
        DataLossEnd::ProcessExit,
        DataLossEnd::AtexitExit,
        DataLossEnd::PanicInMain,
        DataLossEnd::PanicInAThread,
    ];
    #[cfg(unix)]
    ends.extend(
        [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT].map(DataLossEnd::Signal),
    );
    ends
}

/// How many other handlers a cell registers.
const OTHERS: [usize; 3] = [0, 1, 100];

impl DataLossEnd {
    /// The row's label in the table.
    fn label(self) -> String {
        match self {
            DataLossEnd::Return => "return".into(),
            DataLossEnd::ProcessExit => "process::exit".into(),
            DataLossEnd::AtexitExit => "atexit::exit".into(),
            DataLossEnd::PanicInMain => "panic in main".into(),
            DataLossEnd::PanicInAThread => "panic in a thread".into(),
            DataLossEnd::Signal(signal) => signal_name(signal),
        }
    }

    /// The cell's name: `data_loss::<this>::<others>_others`.
    fn cell_name(self, others: usize) -> String {
        let end = match self {
            DataLossEnd::Signal(signal) => signal_name(signal),
            end => end.label().replace("::", "_").replace(' ', "_"),
        };
        format!("{end}::{others}_others")
    }
}

#[cfg(unix)]
fn signal_name(signal: i32) -> String {
    crate::scenario::signal_name(signal)
}

#[cfg(not(unix))]
fn signal_name(signal: i32) -> String {
    signal.to_string()
}

pub fn all() -> Vec<Scenario> {
    let records: String = (0..1000)
        .map(|record| format!("record {record}\n"))
        .collect();
    let mut all = Vec::new();
    for end in ends() {
        for others in OTHERS {
            let cell = Scenario::new(end.cell_name(others), move || program(end, others))
                .any_stdout()
                .any_stderr()
                .data_file(records.clone())
                .hang_after(Duration::from_secs(20));
            all.push(match end {
                DataLossEnd::PanicInMain => cell.code(101),
                #[cfg(unix)]
                DataLossEnd::Signal(signal) => {
                    use crate::scenario::Step;
                    cell.killed_by(signal).drive(Drive::Steps(vec![
                        Step::WaitFor("ready"),
                        Step::Signal(signal),
                    ]))
                }
                _ => cell,
            });
        }
    }
    all
}

/// One cell's program: registers the flush and `others` other handlers (the
/// middle one panicking), writes the records, then ends as `end` says.
fn program(end: DataLossEnd, others: usize) {
    static WRITER: Mutex<Option<BufWriter<std::fs::File>>> = Mutex::new(None);
    let path = std::env::var(DATA_FILE_VAR).expect(DATA_FILE_VAR);
    if let DataLossEnd::Signal(_) = end {
        atexit::catch_signals().expect("catch signals");
    }
    let file = std::fs::File::create(path).expect("create the data file");
    *WRITER.lock().unwrap() = Some(BufWriter::with_capacity(1 << 20, file));
    fn flush() {
        // A panicking writer thread may have poisoned the lock: the data is
        // still there.
        let mut writer = WRITER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(writer) = writer.as_mut() {
            writer.flush().expect("flush the records");
        }
    }
    atexit::register(flush);
    for other in 0..others {
        if other == others / 2 {
            atexit::register(|| panic!("one of the other handlers fails"));
        } else {
            atexit::register(move || {
                std::hint::black_box(other);
            });
        }
    }
    for record in 0..1000 {
        let mut writer = WRITER.lock().unwrap();
        writeln!(writer.as_mut().unwrap(), "record {record}").unwrap();
    }
    match end {
        DataLossEnd::Return => {}
        DataLossEnd::ProcessExit => std::process::exit(0),
        DataLossEnd::AtexitExit => atexit::exit(0),
        DataLossEnd::PanicInMain => panic!("main fails"),
        DataLossEnd::PanicInAThread => {
            let worker = std::thread::spawn(|| {
                let _writer = WRITER.lock().unwrap();
                panic!("a worker fails while holding the writer");
            });
            assert!(worker.join().is_err());
        }
        DataLossEnd::Signal(_) => {
            println!("ready");
            std::thread::sleep(Duration::from_secs(30));
        }
    }
}

/// The matrix as a markdown table, from the outcomes of the cells run in
/// this process (`passed` gives them by full name); `None` when none ran.
pub fn table(passed: impl Fn(&str) -> Option<bool>) -> Option<String> {
    let mut table = String::from(
        "| how the process ends | 0 other handlers | 1 | 100 (one panics) |\n|---|---|---|---|\n",
    );
    let mut any = false;
    for end in ends() {
        let outcomes =
            OTHERS.map(|others| passed(&format!("data_loss::{}", end.cell_name(others))));
        if outcomes.iter().all(Option::is_none) {
            continue;
        }
        any = true;
        table.push_str(&format!("| {} |", end.label()));
        for outcome in outcomes {
            table.push_str(match outcome {
                Some(true) => " all 1,000 records, once |",
                Some(false) => " **FAILED** |",
                None => " not run |",
            });
        }
        table.push('\n');
    }
    any.then_some(table)
}
