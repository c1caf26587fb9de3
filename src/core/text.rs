//! Text from files, env vars and registry replies reaches the user's terminal; a
//! control character in it (ESC, BEL, CR, a C1 CSI) would let that text drive the
//! terminal — recolour, retitle, rewrite what was printed. Human output passes here.
//! Bidi controls (U+202E and friends) are not control characters to Rust but reorder
//! what follows them on the line: a name could make `list` show another row's text
//! backwards. Both are made visible.

use std::borrow::Cow;

const REPLACEMENT: char = '\u{FFFD}';

/// Explicit bidi embeddings, overrides, isolates and marks, and the line/paragraph
/// separators some terminals break on.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// `text` with every control character but newline and tab, and every bidi control,
/// replaced by U+FFFD. Borrowed (no copy) when there is nothing to replace, which is
/// almost always.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if unsafe_char(c) { REPLACEMENT } else { c })
            .collect(),
    )
}

/// `text` for one line of a table or a label: like [`printable`], and newline, tab and
/// every other C0 control shown as its control picture (`␊`, `␉`, `␍`), so untrusted
/// text can neither start a row of its own nor move the columns after it. Every
/// replacement is one column wide, as the character it stands for would be counted.
pub fn inline(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c {
                '\0'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(REPLACEMENT),
                '\u{7f}' => '\u{2421}',
                c if unsafe_char(c) => REPLACEMENT,
                c => c,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        assert!(matches!(printable("plain\ttext\n"), Cow::Borrowed(_)));
        assert_eq!(
            printable("evil\u{1b}[31mRED\u{7}\r\u{9b}2J"),
            "evil\u{fffd}[31mRED\u{fffd}\u{fffd}\u{fffd}2J"
        );
    }

    #[test]
    fn bidi_and_line_breaks_are_made_visible() {
        assert_eq!(printable("a\u{202E}b\nc"), "a\u{fffd}b\nc");
        assert_eq!(
            inline("a\nb\tc\rd\u{2066}e\u{7f}"),
            "a\u{240a}b\u{2409}c\u{240d}d\u{fffd}e\u{2421}"
        );
        assert!(matches!(inline("plain name"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        #[test]
        fn inline_output_is_one_line_of_inert_text(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f\u{202a}-\u{202e}\u{2066}-\u{2069}\u{200e}\u{200f}\u{61c} a-z]*") {
            let out = inline(&s);
            proptest::prop_assert!(!out.chars().any(|c| c.is_control() || is_bidi_control(c)));
            proptest::prop_assert_eq!(out.chars().count(), s.chars().count());
        }

        #[test]
        fn inline_is_one_column_per_character(s in "[\\x00-\\x1f\\x7f-\\x9f\u{202a}-\u{202e}\u{2066}-\u{2069}\u{200e}\u{200f}\u{61c} a-z]*") {
            let out = inline(&s);
            proptest::prop_assert_eq!(crate::display::text::width(&out), s.chars().count());
        }

        #[test]
        fn output_has_no_control_but_newline_and_tab(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f a-z]*") {
            let out = printable(&s);
            proptest::prop_assert!(!out.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)));
            proptest::prop_assert_eq!(out.chars().count(), s.chars().count());
        }
    }
}
