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
/// Await the [`ShutdownRequest`] itself to get the signal.
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

/// The process-wide token that the shutdown request cancels, and the waiter
/// that cancels it: a [`ShutdownRequest`] polled once with a waker that
/// cancels the token, woken by [`record`] as any other waiter (on the
/// crate's wake thread, under `catch_unwind`). Nothing is spawned.
#[cfg(feature = "tokio-util")]
static TOKEN: Mutex<Option<(ShutdownRequest, tokio_util::sync::CancellationToken)>> =
    Mutex::new(None);

/// Cancels its token when woken.
#[cfg(feature = "tokio-util")]
struct CancelOnWake(tokio_util::sync::CancellationToken);

#[cfg(feature = "tokio-util")]
impl std::task::Wake for CancelOnWake {
    fn wake(self: Arc<Self>) {
        self.0.cancel();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.cancel();
    }
}

/// A `CancellationToken` that the shutdown request cancels: for the Tokio
/// code that already stops on a token (`tokio::select!` on
/// `token.cancelled()`, `axum`'s `with_graceful_shutdown(token.cancelled_owned())`,
/// a library that takes one).
///
/// Each call returns a new child of one process-wide token, which the
/// request cancels (so every token given out is cancelled by it, whenever
/// it was made, even after the request). Cancelling a token given out
/// cancels it and its own children only: it neither makes the request nor
/// stops the others. For the other way round, a token of the program's
/// whose cancellation is the request, see [`request_shutdown_on_cancel`].
/// Nothing is spawned: the request wakes the process-wide token as it wakes
/// any waiter.
///
/// A child forked from the process (where Tokio's runtimes do not carry
/// over anyway) gets the tokens for its own request from its own calls:
/// tokens it inherited may stay as they were, cancelled or not.
///
/// Pair it with `tokio_util::task::TaskTracker` (tokio-util's `rt`
/// feature) to wait for the work in flight once the token is cancelled:
///
/// ```
/// # extern crate atexit_core as atexit;
/// use std::time::Duration;
/// use tokio_util::task::TaskTracker;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let token = atexit::shutdown_token();
/// let tracker = TaskTracker::new();
/// for job in 0..3 {
///     let token = token.clone();
///     tracker.spawn(async move {
///         tokio::select! {
///             _ = token.cancelled() => println!("job {job}: stopped early"),
///             _ = tokio::time::sleep(Duration::from_millis(10)) => println!("job {job}: done"),
///         }
///     });
/// }
/// // A shutdown request (SIGTERM in graceful-shutdown mode) cancels
/// // `token`; here the jobs just finish.
/// tracker.close();
/// tracker.wait().await; // every job finished or stopped
/// assert!(!token.is_cancelled());
/// # }
/// ```
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub fn shutdown_token() -> tokio_util::sync::CancellationToken {
    let mut slot = TOKEN.lock().unwrap_or_else(PoisonError::into_inner);
    let request = crate::request::signal();
    // A child forked after its parent's request has no request of its own
    // (the parent's was forgotten), but inherited the cancelled token: it
    // gets a fresh one, for its own request.
    if matches!(&*slot, Some((_, token)) if token.is_cancelled() && request.is_none()) {
        *slot = None;
    }
    let (waiter, token) = slot.get_or_insert_with(|| {
        (
            shutdown_request(),
            tokio_util::sync::CancellationToken::new(),
        )
    });
    // Polled on every call, with the same waker (so it is stored once):
    // after a fork the child's waiter lost its waker, and this gives it back.
    let waker = Waker::from(Arc::new(CancelOnWake(token.clone())));
    if Pin::new(waiter)
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
    {
        token.cancel();
    }
    token.child_token()
}

/// Makes the shutdown request, as [`request_shutdown`](crate::request_shutdown)`(signal)`
/// does, when `token` is cancelled: for a program that already stops on a
/// `CancellationToken` of its own (an admin endpoint, a supervisor task,
/// a library that cancels it), so that the exit that follows ends as after
/// `signal`, with the drain timeout and the second signal.
///
/// A token has no callback to hook, so something must wait on it: this
/// returns a future that does, and spawns nothing itself. Spawn it on the
/// program's runtime (`tokio::spawn`), or await it next to the rest. It is
/// bounded: it completes at the first of the token's cancellation (then
/// with `request_shutdown`'s answer: `true` when it made the request) and a
/// request made otherwise (then with `false`, leaving the token alone).
/// Cancelling the token again, or another of its clones, does nothing more:
/// the request is made once per process.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::Signal;
/// use tokio_util::sync::CancellationToken;
/// use tokio_util::task::TaskTracker;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stop = CancellationToken::new();
/// let watch = tokio::spawn(atexit::request_shutdown_on_cancel(stop.clone(), Signal::Term));
/// let tracker = TaskTracker::new();
/// tracker.spawn(async { /* a request in flight */ });
///
/// stop.cancel(); // the admin endpoint's "drain and stop"
/// assert!(watch.await.unwrap(), "the cancellation made the request");
/// assert_eq!(atexit::shutdown_request().await, Signal::Term);
/// tracker.close();
/// tracker.wait().await;
/// // Returning now ends the process by SIGTERM, after the exit handlers.
/// # atexit::register(|| atexit::set_exit_code(0)); // but this doctest must pass
/// # }
/// ```
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub fn request_shutdown_on_cancel(
    token: tokio_util::sync::CancellationToken,
    signal: Signal,
) -> ShutdownOnCancel {
    ShutdownOnCancel {
        cancelled: Box::pin(token.cancelled_owned()),
        request: shutdown_request(),
        signal,
    }
}

/// The future of [`request_shutdown_on_cancel`]: makes the shutdown request
/// when its token is cancelled. `Output = bool`: whether it made the
/// request (`false` when a request came first). `Send`, `'static`, `Unpin`.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use tokio_util::sync::CancellationToken;
/// let watch: atexit::ShutdownOnCancel =
///     atexit::request_shutdown_on_cancel(CancellationToken::new(), atexit::Signal::Term);
/// # drop(watch);
/// ```
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
#[must_use = "futures do nothing unless you `.await` or poll them: spawn it"]
pub struct ShutdownOnCancel {
    cancelled: Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
    request: ShutdownRequest,
    signal: Signal,
}

#[cfg(feature = "tokio-util")]
impl std::fmt::Debug for ShutdownOnCancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownOnCancel")
            .field("signal", &self.signal)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio-util")]
impl Future for ShutdownOnCancel {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        // The token first: cancelled and requested at once, it asks (and
        // `request_shutdown` answers false).
        if self.cancelled.as_mut().poll(cx).is_ready() {
            return Poll::Ready(crate::request_shutdown(self.signal));
        }
        Pin::new(&mut self.request).poll(cx).map(|_| false)
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

    /// Taken by the tests that count slots or take one for good (the
    /// token's waiter): they run one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn slots_in_use() -> usize {
        let state = state::lock_as_is();
        state.shutdown.wakers.len() - state.shutdown.free.len()
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
        let _serial = serial();
        let first = shutdown_token();
        let second = shutdown_token();
        first.cancel();
        first.cancel();
        assert!(first.is_cancelled());
        assert!(!second.is_cancelled(), "a sibling is not cancelled");
        assert!(!shutdown_token().is_cancelled(), "nor is a new one");
        assert_eq!(request::signal(), None, "no request was made");

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
        assert_eq!(request::signal(), None);
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
