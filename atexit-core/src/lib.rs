//! The registry and exit machinery behind [`atexit`](https://docs.rs/atexit).
//!
//! Depend on `atexit`, not on this crate: it re-exports everything here with
//! the `#[atexit::handler]` attribute and the `register!` macro, and it is
//! where the documentation lives.

#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn)]

#[macro_use]
mod macros;
mod api;
mod callback;
mod children;
mod executor;
mod exit;
mod finalize;
mod handle;
mod helper_thread;
mod hooks;
mod last_words;
mod os;
mod progress;
mod reason;
mod registry;
mod report;
mod runner;
mod shutdown;
mod signals;
mod state;
mod static_handler;
mod static_intake;
mod systemd;
mod warn;
mod watchdog;

pub use crate::api::{
    adopt_inherited, clear, exit, exit_now, exit_reason, is_exiting, ncallbacks, register,
    register_async, run_exitfuncs, run_on_panic_abort, set_deadline, set_exit_code, unregister,
};
pub use crate::callback::HandlerFn;
pub use crate::children::{stop_at_exit, CommandExt, ExitChild, Process};
pub use crate::finalize::{finalize, Finalizer};
pub use crate::handle::{Guard, Handle};
pub use crate::last_words::{restore_terminal_at_exit, Declaration, LastWords, TERMINAL_RESET};
pub use crate::progress::set_still_running_report;
pub use crate::reason::{ExitReason, ShutdownCause, Signal, UnknownSignal};
pub use crate::shutdown::{
    request_shutdown, request_shutdown_because, shutdown_request, ShutdownRequest,
    ShutdownRequested,
};
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use crate::shutdown::{request_shutdown_on_cancel, shutdown_token, ShutdownOnCancel};
pub use crate::signals::{catch_signals, replaced_signals, CatchSignals, SignalEnding};

/// Not public API: what the `atexit` macros expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::api::register_with_args;
    pub use crate::callback::{CallWith, Run};
    pub use crate::static_handler::{Description, StaticHandler};
    pub use ctor;
    pub use inventory;

    /// What an `#[atexit::handler] async fn` registers: runs the future the
    /// function returns to completion.
    pub fn run_async<F, Fut>(make: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: core::future::Future<Output = ()> + 'static,
    {
        crate::executor::run_to_completion(make)
    }

    /// What a handler's return type must be: `()`, under any name. An
    /// `#[atexit::handler]` whose return type is a path (`-> Unit` with
    /// `type Unit = ();`, or `-> io::Result<()>`) is checked through it.
    #[diagnostic::on_unimplemented(
        message = "#[atexit::handler] functions return `()`: nobody receives a value at exit, \
                   so handle or report errors inside the handler",
        label = "this is `{Self}`, not `()`"
    )]
    pub trait HandlerReturn {}

    // Not offered as a hint: the message already says what to return.
    #[diagnostic::do_not_recommend]
    impl HandlerReturn for () {}

    /// Takes a handler's result, which must be `()` (see [`HandlerReturn`]).
    pub fn returns_unit<T: HandlerReturn>(_: T) {}

    /// `#[atexit::handler(catch_signals)]` calls this from a constructor.
    pub fn catch_signals_at_load() {
        crate::signals::catch_signals_at_load()
    }
}
