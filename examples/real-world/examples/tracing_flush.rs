//! Keep the last log lines of a program that ends with `std::process::exit`
//! or a signal, when it logs through `tracing-appender`'s non-blocking
//! writer.
//!
//! `tracing_appender::non_blocking` hands each line to a background thread
//! that writes it to the file. The lines still queued are written only when
//! the returned `WorkerGuard` is dropped. The usual `let _guard = ...;` in
//! `main` drops it when `main` returns or unwinds, but `std::process::exit`
//! and a signal end the process without dropping anything: the queued lines,
//! often the ones that explain why the program exits, are lost.
//!
//! The fix is to give the guard to an exit handler, which drops it on every
//! exit. (Dropping the guard waits up to a second for the writer thread.)
//!
//! ```text
//! $ cargo run -p atexit-real-world --example tracing_flush -- exit /tmp/logs
//! $ tail -n 1 /tmp/logs/app.log
//! ... INFO tracing_flush: last line before exit
//! ```
//!
//! The first argument says how the program ends after logging: `return`,
//! `exit` (`std::process::exit(3)`), `panic` or `signal` (prints `ready`,
//! then waits for SIGTERM or Ctrl+C). The second is the log directory; the
//! log is `app.log` in it. With `--no-atexit`, the guard is kept in `main` as
//! usual, to see what is lost without the handler.

use std::path::PathBuf;
use std::time::Duration;

/// Enough lines for the writer thread to still have some queued at exit.
const LINES: usize = 10_000;

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let without_handler = args.iter().any(|arg| arg == "--no-atexit");
    args.retain(|arg| arg != "--no-atexit");
    let ending = args.first().map_or("return", String::as_str).to_owned();
    if !["return", "exit", "panic", "signal"].contains(&ending.as_str()) {
        eprintln!("unknown ending {ending:?}: return, exit, panic or signal");
        std::process::exit(2);
    }
    let dir = args
        .get(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("tracing_flush"));

    atexit::catch_signals().expect("signal handling");

    let (writer, guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::never(&dir, "app.log"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .init();

    // Without the handler, `_guard` flushes only if `main` returns or unwinds.
    let _guard = if without_handler {
        Some(guard)
    } else {
        atexit::register(move || drop(guard));
        None
    };

    for line in 1..=LINES {
        tracing::info!(line, "working");
    }
    tracing::info!("last line before exit");

    match ending.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the work failed"),
        "signal" => {
            println!("ready");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        _ => {}
    }
}
