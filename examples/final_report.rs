//! Collects a line every 100 ms until Ctrl+C (SIGINT), then writes every
//! collected line to the report file and dies by SIGINT, as an interrupted
//! program should. The report is written by an exit handler that owns the
//! shared buffer.
//!
//! ```text
//! $ cargo run --example final_report -- /tmp/report.txt
//! collected 1
//! collected 2
//! ^C
//! $ cat /tmp/report.txt
//! sample 1
//! sample 2
//! ```

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn write_report(path: PathBuf, lines: Arc<Mutex<Vec<String>>>) {
    // A poisoned lock still holds every line collected before the panic.
    let lines = lines
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = lines.join("\n");
    text.push('\n');
    if let Err(error) = std::fs::write(&path, text) {
        eprintln!("cannot write {}: {error}", path.display());
    }
}

fn main() {
    let path = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("final_report.txt"));
    let lines = Arc::new(Mutex::new(Vec::new()));

    atexit::catch_signals().expect("signal handling");
    atexit::register!(write_report, path, Arc::clone(&lines));

    for sample in 1.. {
        std::thread::sleep(Duration::from_millis(100));
        // Collected before it is announced: every line printed is in the report.
        lines.lock().unwrap().push(format!("sample {sample}"));
        println!("collected {sample}");
    }
}
