//! The watchdog's costs (issue 22): its start (a process of this executable
//! taking the role before any constructor, then leaving on `Bye`), and a
//! tied spawn in a group of its own (a `Tie` and, at the reap, an `Untie`)
//! against a plain spawn of the same command. Run with
//! `cargo bench -p atexit-suite --bench watchdog`.

use criterion::{criterion_group, criterion_main, Criterion};

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn benches(c: &mut Criterion) {
    use atexit::CommandExt as _;
    use std::io::{Read as _, Write as _};
    use std::os::fd::{FromRawFd as _, OwnedFd};
    use std::os::unix::process::CommandExt as _;
    use std::process::{Command, Stdio};

    // `true` in a group of its own, as a tied child that leads one.
    let command = || {
        let mut command = Command::new("true");
        command.process_group(0).stdin(Stdio::null());
        command
    };
    let mut group = c.benchmark_group("watchdog");
    group.sample_size(50);
    group.bench_function("plain spawn + wait (true, own group)", |b| {
        b.iter(|| command().spawn().expect("spawn").wait().expect("wait"))
    });
    // The first one starts the watchdog; the rest are amortized.
    group.bench_function("spawn_tied + wait (true, own group: Tie, Untie)", |b| {
        b.iter(|| command().spawn_tied().expect("spawn").wait().expect("wait"))
    });
    group.bench_function("spawn_tied + wait (true, no group of its own)", |b| {
        b.iter(|| {
            Command::new("true")
                .stdin(Stdio::null())
                .spawn_tied()
                .expect("spawn")
                .wait()
                .expect("wait")
        })
    });
    // A whole watchdog's life, as the crate starts one (the variable's
    // format is the crate's protocol version 1): spawn, take the role in
    // the preinit function, read `Bye`, exit.
    group.bench_function("watchdog start + Bye + exit", |b| {
        b.iter(|| {
            let mut fds = [0; 2];
            // SAFETY: fills two new descriptors, which we then own.
            let made = unsafe {
                libc::socketpair(
                    libc::AF_UNIX,
                    libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                    0,
                    fds.as_mut_ptr(),
                )
            };
            assert_eq!(made, 0);
            // SAFETY: new descriptors owned by nobody else.
            let (ours, theirs) =
                unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            let mut watchdog = Command::new("/proc/self/exe")
                .arg0("atexit-watchdog")
                .env("ATEXIT_WATCHDOG", format!("1:0:{}", std::process::id()))
                .stdin(Stdio::from(theirs))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn the watchdog");
            let mut socket = std::os::unix::net::UnixStream::from(ours);
            socket.write_all(&[1, 3, 0, 0, 0, 0, 0, 0]).expect("Bye");
            let status = watchdog.wait().expect("wait");
            assert!(status.success());
            let mut rest = Vec::new();
            let _ = socket.read_to_end(&mut rest);
        })
    });
    group.finish();
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn benches(_: &mut Criterion) {}

criterion_group!(watchdog, benches);
criterion_main!(watchdog);
