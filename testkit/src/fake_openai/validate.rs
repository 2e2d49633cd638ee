//! Validation of a `POST /v1/responses` body, with the real API's statuses, codes and
//! messages.
//!
//! Owns the rules: required `model`; `background: true` only with `store` true; `input` as a
//! string or an array of supported items (`message`, `reasoning`, `item_reference`, and the
//! call and output items of `calls`: `function_call`, `computer_call`, `local_shell_call`,
//! `shell_call`, `apply_patch_call`, `custom_tool_call` and their `*_output`s);
//! Responses-shaped function tools with unique names and strict-compliant schemas when
//! `strict: true`; `previous_response_id` naming a stored response; items replayed by id only
//! when stored (reasoning needs its `encrypted_content` otherwise); every call in the full
//! context paired with its output and vice versa (the table is in `calls`).
//! Does not produce replies (see `response`) and does not mutate the store.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::calls::{check_pairing, is_call_item, validate_call_item};
use super::error::ApiError;
use super::schema::check_strict;
use super::store::Store;

/// Item types accepted in `input`.
const ITEM_TYPES: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "computer_call",
    "computer_call_output",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "mcp_approval_request",
    "mcp_approval_response",
    "mcp_call",
    "mcp_list_tools",
    "reasoning",
    "item_reference",
];

/// Tool types accepted in `tools` (only `function` tools are checked in depth).
const TOOL_TYPES: &[&str] = &[
    "function",
    "custom",
    "web_search",
    "web_search_preview",
    "file_search",
    "code_interpreter",
    "image_generation",
    "mcp",
    "computer_use_preview",
    "local_shell",
    "shell",
    "apply_patch",
];

/// Values accepted in `include`.
const INCLUDE_VALUES: &[&str] = &[
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
    "message.input_image.image_url",
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
];

/// The include value that makes reasoning items carry their encrypted content.
pub(crate) const INCLUDE_ENCRYPTED_REASONING: &str = "reasoning.encrypted_content";

/// A request that passed validation, with its context resolved.
#[derive(Debug, Clone)]
pub(crate) struct Validated {
    pub model: String,
    pub stream: bool,
    pub store: bool,
    /// `background: true`: answered at once as `queued`, finished by later polls.
    pub background: bool,
    pub include: Vec<String>,
    pub previous_response_id: Option<String>,
    /// This request's input items, normalised (string input becomes a user message;
    /// item references are replaced by the stored items).
    pub input: Vec<Value>,
    /// Stored context of `previous_response_id` (if any) followed by `input`.
    pub context: Vec<Value>,
    /// The `tools` array as sent.
    pub tools: Vec<Value>,
}

/// Validates `body` against the rules and the store.
pub(crate) fn validate(body: &Value, store: &Store) -> Result<Validated, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::invalid_type("body", "an object", body));
    };

    let model = match obj.get("model") {
        None | Some(Value::Null) => return Err(ApiError::missing("model")),
        Some(Value::String(m)) => m.clone(),
        Some(other) => return Err(ApiError::invalid_type("model", "a string", other)),
    };
    let stream = optional_bool(obj.get("stream"), "stream")?.unwrap_or(false);
    // The real API stores responses unless told otherwise.
    let store_flag = optional_bool(obj.get("store"), "store")?.unwrap_or(true);
    let background = optional_bool(obj.get("background"), "background")?.unwrap_or(false);
    if background && !store_flag {
        // A background response lives on the server until it is polled: it must be stored.
        return Err(ApiError::invalid_request(
            400,
            "Background mode requires `store` to be true.",
            Some("background"),
            None,
        ));
    }

    let include = validate_include(obj.get("include"))?;
    if include.iter().any(|i| i == INCLUDE_ENCRYPTED_REASONING) && !is_reasoning_model(&model) {
        // The real API refuses encrypted reasoning for models that do not reason.
        return Err(ApiError::invalid_request(
            400,
            "Encrypted content is not supported with this model.",
            Some("include"),
            None,
        ));
    }
    let tools = validate_tools(obj.get("tools"))?;
    validate_tool_choice(obj.get("tool_choice"), &tools)?;

    let previous_response_id = match obj.get("previous_response_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(other) => {
            return Err(ApiError::invalid_type(
                "previous_response_id",
                "a string",
                other,
            ));
        }
    };

    let raw_items: Vec<Value> = match obj.get("input") {
        None | Some(Value::Null) if previous_response_id.is_some() => Vec::new(),
        None | Some(Value::Null) => return Err(ApiError::missing("input")),
        Some(Value::String(text)) => vec![json!({
            "type": "message",
            "role": "user",
            "content": text,
        })],
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(ApiError::invalid_type(
                "input",
                "a string or an array",
                other,
            ));
        }
    };

    let previous_context = match &previous_response_id {
        None => Vec::new(),
        Some(id) => match store.response(id) {
            Some(stored) => stored.context.clone(),
            None => {
                return Err(ApiError::invalid_request(
                    400,
                    format!("Previous response with id '{id}' not found."),
                    Some("previous_response_id"),
                    Some("previous_response_not_found"),
                ));
            }
        },
    };

    let mut input = Vec::with_capacity(raw_items.len());
    for (index, item) in raw_items.iter().enumerate() {
        input.push(validate_item(index, item, store, store_flag)?);
    }

    let mut context = previous_context;
    context.extend(input.iter().cloned());
    check_pairing(&context)?;

    Ok(Validated {
        model,
        stream,
        store: store_flag,
        background,
        include,
        previous_response_id,
        input,
        context,
        tools,
    })
}

