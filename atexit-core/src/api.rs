//! The functions of Python's `atexit` module, and `exit`/`exit_now`.

use crate::callback::{fn_pointer_address, Bound, CallWith, Callback, HandlerFn, Plain};
use crate::exit::{self, Way};
use crate::handle::Handle;
use crate::hooks::{self, lock};
use crate::os;
use crate::reason::ExitReason;
use crate::state::{self, Phase};
use std::any::TypeId;
use std::time::Duration;

/// Registers `handler` to run when the program ends; Python's
/// `atexit.register(func)`.
///
/// Handlers run newest first: when `main` returns, on `std::process::exit`,
/// on [`exit`], and after a panic in `main` (see the crate docs' [exits](https://docs.rs/atexit/latest/atexit/exits/index.html) page for every
/// exit path). `handler` is a fn item or any `FnOnce() + Send + 'static`
/// closure; it runs at most once. The same function may be registered many
/// times and then runs once per registration.
///
/// The returned [`Handle`] cancels this one registration in O(1); dropping it
/// keeps the registration. [`unregister`] removes every registration of a
/// function instead.
///
/// Registering from inside a running handler works: the new handler runs
/// next, before the older ones still waiting. A registration made after the
/// exit handlers have finished (from another thread, or from a later libc
/// `atexit` callback) is accepted but never runs.
///
/// ```
/// # extern crate atexit_core as atexit;
/// fn all_done() {
///     println!("all_done()");
/// }
///
/// atexit::register(all_done);
/// let path = std::env::temp_dir().join("atexit-doc-register");
/// atexit::register(move || {
///     let _ = std::fs::remove_file(&path);
/// });
/// ```
pub fn register<F>(handler: F) -> Handle
where
    F: FnOnce() + Send + 'static,
{
    push(Callback::new::<_, F>(Plain(handler)))
}

/// Registers an async handler: at exit, `make` is called and the future it
/// returns is run to completion; `async fn` handlers and async closures alike.
///
/// Many exit tasks are async: flushing an HTTP client, closing a producer
/// built on Tokio. The future does not run on the program's runtime, which may
/// be gone by then (dropped at the end of `#[tokio::main]`). It runs on a
/// thread started for it, with an executor of its own:
///
/// - without features, a small `block_on` that parks the thread between
///   polls. It runs any future that does not need a particular runtime:
///   `async-io`, `smol` and `futures` ones, channels, your own.
/// - with the `tokio` feature, a fresh current-thread Tokio runtime with its
///   timers and I/O enabled, so `tokio::time::sleep`, `tokio::net` and
///   `tokio::fs` work. When the future is done the runtime is dropped, as
///   any Tokio runtime is: tasks the handler spawned and did not await are
///   cancelled, and its blocking tasks (`tokio::fs` work) are waited for.
///   Tokio I/O objects
///   created on the program's runtime belong to it: open a new connection in
///   the handler rather than reuse one whose runtime may have been dropped.
///
/// Otherwise an async handler is a handler like any other: it runs in its
/// place in the newest-first order (the exit waits for it), at most once, the
/// exit deadline ([`set_deadline`]) covers it, a panic in it is reported and
/// the other handlers still run, and inside it [`register`](register()), [`exit`] and
/// [`run_exitfuncs`] behave as they do inside a plain handler. The returned
/// [`Handle`] cancels it; [`unregister`]`(make)` removes it by function, as
/// for [`register`](register()). Only `make` needs to be `Send`: the future is made on the
/// thread that runs it.
///
/// Two differences come from the separate thread:
///
/// - Inside an async handler, end the process with [`exit`], never with
///   `std::process::exit`. When the exit began with `main` returning or with
///   `std::process::exit`, std parks for ever any other thread that calls
///   it, so the exit would wait for that handler until the deadline
///   ([`set_deadline`]) ends it, or for ever without one. (When it began with
///   [`exit`], a signal or [`run_exitfuncs`], the call is the first real exit:
///   the remaining handlers run and the process ends with its code.)
/// - A re-entrant lock the exiting thread holds is not re-entrant for the
///   handler's thread: if `main` calls `std::process::exit` while holding
///   `io::stdout().lock()`, an async handler that prints waits for ever (or
///   until the deadline). Plain handlers, on the exiting thread, do not.
///
/// A child forked inside an async handler runs its own handlers when the
/// future returns and ends as the exit would have ended, as after a plain
/// handler.
///
/// ```
/// # extern crate atexit_core as atexit;
/// async fn close_connection() {
///     // e.g. `client.close().await`
///     println!("connection closed");
/// }
///
/// atexit::register_async(close_connection);
/// let buffered = vec![1, 2, 3];
/// atexit::register_async(move || async move {
///     println!("flushing {} records", buffered.len());
/// });
/// ```
pub fn register_async<F, Fut>(make: F) -> Handle
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    push(Callback::new::<_, F>(crate::executor::Async(make)))
}

