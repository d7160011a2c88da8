//! Who waits for the shutdown request: the [`ShutdownRequest`] futures,
//! blocking waits and checks, and the set of wakers they leave, behind a
//! lock of its own (never held while a waker or executor code runs, and
//! never while another lock of the crate is taken).

use super::signal_safe::REQUEST;
use crate::reason::{ShutdownCause, Signal};
use crate::{helper_thread, warn};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The wakers of the [`ShutdownRequest`] futures waiting, by slot; a future
/// keeps its slot until it is dropped.
pub(crate) struct Wakers {
    slots: Vec<Option<Waker>>,
    /// Slots free for reuse.
    free: Vec<usize>,
}

static WAKERS: Mutex<Wakers> = Mutex::new(Wakers {
    slots: Vec::new(),
    free: Vec::new(),
});

/// Signalled when the request is made, for the blocking waits.
static REQUESTED: Condvar = Condvar::new();

/// The waker set; held only for a moment. The `fork` hooks hold it across
/// `fork`, after the state's lock and the loggers'.
pub(crate) fn lock() -> MutexGuard<'static, Wakers> {
    WAKERS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits for a shutdown request: a caught signal, when the signals were
/// installed in graceful-shutdown mode with
/// [`CatchSignals::graceful_shutdown`](crate::CatchSignals::graceful_shutdown).
///
/// It is three things at once:
///
/// - a **future** (`Output =` [`ShutdownCause`]: the signal, or the
///   program's reason) that any executor can await (Tokio,
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
/// or [`request_shutdown_because`](crate::request_shutdown_because) is
/// called, or for ever. Do not wait in an exit handler either: the exit
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
/// let cause = shutdown.await; // stopped accepting: drain, then return
/// println!("shutting down on {cause}");
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
    /// What asked for the shutdown (a signal, or the program with its
    /// reason), if anything has; never blocks.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::shutdown_request().cause(), None);
    /// ```
    pub fn cause(&self) -> Option<ShutdownCause> {
        REQUEST.cause()
    }

    /// The signal that asked for the shutdown, if one has (`None` also
    /// after [`request_shutdown_because`](crate::request_shutdown_because):
    /// no signal came); never blocks.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert_eq!(atexit::shutdown_request().signal(), None);
    /// ```
    pub fn signal(&self) -> Option<Signal> {
        self.cause().and_then(ShutdownCause::signal)
    }

    /// Whether a shutdown has been asked for, by a signal or by the
    /// program; never blocks.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// assert!(!atexit::shutdown_request().is_requested());
    /// ```
    pub fn is_requested(&self) -> bool {
        self.cause().is_some()
    }

    /// Blocks this thread until a shutdown is asked for, and returns what
    /// asked. Returns at once if one was asked for already.
    ///
    /// ```no_run
    /// # extern crate atexit_core as atexit;
    /// let cause = atexit::shutdown_request().wait();
    /// eprintln!("{cause}: finishing the current item");
    /// ```
    pub fn wait(&self) -> ShutdownCause {
        loop {
            if let Some(cause) = self.wait_timeout(Duration::MAX) {
                return cause;
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
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ShutdownCause> {
        let until = Instant::now().checked_add(timeout);
        let mut wakers = lock();
        loop {
            // Under the lock the request's waking takes: a request made
            // after this look wakes this wait.
            if let Some(cause) = self.cause() {
                return Some(cause);
            }
            let left = match until {
                Some(until) => match until.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return None,
                },
                None => None, // for ever
            };
            wakers = match left {
                Some(left) => {
                    REQUESTED
                        .wait_timeout(wakers, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                None => REQUESTED
                    .wait(wakers)
                    .unwrap_or_else(PoisonError::into_inner),
            };
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
    type Output = ShutdownCause;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<ShutdownCause> {
        if let Some(cause) = self.cause() {
            return Poll::Ready(cause);
        }
        // Cloned (and, below, dropped) outside the lock: both are executor
        // code, which may take locks of its own or drop a task that owns
        // another `ShutdownRequest`.
        let waker = cx.waker().clone();
        let mut wakers = lock();
        // Checked again under the lock the waking takes: a request made
        // since the load above, and woken before this, has found no waker of
        // ours to wake.
        if let Some(cause) = self.cause() {
            return Poll::Ready(cause);
        }
        let unused = match self.slot {
            Some(slot) => match &mut wakers.slots[slot] {
                Some(stored) if stored.will_wake(&waker) => Some(waker),
                entry => entry.replace(waker),
            },
            None => {
                self.slot = Some(wakers.take_slot(waker));
                None
            }
        };
        drop(wakers);
        drop(unused);
        Poll::Pending
    }
}

impl Drop for ShutdownRequest {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut wakers = lock();
            let waker = wakers.slots[slot].take();
            wakers.free.push(slot);
            drop(wakers);
            drop(waker); // outside the lock, as in `poll`
        }
    }
}

impl ShutdownRequest {
    /// This request as a future of `()`, for the APIs that take a shutdown
    /// future and have no use for the signal: axum's
    /// `serve(..).with_graceful_shutdown(signal)`, which wants
    /// `F: Future<Output = ()> + Send + 'static`, and the servers that take
    /// a `Future<Output = ()>` to stop on (tonic's `serve_with_shutdown`).
    ///
    /// Named after the pair Tokio users know from `CancellationToken`:
    /// [`is_requested`](ShutdownRequest::is_requested) checks, `requested()`
    /// is the future that completes when it becomes true, as
    /// `is_cancelled()` and `cancelled()` do. It takes the request by value,
    /// so that the future is `'static` and keeps the waiter's slot; clone
    /// the request first to keep one (clones are cheap, independent
    /// waiters). [`ShutdownRequested`] is `Send`, `Sync` and `Unpin`.
    ///
    /// ```
    /// # extern crate atexit_core as atexit;
    /// use std::future::Future;
    ///
    /// // The bound of axum's `with_graceful_shutdown`:
    /// fn with_graceful_shutdown<F>(signal: F) -> F
    /// where
    ///     F: Future<Output = ()> + Send + 'static,
    /// {
    ///     signal
    /// }
    ///
    /// let shutdown = atexit::shutdown_request();
    /// let signal = with_graceful_shutdown(shutdown.clone().requested());
    /// // axum::serve(listener, app).with_graceful_shutdown(signal).await?;
    /// // and once `serve` returned: which signal it was
    /// assert_eq!(shutdown.signal(), None);
    /// # drop(signal);
    /// ```
    pub fn requested(self) -> ShutdownRequested {
        ShutdownRequested { request: self }
    }
}

/// The future of [`ShutdownRequest::requested`]: completes with `()` when
/// the shutdown is asked for, for the APIs that take a
/// `Future<Output = ()> + Send + 'static` (axum's `with_graceful_shutdown`).
/// Await the [`ShutdownRequest`] itself to get its [`ShutdownCause`].
///
/// ```
/// # extern crate atexit_core as atexit;
/// let requested: atexit::ShutdownRequested = atexit::shutdown_request().requested();
/// # drop(requested);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ShutdownRequested {
    request: ShutdownRequest,
}

impl Future for ShutdownRequested {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.request).poll(cx).map(drop)
    }
}

