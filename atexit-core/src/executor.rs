//! Running an async handler to completion at exit.
//!
//! Each async handler runs on a thread of its own, started for it. The exiting
//! thread is no place for a future: glibc has already destroyed its
//! thread-locals when the handlers run, and executors keep their context in
//! thread-locals (Tokio's would panic). The user's runtime may be gone too,
//! dropped at the end of `#[tokio::main]`, so the future gets an executor of
//! its own: with the `tokio` feature a fresh current-thread Tokio runtime
//! (Tokio's timers and I/O need one), otherwise a thread-parking `block_on`
//! that drives any runtime-independent future.
//!
//! The thread that runs the exit waits for that thread, so the handler keeps
//! its place in the order, the exit deadline covers it, and a panic in it is
//! reported like any other handler's.

use crate::callback::{Identified, Run};
use crate::runner;
use std::future::Future;
use std::panic;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// A `FnOnce() -> impl Future<Output = ()>`, which stands for itself:
/// `register_async(make)`.
pub(crate) struct Async<F>(pub(crate) F);

impl<F: 'static> Identified for Async<F> {
    type Function = F;

    fn function(&self) -> &F {
        &self.0
    }
}

impl<F, Fut> Run for Async<F>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn run(self) {
        run_to_completion(self.0)
    }
}

/// Makes the future and runs it to completion on a new thread acting for
/// this one (see `runner`), waiting for it. A panic in the future is resumed
/// here, for the runner to report.
pub(crate) fn run_to_completion<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let outcome = runner::on_helper_thread("atexit-async", || {
        execute(make());
        crate::exit::exit(crate::exit::Way::AsyncHandlerReturned);
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(payload)) => panic::resume_unwind(payload),
        // No thread to be had (a thread limit, say): try on this one. Plain
        // futures still run; Tokio's runtime may refuse, and that is reported.
        Err(work) => work(),
    }
}

#[cfg(feature = "tokio")]
fn execute<Fut: Future<Output = ()>>(future: Fut) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("cannot start a Tokio runtime to run it: {error}"));
    runtime.block_on(future);
    // Dropping the runtime cancels the tasks the handler spawned and did not
    // await, and waits for its blocking tasks (`tokio::fs` writes among them),
    // as dropping any Tokio runtime does.
    drop(runtime);
}

#[cfg(not(feature = "tokio"))]
fn execute<Fut: Future<Output = ()>>(future: Fut) {
    block_on(future)
}

/// Polls `future` on this thread until it is ready, parking in between.
///
/// A wake-up is a flag set before the unpark, and the park loops until it
/// finds the flag (as `futures-executor` does): the thread's unpark token
/// alone is not enough, since a `poll` that parks itself (a std channel's
/// `recv`, a `Mutex`) consumes the token a wake-up left, and a bare park
/// after it would sleep for ever.
// With `tokio`, Tokio's runtime runs the futures; this stays, tested.
#[cfg_attr(feature = "tokio", allow(dead_code))]
pub(crate) fn block_on<Fut: Future>(future: Fut) -> Fut::Output {
    let mut future = pin!(future);
    let unpark = Arc::new(Unpark {
        thread: thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        // A wake-up during the poll left the flag: poll again at once. A
        // spurious return from `park` just parks again.
        while !unpark.woken.swap(false, Ordering::Acquire) {
            thread::park();
        }
    }
}

#[cfg_attr(feature = "tokio", allow(dead_code))]
struct Unpark {
    thread: Thread,
    /// Set by a wake-up, taken by the executor before it polls again.
    woken: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// A timer future: a thread sleeps, then wakes the task.
    struct Sleep {
        until: Instant,
        started: bool,
    }

    impl Future for Sleep {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if Instant::now() >= self.until {
                return Poll::Ready(());
            }
            if !self.started {
                self.started = true;
                let (until, waker) = (self.until, cx.waker().clone());
                thread::spawn(move || {
                    thread::sleep(until.saturating_duration_since(Instant::now()));
                    waker.wake();
                });
            }
            Poll::Pending
        }
    }

    fn sleep(duration: Duration) -> Sleep {
        Sleep {
            until: Instant::now() + duration,
            started: false,
        }
    }

    #[test]
    fn block_on_waits_for_a_timer() {
        let start = Instant::now();
        let value = block_on(async {
            sleep(Duration::from_millis(30)).await;
            7
        });
        assert_eq!(value, 7);
        assert!(start.elapsed() >= Duration::from_millis(30));
    }

    /// An I/O future: a read from a socket, done on a helper thread that
    /// wakes the task when the bytes are in.
    #[cfg(unix)]
    #[test]
    fn block_on_waits_for_io() {
        use std::os::unix::net::UnixStream;
        let (reader, mut writer) = UnixStream::pair().unwrap();
        let received = Arc::new(Mutex::new(None::<Vec<u8>>));
        let mut reader = Some(reader);
        let read = std::future::poll_fn(|cx| {
            if let Some(bytes) = received.lock().unwrap().take() {
                return Poll::Ready(bytes);
            }
            if let Some(mut reader) = reader.take() {
                let (received, waker) = (Arc::clone(&received), cx.waker().clone());
                thread::spawn(move || {
                    let mut bytes = vec![0; 5];
                    reader.read_exact(&mut bytes).unwrap();
                    *received.lock().unwrap() = Some(bytes);
                    waker.wake();
                });
            }
            Poll::Pending
        });
        let writing = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            writer.write_all(b"hello").unwrap();
        });
        assert_eq!(block_on(read), b"hello");
        writing.join().unwrap();
    }

    /// A future whose `poll` blocks on a std channel (which parks the
    /// thread) while its waker fires from another thread: the channel's own
    /// park consumes the thread's unpark token, so a `block_on` that only
    /// parks sleeps through the wake-up for ever (issue 20, item 1).
    #[test]
    fn a_wake_up_consumed_by_a_park_inside_poll_is_not_lost() {
        let (finished, result) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut polls = 0;
            let future = std::future::poll_fn(|cx| {
                polls += 1;
                if polls > 1 {
                    return Poll::Ready(polls);
                }
                let (send, receive) = std::sync::mpsc::channel();
                let waker = cx.waker().clone();
                thread::spawn(move || {
                    waker.wake();
                    thread::sleep(Duration::from_millis(50));
                    send.send(()).unwrap();
                });
                receive.recv().unwrap();
                Poll::Pending
            });
            let _ = finished.send(block_on(future));
        });
        // Bounded: a lost wake-up fails here rather than hanging the tests.
        assert_eq!(result.recv_timeout(Duration::from_secs(20)), Ok(2));
    }

    #[test]
    fn runs_on_a_thread_acting_for_the_caller() {
        let caller = (thread::current().id(), runner::current());
        let seen = Arc::new(Mutex::new(None));
        let inside = Arc::clone(&seen);
        run_to_completion(move || async move {
            *inside.lock().unwrap() = Some((thread::current().id(), runner::current()));
        });
        let (worker, acting) = seen.lock().unwrap().take().unwrap();
        assert_ne!(worker, caller.0, "a thread of its own");
        assert_eq!(acting, caller.1, "taken for the caller");
        assert_eq!(runner::current(), caller.1);
    }

    #[test]
    fn a_panic_comes_back_to_the_caller() {
        let payload =
            panic::catch_unwind(|| run_to_completion(|| async { panic!("async handler failed") }))
                .unwrap_err();
        assert_eq!(crate::report::message(&*payload), "async handler failed");
    }
}
