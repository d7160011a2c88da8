//! A last line in the application's log, written through the `log` facade
//! at exit: Python's `logging.info(...)` in an `atexit` handler. The logger
//! is a small one written here that appends to a file; any `log` logger
//! works the same way.
//!
//! ```python
//! import atexit, logging, time
//!
//! logging.basicConfig(filename="app.log", level=logging.INFO)
//!
//! def log_exit():
//!     logging.info(f"Program exited cleanly at {time.ctime()}")
//!
//! atexit.register(log_exit)
//! ```
//!
//! ```text
//! $ cargo run --example log_exit_time -- /tmp/app.log
//! $ cat /tmp/app.log
//! INFO: Program exited cleanly at 2026-05-04 10:12:31 UTC
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Appends `LEVEL: message` lines to a file, one write per line.
struct FileLogger(Mutex<File>);

impl log::Log for FileLogger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!("{}: {}\n", record.level(), record.args());
            let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let _ = file.write_all(line.as_bytes());
        }
    }

    fn flush(&self) {}
}

/// The current time in UTC, as `YYYY-MM-DD hh:mm:ss UTC`.
fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

fn log_exit() {
    log::info!("Program exited cleanly at {}", now_utc());
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "app.log".to_string());
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open the log file");
    log::set_boxed_logger(Box::new(FileLogger(Mutex::new(file)))).expect("one logger");
    log::set_max_level(log::LevelFilter::Info);
    atexit::register(log_exit);
}