impl Wakers {
    fn take_slot(&mut self, waker: Waker) -> usize {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(waker);
                slot
            }
            None => {
                self.slots.push(Some(waker));
                self.slots.len() - 1
            }
        }
    }

    /// In a forked child (this lock held across the fork): the wakers
    /// belong to executors whose threads did not survive `fork` (waking or
    /// dropping one could take a lock a dead thread holds), so they are
    /// forgotten, not dropped; their slots stay taken, since a future of the
    /// forking thread may still free its own, and polling again registers a
    /// new waker.
    #[cfg(unix)]
    pub(crate) fn forget_in_forked_child(&mut self) {
        for waker in &mut self.slots {
            std::mem::forget(waker.take());
        }
    }
}

/// Wakes every waiter of the request just made (the caller's
/// `REQUEST.note` made it): the second step, on the signal watcher thread,
/// or on the thread of `request_shutdown`.
///
/// The wakers are executor code, and the watcher must stay free for the
/// next signal: they are called on a thread of their own, each under
/// `catch_unwind` (a waker that panics is reported, the others are still
/// woken; one that blocks holds up only the ones after it).
pub(crate) fn wake_the_waiters() {
    let wakers: Vec<Waker> = {
        let mut wakers = lock();
        REQUESTED.notify_all();
        // The slots stay taken by their futures; only the wakers go.
        wakers.slots.iter_mut().filter_map(Option::take).collect()
    };
    if !wakers.is_empty() {
        if let Err(wake) = helper_thread::spawn("atexit-wake", move || wake_all(wakers)) {
            wake(); // no thread to be had: here, then
        }
    }
}

