//! What waiting for a shutdown request costs a service, with criterion: the
//! one-load check a worker makes between items, and the future a task
//! awaits (first poll takes a waker slot, a poll again with the same waker,
//! drop frees the slot). No request is made: it would be the whole
//! process's, once. BENCHMARKS.md records the results.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

struct NoWake;
impl Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

fn shutdown(c: &mut Criterion) {
    let waker = Waker::from(Arc::new(NoWake));
    let mut group = c.benchmark_group("shutdown request");
    group.throughput(Throughput::Elements(1));
    let request = atexit::shutdown_request();
    group.bench_function("is_requested", |b| {
        b.iter(|| black_box(&request).is_requested())
    });
    group.bench_function("first poll and drop (a task's select! turn)", |b| {
        b.iter(|| {
            let mut future = atexit::shutdown_request();
            let polled = Pin::new(&mut future).poll(&mut Context::from_waker(&waker));
            let _ = black_box(polled);
        })
    });
    let mut held = atexit::shutdown_request();
    let _ = Pin::new(&mut held).poll(&mut Context::from_waker(&waker));
    group.bench_function("poll again, same waker", |b| {
        b.iter(|| black_box(Pin::new(&mut held).poll(&mut Context::from_waker(&waker))))
    });
    group.finish();
}

criterion_group!(benches, shutdown);
criterion_main!(benches);
