//! The workspace's own package: examples, cross-crate tests and benches of bighub-openai.
//!
//! Its library holds nothing but the README, so that `cargo test --workspace` compiles
//! every Rust snippet of it as a doctest, with the `bighub` name the README has users give
//! the dependency.

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