/// Registers `func` to be called with `args` (a tuple) at exit. Used by the
/// `register!` macro, which is the public face of this.
#[doc(hidden)]
pub fn register_with_args<F, A>(func: F, args: A) -> Handle
where
    F: CallWith<A>,
    A: Send + 'static,
{
    push(Callback::new::<_, F>(Bound { func, args }))
}

fn push(callback: Callback) -> Handle {
    let ticket = lock().registry.push(callback);
    Handle { ticket }
}

/// Removes every registration of `func`, with any arguments, and returns how
/// many it removed; Python's `atexit.unregister(func)`. A function that was
/// never registered is not an error: it returns 0.
///
/// Functions are told apart by type: each fn item, and each closure
/// expression, has a type of its own, so `unregister(my_cleanup)` is exact.
/// Two forms are weaker, because their type is shared:
///
/// - A fn pointer (`let f: fn() = ...`) has the type of every function of its
///   signature, so its address is compared too. That is best effort, as
///   fn-pointer equality is in Rust: an optimized build may merge two
///   functions with identical bodies into one address. Prefer fn items.
/// - A boxed closure (`Box<dyn FnOnce() + Send>`) has the type of every boxed
///   closure: unregistering one removes them all. Use the [`Handle`] instead.
///
/// A fn item and a fn pointer to the same function are different keys:
/// unregister in the form you registered.
///
/// What can never match is refused at compile time ([`HandlerFn`]): a value
/// that is not a function (`unregister(42)`, `unregister("cleanup")`), and a
/// [`Handle`], whose registration [`Handle::unregister`] cancels.
///
/// A closure is accepted, because one can match: a closure that captures
/// nothing (or only `Copy` values) is `Copy`, and `let f = || ...;
/// register(f); unregister(f)` removes it. But a closure *written in the
/// call*, `unregister(|| flush())`, has a type of its own that nothing was
/// registered with: it always returns 0. Rust gives no stable way to tell a
/// closure's type from a fn item's in a bound, so this is not a compile
/// error; pass the function (`unregister(flush)`) or keep the [`Handle`].
///
/// Handlers from `#[atexit::handler]` can be unregistered the same way.
/// Unregistering from inside a running handler removes handlers that have not
/// run yet. The removed closures are dropped before this returns.
///
/// ```
/// # extern crate atexit_core as atexit;
/// fn my_cleanup(name: &str) {
///     println!("my_cleanup({name})");
/// }
///
/// atexit::register!(my_cleanup, "first");
/// atexit::register!(my_cleanup, "second");
/// assert_eq!(atexit::unregister(my_cleanup), 2);
/// assert_eq!(atexit::unregister(my_cleanup), 0);
/// ```
pub fn unregister<F: HandlerFn<Args>, Args>(func: F) -> usize {
    // The generic part is two words; the rest is one copy for every `F`
    // (a program with thousands of handler functions has thousands of
    // `unregister::<F>`, and each would otherwise carry the whole search).
    unregister_function(TypeId::of::<F>(), fn_pointer_address(&func))
}

/// `unregister` for the function of type `type_id` (at `address`, for a fn
/// pointer).
#[inline(never)]
fn unregister_function(type_id: TypeId, address: Option<usize>) -> usize {
    let mut state = lock();
    let mut dropped = Vec::new();
    let removed = state.registry.remove_function(
        type_id,
        // The index offers only registrations of `type_id`.
        &mut |callback| callback.is_at(address),
        &mut dropped,
    );
    state::drop_unlocked(state, dropped);
    removed
}

/// Runs every registered handler now, newest first, and removes them;
/// Python's `atexit._run_exitfuncs()`.
///
/// Handlers registered while this runs run too, in their turn. A panicking
/// handler is reported on stderr and the others still run. The registry stays
/// open: handlers registered afterwards run at exit as usual.
///
/// Only one thread runs handlers at a time. Called from inside a handler, this
/// goes on running the remaining ones; called on another thread while handlers
/// are running, it returns at once and leaves them to the thread already
/// running them (waiting could deadlock). If the process starts exiting while
/// this runs, the exiting thread takes over after the current handler.
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::register(|| println!("runs now, not at exit"));
/// atexit::run_exitfuncs();
/// assert_eq!(atexit::ncallbacks(), 0);
/// ```
#[doc(alias = "_run_exitfuncs")]
pub fn run_exitfuncs() {
    exit::run_now()
}

