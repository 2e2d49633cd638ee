//! The fields of a proposed action a provider reads: for its cache key and in its URL.
//!
//! This module owns [`ActionField`], the cache key made of them, and the URL template
//! (`https://api.example.com/status/{system}?env={environment}`) with its values
//! percent-encoded. It fetches nothing.

use std::fmt;

use bighub_core::ProposedAction;
use serde::{Deserialize, Serialize};

use super::fetch_error::FetchError;
use crate::config::closest;

/// A field of the proposed action that a provider's answer depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionField {
    /// The tool's name.
    Tool,
    /// The action's name (the tool's when none).
    Action,
    /// The system touched, lower-cased.
    System,
    /// The environment, lower-cased.
    Environment,
    /// The resource acted on.
    Target,
    /// Who acts.
    Actor,
    /// The domain.
    Domain,
    /// The declared risk (`low`, `medium`, `high`, `critical`).
    Risk,
}

impl ActionField {
    /// Every field, in the order they are listed.
    pub const ALL: [ActionField; 8] = [
        Self::Tool,
        Self::Action,
        Self::System,
        Self::Environment,
        Self::Target,
        Self::Actor,
        Self::Domain,
        Self::Risk,
    ];

    /// The field's name, as configuration writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Action => "action",
            Self::System => "system",
            Self::Environment => "environment",
            Self::Target => "target",
            Self::Actor => "actor",
            Self::Domain => "domain",
            Self::Risk => "risk",
        }
    }

    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|f| f.as_str()).collect()
    }

    /// The field named `name`, or why there is none (with the closest name).
    pub(crate) fn parse(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| unknown_field(name))
    }

    /// The field's value in `action`, trimmed; `None` when empty or absent. System and
    /// environment are lower-cased, as the policy reads them.
    pub(crate) fn value(self, action: &ProposedAction) -> Option<String> {
        let text = match self {
            Self::Tool => Some(action.tool.clone()),
            Self::Action => Some(if action.action.is_empty() {
                action.tool.clone()
            } else {
                action.action.clone()
            }),
            Self::System => action.system.as_deref().map(str::to_lowercase),
            Self::Environment => action.environment.as_deref().map(str::to_lowercase),
            Self::Target => action.target.clone(),
            Self::Actor => Some(action.actor.clone()),
            Self::Domain => action.domain.clone(),
            Self::Risk => action.risk.map(|r| r.as_str().to_owned()),
        };
        text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
    }
}

impl fmt::Display for ActionField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn unknown_field(name: &str) -> String {
    let names = ActionField::names();
    match closest(name, &names) {
        Some(c) => format!("`{name}` is not a field of the action; did you mean `{c}`?"),
        None => format!(
            "`{name}` is not a field of the action; the fields are {}",
            names.join(", ")
        ),
    }
}

/// The cache key of `action` for a provider that reads `fields`: each field's value,
/// unambiguously joined (a value cannot fake a separator).
pub(crate) fn cache_key(fields: &[ActionField], action: &ProposedAction) -> String {
    let mut key = String::new();
    for field in fields {
        let value = field.value(action);
        // Length-prefixed, so that `a|b` + `c` and `a` + `b|c` differ.
        match value {
            Some(v) => key.push_str(&format!("{}:{}:{v};", field.as_str(), v.len())),
            None => key.push_str(&format!("{}:-;", field.as_str())),
        }
    }
    key
}

/// One piece of a URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(ActionField),
}

/// A URL with `{field}` placeholders that take the action's fields, percent-encoded.
/// `{{` and `}}` stand for a literal brace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UrlTemplate {
    pieces: Vec<Piece>,
}

impl UrlTemplate {
    /// Reads a template; an unknown or unclosed placeholder is an error naming it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => {
                                return Err(format!("the placeholder `{{{name}` is not closed"));
                            }
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field(ActionField::parse(name.trim())?));
                }
                '}' => return Err("a `}` closes no placeholder (write `}}` for a brace)".into()),
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self { pieces })
    }

    /// The fields the template reads.
    pub(crate) fn fields(&self) -> Vec<ActionField> {
        let mut out: Vec<ActionField> = self
            .pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Field(f) => Some(*f),
                Piece::Text(_) => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The URL for `action`; a field it reads that the action lacks is an error.
    pub(crate) fn render(&self, action: &ProposedAction) -> Result<String, FetchError> {
        self.render_with(|f| f.value(action).ok_or(FetchError::MissingField(f.as_str())))
    }

    /// The URL with every placeholder given the same sample value, to check its form.
    pub(crate) fn sample(&self) -> String {
        self.render_with(|_| Ok("sample".to_owned()))
            .unwrap_or_default()
    }

    fn render_with(
        &self,
        value: impl Fn(ActionField) -> Result<String, FetchError>,
    ) -> Result<String, FetchError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field(f) => percent_encode(&value(*f)?, &mut out),
            }
        }
        Ok(out)
    }
}

/// Everything but RFC 3986's unreserved characters is percent-encoded, so a value stays
/// inside the path segment or query value it is put in.
fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_fields_percent_encoded() {
        let t = UrlTemplate::parse("https://x.test/{system}/s?t={target}&b={{x}}").unwrap();
        assert_eq!(t.fields(), [ActionField::System, ActionField::Target]);
        let action = ProposedAction::new("deploy")
            .system("ArgoCD")
            .target("a/b?c=d&e f");
        assert_eq!(
            t.render(&action).unwrap(),
            "https://x.test/argocd/s?t=a%2Fb%3Fc%3Dd%26e%20f&b={x}"
        );
        let no_target = ProposedAction::new("deploy").system("argocd");
        assert_eq!(
            t.render(&no_target).unwrap_err(),
            FetchError::MissingField("target")
        );
    }

    #[test]
    fn unknown_placeholders_name_the_closest_field() {
        let e = UrlTemplate::parse("https://x.test/{enviroment}").unwrap_err();
        assert!(e.contains("did you mean `environment`"), "{e}");
        assert!(UrlTemplate::parse("https://x.test/{system").is_err());
        assert!(UrlTemplate::parse("https://x.test/}").is_err());
    }

    #[test]
    fn cache_keys_do_not_collide_through_separators() {
        let fields = [ActionField::System, ActionField::Target];
        let a = ProposedAction::new("t").system("a;target:1:b").target("c");
        let b = ProposedAction::new("t").system("a").target("b;c");
        assert_ne!(cache_key(&fields, &a), cache_key(&fields, &b));
        assert_eq!(cache_key(&[], &a), "");
    }
}
