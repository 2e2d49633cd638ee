//! Compile-time tests of `#[bighub::action]`, in `tests/ui.rs`: what compiles, and the
//! error each misuse gets. This crate has no code of its own.
