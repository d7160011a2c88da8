//! A batch converter on a pool of std threads that shuts down cleanly on
//! Ctrl+C (SIGINT) or SIGTERM: each worker finishes the item it is on and
//! takes no new one, `main` joins the workers and returns, an exit handler
//! writes the summary, and the process still dies by the signal, so the
//! shell or the supervisor sees why it stopped.
//!
//! ```text
//! $ cargo run --example thread_pool -- --items 20 --workers 4
//! start 1
//! start 2
//! start 3
//! start 4
//! done 1
//! start 5
//! ...
//! ^C
//! draining on SIGINT: 4 in progress, 10 not started
//! done 6
//! ...
//! summary: 10 of 20 done, 10 left (0 in progress, 10 not started); shutdown by SIGINT
//! $ echo $?
//! 130
//! ```
//!
//! (130 is the shell's way of saying "killed by SIGINT"; with `--exit-code`
//! the process exits with status 130 instead of dying by the signal.)
//!
//! It shows the graceful-shutdown mode of signal handling
//! ([`atexit::CatchSignals::graceful_shutdown`]): the first signal does not
//! end the process, it asks for a shutdown. The workers check
//! [`atexit::ShutdownRequest::is_requested`] (one atomic load) between
//! items; the main thread waits for the request or the end of the work.
//! Then:
//!
//! - a second Ctrl+C ends the drain at once: the exit handlers run now (the
//!   items in progress are cut short) and the process dies by the first
//!   signal;
//! - if the drain outlasts the drain timeout (`--drain-ms`), the handlers run anyway
//!   and the process dies by the signal: a stuck item cannot keep it alive.
//!
//! Options (all optional):
//!
//! - `--items N`: items to convert (20); `--workers N`: threads (4);
//! - `--item-ms MS`: the work of one item, simulated (200);
//! - `--drain-ms MS`: the drain timeout (20000);
//! - `--hang ITEM`: that item never finishes, so only the drain timeout (or a
//!   second signal) ends the drain;
//! - `--summary FILE`: also write the summary line to FILE;
//! - `--exit-code`: end with status 128 + signal number rather than by the
//!   signal.
//!
//! Every worker prints `start <item>` and `done <item>`, and the exit handler
//! prints the `summary:` line: `tests/thread_pool.rs` reads them to check that
//! every item started was finished and that none started after the request.
//! Unix-first: on Windows, Ctrl+C is `Signal::Int` and asks for the shutdown
//! the same way (written to that contract; CI runs it there without signals).

use atexit::{CatchSignals, ShutdownRequest, Signal, SignalEnding};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

struct Options {
    items: usize,
    workers: usize,
    item: Duration,
    drain_timeout: Duration,
    hang: Option<usize>,
    summary: Option<PathBuf>,
    exit_code: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        items: 20,
        workers: 4,
        item: Duration::from_millis(200),
        drain_timeout: Duration::from_secs(20),
        hang: None,
        summary: None,
        exit_code: false,
    };
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy().into_owned();
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value"))
                .map(|value| value.to_string_lossy().into_owned())
        };
        let number = |text: String| {
            text.parse::<u64>()
                .map_err(|error| format!("{arg} {text}: {error}"))
        };
        match arg.as_str() {
            "--items" => options.items = number(value()?)? as usize,
            "--workers" => options.workers = (number(value()?)? as usize).max(1),
            "--item-ms" => options.item = Duration::from_millis(number(value()?)?),
            "--drain-ms" => options.drain_timeout = Duration::from_millis(number(value()?)?),
            "--hang" => options.hang = Some(number(value()?)? as usize),
            "--summary" => options.summary = Some(PathBuf::from(value()?)),
            "--exit-code" => options.exit_code = true,
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(options)
}

/// The pool's state. One lock for the queue and the counts, taken to start
/// an item, to finish one, to announce the drain and to write the summary:
/// so the `start`/`done` lines, the drain's line and the summary always
/// agree, whichever thread reads them and whenever.
struct Pool {
    queue: VecDeque<usize>,
    total: usize,
    started: usize,
    done: usize,
}

