//! Graceful-shutdown mode, as a service uses it: `examples/thread_pool.rs` (a pool of
//! std threads converting items) run as a process and sent real signals.
//! Each test reads the workers' `start`/`done` lines, the main thread's
//! `draining` line and the exit handler's `summary` line, and checks how
//! the process ended:
//!
//! - one signal: every item started is finished, none starts after the
//!   request, the summary is written, and the process dies by the signal
//!   (or exits with 128 + its number);
//! - a second signal: the handlers run at once, the items in progress are
//!   cut short, and the process dies by the first signal;
//! - a drain that never finishes: the grace ends it.
//!
//! The library's rules for the second signal and the grace, for each pair of
//! signals, have their home in the scenarios
//! (`tests/suite/scenarios/graceful_shutdown.rs`: `a_second_signal_ends_the_drain`,
//! `the_grace_ends_a_drain_that_never_finishes` and their variants); here,
//! one case of each checks what the pool does with them: the items in
//! progress cut short, the others finished, and the summary that says so.
//!
//! Timing is only bounded generously (CI machines are small and loaded): a
//! process that does not end within the bound is killed and the test fails.

#![cfg(unix)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};
use support::{command, example, Finished, Running, TempDir};

/// Generous: a drain of 200 ms items takes well under a second.
const LIMIT: Duration = Duration::from_secs(30);
/// For the endings that must not wait for the items (a second signal, the
/// grace): a hang is killed and fails the test after this.
const PROMPT: Duration = Duration::from_secs(10);

fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => unreachable!("only SIGINT and SIGTERM are caught"),
    }
}

fn start_pool(args: &[&str], summary: &Path) -> Running {
    Running::start(
        command(&example("thread_pool"))
            .args(args)
            .arg("--summary")
            .arg(summary),
    )
}

/// The items of the lines `<word> <item>`, in order.
fn items(lines: &[&str], word: &str) -> Vec<usize> {
    lines
        .iter()
        .filter_map(|line| line.strip_prefix(word)?.strip_prefix(' ')?.parse().ok())
        .collect()
}

fn is_draining(line: &&str) -> bool {
    line.starts_with("draining on ")
}

/// What a run of the pool printed, checked for what holds however it ended:
/// each item started and finished at most once, finished only after it
/// started, no item started after the drain was announced, and the summary
/// (the last line, and the file's contents) agrees with the lines.
struct Pool {
    started: Vec<usize>,
    done: Vec<usize>,
    /// The lines after the `draining` line.
    after_draining: Vec<String>,
    summary: String,
}

impl Pool {
    fn check(finished: &Finished, total: usize, signal: i32, summary_file: &Path) -> Pool {
        let lines: Vec<&str> = finished.stdout.lines().collect();
        let context = format!("stdout:\n{}\nstderr:\n{}", finished.stdout, finished.stderr);
        let started = items(&lines, "start");
        let done = items(&lines, "done");
        let unique = |items: &[usize]| items.iter().collect::<BTreeSet<_>>().len() == items.len();
        assert!(unique(&started), "an item started twice; {context}");
        assert!(unique(&done), "an item finished twice; {context}");
        for item in &done {
            let start = lines
                .iter()
                .position(|line| *line == format!("start {item}"));
            let end = lines
                .iter()
                .position(|line| *line == format!("done {item}"));
            assert!(
                matches!((start, end), (Some(start), Some(end)) if start < end),
                "item {item} finished without starting first; {context}"
            );
        }

        let draining: Vec<usize> = (0..lines.len())
            .filter(|&i| is_draining(&lines[i]))
            .collect();
        assert_eq!(draining.len(), 1, "one draining line; {context}");
        let draining = draining[0];
        assert!(
            lines[draining].starts_with(&format!("draining on {}: ", name(signal))),
            "{context}"
        );
        let after_draining: Vec<String> = lines[draining + 1..]
            .iter()
            .map(|line| line.to_string())
            .collect();
        assert!(
            !after_draining.iter().any(|line| line.starts_with("start ")),
            "an item started after the request; {context}"
        );
        // The drain's line, printed under the pool's lock, counts what was
        // in progress and left then.
        let before = &lines[..draining];
        let in_progress = items(before, "start").len() - items(before, "done").len();
        assert_eq!(
            lines[draining],
            format!(
                "draining on {}: {in_progress} in progress, {} not started",
                name(signal),
                total - items(before, "start").len()
            ),
            "{context}"
        );

        let summary = lines.last().copied().unwrap_or_default();
        let expected = format!(
            "summary: {} of {total} done, {} left ({} in progress, {} not started); shutdown by {}",
            done.len(),
            total - done.len(),
            started.len() - done.len(),
            total - started.len(),
            name(signal),
        );
        assert_eq!(summary, expected, "the exit handler's summary; {context}");
        assert_eq!(
            std::fs::read_to_string(summary_file).expect("the summary file was written"),
            format!("{expected}\n"),
            "{context}"
        );
        Pool {
            started,
            done,
            after_draining,
            summary: summary.to_owned(),
        }
    }

