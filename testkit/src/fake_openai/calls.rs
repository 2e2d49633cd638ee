//! Tool calls in a request's input: the shapes of call items and of the output items that
//! answer them, and the rule that pairs them across the whole context.
//!
//! Owns one table, [`PAIRINGS`]: each call type, the output types that answer it, and the
//! field that links an output to its call. Every call in the full context (stored context of
//! `previous_response_id`, then `input`) needs an output of one of its types with the same
//! link, and every output needs such a call; both are 400s with param `input`:
//!
//! | call item | answered by | linked by | required in the output (beyond the link) |
//! |---|---|---|---|
//! | `function_call` | `function_call_output` | `call_id` | `output` string or content array |
//! | `computer_call` | `computer_call_output` | `call_id` | `output` a `computer_screenshot` (`image_url`, `file_id` strings when present) |
//! | `local_shell_call` | `local_shell_call_output`, `function_call_output` | `call_id` | `id` string, `output` string |
//! | `shell_call` | `shell_call_output` | `call_id` | `output` array of `{stdout, stderr, outcome}` |
//! | `apply_patch_call` | `apply_patch_call_output` | `call_id` | `status` `completed` or `failed` (`output` string when present) |
//! | `custom_tool_call` | `custom_tool_call_output` | `call_id` | `output` string or content array |
//! | `mcp_approval_request` | `mcp_approval_response` | its `id`, the response's `approval_request_id` | `approve` boolean (`reason` string when present) |
//!
//! The messages are the real API's for function calls, with the item type spelled out for
//! the others: `No tool output found for <call type> <call_id>.` and
//! `No tool call found for <output type> with call_id <call_id>.` (underscores as spaces).
//!
//! A `local_shell_call_output` is linked by `call_id`, which the real API requires, and also
//! needs its own `id`; async-openai 0.43's `LocalShellToolCallOutput` has only `id`
//! (documented as the call's id), and the fake follows the real API. A local shell call may
//! also be answered by a `function_call_output`, as the Codex CLI answers it.
//!
//! Does not look anything up in the store: replayed call items are accepted by value, like
//! replayed messages.

use std::collections::HashSet;

use serde_json::Value;

use super::error::ApiError;

/// One call type, the output types that answer it, and the field that links the two.
#[derive(Debug)]
pub(crate) struct Pairing {
    /// The call item's `type`.
    pub call: &'static str,
    /// The `type`s of the output items that answer it, the proper one first.
    pub outputs: &'static [&'static str],
    /// The call's field that identifies it.
    pub link: &'static str,
    /// The output's field that names the call (`link`'s value).
    pub output_link: &'static str,
}

