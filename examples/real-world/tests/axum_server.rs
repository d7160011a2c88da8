//! The `axum_server` example (axum's `with_graceful_shutdown` taking
//! `atexit::shutdown_request().requested()`, a `TaskTracker`, the
//! `CancellationToken` forms) run as processes under HTTP/1.1 client
//! traffic on 127.0.0.1: SIGTERM at a random moment must lose no request in
//! hand (each one that got any byte of a reply got a whole `200 OK`), the
//! exit handler's stats must match what the clients got, every accepted
//! request must be answered, and the process must still die by SIGTERM.
//! Then the attacks: SIGTERM before the server listens, a client that sends
//! nothing, a second SIGTERM during the drain, the program's own token
//! cancelled (twice) before any signal.

#![cfg(unix)]

#[path = "../../../tests/support/mod.rs"]
mod support;

mod load;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use load::{a_second_sigterm_ends_the_drain, dropped, read_stats, Load, Outcome, Server, LIMIT};
use support::{command, example, Finished, Running, TempDir};

/// Bounds each step of a client: a reply takes 300 ms of work.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

// --- the clients ----------------------------------------------------------

/// Sends one HTTP/1.1 request (`Connection: close`) and checks its reply:
/// no byte at all, or a whole `200 OK` with the body `body`, as long as its
/// `Content-Length` says. Anything else (a partial or wrong reply, a
/// timeout) is an error.
fn http(address: SocketAddr, method: &str, path: &str, body: &str) -> Result<Outcome, String> {
    let what = format!("{method} {path}");
    let mut stream = match TcpStream::connect_timeout(&address, CLIENT_TIMEOUT) {
        Ok(stream) => stream,
        Err(error) if error.kind() == ErrorKind::ConnectionRefused => return Ok(Outcome::Refused),
        Err(error) if dropped(error.kind()) => return Ok(Outcome::Dropped),
        Err(error) => return Err(format!("{what}: connect: {error}")),
    };
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(|error| format!("{what}: set the timeouts: {error}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    match stream.write_all(request.as_bytes()) {
        Ok(()) => {}
        Err(error) if dropped(error.kind()) => return Ok(Outcome::Dropped),
        Err(error) => return Err(format!("{what}: write: {error}")),
    }
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);
    if reply.is_empty() {
        return match read {
            Ok(_) => Ok(Outcome::Dropped),
            Err(error) if dropped(error.kind()) => Ok(Outcome::Dropped),
            Err(error) => Err(format!("{what}: no reply: {error}")),
        };
    }
    let text = String::from_utf8_lossy(&reply);
    let whole = || -> Option<()> {
        let (head, got) = text.split_once("\r\n\r\n")?;
        let mut lines = head.lines();
        (lines.next()? == "HTTP/1.1 200 OK").then_some(())?;
        let length: usize = lines
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(usize::MAX);
        (length == got.len() && got == body).then_some(())
    };
    match (read, whole()) {
        (Ok(_), Some(())) => Ok(Outcome::Answered),
        (read, _) => Err(format!(
            "{what}: partial or wrong reply {text:?} ({read:?})"
        )),
    }
}

/// `GET /work/<n>`, answered with `done <n>`.
fn work(address: SocketAddr, n: u64) -> Result<Outcome, String> {
    http(
        address,
        "GET",
        &format!("/work/{n}"),
        &format!("done {n}\n"),
    )
}

// --- SIGTERM at a random moment under traffic -------------------------------

/// A new connection per `GET /work/<n>` (`Connection: close`); the server
/// counts and drains requests.
const LOAD: Load = Load {
    example: "axum_server",
    seed_var: "AXUM_SERVER_SEED",
    at_once: 5,
    max_requests: 200,
    request: work,
    drains: "requests",
    dropped: "closed",
    none: "cut",
    in_flight_end: "answered",
};

#[test]
fn sigterm_under_traffic_answers_every_request_in_hand() {
    load::sigterm_under_traffic(&LOAD);
}

// --- the attacks -------------------------------------------------------------

fn assert_died_by(ended: &Finished, signal: i32) {
    assert_eq!(ended.status.signal(), Some(signal), "{}", ended.describe());
}

