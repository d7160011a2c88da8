//! Starts `atexit_signal_child`, which writes straight to the stdout it
//! inherits, waits a second, sends it SIGTERM and reports how it ended: by
//! the signal, without running its exit handler.
//!
//! ```text
//! $ cargo build --examples && cargo run --example atexit_signal_parent
//! CHILD: Registered
//! PARENT: Pausing before sending signal...
//! PARENT: Signaling child
//! PARENT: child died by signal 15
//! ```
//!
//! The child's line comes first, as in Python's run of the pair: the parent
//! waits until the child says it has printed (a file the child creates).

#[cfg(unix)]
fn main() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;
    use std::time::{Duration, Instant};

    let exe = std::env::current_exe().expect("path of this example");
    let child_path = exe.with_file_name(format!(
        "atexit_signal_child{}",
        std::env::consts::EXE_SUFFIX
    ));
    let ready =
        std::env::temp_dir().join(format!("atexit_signal_parent-{}.ready", std::process::id()));
    let _ = std::fs::remove_file(&ready);
    let mut child = Command::new(&child_path)
        .env("ATEXIT_SIGNAL_CHILD_READY", &ready)
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot start {}: {error} (build it with `cargo build --examples`)",
                child_path.display()
            )
        });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::fs::remove_file(&ready);
    println!("PARENT: Pausing before sending signal...");
    std::thread::sleep(Duration::from_secs(1));
    println!("PARENT: Signaling child");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: `kill` with a valid signal number and our own child's pid.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        panic!("kill: {}", std::io::Error::last_os_error());
    }
    let status = child.wait().expect("wait for the child");
    match status.signal() {
        Some(signal) => println!("PARENT: child died by signal {signal}"),
        None => println!("PARENT: child exited with {status}"),
    }
}

#[cfg(not(unix))]
fn main() {
    println!("this example sends SIGTERM and needs a Unix system");
}