/// Removes every registered handler without running it; Python's
/// `atexit._clear()`. Their closures are dropped before this returns.
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::register(|| println!("never printed"));
/// atexit::clear();
/// assert_eq!(atexit::ncallbacks(), 0);
/// ```
#[doc(alias = "_clear")]
pub fn clear() {
    let mut state = lock();
    let mut dropped = Vec::new();
    state.registry.clear(&mut dropped);
    state::drop_unlocked(state, dropped);
}

/// The number of handlers that will run at exit; Python's
/// `atexit._ncallbacks()`. In a forked child, the parent's handlers are not
/// counted until [`adopt_inherited`] makes them the child's.
///
/// ```
/// # extern crate atexit_core as atexit;
/// let before = atexit::ncallbacks();
/// let handle = atexit::register(|| {});
/// assert_eq!(atexit::ncallbacks(), before + 1);
/// handle.unregister();
/// assert_eq!(atexit::ncallbacks(), before);
/// ```
#[doc(alias = "_ncallbacks")]
pub fn ncallbacks() -> usize {
    lock().registry.own_len()
}

/// Runs the exit handlers, then ends the process with `code`; Python's
/// `sys.exit(code)`.
///
/// On Unix the parent sees `code & 0xff` (256 reads as 0, -1 as 255), as
/// with `std::process::exit`: keep to `0..=255` for a status that means what
/// it says. What `main` printed is flushed before the handlers run.
///
/// Unlike `std::process::exit`, this runs the handlers on every platform
/// (on Windows `std::process::exit` skips the C runtime's `atexit` list). Rust's
/// stdout is flushed after the handlers, as `std::process::exit` does.
///
/// Called from a handler while the process is already exiting, it does not
/// exit again (`std::process::exit` there would abort, see the crate docs' [pitfalls](https://docs.rs/atexit/latest/atexit/pitfalls/index.html)):
/// it ends that handler by unwinding, the runner reports it on stderr, and the
/// exit goes on with the status it already had, as CPython does with
/// `SystemExit` in a callback. In a `panic = "abort"` build that unwind aborts.
/// Called from a handler during [`run_exitfuncs`], it runs the remaining
/// handlers and exits with `code`.
///
/// Called on a thread while another thread is running the exit handlers, it
/// waits for them to finish and then parks forever: the other thread ends the
/// process with its own status, as `std::process::exit` does in the same
/// race (here the race lasts as long as the handlers run).
///
/// Called after the exit handlers have finished, on the thread that ran them
/// (from a later libc `atexit` callback, say), it flushes stdout and ends the
/// process at once with `code`, skipping what the C runtime had left to do.
/// Called inside the C runtime's exit *before* this crate's callback (from a
/// thread-local destructor of the exiting thread, or a libc `atexit` callback
/// registered after this crate loaded), it runs the handlers and then aborts
/// in std's exit guard, as `std::process::exit` would there: do not exit from
/// those.
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::register(|| println!("all_done()"));
/// println!("Exiting...");
/// atexit::exit(0);
/// ```
pub fn exit(code: i32) -> ! {
    // As every call into the API does: the hooks, where the load-time
    // constructor did not run.
    hooks::install();
    exit::exit(Way::Exit(code));
    exit::park_forever() // not reached: this way never returns
}

/// Ends the process with `code` at once, running no exit handler; Python's
/// `os._exit(code)`.
///
/// Nothing is flushed: like `libc::_exit`, output still in Rust's stdout buffer
/// (a `print!` without a newline) is lost. That is what a forked child wants,
/// so it does not write its parent's buffered output twice. Flush first to keep
/// it.
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::register(|| println!("never printed"));
/// println!("Exiting...");
/// atexit::exit_now(0);
/// ```
#[doc(alias = "_exit")]
pub fn exit_now(code: i32) -> ! {
    os::exit_now(code)
}

/// In a forked child, makes the handlers inherited from the parent the
/// child's own, so they run when the child exits; returns how many.
///
/// After `fork`, the child's exit runs only the handlers the child registered:
/// the parent's would otherwise run twice, once per process (flushing the same
/// buffered data twice, removing a file the parent still uses). Adopted
/// handlers run after the child's own, in their original order. Outside a
/// forked child this returns 0.
///
/// ```
/// # extern crate atexit_core as atexit;
/// assert_eq!(atexit::adopt_inherited(), 0, "not a forked child");
/// ```
pub fn adopt_inherited() -> usize {
    lock().registry.adopt_inherited()
}

/// Whether the process has started running its exit handlers (or finished
/// them). A handler registered from now on only runs if the exit run is still
/// under way.
///
/// ```
/// # extern crate atexit_core as atexit;
/// assert!(!atexit::is_exiting());
/// ```
pub fn is_exiting() -> bool {
    hooks::install();
    // Set before the first handler of an exit runs, and never unset but in
    // a child forked outside the run.
    crate::shutdown::REQUEST.exit_started()
}