fn optional_bool(value: Option<&Value>, param: &str) -> Result<Option<bool>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::invalid_type(param, "a boolean", other)),
    }
}

fn required_string<'a>(item: &'a Value, field: &str, prefix: &str) -> Result<&'a str, ApiError> {
    let param = format!("{prefix}.{field}");
    match item.get(field) {
        None | Some(Value::Null) => Err(ApiError::missing(&param)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(ApiError::invalid_type(&param, "a string", other)),
    }
}

/// Whether `model` reasons, as the real API sees it: the GPT-4o / GPT-4.1 families, GPT-3.5
/// and the `*-chat-latest` aliases do not; everything else (o-series, gpt-5, test names)
/// is treated as a reasoning model.
pub(crate) fn is_reasoning_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    !(m.starts_with("gpt-4o")
        || m.starts_with("gpt-4.1")
        || m.starts_with("gpt-4-")
        || m == "gpt-4"
        || m.starts_with("gpt-3.5")
        || m.ends_with("-chat-latest"))
}

fn validate_include(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let values = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(values)) => values,
        Some(other) => return Err(ApiError::invalid_type("include", "an array", other)),
    };
    let mut include = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let param = format!("include[{i}]");
        let Some(s) = v.as_str() else {
            return Err(ApiError::invalid_type(&param, "a string", v));
        };
        if !INCLUDE_VALUES.contains(&s) {
            return Err(ApiError::invalid_value(&param, s, INCLUDE_VALUES));
        }
        include.push(s.to_owned());
    }
    Ok(include)
}

fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn validate_tools(value: Option<&Value>) -> Result<Vec<Value>, ApiError> {
    let tools = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(tools)) => tools,
        Some(other) => return Err(ApiError::invalid_type("tools", "an array", other)),
    };
    let mut names = HashSet::new();
    for (i, tool) in tools.iter().enumerate() {
        let prefix = format!("tools[{i}]");
        if !tool.is_object() {
            return Err(ApiError::invalid_type(&prefix, "an object", tool));
        }
        let kind = required_string(tool, "type", &prefix)?;
        if !TOOL_TYPES.contains(&kind) {
            return Err(ApiError::invalid_value(
                &format!("{prefix}.type"),
                kind,
                TOOL_TYPES,
            ));
        }
        if kind == "mcp" {
            validate_mcp_tool(tool, &prefix)?;
            continue;
        }
        if kind != "function" {
            continue;
        }
        // The Chat Completions shape nests everything under "function" and has no top-level
        // name: the real API reports exactly that missing name.
        let name = required_string(tool, "name", &prefix)?;
        if !valid_function_name(name) {
            return Err(ApiError::invalid_request(
                400,
                format!(
                    "Invalid '{prefix}.name': string does not match pattern. Expected a string \
                     that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'."
                ),
                Some(&format!("{prefix}.name")),
                Some("invalid_value"),
            ));
        }
        if !names.insert(name.to_owned()) {
            return Err(ApiError::invalid_request(
                400,
                format!("Duplicate tool name: '{name}'. Tool names must be unique."),
                Some("tools"),
                Some("duplicate_tool_name"),
            ));
        }
        if let Some(description) = tool.get("description")
            && !description.is_null()
            && !description.is_string()
        {
            return Err(ApiError::invalid_type(
                &format!("{prefix}.description"),
                "a string",
                description,
            ));
        }
        let parameters = match tool.get("parameters") {
            None | Some(Value::Null) => None,
            Some(p @ Value::Object(_)) => Some(p),
            Some(other) => {
                return Err(ApiError::invalid_type(
                    &format!("{prefix}.parameters"),
                    "an object",
                    other,
                ));
            }
        };
        let strict = optional_bool(tool.get("strict"), &format!("{prefix}.strict"))?;
        if strict == Some(true)
            && let Some(parameters) = parameters
            && let Err(reason) = check_strict(parameters)
        {
            return Err(ApiError::invalid_request(
                400,
                format!("Invalid schema for function '{name}': {reason}"),
                Some(&format!("{prefix}.parameters")),
                Some("invalid_function_parameters"),
            ));
        }
    }
    Ok(tools.clone())
}

