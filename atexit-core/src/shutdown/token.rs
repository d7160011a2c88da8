//! The request as Tokio code stops on it: `CancellationToken`s, both ways
//! (the `tokio-util` feature).

use super::signal_safe::REQUEST;
use super::waiters::{shutdown_request, ShutdownRequest};
use crate::reason::Signal;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The process-wide token that the shutdown request cancels, and the waiter
/// that cancels it: a [`ShutdownRequest`] polled once with a waker that
/// cancels the token, woken by `shutdown::wake_the_waiters` as any other waiter (on the
/// crate's wake thread, under `catch_unwind`). Nothing is spawned.
static TOKEN: Mutex<Option<(ShutdownRequest, tokio_util::sync::CancellationToken)>> =
    Mutex::new(None);

/// Cancels its token when woken.
struct CancelOnWake(tokio_util::sync::CancellationToken);

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
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub fn shutdown_token() -> tokio_util::sync::CancellationToken {
    let mut slot = TOKEN.lock().unwrap_or_else(PoisonError::into_inner);
    let request = REQUEST.cause();
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
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
#[must_use = "futures do nothing unless you `.await` or poll them: spawn it"]
pub struct ShutdownOnCancel {
    cancelled: Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
    request: ShutdownRequest,
    signal: Signal,
}

impl std::fmt::Debug for ShutdownOnCancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownOnCancel")
            .field("signal", &self.signal)
            .finish_non_exhaustive()
    }
}

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
