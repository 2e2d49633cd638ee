//! Parsing of the attribute's arguments: `#[action(system = "okta", risk = "high", ...)]`.
//!
//! This file owns the grammar only: which keys exist and what literal each takes. darling
//! rejects unknown keys (with a "did you mean"), duplicate keys and literals of the wrong kind,
//! collecting every such error. Whether a value makes sense (a known risk, a valid tool name, a
//! parameter that exists) is `validate.rs`'s job, so that those checks also run together.

use darling::FromMeta;
use darling::ast::NestedMeta;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, ExprLit, Lit, LitStr};

/// The attribute's arguments as written, every value still carrying its span.
#[derive(Debug, Default, FromMeta)]
pub struct ActionAttr {
    /// The system the tool touches; required (checked in `validate.rs`, for a clearer message).
    pub system: Option<Str>,
    /// `low`, `medium`, `high` or `critical`.
    pub risk: Option<Str>,
    /// The environment the tool touches.
    pub environment: Option<Str>,
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
    /// The path of the runtime crate, for re-exports the macro cannot find by itself.
    #[darling(rename = "crate")]
    pub krate: Option<Str>,
    /// The parameter whose value is the action's target.
    pub target: Option<Str>,
    /// The parameter whose numeric value is the action's value.
    pub value: Option<Str>,
    /// The parameters whose values are secret.
    #[darling(default)]
    pub secret: ParamNames,
    /// How long one call may run, like `"30s"`.
    pub timeout: Option<Str>,
}

/// A string literal value. Its own type so that a value written without quotes gets a message
/// that shows the quoted form, not darling's generic "unexpected type".
#[derive(Debug)]
pub struct Str(pub LitStr);

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
pub struct ParamNames(pub Vec<LitStr>);

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

/// Parses the tokens between the attribute's parentheses.
pub fn parse(tokens: TokenStream) -> darling::Result<ActionAttr> {
    let items = NestedMeta::parse_meta_list(tokens)?;
    ActionAttr::from_list(&items)
}
