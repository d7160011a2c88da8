//! A Kafka-like producer that buffers messages and sends them in batches, and
//! flushes its last, partial batch at exit however the program ends.
//!
//! Batching clients (Kafka, metrics, analytics, log shippers) keep up to a
//! batch of messages in memory. If the program ends before the batch is full,
//! those messages are lost unless someone flushes them. kafka-python solves it
//! with `atexit.register` on a weak reference to the producer; this is the
//! same design in Rust:
//!
//! - At creation the producer registers a flush that holds only a
//!   [`Weak`](std::sync::Weak) reference, so the registration never keeps the
//!   producer alive: the exit handler flushes the producers still alive at
//!   exit and does nothing for the others.
//! - The producer keeps the registration's [`atexit::Guard`]
//!   (`Handle::cancel_on_drop`): `close()` and dropping the producer cancel
//!   the flush at exit, in O(1), so a closed producer leaves no handler.
//! - Dropping the producer flushes too, as `BufWriter` does: a producer that
//!   goes out of scope sends its tail there and then, and its guard removes
//!   the registration, so each message is sent exactly once.
//!
//! A file stands in for the broker: each batch appends its messages to it, one
//! per line.
//!
//! ```text
//! $ cargo run -p atexit-real-world --example batching_producer -- exit /tmp/broker.txt
//! $ wc -l /tmp/broker.txt      # 1000: the last 40 were sent by the exit handler
//! ```
//!
//! The first argument says how the program ends after sending 1,000 messages:
//! `return`, `exit` (`std::process::exit(3)`), `panic`, `signal` (prints
//! `ready`, then waits for SIGTERM or Ctrl+C), `close` (closes the producer
//! first) or `drop` (drops it without closing). The second is the broker file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

/// Messages per batch: a full batch is sent at once.
const BATCH_SIZE: usize = 64;

/// What the producer, its exit handler and its `Drop` share.
struct Inner {
    pending: Vec<String>,
    broker: File,
}

impl Inner {
    /// Sends the buffered messages as one batch.
    fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut batch = self.pending.join("\n");
        batch.push('\n');
        self.broker.write_all(batch.as_bytes())?;
        // Cleared only once sent: a failed batch is retried by the next flush.
        self.pending.clear();
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(error) = self.flush() {
            eprintln!("producer: {} messages lost: {error}", self.pending.len());
        }
    }
}

/// A producer that sends messages in batches of [`BATCH_SIZE`].
struct Producer {
    inner: Arc<Mutex<Inner>>,
    /// Cancels the flush at exit when the producer is closed or dropped.
    _flush_at_exit: atexit::Guard,
}

/// A panic elsewhere must not lose the messages already buffered.
fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Producer {
    fn connect(broker: &Path) -> io::Result<Self> {
        let broker = OpenOptions::new().create(true).append(true).open(broker)?;
        let inner = Arc::new(Mutex::new(Inner {
            pending: Vec::with_capacity(BATCH_SIZE),
            broker,
        }));
        // A strong `Arc` here would keep every producer alive until exit.
        let weak: Weak<Mutex<Inner>> = Arc::downgrade(&inner);
        let flush_at_exit = atexit::register(move || {
            // Gone means dropped, and `Drop` already sent its messages.
            if let Some(inner) = weak.upgrade() {
                if let Err(error) = lock(&inner).flush() {
                    eprintln!("producer: flush at exit failed: {error}");
                }
            }
        });
        Ok(Producer {
            inner,
            _flush_at_exit: flush_at_exit.cancel_on_drop(),
        })
    }

    fn send(&self, message: String) -> io::Result<()> {
        let mut inner = lock(&self.inner);
        inner.pending.push(message);
        if inner.pending.len() >= BATCH_SIZE {
            inner.flush()?;
        }
        Ok(())
    }

    /// Sends what is buffered; dropping `self` then cancels the flush at exit
    /// (the guard): a closed producer needs no handler. Unlike `Drop`, it
    /// reports a failed send.
    fn close(self) -> io::Result<()> {
        lock(&self.inner).flush()
    }
}

/// The application's producer, shared by the whole program as loggers and
/// metrics clients usually are. A `static` is never dropped: without the exit
/// handler its last batch would be lost on every kind of exit.
static EVENTS: OnceLock<Producer> = OnceLock::new();

fn send_all(producer: &Producer) {
    for number in 1..=1000 {
        producer
            .send(format!("message {number}"))
            .expect("send to the broker");
    }
}

/// How the program ends once the messages are sent.
#[derive(Clone, Copy, PartialEq)]
enum Ending {
    Return,
    Exit,
    Panic,
    Signal,
    Closed,
    Dropped,
}

fn parse_ending(arg: Option<String>) -> Ending {
    match arg.as_deref().unwrap_or("return") {
        "return" => Ending::Return,
        "exit" => Ending::Exit,
        "panic" => Ending::Panic,
        "signal" => Ending::Signal,
        "close" => Ending::Closed,
        "drop" => Ending::Dropped,
        other => {
            eprintln!("unknown ending {other:?}: return, exit, panic, signal, close or drop");
            std::process::exit(2);
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ending = parse_ending(args.next());
    let broker = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("broker.txt"));

    atexit::catch_signals().expect("signal handling");

    if ending == Ending::Closed || ending == Ending::Dropped {
        // A producer of limited scope, which the program closes or drops.
        let producer = Producer::connect(&broker).expect("connect to the broker");
        send_all(&producer);
        if ending == Ending::Closed {
            println!("handlers before close: {}", atexit::ncallbacks());
            producer.close().expect("close the producer");
            println!("handlers after close: {}", atexit::ncallbacks());
        } else {
            drop(producer);
            // The guard cancelled the registration with the producer.
            println!("handlers after drop: {}", atexit::ncallbacks());
            let sent = std::fs::read_to_string(&broker).expect("read the broker");
            println!(
                "messages at the broker after drop: {}",
                sent.lines().count()
            );
        }
        return;
    }

    let events = EVENTS.get_or_init(|| Producer::connect(&broker).expect("connect to the broker"));
    send_all(events);

    match ending {
        Ending::Exit => std::process::exit(3),
        Ending::Panic => panic!("the producer's caller failed"),
        Ending::Signal => {
            println!("ready");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        Ending::Return | Ending::Closed | Ending::Dropped => {}
    }
}
