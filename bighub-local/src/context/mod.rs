//! Context providers: what is true now, fetched for a decision.
//!
//! This module owns the shapes a provider's document may have. It decides nothing.

// Read by the providers.
#[allow(dead_code)]
mod shape;

pub use shape::Shape;
