//! The stop of tied children at exit (issue 21) and the cost of a tied
//! spawn (issues 21, 22). The stop: N tied children (N = 1, 20, 1,000)
//! that obey SIGTERM (`sleep`) or ignore it (`sh` with SIGTERM ignored,
//! `exec sleep`; grace 500 ms), spawned untimed, then the exit's handlers
//! run (`run_exitfuncs`) and are timed: SIGTERM, the grace, SIGKILL, the
//! reaps. The spawn: `spawn_tied` against `Command::spawn` of the same
//! command (and with a no-op `pre_exec`, which makes std fork as
//! `spawn_tied` does on Linux), each waited for. Run with
//! `cargo bench -p atexit-suite --bench children`.

use criterion::{criterion_group, criterion_main, Criterion};

#[cfg(unix)]
fn benches(c: &mut Criterion) {
    use atexit::CommandExt as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn obeying() -> Command {
        let mut command = Command::new("sleep");
        command.arg("1000").stdin(Stdio::null());
        command
    }
    fn ignoring() -> Command {
        let mut command = Command::new("sh");
        command
            .args(["-c", "trap '' TERM; exec sleep 1000"])
            .stdin(Stdio::null());
        command
    }
    /// Spawns `n` tied children (untimed), waits until each has exec'd
    /// `sleep` (so a SIGTERM finds the program, not a shell still setting
    /// up), then times the exit's run of their stops.
    fn stop(n: usize, make: fn() -> Command, iterations: u64) -> Duration {
        let mut total = Duration::ZERO;
        for _ in 0..iterations {
            let children: Vec<_> = (0..n)
                .map(|_| {
                    make()
                        .spawn_tied()
                        .expect("spawn")
                        .with_grace(Duration::from_millis(500))
                })
                .collect();
            for child in &children {
                let pid = child.id().expect("running");
                while !std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|line| line.starts_with("sleep"))
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let started = Instant::now();
            atexit::run_exitfuncs();
            total += started.elapsed();
            assert!(children.iter().all(|child| child.id().is_none()));
        }
        total
    }

    let mut group = c.benchmark_group("children stop");
    group.sample_size(10);
    group.sampling_mode(criterion::SamplingMode::Flat);
    for n in [1, 20, 1000] {
        group.bench_function(format!("{n} obeying SIGTERM"), |b| {
            b.iter_custom(|iterations| stop(n, obeying, iterations))
        });
    }
    // One after another, 1,000 graces of 500 ms would take 500 s an
    // iteration: that row is left out unless asked for.
    let ns: &[usize] = if std::env::var_os("ATEXIT_BENCH_ALL").is_some() {
        &[1, 20, 1000]
    } else {
        &[1, 20]
    };
    for &n in ns {
        group.bench_function(format!("{n} ignoring SIGTERM (grace 500 ms)"), |b| {
            b.iter_custom(|iterations| stop(n, ignoring, iterations))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("children spawn");
    group.sample_size(50);
    let spawn = || {
        let mut command = Command::new("true");
        command.stdin(Stdio::null());
        command
    };
    group.bench_function("Command::spawn + wait (true)", |b| {
        b.iter(|| spawn().spawn().expect("spawn").wait().expect("wait"))
    });
    // What `spawn_tied` makes std do where no watchdog runs: a step in the
    // child before `exec` (the parent-death signal) rules out
    // `posix_spawn`, so std forks. This row is that cost alone.
    group.bench_function(
        "Command::spawn + wait (true, a no-op pre_exec: fork)",
        |b| {
            use std::os::unix::process::CommandExt as _;
            b.iter(|| {
                let mut command = spawn();
                // SAFETY: the closure does nothing.
                unsafe { command.pre_exec(|| Ok(())) };
                command.spawn().expect("spawn").wait().expect("wait")
            })
        },
    );
    group.bench_function("spawn_tied + wait (true)", |b| {
        b.iter(|| spawn().spawn_tied().expect("spawn").wait().expect("wait"))
    });
    // A parent with a large heap: fork copies its page tables (about 25 µs
    // a MiB touched here), `posix_spawn` does not.
    let ballast: Vec<u8> = (0..256usize << 20).map(|i| i as u8).collect();
    group.bench_function("Command::spawn + wait (true), 256 MiB parent", |b| {
        b.iter(|| spawn().spawn().expect("spawn").wait().expect("wait"))
    });
    group.bench_function("spawn_tied + wait (true), 256 MiB parent", |b| {
        b.iter(|| spawn().spawn_tied().expect("spawn").wait().expect("wait"))
    });
    std::hint::black_box(&ballast);
    group.finish();
}

#[cfg(not(unix))]
fn benches(_: &mut Criterion) {}

criterion_group!(children, benches);
criterion_main!(children);
