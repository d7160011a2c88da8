//! The `tcp_server` example (graceful-shutdown mode: `CatchSignals::graceful_shutdown`)
//! run as processes under real client traffic: SIGTERM at a random moment
//! must lose no request in hand (each one is answered in full, or refused
//! before any byte of a reply), the exit handler's stats must match what the
//! clients got, and the process must still die by SIGTERM. A second signal
//! and the grace must end a drain that does not end by itself.

#![cfg(unix)]

#[path = "../../../tests/support/mod.rs"]
mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use support::{command, example, Finished, Running, TempDir};

/// How long a server may take to end once signalled: its grace (10 s in the
/// runs under traffic) plus its handlers' timeout (5 s), with room for a
/// loaded machine.
const LIMIT: Duration = Duration::from_secs(30);
/// Bounds each step of a client: a reply takes 300 ms of work.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

// --- the server process ---------------------------------------------------

/// A running `tcp_server` and its port. Fallible, unlike the panicking
/// waits of [`Running`]: the traffic runs go on threads, and their failures
/// are reported together with the seed.
struct Server {
    running: Running,
    port: u16,
}

impl Server {
    /// Starts the example with `args` and waits for its port.
    fn start(args: &[&str], stats: &Path) -> Result<Server, String> {
        Server::spawn(command(&example("tcp_server")).args(args).arg(stats))
    }

    /// As [`Server::start`], for a command already prepared.
    fn spawn(command: &mut Command) -> Result<Server, String> {
        let mut running = Running::try_start(command)?;
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

    /// Reads stdout up to the first line that starts with `prefix` (within
    /// 20 s), and returns it; kills the server when it does not come.
    fn wait_for_line(&mut self, prefix: &str) -> Result<String, String> {
        self.running
            .try_wait_for(&format!("a line {prefix:?}..."), |line| {
                line.starts_with(prefix)
            })
    }

    fn signal(&self, signal: i32) {
        self.running.signal(signal);
    }

    /// Waits for the end; a server still running after `limit` is killed and
    /// is an error (a hang).
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
    /// The whole reply, `done <n>\n`.
    Answered,
    /// Connection refused: the server had closed its port.
    Refused,
    /// Connected, then reset or closed before any byte of a reply: the
    /// connection was still in the listen queue when the server closed it
    /// (or, for a request that never finishes, the process ended). An
    /// accepted one would show in the stats as accepted, not answered.
    Dropped,
}

/// Sends request `n` on a new connection; an error is anything else than
/// the clean outcomes (a partial or wrong reply, a timeout).
fn request(address: SocketAddr, n: u64) -> Result<Outcome, String> {
    let dropped = |kind: ErrorKind| {
        matches!(
            kind,
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
        )
    };
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
const AT_ONCE: usize = 6;

/// What one run measured.
#[derive(Default)]
struct Counts {
    requests: u64,
    answered: u64,
    refused: u64,
    dropped: u64,
    /// Connections the server had in hand when it stopped accepting.
    in_flight: u64,
}

/// A request's number, its outcome, and when the client saw it.
type Seen = (u64, Result<Outcome, String>, Instant);

/// One run: a server, clients opening a new connection every 5–25 ms (each
/// taking 300 ms to answer, so a dozen or so are in flight), SIGTERM after
/// `0..600` ms.
fn run_under_traffic(rng: &mut Rng) -> Result<Counts, String> {
    let dir = TempDir::new("tcp_server_traffic");
    let stats = dir.path().join("stats.txt");
    let server = Server::start(&["--drain-ms", "10000"], &stats)?;
    let address = server.address();
    let delay = Duration::from_millis(rng.between(0, 600));
    let mut spawner_rng = Rng(rng.next());

    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let (ended, signalled) = std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut n = 0;
            // Stops at the first refusal: the server has closed its port,
            // which another test's server may take next.
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let (stop, outcomes) = (&stop, &outcomes);
                scope.spawn(move || {
                    let outcome = request(address, n);
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

    let outcomes = outcomes.into_inner().unwrap();
    let mut counts = Counts::default();
    for (n, outcome, at) in &outcomes {
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
    // Nothing on stderr: no grace passed, no accept failed, no handler failed.
    if !ended.stderr.is_empty() {
        return Err(format!("stderr is not empty; {}", context()));
    }
    // `main` returned after the drain, rather than the grace ending it.
    let draining = ended
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("SIGTERM: stopped accepting, draining "))
        .and_then(|rest| rest.strip_suffix(" connections"))
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
fn sigterm_under_traffic_answers_or_refuses_every_request() {
    let seed = match std::env::var("TCP_SERVER_SEED") {
        Ok(seed) => seed.parse().expect("TCP_SERVER_SEED is a number"),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos() as u64,
    };
    println!("seed {seed} (set TCP_SERVER_SEED to repeat the delays)");
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
                // Each run has its own stream, the same for the same seed.
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
        "tcp_server: {RUNS} runs in {:.1?}, {} requests: {} answered in full, {} refused \
         at connect, {} reset before any reply byte, 0 lost; {} connections in flight at \
         SIGTERM, all drained",
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
    // Across 100 runs, some requests were answered, some refused, and some
    // drained: else the runs did not test the drain.
    assert!(total.answered > 0, "no request answered (seed {seed})");
    assert!(
        total.refused + total.dropped > 0,
        "no request refused (seed {seed})"
    );
    assert!(
        total.in_flight > 0,
        "no connection was in flight at SIGTERM (seed {seed})"
    );
}

// --- drains that do not end by themselves ----------------------------------

/// A server in `--stuck` mode with one request stuck and one answered; returns
/// it and the stuck client, which must get no byte of a reply.
fn stuck_server(grace_ms: &str, stats: &Path) -> (Server, JoinHandle<Result<Outcome, String>>) {
    let mut server = Server::start(&["--stuck", "--drain-ms", grace_ms], stats)
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
    let (mut server, stuck) = stuck_server("60000", &stats);
    server.signal(libc::SIGTERM);
    // The request is recorded (the server is draining) before the second
    // signal: two signals sent at once could be merged into one.
    server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let second = Instant::now();
    server.signal(libc::SIGTERM);
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let took = second.elapsed();

    assert!(
        took < Duration::from_secs(20),
        "took {took:?} after the second signal (grace 60 s); {}",
        ended.describe()
    );
    assert!(
        ended
            .stderr
            .contains("atexit: SIGTERM during the shutdown asked for by SIGTERM ends the drain"),
        "{}",
        ended.describe()
    );
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
