//! What a run starts from: the conversation's first messages.
//!
//! Messages travel to the Responses API as JSON input items; this module owns the
//! conversions from the forms users write (`"text"`, [`Message`]s, raw JSON items).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Who speaks in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
    /// The system.
    System,
    /// The developer (instructions with priority over the user's).
    Developer,
    /// The model, in earlier turns.
    Assistant,
}

/// One message of the conversation.
///
/// ```
/// use bighub_openai::run::Message;
///
/// let messages = vec![
///     Message::developer("Only grant access for the shortest useful time."),
///     Message::user("Grant Alice temporary Okta admin access for 48h"),
/// ];
/// assert_eq!(serde_json::to_value(&messages[1]).unwrap()["role"], "user");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }

    /// A developer message.
    pub fn developer(content: impl Into<String>) -> Self {
        Self {
            role: Role::Developer,
            content: content.into(),
        }
    }

    /// An earlier answer of the model.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }

    fn to_item(&self) -> Value {
        json!({ "role": self.role, "content": self.content })
    }
}

/// Anything a run can start from: a string (one user message), messages, or raw JSON
/// Responses API input items.
pub trait IntoInput {
    /// The input items.
    fn into_input(self) -> Vec<Value>;
}

impl IntoInput for &str {
    fn into_input(self) -> Vec<Value> {
        vec![Message::user(self).to_item()]
    }
}

impl IntoInput for String {
    fn into_input(self) -> Vec<Value> {
        self.as_str().into_input()
    }
}

impl IntoInput for Message {
    fn into_input(self) -> Vec<Value> {
        vec![self.to_item()]
    }
}

impl IntoInput for Vec<Message> {
    fn into_input(self) -> Vec<Value> {
        self.iter().map(Message::to_item).collect()
    }
}

impl IntoInput for &[Message] {
    fn into_input(self) -> Vec<Value> {
        self.iter().map(Message::to_item).collect()
    }
}

impl<const N: usize> IntoInput for [Message; N] {
    fn into_input(self) -> Vec<Value> {
        self.iter().map(Message::to_item).collect()
    }
}

impl IntoInput for Vec<Value> {
    fn into_input(self) -> Vec<Value> {
        self
    }
}

/// A JSON array is a list of items; any other value is one item.
impl IntoInput for Value {
    fn into_input(self) -> Vec<Value> {
        match self {
            Value::Array(items) => items,
            Value::String(text) => text.into_input(),
            item => vec![item],
        }
    }
}
