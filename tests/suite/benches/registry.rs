//! The registry's speed, with criterion: register, cancel, unregister by
//! function, run, and register from two threads. `comparisons/compare.sh` runs the
//! same workloads in CPython and against glibc's `atexit` for the ratios, and
//! BENCHMARKS.md records the results.
//!
//! Every benchmark works on the process-wide registry and leaves it empty.

mod distinct;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn noop() {}

/// Registers `count` handlers that are not measured (the background).
fn fill(count: usize) {
    for _ in 0..count {
        atexit::register(noop);
    }
}

fn register(c: &mut Criterion) {
    let mut group = c.benchmark_group("register");
    group.throughput(Throughput::Elements(1));
    group.bench_function("fn item", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                black_box(atexit::register(noop));
            }
            let elapsed = start.elapsed();
            atexit::clear();
            elapsed
        })
    });
    group.bench_function("closure capturing a u64", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                black_box(atexit::register(move || {
                    black_box(i);
                }));
            }
            let elapsed = start.elapsed();
            atexit::clear();
            elapsed
        })
    });
    group.bench_function("closure capturing a String", |b| {
        b.iter_custom(|iters| {
            let names: Vec<String> = (0..iters).map(|i| format!("temp-{i}")).collect();
            let start = Instant::now();
            for name in names {
                black_box(atexit::register(move || {
                    black_box(&name);
                }));
            }
            let elapsed = start.elapsed();
            atexit::clear();
            elapsed
        })
    });
    group.bench_function("two threads at once (per thread)", |b| {
        b.iter_custom(|iters| {
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let barrier = std::sync::Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        for _ in 0..iters {
                            black_box(atexit::register(noop));
                        }
                        start.elapsed()
                    })
                })
                .collect();
            let slowest = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .max()
                .unwrap();
            atexit::clear();
            slowest
        })
    });
    // The per-request guard of a service: each request registers its
    // cleanup and cancels it when done, on two threads at once.
    group.bench_function("register + cancel_on_drop, two threads (per pair)", |b| {
        b.iter_custom(|iters| {
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let barrier = std::sync::Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        barrier.wait();
                        let start = Instant::now();
                        for _ in 0..iters {
                            drop(black_box(atexit::register(noop).cancel_on_drop()));
                        }
                        start.elapsed()
                    })
                })
                .collect();
            threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .max()
                .unwrap()
        })
    });
    group.finish();
}

fn handle_unregister(c: &mut Criterion) {
    let mut group = c.benchmark_group("handle unregister");
    group.throughput(Throughput::Elements(1));
    for background in [1_000, 100_000] {
        group.bench_with_input(
            BenchmarkId::new("with registered", background),
            &background,
            |b, &background| {
                fill(background);
                b.iter_custom(|iters| {
                    let handles: Vec<_> = (0..iters).map(|_| atexit::register(noop)).collect();
                    let start = Instant::now();
                    for handle in handles {
                        black_box(handle.unregister());
                    }
                    start.elapsed()
                });
                atexit::clear();
            },
        );
    }
    group.finish();
}

fn unregister_distinct(c: &mut Criterion) {
    let mut group = c.benchmark_group("unregister distinct functions (total)");
    group.sample_size(20);
    for blocks in [1, 4, 16] {
        let functions = blocks * distinct::BLOCK;
        group.bench_with_input(
            BenchmarkId::from_parameter(functions),
            &blocks,
            |b, &blocks| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        for register in &distinct::REGISTER[..blocks] {
                            register();
                        }
                        let start = Instant::now();
                        for unregister in &distinct::UNREGISTER[..blocks] {
                            unregister();
                        }
                        total += start.elapsed();
                        assert_eq!(atexit::ncallbacks(), 0);
                    }
                    total
                })
            },
        );
    }
    group.finish();
}

fn run(c: &mut Criterion) {
    const HANDLERS: u64 = 1_000_000;
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    group.throughput(Throughput::Elements(HANDLERS));
    group.bench_function("1M handlers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                fill(HANDLERS as usize);
                let start = Instant::now();
                atexit::run_exitfuncs();
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    register,
    handle_unregister,
    unregister_distinct,
    run
);
criterion_main!(benches);
