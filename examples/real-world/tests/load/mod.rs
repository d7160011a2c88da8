//! What the two servers' tests share (`tcp_server` runs `tcp_server`,
//! `axum_server` runs `axum_server`): the server process, its stats file,
//! the outcome of a request, and the runs of SIGTERM at a random moment
//! under client traffic. Each test keeps its own request function (a line
//! over TCP, or HTTP/1.1), its attacks, and the words of its checks, in a
//! [`Load`].
//!
//! Every item here is used by both tests (and `axum_server` is built only
//! with the feature `tokio-util`), so it needs no `allow(dead_code)`.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::support::{command, example, Finished, Running, TempDir};

/// How long a server may take to end once signalled: its grace, or drain
/// timeout (10 s in the runs under traffic), plus its handlers' timeout
/// (5 s), with room for a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(30);

// --- the server process ---------------------------------------------------

/// A running server example and its port. Fallible, unlike the panicking
/// waits of [`Running`]: the traffic runs go on threads, and their failures
/// are reported together with the seed.
pub struct Server {
    running: Running,
    port: u16,
}

impl Server {
    /// Starts the example `name` with `args` and the stats file `stats`, and
    /// waits for its port.
    pub fn start(name: &str, args: &[&str], stats: &Path) -> Result<Server, String> {
        Server::spawn(command(&example(name)).args(args).arg(stats))
    }

    /// As [`Server::start`], for a command already prepared.
    pub fn spawn(command: &mut Command) -> Result<Server, String> {
        let mut running = Running::try_start(command)?;
        let line = running.try_wait_for("its port, a line \"listening on \"...", |line| {
            line.starts_with("listening on ")
        })?;
        let port = line["listening on ".len()..]
            .parse()
            .map_err(|error| format!("bad port in {line:?}: {error}"))?;
        Ok(Server { running, port })
    }

    pub fn address(&self) -> SocketAddr {
        (Ipv4Addr::LOCALHOST, self.port).into()
    }

    /// Reads stdout up to the first line that starts with `prefix` (within
    /// 20 s), and returns it; kills the server when it does not come.
    pub fn wait_for_line(&mut self, prefix: &str) -> Result<String, String> {
        self.running
            .try_wait_for(&format!("a line {prefix:?}..."), |line| {
                line.starts_with(prefix)
            })
    }

    pub fn signal(&self, signal: i32) {
        self.running.signal(signal);
    }

    /// Waits for the end; a server still running after `limit` is killed and
    /// is an error (a hang).
    pub fn finish(self, limit: Duration) -> Result<Finished, String> {
        Ok(self.running.try_finish(limit)?.0)
    }
}

