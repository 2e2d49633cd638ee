//! `SchemaError`: why a schema is not (and could not be made) an OpenAI strict-mode schema.
//!
//! Every variant names the offending node by JSON pointer (`(root)` for the root), the rule
//! it breaks, and how to fix it.

use super::pointer::display;
use super::rules;

/// A schema that breaks an OpenAI strict-mode rule.
///
/// ```
/// use bighub_openai::schema::{validate_strict, SchemaError};
/// use serde_json::json;
///
/// let err = validate_strict(&json!({
///     "type": "object",
///     "properties": {"group": {"type": "string"}},
///     "required": []
/// }))
/// .unwrap_err();
/// assert_eq!(err.path(), "");
/// assert!(matches!(err, SchemaError::MissingAdditionalProperties { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The root is not a plain object schema.
    #[error(
        "(root): the root must be an object schema (\"type\": \"object\"), found {found}; wrap the value in an object with named properties"
    )]
    RootNotObject {
        /// What the root is instead.
        found: String,
    },

    /// A node is not a JSON object (for example a number where a schema belongs).
    #[error("{}: expected a schema object, found {found}", display(.path))]
    NotASchema {
        /// The node.
        path: String,
        /// What was found.
        found: String,
    },

    /// A boolean schema (`true` accepts anything, `false` nothing).
    #[error(
        "{}: boolean schema `{value}` is not supported in strict mode; give the value a concrete type (a free-form JSON value needs `strict(false)`)", display(.path)
    )]
    BooleanSchema {
        /// The node.
        path: String,
        /// The boolean.
        value: bool,
    },

    /// A schema with no `type`, `anyOf`, `$ref`, `enum` or `const`: it accepts any value.
    #[error(
        "{}: schema accepts any JSON value; strict mode needs a \"type\", \"anyOf\", \"enum\", \"const\" or \"$ref\" (a free-form value needs `strict(false)`)", display(.path)
    )]
    Untyped {
        /// The node.
        path: String,
    },

    /// An unknown name in `type`.
    #[error(
        "{}: unknown type {found}; expected string, number, integer, boolean, object, array or null", display(.path)
    )]
    UnknownType {
        /// The node.
        path: String,
        /// The offending `type` value.
        found: String,
    },

    /// An object without `"additionalProperties": false`.
    #[error("{}: object is missing \"additionalProperties\": false", display(.path))]
    MissingAdditionalProperties {
        /// The object.
        path: String,
    },

    /// An object with `"additionalProperties": true`.
    #[error(
        "{}: \"additionalProperties\" must be false in strict mode, found true; declare every property (a free-form object needs `strict(false)`)", display(.path)
    )]
    AdditionalPropertiesTrue {
        /// The object.
        path: String,
    },

    /// An object whose `additionalProperties` is a schema: a map with free-form keys.
    #[error(
        "{}: a map (\"additionalProperties\" with a schema) cannot be expressed in strict mode; pass it as an array of {{\"key\", \"value\"}} entries, or register the tool with `strict(false)`", display(.path)
    )]
    MapNotSupported {
        /// The object.
        path: String,
    },

    /// A map that also declares fixed properties (for example `#[serde(flatten)]` of a map).
    #[error(
        "{}: object has both fixed \"properties\" and free-form keys (a flattened map?); strict mode cannot express that: move the map into its own property, or register the tool with `strict(false)`", display(.path)
    )]
    MapWithFixedProperties {
        /// The object.
        path: String,
    },

    /// An object that allows extra keys without declaring properties.
    #[error(
        "{}: free-form object (no \"properties\") is not supported in strict mode; declare its properties, or register the tool with `strict(false)`", display(.path)
    )]
    FreeFormObject {
        /// The object.
        path: String,
    },

    /// A property missing from `required`.
    #[error(
        "{}: property \"{property}\" is not listed in \"required\"; make it required and nullable (for example \"type\": [\"string\", \"null\"])", display(.path)
    )]
    NotRequired {
        /// The object.
        path: String,
        /// The property.
        property: String,
    },

    /// A `required` entry that names no property.
    #[error("{}: \"required\" lists \"{property}\", which is not in \"properties\"", display(.path))]
    UnknownRequired {
        /// The object.
        path: String,
        /// The name.
        property: String,
    },

    /// A keyword strict mode does not support.
    #[error("{}: keyword \"{keyword}\" is not supported in strict mode; {}", display(.path), rules::unsupported_keyword_hint(.keyword))]
    UnsupportedKeyword {
        /// The node.
        path: String,
        /// The keyword.
        keyword: String,
    },

    /// A `format` strict mode does not support.
    #[error(
        "{}: format \"{format}\" is not supported in strict mode; remove it or use one of {}", display(.path), rules::SUPPORTED_FORMATS.join(", ")
    )]
    UnsupportedFormat {
        /// The node.
        path: String,
        /// The format.
        format: String,
    },

    /// A keyword whose value has the wrong JSON type.
    #[error("{}: \"{keyword}\" must be {expected}", display(.path))]
    InvalidKeywordValue {
        /// The node.
        path: String,
        /// The keyword.
        keyword: String,
        /// What the value must be.
        expected: &'static str,
    },

    /// An array schema without `items`.
    #[error("{}: array has no \"items\" schema; strict mode needs the item type", display(.path))]
    ArrayWithoutItems {
        /// The array.
        path: String,
    },

    /// A `$ref` that points nowhere in this schema.
    #[error(
        "{}: \"$ref\": \"{reference}\" cannot be resolved; point it at the root (\"#\") or at an entry of the root \"$defs\"", display(.path)
    )]
    UnresolvableRef {
        /// The node.
        path: String,
        /// The reference.
        reference: String,
    },

    /// A `$ref` with other keywords beside it.
    #[error(
        "{}: \"$ref\" cannot have sibling keywords ({}); move them into the referenced definition or inline it", display(.path), .keywords.join(", ")
    )]
    RefWithSiblings {
        /// The node.
        path: String,
        /// The sibling keywords.
        keywords: Vec<String>,
    },

    /// `$defs` or `definitions` below the root.
    #[error("{}: \"{keyword}\" is only supported at the root; move the definitions there", display(.path))]
    MisplacedDefinitions {
        /// The node.
        path: String,
        /// `$defs` or `definitions`.
        keyword: String,
    },

    /// More levels of object nesting than strict mode allows.
    #[error(
        "{}: objects are nested {depth} levels deep; strict mode allows at most {limit}", display(.path)
    )]
    TooDeep {
        /// The deepest object.
        path: String,
        /// Its nesting level.
        depth: usize,
        /// The limit.
        limit: usize,
    },

    /// More object properties than strict mode allows.
    #[error(
        "(root): the schema declares {count} object properties; strict mode allows at most {limit}"
    )]
    TooManyProperties {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },

    /// More enum values than strict mode allows.
    #[error("(root): the schema lists {count} enum values; strict mode allows at most {limit}")]
    TooManyEnumValues {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },

    /// A large enum whose values are too long together.
    #[error(
        "{}: this enum has more than {} values totalling {chars} characters; strict mode allows at most {limit}", display(.path), rules::LARGE_ENUM_VALUES
    )]
    LargeEnumTooLong {
        /// The enum.
        path: String,
        /// Characters of its string values.
        chars: usize,
        /// The limit.
        limit: usize,
    },

    /// Too many characters in names, enum and const values together.
    #[error(
        "(root): property names, definition names, enum and const values total {count} characters; strict mode allows at most {limit}"
    )]
    TooManyCharacters {
        /// How many.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl SchemaError {
    /// The JSON pointer of the offending node (`""` for the root).
    pub fn path(&self) -> &str {
        match self {
            Self::RootNotObject { .. }
            | Self::TooManyProperties { .. }
            | Self::TooManyEnumValues { .. }
            | Self::TooManyCharacters { .. } => "",
            Self::NotASchema { path, .. }
            | Self::BooleanSchema { path, .. }
            | Self::Untyped { path }
            | Self::UnknownType { path, .. }
            | Self::MissingAdditionalProperties { path }
            | Self::AdditionalPropertiesTrue { path }
            | Self::MapNotSupported { path }
            | Self::MapWithFixedProperties { path }
            | Self::FreeFormObject { path }
            | Self::NotRequired { path, .. }
            | Self::UnknownRequired { path, .. }
            | Self::UnsupportedKeyword { path, .. }
            | Self::UnsupportedFormat { path, .. }
            | Self::InvalidKeywordValue { path, .. }
            | Self::ArrayWithoutItems { path }
            | Self::UnresolvableRef { path, .. }
            | Self::RefWithSiblings { path, .. }
            | Self::MisplacedDefinitions { path, .. }
            | Self::TooDeep { path, .. }
            | Self::LargeEnumTooLong { path, .. } => path,
        }
    }
}