/// An `mcp` tool: `server_label`, and `server_url` or `connector_id`; `headers` an object
/// of strings; `allowed_tools` a list of names or `{tool_names}`; `require_approval`
/// `always`, `never` or `{always?, never?}` filters of `{tool_names}`.
fn validate_mcp_tool(tool: &Value, prefix: &str) -> Result<(), ApiError> {
    required_string(tool, "server_label", prefix)?;
    let has = |k: &str| tool.get(k).is_some_and(|v| !v.is_null());
    if !has("server_url") && !has("connector_id") {
        return Err(ApiError::missing(&format!("{prefix}.server_url")));
    }
    for key in [
        "server_url",
        "connector_id",
        "server_description",
        "authorization",
    ] {
        if let Some(value) = tool.get(key).filter(|v| !v.is_null())
            && !value.is_string()
        {
            return Err(ApiError::invalid_type(
                &format!("{prefix}.{key}"),
                "a string",
                value,
            ));
        }
    }
    if let Some(headers) = tool.get("headers").filter(|v| !v.is_null()) {
        let param = format!("{prefix}.headers");
        let Some(map) = headers.as_object() else {
            return Err(ApiError::invalid_type(&param, "an object", headers));
        };
        if let Some((name, value)) = map.iter().find(|(_, v)| !v.is_string()) {
            return Err(ApiError::invalid_type(
                &format!("{param}.{name}"),
                "a string",
                value,
            ));
        }
    }
    let names = |value: &Value, param: &str| -> Result<(), ApiError> {
        let list = match value {
            Value::Array(_) => value,
            Value::Object(map) => map.get("tool_names").unwrap_or(&Value::Null),
            other => {
                return Err(ApiError::invalid_type(
                    param,
                    "an array or an object",
                    other,
                ));
            }
        };
        match list {
            Value::Null => Ok(()),
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
            other => Err(ApiError::invalid_type(
                &format!("{param}.tool_names"),
                "an array of strings",
                other,
            )),
        }
    };
    if let Some(allowed) = tool.get("allowed_tools").filter(|v| !v.is_null()) {
        names(allowed, &format!("{prefix}.allowed_tools"))?;
    }
    let param = format!("{prefix}.require_approval");
    match tool.get("require_approval") {
        None | Some(Value::Null) => {}
        Some(Value::String(setting)) => {
            if setting != "always" && setting != "never" {
                return Err(ApiError::invalid_value(
                    &param,
                    setting,
                    &["always", "never"],
                ));
            }
        }
        Some(Value::Object(filter)) => {
            for (key, value) in filter {
                if key != "always" && key != "never" {
                    return Err(ApiError::invalid_value(
                        &format!("{param}.{key}"),
                        key,
                        &["always", "never"],
                    ));
                }
                if !value.is_object() {
                    return Err(ApiError::invalid_type(
                        &format!("{param}.{key}"),
                        "an object",
                        value,
                    ));
                }
                names(value, &format!("{param}.{key}"))?;
            }
        }
        Some(other) => {
            return Err(ApiError::invalid_type(
                &param,
                "a string or an object",
                other,
            ));
        }
    }
    Ok(())
}

/// A replayed `mcp_call` or `mcp_list_tools` item.
fn validate_mcp_item(kind: &str, item: &Value, prefix: &str) -> Result<(), ApiError> {
    required_string(item, "id", prefix)?;
    required_string(item, "server_label", prefix)?;
    if kind == "mcp_call" {
        required_string(item, "name", prefix)?;
        required_string(item, "arguments", prefix)?;
    } else if !item.get("tools").is_some_and(Value::is_array) {
        return Err(ApiError::missing(&format!("{prefix}.tools")));
    }
    Ok(())
}

fn validate_tool_choice(value: Option<&Value>, tools: &[Value]) -> Result<(), ApiError> {
    match value {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) => match s.as_str() {
            "none" | "auto" | "required" => Ok(()),
            other => Err(ApiError::invalid_value(
                "tool_choice",
                other,
                &["none", "auto", "required"],
            )),
        },
        Some(Value::Object(choice)) => {
            if choice.get("type").and_then(Value::as_str) != Some("function") {
                return Ok(());
            }
            let name = choice.get("name").and_then(Value::as_str).unwrap_or("");
            let declared = tools.iter().any(|t| {
                t.get("type").and_then(Value::as_str) == Some("function")
                    && t.get("name").and_then(Value::as_str) == Some(name)
            });
            if declared {
                Ok(())
            } else {
                Err(ApiError::invalid_request(
                    400,
                    format!("Tool choice '{name}' not found in 'tools' parameter."),
                    Some("tool_choice"),
                    None,
                ))
            }
        }
        Some(other) => Err(ApiError::invalid_type(
            "tool_choice",
            "a string or an object",
            other,
        )),
    }
}

