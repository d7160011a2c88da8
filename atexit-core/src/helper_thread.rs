//! The threads the crate starts for work it must not do on the calling
//! thread, or not wait for without a bound: a flush that may block, a
//! timer (the end watchdog, the deadline, the grace), wakers and loggers
//! (user code). One place that starts them, so each caller says only what
//! runs there and how long it waits for it.
//!
//! Every thread has a name that says whose it is (`atexit-...`), and every
//! start can fail (a thread limit): the callers say what happens then.
//! (`runner::on_helper_thread` is the other kind: a thread that *acts for*
//! the caller, as the registry sees threads.)

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Starts `work` on a thread named `name`. `Err(work)` gives it back when
/// no thread could be started, for the caller to run it elsewhere or say so.
pub(crate) fn spawn<W>(name: &str, work: W) -> Result<(), W>
where
    W: FnOnce() + Send + 'static,
{
    // `work` comes back through the slot if the thread cannot start.
    let slot = Arc::new(Mutex::new(Some(work)));
    let for_the_thread = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            if let Some(work) = take(&for_the_thread) {
                work()
            }
        });
    match spawned {
        Ok(_) => Ok(()),
        // The thread never ran: the work is still in the slot.
        Err(_) => take(&slot).map_or(Ok(()), Err),
    }
}

fn take<W>(slot: &Mutex<Option<W>>) -> Option<W> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// Runs `work` on a thread named `name` once `at` has passed: a timer that
/// nothing on another thread can hold up. False if no thread could be
/// started.
pub(crate) fn at<W>(name: &str, at: Instant, work: W) -> bool
where
    W: FnOnce() + Send + 'static,
{
    spawn(name, move || {
        // `sleep` may wake early: until the instant, whatever it takes.
        loop {
            let now = Instant::now();
            if now >= at {
                break;
            }
            std::thread::sleep(at - now);
        }
        work()
    })
    .is_ok()
}

/// Runs `work` on a thread named `name` after `delay` (see [`at`]); a delay
/// too long to add to the current time never passes.
pub(crate) fn after<W>(name: &str, delay: Duration, work: W) -> bool
where
    W: FnOnce() + Send + 'static,
{
    match Instant::now().checked_add(delay) {
        Some(when) => at(name, when, work),
        None => spawn(name, move || {
            std::thread::sleep(delay);
            work()
        })
        .is_ok(),
    }
}

/// The steps of work on a helper thread that the caller waits for, each
/// for a bounded time ([`with_steps`]).
pub(crate) struct Steps(mpsc::Receiver<()>);

/// What the work on the helper thread calls when it finished a step.
pub(crate) struct Step(mpsc::Sender<()>);

impl Step {
    /// The next step is done.
    pub(crate) fn done(&self) {
        let _ = self.0.send(());
    }
}

impl Steps {
    /// Waits at most `at_most` for the next step; false if it was not done
    /// in time (the thread goes on, unwaited for) or the work ended first.
    pub(crate) fn wait(&self, at_most: Duration) -> bool {
        self.0.recv_timeout(at_most).is_ok()
    }
}

/// Starts `work` on a thread named `name`, with the [`Step`] it reports its
/// steps by; `None` when no thread could be started.
pub(crate) fn with_steps<W>(name: &str, work: W) -> Option<Steps>
where
    W: FnOnce(Step) + Send + 'static,
{
    let (step, steps) = mpsc::channel();
    spawn(name, move || work(Step(step))).ok()?;
    Some(Steps(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_waited_for_each_within_its_bound() {
        let (go, wait) = mpsc::channel::<()>();
        let steps = with_steps("atexit-test", move |step| {
            step.done();
            let _ = wait.recv();
            step.done();
        })
        .unwrap();
        assert!(steps.wait(Duration::from_secs(5)), "the first step");
        assert!(!steps.wait(Duration::from_millis(10)), "the second waits");
        go.send(()).unwrap();
        assert!(steps.wait(Duration::from_secs(5)));
    }

    #[test]
    fn a_timer_runs_its_work_once_its_time_passed() {
        let (done, ran) = mpsc::channel();
        let start = Instant::now();
        assert!(after("atexit-test", Duration::from_millis(20), move || {
            let _ = done.send(Instant::now());
        }));
        let at = ran.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(at >= start + Duration::from_millis(20));
    }
}
