//! Validation: the parsed attribute and the classified parameters become a [`Tool`], or every
//! mistake becomes a compile error pointing at its token.
//!
//! Nothing here stops at the first problem: each check adds to one combined error, so a single
//! build shows all of them. This file owns the rules (required keys, allowed values, the
//! tool-name pattern, what a tool function may look like); the grammar is `attr.rs`'s, the
//! per-parameter classification `params.rs`'s, and the generated code `expand.rs`'s.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::{GenericParam, Ident, ItemFn, LitStr, Safety};

use crate::attr::ActionAttr;
use crate::params::{self, ContextParam, ModelParam, Output, Param, StateParam};
use crate::suggest::closest;

/// A tool function that passed every check: what `expand.rs` generates code from.
pub(crate) struct Tool {
    /// The function as written, minus the doc comments on its parameters.
    pub item: ItemFn,
    /// The generated tool type (`GrantAccess` for `grant_access`).
    pub type_ident: Ident,
    /// The tool name the model sees.
    pub name: String,
    /// The description the model sees.
    pub description: String,
    /// `Some` when `crate = "..."` overrides the runtime path.
    pub runtime: Option<syn::Path>,
    /// System, risk, environment and the optional overrides.
    pub metadata: Metadata,
    /// The parameters, in order.
    pub params: Vec<ToolParam>,
    /// How the return value becomes the output.
    pub output: Output,
}

/// A valid parameter.
pub(crate) enum ToolParam {
    /// Filled in by the model.
    Model(ModelParam),
    /// Injected from the tool context.
    State(StateParam),
    /// The call's context itself.
    Context(ContextParam),
}

/// The decision metadata, checked.
pub(crate) struct Metadata {
    pub system: String,
    /// `Low`, `Medium`, `High` or `Critical`: the `RiskLevel` variant.
    pub risk: Ident,
    pub environment: Option<String>,
    /// The parameter whose value is the environment, at call time.
    pub environment_arg: Option<String>,
    pub action_name: Option<String>,
    pub domain: Option<String>,
    pub actor: Option<String>,
    pub target: Option<String>,
    pub value: Option<String>,
    pub secret: Vec<String>,
    /// How long one call may run, in milliseconds.
    pub timeout_ms: Option<u64>,
}

const RISKS: [&str; 4] = ["low", "medium", "high", "critical"];

/// Collects errors; one compile shows all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn extend(&mut self, other: Errors) {
        if let Some(error) = other.0 {
            self.push(error);
        }
    }

    fn spanned(&mut self, tokens: &impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }
}

/// Checks everything and builds the [`Tool`], or returns every error found, parsing's
/// included. `attr` holds the keys that could be read (`None` when there were none at all).
pub(crate) fn validate(
    attr: Option<ActionAttr>,
    attr_errors: Option<darling::Error>,
    mut item: ItemFn,
) -> syn::Result<Tool> {
    // Attribute errors first, then the signature's: the order they appear in the source.
    let mut errors = Errors::default();
    let mut signature_errors = Errors::default();
    check_signature(&item, &mut signature_errors);

    let mut tool_params = Vec::new();
    let mut rejected = Vec::new();
    for arg in &item.sig.inputs {
        match params::classify(arg) {
            Param::Model(param) => tool_params.push(ToolParam::Model(param)),
            Param::State(param) => tool_params.push(ToolParam::State(param)),
            Param::Context(param) => tool_params.push(ToolParam::Context(param)),
            Param::Rejected(rejection) => {
                signature_errors.push(rejection.error);
                rejected.extend(rejection.ident.as_ref().map(json_name));
            }
        }
    }
    let names = ParamNames {
        params: &tool_params,
        rejected: &rejected,
    };

    if let Some(error) = attr_errors {
        errors.push(error.into());
    }
    let checked = attr.map(|attr| check_attr(attr, &item, &names, &mut errors));
    errors.extend(signature_errors);

    let (name, description, runtime, metadata) = match (errors.0, checked.flatten()) {
        (Some(error), _) => return Err(error),
        (None, Some(checked)) => checked,
        // Every check that yields no value records an error, so this is only reachable if
        // one forgets to: still a compile error, never a panic.
        (None, None) => {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[action] could not read this attribute",
            ));
        }
    };

    strip_param_docs(&mut item);
    let output = params::classify_output(&item.sig.output);
    Ok(Tool {
        type_ident: type_ident(&item.sig.ident),
        item,
        name,
        description,
        runtime,
        metadata,
        params: tool_params,
        output,
    })
}

