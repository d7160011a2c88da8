//! A `cdylib` that uses atexit is loaded with `dlopen`, registers a handler
//! and is unloaded with `dlclose` before the host exits. The C runtime's exit
//! must not call into unmapped code (FACTS.md: a segfault at exit): the
//! library keeps itself loaded, and its handler runs at exit.

#![cfg(all(
    unix,
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "macos"
    )
))]

mod support;

use std::path::PathBuf;
use std::time::Duration;

/// Builds the fixture plugin in a target directory of its own.
fn plugin() -> PathBuf {
    let target = support::build_in_own_target(
        "plugin-fixture",
        &["--manifest-path", "tests/fixtures/plugin/Cargo.toml"],
    );
    let name = format!(
        "{}atexit_plugin_fixture{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    target.join("debug").join(name)
}

/// The host: loads the plugin, lets it register, unloads it.
fn host(path: &str) {
    let path = std::ffi::CString::new(path).unwrap();
    // SAFETY: loads a library built from this repository, calls its
    // `extern "C" fn()` by its exported name, then unloads it.
    unsafe {
        let library = libc::dlopen(path.as_ptr(), libc::RTLD_NOW);
        assert!(!library.is_null(), "dlopen failed");
        let symbol = libc::dlsym(library, c"plugin_register".as_ptr());
        assert!(!symbol.is_null(), "no plugin_register");
        let register: extern "C" fn() = std::mem::transmute(symbol);
        register();
        assert_eq!(libc::dlclose(library), 0);
    }
    println!("host: plugin closed");
}

#[test]
fn a_dlclosed_plugin_does_not_crash_the_exit() {
    if let Ok(path) = std::env::var("ATEXIT_PLUGIN") {
        host(&path);
        return;
    }
    let plugin = plugin();
    let exe = std::env::current_exe().unwrap();
    let finished = support::run(
        support::command(&exe).env("ATEXIT_PLUGIN", &plugin).args([
            "--exact",
            "a_dlclosed_plugin_does_not_crash_the_exit",
            "--nocapture",
            "--test-threads=1",
        ]),
        Duration::from_secs(60),
    );
    assert_eq!(
        finished.signal(),
        None,
        "the host died by a signal:\n{}",
        finished.stderr
    );
    assert!(
        finished.status.success(),
        "{:?}\n{}",
        finished.status,
        finished.stderr
    );
    let closed = finished
        .stdout
        .find("host: plugin closed")
        .expect("the host ran");
    let ran = finished
        .stdout
        .find("plugin handler ran at exit")
        .expect("the plugin's handler ran");
    assert!(closed < ran);
}

/// In a plugin no watchdog can run (the preinit role is the executable's),
/// so `spawn_tied` falls back to the parent-death signal, set on the
/// plugin's spawner thread: after a SIGKILL of the host the tied child is
/// gone. (In an executable the watchdog is the notice: tests/watchdog.rs.)
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn a_child_tied_in_a_plugin_dies_with_the_host_by_the_parent_death_signal() {
    if let Ok(path) = std::env::var("ATEXIT_PLUGIN_TIED") {
        let path = std::ffi::CString::new(path).unwrap();
        // SAFETY: loads a library built from this repository and calls its
        // `extern "C" fn() -> u32` by its exported name; it stays loaded.
        let pid = unsafe {
            let library = libc::dlopen(path.as_ptr(), libc::RTLD_NOW);
            assert!(!library.is_null(), "dlopen failed");
            let symbol = libc::dlsym(library, c"plugin_spawn_tied".as_ptr());
            assert!(!symbol.is_null(), "no plugin_spawn_tied");
            let spawn: extern "C" fn() -> u32 = std::mem::transmute(symbol);
            spawn()
        };
        println!("tied {pid}");
        // SAFETY: ends this process at once, as `kill -9` would.
        unsafe { libc::raise(libc::SIGKILL) };
    }
    let plugin = plugin();
    let exe = std::env::current_exe().unwrap();
    let finished = support::run(
        support::command(&exe)
            .env("ATEXIT_PLUGIN_TIED", &plugin)
            .args([
                "--exact",
                "a_child_tied_in_a_plugin_dies_with_the_host_by_the_parent_death_signal",
                "--nocapture",
                "--test-threads=1",
            ]),
        Duration::from_secs(60),
    );
    assert_eq!(
        finished.signal(),
        Some(libc::SIGKILL),
        "{}",
        finished.stderr
    );
    let pid: i32 = finished
        .stdout
        .lines()
        // After the harness's "test ... ... " on the same line.
        .find_map(|line| line.split("tied ").nth(1))
        .unwrap_or_else(|| panic!("no pid: {}", finished.stdout))
        .parse()
        .unwrap();
    // Gone, or a zombie (killed, not reaped yet by init), or another
    // process with that number (a later start time than the host's end).
    let running = |pid: i32| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 2..];
        let cmd = &stat[stat.find('(')? + 1..stat.rfind(')')?];
        (!rest.starts_with('Z') && cmd == "sleep").then_some(())
    };
    let limit = std::time::Instant::now() + Duration::from_secs(5);
    while running(pid).is_some() {
        assert!(
            std::time::Instant::now() < limit,
            "the plugin's tied sleep {pid} outlived its host by 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
