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