/// The function-level rules: what kind of function can be a tool.
fn check_signature(item: &ItemFn, errors: &mut Errors) {
    let sig = &item.sig;
    if let Safety::Unsafe(unsafe_token) = &sig.safety {
        errors.spanned(
            unsafe_token,
            "a tool cannot be an `unsafe fn`: the model chooses its arguments, so nothing \
             upholds its safety contract; make it safe and keep the `unsafe` block inside",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(
            abi,
            "a tool cannot be an `extern` function: the runtime calls it as a Rust function; \
             remove the ABI",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(
            variadic,
            "a tool cannot be variadic: list each argument as a named, typed parameter",
        );
    }
    for param in &sig.generics.params {
        let message = match param {
            GenericParam::Type(_) => {
                "a tool cannot be generic: the model's arguments need one concrete type to \
                 deserialize into; write the type itself"
            }
            GenericParam::Lifetime(_) => {
                "a tool cannot have lifetime parameters: its arguments are owned values \
                 deserialized from JSON, and its output must live on its own"
            }
            GenericParam::Const(_) => {
                "a tool cannot have const generic parameters: the runtime needs one concrete \
                 function to call; write the value itself"
            }
        };
        errors.spanned(param, message);
    }
    if let Some(where_clause) = &sig.generics.where_clause
        && !where_clause.predicates.is_empty()
    {
        errors.spanned(
            where_clause,
            "a tool cannot have a `where` clause: it must be one concrete function",
        );
    }
}

type Checked = (String, String, Option<syn::Path>, Metadata);

/// The attribute's values, and their references to the parameters.
fn check_attr(
    attr: ActionAttr,
    item: &ItemFn,
    params: &ParamNames<'_>,
    errors: &mut Errors,
) -> Option<Checked> {
    let system = match attr.system.as_deref() {
        Some(system) => non_empty(system, "system", errors),
        None if attr.is_unread("system") => None,
        None => {
            errors.at(
                Span::call_site(),
                "missing `system`: name the system this tool touches, for example \
                 `#[action(system = \"okta\")]`",
            );
            None
        }
    };
    let risk = check_risk(attr.risk.as_deref(), errors);

    let name = match attr.name.as_deref() {
        Some(name) => check_name(&name.value(), name, errors, false),
        None => {
            let ident = item.sig.ident.to_string();
            let ident = ident.strip_prefix("r#").unwrap_or(&ident).to_owned();
            check_name(&ident, &item.sig.ident, errors, true)
        }
    };

    let description = match attr.description.as_deref() {
        Some(description) => non_empty(description, "description", errors),
        None => match doc_text(&item.attrs) {
            Some(text) => Some(text),
            None if attr.is_unread("description") => None,
            None => {
                errors.spanned(
                    &item.sig.ident,
                    "a tool needs a description for the model: add a doc comment \
                     (`/// What it does`) above the function, or `description = \"...\"`",
                );
                None
            }
        },
    };

    let runtime = attr
        .krate
        .as_deref()
        .and_then(|krate| match krate.parse::<syn::Path>() {
            Ok(path) => Some(path),
            Err(_) => {
                errors.spanned(
                    krate,
                    "`crate` must be a path to the bighub-openai crate, for example \
                 `crate = \"::bighub\"`",
                );
                None
            }
        });

    let optional = |value: Option<&LitStr>, key: &str, errors: &mut Errors| {
        value.map(|lit| non_empty(lit, key, errors))
    };
    let environment = optional(attr.environment.as_deref(), "environment", errors);
    let action_name = optional(attr.action_name.as_deref(), "action_name", errors);
    let domain = optional(attr.domain.as_deref(), "domain", errors);
    let actor = optional(attr.actor.as_deref(), "actor", errors);

    let environment_arg = attr
        .environment_arg
        .as_deref()
        .map(|lit| param_ref(lit, "environment_arg", params, errors));
    if let (Some(literal), Some(arg)) = (&attr.environment, &attr.environment_arg) {
        for lit in [literal, arg] {
            errors.spanned(
                &**lit,
                "`environment` and `environment_arg` cannot both be set: `environment` is the \
                 environment itself, `environment_arg` names the parameter that holds it; \
                 keep one",
            );
        }
    }

    let target = attr
        .target
        .as_deref()
        .map(|lit| param_ref(lit, "target", params, errors));
    let value = attr
        .value
        .as_deref()
        .map(|lit| param_ref(lit, "value", params, errors));
    let mut secret = Vec::new();
    for lit in attr.secret.iter().flat_map(|names| &names.0) {
        let name = param_ref(lit, "secret", params, errors);
        if let Some(name) = &name
            && secret.contains(name)
        {
            errors.spanned(lit, format!("`{name}` is already listed in `secret`"));
        }
        secret.extend(name);
    }

    // A secret named as the target, value or environment would travel as that field.
    for (key, named, lit) in [
        ("target", &target, attr.target.as_deref()),
        ("value", &value, attr.value.as_deref()),
        (
            "environment_arg",
            &environment_arg,
            attr.environment_arg.as_deref(),
        ),
    ] {
        if let (Some(Some(name)), Some(lit)) = (named, lit)
            && secret.contains(name)
        {
            errors.spanned(
                lit,
                format!(
                    "`{key}` names `{name}`, which is listed in `secret`: its value would be \
                     sent to the decision engine as the action's {}; name another parameter, \
                     or drop `{name}` from `secret`",
                    key.trim_end_matches("_arg")
                ),
            );
        }
    }

    let timeout_ms = attr
        .timeout
        .as_deref()
        .map(|lit| check_timeout(lit, errors));

    // A `None` inside any value below means its check recorded an error, and then the tool
    // is never built; `flatten` only drops information in that case.
    let metadata = Metadata {
        system: system?,
        risk: risk?,
        environment: environment.flatten(),
        environment_arg: environment_arg.flatten(),
        action_name: action_name.flatten(),
        domain: domain.flatten(),
        actor: actor.flatten(),
        target: target.flatten(),
        value: value.flatten(),
        secret,
        timeout_ms: timeout_ms.flatten(),
    };
    Some((name?, description?, runtime, metadata))
}

fn non_empty(lit: &LitStr, key: &str, errors: &mut Errors) -> Option<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        errors.spanned(lit, format!("`{key}` cannot be empty"));
        None
    } else {
        Some(value)
    }
}

