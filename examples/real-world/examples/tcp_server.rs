//! A `#[tokio::main]` TCP server that shuts down gracefully on SIGTERM or
//! Ctrl+C: it stops accepting, finishes every request in hand, returns from
//! `main`, and only then do its exit handlers run; the process still dies by
//! the signal, so its supervisor (systemd, Kubernetes, a shell) sees why it
//! stopped.
//!
//! Without graceful-shutdown mode a caught signal runs the exit handlers at once and
//! ends the process, cutting the requests in flight; with tokio's own
//! `ctrl_c()` the process exits with status 0 and nothing bounds the drain.
//! Here [`atexit::CatchSignals::graceful_shutdown`] turns the first signal
//! into a request that the accept loop awaits ([`atexit::shutdown_request`],
//! a future that needs no runtime of its own) next to `accept()`:
//!
//! - the drain timeout (`--drain-ms`, 20 s by default) bounds the drain: when it
//!   passes, the exit handlers run anyway and the process dies by the signal;
//! - a second signal ends the drain at once, in the same way;
//! - the exit handler, registered with [`atexit::register`], writes the
//!   server's counts to a stats file however the process ends, and says
//!   `complete` on its last line, so a reader can tell a whole file.
//!
//! The protocol: a client sends one line, the server works on it for 300 ms
//! and answers `done <line>` and closes the connection.
//!
//! ```text
//! $ cargo run -p atexit-real-world --example tcp_server -- /tmp/stats.txt
//! listening on 40213
//! $ echo 7 | nc 127.0.0.1 40213        # in another terminal: "done 7"
//! ^C                                    # the server: Ctrl+C
//! SIGINT: stopped accepting, draining 0 connections
//! drained, returning from main
//! stats written: accepted 1, answered 1
//! $ cat /tmp/stats.txt
//! accepted 1
//! answered 1
//! complete
//! ```
//!
//! Arguments: `[--drain-ms N] [--stuck] [STATS_FILE]`. `--stuck` makes the
//! first request never finish (a stand-in for a hung upstream call), so the
//! drain never ends and the drain timeout (or a second signal) ends the process. The
//! stats file is `STATS_FILE`, else `$TCP_SERVER_STATS`, else
//! `tcp_server_stats.txt` in the temp directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use atexit::Signal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// How long a request takes to work on.
const WORK: Duration = Duration::from_millis(300);
/// How long a client may take to send its request line: a client that
/// connects and sends nothing must not hold the drain up until the drain timeout.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

// The counts live in statics, not in `main`'s locals or thread-locals: the
// exit handler may run after `main` has returned (its locals dropped, its
// runtime's threads gone with their thread-locals) or on a thread of
// atexit's while `main` is still draining.
/// Connections accepted.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// Replies written in full.
static ANSWERED: AtomicU64 = AtomicU64::new(0);
/// `--stuck`: whether the stuck request is still to come.
static STUCK_LEFT: AtomicBool = AtomicBool::new(false);

struct Options {
    drain_timeout: Duration,
    stats: PathBuf,
}

fn parse_options() -> Options {
    let mut drain_timeout = Duration::from_secs(20);
    let mut stats = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--drain-ms" => {
                let ms = args.next().and_then(|ms| ms.parse().ok());
                let Some(ms) = ms else {
                    usage("--drain-ms needs a number")
                };
                drain_timeout = Duration::from_millis(ms);
            }
            "--stuck" => STUCK_LEFT.store(true, Ordering::SeqCst),
            _ if arg.starts_with("--") => usage(&format!("unknown option {arg}")),
            _ => stats = Some(PathBuf::from(arg)),
        }
    }
    let stats = stats
        .or_else(|| std::env::var_os("TCP_SERVER_STATS").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("tcp_server_stats.txt"));
    Options {
        drain_timeout,
        stats,
    }
}

fn usage(problem: &str) -> ! {
    eprintln!("{problem}\nusage: tcp_server [--drain-ms N] [--stuck] [STATS_FILE]");
    std::process::exit(2);
}

/// Writes the counts, then `complete`, and syncs the file: a reader that
/// finds the last line knows that the counts above it are whole.
fn write_stats(path: &Path) -> std::io::Result<(u64, u64)> {
    let accepted = ACCEPTED.load(Ordering::SeqCst);
    let answered = ANSWERED.load(Ordering::SeqCst);
    let mut file = std::fs::File::create(path)?;
    write!(file, "accepted {accepted}\nanswered {answered}\ncomplete\n")?;
    file.sync_all()?;
    Ok((accepted, answered))
}

/// One connection: one request line in, one reply line out.
async fn serve(stream: TcpStream) {
    let (reader, mut writer) = stream.into_split();
    let mut request = String::new();
    let mut reader = BufReader::new(reader);
    match tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut request)).await {
        Ok(Ok(1..)) => {}
        // Closed, failed or silent: nothing to answer.
        _ => return,
    }
    let request = request.trim_end();
    if STUCK_LEFT.swap(false, Ordering::SeqCst) {
        println!("request {request} never finishes");
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(WORK).await;
    // One write of the whole line, counted only once it has gone out.
    let reply = format!("done {request}\n");
    if writer.write_all(reply.as_bytes()).await.is_ok() {
        ANSWERED.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = parse_options();

    // The exit handlers get 5 s, the drain `drain_timeout`: a supervisor's stop
    // timeout should cover both (systemd's TimeoutStopSec, Kubernetes'
    // terminationGracePeriodSeconds).
    atexit::set_deadline(Some(Duration::from_secs(5)));
    // Named signals are caught even when ignored at start, as shells do with
    // SIGINT for background jobs. SIGHUP and SIGQUIT keep their default
    // action: they still kill the server at once.
    atexit::CatchSignals::new()
        .only([Signal::Term, Signal::Int])
        .graceful_shutdown(options.drain_timeout)
        .install()?;
    let stats = options.stats;
    atexit::register(move || match write_stats(&stats) {
        Ok((accepted, answered)) => {
            println!("stats written: accepted {accepted}, answered {answered}")
        }
        Err(error) => eprintln!("cannot write {}: {error}", stats.display()),
    });

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?.port());
    // Rust's stdout is line-buffered, but say it: a test reads this line to
    // find the port.
    std::io::stdout().flush()?;

    // One waiter, polled again on every turn of the loop: the request is
    // recorded once and never withdrawn, so it cannot be missed between two
    // turns.
    let mut shutdown = atexit::shutdown_request();
    let mut connections = JoinSet::new();
    let signal = loop {
        tokio::select! {
            // Checked first: once the shutdown is asked for, no connection
            // is accepted any more, even one that is ready.
            biased;
            signal = &mut shutdown => break signal,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    ACCEPTED.fetch_add(1, Ordering::SeqCst);
                    connections.spawn(serve(stream));
                }
                // A connection that failed before it was accepted (reset by
                // its client), or no descriptor left: the server goes on,
                // after a pause, since the latter fails again at once.
                Err(error) => {
                    eprintln!("accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reaps finished connections, so that the set holds only the
            // ones in flight.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };

    // Dropping the listener closes the port: new clients are refused, and
    // the ones still waiting in the backlog are reset, before any reply.
    drop(listener);
    // The ones that ended since the last turn are not in flight.
    while connections.try_join_next().is_some() {}
    println!(
        "{signal}: stopped accepting, draining {} connections",
        connections.len()
    );
    while connections.join_next().await.is_some() {}
    println!("drained, returning from main");
    // Returning (status 0) after a shutdown request runs the exit handlers,
    // then the process dies by `signal`.
    Ok(())
}