/// Every call type the fake pairs with its outputs.
pub(crate) const PAIRINGS: &[Pairing] = &[
    Pairing {
        call: "function_call",
        outputs: &["function_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "computer_call",
        outputs: &["computer_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "local_shell_call",
        outputs: &["local_shell_call_output", "function_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "shell_call",
        outputs: &["shell_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "apply_patch_call",
        outputs: &["apply_patch_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "custom_tool_call",
        outputs: &["custom_tool_call_output"],
        link: "call_id",
        output_link: "call_id",
    },
    Pairing {
        call: "mcp_approval_request",
        outputs: &["mcp_approval_response"],
        link: "id",
        output_link: "approval_request_id",
    },
];

/// Whether `kind` is a call or output item type of the table.
pub(crate) fn is_call_item(kind: &str) -> bool {
    PAIRINGS
        .iter()
        .any(|p| p.call == kind || p.outputs.contains(&kind))
}

/// Validates one call or output item (`kind` is one for which [`is_call_item`] holds).
pub(crate) fn validate_call_item(kind: &str, item: &Value, prefix: &str) -> Result<(), ApiError> {
    let at = Fields::new(item, prefix);
    match kind {
        "mcp_approval_request" => {
            at.string("id")?;
            at.string("server_label")?;
            at.string("name")?;
            at.string("arguments")?;
            return Ok(());
        }
        "mcp_approval_response" => {
            at.string("approval_request_id")?;
            match at.required("approve")? {
                Value::Bool(_) => {}
                other => {
                    return Err(ApiError::invalid_type(
                        &at.param("approve"),
                        "a boolean",
                        other,
                    ));
                }
            }
            at.optional_string("reason")?;
            return Ok(());
        }
        _ => {}
    }
    at.string("call_id")?;
    match kind {
        "function_call" => {
            at.string("name")?;
            at.string("arguments")?;
        }
        "function_call_output" => {
            at.string_or_array("output")?;
        }
        "computer_call" => {
            if item.get("actions").is_some_and(|a| !a.is_null()) {
                at.array("actions")?;
            } else {
                at.object("action")?;
            }
            at.array("pending_safety_checks")?;
        }
        "computer_call_output" => {
            let output = at.object("output")?;
            let output_at = at.nested("output", output);
            let kind = output_at.string("type")?;
            if kind != "computer_screenshot" {
                return Err(ApiError::invalid_value(
                    &output_at.param("type"),
                    kind,
                    &["computer_screenshot"],
                ));
            }
            output_at.optional_string("image_url")?;
            output_at.optional_string("file_id")?;
            if let Some(checks) = at.optional_array("acknowledged_safety_checks")? {
                for (i, check) in checks.iter().enumerate() {
                    let param = format!("acknowledged_safety_checks[{i}]");
                    if !check.is_object() {
                        return Err(ApiError::invalid_type(
                            &at.param(&param),
                            "an object",
                            check,
                        ));
                    }
                    at.nested(&param, check).string("id")?;
                }
            }
        }
        "local_shell_call" => {
            at.object("action")?;
        }
        "local_shell_call_output" => {
            at.string("id")?;
            at.string("output")?;
        }
        "shell_call" => {
            let action = at.object("action")?;
            let commands = at.nested("action", action).array("commands")?;
            for (i, command) in commands.iter().enumerate() {
                if !command.is_string() {
                    return Err(ApiError::invalid_type(
                        &at.param(&format!("action.commands[{i}]")),
                        "a string",
                        command,
                    ));
                }
            }
        }
        "shell_call_output" => {
            for (i, chunk) in at.array("output")?.iter().enumerate() {
                validate_shell_chunk(&at, i, chunk)?;
            }
            at.optional_integer("max_output_length")?;
        }
        "apply_patch_call" => {
            at.one_of("status", &["in_progress", "completed"])?;
            let operation = at.object("operation")?;
            let operation_at = at.nested("operation", operation);
            let kind =
                operation_at.one_of("type", &["create_file", "delete_file", "update_file"])?;
            operation_at.string("path")?;
            if kind != "delete_file" {
                operation_at.string("diff")?;
            }
        }
        "apply_patch_call_output" => {
            at.one_of("status", &["completed", "failed"])?;
            at.optional_string("output")?;
        }
        "custom_tool_call" => {
            at.string("name")?;
            at.string("input")?;
        }
        "custom_tool_call_output" => {
            if let Value::Array(parts) = at.string_or_array("output")? {
                for (i, part) in parts.iter().enumerate() {
                    validate_output_part(&at, i, part)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn validate_shell_chunk(at: &Fields<'_>, i: usize, chunk: &Value) -> Result<(), ApiError> {
    let param = format!("output[{i}]");
    if !chunk.is_object() {
        return Err(ApiError::invalid_type(
            &at.param(&param),
            "an object",
            chunk,
        ));
    }
    let chunk_at = at.nested(&param, chunk);
    chunk_at.string("stdout")?;
    chunk_at.string("stderr")?;
    let outcome = chunk_at.object("outcome")?;
    let outcome_at = chunk_at.nested("outcome", outcome);
    if outcome_at.one_of("type", &["exit", "timeout"])? == "exit" {
        outcome_at.integer("exit_code")?;
    }
    Ok(())
}

fn validate_output_part(at: &Fields<'_>, i: usize, part: &Value) -> Result<(), ApiError> {
    let param = format!("output[{i}]");
    if !part.is_object() {
        return Err(ApiError::invalid_type(&at.param(&param), "an object", part));
    }
    let part_at = at.nested(&param, part);
    if part_at.one_of("type", &["input_text", "input_image", "input_file"])? == "input_text" {
        part_at.string("text")?;
    }
    Ok(())
}

/// Checks that every call in `context` has an output and every output a call (see the
/// module table). The first unpaired item, calls before outputs, is the one reported.
pub(crate) fn check_pairing(context: &[Value]) -> Result<(), ApiError> {
    fn field<'v>(item: &'v Value, name: &str) -> &'v str {
        item.get(name).and_then(Value::as_str).unwrap_or_default()
    }
    // (call type, link) of every call, and (output type, link) of every output.
    let mut calls: Vec<(&Pairing, &str)> = Vec::new();
    let mut outputs: Vec<(&str, &str, &str)> = Vec::new();
    for item in context {
        let kind = field(item, "type");
        if let Some(pairing) = PAIRINGS.iter().find(|p| p.call == kind) {
            calls.push((pairing, field(item, pairing.link)));
        }
        // An output type answers one or more call types, all linked by the same field.
        if let Some(pairing) = PAIRINGS.iter().find(|p| p.outputs.contains(&kind)) {
            outputs.push((kind, pairing.output_link, field(item, pairing.output_link)));
        }
    }
    let called: HashSet<(&str, &str)> = calls.iter().map(|(p, id)| (p.call, *id)).collect();
    let answered: HashSet<(&str, &str)> = outputs.iter().map(|(k, _, id)| (*k, *id)).collect();

    for (pairing, id) in &calls {
        if !pairing
            .outputs
            .iter()
            .any(|o| answered.contains(&(*o, *id)))
        {
            return Err(ApiError::invalid_request(
                400,
                format!("No tool output found for {} {id}.", spelled(pairing.call)),
                Some("input"),
                None,
            ));
        }
    }
    for (kind, link, id) in &outputs {
        let has_call = PAIRINGS
            .iter()
            .filter(|p| p.outputs.contains(kind))
            .any(|p| called.contains(&(p.call, *id)));
        if !has_call {
            return Err(ApiError::invalid_request(
                400,
                format!("No tool call found for {} with {link} {id}.", spelled(kind)),
                Some("input"),
                None,
            ));
        }
    }
    Ok(())
}

/// `local_shell_call` -> `local shell call`.
fn spelled(kind: &str) -> String {
    kind.replace('_', " ")
}

/// Field accessors of one object, naming each field by its full parameter path.
struct Fields<'a> {
    item: &'a Value,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn new(item: &'a Value, prefix: &str) -> Self {
        Self {
            item,
            prefix: prefix.to_owned(),
        }
    }

    fn param(&self, field: &str) -> String {
        format!("{}.{field}", self.prefix)
    }

    /// The accessor of `value`, found at `field` of this object.
    fn nested(&self, field: &str, value: &'a Value) -> Fields<'a> {
        Fields {
            item: value,
            prefix: self.param(field),
        }
    }

    fn get(&self, field: &str) -> Option<&'a Value> {
        self.item.get(field).filter(|v| !v.is_null())
    }

    fn required(&self, field: &str) -> Result<&'a Value, ApiError> {
        self.get(field)
            .ok_or_else(|| ApiError::missing(&self.param(field)))
    }

    fn string(&self, field: &str) -> Result<&'a str, ApiError> {
        let value = self.required(field)?;
        value
            .as_str()
            .ok_or_else(|| ApiError::invalid_type(&self.param(field), "a string", value))
    }

    fn optional_string(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::invalid_type(
                &self.param(field),
                "a string",
                other,
            )),
        }
    }

    /// A required object field (returned as the value, to look into with [`Fields::nested`]).
    fn object(&self, field: &str) -> Result<&'a Value, ApiError> {
        let value = self.required(field)?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(ApiError::invalid_type(
                &self.param(field),
                "an object",
                value,
            ))
        }
    }

    fn array(&self, field: &str) -> Result<&'a Vec<Value>, ApiError> {
        let value = self.required(field)?;
        value
            .as_array()
            .ok_or_else(|| ApiError::invalid_type(&self.param(field), "an array", value))
    }

    fn optional_array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => Err(ApiError::invalid_type(
                &self.param(field),
                "an array",
                other,
            )),
        }
    }

    fn string_or_array(&self, field: &str) -> Result<&'a Value, ApiError> {
        let value = self.required(field)?;
        match value {
            Value::String(_) | Value::Array(_) => Ok(value),
            other => Err(ApiError::invalid_type(
                &self.param(field),
                "a string or an array",
                other,
            )),
        }
    }

    fn integer(&self, field: &str) -> Result<i64, ApiError> {
        let value = self.required(field)?;
        value
            .as_i64()
            .ok_or_else(|| ApiError::invalid_type(&self.param(field), "an integer", value))
    }

    fn optional_integer(&self, field: &str) -> Result<Option<i64>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiError::invalid_type(&self.param(field), "an integer", value)),
        }
    }

    /// A required string that must be one of `supported`.
    fn one_of(&self, field: &str, supported: &[&str]) -> Result<&'a str, ApiError> {
        let value = self.string(field)?;
        if supported.contains(&value) {
            Ok(value)
        } else {
            Err(ApiError::invalid_value(
                &self.param(field),
                value,
                supported,
            ))
        }
    }
}
