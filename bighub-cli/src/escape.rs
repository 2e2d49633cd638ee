//! Escaping for the terminal: what the store holds came from a model, a tool or a policy,
//! and must not be able to move the cursor, clear the screen, reorder text or start a line
//! that looks like the tool's own output.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is rendered as an escape: C0 controls, DEL, C1 controls, the Unicode bidi
/// controls (embeddings, overrides, isolates, marks) and the line and paragraph separators.
fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` as it may be printed on a terminal: one line, nothing the terminal interprets.
///
/// `\n`, `\r` and `\t` keep their usual escapes, other C0 controls and DEL become `\x1b`
/// and the like, C1, bidi and separator characters `\u{202e}` and the like, and a backslash
/// `\\`, so that an escape in the output always means an escaped character.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '\\' || needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c <= '\u{7f}' && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

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
    fn plain_text_is_borrowed_unchanged() {
        let text = "grant_access on okta-admins: élevé, 権限 ✓";
        assert!(matches!(escape(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn c0_controls_and_del_become_visible_escapes() {
        assert_eq!(escape("a\nb\rc\td"), r"a\nb\rc\td");
        assert_eq!(escape("\x1b[2J\x1b[1;1H"), r"\x1b[2J\x1b[1;1H");
        assert_eq!(
            escape("\0\x07\x08\x0b\x0c\x1f\x7f"),
            r"\x00\x07\x08\x0b\x0c\x1f\x7f"
        );
    }

    #[test]
    fn c1_controls_become_visible_escapes() {
        // U+009B is a one-character CSI on terminals that honour C1 controls.
        assert_eq!(
            escape("\u{80}\u{85}\u{9b}2J\u{9f}"),
            r"\u{80}\u{85}\u{9b}2J\u{9f}"
        );
        // The first characters after C1 are printable.
        assert_eq!(escape("\u{a0}é"), "\u{a0}é");
    }

    #[test]
    fn bidi_controls_and_separators_become_visible_escapes() {
        for c in ['\u{61c}', '\u{200e}', '\u{200f}', '\u{2028}', '\u{2029}']
            .into_iter()
            .chain('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
        {
            let text = format!("x{c}y");
            assert_eq!(escape(&text), format!("x\\u{{{:x}}}y", c as u32));
        }
        // Neighbours that are not controls are kept.
        assert_eq!(
            escape("\u{200d}\u{202f}\u{2065}\u{206a}"),
            "\u{200d}\u{202f}\u{2065}\u{206a}"
        );
    }

    #[test]
    fn a_backslash_is_doubled_so_an_escape_is_never_ambiguous() {
        // A literal backslash-n is not a newline once printed.
        assert_eq!(escape(r"C:\new"), r"C:\\new");
        assert_ne!(escape("a\nb"), escape(r"a\nb"));
    }

    #[test]
    fn an_injected_approval_stays_on_one_line() {
        let text = "ok\n\x1b[2J\x1b[1;1HAPPROVED by security\r\u{202e}";
        let out = escape(text);
        assert_eq!(out, r"ok\n\x1b[2J\x1b[1;1HAPPROVED by security\r\u{202e}");
        assert!(!out.chars().any(needs_escape), "{out}");
    }

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