    fn unfinished(&self) -> BTreeSet<usize> {
        let done: BTreeSet<usize> = self.done.iter().copied().collect();
        self.started
            .iter()
            .copied()
            .filter(|item| !done.contains(item))
            .collect()
    }
}

/// When the test sends the signal: once this line is out.
#[derive(Clone, Copy, Debug)]
enum Moment {
    Started(usize),
    Done(usize),
}

/// 50 items of 200 ms on 3 workers (about 3.4 s of work), a signal at
/// `moment`: the drain finishes the items in progress and nothing more.
fn drain(signal: i32, moment: Moment, extra: &[&str]) -> (Finished, Pool) {
    const TOTAL: usize = 50;
    let dir = TempDir::new("thread_pool");
    let summary = dir.path().join("summary.txt");
    let mut args = vec!["--items", "50", "--workers", "3", "--item-ms", "200"];
    args.extend_from_slice(extra);
    let mut running = start_pool(&args, &summary);
    match moment {
        Moment::Started(item) => running.wait_for_line(&format!("start {item}")),
        Moment::Done(item) => running.wait_for_line(&format!("done {item}")),
    }
    running.signal(signal);
    let (finished, _) = running.finish(LIMIT);
    let pool = Pool::check(&finished, TOTAL, signal, &summary);
    let context = format!("{moment:?}; stdout:\n{}", finished.stdout);
    assert_eq!(
        pool.unfinished(),
        BTreeSet::new(),
        "every item started was finished; {context}"
    );
    // After the request: the items in progress finished, then the summary
    // (the handler ran after `main` joined the workers), nothing else.
    let (summary, finishing) = pool
        .after_draining
        .split_last()
        .expect("the summary follows the draining line");
    assert_eq!(*summary, pool.summary, "{context}");
    assert!(
        finishing.iter().all(|line| line.starts_with("done ")),
        "{context}"
    );
    assert!(
        pool.started.len() < TOTAL,
        "the pool stopped taking items; {context}"
    );
    assert_eq!(finished.stderr, "", "{context}");
    (finished, pool)
}

const MOMENTS: [Moment; 3] = [Moment::Started(1), Moment::Done(3), Moment::Started(9)];

#[test]
fn sigint_finishes_the_current_items_then_dies_by_sigint() {
    for moment in MOMENTS {
        let (finished, _) = drain(libc::SIGINT, moment, &[]);
        assert_eq!(
            finished.signal(),
            Some(libc::SIGINT),
            "{moment:?}: {:?}",
            finished.status
        );
    }
}

#[test]
fn sigterm_finishes_the_current_items_then_dies_by_sigterm() {
    for moment in MOMENTS {
        let (finished, _) = drain(libc::SIGTERM, moment, &[]);
        assert_eq!(
            finished.signal(),
            Some(libc::SIGTERM),
            "{moment:?}: {:?}",
            finished.status
        );
    }
}