/// A duration written as a whole number and a unit: `500ms`, `30s`, `5m`, `1h`; more than
/// zero and at most a day.
fn check_timeout(lit: &LitStr, errors: &mut Errors) -> Option<u64> {
    let value = lit.value();
    let text = value.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let scale = match unit.trim() {
        "ms" => Some(1),
        "s" => Some(1_000),
        "m" => Some(60_000),
        "h" => Some(3_600_000),
        _ => None,
    };
    let ms = match (number.parse::<u64>(), scale) {
        (Ok(n), Some(scale)) => n.checked_mul(scale),
        _ => None,
    };
    match ms {
        Some(ms) if ms > 0 && ms <= 86_400_000 => Some(ms),
        Some(_) => {
            errors.spanned(
                lit,
                format!("timeout `{value}` must be more than zero and at most a day (`24h`)"),
            );
            None
        }
        None => {
            errors.spanned(
                lit,
                format!(
                    "invalid timeout `{value}`: write a whole number and a unit, like \
                     `\"500ms\"`, `\"30s\"`, `\"5m\"` or `\"1h\"`"
                ),
            );
            None
        }
    }
}

fn check_risk(risk: Option<&LitStr>, errors: &mut Errors) -> Option<Ident> {
    let Some(lit) = risk else {
        return Some(Ident::new("Medium", Span::call_site()));
    };
    let value = lit.value();
    if RISKS.contains(&value.as_str()) {
        let variant = format!("{}{}", value[..1].to_uppercase(), &value[1..]);
        return Some(Ident::new(&variant, lit.span()));
    }
    let hint = match closest(&value, RISKS) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => String::new(),
    };
    errors.spanned(
        lit,
        format!(
            "unknown risk `{value}`: expected one of `low`, `medium`, `high`, `critical`{hint}"
        ),
    );
    None
}

