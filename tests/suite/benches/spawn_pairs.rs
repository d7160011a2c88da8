//! `spawn_tied` against a plain `Command::spawn`, as a ratio that a loaded
//! machine does not blur: the two (and std's fork path, a no-op `pre_exec`)
//! alternate spawn by spawn in one process, and the ratio is the median of
//! the per-pair ratios. Criterion's rows (`benches/children.rs`) time each
//! kind in a block of its own, minutes apart, which on a shared machine
//! moved the ratio between 0.45 and 2.09 (BENCHMARKS.md).
//!
//! ```text
//! cargo bench -p atexit-suite --bench spawn_pairs                 # 1,000 pairs
//! cargo bench -p atexit-suite --bench spawn_pairs -- 300 1024     # 300 pairs, 1 GiB parent
//! ```

#[cfg(unix)]
fn main() {
    use atexit::CommandExt;
    use std::os::unix::process::CommandExt as _;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    // cargo bench passes `--bench`: only plain numbers are ours.
    let mut numbers = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse::<usize>().ok());
    let pairs = numbers.next().unwrap_or(1000);
    let mib = numbers.next().unwrap_or(0);
    // A parent with `mib` MiB touched: fork copies its page tables.
    let ballast: Vec<u8> = (0..mib << 20).map(|i| i as u8).collect();

    let micros = |mut command: Command, tied: bool| {
        command.stdin(Stdio::null());
        let start = Instant::now();
        let status = if tied {
            command.spawn_tied().expect("spawn_tied").wait()
        } else {
            command.spawn().expect("spawn").wait()
        };
        status.expect("wait");
        start.elapsed().as_secs_f64() * 1e6
    };
    let plain = || micros(Command::new("true"), false);
    let tied = || micros(Command::new("true"), true);
    let forked = || {
        let mut command = Command::new("true");
        // SAFETY: the closure does nothing.
        unsafe { command.pre_exec(|| Ok(())) };
        micros(command, false)
    };
    let (mut plains, mut tieds, mut forks, mut ratios) = (vec![], vec![], vec![], vec![]);
    // 20 rounds of warm-up, then alternate which kind goes first.
    for round in 0..pairs + 20 {
        let (p, t, f) = if round % 2 == 0 {
            let p = plain();
            let t = tied();
            (p, t, forked())
        } else {
            let f = forked();
            let t = tied();
            (plain(), t, f)
        };
        if round >= 20 {
            plains.push(p);
            tieds.push(t);
            forks.push(f);
            ratios.push(t / p);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!(
        "{pairs} pairs, {mib} MiB parent: Command::spawn {:.0} µs, fork path (no-op pre_exec) {:.0} µs, \
         spawn_tied {:.0} µs (medians); spawn_tied / spawn, median of the pairs' ratios: {:.2}",
        median(&mut plains),
        median(&mut forks),
        median(&mut tieds),
        median(&mut ratios)
    );
    std::hint::black_box(&ballast);
}

#[cfg(not(unix))]
fn main() {}
