//! Saves data to a file at exit: the function is registered with its
//! arguments, which are moved into the registry now.
//!
//! ```text
//! $ cargo run --example save_data -- /tmp/data.txt
//! Data saved to /tmp/data.txt
//! ```

use std::path::PathBuf;

fn save_data(filename: PathBuf, data: Vec<String>) {
    match std::fs::write(&filename, data.join("\n") + "\n") {
        Ok(()) => println!("Data saved to {}", filename.display()),
        Err(error) => eprintln!("cannot save to {}: {error}", filename.display()),
    }
}

fn main() {
    let filename = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("atexit_save_data.txt"));
    let data = vec!["alpha".to_string(), "beta".to_string(), "gamma".to_string()];
    atexit::register!(save_data, filename, data);
}
