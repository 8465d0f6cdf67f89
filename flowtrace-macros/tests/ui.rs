//! trybuild UI tests: every accepted shape compiles, every misuse fails with one error at the
//! offending token (the `.stderr` files pin the message and the span).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
