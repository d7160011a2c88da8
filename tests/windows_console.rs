//! The console's modes on Windows, given back after a kill by the watchdog
//! and on a normal ending by the process: `examples/last_words.rs console`
//! declares the restore of the console it shares with this test while the
//! console is cooked, sets a raw mode (as crossterm's `enable_raw_mode`
//! does) and notes it, then ends as each test says. The canary, declared
//! first, goes last: once it is gone, the watchdog is done.
//!
//! The tests need a console. Under Wine a program has one only when Wine
//! backs it by a Unix terminal, so `scripts/windows.sh` runs them under
//! `script` (docs/platforms.md has the probe); they are ignored otherwise,
//! and fail if run without a console.

#![cfg(windows)]

mod support;

use std::os::windows::io::AsRawHandle as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use windows_sys::Win32::System::Console::{GetConsoleMode, SetConsoleMode, ENABLE_LINE_INPUT};

const PATIENCE: Duration = Duration::from_secs(20);

/// The console's input, as every process on it shares it.
fn console() -> std::fs::File {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("CONIN$")
        .expect("a console: run these tests under `script` (scripts/windows.sh)")
}

fn mode(console: &std::fs::File) -> u32 {
    let mut mode = 0;
    // SAFETY: reads the mode of a console handle we own.
    let read = unsafe { GetConsoleMode(console.as_raw_handle(), &mut mode) };
    assert_ne!(
        read,
        0,
        "GetConsoleMode: {}",
        std::io::Error::last_os_error()
    );
    mode
}

fn last_words(way: &str, dir: &Path, extra: &str) -> Command {
    let mut command = Command::new(support::example("last_words"));
    command
        .args([way, &dir.display().to_string(), extra])
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    support::wait_until(what, PATIENCE, done);
}

/// Starts the example in `wait`, checks it made the console raw, and
/// kills it; returns once its watchdog is done.
fn kill_while_raw(dir: &Path, extra: &str, cooked: u32, console: &std::fs::File) {
    let mut program = last_words("wait", dir, extra).spawn().expect("last_words");
    wait_until("ready", || dir.join("ready").exists());
    eprintln!(
        "looked after {}",
        std::fs::read_to_string(dir.join("looked")).unwrap()
    );
    assert_eq!(mode(console) & ENABLE_LINE_INPUT, 0, "the example went raw");
    assert_ne!(mode(console), cooked);
    program.kill().expect("TerminateProcess");
    program.wait().expect("ended");
    wait_until("the canary's removal", || !dir.join("canary").exists());
}

/// Sets the mode back whatever a test did, so the next one starts cooked.
struct Restore<'a>(&'a std::fs::File, u32);

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        // SAFETY: sets the mode of a console handle we own.
        unsafe { SetConsoleMode(self.0.as_raw_handle(), self.1) };
    }
}

#[test]
#[ignore = "needs a console backed by a terminal: scripts/windows.sh runs it under `script`"]
fn after_terminate_process_the_watchdog_gives_the_console_its_mode_back() {
    let console = console();
    let cooked = mode(&console);
    let _restore = Restore(&console, cooked);
    let dir = support::TempDir::new("console-kill");
    kill_while_raw(dir.path(), "console", cooked, &console);
    assert_eq!(mode(&console), cooked, "the cooked mode, given back");
}

#[test]
#[ignore = "needs a console backed by a terminal: scripts/windows.sh runs it under `script`"]
fn a_cancelled_restore_is_not_carried_out_by_the_watchdog() {
    let console = console();
    let cooked = mode(&console);
    let _restore = Restore(&console, cooked);
    let dir = support::TempDir::new("console-cancel");
    kill_while_raw(dir.path(), "console-cancel", cooked, &console);
    assert_ne!(mode(&console), cooked, "a cancelled restore ran");
}

#[test]
#[ignore = "needs a console backed by a terminal: scripts/windows.sh runs it under `script`"]
fn a_return_and_exit_now_give_it_back() {
    let console = console();
    let cooked = mode(&console);
    let _restore = Restore(&console, cooked);
    for (way, code) in [("return", 0), ("exit-now", 5)] {
        let dir = support::TempDir::new("console-end");
        let ended = support::run(&mut last_words(way, dir.path(), "console"), PATIENCE);
        assert_eq!(ended.status.code(), Some(code), "{}", ended.describe());
        wait_until("the canary's removal", || {
            !dir.path().join("canary").exists()
        });
        assert_eq!(mode(&console), cooked, "{way}: the cooked mode, given back");
    }
}
