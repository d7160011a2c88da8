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

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use support::{command, example, Finished, Running, TempDir};

/// How long a server may take to end once signalled: its drain timeout (10 s
/// in the runs under traffic) plus its handlers' deadline (5 s), with room
/// for a loaded machine.
const LIMIT: Duration = Duration::from_secs(30);
/// Bounds each step of a client: a reply takes 300 ms of work.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

// --- the server process ---------------------------------------------------

/// A running `axum_server` and its port.
struct Server {
    running: Running,
    port: u16,
}

impl Server {
    /// Starts the example with `args` and the stats file `stats`, and waits
    /// for its port.
    fn start(args: &[&str], stats: &Path) -> Result<Server, String> {
        let mut running =
            Running::try_start(command(&example("axum_server")).args(args).arg(stats))?;
        let line = running.try_wait_for("its port, a line \"listening on \"...", |line| {
            line.starts_with("listening on ")
        })?;
        let port = line["listening on ".len()..]
            .parse()
            .map_err(|error| format!("bad port in {line:?}: {error}"))?;
        Ok(Server { running, port })
    }

    fn address(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    fn wait_for_line(&mut self, prefix: &str) -> Result<String, String> {
        self.running
            .try_wait_for(&format!("a line {prefix:?}..."), |line| {
                line.starts_with(prefix)
            })
    }

    fn signal(&self, signal: i32) {
        self.running.signal(signal);
    }

    fn finish(self, limit: Duration) -> Result<Finished, String> {
        Ok(self.running.try_finish(limit)?.0)
    }
}

/// The counts of a stats file, checked to be complete.
fn read_stats(path: &Path) -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("no stats file {}: {error}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let count = |line: Option<&&str>, label: &str| {
        line.and_then(|line| line.strip_prefix(label))
            .and_then(|count| count.parse::<u64>().ok())
    };
    match (
        count(lines.first(), "accepted "),
        count(lines.get(1), "answered "),
        &lines[2.min(lines.len())..],
    ) {
        (Some(accepted), Some(answered), ["complete"]) => Ok((accepted, answered)),
        _ => Err(format!("incomplete or malformed stats file:\n{text}")),
    }
}

// --- the clients ----------------------------------------------------------

/// What became of one request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// A whole `200 OK` reply with the body `body`.
    Answered,
    /// Connection refused: the server had closed its port.
    Refused,
    /// Connected, then reset or closed before any byte of a reply: the
    /// server stopped before it read the request.
    Dropped,
}

fn dropped(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

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

/// SplitMix64: a small, seedable generator, so that a failing run's delays
/// can be told (the seed is printed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

// --- SIGTERM at a random moment under traffic -------------------------------

const RUNS: usize = 100;
/// Servers run at once: the runs mostly wait (300 ms of work per request,
/// up to 600 ms before the signal), so a 2-core machine takes several.
const AT_ONCE: usize = 5;
/// A run's clients stop after this many requests, whatever happens.
const MAX_REQUESTS: u64 = 200;

#[derive(Default)]
struct Counts {
    requests: u64,
    answered: u64,
    refused: u64,
    dropped: u64,
    /// Requests the server had in hand when the shutdown was asked for.
    in_flight: u64,
}

/// A request's number, its outcome, and when the client saw it.
type Seen = (u64, Result<Outcome, String>, Instant);

/// One run: a server, a new client every 5–25 ms (each taking 300 ms to
/// answer, so a dozen or so are in flight), SIGTERM after `0..600` ms.
fn run_under_traffic(rng: &mut Rng) -> Result<Counts, String> {
    let dir = TempDir::new("axum_server_traffic");
    let stats = dir.path().join("stats.txt");
    let server = Server::start(&["--drain-ms", "10000"], &stats)?;
    let address = server.address();
    let delay = Duration::from_millis(rng.between(0, 600));
    let mut spawner_rng = Rng(rng.next());

    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let (ended, signalled) = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Stops at the first refusal (the port is closed, and another
            // test's server may take it next), and after MAX_REQUESTS.
            for n in 1..=MAX_REQUESTS {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let (stop, outcomes) = (&stop, &outcomes);
                scope.spawn(move || {
                    let outcome = work(address, n);
                    if outcome != Ok(Outcome::Answered) {
                        stop.store(true, Ordering::SeqCst);
                    }
                    outcomes.lock().unwrap().push((n, outcome, Instant::now()));
                });
                std::thread::sleep(Duration::from_millis(spawner_rng.between(5, 25)));
            }
        });
        std::thread::sleep(delay);
        let signalled = Instant::now();
        server.signal(libc::SIGTERM);
        let ended = server.finish(LIMIT);
        stop.store(true, Ordering::SeqCst);
        (ended, signalled)
    });
    let ended = ended?;
    let context = || format!("SIGTERM after {delay:?}; {}", ended.describe());

    let mut counts = Counts::default();
    for (n, outcome, at) in &outcomes.into_inner().unwrap() {
        counts.requests += 1;
        match outcome {
            Ok(Outcome::Answered) => counts.answered += 1,
            Ok(Outcome::Refused | Outcome::Dropped) if *at < signalled => {
                return Err(format!("request {n} refused before SIGTERM; {}", context()))
            }
            Ok(Outcome::Refused) => counts.refused += 1,
            Ok(Outcome::Dropped) => counts.dropped += 1,
            Err(error) => return Err(format!("{error}; {}", context())),
        }
    }
    if ended.status.signal() != Some(libc::SIGTERM) {
        return Err(format!("not killed by SIGTERM: {}", context()));
    }
    // Nothing on stderr: no drain timeout passed, no handler failed.
    if !ended.stderr.is_empty() {
        return Err(format!("stderr is not empty; {}", context()));
    }
    let draining = ended
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("SIGTERM: stopped accepting, draining "))
        .and_then(|rest| rest.strip_suffix(" requests"))
        .and_then(|count| count.parse().ok());
    match draining {
        Some(in_flight) if ended.stdout.contains("\ndrained, returning from main\n") => {
            counts.in_flight = in_flight;
        }
        _ => return Err(format!("the drain did not finish; {}", context())),
    }
    let (accepted, answered) =
        read_stats(&stats).map_err(|error| format!("{error}; {}", context()))?;
    if answered != counts.answered || accepted != answered {
        return Err(format!(
            "stats: accepted {accepted}, answered {answered}; the clients got {} replies; {}",
            counts.answered,
            context()
        ));
    }
    Ok(counts)
}

