//! Compile-time behaviour of `#[bighub::action]`: what compiles, and the error every misuse
//! gets. Regenerate the pinned `.stderr` files with
//! `TRYBUILD=overwrite cargo test -p bighub-macro-tests` and read them before committing.

#[test]
fn ui() {
    // The test programs are built by a cargo of their own, in a target directory of their
    // own; nothing there is ever debugged, so it is built without debug info (a fraction of
    // the disk and link time). The child cargo inherits this process's environment.
    // SAFETY: set before any other thread of this test binary exists (one test, run first).
    unsafe { std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "false") };
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
