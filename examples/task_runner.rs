//! A small task runner: it starts a few workers, each of which starts a
//! child of its own (a `sleep`, standing for a compiler or a test binary),
//! and however the runner ends, the workers and their children end too.
//!
//! ```text
//! $ cargo run --example task_runner -- exit /tmp/runner
//! worker 0 12345 12350
//! worker 1 12346 12352
//! ready
//! <Enter>
//! $ cat /tmp/runner/worker-0.flushed     # each worker got SIGTERM and flushed
//! flushed
//! ```
//!
//! The first argument is how the runner ends: `return`, `exit`
//! (`std::process::exit(3)`), `atexit-exit` (`atexit::exit(4)`), `panic`,
//! `signal` (waits for SIGTERM, caught), `kill` (waits for SIGKILL),
//! `exit-now` (`atexit::exit_now(5)`, no handlers) or `abort`. The second is
//! a directory where workers write `worker-<i>.flushed` when they stop
//! cleanly. Options: `--workers N` (2), `--grace-ms MS` (the default grace),
//! `--stubborn` (workers ignore SIGTERM, so they are killed after the
//! grace), `--shell` (each worker is `sh -c 'sleep 1000 & wait'`, whose
//! `sleep` is not spawned tied).
//!
//! Each worker is spawned with [`atexit::CommandExt::spawn_tied`] in a
//! process group of its own: at exit the whole group gets SIGTERM, and if
//! the runner dies without running handlers, the watchdog kills the
//! worker's group on Linux, its `sleep` included.
//!
//! The runner prints `worker <i> <worker pid> <grandchild pid>` for each
//! worker, then `ready`, then waits for a line on stdin (press Enter), or
//! for the signal, and ends.

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    unix::main()
}

#[cfg(not(unix))]
fn main() {
    eprintln!("this example uses Unix process groups and signals");
}

#[cfg(unix)]
mod unix {
    use atexit::CommandExt as _;
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt as _;
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    pub fn main() -> std::io::Result<()> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if args.first().map(String::as_str) == Some("worker") {
            return worker(&args[1..]);
        }
        let ending = args.first().cloned().unwrap_or_else(|| "return".into());
        let dir = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| ".".into()));
        let option = |name: &str| {
            args.iter()
                .position(|arg| arg == name)
                .and_then(|at| args.get(at + 1))
                .and_then(|value| value.parse::<u64>().ok())
        };
        let workers = option("--workers").unwrap_or(2);
        let grace = option("--grace-ms").map(Duration::from_millis);
        let stubborn = args.iter().any(|arg| arg == "--stubborn");
        let shell = args.iter().any(|arg| arg == "--shell");

        if ending == "signal" {
            atexit::catch_signals()?;
        }
        let mut running = Vec::new();
        for i in 0..workers {
            let mut command = if shell {
                let mut command = Command::new("sh");
                command.args(["-c", "sleep 1000 & echo \"ready $!\"; wait"]);
                command
            } else {
                let mut command = Command::new(std::env::current_exe()?);
                command.arg("worker").arg(i.to_string()).arg(&dir);
                if stubborn {
                    command.arg("stubborn");
                }
                command
            };
            // A group of its own: stopping the worker stops what it started.
            command.process_group(0).stdout(Stdio::piped());
            let mut worker = command.spawn_tied()?;
            if let Some(grace) = grace {
                worker = worker.with_grace(grace);
            }
            let mut line = String::new();
            BufReader::new(worker.take_stdout().expect("piped")).read_line(&mut line)?;
            let grandchild = line
                .trim()
                .strip_prefix("ready ")
                .unwrap_or("?")
                .to_string();
            println!("worker {i} {} {grandchild}", worker.id().unwrap_or(0));
            running.push(worker);
        }
        println!("ready");

        if ending != "signal" && ending != "kill" {
            // Go on when told (a line, or the end of stdin).
            std::io::stdin().read_line(&mut String::new())?;
        }
        match ending.as_str() {
            "return" => Ok(()),
            "exit" => std::process::exit(3),
            "atexit-exit" => atexit::exit(4),
            "panic" => panic!("a task failed"),
            "exit-now" => atexit::exit_now(5),
            "abort" => std::process::abort(),
            // "signal", "kill": wait for it.
            _ => loop {
                std::thread::sleep(Duration::from_secs(1));
            },
        }
    }

    /// A worker: starts its own child, and flushes its work (a file) when
    /// asked to stop by SIGTERM, unless stubborn (it then ignores SIGTERM).
    fn worker(args: &[String]) -> std::io::Result<()> {
        let index = args.first().cloned().unwrap_or_default();
        let dir = PathBuf::from(args.get(1).cloned().unwrap_or_else(|| ".".into()));
        if args.get(2).map(String::as_str) == Some("stubborn") {
            // SAFETY: ignoring a signal is always sound.
            unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
        } else {
            atexit::catch_signals()?;
        }
        // Its own child, tied to it: it dies with the worker however the
        // worker ends. In the worker's group, so the runner's SIGTERM to the
        // group reaches it as well.
        let grandchild = Command::new("sleep")
            .arg("1000")
            .stdout(Stdio::null())
            .spawn_tied()?;
        atexit::register(move || {
            // Some work to flush, which takes a moment.
            std::thread::sleep(Duration::from_millis(200));
            let _ = std::fs::write(dir.join(format!("worker-{index}.flushed")), "flushed\n");
        });
        println!("ready {}", grandchild.id().unwrap_or(0));
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}