#[test]
fn sigterm_under_traffic_answers_every_request_in_hand() {
    let seed = match std::env::var("AXUM_SERVER_SEED") {
        Ok(seed) => seed.parse().expect("AXUM_SERVER_SEED is a number"),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos() as u64,
    };
    println!("seed {seed} (set AXUM_SERVER_SEED to repeat the delays)");
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Counts, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            scope.spawn(|| loop {
                let run = next.fetch_add(1, Ordering::SeqCst);
                if run >= RUNS {
                    break;
                }
                let mut rng = Rng(seed ^ (run as u64).wrapping_mul(0xA24B_AED4_963E_E407));
                let result = run_under_traffic(&mut rng);
                results.lock().unwrap().push((run, result));
            });
        }
    });

    let mut total = Counts::default();
    let mut failures = Vec::new();
    for (run, result) in results.into_inner().unwrap() {
        match result {
            Ok(counts) => {
                total.requests += counts.requests;
                total.answered += counts.answered;
                total.refused += counts.refused;
                total.dropped += counts.dropped;
                total.in_flight += counts.in_flight;
            }
            Err(error) => failures.push(format!("run {run}: {error}")),
        }
    }
    println!(
        "axum_server: {RUNS} runs in {:.1?}, {} requests: {} answered in full, {} refused \
         at connect, {} closed before any reply byte, 0 cut; {} requests in flight at \
         SIGTERM, all answered",
        started.elapsed(),
        total.requests,
        total.answered,
        total.refused,
        total.dropped,
        total.in_flight,
    );
    assert!(
        failures.is_empty(),
        "{} of {RUNS} runs failed (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(total.answered > 0, "no request answered (seed {seed})");
    assert!(
        total.refused + total.dropped > 0,
        "no request refused (seed {seed})"
    );
    assert!(
        total.in_flight > 0,
        "no request was in flight at SIGTERM (seed {seed})"
    );
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
    let mut server =
        Server::start(&["--drain-ms", "60000"], &stats).unwrap_or_else(|e| panic!("{e}"));
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
    let mut server =
        Server::start(&["--drain-ms", "1000"], &stats).unwrap_or_else(|e| panic!("{e}"));
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
#[test]
fn a_second_sigterm_during_the_drain_ends_it_at_once() {
    let dir = TempDir::new("axum_server_second");
    let stats = dir.path().join("stats.txt");
    let mut server = Server::start(&["--drain-ms", "60000", "--work-ms", "60000"], &stats)
        .unwrap_or_else(|e| panic!("{e}"));
    let address = server.address();
    let clients: Vec<_> = (1..=2)
        .map(|n| std::thread::spawn(move || work(address, n)))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    server.signal(libc::SIGTERM);
    let draining = server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let second = Instant::now();
    server.signal(libc::SIGTERM);
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let took = second.elapsed();

    assert_eq!(draining, "SIGTERM: stopped accepting, draining 2 requests");
    assert!(
        took < Duration::from_secs(20),
        "took {took:?} after the second signal (drain timeout 60 s); {}",
        ended.describe()
    );
    assert!(
        ended
            .stderr
            .contains("atexit: SIGTERM during the shutdown asked for by SIGTERM ends the drain"),
        "{}",
        ended.describe()
    );
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
    let mut server =
        Server::start(&["--drain-ms", "60000"], &stats).unwrap_or_else(|e| panic!("{e}"));
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
