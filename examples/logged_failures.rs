//! A service that logs through `log` and `tracing` wants the failures of its
//! exit handlers in its logs, not only on stderr.
//!
//! With the `log` and `tracing` features, a handler that panics and an exit
//! deadline that passes are reported through both crates too (level error,
//! target `atexit`); stderr keeps its line either way.
//!
//! ```text
//! cargo run --example logged_failures --features log,tracing -- panic
//! cargo run --example logged_failures --features log,tracing -- deadline
//! ```

use std::time::Duration;

/// The program's `log` backend: one line per record on stdout, as a file or
/// journald logger would write it.
struct StdoutLogger;

impl log::Log for StdoutLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        println!(
            "[log] {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: StdoutLogger = StdoutLogger;

fn main() {
    log::set_logger(&LOGGER).expect("no other logger");
    log::set_max_level(log::LevelFilter::Info);
    tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .without_time()
        .init();

    log::info!("service started");
    tracing::info!("service started");

    atexit::register(|| println!("closing the database"));
    match std::env::args().nth(1).as_deref() {
        Some("panic") => {
            atexit::register(remove_cache);
        }
        Some("deadline") => {
            atexit::set_timeout(Some(Duration::from_millis(200)));
            atexit::register(upload_metrics);
        }
        _ => {}
    }
    std::process::exit(2);
}

fn remove_cache() {
    panic!("the cache directory is gone");
}

fn upload_metrics() {
    // A server that never answers.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}
