//! Parsing of the attribute's arguments: `#[action(system = "okta", risk = "high", ...)]`.
//!
//! This file owns the grammar only: which keys exist and what literal each takes. It reads
//! every key it can and collects an error for each one it cannot (an unknown or repeated key,
//! a value of the wrong kind), so that `validate.rs` still checks the keys that were read and
//! one build shows every mistake. darling's derive would return nothing at all after the
//! first such error, so the keys are matched here, each value read with darling's `FromMeta`.
//! Whether a value makes sense (a known risk, a valid tool name, a parameter that exists) is
//! `validate.rs`'s job.

use darling::FromMeta;
use darling::ast::NestedMeta;
use darling::util::path_to_string;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit, LitStr, Meta};

use crate::suggest::closest;

/// Every key, in the order the documentation lists them.
pub(crate) const KEYS: [&str; 14] = [
    "system",
    "risk",
    "environment",
    "environment_arg",
    "name",
    "description",
    "action_name",
    "domain",
    "actor",
    "target",
    "value",
    "secret",
    "timeout",
    "crate",
];

/// The attribute's arguments as written, every value still carrying its span.
#[derive(Debug, Default)]
pub(crate) struct ActionAttr {
    /// The system the tool touches; required (checked in `validate.rs`, for a clearer message).
    pub system: Option<Str>,
    /// `low`, `medium`, `high` or `critical`.
    pub risk: Option<Str>,
    /// The environment the tool touches, as a fixed value.
    pub environment: Option<Str>,
    /// The parameter whose value is the environment the call touches.
    pub environment_arg: Option<Str>,
    /// The tool name the model sees, instead of the function's name.
    pub name: Option<Str>,
    /// The description the model sees, instead of the function's doc comment.
    pub description: Option<Str>,
    /// The action name sent to the decision engine.
    pub action_name: Option<Str>,
    /// The decision domain.
    pub domain: Option<Str>,
    /// The actor.
    pub actor: Option<Str>,
    /// The parameter whose value is the action's target.
    pub target: Option<Str>,
    /// The parameter whose numeric value is the action's value.
    pub value: Option<Str>,
    /// The parameters whose values are secret.
    pub secret: Option<ParamNames>,
    /// How long one call may run, like `"30s"`.
    pub timeout: Option<Str>,
    /// The path of the runtime crate, for re-exports the macro cannot find by itself.
    pub krate: Option<Str>,
    /// Keys that were written but could not be read (a value of the wrong kind, or a
    /// misspelling of the key). Their error is already reported, so checks that a key is
    /// present skip these: `sytem = "okta"` is not also a missing `system`.
    pub unread: Vec<String>,
}

impl ActionAttr {
    /// Whether `key` was written but could not be read.
    pub(crate) fn is_unread(&self, key: &str) -> bool {
        self.unread.iter().any(|unread| unread == key)
    }
}

/// A string literal value. Its own type so that a value written without quotes gets a message
/// that shows the quoted form, not darling's generic "unexpected type".
#[derive(Debug)]
pub(crate) struct Str(pub LitStr);

impl std::ops::Deref for Str {
    type Target = LitStr;
    fn deref(&self) -> &LitStr {
        &self.0
    }
}

impl FromMeta for Str {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => Ok(Str(lit.clone())),
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => {
                let written = other.to_token_stream().to_string().replace(' ', "");
                Err(darling::Error::custom(format!(
                    "expected a string in double quotes: `\"{}\"`",
                    written.trim_matches('"')
                ))
                .with_span(other))
            }
        }
    }
}

/// A list of parameter names: `secret = ["token", "password"]`, or one name `secret = "token"`.
#[derive(Debug, Default)]
pub(crate) struct ParamNames(pub Vec<LitStr>);

impl FromMeta for ParamNames {
    fn from_expr(expr: &Expr) -> darling::Result<Self> {
        match expr {
            Expr::Array(array) => {
                let mut errors = darling::Error::accumulator();
                let names = array
                    .elems
                    .iter()
                    .filter_map(|elem| errors.handle(string_literal(elem)))
                    .collect();
                errors.finish_with(ParamNames(names))
            }
            Expr::Group(group) => Self::from_expr(&group.expr),
            other => string_literal(other).map(|name| ParamNames(vec![name])),
        }
    }
}

fn string_literal(expr: &Expr) -> darling::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        Expr::Group(group) => string_literal(&group.expr),
        other => Err(darling::Error::custom(
            "expected a parameter name as a string literal, like \"token\"",
        )
        .with_span(other)),
    }
}

