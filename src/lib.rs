//! Run cleanup functions when the program ends: Python's `atexit` for Rust.
//!
//! Register functions that flush buffers, remove temporary files, restore the
//! terminal or close connections; they run newest first when `main` returns,
//! on `std::process::exit`, on [`exit`], and after a panic in `main`.
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
//! # Python's `atexit`, in Rust
//!
//! | Python | Rust |
//! |---|---|
//! | `@atexit.register` on a function | [`#[atexit::handler]`](handler) on a `fn` |
//! | `atexit.register(func)` | [`atexit::register(func)`](register()), returns a [`Handle`] |
//! | `atexit.register(func, *args)` | [`atexit::register!(func, args...)`](register!) |
//! | `atexit.unregister(func)` | [`atexit::unregister(func)`](unregister), returns how many it removed |
//! | — | [`Handle::unregister`]: cancel one registration in O(1) |
//! | — | [`Handle::cancel_on_drop`]: a [`Guard`] that cancels it when dropped |
//! | `weakref.finalize(obj, func, *args)` (with `atexit=True`) | [`atexit::finalize(value, f)`](finalize()): a [`Finalizer`] that runs `f(value)` once, when dropped or at exit, whichever comes first |
//! | — | [`atexit::register_async(f)`](register_async), `#[atexit::handler] async fn`: async handlers |
//! | `atexit._run_exitfuncs()` | [`atexit::run_exitfuncs()`](run_exitfuncs) |
//! | `atexit._clear()` | [`atexit::clear()`](clear) |
//! | `atexit._ncallbacks()` | [`atexit::ncallbacks()`](ncallbacks) |
//! | `sys.exit(code)` | [`atexit::exit(code)`](exit) |
//! | `os._exit(code)` | [`atexit::exit_now(code)`](exit_now) |
//! | `signal.signal(SIGTERM, ...)` + `sys.exit` (the usual recipe) | [`atexit::catch_signals()`](catch_signals) |
//! | — | [`atexit::adopt_inherited()`](adopt_inherited): run the parent's handlers in a forked child |
//! | — | [`exit_reason`], [`set_exit_code`], [`set_deadline`], [`run_on_panic_abort`] |
//! | — | [`stop_at_exit(child)`](stop_at_exit), [`Command::spawn_tied`](CommandExt::spawn_tied): child processes end with this one |
//! | — | [`CatchSignals::graceful_shutdown`], [`shutdown_request`], [`request_shutdown`], [`replaced_signals`]: services drain first (see "Services") |
//!
//! Python's names are search aliases: rustdoc's search finds
//! `_run_exitfuncs`, `_clear`, `_ncallbacks` and `_exit`.
//!
//! # Which exits run the handlers
//!
//! | how the process ends | handlers run |
//! |---|---|
//! | `main` returns | yes |
//! | `std::process::exit` | yes (Unix; on Windows it skips them: use [`exit`]) |
//! | [`atexit::exit`](exit) | yes, on every platform |
//! | a panic in `main` (the default `panic = "unwind"`) | yes, and the status stays 101 |
//! | a panic in another thread | no effect by itself; yes when the process then exits |
//! | [`atexit::exit_now`](exit_now), `libc::_exit` | no, by design |
//! | `std::process::abort` | no: nothing runs after an abort |
//! | a panic under `panic = "abort"` | no, unless [`run_on_panic_abort`] was called |
//! | SIGINT, SIGTERM, SIGHUP, SIGQUIT | after [`catch_signals`] (then the process dies by the same signal); without it no: the default action ends the process at once |
//! | the same in graceful-shutdown mode ([`CatchSignals::graceful_shutdown`]) | when the program exits after draining, when the drain timeout passes, or on a second signal; the process then ends by the first signal, unless the program chose a failure status (see "Services") |
//! | SIGPIPE | when added with [`CatchSignals::signal`] (Rust ignores it by default) |
//! | SIGKILL, a crash (SIGSEGV), power loss | no: no code can run |
//!
//! # Signals
//!
//! [`catch_signals`] (or `#[atexit::handler(catch_signals)]` on any handler,
//! for programs that only use the attribute) makes SIGINT, SIGTERM, SIGHUP and
//! SIGQUIT run the exit handlers:
//!
//! - The signal handler itself only wakes a watcher thread, which runs the
//!   handlers like any exit: exactly once, never at the same time as an exit
//!   already under way (which it then lets finish).
//! - Afterwards the process dies by the same signal (default action restored
//!   and the signal raised again), so shells and supervisors see what killed
//!   it; [`SignalEnding::ExitCode`] exits with `128 + number` instead.
//! - A second signal while the handlers run ends the process at once: press
//!   Ctrl+C again to force.
//! - Handlers installed before, with `signal-hook` or `sigaction`, still run,
//!   first (chained). A signal the process ignored at start (`nohup`,
//!   background jobs) stays ignored, unless the program named it with
//!   [`CatchSignals::signal`] or [`CatchSignals::only`].
//! - [`exit_reason`] tells handlers which signal it was.
//!
//! [`set_deadline`] bounds the whole exit run: past it, the stuck handler is
//! named on stderr, the rest are skipped, and the process ends as it was
//! going to (with its status, or by its signal).
//!
//! # Services
//!
//! A service has its own graceful shutdown: on SIGTERM it stops accepting,
//! finishes the requests in flight and returns from `main`. A signal that
//! runs the exit handlers and ends the process at once would cut that short,
//! so services use **graceful-shutdown mode**: the first signal only asks for a
//! shutdown, the program drains, and the handlers run when it exits.
//!
//! In a Tokio service, hand the request to what already drains.
//! [`ShutdownRequest::requested`] is the `()` future that axum's
//! `with_graceful_shutdown` (and tonic's `serve_with_shutdown`) takes, and with the
//! `tokio-util` feature [`shutdown_token`] is a `CancellationToken` that
//! the request cancels, for the tasks that stop on one (wait for them with
//! tokio-util's `TaskTracker`); [`request_shutdown_on_cancel`] goes the
//! other way, a token of the program's whose cancellation is the request.
//! `examples/real-world/examples/axum_server.rs` is such a server, run
//! under client load by its test.
//!
//! ```no_run
//! # mod axum { // a stand-in with axum 0.8's bound, `F: Future<Output = ()> + Send + 'static`
//! #     pub struct Serve;
//! #     pub fn serve<L, A>(_: L, _: A) -> Serve { Serve }
//! #     impl Serve {
//! #         pub fn with_graceful_shutdown<F>(self, _: F) -> std::future::Ready<std::io::Result<()>>
//! #         where F: std::future::Future<Output = ()> + Send + 'static { std::future::ready(Ok(())) }
//! #     }
//! # }
//! # async fn run(listener: (), app: ()) -> std::io::Result<()> {
//! atexit::CatchSignals::new()
//!     .graceful_shutdown(std::time::Duration::from_secs(20))
//!     .install()?;
//! # #[cfg(feature = "tokio-util")]
//! let token = atexit::shutdown_token(); // cancelled by the request: give it to the workers
//! axum::serve(listener, app)
//!     .with_graceful_shutdown(atexit::shutdown_request().requested())
//!     .await?; // stopped accepting, every request in flight answered
//! Ok(()) // return from `main`: the handlers run, then the process dies by the signal
//! # }
//! ```
//!
//! Without Tokio, the same request is a blocking wait or a check:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! fn main() -> std::io::Result<()> {
//!     // Kubernetes waits 30 s before SIGKILL: 20 s to drain, 5 s for the handlers.
//!     atexit::set_deadline(Some(Duration::from_secs(5)));
//!     atexit::CatchSignals::new()
//!         .graceful_shutdown(Duration::from_secs(20))
//!         .install()?;
//!     atexit::register(|| println!("stats flushed"));
//!
//!     let shutdown = atexit::shutdown_request();
//!     while !shutdown.is_requested() {
//!         // take the next item and finish it
//! #       break;
//!     }
//!     Ok(()) // the handlers run now; then the process dies by the signal
//! }
//! ```
//!
//! [`shutdown_request`] gives a [`ShutdownRequest`]: a future of the
//! signal that any executor can await (in a Tokio server's `select!` next
//! to `accept`, in place of `tokio::signal::ctrl_c()`), a blocking
//! [`wait`](ShutdownRequest::wait), and a one-load check
//! [`is_requested`](ShutdownRequest::is_requested) for worker loops.
//! [`request_shutdown`] asks for the shutdown without a signal (a Windows
//! service's stop control, an admin endpoint, a test).
//! `examples/real-world/examples/axum_server.rs` (axum),
//! `examples/real-world/examples/tcp_server.rs` (Tokio) and
//! `examples/thread_pool.rs` (std threads) are complete services, each run
//! as a process by a test.
//!
//! What happens, from the first signal (`tests/suite/scenarios/services.rs`
//! pins each row):
//!
//! | when | what happens | how the process ends |
//! |---|---|---|
//! | the first signal | the request is noted at once (in the signal handler), every waiter is woken, the drain timeout's timer starts | — |
//! | the program exits with status 0 (`main` returns, `std::process::exit(0)`, [`exit(0)`](exit)) | the handlers run, newest first; [`exit_reason`] is `Signal(..)` | by the first signal (`128 + n` with [`SignalEnding::ExitCode`]) |
//! | the program exits with another status, or panics | the handlers run; [`exit_reason`] tells that status (or the panic) | with that status (101 for the panic): the program's own word; [`set_exit_code`] wins over all |
//! | the drain timeout passes first | stderr says so; the handlers run on a thread of the crate's while `main` is still draining (what finishes after they ran is not in what they wrote) | by the first signal |
//! | a second signal, before the exit started | stderr says so; the handlers run now, as above | by the first signal |
//! | another signal after the one that ended the drain (or after the drain timeout passed), whether the handlers have started yet or not | nothing more runs | at once, by that signal |
//! | the first signal comes while the handlers of an exit that started without one run | it is the request: the handlers go on; after an exit with status 0, [`exit_reason`] says `Signal(..)` from then on; after another status or a panic it keeps telling that, as above | by that signal if the status was 0, else with the status |
//! | the first signal comes once the handlers are done | nothing: the process is ending with its status | with its status |
//!
//! **Several installs.** A library may call [`catch_signals`] for its own
//! sake, before or after the binary installs graceful-shutdown mode. An
//! install sets only what its builder asked for: it adds its signals, and
//! changes the ending only when it names one ([`CatchSignals::ending`]) and
//! the mode only when it asks for it ([`CatchSignals::graceful_shutdown`],
//! which also sets a new drain timeout). So a plain `catch_signals()` never switches
//! graceful-shutdown mode off nor undoes [`SignalEnding::ExitCode`]; once on,
//! the mode stays on for the process (`Duration::ZERO` as the drain timeout is the
//! nearest to off).
//!
//! Where the platform does not tell the exit handlers the status of a
//! return from `main` or `std::process::exit` (everywhere but Linux with
//! glibc; see [`ExitReason::Exit`]), those exits count as status 0 after a
//! request and end by the signal: end with [`exit(n)`](exit) there to keep a
//! failure status.
//!
//! **Bounds.** The drain timeout bounds the drain, [`set_deadline`] the handlers, and
//! the crate's end watchdog the last second (flushing, the C runtime's
//! exit), so from the signal the process is gone within *drain timeout + deadline +
//! 1 s*; when stdout or stderr is a pipe nobody reads, up to 2 s more (the
//! flush of what `main` printed and the drain timeout's report each give up after
//! 1 s). Pick them from what the supervisor waits before SIGKILL: systemd's
//! `TimeoutStopSec` (90 s by default), Kubernetes'
//! `terminationGracePeriodSeconds` (30 s, counted from the `preStop` hook's
//! start), `docker stop`'s `--time` (10 s). A drain timeout of `Duration::MAX` (or
//! any of centuries) waits for the program for ever, and a second signal
//! still ends it; `Duration::ZERO` runs the handlers at once, as without
//! graceful-shutdown mode, but still wakes the waiters. On Windows, closing
//! the console, logging off and shutting down end the process about 5 s
//! after the event, whatever the drain timeout.
//!
//! **Other signal users.** A signal has one handler in the kernel; who gets
//! it depends on how each library installs its own:
//!
//! | the other library | installed before [`catch_signals`] | installed after |
//! |---|---|---|
//! | `tokio::signal` (`ctrl_c()`, `signal(..)`) | both run: tokio registers through `signal-hook-registry`, as this crate does | both run |
//! | `signal-hook` (`flag`, `iterator`, `low_level`) | both run (same registry) | both run |
//! | `ctrlc::set_handler` (a plain `sigaction`) | both run: ours chains to it | **ours is replaced**: SIGINT (and SIGTERM, SIGHUP with its `termination` feature) no longer run the handlers or ask for a shutdown; [`replaced_signals`] lists them, and an exit reports the ones the program was not told of on stderr |
//! | `ctrlc::try_set_handler` | as `set_handler` | it fails with `MultipleHandlers`, ours stays |
//! | a handler that calls the one it found (a crash reporter's plain `sigaction`, chaining) | both run: ours chains to it | both run, but until a signal comes nothing can tell it chains: [`replaced_signals`] lists the signal; once one reached ours through it, it is no longer listed (while that handler stays), and the exit it starts reports nothing |
//! | a library that blocks the signal and takes it with `signalfd` or `sigwait` | it wins: this crate's watcher thread inherits the mask, no thread runs ours; [`replaced_signals`] lists the signal (blocked in every thread, or waited for in `sigwait`), and an exit reports it | the watcher thread, started before the mask was set, still takes it: the kernel gives it to ours or to the `sigwait` thread, whichever it picks |
//! | a console handler on Windows (`ctrlc`, `SetConsoleCtrlHandler`) | both run, the later first | the later one runs first, and when it returns TRUE (ctrlc's does) ours never runs; nothing can tell |
//!
//! `examples/real-world/tests/signal_neighbours.rs` runs every Unix cell of
//! the named libraries (each library, order, mode, and SIGINT and SIGTERM)
//! as a process and prints the table it measured; the chaining handler and
//! the blocked signal are scenarios of `tests/suite/scenarios/signals.rs`.
//! With a blocked signal, `sigwait` measured ahead of an unblocked thread
//! in 20 of 20 signals when its thread was started first: do not count on
//! either. Where both run:
//!
//! - **Without graceful-shutdown mode**, a signal runs the handlers and ends
//!   the process within milliseconds, whatever the other library's handler
//!   started: its thread or task did not even get to run in 2–15 % of the
//!   runs, and a Tokio server's drain after `ctrl_c()` is cut short. A
//!   `ctrlc` handler that calls `std::process::exit(0)` (a common recipe)
//!   races with this crate's watcher: about 90 % of the runs exited 0.
//! - **In graceful-shutdown mode** the other handlers run too and the
//!   process waits for the program. The request is noted in the signal
//!   handler itself and read by the exit whenever it comes, so an exit that
//!   the other library starts (tokio waking `main`, ctrlc's `exit(0)`) ends
//!   by the signal too. One window is left: a handler chained before this
//!   crate's (`ctrlc` installed first) runs first in the same signal
//!   handler, and the thread it wakes can finish a whole exit, handlers and
//!   all, before this crate's part runs (the signalled thread preempted by
//!   the one it woke). With ctrlc's `exit(0)` recipe installed first, 92 of
//!   100 runs ended by the signal and 8 exited 0; every other cell ended by
//!   the signal in every run.
//!
//! So in a service use graceful-shutdown mode *instead of* the other
//! library's signal handling: one source for the shutdown, with the drain timeout
//! and the second signal (Tokio alone swallows a second Ctrl+C). If `ctrlc`
//! must stay, install it before.
//!
//! **Async handlers** run on a runtime of their own (see "Async handlers"),
//! in graceful-shutdown mode as everywhere: after `main` returns, objects
//! made on the program's runtime no longer work in them. A forced end
//! (drain timeout, second signal) runs them while `main`'s runtime is still alive,
//! where such an object may happen to work, so test the path the service
//! normally takes: return from `main`.
//!
//! # The exit never hangs
//!
//! Whatever state the rest of the program is in, the exit path itself never
//! blocks on something another thread holds and never waits without a bound:
//!
//! - **Output.** After the handlers, Rust's stdout is flushed only if its
//!   lock can be taken at once (another thread holding `io::stdout().lock()`
//!   for good does not stop the exit; what it has buffered is lost, as with
//!   std's own exit), then the C streams are flushed.
//! - **Reports** (a handler's panic, an expired deadline) are written to file
//!   descriptor 2 directly, not through Rust's stderr lock, and give up after
//!   a moment when stderr is a pipe nobody reads. Loggers (`log`,
//!   `tracing`) get them on a thread of their own, for a bounded time; a
//!   logger that missed its time once is not waited for again.
//! - **The end.** Once the handlers are done, the process has 1 second to
//!   end (flushing, and the C runtime's own exit work); if something blocks
//!   it (a full pipe), it then ends at once with its status or signal, and
//!   says so on stderr. After a return from `main` or `std::process::exit`
//!   that ends otherwise than with the C runtime's status (by the signal
//!   after a shutdown request, with a [`set_exit_code`] status), on Linux
//!   with glibc the C runtime's exit work still runs first: the C `atexit`
//!   callbacks registered before the crate's (a C library's flush), the
//!   destructors, the flush of the C streams; only callbacks that libraries
//!   linked at start-up registered from their constructors are skipped.
//!   Elsewhere the process ends right after the handlers.
//! - **The deadline.** [`set_deadline`] takes any `Duration`. Once set, it
//!   always ends the process when it passes: no handler starts after it,
//!   whatever a handler or another thread does. `Duration::ZERO` runs no
//!   handler at all: the exit is reported and the process ends at once, with
//!   its status. A `Duration` too large to add to the current time (such as
//!   `Duration::MAX`) is no deadline. A child forked from the process keeps
//!   the deadline for its own exit; a child forked by a handler during an
//!   exit gets a watchdog of its own for the same deadline, from the fork on
//!   even while it stays inside that handler (on Linux with glibc a timer
//!   that raises `SIGALRM` watches until the child's run goes on; the
//!   child's own `alarm` and `SIGALRM` handler still work; elsewhere the
//!   watch starts when the run goes on). "By a handler" means on the
//!   thread running it: a child that another thread forks during the exit
//!   (a thread the handler started, or one of the program's) is outside the
//!   exit, as it would be at any other time, and is not held to it (a
//!   daemon forked on purpose must not be killed by its parent's deadline).
//! - **A panic on a full stderr.** std's default panic message is a blocking
//!   write: a panic of `main` or of a handler with stderr a pipe nobody reads
//!   would stop the exit before it began. The panic hook this crate chains
//!   in front of the default one (at load time) gives stderr 500 ms to take
//!   the message, then writes a short one by a bounded raw write instead.
//!   Panics of other threads, and hooks the program installs itself, are
//!   left alone.
//! - **A panicking thread** (a panic hook calling [`exit`], the "a panic
//!   anywhere ends the process" pattern) runs the handlers on a helper
//!   thread: a handler's panic on the panicking thread itself would abort
//!   the process. Call [`exit`] in such a hook, not `std::process::exit`:
//!   when a handler then panics, the hook runs again on the helper thread,
//!   where `std::process::exit` parks for ever (see Pitfalls).
//! - **Closed standard streams.** A program started with descriptors 0–2
//!   closed still reads EOF on stdin and prints nowhere: the signal watcher's
//!   pipe never takes those numbers, even when created before `main`.
//!
//! What the crate cannot bound is what happens before its part of the exit
//! starts, and what handlers do. When `main` returns or calls
//! `std::process::exit`, std first flushes stdout (a `print!` still buffered
//! on a pipe nobody reads blocks there) and the exiting thread's
//! thread-local destructors run; the deadline starts after them. From then
//! on stdout is unbuffered, so a handler's `print!` to such a pipe blocks
//! the handler, until the deadline ends the process. [`exit`] and the signal
//! path flush what `main` printed before the handlers, if stdout's lock is
//! free, and bound that flush.
//!
//! # Child processes
//!
//! Spawned children (workers, compilers, dev servers, shells running a
//! pipeline) should end with the program. [`CommandExt::spawn_tied`] spawns
//! a command so that they do, and [`stop_at_exit`] ties a child spawned
//! elsewhere:
//!
//! ```
//! # #[cfg(unix)] {
//! use atexit::CommandExt as _;
//! use std::os::unix::process::CommandExt as _;
//! use std::process::Command;
//! use std::time::Duration;
//!
//! let worker = Command::new("sh")
//!     .args(["-c", "sleep 1000 & wait"])
//!     .process_group(0) // its children are stopped with it
//!     .spawn_tied()?
//!     .with_grace(Duration::from_secs(5));
//! // At exit: SIGTERM to its group, up to 5 s to end, then SIGKILL; reaped.
//! # worker.stop()?;
//! # }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! A tied child is stopped by an exit handler, in its place in the
//! newest-first order: SIGTERM (to its process group when it leads one),
//! the grace ([`ExitChild::DEFAULT_GRACE`], 2 s), SIGKILL, and it is always
//! reaped, with a bound. A group has the grace for all its members: also
//! when its leader has already ended (a launcher like
//! `sh -c 'worker & exit 0'`), the members get SIGTERM and the grace, the
//! ended leader being kept unreaped meanwhile so that the group's id cannot
//! be reused. [`ExitChild`] owns the child, so a pid is never
//! signalled after it was reaped; reaping it yourself
//! ([`ExitChild::wait`], [`ExitChild::try_wait`], [`ExitChild::stop`])
//! cancels the registration. A child handed to [`stop_at_exit`] after it
//! was reaped (`Child::wait`) or ended is not registered at all. Children
//! are stopped one after another: the
//! graces of children that ignore SIGTERM add up, and [`set_deadline`]
//! bounds the whole exit. When no handler can run, Linux's
//! `PR_SET_PDEATHSIG` (set by `spawn_tied`) kills the child.
//!
//! With the `tokio` feature, `tokio::process::Command::spawn_tied` needs a
//! runtime built with IO (`enable_io`, `enable_all`) and refuses, before
//! spawning, without one; `ExitChild::wait` there is cancel-safe (a task
//! dropped with its runtime when `main` returns holds nothing up). Printing
//! an [`ExitChild`] (`{:?}`) holds no lock while it writes, so a blocked
//! stderr cannot hold up the exit.
//!
//! What happens to a tied child (started in its own process group) and to
//! the grandchild it started, on Linux, as `tests/children.rs` measures it
//! with `examples/task_runner.rs` (two workers, each with a `sleep` of its
//! own; times from the runner's end):
//!
//! | how the program ends | the child | its child (the grandchild) |
//! |---|---|---|
//! | `main` returns, `std::process::exit`, [`exit`], a panic in `main`, a signal after [`catch_signals`] | SIGTERM, flushes within the grace, ends; reaped by the program before it ends | SIGTERM with its group; gone before the program ends |
//! | the same, with a child that ignores SIGTERM | SIGKILL after the grace; reaped by the program | gone (SIGTERM or SIGKILL with the group) |
//! | SIGKILL, [`exit_now`], `abort`, a crash, an uncaught signal | killed by the OS (`PR_SET_PDEATHSIG`) within milliseconds, no flush; reaped by init (or a subreaper) | gone within milliseconds if the child spawned it tied too (the death passes down); a grandchild spawned otherwise (a shell's `sleep &`) is orphaned and keeps running |
//! | any way, on FreeBSD (type-checked, not run here) | as on Linux: `procctl(PROC_PDEATHSIG_CTL)` with SIGKILL, which follows the parent process (not a thread) | as on Linux |
//! | any way, on macOS, NetBSD, OpenBSD | as on Linux when handlers run; orphaned otherwise (no parent-death signal) | as on Linux when handlers run; orphaned otherwise |
//! | any way, on Windows | killed (`TerminateProcess`) at exit, no grace; in a kill-on-close Job Object otherwise | killed with the job when the program ends |
//!
//! The Windows rows are written from the Win32 documentation and the code
//! is type-checked for `x86_64-pc-windows-gnu` (with Debian's Rust and
//! `-Zbuild-std`), but not run: there is no Windows test run yet.
//!
//! # Async handlers
//!
//! [`register_async`] and `#[atexit::handler]` on an `async fn` register
//! handlers whose futures run to completion at exit, in their place in the
//! order, without the program's runtime (which `#[tokio::main]` has dropped
//! by the time `main` has returned). Each runs on a thread started for it,
//! where thread-locals are alive; the exit waits for it, and the deadline,
//! the panic report and `atexit::exit` work as in a plain handler.
//!
//! ```
//! #[atexit::handler]
//! async fn close_session() {
//!     // e.g. `client.logout().await`
//! }
//!
//! fn main() {
//!     atexit::register_async(|| async { /* flush().await */ });
//! }
//! ```
//!
//! Without features the executor is a small `block_on` of this crate's, which
//! runs futures that need no particular runtime. With the `tokio` feature
//! each async handler gets a fresh current-thread Tokio runtime, so
//! `tokio::time`, `tokio::net` and `tokio::fs` work in it (see
//! `examples/async_flush.rs`).
//!
//! **The runtime rule.** An object made on the program's runtime (a
//! connection, a timer, a channel of its driver) belongs to that runtime,
//! and `#[tokio::main]` drops it when `main` returns: an async handler that
//! reuses one then fails ("A Tokio 1.x context was found, but it is being
//! shutdown"), and the report of its panic names this rule. On a signal
//! without graceful-shutdown mode, and on a forced end in graceful-shutdown mode, the handlers
//! run while `main`'s runtime is still alive, so the same handler may work
//! there: a program tested with `kill` alone can ship a broken normal exit.
//! Make such objects inside the handler (or close them before `main`
//! returns). `examples/real-world/examples/runtime_rule.rs` shows both paths,
//! and its test pins them.
//!
//! # Cargo features
//!
//! All off by default; the crate itself only needs `ctor`, `inventory`,
//! `libc` and `signal-hook-registry` (the registry `signal-hook` 0.3 and
//! 0.4, `tokio::signal` and `ctrlc`'s users share, so signals stay shared).
//!
//! - `tokio`: async handlers run on a fresh Tokio runtime (above).
//! - `tokio-util`: the shutdown request as a `CancellationToken`
//!   ([`shutdown_token`]), and a token's cancellation as the request
//!   ([`request_shutdown_on_cancel`]); see "Services". It pulls in
//!   `tokio-util` with no feature of its own (its `sync` module).
//! - `log`, `tracing`: a handler's panic and an expired deadline are also
//!   reported through that crate, at level error with target `atexit`
//!   (`tracing` adds a `handler` field). stderr gets its line either way. The
//!   deadline's report waits at most 100 ms for the logger, in case the stuck
//!   handler holds its lock.
//!
//! # Order
//!
//! Handlers run in reverse order of registration, newest first, one at a time,
//! each exactly once.
//!
//! Functions marked [`#[atexit::handler]`](handler) count as registered before
//! `main`, so they run after everything registered at run time. Among
//! themselves, the order is fixed by this crate, not by the linker: a higher
//! `priority` runs earlier; at equal priority, the function declared later in
//! a file runs first (as stacked Python decorators do), inline modules
//! included; across files, the order follows crate name and file path, in
//! reverse.
//!
//! # Failing handlers
//!
//! A handler that panics is stopped, reported on stderr (as CPython reports an
//! exception in a callback) and the remaining handlers still run; the exit
//! status the program chose is kept. No panic ever unwinds into the C
//! runtime. In a `panic = "abort"` build, a panicking handler aborts. A
//! handler that panics again while unwinding (a destructor that panics
//! during a panic), or whose panic runs a panic hook of the program's that
//! panics itself, aborts the process too: Rust lets nobody catch that.
//!
//! ```text
//! atexit: exit handler `my_app::flush` panicked: disk full; the other handlers still run
//! ```
//!
//! # Inside a handler
//!
//! - The whole API works: [`register`](register()) (the new handler runs next),
//!   [`Handle::unregister`] and [`unregister`] (cancelled handlers do not run),
//!   [`clear`], [`run_exitfuncs`] (runs the remaining handlers).
//! - [`atexit::exit`](exit) during an exit ends only that handler, is reported,
//!   and the exit goes on with its status (CPython does the same with
//!   `SystemExit`). **`std::process::exit` inside a handler aborts the
//!   process** (std reports "process::exit called re-entrantly", status 134):
//!   use [`atexit::exit`](exit). (If the run began with [`exit`] or
//!   [`run_exitfuncs`], `std::process::exit` in a handler is the first real
//!   exit: the remaining handlers run and the process ends with its code.)
//! - When `main` returns or `std::process::exit` is called, the exiting
//!   thread's thread-locals with a destructor are already destroyed when
//!   handlers run (glibc runs thread-local destructors first):
//!   `LocalKey::with` panics and `try_with` fails. (With [`exit`] and
//!   [`run_exitfuncs`] they are still alive.) Keep what a handler needs in a
//!   `static`, or move it into the closure.
//! - `println!` works (std flushed stdout before the handlers; it is
//!   unbuffered from then on), and so do spawning and joining threads.
//! - Other threads keep running while handlers run. A handler that takes a
//!   lock the exiting code or another thread holds (`io::stdout().lock()`
//!   included: `println!` takes it) waits forever, unless [`set_deadline`] set
//!   a deadline: then the deadline names it and ends the process. The crate's
//!   own exit path never does (see "The exit never hangs").
//!
//! # Threads
//!
//! Every function may be called from any thread at any time, except from a
//! signal handler or a `pthread_atfork` handler (they may interrupt the
//! registry's lock). The lock is never held while a handler runs or a closure
//! is dropped. Handlers run on the thread that exits, one at a time; if
//! several threads exit at once, one runs the handlers and the others wait
//! for it. An exit that starts while another thread is inside a handler (of
//! [`run_exitfuncs`]) waits for that handler to return, then runs the rest.
//! Registrations made by other threads during an exit run in their turn, so a
//! thread registering in a tight loop delays the exit.
//!
//! # fork
//!
//! A forked child does not run the handlers its parent registered (they would
//! flush the same buffered data twice): when the child exits, only the
//! handlers it registered run. [`clear`] and [`unregister`] in the child
//! forget the parent's closures without dropping them, so their destructors
//! do not run twice either. [`adopt_inherited`] makes the parent's handlers
//! the child's own. [`exit_now`] ends a child without running any. A child
//! forked by a handler during an exit runs its own handlers when that handler
//! returns, or when it calls [`exit`].
//!
//! # Pitfalls
//!
//! - **Thread-locals are already gone** on the exiting thread when `main`
//!   returns or `std::process::exit` runs the handlers: `LocalKey::with`
//!   panics there. Keep what a handler needs in a `static` or in its closure.
//!   (Async handlers run on a fresh thread, where thread-locals work.)
//! - **`std::process::exit` inside a handler aborts** the process (status
//!   134): call [`atexit::exit`](exit) there, which ends only that handler.
//!   On a thread other than the exiting one it hangs instead (std parks a
//!   second exiting thread for ever), and the exit waits for that handler
//!   until the deadline, if any, ends the process. Those threads are an async
//!   handler's, a thread whose [`run_exitfuncs`] an exit took over, and the
//!   helper of an exit asked for on a panicking thread (a panic hook that
//!   calls `std::process::exit` runs again there when a handler panics). In
//!   a child forked by a handler it aborts (std's exit guard is copied by
//!   `fork`). All of this holds when the exit began with `main` returning or
//!   `std::process::exit`; see [`register_async`] for the rest.
//! - **A library's handlers vanish if the binary never names the library.** A
//!   dependency listed in `Cargo.toml` but not used in code is not linked, and
//!   its `#[atexit::handler]` functions with it. Write `use that_crate as _;`
//!   in the binary.
//! - A `cdylib` or plugin that uses this crate has its own copy of it, with
//!   its own handlers. It keeps itself loaded (`RTLD_NODELETE`) so that the C
//!   runtime's exit never calls into unloaded code: `dlclose` does not unmap
//!   it, and its handlers run at exit.
//! - Registrations made after the exit handlers have finished (from another
//!   thread, or a later libc `atexit` callback) never run; see
//!   [`is_exiting`].
//!
//! # Versions, for library authors
//!
//! This crate owns process-wide hooks (the C runtime's exit, `fork`, the
//! panic hook, the signal handlers), so a binary holds exactly one copy of
//! it: `atexit-core` declares `links = "atexit"`, and Cargo refuses a
//! dependency graph with two semver-incompatible copies (say 0.1 and 0.2)
//! instead of building a program where both race to end the process.
//! The plan for when 0.2 comes, so that libraries on 0.1 and binaries on 0.2
//! still build together, is the semver trick: the last 0.1 release depends
//! on 0.2 and re-exports its registry, hooks and types, so both versions
//! share one copy. A library should therefore depend on `atexit = "0.1"`
//! (not on `atexit-core`, which is not its API), and name only what it uses.
//!
//! # Glossary
//!
//! One word, one meaning, in these docs and in the API's names:
//!
//! - **handler**: a function registered to run at exit.
//! - **exit run**: the handlers running, newest first, once per process.
//! - **deadline**: how long the exit run may take, from its start, before
//!   the process ends regardless ([`set_deadline`]).
//! - **shutdown request**: in graceful-shutdown mode, the first caught
//!   signal (or [`request_shutdown`]), which asks the program to finish its
//!   work instead of ending it ([`shutdown_request`] waits for it).
//! - **drain timeout**: how long a program in graceful-shutdown mode has,
//!   from the shutdown request, to finish its work and start the exit; then
//!   the exit run is started for it
//!   ([`CatchSignals::graceful_shutdown`]).
//! - **grace**: how long a tied child has between SIGTERM and SIGKILL
//!   ([`ExitChild::with_grace`]).
//! - **tied child**: a child process that ends with the program
//!   ([`CommandExt::spawn_tied`], [`stop_at_exit`]).
//! - **ending**: how the process ends once the handlers are done: a status,
//!   or death by a signal ([`SignalEnding`]).
//!
//! Builder getters follow `std::process::Command`'s: the setter is named
//! for the setting, the getter has `get_` in front
//! ([`CatchSignals::ending`] and [`CatchSignals::get_ending`]).
//!
//! # Platforms
//!
//! Linux is tested. Other Unix systems use the same `atexit` and
//! `pthread_atfork` hooks. On Windows the handlers run when `main` returns and
//! on [`exit`], not on `std::process::exit`.

// The `tokio-util` items, linked on docs.rs when built without the feature.
#![cfg_attr(
    not(feature = "tokio-util"),
    doc = "",
    doc = "[`shutdown_token`]: https://docs.rs/atexit/latest/atexit/fn.shutdown_token.html",
    doc = "[`request_shutdown_on_cancel`]: https://docs.rs/atexit/latest/atexit/fn.request_shutdown_on_cancel.html"
)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use atexit_core::{
    adopt_inherited, catch_signals, clear, exit, exit_now, exit_reason, finalize, is_exiting,
    ncallbacks, register, register_async, replaced_signals, request_shutdown, run_exitfuncs,
    run_on_panic_abort, set_deadline, set_exit_code, shutdown_request, stop_at_exit, unregister,
    CatchSignals, CommandExt, ExitChild, ExitReason, Finalizer, Guard, Handle, HandlerFn, Process,
    ShutdownRequest, ShutdownRequested, Signal, SignalEnding, UnknownSignal,
};
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use atexit_core::{request_shutdown_on_cancel, shutdown_token, ShutdownOnCancel};
pub use atexit_core::{restore_terminal_at_exit, Declaration, LastWords, TERMINAL_RESET};

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
