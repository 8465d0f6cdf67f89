//! trybuild: what a traced function gets when the runtime is renamed and the `crate` option is
//! missing (one error, at the attribute).

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
