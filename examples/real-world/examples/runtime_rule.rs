//! The async-handler runtime rule, shown on both exit paths: an async
//! handler runs on a Tokio runtime of its own, so an object made on the
//! program's runtime (here a `TcpStream`) works in it only while that
//! runtime is alive.
//!
//! - `return`: `main` returns, `#[tokio::main]` drops its runtime, then the
//!   handlers run. The handler that reuses the program's connection fails,
//!   and the report says why; the one that connects anew works.
//! - `forced`: graceful-shutdown mode; a signal asks for a shutdown and a second one
//!   ends the drain, so the handlers run while `main` (and its runtime) is
//!   still alive: the reused connection happens to work there. In graceful-
//!   shutdown mode a service normally leaves through `return`: test that path.
//!
//! ```text
//! cargo run -p atexit-real-world --example runtime_rule --features tokio -- return|forced
//! ```

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The connection `main` made on its runtime, for the handler to reuse.
static CONNECTION: Mutex<Option<TcpStream>> = Mutex::new(None);
static COLLECTOR: OnceLock<SocketAddr> = OnceLock::new();

/// A server on a plain thread that prints each line it receives.
fn start_collector() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
    let address = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    println!("collector got: {line}");
                }
            });
        }
    });
    address
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "return".into());
    let address = *COLLECTOR.get_or_init(start_collector);
    let connection = TcpStream::connect(address).await.expect("connect");
    *CONNECTION.lock().unwrap() = Some(connection);

    // Registered first, so it runs last: the reused connection is tried
    // after the fresh one has been sent.
    atexit::register_async(|| async {
        let connection = CONNECTION.lock().unwrap().take();
        let mut connection = connection.expect("main's connection");
        connection
            .write_all(b"bye over the connection main made\n")
            .await
            .expect("write over main's connection");
        connection.shutdown().await.ok();
    });
    atexit::register_async(|| async {
        let address = COLLECTOR.get().expect("the collector");
        let mut connection = TcpStream::connect(address).await.expect("connect anew");
        connection
            .write_all(b"bye over a connection the handler made\n")
            .await
            .expect("write over the handler's connection");
        connection.shutdown().await.ok();
    });
    // Let the collector print each line before the next handler starts.
    atexit::register(|| std::thread::sleep(Duration::from_millis(100)));

    if mode == "forced" {
        atexit::CatchSignals::new()
            .only([atexit::Signal::Term])
            .graceful_shutdown(Duration::from_secs(60))
            .install()
            .expect("signal handling");
        println!("ready");
        atexit::shutdown_request().await;
        println!("draining");
        // A drain that does not end: a second SIGTERM ends it.
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}
