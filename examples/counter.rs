//! A counter kept in a file: loaded at start, incremented, saved by an exit
//! handler. Run it twice with the same directory and it counts 3, then 6.
//!
//! ```text
//! $ cargo run --example counter -- /tmp/counter-dir
//! counter: 3
//! $ cargo run --example counter -- /tmp/counter-dir
//! counter: 6
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn load(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

fn save(path: PathBuf) {
    let value = COUNTER.load(Ordering::SeqCst);
    if let Err(error) = std::fs::write(&path, format!("{value}\n")) {
        eprintln!("cannot save the counter to {}: {error}", path.display());
    }
}

fn increment() {
    COUNTER.fetch_add(1, Ordering::SeqCst);
}

fn main() {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join("counter.txt");
    COUNTER.store(load(&path), Ordering::SeqCst);
    atexit::register!(save, path);

    for _ in 0..3 {
        increment();
    }
    println!("counter: {}", COUNTER.load(Ordering::SeqCst));
}
