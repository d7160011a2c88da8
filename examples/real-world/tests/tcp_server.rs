//! The `tcp_server` example (graceful-shutdown mode: `CatchSignals::graceful_shutdown`)
//! run as processes under real client traffic: SIGTERM at a random moment
//! must lose no request in hand (each one is answered in full, or refused
//! before any byte of a reply), the exit handler's stats must match what the
//! clients got, and the process must still die by SIGTERM. A second signal
//! and the grace must end a drain that does not end by itself.

#![cfg(unix)]

#[path = "../../../tests/support/mod.rs"]
mod support;

mod load;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use load::{a_second_sigterm_ends_the_drain, dropped, read_stats, Load, Outcome, Server, LIMIT};
use support::{command, example, Finished, TempDir};

/// Bounds each step of a client: a reply takes 300 ms of work.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

// --- the clients ----------------------------------------------------------

/// Sends request `n` on a new connection; an error is anything else than
/// the clean outcomes (a partial or wrong reply, a timeout).
fn request(address: SocketAddr, n: u64) -> Result<Outcome, String> {
    let mut stream = match TcpStream::connect_timeout(&address, CLIENT_TIMEOUT) {
        Ok(stream) => stream,
        Err(error) if error.kind() == ErrorKind::ConnectionRefused => return Ok(Outcome::Refused),
        // The listener closed while the handshake was under way.
        Err(error) if dropped(error.kind()) => return Ok(Outcome::Dropped),
        Err(error) => return Err(format!("request {n}: connect: {error}")),
    };
    stream
        .set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(|error| format!("request {n}: set the timeouts: {error}"))?;
    // A connection still in the listen queue when the server drops its
    // listener is reset: the write itself may fail.
    match stream.write_all(format!("{n}\n").as_bytes()) {
        Ok(()) => {}
        Err(error) if dropped(error.kind()) => return Ok(Outcome::Dropped),
        Err(error) => return Err(format!("request {n}: write: {error}")),
    }
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);
    let expected = format!("done {n}\n");
    if reply == expected.as_bytes() {
        return Ok(Outcome::Answered);
    }
    match read {
        Ok(_) if reply.is_empty() => Ok(Outcome::Dropped),
        Err(error) if reply.is_empty() && dropped(error.kind()) => Ok(Outcome::Dropped),
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!(
                "request {n}: no reply within {CLIENT_TIMEOUT:?} (got {:?})",
                String::from_utf8_lossy(&reply)
            ))
        }
        _ => Err(format!(
            "request {n}: partial or wrong reply {:?} ({read:?})",
            String::from_utf8_lossy(&reply)
        )),
    }
}

// --- SIGTERM at a random moment under traffic -------------------------------

/// One connection per request, each a line `<n>\n` answered `done <n>\n`;
/// the server counts and drains connections.
const LOAD: Load = Load {
    example: "tcp_server",
    seed_var: "TCP_SERVER_SEED",
    at_once: 6,
    // No bound but the first refusal.
    max_requests: u64::MAX,
    request,
    drains: "connections",
    dropped: "reset",
    none: "lost",
    in_flight_end: "drained",
};

#[test]
fn sigterm_under_traffic_answers_or_refuses_every_request() {
    load::sigterm_under_traffic(&LOAD);
}

// --- drains that do not end by themselves ----------------------------------
//
// The library's rules (the second signal ends the drain, the grace ends it,
// the process dies by the first signal) have their home in the scenarios,
// `tests/suite/scenarios/graceful_shutdown.rs`; these check what the server
// does with them: the request in hand dropped with no byte, the stats.

