//! Text from files, env vars and registry replies reaches the user's terminal; a
//! control character in it (ESC, BEL, CR, a C1 CSI) would let that text drive the
//! terminal — recolour, retitle, rewrite what was printed. Human output passes here.

use std::borrow::Cow;

const REPLACEMENT: char = '\u{FFFD}';

/// `text` with every control character but newline and tab replaced by U+FFFD.
/// Borrowed (no copy) when there is nothing to replace, which is almost always.
pub fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| if unsafe_char(c) { REPLACEMENT } else { c })
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

    proptest::proptest! {
        #[test]
        fn output_has_no_control_but_newline_and_tab(s in "\\PC*|[\\x00-\\x1f\\x7f-\\x9f a-z]*") {
            let out = printable(&s);
            proptest::prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            proptest::prop_assert_eq!(out.chars().count(), s.chars().count());
        }
    }
}