impl Pool {
    fn summary(&self, shutdown: Option<Signal>) -> String {
        let in_progress = self.started - self.done;
        let why = match shutdown {
            Some(signal) => format!("shutdown by {signal}"),
            None => "no shutdown asked".to_owned(),
        };
        format!(
            "summary: {} of {} done, {} left ({in_progress} in progress, {} not started); {why}",
            self.done,
            self.total,
            self.total - self.done,
            self.queue.len(),
        )
    }
}

/// The lock, even if a worker panicked while holding it: the counts are
/// still right, and the summary must be written anyway.
fn lock(pool: &Mutex<Pool>) -> MutexGuard<'_, Pool> {
    pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn worker(pool: &Mutex<Pool>, options: &Options, shutdown: &ShutdownRequest) {
    loop {
        let item = {
            let mut pool = lock(pool);
            // Checked under the lock the main thread takes to announce the
            // drain: once "draining" is printed, no item starts.
            if shutdown.is_requested() {
                return;
            }
            let Some(item) = pool.queue.pop_front() else {
                return;
            };
            pool.started += 1;
            // `println!` flushes at the newline: the line is out before the
            // work starts, for whoever watches the output.
            println!("start {item}");
            item
        };
        convert(item, options);
        let mut pool = lock(pool);
        pool.done += 1;
        println!("done {item}");
    }
}

/// The work on one item, simulated: a sleep. `--hang` makes one item stand
/// for a conversion stuck for good (a dead network share), which no check
/// between items can interrupt.
fn convert(item: usize, options: &Options) {
    if options.hang == Some(item) {
        loop {
            thread::park();
        }
    }
    thread::sleep(options.item);
}

fn main() {
    let options = parse_options().unwrap_or_else(|error| {
        eprintln!("thread_pool: {error}");
        std::process::exit(2);
    });

    // The drain gets the drain timeout; the exit handlers then get 5 s of their own
    // (as a supervisor's stop timeout would be split).
    atexit::set_deadline(Some(Duration::from_secs(5)));
    let mut catch = CatchSignals::new()
        .only([Signal::Int, Signal::Term])
        .graceful_shutdown(options.drain_timeout);
    if options.exit_code {
        catch = catch.ending(SignalEnding::ExitCode);
    }
    catch.install().expect("signal handling");

    let pool = Arc::new(Mutex::new(Pool {
        queue: (1..=options.items).collect(),
        total: options.items,
        started: 0,
        done: 0,
    }));
    let options = Arc::new(options);
    let shutdown = atexit::shutdown_request();

    // The handler owns what it reports (an `Arc`, not a thread-local: those
    // of the exiting thread are gone when handlers run). It runs however the
    // process ends: after `main` returns, when the drain timeout passes, or on a
    // second signal while the workers are still busy.
    atexit::register({
        let pool = Arc::clone(&pool);
        let options = Arc::clone(&options);
        move || {
            let summary = lock(&pool).summary(atexit::shutdown_request().signal());
            if let Some(path) = &options.summary {
                if let Err(error) = std::fs::write(path, format!("{summary}\n")) {
                    eprintln!("thread_pool: cannot write {}: {error}", path.display());
                }
            }
            println!("{summary}");
        }
    });

    let workers: Vec<_> = (0..options.workers)
        .map(|_| {
            let pool = Arc::clone(&pool);
            let options = Arc::clone(&options);
            let shutdown = shutdown.clone();
            thread::spawn(move || worker(&pool, &options, &shutdown))
        })
        .collect();

    // The main thread waits for whichever comes first, the request or the
    // end of the work; a bounded wait lets it check the workers now and then.
    while !workers.iter().all(|worker| worker.is_finished()) {
        if let Some(signal) = shutdown.wait_timeout(Duration::from_millis(50)) {
            let pool = lock(&pool);
            println!(
                "draining on {signal}: {} in progress, {} not started",
                pool.started - pool.done,
                pool.queue.len()
            );
            break;
        }
    }
    for worker in workers {
        worker.join().expect("a worker panicked");
    }
    // Returning runs the exit handlers; after a request the process then
    // dies by the signal (or exits with 128 + its number, `--exit-code`).
}
