//! How a tool's JSON arguments become typed parameters, and what it returns becomes its
//! JSON output: shared by closures ([`FnTool`](super::FnTool)) and the code `#[action]`
//! generates. Argument errors name the field and the expected type, never the value.

use std::fmt::Display;
use std::future::Future;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::json_kind;
use crate::ToolError;

/// Deserializes the model's arguments, naming the offending field on failure.
///
/// Arguments are named: only an object is accepted (serde would also read a struct from an
/// array, by position). `null` reads as `{}`: a model calling a tool without parameters may
/// send either.
pub fn parse_arguments<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolError> {
    let arguments = match arguments {
        Value::Null => Value::Object(serde_json::Map::new()),
        Value::Object(object) => Value::Object(object),
        other => {
            let kind = json_kind(&other);
            return Err(ToolError::invalid_arguments(
                None,
                format!("expected an object of named arguments, got {kind}"),
            ));
        }
    };
    serde_path_to_error::deserialize(&arguments).map_err(|error| {
        let at = error
            .path()
            .iter()
            .try_fold(&arguments, |value, segment| match segment {
                serde_path_to_error::Segment::Seq { index } => value.get(index),
                serde_path_to_error::Segment::Map { key } => value.get(key),
                _ => None,
            });
        let path = error.path().to_string();
        let field = (path != ".").then_some(path);
        ToolError::invalid_arguments(field, without_value(&error.into_inner().to_string(), at))
    })
}

/// serde's message without the offending value: "invalid type: string \"hunter2\", expected
/// u32" names the value, which may be a secret. What was expected and the JSON type that
/// came are enough for the model to correct its call. Messages that name only fields (a
/// missing, unknown or repeated one) are kept.
fn without_value(message: &str, actual: Option<&Value>) -> String {
    let names_only_fields = ["missing field ", "unknown field ", "duplicate field "];
    if names_only_fields.iter().any(|p| message.starts_with(p)) {
        return message.to_owned();
    }
    let got = match actual {
        Some(value) => format!(", got {}", json_kind(value)),
        None => String::new(),
    };
    match message.rsplit_once(", expected ") {
        Some((_, expected)) => format!("expected {expected}{got}"),
        None => format!("the value does not fit this parameter{got}"),
    }
}

/// The JSON schema of `T`, as schemars generates it, without the root `title`: that is the
/// name of the generated argument struct, which means nothing to the model.
pub fn schema_for<T: schemars::JsonSchema>() -> Value {
    let mut schema = schemars::SchemaGenerator::default()
        .into_root_schema_for::<T>()
        .to_value();
    if let Value::Object(root) = &mut schema {
        root.remove("title");
    }
    schema
}

/// The output of a tool that returns a plain `Serialize` value.
pub(crate) fn value_output<T: Serialize>(value: T) -> Result<Value, ToolError> {
    serde_json::to_value(value).map_err(|error| {
        ToolError::new(format!(
            "the tool's output could not be serialized: {error}"
        ))
    })
}

/// The output of a tool that returns `Result<T, E>`; an `Err` becomes a tool error.
pub(crate) fn result_output<T: Serialize, E: Display>(
    result: Result<T, E>,
) -> Result<Value, ToolError> {
    match result {
        Ok(value) => value_output(value),
        Err(error) => Err(ToolError::new(error.to_string())),
    }
}

/// Boxes a tool's future.
pub fn boxed<F>(future: F) -> BoxFuture<'static, Result<Value, ToolError>>
where
    F: Future<Output = Result<Value, ToolError>> + Send + 'static,
{
    Box::pin(future)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Args {
        port: u16,
        mode: Mode,
        nested: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        token: u32,
    }

    #[test]
    fn argument_errors_name_the_field_and_the_expected_type_never_the_value() {
        let cases = [
            (
                json!({"port": "hunter2-secret", "mode": "fast", "nested": []}),
                "port",
            ),
            (
                json!({"port": 1, "mode": "hunter2-secret", "nested": []}),
                "mode",
            ),
            (
                json!({"port": 1, "mode": "fast", "nested": [{"token": "hunter2-secret"}]}),
                "nested[0].token",
            ),
            (json!({"port": 70000, "mode": "fast", "nested": []}), "port"),
        ];
        for (arguments, field) in cases {
            let error = parse_arguments::<Args>(arguments).unwrap_err();
            assert_eq!(error.field(), Some(field));
            let text = error.to_string();
            assert!(
                !text.contains("hunter2") && !text.contains("70000"),
                "{text}"
            );
            assert!(text.contains("expected"), "{text}");
        }
        let wrong_type =
            parse_arguments::<Args>(json!({"port": "x", "mode": "fast", "nested": []}));
        assert_eq!(
            wrong_type.unwrap_err().message(),
            "expected u16, got a string"
        );
        let missing = parse_arguments::<Args>(json!({"mode": "fast", "nested": []})).unwrap_err();
        assert_eq!(missing.message(), "missing field `port`");
    }
}
