//! Who wins when another library handles SIGINT and SIGTERM too: `tokio::signal`,
//! `ctrlc` (printing, or the common recipe that calls `std::process::exit(0)`),
//! `signal-hook`; installed before or after atexit's handlers, with atexit in
//! its default mode or in graceful-shutdown mode. `tests/signal_neighbours.rs` runs
//! every combination and measures it (SIGINT and SIGTERM alike):
//!
//! The table of what happens, and what to do about it, is in the crate
//! docs ("Services": who wins with other signal users); this program is
//! what measures it. `cargo test -p atexit-real-world --test
//! signal_neighbours -- --nocapture` prints the table it measured here.
//!
//! ```text
//! cargo run -p atexit-real-world --example signal_neighbours -- \
//!     tokio|ctrlc|ctrlc-exit|signal-hook before|after default|request
//! ```
//!
//! then, once it prints `ready`, send it SIGINT (Ctrl+C) or SIGTERM.

#[cfg(not(unix))]
fn main() {
    eprintln!("signal_neighbours: Unix only (ctrlc and signal-hook use sigaction there)");
    std::process::exit(2);
}

#[cfg(unix)]
fn main() {
    unix::main();
}

#[cfg(unix)]
mod unix {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    /// How long `main` waits in default mode, or for a shutdown request: a
    /// signal that does not end the process shows as `main` returning.
    const LONG: Duration = Duration::from_secs(3);

    /// The other library's handler has run (graceful-shutdown mode waits a little for
    /// it before returning, as a program that joins its tasks would).
    static NEIGHBOUR_RAN: AtomicBool = AtomicBool::new(false);

    #[derive(Clone, Copy, PartialEq)]
    enum Library {
        Tokio,
        Ctrlc,
        CtrlcExit,
        SignalHook,
    }

    fn usage() -> ! {
        eprintln!(
            "usage: signal_neighbours tokio|ctrlc|ctrlc-exit|signal-hook before|after default|request"
        );
        std::process::exit(2);
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let [library, order, mode] = &args[..] else {
            usage()
        };
        let library = match library.as_str() {
            "tokio" => Library::Tokio,
            "ctrlc" => Library::Ctrlc,
            "ctrlc-exit" => Library::CtrlcExit,
            "signal-hook" => Library::SignalHook,
            _ => usage(),
        };
        let before = match order.as_str() {
            "before" => true,
            "after" => false,
            _ => usage(),
        };
        let request = match mode.as_str() {
            "default" => false,
            "request" => true,
            _ => usage(),
        };

        atexit::register(|| {
            println!(
                "atexit: exit handler ran ({:?})",
                atexit::exit_reason().expect("an exit is under way")
            );
        });
        let runtime = (library == Library::Tokio)
            .then(|| tokio::runtime::Runtime::new().expect("a Tokio runtime"));
        if before {
            install_neighbour(library, runtime.as_ref());
        }
        let mut catch = atexit::CatchSignals::new();
        if request {
            catch = catch.graceful_shutdown(Duration::from_secs(5));
        }
        catch.install().expect("atexit's signal handling");
        if !before {
            install_neighbour(library, runtime.as_ref());
        }
        let replaced: Vec<String> = atexit::replaced_signals()
            .iter()
            .map(ToString::to_string)
            .collect();
        println!("replaced_signals = [{}]", replaced.join(", "));
        println!("ready");

        if !request {
            std::thread::sleep(LONG);
            println!("main: slept {LONG:?}; no signal ended the process");
        } else {
            let shutdown = atexit::shutdown_request();
            let signal = match &runtime {
                // The request is a plain future: Tokio awaits it.
                Some(runtime) => {
                    runtime.block_on(async { tokio::time::timeout(LONG, shutdown).await.ok() })
                }
                None => shutdown.wait_timeout(LONG),
            };
            match signal {
                Some(signal) => {
                    println!("main: shutdown requested by {signal}");
                    // The drain: here, give the other library's handler its turn.
                    let start = Instant::now();
                    while !NEIGHBOUR_RAN.load(Ordering::SeqCst)
                        && start.elapsed() < Duration::from_secs(1)
                    {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                None => println!("main: no shutdown request within {LONG:?}"),
            }
        }
        println!("main: returns");
    }

    fn neighbour_ran(line: &str) {
        println!("{line}");
        NEIGHBOUR_RAN.store(true, Ordering::SeqCst);
    }

    /// Installs the other library's handlers for SIGINT and SIGTERM, each
    /// printing a line when it runs.
    fn install_neighbour(library: Library, runtime: Option<&tokio::runtime::Runtime>) {
        match library {
            Library::Tokio => {
                let runtime = runtime.expect("tokio runs on a runtime");
                let (registered, is_registered) = std::sync::mpsc::channel();
                runtime.spawn(async move {
                    use std::future::Future;
                    use std::task::Poll;
                    use tokio::signal::unix::{signal, SignalKind};
                    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM stream");
                    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
                    // `ctrl_c()` installs its handler when first polled:
                    // poll it once now, so that "before" is before.
                    std::future::poll_fn(|cx| {
                        let _ = ctrl_c.as_mut().poll(cx);
                        Poll::Ready(())
                    })
                    .await;
                    registered.send(()).expect("main waits");
                    let name = tokio::select! {
                        _ = ctrl_c => "SIGINT",
                        _ = terminate.recv() => "SIGTERM",
                    };
                    neighbour_ran(&format!("tokio: {name} arrived"));
                });
                is_registered.recv().expect("tokio's handlers installed");
            }
            // `termination`: SIGTERM and SIGHUP too. Its handler runs on a
            // thread of its own.
            Library::Ctrlc => ctrlc::set_handler(|| neighbour_ran("ctrlc: handler ran"))
                .expect("ctrlc::set_handler"),
            Library::CtrlcExit => ctrlc::set_handler(|| {
                neighbour_ran("ctrlc: handler ran, calling exit(0)");
                std::process::exit(0);
            })
            .expect("ctrlc::set_handler"),
            Library::SignalHook => {
                use signal_hook::consts::{SIGINT, SIGTERM};
                let mut signals =
                    signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).expect("signal-hook");
                std::thread::spawn(move || {
                    for signal in signals.forever() {
                        let name = if signal == SIGINT {
                            "SIGINT"
                        } else {
                            "SIGTERM"
                        };
                        neighbour_ran(&format!("signal-hook: {name} arrived"));
                    }
                });
            }
        }
    }
}