/// Why the process is exiting, asked from inside an exit handler; `None`
/// when it is not exiting (for example inside [`run_exitfuncs`]).
///
/// Returning from `main` and `std::process::exit` report their status on
/// Linux with glibc; elsewhere those read `Exit(None)`. See [`ExitReason`].
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::ExitReason;
///
/// atexit::register(|| {
///     if let Some(ExitReason::Signal(signal)) = atexit::exit_reason() {
///         eprintln!("interrupted by {signal}: saving a checkpoint");
///     }
/// });
/// assert_eq!(atexit::exit_reason(), None, "not exiting yet");
/// ```
pub fn exit_reason() -> Option<ExitReason> {
    let reason = lock().phase.reason()?;
    Some(crate::shutdown::reason_after_the_request(reason))
}

/// Asks for the process to end with `code` once the exit handlers are done,
/// whatever status it was going to have; CPython's open bpo-27035 asks for
/// this. The last call wins. Called outside an exit run it does nothing. On
/// Unix the parent sees `code & 0xff`, as with [`exit`].
///
/// - After `atexit::exit(n)` and a caught signal, the process exits with
///   `code` (a signal exit then ends with `code` instead of dying by the
///   signal).
/// - After `main` returns or `std::process::exit`, the C runtime has its
///   status already: on Linux with glibc the C runtime does the rest of its
///   exit work first (the C `atexit` callbacks registered before this
///   crate's, the destructors), then the crate flushes Rust's stdout (if no
///   other thread holds its lock) and the C streams and ends the process
///   with `code`. Elsewhere it ends the process with `code` right after its
///   handlers, skipping the C runtime callbacks registered before this crate
///   loaded.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use atexit::ExitReason;
///
/// fn upload_pending_report() -> bool {
///     true // the work the failed run left behind, done now
/// }
///
/// atexit::register(|| {
///     // The run failed earlier, but this handler finished its work: report success.
///     if let Some(ExitReason::Exit(Some(code))) = atexit::exit_reason() {
///         if code != 0 && upload_pending_report() {
///             atexit::set_exit_code(0);
///         }
///     }
/// });
/// ```
pub fn set_exit_code(code: i32) {
    match &mut lock().phase {
        Phase::Exiting(exiting) => exiting.chosen = Some(code),
        Phase::Closed(closed) => closed.chosen = Some(code),
        Phase::Open { .. } => {}
    }
}

/// Sets a deadline for the whole exit run, or removes it with `None` (the
/// default, as in Python).
///
/// When an exit run (of any kind but [`run_exitfuncs`]) takes longer, a
/// watchdog reports on stderr which handler is still running, skips the
/// rest, and ends the process with the status it was going to have, or by
/// the signal it was dying from. Set it to fit the time the process has to
/// stop: systemd waits `TimeoutStopSec` (90 s) after SIGTERM, Kubernetes
/// `terminationGracePeriodSeconds` (30 s), before they send SIGKILL, which
/// runs nothing; a deadline a little shorter lets the process end on its own
/// terms and say what hung.
///
/// The deadline counts from the start of the exit to the end of the process:
/// it also bounds a flush that blocks after the handlers. Once the deadline
/// passes no handler starts, whatever the stuck one or another thread does.
/// It is read when an exit starts; changing it during the run has no effect
/// on that run. A forked child keeps it for its own exit, and a child forked
/// by a handler during an exit (on the thread running it) is held to the
/// same deadline.
///
/// Any `Duration` works. `Duration::ZERO` runs no handler: the exit is
/// reported and the process ends at once with its status. A `Duration` too
/// large to add to the current time (`Duration::MAX`) means no deadline.
///
/// ```
/// # extern crate atexit_core as atexit;
/// use std::time::Duration;
/// atexit::set_deadline(Some(Duration::from_secs(25)));
/// ```
pub fn set_deadline(deadline: Option<Duration>) {
    lock().timeout = deadline;
    crate::progress::deadline_set(deadline);
}

/// In a `panic = "abort"` build, runs the exit handlers when a panic is
/// about to abort the process; elsewhere it changes nothing.
///
/// Without it nothing runs after an aborting panic: no exit handler, no
/// destructor. With it, a panic hook (chained after the existing one, so the
/// panic message comes first) runs the handlers on the panicking thread,
/// then the abort proceeds. A handler that panics there aborts at once. Call
/// it after installing a panic hook of your own, or it is replaced.
///
/// ```
/// # extern crate atexit_core as atexit;
/// atexit::run_on_panic_abort();
/// ```
pub fn run_on_panic_abort() {
    hooks::panic::enable_run_before_abort();
}
