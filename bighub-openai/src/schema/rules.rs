//! The facts of OpenAI strict mode that the normaliser and the validator share: which
//! keywords and string formats it supports, and its size limits.
//!
//! This module owns the constants only; `strict.rs` applies them to generated schemas and
//! `validate.rs` checks any schema against them.

/// String formats strict mode accepts in `"format"`.
pub const SUPPORTED_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Most object properties a strict schema may declare, over the whole schema.
pub const MAX_OBJECT_PROPERTIES: usize = 5_000;

/// Most levels of object nesting a strict schema may have (the root object is level 1).
pub const MAX_NESTING_DEPTH: usize = 10;

/// Most `enum` values a strict schema may list, over all its enums.
pub const MAX_ENUM_VALUES: usize = 1_000;

/// Most characters of property names, definition names, enum and const values together.
pub const MAX_TOTAL_STRING_LENGTH: usize = 120_000;

/// An enum with more values than this is "large" and has its own length limit.
pub const LARGE_ENUM_VALUES: usize = 250;

/// Most characters of the string values of one large enum.
pub const MAX_LARGE_ENUM_STRING_LENGTH: usize = 15_000;

/// Keywords a strict schema may use.
pub(crate) const SUPPORTED_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "const",
    "description",
    "title",
    "$defs",
    "definitions",
    "$ref",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// Annotations the normaliser drops: they constrain nothing, and strict mode either rejects
/// them or (for `default`, since every property is required) can never apply them.
pub(crate) const DROPPED_ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentEncoding",
    "contentMediaType",
];

/// Constraints the normaliser drops because strict mode cannot express them; the tool's
/// deserializer still enforces the type, so dropping them loses a hint, never safety.
pub(crate) const DROPPED_CONSTRAINTS: &[&str] = &[
    "minLength",
    "maxLength",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// How to fix a schema that uses an unsupported keyword.
pub(crate) fn unsupported_keyword_hint(keyword: &str) -> &'static str {
    match keyword {
        "oneOf" => "use \"anyOf\" instead",
        "allOf" => "merge the subschemas into one object schema",
        "not" | "if" | "then" | "else" | "dependentRequired" | "dependentSchemas" => {
            "remove it and check the condition in the tool"
        }
        "patternProperties" | "propertyNames" | "unevaluatedProperties" => {
            "declare fixed \"properties\", or pass a map as an array of {\"key\", \"value\"} entries"
        }
        "prefixItems" => "tuples cannot be expressed; use an object with named properties",
        "contains" | "minContains" | "maxContains" | "unevaluatedItems" => {
            "remove it and check the items in the tool"
        }
        "minLength" | "maxLength" => {
            "remove it, or use \"pattern\", and check the length in the tool"
        }
        "uniqueItems" | "minProperties" | "maxProperties" => "remove it and check it in the tool",
        "default" => {
            "remove it: strict mode makes every property required, so a default never applies"
        }
        "nullable" => "add \"null\" to \"type\" (for example [\"string\", \"null\"]) instead",
        _ => "remove it",
    }
}
