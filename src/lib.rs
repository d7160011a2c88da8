//! Run cleanup functions when the program ends: Python's `atexit` for Rust.
//!
//! Register functions that flush buffers, remove temporary files, restore the
//! terminal or close connections; they run newest first when `main` returns,
//! on `std::process::exit`, on [`exit`], and after a panic in `main`. Each
//! function of Python's module has its counterpart here ([python]).
//!
//! ```
//! #[atexit::handler]
//! fn flush_logs() {
//!     // Zero arguments, registered before `main` starts.
//! }
//!
//! fn main() {
//!     atexit::register(|| println!("closing the database"));
//!     // ... at exit: "closing the database", then flush_logs().
//! }
//! ```
//!
//! **Platforms.** Linux is tested; other Unix systems are only type-checked.
//! On Windows `std::process::exit` runs **no** handler: end with
//! [`atexit::exit`](exit), which runs them everywhere. Windows console events
//! (Ctrl+C, closing the console) are not tested yet. See [platforms].
//!
//! # Register a cleanup
//!
//! [`#[atexit::handler]`](handler) registers a function before `main` starts;
//! [`register`](register()) registers a closure at run time, and
//! [`register!`] a function with its arguments. Handlers run newest first,
//! each once; one that panics is reported on stderr and the others still run.
//!
//! ```
//! fn save(path: &str, records: usize) {
//!     println!("saving {records} records to {path}");
//! }
//!
//! fn main() {
//!     atexit::register!(save, "report.csv", 3);
//!     atexit::register(|| println!("closing the database"));
//!     // At exit: "closing the database", then "saving 3 records to report.csv".
//! }
//! ```
//!
//! End the process with [`atexit::exit(code)`](exit) where you would call
//! `std::process::exit`: it runs the handlers on every platform.
//! [`exit_now`] ends it without them.
//!
//! # Cancel it when the resource closes first
//!
//! [`register`](register()) returns a [`Handle`]: [`Handle::unregister`]
//! cancels that one registration, and [`Handle::cancel_on_drop`] turns it into
//! a [`Guard`] that cancels it when dropped. [`finalize`] ties a cleanup to a
//! value: it runs once, when the [`Finalizer`] is dropped or at exit.
//!
//! ```
//! let path = std::env::temp_dir().join(format!("atexit-front-{}.txt", std::process::id()));
//! std::fs::write(&path, "scratch")?;
//! let cleanup = atexit::finalize(path.clone(), |path| {
//!     let _ = std::fs::remove_file(path);
//! });
//! // ... use the file. Dropping `cleanup` removes it now; else the exit does.
//! drop(cleanup);
//! assert!(!path.exists());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Run it on Ctrl+C and SIGTERM too
//!
//! By default a signal ends the process at once, and no handler runs. Call
//! [`catch_signals`] in `main` and SIGINT, SIGTERM, SIGHUP and SIGQUIT run the
//! handlers; then the process dies by the same signal, so shells and
//! supervisors see what killed it. [`set_deadline`] bounds the exit, so a stuck
//! handler cannot keep the process alive.
//!
//! ```no_run
//! fn main() -> std::io::Result<()> {
//!     atexit::catch_signals()?;
//!     atexit::set_deadline(Some(std::time::Duration::from_secs(5)));
//!     atexit::register(|| println!("flushing"));
//!     // ... work; `kill -TERM` prints "flushing", then the process dies by SIGTERM.
//!     Ok(())
//! }
//! ```
//!
//! Which exits run the handlers and which cannot (SIGKILL, `abort`, a
//! crash) is on the [exits] page. What Python's documentation cannot say:
//! cleanups declared as data ([`LastWords`]: restore the terminal, remove a
//! lock file, kill a process group) run even on `kill -9` and the OOM
//! killer, carried out by a watchdog process (Linux with glibc; on Windows
//! after `TerminateProcess` or a crash, for files and the console), and on
//! a segfault or a stack overflow ([last_words]).
//!
//! # Which part do I need
//!
//! - **A command-line tool.** The three steps above. Spawn child processes
//!   with [`CommandExt::spawn_tied`] so that they end with the tool, however
//!   it ends ([children]). A TUI calls [`restore_terminal_at_exit`] before
//!   raw mode, so the terminal comes back even after a crash ([last_words]). A handler must not count on the exiting thread's
//!   thread-locals, nor call `std::process::exit`: see [pitfalls].
//! - **A service.** [`CatchSignals::graceful_shutdown`]: the first signal
//!   only asks for a shutdown ([`shutdown_request`]; its
//!   [`requested`](ShutdownRequest::requested) future is what axum's
//!   `with_graceful_shutdown` takes), the service drains, and the handlers
//!   run when it exits ([services]). Async handlers run after
//!   `#[tokio::main]` has dropped its runtime ([async_handlers]); the
//!   `tokio` and `tokio-util` [features] help.
//! - **A library.** Depend on `atexit = "0.1"`, tie cleanups to values
//!   ([`finalize`], [`Handle::cancel_on_drop`]) and leave signals to the
//!   binary ([library_authors]).
//!
//! # The pages
//!
//! - [exits]: which exits run the handlers, their order, failing handlers,
//!   and why the exit never hangs.
//! - [handlers]: what a handler may do, threads, `fork`.
//! - [signals]: catching signals, how the process then ends, other libraries
//!   that handle them.
//! - [services]: graceful-shutdown mode, the table of every exit after the
//!   request, the bounds.
//! - [children]: child processes that end with the program.
//! - [last_words]: cleanups declared as data (restore the terminal, remove
//!   a lock file, kill a process group) that run even on a segfault, a stack
//!   overflow or `abort`, and even on `kill -9` (Linux with glibc, and
//!   Windows' `TerminateProcess`: a watchdog process carries them out).
//! - [async_handlers]: async handlers and the runtime rule.
//! - [pitfalls]: what goes wrong most often.
//! - [platforms]: what is tested where; Windows.
//! - [python]: Python's `atexit`, name by name.
//! - [features], [library_authors], [glossary].
//! - [internals]: for contributors: the module map, the exit protocol, the
//!   signal handler's contract.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use atexit_core::{
    adopt_inherited, catch_signals, clear, exit, exit_now, exit_reason, finalize, is_exiting,
    ncallbacks, register, register_async, replaced_signals, request_shutdown,
    request_shutdown_because, run_exitfuncs, run_on_panic_abort, set_deadline, set_exit_code,
    set_still_running_report, shutdown_request, stop_at_exit, unregister, CatchSignals, CommandExt,
    ExitChild, ExitReason, Finalizer, Guard, Handle, HandlerFn, Process, ShutdownCause,
    ShutdownRequest, ShutdownRequested, Signal, SignalEnding, UnknownSignal,
};
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use atexit_core::{request_shutdown_on_cancel, shutdown_token, ShutdownOnCancel};
pub use atexit_core::{restore_terminal_at_exit, Declaration, LastWords, TERMINAL_RESET};

