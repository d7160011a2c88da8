//! An async client keeps records in memory and sends them to a collector in
//! batches. Whatever is still buffered when the program ends must be sent,
//! with the same async code, even after `#[tokio::main]` has dropped its
//! runtime, on `std::process::exit`, a panic or SIGTERM.
//!
//! An `async fn` handler (or `atexit::register_async`) runs to completion at
//! exit on a fresh Tokio runtime (the `tokio` feature), so Tokio's timers and
//! sockets work in it. The collector here is a TCP server on another thread,
//! standing in for a remote service.
//!
//! ```text
//! cargo run -p atexit-real-world --example async_flush --features tokio -- return|exit|panic|signal|hang
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Records not sent yet.
static BUFFER: Mutex<Vec<String>> = Mutex::new(Vec::new());
static COLLECTOR: OnceLock<SocketAddr> = OnceLock::new();

/// Sends what is buffered, after a short pause that lets late records join
/// the batch: a timer and a socket, both Tokio's.
#[atexit::handler]
async fn send_buffered() {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let batch = std::mem::take(&mut *BUFFER.lock().unwrap());
    let address = COLLECTOR.get().expect("the collector was started");
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the collector");
    stream
        .write_all(batch.join("\n").as_bytes())
        .await
        .expect("send the batch");
    stream.shutdown().await.expect("end the batch");
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .await
        .expect("read the collector's reply");
    println!(
        "sent {} records after {} ms; collector: {}",
        batch.len(),
        start.elapsed().as_millis() / 50 * 50,
        reply.trim()
    );
}

/// Counts the records of each connection and acknowledges them.
fn start_collector() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
    let address = listener.local_addr().expect("collector address");
    std::thread::spawn(move || {
        for connection in listener.incoming() {
            let mut connection = connection.expect("accept");
            let records = BufReader::new(&connection).lines().count();
            writeln!(connection, "acknowledged {records} records").expect("reply");
        }
    });
    address
}

#[tokio::main]
async fn main() {
    COLLECTOR.set(start_collector()).expect("set once");
    BUFFER
        .lock()
        .unwrap()
        .extend((1..=100).map(|n| format!("record {n}")));

    // Imperative registration: it runs first (newest first), the handler above last.
    atexit::register_async(|| async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        println!("session closed");
    });

    match std::env::args().nth(1).as_deref().unwrap_or("return") {
        "return" => {} // the runtime is dropped before the handlers run
        "exit" => std::process::exit(3),
        "panic" => panic!("lost the configuration"),
        "signal" => {
            atexit::catch_signals().expect("install the signal handlers");
            println!("ready");
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        "hang" => {
            atexit::set_deadline(Some(Duration::from_millis(300)));
            atexit::register_async(std::future::pending::<()>);
            std::process::exit(4);
        }
        other => panic!("unknown exit path {other:?}"),
    }
}