/// The counts of a stats file, checked to be complete.
pub fn read_stats(path: &Path) -> Result<(u64, u64), String> {
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
pub enum Outcome {
    /// The whole reply: `done <n>\n` from `tcp_server`, a whole `200 OK`
    /// with the body asked for from `axum_server`.
    Answered,
    /// Connection refused: the server had closed its port.
    Refused,
    /// Connected, then reset or closed before any byte of a reply: the
    /// connection was still in the listen queue when the server closed it,
    /// or the server stopped before it read the request (or, for a request
    /// that never finishes, the process ended). An accepted one would show
    /// in the stats as accepted, not answered.
    Dropped,
}

/// An error that means the server dropped the connection.
pub fn dropped(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// SplitMix64: a small, seedable generator, so that a failing run's delays
/// can be told (the seed is printed).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

// --- SIGTERM at a random moment under traffic -------------------------------

pub const RUNS: usize = 100;

/// What differs between the two servers' runs under traffic.
pub struct Load {
    /// The example run, which names the summary line and the temporary
    /// directories: `tcp_server` or `axum_server`.
    pub example: &'static str,
    /// The environment variable that sets the seed, to repeat the delays.
    pub seed_var: &'static str,
    /// Servers run at once: the runs mostly wait (300 ms of work per
    /// request, up to 600 ms before the signal), so a 2-core machine takes
    /// several.
    pub at_once: usize,
    /// A run's clients stop after this many requests, whatever happens.
    pub max_requests: u64,
    /// Sends request `n`: `Ok` for the clean outcomes, an error for anything
    /// else (a partial or wrong reply, a timeout).
    pub request: fn(SocketAddr, u64) -> Result<Outcome, String>,
    /// What the server has in hand and drains, as its line `SIGTERM: stopped
    /// accepting, draining <n> <drains>` counts them: `connections` or
    /// `requests`. Without its last `s`, the failure message names one.
    pub drains: &'static str,
    /// In the summary line, how a [`Outcome::Dropped`] request ended:
    /// `reset` or `closed` (before any reply byte).
    pub dropped: &'static str,
    /// In the summary line, the requests there must be none of: `lost` or
    /// `cut`.
    pub none: &'static str,
    /// In the summary line, what became of all those in flight at SIGTERM:
    /// `drained` or `answered`.
    pub in_flight_end: &'static str,
}

/// What one run measured.
#[derive(Default)]
struct Counts {
    requests: u64,
    answered: u64,
    refused: u64,
    dropped: u64,
    /// Connections, or requests, the server had in hand when it stopped
    /// accepting (when the shutdown was asked for).
    in_flight: u64,
}

/// A request's number, its outcome, and when the client saw it.
type Seen = (u64, Result<Outcome, String>, Instant);

/// One run: a server, clients opening a new connection every 5–25 ms (each
/// taking 300 ms to answer, so a dozen or so are in flight), SIGTERM after
/// `0..600` ms.
fn run_under_traffic(load: &Load, rng: &mut Rng) -> Result<Counts, String> {
    let dir = TempDir::new(&format!("{}_traffic", load.example));
    let stats = dir.path().join("stats.txt");
    let server = Server::start(load.example, &["--drain-ms", "10000"], &stats)?;
    let address = server.address();
    let delay = Duration::from_millis(rng.between(0, 600));
    let mut spawner_rng = Rng(rng.next());
    let request = load.request;

    let stop = AtomicBool::new(false);
    let outcomes: Mutex<Vec<Seen>> = Mutex::new(Vec::new());
    let (ended, signalled) = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Stops at the first refusal (the server has closed its port,
            // which another test's server may take next), and after
            // `max_requests`.
            for n in 1..=load.max_requests {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
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
    // Nothing on stderr: no grace (drain timeout) passed, no accept failed,
    // no handler failed.
    if !ended.stderr.is_empty() {
        return Err(format!("stderr is not empty; {}", context()));
    }
    // `main` returned after the drain, rather than the grace ending it.
    let draining = ended
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("SIGTERM: stopped accepting, draining "))
        .and_then(|rest| rest.strip_suffix(&format!(" {}", load.drains)))
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

/// [`RUNS`] runs, `load.at_once` at a time, from a seed printed (or taken
/// from `load.seed_var`); then the summary line, and the asserts over all.
pub fn sigterm_under_traffic(load: &Load) {
    let seed_var = load.seed_var;
    let seed = match std::env::var(seed_var) {
        Ok(seed) => seed
            .parse()
            .unwrap_or_else(|error| panic!("{seed_var} is a number: {error:?}")),
        Err(_) => SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos() as u64,
    };
    println!("seed {seed} (set {seed_var} to repeat the delays)");
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<Counts, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..load.at_once {
            scope.spawn(|| loop {
                let run = next.fetch_add(1, Ordering::SeqCst);
                if run >= RUNS {
                    break;
                }
                // Each run has its own stream, the same for the same seed.
                let mut rng = Rng(seed ^ (run as u64).wrapping_mul(0xA24B_AED4_963E_E407));
                let result = run_under_traffic(load, &mut rng);
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
        "{}: {RUNS} runs in {:.1?}, {} requests: {} answered in full, {} refused \
         at connect, {} {} before any reply byte, 0 {}; {} {} in flight at \
         SIGTERM, all {}",
        load.example,
        started.elapsed(),
        total.requests,
        total.answered,
        total.refused,
        total.dropped,
        load.dropped,
        load.none,
        total.in_flight,
        load.drains,
        load.in_flight_end,
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
    let one = load.drains.strip_suffix('s').unwrap_or(load.drains);
    assert!(
        total.in_flight > 0,
        "no {one} was in flight at SIGTERM (seed {seed})"
    );
}

/// The home of the servers' "a second signal ends the drain": SIGTERM, then
/// (once the server says it drains, so the two are not merged into one) a
/// second SIGTERM, which must end it well before the drain's minute, with
/// the library's line on stderr. Returns the server's draining line and how
/// it ended.
pub fn a_second_sigterm_ends_the_drain(mut server: Server) -> (String, Finished) {
    server.signal(libc::SIGTERM);
    let draining = server
        .wait_for_line("SIGTERM: stopped accepting, draining ")
        .unwrap_or_else(|e| panic!("{e}"));
    let second = Instant::now();
    server.signal(libc::SIGTERM);
    let ended = server.finish(LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let took = second.elapsed();
    assert!(
        took < Duration::from_secs(20),
        "took {took:?} after the second signal (the drain's bound is 60 s); {}",
        ended.describe()
    );
    assert!(
        ended
            .stderr
            .contains("atexit: SIGTERM during the shutdown asked for by SIGTERM ends the drain"),
        "{}",
        ended.describe()
    );
    (draining, ended)
}
