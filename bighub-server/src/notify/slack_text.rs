//! Text placed in Slack messages: escaped so that what a model or a client wrote is shown,
//! never interpreted.
//!
//! This module owns the escaping of Slack `mrkdwn`: `&`, `<` and `>` become `&amp;`,
//! `&lt;` and `&gt;` (Slack's own rule: without `<`, no text can form a link, a mention or
//! `<!channel>`), control characters and bidirectional overrides are removed (a newline
//! could forge a line of the message, an override could disguise a value), and long text
//! is cut before escaping so an entity is never cut in two. It does not decide what goes
//! in a message (`payload.rs`).

/// The longest value shown in one field of a message, in characters.
pub(crate) const FIELD_CHARS: usize = 300;
/// The longest arguments text shown, in characters (a section holds 3000).
pub(crate) const ARGUMENTS_CHARS: usize = 1500;

/// `text` made safe for Slack `mrkdwn` (and for `plain_text`), at most `max_chars`
/// characters of it kept (an ellipsis marks a cut).
pub(crate) fn escape(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 2));
    let mut kept = 0;
    let mut last_space = false;
    for c in text.chars() {
        if kept == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() || is_bidi_control(c) {
            // Line breaks and tabs keep words apart; other controls vanish.
            if c.is_whitespace() && !last_space && kept > 0 {
                out.push(' ');
                kept += 1;
                last_space = true;
            }
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        last_space = c == ' ';
        kept += 1;
    }
    out
}

/// Unicode's bidirectional embedding, override and isolate controls, and the marks that
/// reorder text invisibly.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_mentions_and_controls_are_neutralised() {
        assert_eq!(
            escape("<!channel> <http://evil|click> & <@U123>", 100),
            "&lt;!channel&gt; &lt;http://evil|click&gt; &amp; &lt;@U123&gt;"
        );
        assert_eq!(escape("a\nb\r\n\tc\u{0}d\u{202e}e", 100), "a b cde");
        assert_eq!(escape("\n<x>", 100), "&lt;x&gt;");
    }

    #[test]
    fn long_text_is_cut_before_escaping() {
        assert_eq!(escape("abcdef", 3), "abc…");
        assert_eq!(escape("<<<<", 2), "&lt;&lt;…");
        assert_eq!(escape("ééé", 3), "ééé");
    }
}