/// Checks a tool name against `^[a-zA-Z0-9_-]{1,64}$`, the pattern OpenAI accepts.
fn check_name(
    name: &str,
    tokens: &impl ToTokens,
    errors: &mut Errors,
    from_fn: bool,
) -> Option<String> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let length = name.chars().count();
    if valid_chars && (1..=64).contains(&length) {
        return Some(name.to_owned());
    }
    let problem = if length == 0 {
        "it is empty".to_owned()
    } else if length > 64 {
        format!("it is {length} characters long, and at most 64 are allowed")
    } else {
        "only ASCII letters, digits, `_` and `-` are allowed".to_owned()
    };
    let fix = if from_fn {
        "; give the tool another name with `name = \"...\"`"
    } else {
        ""
    };
    errors.spanned(
        tokens,
        format!("invalid tool name `{name}`: {problem} (tool names must match `^[a-zA-Z0-9_-]{{1,64}}$`){fix}"),
    );
    None
}

/// The parameter names `environment_arg`, `target`, `value` and `secret` may refer to.
struct ParamNames<'a> {
    params: &'a [ToolParam],
    /// Names of parameters already reported as invalid.
    rejected: &'a [String],
}

/// Resolves a parameter named in `environment_arg`, `target`, `value` or `secret` to a model
/// argument.
fn param_ref(
    lit: &LitStr,
    key: &str,
    names: &ParamNames<'_>,
    errors: &mut Errors,
) -> Option<String> {
    let wanted = lit.value();
    let mut model_names = Vec::new();
    for param in names.params {
        match param {
            ToolParam::Model(model) => {
                let name = json_name(&model.ident);
                if name == wanted {
                    return Some(name);
                }
                model_names.push(name);
            }
            ToolParam::State(state) => {
                if state
                    .ident
                    .as_ref()
                    .is_some_and(|ident| json_name(ident) == wanted)
                {
                    errors.spanned(
                        lit,
                        format!(
                            "`{key}` names `{wanted}`, which is shared state injected by the \
                             runtime; `{key}` can only name an argument the model fills in"
                        ),
                    );
                    return None;
                }
            }
            ToolParam::Context(context) => {
                if context
                    .ident
                    .as_ref()
                    .is_some_and(|ident| json_name(ident) == wanted)
                {
                    errors.spanned(
                        lit,
                        format!(
                            "`{key}` names `{wanted}`, which is the call's context injected by \
                             the runtime; `{key}` can only name an argument the model fills in"
                        ),
                    );
                    return None;
                }
            }
        }
    }
    if names.rejected.contains(&wanted) {
        // The parameter itself is already reported; a second error here would only mislead.
        return None;
    }
    let message = match closest(&wanted, model_names.iter().map(String::as_str)) {
        Some(close) => format!(
            "`{key}` names `{wanted}`, which is not a parameter of this tool; did you mean `{close}`?"
        ),
        None if model_names.is_empty() => {
            format!("`{key}` names `{wanted}`, but this tool takes no arguments from the model")
        }
        None => format!(
            "`{key}` names `{wanted}`, which is not a parameter of this tool; its parameters are {}",
            model_names
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    errors.spanned(lit, message);
    None
}

/// The JSON property name of a parameter (`r#type` is `type`).
pub(crate) fn json_name(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
}

/// The function's doc comment, joined and trimmed; `None` when there is none.
fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| params::is_doc(attr))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(lit),
                    ..
                }) => Some(lit.value()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    // `/// text` arrives as ` text`: drop that one space, keep deeper indentation.
    let text = lines
        .iter()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Removes doc comments from the parameters: rustc rejects them there; they live on in the
/// generated argument struct.
fn strip_param_docs(item: &mut ItemFn) {
    for arg in &mut item.sig.inputs {
        if let syn::FnArg::Typed(typed) = arg {
            typed.attrs.retain(|attr| !params::is_doc(attr));
        }
    }
}

/// `GrantAccess` for `grant_access`.
fn type_ident(fn_ident: &Ident) -> Ident {
    let name = json_name(fn_ident);
    let pascal: String = name
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    // `fn __()` or `fn _1()` have no usable PascalCase of their own.
    let pascal = if pascal.starts_with(|c: char| c.is_alphabetic()) {
        pascal
    } else {
        format!("Tool{pascal}")
    };
    Ident::new(&pascal, fn_ident.span())
}

/// The function as written minus its parameters' doc comments, for re-emitting it beside
/// the errors when it is valid Rust on its own (so that uses of it do not fail as well).
pub(crate) fn fallback_fn(mut item: ItemFn) -> Option<TokenStream> {
    let valid_free_fn = item.sig.receiver().is_none() && item.sig.variadic.is_none();
    valid_free_fn.then(|| {
        strip_param_docs(&mut item);
        item.into_token_stream()
    })
}
