//! The shutdown request of a service: in graceful-shutdown mode
//! ([`CatchSignals::graceful_shutdown`](crate::CatchSignals::graceful_shutdown))
//! the first caught signal does not end the process. It is recorded here,
//! and wakes whoever waits for it: futures, blocking waits, and checks.
//!
//! The request is made in two steps. The signal handler notes the signal
//! (`request::note`: an atomic, all it may touch there), so that an exit at
//! any moment after the signal sees the request: the exit's reason and
//! ending read it (`state::ExitPlan`), and one with status 0 ends by the
//! signal instead. The signal watcher thread then records it in the
//! process-wide state, behind its lock, where the wakers of the futures
//! that wait are kept, and wakes them ([`request`]). The non-blocking check
//! reads the atomic, free of the lock, for worker loops that check once per
//! item.

use crate::os;
use crate::reason::Signal;
use crate::request;
use crate::state::{self, ShutdownState};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Waits for a shutdown request: a caught signal, when the signals were
/// installed in graceful-shutdown mode with
/// [`CatchSignals::graceful_shutdown`](crate::CatchSignals::graceful_shutdown).
///
/// It is three things at once:
///
/// - a **future** (`Output = Signal`) that any executor can await (Tokio,
///   smol, `futures::executor`, this crate's own): it needs no runtime, and
///   each clone is a cheap, independent waiter, so every task can await one;
/// - a **blocking wait**, [`wait`](ShutdownRequest::wait) and
///   [`wait_timeout`](ShutdownRequest::wait_timeout), for thread-based
///   programs;
/// - a **non-blocking check**, [`signal`](ShutdownRequest::signal) and
///   [`is_requested`](ShutdownRequest::is_requested): one atomic load, for a
///   worker that checks between items.
///
/// The request is made once per process and never withdrawn (a child
/// forked after it starts without one); every waiter, whenever it starts
/// waiting, sees it. Without graceful-shutdown mode installed no signal
/// makes one (a caught signal ends the process instead, and an uncaught one
/// kills it), so a wait lasts until [`request_shutdown`](crate::request_shutdown)
/// is called, or for ever. Do not wait in an exit handler either: the exit
/// would wait for a signal (or for the deadline).
///
/// The request is noted by the signal handler itself, so a check or an exit
/// right after the signal sees it; waiters are woken a moment later, on a
/// thread of the crate's (a waker that panics is reported and the others
/// are still woken; one that blocks holds up only the ones after it).
///
/// ```no_run
/// # extern crate atexit_core as atexit;
/// use std::time::Duration;
///
/// atexit::CatchSignals::new()
///     .graceful_shutdown(Duration::from_secs(20))
///     .install()?;
/// let shutdown = atexit::shutdown_request();
/// while !shutdown.is_requested() {
///     // take the next item and finish it
/// #   break;
/// }
/// // Return from `main`: the exit handlers run, then the process dies by the signal.
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Awaited in a Tokio server (see `examples/real-world/examples/tcp_server.rs`):
///
/// ```no_run
/// # extern crate atexit_core as atexit;
/// # async fn accept() {}
/// # async fn serve() {
/// let mut shutdown = atexit::shutdown_request();
/// loop {
///     let accepted = accept();
///     // tokio::select! { _ = &mut shutdown => break, conn = accepted => ... }
/// #   break;
/// }
/// let signal = shutdown.await; // stopped accepting: drain, then return
/// println!("shutting down on {signal}");
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a ShutdownRequest does nothing unless awaited, waited for or checked"]
pub struct ShutdownRequest {
    /// This future's slot for its waker, once it has been polled.
    slot: Option<usize>,
}

/// A [`ShutdownRequest`] to await, wait for or check.
///
/// ```
/// # extern crate atexit_core as atexit;
/// let shutdown = atexit::shutdown_request();
/// assert_eq!(shutdown.signal(), None, "no signal has asked yet");
/// ```
pub fn shutdown_request() -> ShutdownRequest {
    ShutdownRequest { slot: None }
}

impl ShutdownRequest {
    /// The signal that asked for the shutdown, if one has; never blocks.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::shutdown_request().signal(), None);
    /// ```
    pub fn signal(&self) -> Option<Signal> {
        request::signal()
    }

    /// Whether a shutdown has been asked for; never blocks.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert!(!atexit::shutdown_request().is_requested());
    /// ```
    pub fn is_requested(&self) -> bool {
        self.signal().is_some()
    }

    /// Blocks this thread until a shutdown is asked for, and returns the
    /// signal that asked. Returns at once if one was asked for already.
    ///
    /// ```no_run
    /// # extern crate atexit_core as atexit;
    /// let signal = atexit::shutdown_request().wait();
    /// eprintln!("{signal}: finishing the current item");
    /// ```
    pub fn wait(&self) -> Signal {
        loop {
            if let Some(signal) = self.wait_timeout(Duration::MAX) {
                return signal;
            }
        }
    }

    /// As [`wait`](ShutdownRequest::wait), for at most `timeout`: `None`
    /// when it passed without a request. Any `Duration` is fine:
    /// `Duration::ZERO` only checks, and one too long to add to the current
    /// time waits for ever.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use std::time::Duration;
    /// let shutdown = atexit::shutdown_request();
    /// assert_eq!(shutdown.wait_timeout(Duration::from_millis(1)), None);
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Signal> {
        let until = Instant::now().checked_add(timeout);
        let mut state = state::lock_as_is();
        loop {
            if let Some(signal) = state.shutdown.requested.or(self.signal()) {
                return Some(signal);
            }
            let left = match until {
                Some(until) => match until.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return None,
                },
                None => None, // for ever
            };
            state = state::wait(state, left);
        }
    }
}

