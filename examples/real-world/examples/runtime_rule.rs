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

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The connection `main` made on its runtime, for the handler to reuse.
static CONNECTION: Mutex<Option<TcpStream>> = Mutex::new(None);
static COLLECTOR: OnceLock<SocketAddr> = OnceLock::new();

/// A server on a plain thread that prints each line it receives, then
/// answers `ok`: a handler that waits for the answer knows its line is out
/// before the next handler (or the end of the process) comes.
fn start_collector() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
    let address = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut answer = stream.try_clone().expect("the collector's writer");
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    println!("collector got: {line}");
                    answer.write_all(b"ok\n").ok();
                }
            });
        }
    });
    address
}

/// Sends `line` over `connection` and waits for the collector's `ok`.
async fn send(connection: &mut TcpStream, line: &str) {
    connection
        .write_all(format!("{line}\n").as_bytes())
        .await
        .expect("write the line");
    let mut ok = [0; 3];
    connection
        .read_exact(&mut ok)
        .await
        .expect("the collector's answer");
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
        send(&mut connection, "bye over the connection main made").await;
        connection.shutdown().await.ok();
    });
    atexit::register_async(|| async {
        let address = COLLECTOR.get().expect("the collector");
        let mut connection = TcpStream::connect(address).await.expect("connect anew");
        send(&mut connection, "bye over a connection the handler made").await;
        connection.shutdown().await.ok();
    });

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
