//! What 1,000 `#[atexit::handler]` functions cost a process: the examples
//! `startup_handlers` (1,000 handlers) and `startup_empty` (none), built with
//! the bench profile, each started 300 times, alternating. Prints medians:
//! to `main` (`--exit-now`), and the whole process (handlers sorted and run
//! at exit).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 300;

#[path = "../../support/mod.rs"]
mod support;

/// Builds both examples with the bench profile; returns their folder.
fn build() -> PathBuf {
    support::build_in_own_target(
        "startup-bench",
        &[
            "--profile",
            "bench",
            "--example",
            "startup_handlers",
            "--example",
            "startup_empty",
        ],
    )
    .join("release/examples")
}

fn time_once(program: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(program).args(args).status().expect("start");
    let elapsed = start.elapsed();
    assert!(status.success());
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not run this.
    let dir = build();
    let with = dir.join(format!("startup_handlers{}", std::env::consts::EXE_SUFFIX));
    let without = dir.join(format!("startup_empty{}", std::env::consts::EXE_SUFFIX));
    for (label, args) in [("to main", &["--exit-now"][..]), ("whole process", &[][..])] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            a.push(time_once(&with, args));
            b.push(time_once(&without, args));
        }
        let (with_median, without_median) = (median(a), median(b));
        let added = with_median.as_nanos() as i128 - without_median.as_nanos() as i128;
        println!(
            "startup/{label}: 1,000 handlers {:.1} µs, none {:.1} µs, added {:.1} µs (medians of {RUNS})",
            with_median.as_nanos() as f64 / 1e3,
            without_median.as_nanos() as f64 / 1e3,
            added as f64 / 1e3,
        );
    }
}
