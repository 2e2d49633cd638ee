//! Escaping for the terminal: what the store holds came from a model, a tool or a policy,
//! and must not be able to move the cursor, clear the screen, reorder text or start a line
//! that looks like the tool's own output.
//!
//! Which characters are escaped, and how, is `bighub_core::escape`'s rule, shared with the
//! runtime's logs and errors; this module adds pretty JSON that obeys it.

use std::fmt::Write as _;

pub(crate) use bighub_core::escape::escape;
use bighub_core::escape::needs_escape;

/// Pretty JSON that is also safe on a terminal: the characters serde_json writes raw (DEL,
/// C1, bidi and separator characters; it escapes C0 itself) become `\uXXXX` escapes, which
/// leave the JSON valid and its values unchanged. They can only occur inside strings, where
/// a raw character is never part of an escape sequence.
pub(crate) fn json(value: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    let text = serde_json::to_string_pretty(value)?;
    if !text.chars().any(needs_escape_in_json) {
        return Ok(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape_in_json(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// What [`json`] escapes: serde_json leaves the newlines between values raw, and escapes
/// every C0 control inside a string.
fn needs_escape_in_json(c: char) -> bool {
    c > '\u{1f}' && needs_escape(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json as value};

    #[test]
    fn json_stays_valid_with_the_same_values_and_no_raw_controls() {
        let record = value!({
            "reason": "ok\n\x1b[2J\u{85}\u{9b}\u{7f}\u{202e}\u{2066}\u{2028}\\ done",
            "nested": ["\u{200f}", {"k\u{202e}": 1}],
        });
        let text = json(&record).unwrap();
        assert!(
            !text.chars().any(|c| c != '\n' && needs_escape(c)),
            "{text}"
        );
        assert!(
            text.contains(r"\u202e") && text.contains(r"\u009b"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), record);
    }
}
