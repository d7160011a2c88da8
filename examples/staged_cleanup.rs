//! A staged build: each stage registers the cleanup of what it created, so
//! however far the build got, exactly its stages are undone, newest first.
//! SIGTERM during stage two runs `cleanup_stage_two`, then
//! `cleanup_stage_one`. With `--exit-code` the process then exits with
//! 128 + 15 = 143; by default it dies by SIGTERM.
//!
//! ```text
//! $ cargo run --example staged_cleanup & sleep 1; kill -TERM $!
//! stage one: created
//! stage two: created
//! cleanup_stage_two
//! cleanup_stage_one
//! ```

use std::time::Duration;

fn cleanup_stage_one() {
    println!("cleanup_stage_one");
}

fn cleanup_stage_two() {
    println!("cleanup_stage_two");
}

fn main() {
    let ending = if std::env::args().any(|arg| arg == "--exit-code") {
        atexit::SignalEnding::ExitCode
    } else {
        atexit::SignalEnding::Reraise
    };
    atexit::CatchSignals::new()
        .ending(ending)
        .install()
        .expect("signal handling");

    atexit::register(cleanup_stage_one);
    println!("stage one: created");

    atexit::register(cleanup_stage_two);
    println!("stage two: created");
    std::thread::sleep(Duration::from_secs(10)); // stage two's long work

    println!("stage three: never reached in the demo");
}
