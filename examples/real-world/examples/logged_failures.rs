//! A service that logs through `log` and `tracing` wants the failures of its
//! exit handlers in its logs, not only on stderr.
//!
//! With the `log` and `tracing` features, a handler that panics and an exit
//! deadline that passes are reported through both crates too (level error,
//! target `atexit`); stderr keeps its line either way.
//!
//! ```text
//! cargo run -p atexit-real-world --example logged_failures --features log,tracing -- panic
//! cargo run -p atexit-real-world --example logged_failures --features log,tracing -- deadline
//! cargo run -p atexit-real-world --example logged_failures --features log,tracing -- stuck-in-logger
//! cargo run -p atexit-real-world --example logged_failures --features log,tracing -- graceful
//! ```
//!
//! And a shutdown's progress: at info, the request (by what, drain timeout,
//! exit deadline) and the start of the handlers; at debug, each handler
//! with its duration (`graceful`, then `kill -TERM`).

use std::sync::Mutex;
use std::time::Duration;

/// The program's `log` backend: one line per record on stdout, as a file or
/// journald logger would write it, one line at a time.
struct StdoutLogger {
    file: Mutex<()>,
}

impl log::Log for StdoutLogger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }

    fn log(&self, record: &log::Record) {
        let _file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        println!(
            "[log] {} {}: {}",
            record.level(),
            record.target(),
            record.args()
        );
    }

    fn flush(&self) {}
}

static LOGGER: StdoutLogger = StdoutLogger {
    file: Mutex::new(()),
};

fn main() {
    let mode = std::env::args().nth(1);
    // A shutdown to watch: its progress is told at info, each handler at debug.
    let graceful = mode.as_deref() == Some("graceful");
    log::set_logger(&LOGGER).expect("no other logger");
    log::set_max_level(if graceful {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
    tracing_subscriber::fmt()
        .with_writer(std::io::stdout)
        .with_ansi(false)
        .without_time()
        .with_max_level(if graceful {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        })
        .init();

    log::info!("service started");
    tracing::info!("service started");

    atexit::register(|| println!("closing the database"));
    match mode.as_deref() {
        Some("graceful") => {
            atexit::set_deadline(Some(Duration::from_secs(5)));
            atexit::CatchSignals::new()
                .graceful_shutdown(Duration::from_secs(20))
                .install()
                .expect("signal handling");
            atexit::register(flush_spool);
            println!("ready");
            let cause = atexit::shutdown_request().wait();
            println!("draining after {cause}");
            std::process::exit(0); // drained: dies by the signal
        }
        Some("panic") => {
            atexit::register(remove_cache);
        }
        Some("deadline") => {
            atexit::set_deadline(Some(Duration::from_millis(200)));
            atexit::register(upload_metrics);
        }
        Some("stuck-in-logger") => {
            atexit::set_deadline(Some(Duration::from_millis(200)));
            atexit::register(rotate_logs);
        }
        _ => {}
    }
    std::process::exit(2);
}

fn flush_spool() {
    std::thread::sleep(Duration::from_millis(50));
}

fn remove_cache() {
    panic!("the cache directory is gone");
}

/// Stuck while holding the logger's lock: the deadline's report cannot be
/// logged, and the deadline must end the process all the same.
fn rotate_logs() {
    let _file = LOGGER
        .file
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn upload_metrics() {
    // A server that never answers.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}