#[test]
fn exit_code_ending_drains_then_exits_128_plus_the_signal() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let (finished, _) = drain(signal, Moment::Done(2), &["--exit-code"]);
        assert_eq!(finished.signal(), None, "{:?}", finished.status);
        assert_eq!(finished.status.code(), Some(code), "{}", name(signal));
    }
}

/// Two workers on items that take a minute, with a grace of a minute: only
/// the second signal can end the drain soon.
fn second_signal(second: i32) {
    let dir = TempDir::new("thread_pool_second");
    let summary = dir.path().join("summary.txt");
    let args = [
        "--items",
        "20",
        "--workers",
        "2",
        "--item-ms",
        "60000",
        "--drain-ms",
        "60000",
    ];
    let mut running = start_pool(&args, &summary);
    running.wait_until("both workers busy", |lines| {
        items(lines, "start").len() == 2
    });
    running.signal(libc::SIGINT);
    // The first signal has been taken as a request before the second comes.
    running.wait_until("the draining line", |lines| lines.iter().any(is_draining));
    let sent = Instant::now();
    running.signal(second);
    let (finished, _) = running.finish(PROMPT);
    let took = sent.elapsed();

    let pool = Pool::check(&finished, 20, libc::SIGINT, &summary);
    let context = format!("stdout:\n{}\nstderr:\n{}", finished.stdout, finished.stderr);
    assert_eq!(
        pool.done,
        Vec::<usize>::new(),
        "no item finished; {context}"
    );
    assert_eq!(
        pool.unfinished(),
        BTreeSet::from([1, 2]),
        "the items in progress were cut short; {context}"
    );
    assert_eq!(
        finished.signal(),
        Some(libc::SIGINT),
        "death by the first signal; {context}"
    );
    assert!(
        finished.stderr.contains(&format!(
            "atexit: {} during the shutdown asked for by SIGINT ends the drain: the exit handlers run now\n",
            name(second)
        )),
        "{context}"
    );
    assert!(!finished.stderr.contains("grace"), "{context}");
    assert!(
        took < Duration::from_secs(5),
        "ended {took:?} after the second signal, long before the items or the grace; {context}"
    );
}

#[test]
fn second_sigint_runs_the_handlers_at_once_and_dies_by_sigint() {
    second_signal(libc::SIGINT);
}

/// Item 1 never finishes; the other worker's items take 20 ms each (so it
/// has long finished its own when the grace of 500 ms passes).
fn grace(signal: i32) {
    let dir = TempDir::new("thread_pool_grace");
    let summary = dir.path().join("summary.txt");
    let args = [
        "--items",
        "1000",
        "--workers",
        "2",
        "--item-ms",
        "20",
        "--hang",
        "1",
        "--drain-ms",
        "500",
    ];
    let mut running = start_pool(&args, &summary);
    running.wait_for_line("start 1");
    let sent = Instant::now();
    running.signal(signal);
    let (finished, _) = running.finish(PROMPT);
    let took = sent.elapsed();

    let pool = Pool::check(&finished, 1000, signal, &summary);
    let context = format!("stdout:\n{}\nstderr:\n{}", finished.stdout, finished.stderr);
    assert_eq!(
        pool.unfinished(),
        BTreeSet::from([1]),
        "only the stuck item is left unfinished; {context}"
    );
    assert_eq!(finished.signal(), Some(signal), "{context}");
    assert!(
        finished.stderr.contains(&format!(
            "atexit: the shutdown grace of 500ms after {} passed before the program exited: \
             the exit handlers run now\n",
            name(signal)
        )),
        "{context}"
    );
    assert!(!finished.stderr.contains("again"), "{context}");
    assert!(
        took >= Duration::from_millis(500),
        "the grace was waited for: {took:?}; {context}"
    );
}

#[test]
fn grace_ends_a_drain_that_never_finishes_sigterm() {
    grace(libc::SIGTERM);
}
