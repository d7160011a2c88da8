//! Every compile error `#[atexit::handler]` gives, with its message and span
//! (the `.stderr` snapshots), and the uses that must compile.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
