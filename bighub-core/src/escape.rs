//! Escaping for one-line text: what a model, a tool, an MCP server or a decision service
//! chose must not be able to start a log line, move a terminal's cursor, clear its screen or
//! reorder the text around it.
//!
//! This module owns which characters are escaped and how. Where escaped text is needed
//! (error messages that quote an answer, log fields, the CLI) is each caller's decision;
//! JSON escaping is not done here.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is rendered as an escape by [`escape`]: C0 controls, DEL, C1 controls, the
/// Unicode bidi controls (embeddings, overrides, isolates, marks) and the line and
/// paragraph separators.
///
/// ```
/// use bighub_core::escape::needs_escape;
///
/// assert!(needs_escape('\n') && needs_escape('\u{1b}') && needs_escape('\u{202e}'));
/// assert!(!needs_escape('é') && !needs_escape('\\'));
/// ```
pub fn needs_escape(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` as it may be printed on one line of a log or a terminal: nothing in it is
/// interpreted.
///
/// `\n`, `\r` and `\t` keep their usual escapes, other C0 controls and DEL become `\x1b`
/// and the like, C1, bidi and separator characters `\u{202e}` and the like, and a backslash
/// `\\`, so that an escape in the output always means an escaped character. Text with
/// nothing to escape is borrowed unchanged.
///
/// ```
/// use bighub_core::escape::escape;
///
/// let forged = "overloaded\n2026-01-01T00:00:00Z  INFO approved\r\u{1b}[2J\u{202e}";
/// assert_eq!(
///     escape(forged),
///     r"overloaded\n2026-01-01T00:00:00Z  INFO approved\r\x1b[2J\u{202e}"
/// );
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
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

/// `e` and its sources on one line, each source once (`error sending request: client
/// error (Connect): tcp connect error: Connection refused (os error 111)`): what a person
/// needs to see why a connection failed, where `e`'s own message stops at "error sending
/// request". Not escaped: escape it where it is printed.
///
/// ```
/// use bighub_core::escape::error_chain;
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
/// let outer = std::io::Error::other(refused);
/// assert_eq!(error_chain(&outer), "Connection refused");
/// ```
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
