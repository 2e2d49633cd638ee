//! OpenAI strict-mode JSON schemas for tool parameters.
//!
//! Strict mode (function calling and Structured Outputs with `"strict": true`) constrains the
//! model's arguments to the schema, but accepts only a subset of JSON Schema: the root is an
//! object; every object has `"additionalProperties": false` and lists all its properties in
//! `required` (an optional value is required and nullable); only `type`, `properties`,
//! `required`, `additionalProperties`, `items`, `anyOf`, `enum`, `const`, `description`,
//! `title`, `$defs`/`$ref` (recursion included), `pattern`, `format` (date-time, time, date,
//! duration, email, hostname, ipv4, ipv6, uuid), `minimum`/`maximum` (and exclusive),
//! `multipleOf`, `minItems`/`maxItems` are supported; and the size limits of [`rules`] apply.
//!
//! - [`strict`] / [`StrictSchema::from_generated`]: the normaliser, for schemas generated
//!   by schemars from Rust types.
//! - [`validate_strict`]: the validator, for any schema (also the ones written by hand).
//! - [`Reshape`]: what the normaliser changed that the tool's deserializer must not see
//!   (maps encoded as `{"key", "value"}` entries, `null` for formerly optional fields).
//!
//! This module knows nothing of tools or registries; the registry applies it at registration.

mod error;
mod instance;
mod limits;
mod pointer;
mod reshape;
pub mod rules;
mod strict;
mod validate;

pub use error::SchemaError;
pub use reshape::Reshape;
pub use strict::{StrictSchema, strict};
pub use validate::validate_strict;

pub(crate) use instance::{Misfit, fits, misfit};
pub(crate) use pointer::kind_of;
