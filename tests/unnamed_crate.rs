//! A library's `#[atexit::handler]` is lost when the binary never names the
//! library (the linker drops the whole crate), and `use that_crate as _;`
//! brings it back, as the crate docs say.

mod support;

use std::path::PathBuf;
use std::time::Duration;

#[test]
fn naming_the_library_keeps_its_handlers() {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target directory")
        .join("unnamed-fixture");
    let manifest =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unnamed/Cargo.toml");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bins", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the fixture failed");
    let binary = |name: &str| {
        target
            .join("debug")
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    };

    let never = support::run(
        &mut support::command(&binary("never_names_it")),
        Duration::from_secs(30),
    );
    assert_eq!(
        never.stdout, "main\nbinary handler ran\n",
        "the library's handler is gone"
    );

    let named = support::run(
        &mut support::command(&binary("names_it")),
        Duration::from_secs(30),
    );
    assert_eq!(
        named.stdout,
        "main\nbinary handler ran\nlibrary handler ran\n"
    );
}
