//! What the README shows first: a load-time handler, an imperative one and a
//! function registered with arguments, all in one program.
//!
//! ```text
//! $ cargo run --example quickstart
//! working...
//! closing the database
//! saving 3 records to report.csv
//! flushing logs
//! ```

#[atexit::handler]
fn flush_logs() {
    println!("flushing logs");
}

fn save(path: &str, records: usize) {
    println!("saving {records} records to {path}");
}

fn main() {
    atexit::register!(save, "report.csv", 3);
    atexit::register(|| println!("closing the database"));
    println!("working...");
}
