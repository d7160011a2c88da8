//! Two semver-incompatible copies of `atexit-core` in one binary would each
//! hook the C runtime's exit, `fork`, the panic hook and the signals, and race
//! to end the process. Its `links` key makes Cargo refuse the graph.

use std::path::Path;
use std::process::Command;

/// Writes a binary crate depending on the real `atexit-core` and, with
/// `second_copy`, on a 0.2 copy that declares the same `links`; returns what
/// `cargo metadata` said, and whether it succeeded.
fn resolve(dir: &Path, second_copy: bool) -> (bool, String) {
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("atexit-core");
    let links = std::fs::read_to_string(real.join("Cargo.toml"))
        .unwrap()
        .lines()
        .find(|line| line.starts_with("links"))
        .expect("atexit-core declares `links`")
        .to_string();
    let copy = dir.join("copy");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::write(
        copy.join("Cargo.toml"),
        format!("[package]\nname = \"atexit-core\"\nversion = \"0.2.0\"\nedition = \"2021\"\n{links}\nbuild = \"build.rs\"\n"),
    )
    .unwrap();
    std::fs::write(copy.join("build.rs"), "fn main() {}\n").unwrap();
    std::fs::write(copy.join("src/lib.rs"), "").unwrap();
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    let second = if second_copy {
        "atexit-core-2 = { package = \"atexit-core\", path = \"../copy\" }\n"
    } else {
        ""
    };
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\natexit-core = {{ path = {:?} }}\n{second}",
            real.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(app.join("src/main.rs"), "fn main() {}\n").unwrap();
    // The workspace's lock file: the versions the build fetched, so the
    // resolution needs no network.
    let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
    std::fs::copy(lock, app.join("Cargo.lock")).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["generate-lockfile", "--offline"])
        .current_dir(&app)
        .output()
        .expect("run cargo");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn cargo_refuses_a_second_copy() {
    let root = std::env::temp_dir().join(format!("atexit-two-copies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // The control: one copy resolves (offline, from what the build fetched).
    let (one_ok, one_said) = resolve(&root.join("one"), false);
    assert!(one_ok, "one copy must resolve:\n{one_said}");
    let (two_ok, two_said) = resolve(&root.join("two"), true);
    let _ = std::fs::remove_dir_all(&root);
    assert!(!two_ok, "two copies must not resolve");
    assert!(
        two_said.contains("links to the native library `atexit`"),
        "refused for `links`:\n{two_said}"
    );
}

/// A user crate with `signal-hook` 0.4 (the current one, which shares
/// `signal-hook-registry` with this crate) builds one copy of every crate:
/// `atexit` brings no second `signal-hook`, nor a second anything.
#[test]
fn a_user_of_signal_hook_0_4_compiles_one_copy_of_each_crate() {
    let app = std::env::temp_dir().join(format!("atexit-one-copy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&app);
    std::fs::create_dir_all(app.join("src")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n\
             [dependencies]\natexit = {{ path = {:?}, features = [\"tokio\", \"log\", \"tracing\"] }}\n\
             signal-hook = \"0.4\"\n",
            root.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(app.join("src/main.rs"), "fn main() {}\n").unwrap();
    // The versions the workspace's build fetched (the real-world examples
    // use signal-hook 0.4 too), so nothing needs the network.
    std::fs::copy(root.join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--duplicates", "--offline", "--edges", "normal"])
        .current_dir(&app)
        .output()
        .expect("run cargo");
    let _ = std::fs::remove_dir_all(&app);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo tree failed:\n{stderr}");
    assert!(
        stdout.trim().is_empty(),
        "crates compiled twice:\n{stdout}\n{stderr}"
    );
}
