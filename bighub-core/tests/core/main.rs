//! The decision vocabulary from outside the crate: reading answers, the gate, fail modes,
//! and properties that hold for any JSON.
//!
//! One test binary with a module per concern, so that the crate is linked once for them.
//! `gate_alloc.rs` stays a binary of its own: it counts allocations with a global
//! allocator, which would count the other tests' too.

mod decision_props;
mod fail_mode;
mod gate;
mod normalize;