impl Clone for ShutdownRequest {
    /// A new, independent waiter: clones are cheap, and each task may await
    /// its own.
    fn clone(&self) -> Self {
        ShutdownRequest { slot: None }
    }
}

impl Future for ShutdownRequest {
    type Output = Signal;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Signal> {
        if let Some(signal) = self.signal() {
            return Poll::Ready(signal);
        }
        // Cloned (and, below, dropped) outside the lock: both are executor
        // code, which may take locks of its own or drop a task that owns
        // another `ShutdownRequest`.
        let waker = cx.waker().clone();
        let mut state = state::lock_as_is();
        let shutdown = &mut state.shutdown;
        // Checked again under the lock the request is made under: a request
        // made since the load above has found no waker of ours to wake.
        if let Some(signal) = shutdown.requested {
            return Poll::Ready(signal);
        }
        let unused = match self.slot {
            Some(slot) => match &mut shutdown.wakers[slot] {
                Some(stored) if stored.will_wake(&waker) => Some(waker),
                entry => entry.replace(waker),
            },
            None => {
                self.slot = Some(take_slot(shutdown, waker));
                None
            }
        };
        drop(state);
        drop(unused);
        Poll::Pending
    }
}

impl Drop for ShutdownRequest {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut state = state::lock_as_is();
            let waker = state.shutdown.wakers[slot].take();
            state.shutdown.free.push(slot);
            drop(state);
            drop(waker); // outside the lock, as in `poll`
        }
    }
}

fn take_slot(shutdown: &mut ShutdownState, waker: Waker) -> usize {
    match shutdown.free.pop() {
        Some(slot) => {
            shutdown.wakers[slot] = Some(waker);
            slot
        }
        None => {
            shutdown.wakers.push(Some(waker));
            shutdown.wakers.len() - 1
        }
    }
}

/// Records the request that `signal` made (the caller's `request::note`
/// made it) and wakes every waiter: the second step, on the signal watcher
/// thread, or on the thread of `request_shutdown`.
///
/// The wakers are executor code, and the watcher must stay free for the
/// next signal: they are called on a thread of their own, each under
/// `catch_unwind` (a waker that panics is reported, the others are still
/// woken; one that blocks holds up only the ones after it).
pub(crate) fn record(signal: Signal) {
    let wakers: Vec<Waker> = {
        let mut state = state::lock_as_is();
        if state.shutdown.requested.is_some() {
            return;
        }
        state.shutdown.requested = Some(signal);
        state.notify();
        // The slots stay taken by their futures; only the wakers go.
        state
            .shutdown
            .wakers
            .iter_mut()
            .filter_map(Option::take)
            .collect()
    };
    if !wakers.is_empty() {
        let wakers = Arc::new(Mutex::new(wakers));
        let for_the_thread = Arc::clone(&wakers);
        let spawned = std::thread::Builder::new()
            .name("atexit-wake".into())
            .spawn(move || wake_all(&for_the_thread));
        if spawned.is_err() {
            wake_all(&wakers); // no thread to be had: here, then
        }
    }
}

/// Wakes the waiters in `wakers`, each under `catch_unwind`.
fn wake_all(wakers: &Mutex<Vec<Waker>>) {
    let wakers = std::mem::take(&mut *wakers.lock().unwrap_or_else(PoisonError::into_inner));
    for waker in wakers {
        if panic::catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
            os::write_stderr(
                b"atexit: a waker of a ShutdownRequest panicked; the other waiters are still woken\n",
                Duration::from_secs(1),
            );
        }
    }
}

/// In a forked child: the request was its parent's, made for the parent's
/// drain. The wakers belong to executors whose threads did not survive
/// `fork` (waking or dropping one could take a lock a dead thread holds), so
/// they are forgotten, not dropped; their slots stay taken, since a future
/// of the forking thread may still free its own, and polling again
/// registers a new waker. Called with the state lock held across the fork.
#[cfg(unix)]
pub(crate) fn forget_in_forked_child(shutdown: &mut ShutdownState) {
    for waker in &mut shutdown.wakers {
        std::mem::forget(waker.take());
    }
    shutdown.requested = None;
    request::forget();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Count(std::sync::atomic::AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn slots_in_use() -> usize {
        let state = state::lock_as_is();
        state.shutdown.wakers.len() - state.shutdown.free.len()
    }

    // No request is made here: it would be the whole test binary's.
    #[test]
    fn a_waiter_holds_one_slot_until_dropped_and_clones_start_fresh() {
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut context = Context::from_waker(&waker);
        let before = slots_in_use();

        let mut first = shutdown_request();
        assert!(Pin::new(&mut first).poll(&mut context).is_pending());
        assert!(Pin::new(&mut first).poll(&mut context).is_pending());
        assert_eq!(slots_in_use(), before + 1, "polled again, same slot");

        let mut second = first.clone();
        assert_eq!(second.slot, None, "a clone is a waiter of its own");
        assert!(Pin::new(&mut second).poll(&mut context).is_pending());
        assert_eq!(slots_in_use(), before + 2);

        drop(first);
        assert_eq!(slots_in_use(), before + 1);
        let mut third = shutdown_request();
        assert!(Pin::new(&mut third).poll(&mut context).is_pending());
        assert_eq!(slots_in_use(), before + 2, "the freed slot is reused");
        drop((second, third));
        assert_eq!(slots_in_use(), before);
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "nobody was woken");
    }
}
