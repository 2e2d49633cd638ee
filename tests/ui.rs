//! Compile-time behaviour of `#[bighub::action]`: what compiles, and the error every misuse
//! gets. Regenerate the pinned `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read them before committing.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
