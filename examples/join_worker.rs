//! A background thread still working when `main` ends. Python's advice is to
//! join your threads; at exit, a handler can join a worker, but only for a
//! bounded time, so a stuck worker cannot hold the process forever. It waits
//! up to 500 ms and warns on stderr when the worker is still alive.
//!
//! Rust, unlike Python, does not wait for threads when `main` returns: it
//! ends them. The handler is where the program decides.
//!
//! ```text
//! $ cargo run --example join_worker -- quick   # the worker needs 100 ms
//! main: done
//! exit: joined the worker
//! $ cargo run --example join_worker -- slow    # the worker needs 10 s
//! main: done
//! (stderr) warning: the worker is still running after 500 ms; exiting without it
//! ```

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const JOIN_TIMEOUT: Duration = Duration::from_millis(500);

fn main() {
    let work = match std::env::args().nth(1).as_deref() {
        Some("slow") => Duration::from_secs(10),
        _ => Duration::from_millis(100),
    };
    let (done, finished) = mpsc::channel();
    let worker = thread::spawn(move || {
        thread::sleep(work); // the work
        let _ = done.send(());
    });
    atexit::register(move || match finished.recv_timeout(JOIN_TIMEOUT) {
        Ok(()) => {
            worker.join().expect("the worker panicked");
            println!("exit: joined the worker");
        }
        Err(_) => eprintln!(
            "warning: the worker is still running after {} ms; exiting without it",
            JOIN_TIMEOUT.as_millis()
        ),
    });
    println!("main: done");
}
