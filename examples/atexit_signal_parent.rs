//! Starts `atexit_signal_child`, waits a second, sends it SIGTERM and reports
//! how it ended: by the signal, without running its exit handler.
//!
//! ```text
//! $ cargo build --examples && cargo run --example atexit_signal_parent
//! PARENT: Pausing before sending signal...
//! PARENT: Signaling child
//! CHILD: Registered
//! PARENT: child output above; child died by signal 15
//! ```

#[cfg(unix)]
fn main() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().expect("path of this example");
    let child_path = exe.with_file_name(format!(
        "atexit_signal_child{}",
        std::env::consts::EXE_SUFFIX
    ));
    let child = Command::new(&child_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot start {}: {error} (build it with `cargo build --examples`)",
                child_path.display()
            )
        });
    println!("PARENT: Pausing before sending signal...");
    std::thread::sleep(std::time::Duration::from_secs(1));
    println!("PARENT: Signaling child");
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: `kill` with a valid signal number and our own child's pid.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        panic!("kill: {}", std::io::Error::last_os_error());
    }
    let output = child.wait_with_output().expect("wait for the child");
    print!("{}", String::from_utf8_lossy(&output.stdout));
    match output.status.signal() {
        Some(signal) => println!("PARENT: child output above; child died by signal {signal}"),
        None => println!("PARENT: child exited with {}", output.status),
    }
}

#[cfg(not(unix))]
fn main() {
    println!("this example sends SIGTERM and needs a Unix system");
}
