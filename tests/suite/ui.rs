//! Every compile error `#[atexit::handler]` gives, with its message and span
//! (the `.stderr` snapshots), and the uses that must compile.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
    cases.pass("ui/pass/*.rs");
}
