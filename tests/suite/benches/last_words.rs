//! The costs of declared cleanups (issue 24): a declaration (with the
//! watchdog already running, and the first one, which starts it), and a
//! normal exit's run of 100 declarations (each removal, then its `Ran` to
//! the watchdog). The watchdog's start on its own (spawn, role taken in the
//! preinit function, `Bye`, exit) is in `benches/watchdog.rs`. Run with
//! `cargo bench -p atexit-suite --bench last_words`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn benches(c: &mut Criterion) {
    use std::time::{Duration, Instant};

    let dir = std::env::temp_dir().join(format!("atexit-bench-lw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let lock = dir.join("app.lock");
    std::fs::write(&lock, b"").expect("lock");
    let mut group = c.benchmark_group("last_words");
    group.sample_size(50);

    // The watchdog starts at the first declaration; from then on one runs.
    atexit::LastWords::remove_file(&lock)
        .expect("declare")
        .declare()
        .cancel();
    group.bench_function("declare + cancel remove_file, watchdog running", |b| {
        b.iter(|| {
            atexit::LastWords::remove_file(&lock)
                .expect("declare")
                .declare()
                .cancel()
        })
    });
    group.bench_function(
        "declare + cancel restore_terminal_fd (pty), watchdog running",
        |b| {
            let (mut master, mut slave) = (-1, -1);
            // SAFETY: openpty writes two new descriptors that this bench owns.
            let opened = unsafe {
                libc::openpty(
                    &mut master,
                    &mut slave,
                    std::ptr::null_mut(),
                    std::ptr::null(),
                    std::ptr::null(),
                )
            };
            assert_eq!(opened, 0);
            // SAFETY: just opened, owned by nobody else.
            let (_master, slave) = unsafe {
                use std::os::fd::FromRawFd as _;
                (
                    std::os::fd::OwnedFd::from_raw_fd(master),
                    std::os::fd::OwnedFd::from_raw_fd(slave),
                )
            };
            b.iter(|| {
                atexit::LastWords::restore_terminal_fd(&slave)
                    .expect("declare")
                    .declare()
                    .cancel()
            })
        },
    );
    // The first declaration of a process: the watchdog is started with it.
    // Each sample kills the running watchdog first (outside the timing), so
    // the timed declaration finds its socket closed and starts a new one.
    group.bench_function(
        "first declaration: watchdog start + Declare + cancel",
        |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    if let Some(pid) = watchdog_of(std::process::id()) {
                        // SAFETY: our own child, the watchdog; reaped right after.
                        unsafe {
                            libc::kill(pid, libc::SIGKILL);
                            libc::waitpid(pid, std::ptr::null_mut(), 0);
                        }
                    }
                    let start = Instant::now();
                    atexit::LastWords::remove_file(&lock)
                        .expect("declare")
                        .declare()
                        .cancel();
                    total += start.elapsed();
                }
                total
            })
        },
    );
    group.sample_size(20);
    group.bench_function("exit run of 100 declared removals (run_exitfuncs)", |b| {
        b.iter_batched(
            || {
                for i in 0..100 {
                    let path = dir.join(format!("f{i}"));
                    std::fs::write(&path, b"").expect("file");
                    atexit::LastWords::remove_file(&path)
                        .expect("declare")
                        .declare();
                }
            },
            |()| atexit::run_exitfuncs(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The pid of the watchdog of process `pid`: the process whose environment
/// names `pid` as its parent (the watchdog's documented variable).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn watchdog_of(pid: u32) -> Option<i32> {
    let wanted = format!(":{pid}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let candidate: i32 = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(format!("/proc/{candidate}/environ")).ok()?;
            environ
                .split(|&b| b == 0)
                .any(|var| var.starts_with(b"ATEXIT_WATCHDOG=") && var.ends_with(wanted.as_bytes()))
                .then_some(candidate)
        })
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn benches(_: &mut Criterion) {}

criterion_group!(last_words, benches);
criterion_main!(last_words);
