//! An axum HTTP server that shuts down gracefully on SIGTERM or Ctrl+C, the
//! way a Tokio service does it: axum's own `with_graceful_shutdown` takes
//! atexit's shutdown request as its `()` future
//! ([`atexit::ShutdownRequest::requested`]), so the first signal stops the
//! accepting, every request in flight is answered, `main` returns, and only
//! then do the exit handlers run; the process still dies by the signal, so
//! its supervisor sees why it stopped. A `TaskTracker` (tokio-util) holds
//! the work the requests started, and a `CancellationToken` that the
//! request cancels ([`atexit::shutdown_token`]) tells a task of the drain.
//!
//! - the drain timeout (`--drain-ms`, 20 s by default) bounds the drain: when
//!   it passes, the exit handlers run anyway and the process dies by the
//!   signal; a second signal ends the drain at once, in the same way;
//!   A client that sent part of a request and then nothing holds axum's
//!   drain (hyper waits for the rest, and axum's `serve` sets no header
//!   timeout): the drain timeout is what ends that one;
//! - the exit handler, registered with [`atexit::register`], writes the
//!   server's counts to a stats file however the process ends, and says
//!   `complete` on its last line, so a reader can tell a whole file.
//!
//! The protocol: `GET /work/<n>` works for 300 ms (`--work-ms`) and answers
//! `200 OK` with the body `done <n>\n`. `POST /admin/stop` cancels a token
//! of the program's whose cancellation is the shutdown request
//! ([`atexit::request_shutdown_on_cancel`]): the same drain as on SIGTERM.
//!
//! ```text
//! $ cargo run -p atexit-real-world --features tokio-util --example axum_server -- /tmp/stats.txt
//! listening on 40213
//! $ curl 127.0.0.1:40213/work/7             # in another terminal: "done 7"
//! ^C                                        # the server: Ctrl+C
//! SIGINT: stopped accepting, draining 0 requests
//! drained, returning from main
//! stats written: accepted 1, answered 1
//! ```
//!
//! Arguments: `[--drain-ms N] [--work-ms N] [--slow-start-ms N] [STATS_FILE]`.
//! `--slow-start-ms` waits before listening, a stand-in for loading a
//! configuration: a signal then already asks for the shutdown, and the
//! server stops as soon as it listens. The stats file is `STATS_FILE`,
//! else `$AXUM_SERVER_STATS`, else `axum_server_stats.txt` in the temp
//! directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use atexit::Signal;
use axum::extract::{Path as UrlPath, State};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

// The counts live in statics, not in `main`'s locals: the exit handler may
// run after `main` has returned, or on a thread of atexit's while `main` is
// still draining (the drain timeout passed, or a second signal came).
/// Requests that reached the handler.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);
/// Replies handed to axum, which writes each one before it closes the
/// connection, also during a graceful shutdown.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

struct Options {
    drain_timeout: Duration,
    work: Duration,
    slow_start: Duration,
    stats: PathBuf,
}

fn parse_options() -> Options {
    let mut options = Options {
        drain_timeout: Duration::from_secs(20),
        work: Duration::from_millis(300),
        slow_start: Duration::ZERO,
        stats: PathBuf::new(),
    };
    let mut stats = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut millis = |name: &str| match args.next().and_then(|ms| ms.parse().ok()) {
            Some(ms) => Duration::from_millis(ms),
            None => usage(&format!("{name} needs a number")),
        };
        match arg.as_str() {
            "--drain-ms" => options.drain_timeout = millis("--drain-ms"),
            "--work-ms" => options.work = millis("--work-ms"),
            "--slow-start-ms" => options.slow_start = millis("--slow-start-ms"),
            _ if arg.starts_with("--") => usage(&format!("unknown option {arg}")),
            _ => stats = Some(PathBuf::from(arg)),
        }
    }
    options.stats = stats
        .or_else(|| std::env::var_os("AXUM_SERVER_STATS").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("axum_server_stats.txt"));
    options
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: axum_server [--drain-ms N] [--work-ms N] [--slow-start-ms N] [STATS_FILE]"
    );
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

#[derive(Clone)]
struct App {
    /// The work the requests started: it goes on when a client leaves, and
    /// `main` waits for it before returning.
    work: TaskTracker,
    work_time: Duration,
}

/// `GET /work/<n>`: 300 ms of work, then `done <n>`.
async fn work(State(app): State<App>, UrlPath(n): UrlPath<u64>) -> String {
    ACCEPTED.fetch_add(1, Ordering::SeqCst);
    let job = app.work.spawn(tokio::time::sleep(app.work_time));
    let _ = job.await;
    ANSWERED.fetch_add(1, Ordering::SeqCst);
    format!("done {n}\n")
}

/// `POST /admin/stop`: the program's own "drain and stop", by a token.
async fn stop(State(stop): State<CancellationToken>) -> &'static str {
    stop.cancel();
    "stopping\n"
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let options = parse_options();

    // The exit handlers get 5 s, the drain `drain_timeout`: a supervisor's
    // stop timeout should cover both.
    atexit::set_deadline(Some(Duration::from_secs(5)));
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

    if !options.slow_start.is_zero() {
        println!("starting");
        std::io::stdout().flush()?;
        tokio::time::sleep(options.slow_start).await;
    }

    let app = App {
        work: TaskTracker::new(),
        work_time: options.work,
    };
    // The token form, for code that stops on a `CancellationToken`: this
    // task only tells of the drain.
    let token = atexit::shutdown_token();
    let told = tokio::spawn(async move {
        token.cancelled().await;
        let signal = atexit::shutdown_request()
            .signal()
            .expect("the request cancelled it");
        let in_flight = ACCEPTED.load(Ordering::SeqCst) - ANSWERED.load(Ordering::SeqCst);
        println!("{signal}: stopped accepting, draining {in_flight} requests");
    });

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on {}", listener.local_addr()?.port());
    // A test reads this line to find the port.
    std::io::stdout().flush()?;

    // The other way round, for code that stops on a token of its own: its
    // cancellation is the shutdown request, as if SIGTERM had come (the
    // process then dies by SIGTERM). The watch ends with the request.
    let admin_stop = CancellationToken::new();
    tokio::spawn(atexit::request_shutdown_on_cancel(
        admin_stop.clone(),
        Signal::Term,
    ));

    let router = Router::new()
        .route("/work/{n}", get(work))
        .with_state(app.clone())
        .merge(
            Router::new()
                .route("/admin/stop", post(stop))
                .with_state(admin_stop),
        );
    // axum stops accepting when the request is made, and returns once every
    // connection has finished its request in flight and closed.
    axum::serve(listener, router)
        .with_graceful_shutdown(atexit::shutdown_request().requested())
        .await?;
    // The work of the clients that left before their reply.
    app.work.close();
    app.work.wait().await;
    let _ = told.await;
    println!("drained, returning from main");
    // Returning (status 0) after a shutdown request runs the exit handlers,
    // then the process dies by the signal.
    Ok(())
}
