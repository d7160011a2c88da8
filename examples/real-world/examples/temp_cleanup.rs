//! Remove the program's temporary files and directories however it ends.
//!
//! `tempfile`'s `TempDir` and `NamedTempFile` delete themselves in `Drop`.
//! That covers `main` returning and a panic that unwinds, but not
//! `std::process::exit` or a signal: nothing is dropped then, and every run
//! leaves its scratch directory behind in `/tmp`. Values that live for the
//! whole run are the ones this happens to.
//!
//! Handing each of them to an exit handler removes them on every exit. The
//! program keeps using them through their paths (and a second handle on the
//! file), since the handler owns them.
//!
//! ```text
//! $ cargo run -p atexit-real-world --example temp_cleanup -- exit /tmp
//! scratch dir: /tmp/scratch-Ab3xYz
//! spool file: /tmp/spool-Qr7sTu.txt
//! removed /tmp/spool-Qr7sTu.txt
//! removed /tmp/scratch-Ab3xYz
//! ```
//!
//! The first argument says how the program ends: `return`, `exit`
//! (`std::process::exit(3)`), `panic` or `signal` (prints `ready`, then waits
//! for SIGTERM or Ctrl+C). The second is the directory to create them in.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let ending = args.next().unwrap_or_else(|| "return".to_owned());
    if !["return", "exit", "panic", "signal"].contains(&ending.as_str()) {
        eprintln!("unknown ending {ending:?}: return, exit, panic or signal");
        std::process::exit(2);
    }
    let parent = args.next().map_or_else(std::env::temp_dir, PathBuf::from);

    atexit::catch_signals().expect("signal handling");

    let scratch = tempfile::Builder::new()
        .prefix("scratch-")
        .tempdir_in(&parent)
        .expect("create the scratch directory");
    let scratch_path = scratch.path().to_owned();
    println!("scratch dir: {}", scratch_path.display());
    // `close` rather than `drop`: a directory that cannot be removed is worth
    // a line on stderr.
    atexit::register(move || {
        let path = scratch.path().to_owned();
        match scratch.close() {
            Ok(()) => println!("removed {}", path.display()),
            Err(error) => eprintln!("cannot remove {}: {error}", path.display()),
        }
    });

    let spool = tempfile::Builder::new()
        .prefix("spool-")
        .suffix(".txt")
        .tempfile_in(&parent)
        .expect("create the spool file");
    let mut spool_writer = spool.reopen().expect("open the spool file");
    println!("spool file: {}", spool.path().display());
    atexit::register(move || {
        let path = spool.path().to_owned();
        match spool.close() {
            Ok(()) => println!("removed {}", path.display()),
            Err(error) => eprintln!("cannot remove {}: {error}", path.display()),
        }
    });

    // The work: files in the scratch directory, records in the spool file.
    for part in 1..=3 {
        std::fs::write(scratch_path.join(format!("part-{part}.bin")), [part; 1024])
            .expect("write a part");
        writeln!(spool_writer, "part {part} done").expect("write the spool file");
    }

    match ending.as_str() {
        "exit" => std::process::exit(3),
        "panic" => panic!("the work failed"),
        "signal" => {
            println!("ready");
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        _ => {}
    }
}
