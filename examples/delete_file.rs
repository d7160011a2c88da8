//! A temporary file removed at exit by a function registered with its
//! arguments: Python's `atexit.register(delete_file, path, verbose=True)`.
//!
//! ```python
//! import atexit, os
//!
//! def delete_file(path, verbose=False):
//!     if verbose:
//!         print(f"Deleting {path}")
//!     os.remove(path)
//!
//! path = "temp.txt"
//! with open(path, "w") as f:
//!     f.write("scratch data")
//! atexit.register(delete_file, path, verbose=True)
//! ```
//!
//! ```text
//! $ cargo run --example delete_file -- /tmp/temp.txt
//! Deleting /tmp/temp.txt
//! $ ls /tmp/temp.txt
//! ls: cannot access '/tmp/temp.txt': No such file or directory
//! ```

use std::path::PathBuf;

fn delete_file(path: PathBuf, verbose: bool) {
    if verbose {
        println!("Deleting {}", path.display());
    }
    if let Err(error) = std::fs::remove_file(&path) {
        eprintln!("cannot delete {}: {error}", path.display());
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("temp.txt"));
    std::fs::write(&path, "scratch data").expect("write the temporary file");
    atexit::register!(delete_file, path, true);
}