/// Wakes `wakers`, each under `catch_unwind`.
fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        if panic::catch_unwind(AssertUnwindSafe(|| waker.wake())).is_err() {
            warn::warn(format_args!(
                "a waker of a ShutdownRequest panicked; the other waiters are still woken"
            ));
        }
    }
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

    /// Taken by the tests that count slots or take one for good (the
    /// token's waiter): they run one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slots_in_use() -> usize {
        let wakers = lock();
        wakers.slots.len() - wakers.free.len()
    }

    // No request is made here either.
    #[test]
    fn requested_is_a_static_send_unit_future_that_keeps_one_slot() {
        let _serial = serial();
        fn unit_future<F: Future<Output = ()> + Send + Sync + Unpin + 'static>(f: F) -> F {
            f
        }
        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut context = Context::from_waker(&waker);
        let before = slots_in_use();
        let mut requested = unit_future(shutdown_request().requested());
        assert!(Pin::new(&mut requested).poll(&mut context).is_pending());
        assert!(Pin::new(&mut requested).poll(&mut context).is_pending());
        assert_eq!(slots_in_use(), before + 1);
        drop(requested);
        assert_eq!(slots_in_use(), before);
    }

    // Cancelling tokens given out, and a token watched by
    // `request_shutdown_on_cancel` that is not cancelled, make no request.
    #[cfg(feature = "tokio-util")]
    #[test]
    fn a_cancelled_shutdown_token_cancels_only_itself() {
        use crate::shutdown::{request_shutdown_on_cancel, shutdown_token};
        let _serial = serial();
        let first = shutdown_token();
        let second = shutdown_token();
        first.cancel();
        first.cancel();
        assert!(first.is_cancelled());
        assert!(!second.is_cancelled(), "a sibling is not cancelled");
        assert!(!shutdown_token().is_cancelled(), "nor is a new one");
        assert_eq!(REQUEST.signal(), None, "no request was made");

        let count = Arc::new(Count(0.into()));
        let waker = Waker::from(count.clone());
        let mut context = Context::from_waker(&waker);
        let token = tokio_util::sync::CancellationToken::new();
        fn spawnable<F: Future<Output = bool> + Send + Unpin + 'static>(f: F) -> F {
            f
        }
        let mut watch = spawnable(request_shutdown_on_cancel(token.clone(), Signal::Term));
        assert!(Pin::new(&mut watch).poll(&mut context).is_pending());
        drop(token);
        assert!(Pin::new(&mut watch).poll(&mut context).is_pending());
        assert_eq!(REQUEST.signal(), None);
    }

    // No request is made here: it would be the whole test binary's.
    #[test]
    fn a_waiter_holds_one_slot_until_dropped_and_clones_start_fresh() {
        let _serial = serial();
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