fn stats_of(stats: &Path, ended: &Finished) -> (u64, u64) {
    read_stats(stats).unwrap_or_else(|e| panic!("{e}; {}", ended.describe()))
}

/// SIGTERM while the server is still starting (signals installed, not yet
/// listening): the request is made already, so axum's graceful shutdown
/// returns as soon as it is served, with nothing accepted.
#[test]
fn sigterm_before_listening_stops_as_soon_as_it_listens() {
    let dir = TempDir::new("axum_server_early");
    let stats = dir.path().join("stats.txt");
    let mut running = Running::start(
        command(&example("axum_server"))
            .args(["--slow-start-ms", "1000"])
            .arg(&stats),
    );
    running.wait_for_line("starting");
    running.signal(libc::SIGTERM);
    let (ended, _) = running.finish(LIMIT);
    assert_died_by(&ended, libc::SIGTERM);
    assert!(
        ended.stdout.contains("listening on ")
            && ended.stdout.contains("\ndrained, returning from main\n"),
        "{}",
        ended.describe()
    );
    assert_eq!(ended.stderr, "", "{}", ended.describe());
    assert_eq!(stats_of(&stats, &ended), (0, 0), "{}", ended.describe());
}

/// A keep-alive connection that got its reply to `GET /work/<n>` and
/// stays open, idle.
fn idle_keep_alive(address: SocketAddr, n: u64) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    write!(stream, "GET /work/{n} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let body = format!("\r\n\r\ndone {n}\n");
    let mut reply = Vec::new();
    let mut buffer = [0; 1024];
    while !reply.ends_with(body.as_bytes()) {
        let read = stream.read(&mut buffer).unwrap();
        assert!(
            read > 0,
            "closed after {:?}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buffer[..read]);
    }
    stream
}

/// Clients that hold a connection and send nothing (one that never sent a
/// request, one that got its reply and keeps the connection alive) do not
/// hold the drain up: the server closes them (no byte) and ends long
/// before its drain timeout, answering the request in flight.
#[test]
fn idle_clients_do_not_hold_the_drain() {
    let dir = TempDir::new("axum_server_silent");
    let stats = dir.path().join("stats.txt");
    let mut server = Server::start("axum_server", &["--drain-ms", "60000"], &stats)
        .unwrap_or_else(|e| panic!("{e}"));
    let address = server.address();
    let mut silent = TcpStream::connect(address).unwrap();
    silent.set_read_timeout(Some(LIMIT)).unwrap();
    // Accepted and answered before the signal: the server works.
    let mut kept_alive = idle_keep_alive(address, 1);
    let in_flight = std::thread::spawn(move || work(address, 2));
    // Not a timed assertion: the request only has to be in the handler by
    // then, which the "draining 1 requests" line below checks.
    std::thread::sleep(Duration::from_millis(150));
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let draining = server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let took = signalled.elapsed();

    for (client, stream) in [("silent", &mut silent), ("kept-alive", &mut kept_alive)] {
        let mut reply = Vec::new();
        let read = stream.read_to_end(&mut reply);
        assert!(
            reply.is_empty() && read.as_ref().map_or_else(|e| dropped(e.kind()), |_| true),
            "the {client} client got {reply:?} ({read:?})"
        );
    }
    assert_eq!(in_flight.join().unwrap(), Ok(Outcome::Answered));
    assert_eq!(draining, "SIGTERM: stopped accepting, draining 1 requests");
    assert!(
        took < Duration::from_secs(20),
        "took {took:?} with a drain timeout of 60 s; {}",
        ended.describe()
    );
    assert_died_by(&ended, libc::SIGTERM);
    assert_eq!(ended.stderr, "", "{}", ended.describe());
    assert_eq!(stats_of(&stats, &ended), (2, 2), "{}", ended.describe());
}

/// A client that sends part of its request's head and then nothing (a
/// slow client, or slowloris) holds axum's graceful shutdown: hyper waits
/// for the rest of the request, and axum 0.8's `serve` sets no header
/// timeout. The drain timeout is what bounds it: the handlers run when it
/// passes, and the process dies by SIGTERM.
#[test]
fn the_drain_timeout_ends_a_drain_held_by_a_half_sent_request() {
    let dir = TempDir::new("axum_server_half_sent");
    let stats = dir.path().join("stats.txt");
    let mut server = Server::start("axum_server", &["--drain-ms", "1000"], &stats)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut slow = TcpStream::connect(server.address()).unwrap();
    slow.set_read_timeout(Some(LIMIT)).unwrap();
    slow.write_all(b"GET /work/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let took = signalled.elapsed();

    assert!(
        took >= Duration::from_millis(1000),
        "ended {took:?} after SIGTERM, before its drain timeout; {}",
        ended.describe()
    );
    assert!(
        ended
            .stderr
            .contains("atexit: the shutdown grace of 1s after SIGTERM passed"),
        "{}",
        ended.describe()
    );
    assert!(!ended.stdout.contains("drained"), "{}", ended.describe());
    assert_died_by(&ended, libc::SIGTERM);
    assert_eq!(stats_of(&stats, &ended), (0, 0), "{}", ended.describe());
    let mut reply = Vec::new();
    let read = slow.read_to_end(&mut reply);
    assert!(
        reply.is_empty(),
        "the half-sent request got {reply:?} ({read:?})"
    );
}

/// A second SIGTERM during the drain ends it at once: the handlers run
/// while the requests are still in hand (counted as accepted, not
/// answered), their clients get no byte, and the process dies by SIGTERM.
/// (The library's rule has its home in the scenario
/// `graceful_shutdown::a_second_signal_ends_the_drain`; this checks what
/// axum's server does with it.)
#[test]
fn a_second_sigterm_during_the_drain_ends_it_at_once() {
    let dir = TempDir::new("axum_server_second");
    let stats = dir.path().join("stats.txt");
    let server = Server::start(
        "axum_server",
        &["--drain-ms", "60000", "--work-ms", "60000"],
        &stats,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let address = server.address();
    let clients: Vec<_> = (1..=2)
        .map(|n| std::thread::spawn(move || work(address, n)))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (draining, ended) = a_second_sigterm_ends_the_drain(server);
    assert_eq!(draining, "SIGTERM: stopped accepting, draining 2 requests");
    assert!(!ended.stdout.contains("drained"), "{}", ended.describe());
    assert_died_by(&ended, libc::SIGTERM);
    assert_eq!(stats_of(&stats, &ended), (2, 0), "{}", ended.describe());
    for client in clients {
        assert_eq!(client.join().unwrap(), Ok(Outcome::Dropped));
    }
}

/// The program's own token, cancelled before any signal (`POST
/// /admin/stop`, twice): its cancellation is the shutdown request, as
/// SIGTERM's (`request_shutdown_on_cancel(.., Signal::Term)`), so the
/// server drains, answers the request in flight, and dies by SIGTERM,
/// though no signal was sent. The second cancellation changes nothing.
#[test]
fn the_programs_token_cancelled_twice_is_one_sigterm_request() {
    let dir = TempDir::new("axum_server_token");
    let stats = dir.path().join("stats.txt");
    let mut server = Server::start("axum_server", &["--drain-ms", "60000"], &stats)
        .unwrap_or_else(|e| panic!("{e}"));
    let address = server.address();
    let in_flight = std::thread::spawn(move || work(address, 1));
    std::thread::sleep(Duration::from_millis(150));
    let stop = |body| http(address, "POST", "/admin/stop", body);
    assert_eq!(stop("stopping\n"), Ok(Outcome::Answered));
    // The second one may find the port closed already, or be answered.
    assert!(
        matches!(
            stop("stopping\n"),
            Ok(Outcome::Answered | Outcome::Refused | Outcome::Dropped)
        ),
        "the second stop"
    );
    let draining = server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(draining, "SIGTERM: stopped accepting, draining 1 requests");
    assert_eq!(in_flight.join().unwrap(), Ok(Outcome::Answered));
    assert!(
        ended.stdout.contains("\ndrained, returning from main\n"),
        "{}",
        ended.describe()
    );
    assert_died_by(&ended, libc::SIGTERM);
    assert_eq!(ended.stderr, "", "{}", ended.describe());
    assert_eq!(stats_of(&stats, &ended), (1, 1), "{}", ended.describe());
}