// The reference: doc-only modules, one page each on docs.rs, rendered from
// `docs/*.md` (their code blocks are doctests of this crate). `use super::*`
// lets a page link the crate's items by name, as the front page does.
macro_rules! page {
    ($(#[$attr:meta])* $name:ident) => {
        #[doc = include_str!(concat!("../docs/", stringify!($name), ".md"))]
        $(#[$attr])*
        pub mod $name {
            #[allow(unused_imports)]
            use super::*;
        }
    };
    // A page that links the `tokio-util` items: built without the feature,
    // it links them on docs.rs instead.
    (links tokio_util, $name:ident) => {
        page!(
            #[cfg_attr(
                not(feature = "tokio-util"),
                doc = "",
                doc = "[`shutdown_token`]: https://docs.rs/atexit/latest/atexit/fn.shutdown_token.html",
                doc = "[`request_shutdown_on_cancel`]: https://docs.rs/atexit/latest/atexit/fn.request_shutdown_on_cancel.html"
            )]
            $name
        );
    };
}

page!(exits);
page!(handlers);
page!(signals);
page!(links tokio_util, services);
page!(children);
page!(last_words);
page!(async_handlers);
page!(pitfalls);
page!(platforms);
page!(python);
page!(links tokio_util, features);
page!(library_authors);
page!(glossary);
page!(internals);

/// Registers a zero-argument function to run at exit, before `main` starts;
/// Python's `@atexit.register` decorator.
///
/// ```
/// #[atexit::handler]
/// fn all_done() {
///     println!("all_done()");
/// }
///
/// #[atexit::handler(priority = -10)]
/// fn flush_logs() {
///     // A lower priority runs later: the logger flushes last.
/// }
///
/// fn main() {
///     println!("starting main program");
///     // At exit: all_done(), then flush_logs().
/// }
/// ```
///
/// The function keeps its name and can still be called. It counts as
/// registered before `main`, so it runs after every handler registered at run
/// time; [`unregister`] removes it.
///
/// # Arguments
///
/// - `priority = N` (an `i32`, default 0): handlers with a higher priority run
///   earlier. At equal priority, the one declared later in a file runs first.
/// - `catch_signals`: install [`catch_signals`] at load time, for programs
///   that only use `#[atexit::handler]`. Any one handler in the program may
///   say it.
/// - `crate = "path"`: where to find this crate if it was renamed in
///   `Cargo.toml`.
///
/// # Errors
///
/// The function must be a free `fn` with no arguments, no generics, no
/// `self`, not `unsafe`, and returning `()`; anything else is a compile
/// error that points at the offending part. It may be an `async fn`: its
/// future then runs to completion at exit, as with [`register_async`].
///
/// It cannot go on an associated function inside an `impl` block: an
/// attribute does not see that context, and rustc then reports "`const` items
/// in this context need a name". Write a free function that calls it.
pub use atexit_macros::handler;

/// Not public API: what the macros expand to.
#[doc(hidden)]
pub mod __private {
    pub use atexit_core::__private::*;
}
