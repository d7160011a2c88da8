//! A library's `#[atexit::handler]` is lost when the binary never names the
//! library (the linker drops the whole crate), and `use that_crate as _;`
//! brings it back, as the crate docs say.

mod support;

use std::time::Duration;

#[test]
fn naming_the_library_keeps_its_handlers() {
    let target = support::build_in_own_target(
        "unnamed-fixture",
        &[
            "--bins",
            "--manifest-path",
            "tests/fixtures/unnamed/Cargo.toml",
        ],
    );
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