/// Parses the tokens between the attribute's parentheses: the keys that could be read, and
/// every error. The attribute is `None` only when the tokens are not a list of keys at all.
pub(crate) fn parse(tokens: TokenStream) -> (Option<ActionAttr>, Option<darling::Error>) {
    let items = match NestedMeta::parse_meta_list(tokens) {
        Ok(items) => items,
        Err(error) => return (None, Some(error.into())),
    };
    let mut attr = ActionAttr::default();
    let mut reader = Reader::default();
    for item in &items {
        let path = match item {
            NestedMeta::Meta(meta) => meta.path(),
            NestedMeta::NameValueInvalidExpr(meta) => &meta.path,
            NestedMeta::Lit(lit) => {
                reader.errors.push(
                    darling::Error::custom(
                        "expected a key and its value, like `system = \"okta\"`",
                    )
                    .with_span(lit),
                );
                continue;
            }
        };
        let key = path_to_string(path);
        match key.as_str() {
            "system" => reader.read(&key, item, &mut attr.system),
            "risk" => reader.read(&key, item, &mut attr.risk),
            "environment" => reader.read(&key, item, &mut attr.environment),
            "environment_arg" => reader.read(&key, item, &mut attr.environment_arg),
            "name" => reader.read(&key, item, &mut attr.name),
            "description" => reader.read(&key, item, &mut attr.description),
            "action_name" => reader.read(&key, item, &mut attr.action_name),
            "domain" => reader.read(&key, item, &mut attr.domain),
            "actor" => reader.read(&key, item, &mut attr.actor),
            "target" => reader.read(&key, item, &mut attr.target),
            "value" => reader.read(&key, item, &mut attr.value),
            "secret" => reader.read(&key, item, &mut attr.secret),
            "timeout" => reader.read(&key, item, &mut attr.timeout),
            "crate" => reader.read(&key, item, &mut attr.krate),
            _ => reader.unknown(&key, path),
        }
    }
    attr.unread = reader.unread;
    (Some(attr), reader.errors.finish().err())
}

/// The state of one pass over the keys.
#[derive(Default)]
struct Reader {
    errors: darling::error::Accumulator,
    /// Known keys met so far, read or not, to report a repeated one.
    seen: Vec<String>,
    unread: Vec<String>,
}

impl Reader {
    fn read<T: FromMeta>(&mut self, key: &str, item: &NestedMeta, slot: &mut Option<T>) {
        if self.seen.iter().any(|seen| seen == key) {
            // The first one stays, and is still checked.
            self.errors.push(
                darling::Error::custom(format!(
                    "duplicate key `{key}`: each key can be given once"
                ))
                .with_span(item),
            );
            return;
        }
        self.seen.push(key.to_owned());
        let value = match item {
            NestedMeta::Meta(Meta::Path(_) | Meta::List(_)) => Err(darling::Error::custom(
                format!("`{key}` needs a value: `{key} = \"...\"`"),
            )
            .with_span(item)),
            _ => T::from_nested_meta(item),
        };
        match value {
            Ok(value) => *slot = Some(value),
            Err(error) => {
                self.errors.push(error);
                self.unread.push(key.to_owned());
            }
        }
    }

    fn unknown(&mut self, key: &str, path: &syn::Path) {
        let message = match closest(key, KEYS) {
            Some(close) => {
                // Taken as a misspelling of `close`: its absence is not a second error.
                self.unread.push(close.to_owned());
                format!("unknown key `{key}`; did you mean `{close}`?")
            }
            None => format!(
                "unknown key `{key}`: the keys are {}",
                KEYS.map(|key| format!("`{key}`")).join(", ")
            ),
        };
        self.errors
            .push(darling::Error::custom(message).with_span(path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(tokens: TokenStream) -> (Option<ActionAttr>, Vec<String>) {
        let (attr, errors) = parse(tokens);
        let messages = errors
            .map(|errors| {
                errors
                    .flatten()
                    .into_iter()
                    .map(|error| error.to_string())
                    .collect()
            })
            .unwrap_or_default();
        (attr, messages)
    }

    #[test]
    fn every_listed_key_is_read() {
        for key in KEYS {
            let key_tokens: TokenStream = key.parse().unwrap();
            let (attr, errors) = messages(quote!(#key_tokens = "x"));
            assert!(errors.is_empty(), "{key}: {errors:?}");
            assert!(attr.unwrap().unread.is_empty(), "{key}");
        }
    }

    #[test]
    fn keys_that_cannot_be_read_leave_the_others_readable() {
        let (attr, errors) = messages(quote!(
            sytem = "okta",
            risk = "high",
            risk = "low",
            description = 5,
            target = "group",
            bogus = "x",
            actor
        ));
        assert_eq!(
            errors,
            [
                "unknown key `sytem`; did you mean `system`?",
                "duplicate key `risk`: each key can be given once",
                "expected a string in double quotes: `\"5\"`",
                "unknown key `bogus`: the keys are `system`, `risk`, `environment`, \
                 `environment_arg`, `name`, `description`, `action_name`, `domain`, `actor`, \
                 `target`, `value`, `secret`, `timeout`, `crate`",
                "`actor` needs a value: `actor = \"...\"`",
            ]
        );
        let attr = attr.unwrap();
        assert_eq!(attr.risk.unwrap().value(), "high", "the first one stays");
        assert_eq!(attr.target.unwrap().value(), "group");
        assert!(attr.system.is_none() && attr.description.is_none());
        assert_eq!(attr.unread, ["system", "description", "actor"]);
    }

    #[test]
    fn tokens_that_are_not_keys_give_no_attribute() {
        let (attr, errors) = messages(quote!(system = "okta" risk));
        assert!(attr.is_none());
        assert_eq!(errors.len(), 1);
    }
}
