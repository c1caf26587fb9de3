//! Terminal-width text: measured in columns (unicode width), cut with an ellipsis.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

pub const ELLIPSIS: char = '…';

/// Columns `s` takes on a terminal.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn char_width(c: char) -> usize {
    UnicodeWidthChar::width(c).unwrap_or(0)
}

/// `s` in at most `max` columns; a cut ends with `…` so it never reads as the whole text.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push(ELLIPSIS);
    out
}

/// `s` cut to `max` columns keeping its end (paths: the last part says the most).
pub fn fit_start(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if used + w > max - 1 {
            break;
        }
        tail.push(c);
        used += w;
    }
    std::iter::once(ELLIPSIS)
        .chain(tail.into_iter().rev())
        .collect()
}

/// `s` cut or padded with spaces to exactly `cols` columns.
pub fn cell(s: &str, cols: usize) -> String {
    let mut out = fit(s, cols);
    let w = width(&out);
    out.extend(std::iter::repeat_n(' ', cols.saturating_sub(w)));
    out
}

/// Breaks `s` into lines of at most `cols` columns, at spaces where it can and inside a
/// word only when the word alone is wider than a line. Never returns an empty list.
pub fn wrap(s: &str, cols: usize) -> Vec<String> {
    wrap_hanging(s, cols, cols)
}

/// As [`wrap`], with the first line `first` columns wide and the others `rest` (the
/// caller indents them: a hanging indent).
pub fn wrap_hanging(s: &str, first: usize, rest: usize) -> Vec<String> {
    let first = first.max(1);
    let rest = rest.max(1);
    let mut cols = first;
    let mut lines = Vec::new();
    // Leading spaces are an indent the caller chose: kept on the first line.
    let body = s.trim_start_matches(' ');
    let mut line = " ".repeat((s.len() - body.len()).min(cols.saturating_sub(1)));
    let mut used = line.len();
    for word in body.split(' ') {
        let ww = width(word);
        let sep = usize::from(!line.trim_start().is_empty());
        if used + sep + ww <= cols {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            used += sep + ww;
            continue;
        }
        if !line.trim_start().is_empty() {
            lines.push(std::mem::take(&mut line));
            used = 0;
            cols = rest;
        }
        // A word wider than a line is split where the line ends.
        for c in word.chars() {
            let w = char_width(c);
            if used + w > cols && !line.trim_start().is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
                cols = rest;
            }
            line.push(c);
            used += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_with_an_ellipsis_by_columns() {
        assert_eq!(fit("billing-agent", 20), "billing-agent");
        assert_eq!(fit("billing-agent", 8), "billing…");
        assert_eq!(width(&fit("ｗｉｄｅｗｉｄｅ", 5)), 5);
        assert_eq!(fit("ｗｉｄｅ", 5), "ｗｉ…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit_start("/home/dev/.capiscio", 10), "….capiscio");
    }

    #[test]
    fn cell_pads_to_exact_columns() {
        assert_eq!(cell("ab", 4), "ab  ");
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(width(&cell("✔ 4m", 8)), 8);
    }

    #[test]
    fn wrap_breaks_at_spaces_and_splits_long_words() {
        assert_eq!(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(wrap("  fix: chmod 600", 8), ["  fix:", "chmod", "600"]);
        assert_eq!(wrap_hanging("ab cd ef", 5, 2), ["ab cd", "ef"]);
        assert_eq!(wrap_hanging("abcdefgh", 5, 2), ["abcde", "fg", "h"]);
        for l in wrap(
            "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw is long",
            10,
        ) {
            assert!(width(&l) <= 10, "{l}");
        }
    }
}