fn validate_item(
    index: usize,
    item: &Value,
    store: &Store,
    store_flag: bool,
) -> Result<Value, ApiError> {
    let prefix = format!("input[{index}]");
    if !item.is_object() {
        return Err(ApiError::invalid_type(&prefix, "an object", item));
    }
    let kind = match item.get("type") {
        Some(Value::String(t)) => t.as_str(),
        None | Some(Value::Null) if item.get("role").is_some() => "message",
        // `{"id": "..."}` alone is the short form of an item reference.
        None | Some(Value::Null) if item.get("id").is_some() => "item_reference",
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("{prefix}.type"))),
        Some(other) => {
            return Err(ApiError::invalid_type(
                &format!("{prefix}.type"),
                "a string",
                other,
            ));
        }
    };
    match kind {
        "message" => validate_message(item, &prefix),
        kind if is_call_item(kind) => {
            validate_call_item(kind, item, &prefix)?;
            Ok(item.clone())
        }
        "mcp_call" | "mcp_list_tools" => {
            validate_mcp_item(kind, item, &prefix)?;
            Ok(item.clone())
        }
        "reasoning" => validate_reasoning(item, &prefix, store, store_flag),
        "item_reference" => {
            let id = required_string(item, "id", &prefix)?;
            match store.item(id) {
                Some(stored) => Ok(stored.clone()),
                None => Err(ApiError::item_not_found(id, "input", store_flag)),
            }
        }
        other => Err(ApiError::invalid_value(
            &format!("{prefix}.type"),
            other,
            ITEM_TYPES,
        )),
    }
}

fn validate_message(item: &Value, prefix: &str) -> Result<Value, ApiError> {
    let role = required_string(item, "role", prefix)?;
    let part_types: &[&str] = match role {
        "user" | "system" | "developer" => &["input_text", "input_image", "input_file"],
        "assistant" => &["output_text", "refusal"],
        other => {
            return Err(ApiError::invalid_value(
                &format!("{prefix}.role"),
                other,
                &["user", "assistant", "system", "developer"],
            ));
        }
    };
    match item.get("content") {
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("{prefix}.content"))),
        Some(Value::String(_)) => {}
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                let part_prefix = format!("{prefix}.content[{j}]");
                let kind = required_string(part, "type", &part_prefix)?;
                if !part_types.contains(&kind) {
                    return Err(ApiError::invalid_value(
                        &format!("{part_prefix}.type"),
                        kind,
                        part_types,
                    ));
                }
                match kind {
                    "input_text" | "output_text" => {
                        required_string(part, "text", &part_prefix)?;
                    }
                    "refusal" => {
                        required_string(part, "refusal", &part_prefix)?;
                    }
                    _ => {}
                }
            }
        }
        Some(other) => {
            return Err(ApiError::invalid_type(
                &format!("{prefix}.content"),
                "a string or an array",
                other,
            ));
        }
    }
    // Ids of replayed messages are accepted and not looked up: the client owns its history.
    let mut normalised = item.clone();
    normalised["type"] = json!("message");
    Ok(normalised)
}

fn validate_reasoning(
    item: &Value,
    prefix: &str,
    store: &Store,
    store_flag: bool,
) -> Result<Value, ApiError> {
    match item.get("summary") {
        Some(Value::Array(_)) => {}
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("{prefix}.summary"))),
        Some(other) => {
            return Err(ApiError::invalid_type(
                &format!("{prefix}.summary"),
                "an array",
                other,
            ));
        }
    }
    let id = item.get("id").and_then(Value::as_str);
    match item.get("encrypted_content") {
        Some(Value::String(blob)) => {
            if store.issued_encrypted(blob) {
                Ok(item.clone())
            } else {
                Err(ApiError::invalid_request(
                    400,
                    format!(
                        "The encrypted content for item {} could not be verified.",
                        id.unwrap_or("(no id)")
                    ),
                    Some(&format!("{prefix}.encrypted_content")),
                    Some("invalid_encrypted_content"),
                ))
            }
        }
        None | Some(Value::Null) => match id {
            // Without the blob the server must look the item up by id: only stored items exist.
            Some(id) if store.item(id).is_some() => Ok(item.clone()),
            Some(id) => Err(ApiError::item_not_found(id, "input", store_flag)),
            None => Err(ApiError::missing(&format!("{prefix}.encrypted_content"))),
        },
        Some(other) => Err(ApiError::invalid_type(
            &format!("{prefix}.encrypted_content"),
            "a string",
            other,
        )),
    }
}