/// A server in `--stuck` mode with one request stuck and one answered; returns
/// it and the stuck client, which must get no byte of a reply.
fn stuck_server(grace_ms: &str, stats: &Path) -> (Server, JoinHandle<Result<Outcome, String>>) {
    let mut server = Server::start("tcp_server", &["--stuck", "--drain-ms", grace_ms], stats)
        .unwrap_or_else(|e| panic!("{e}"));
    let address = server.address();
    let stuck = std::thread::spawn(move || {
        // Not `request`: its 5 s read timeout would end before the server.
        let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(LIMIT))
            .map_err(|e| e.to_string())?;
        stream.write_all(b"1\n").map_err(|e| e.to_string())?;
        let mut reply = Vec::new();
        match stream.read_to_end(&mut reply) {
            Ok(_) if reply.is_empty() => Ok(Outcome::Dropped),
            Err(error) if reply.is_empty() && error.kind() == ErrorKind::ConnectionReset => {
                Ok(Outcome::Dropped)
            }
            other => Err(format!(
                "the stuck request got {:?} ({other:?})",
                String::from_utf8_lossy(&reply)
            )),
        }
    });
    server
        .wait_for_line("request 1 never finishes")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request(address, 2), Ok(Outcome::Answered));
    (server, stuck)
}

fn assert_stats_of_stuck_server(stats: &Path, ended: &Finished) {
    let counts = read_stats(stats).unwrap_or_else(|e| panic!("{e}; {}", ended.describe()));
    assert_eq!(counts, (2, 1), "accepted, answered; {}", ended.describe());
    assert_eq!(
        ended.status.signal(),
        Some(libc::SIGTERM),
        "{}",
        ended.describe()
    );
    assert!(
        !ended.stdout.contains("drained"),
        "the drain cannot finish; {}",
        ended.describe()
    );
}

#[test]
fn a_second_sigterm_ends_the_drain_at_once() {
    let dir = TempDir::new("tcp_server_second_signal");
    let stats = dir.path().join("stats.txt");
    // A minute's grace: only the second signal can end this in time.
    let (server, stuck) = stuck_server("60000", &stats);
    let (_, ended) = a_second_sigterm_ends_the_drain(server);
    assert!(!ended.stderr.contains("grace"), "{}", ended.describe());
    assert_stats_of_stuck_server(&stats, &ended);
    assert_eq!(stuck.join().unwrap(), Ok(Outcome::Dropped));
}

#[test]
fn the_grace_ends_a_drain_that_never_finishes() {
    let dir = TempDir::new("tcp_server_grace");
    let stats = dir.path().join("stats.txt");
    let (server, stuck) = stuck_server("500", &stats);
    let signalled = Instant::now();
    server.signal(libc::SIGTERM);
    let ended = server
        .finish(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let took = signalled.elapsed();

    // Not before the grace: the handlers must not cut the drain short.
    assert!(
        took >= Duration::from_millis(500),
        "ended {took:?} after SIGTERM, before its grace; {}",
        ended.describe()
    );
    assert!(
        ended
            .stderr
            .contains("atexit: the shutdown grace of 500ms after SIGTERM passed"),
        "{}",
        ended.describe()
    );
    assert!(
        ended
            .stdout
            .contains("SIGTERM: stopped accepting, draining "),
        "{}",
        ended.describe()
    );
    assert_stats_of_stuck_server(&stats, &ended);
    assert_eq!(stuck.join().unwrap(), Ok(Outcome::Dropped));
}

// --- a signal ignored at start -------------------------------------------

/// Shells start background jobs with SIGINT ignored; the example names
/// SIGINT (`CatchSignals::only`), so it is caught anyway: Ctrl+C, or `kill
/// -INT`, still drains and ends the server by SIGINT.
#[test]
fn sigint_ignored_at_start_still_asks_for_the_shutdown() {
    use std::os::unix::process::CommandExt;

    let dir = TempDir::new("tcp_server_sigint");
    let stats = dir.path().join("stats.txt");
    let mut command = command(&example("tcp_server"));
    command.arg(&stats);
    // SAFETY: `signal` is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let server = Server::spawn(&mut command).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(request(server.address(), 1), Ok(Outcome::Answered));
    server.signal(libc::SIGINT);
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(
        ended.status.signal(),
        Some(libc::SIGINT),
        "{}",
        ended.describe()
    );
    assert!(
        ended.stdout.contains("SIGINT: stopped accepting")
            && ended.stdout.contains("\ndrained, returning from main\n"),
        "{}",
        ended.describe()
    );
    assert_eq!(ended.stderr, "", "{}", ended.describe());
    let counts = read_stats(&stats).unwrap_or_else(|e| panic!("{e}; {}", ended.describe()));
    assert_eq!(counts, (1, 1), "accepted, answered; {}", ended.describe());
}
