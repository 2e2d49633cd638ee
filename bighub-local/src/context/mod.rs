//! Operational context for decisions: the documents context providers fetch, in the
//! shapes the default policy reads.

// Its caller is the provider machinery; until a provider declares a shape, only the
// unit tests call `normalize`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod shape;
