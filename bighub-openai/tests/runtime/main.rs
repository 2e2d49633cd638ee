//! The runtime from outside the crate, without a model: the tool registry, strict schemas,
//! and the module layout it keeps.
//!
//! One test binary with a module per concern, so that the crate is linked once for them.

mod layout;
mod registry;
mod strict_schema;
