//! One-line text fields (the filter, the generate dialog, the rotation confirmation,
//! the save-to-file path): editing comes from the `tui-input` crate, so every field
//! has the same readline keys — ←/→, Home/End, Ctrl-A/E, Ctrl-U, Ctrl-W, Backspace, Delete.

use ratatui::crossterm::event::{Event, KeyEvent};
use ratatui::style::Style;
use ratatui::text::Span;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

/// The longest text a field takes unless told otherwise (a path may be long). A paste
/// of a whole file into a one-line field stops here instead of growing without bound.
pub const MAX_LEN: usize = 4096;

#[derive(Debug, Clone)]
pub struct TextField {
    input: Input,
    /// The most characters the field holds; typing or pasting beyond it is dropped.
    max: usize,
}

impl Default for TextField {
    fn default() -> Self {
        Self {
            input: Input::default(),
            max: MAX_LEN,
        }
    }
}

impl TextField {
    pub fn new(value: &str) -> Self {
        Self::default().with_max(MAX_LEN).with_value(value)
    }

    /// A field that holds at most `max` characters.
    pub fn with_max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    pub fn with_value(mut self, value: &str) -> Self {
        let value: String = value.chars().take(self.max).collect();
        self.input = Input::new(value);
        self
    }

    /// A bracketed paste: inserted at the cursor as text in one step, never as keys.
    /// Control characters (a pasted Enter, Esc or Tab) are dropped, and what would go
    /// beyond the field's length is cut. `true` when the text changed.
    pub fn paste(&mut self, text: &str) -> bool {
        let len = self.input.value().chars().count();
        let room = self.max.saturating_sub(len);
        let add: String = text
            .chars()
            .filter(|c| !c.is_control())
            .take(room)
            .collect();
        if add.is_empty() {
            return false;
        }
        let at = self.input.cursor();
        let value = self.input.value();
        let mut out: String = value.chars().take(at).collect();
        out.push_str(&add);
        out.extend(value.chars().skip(at));
        let cursor = at + add.chars().count();
        self.input = Input::new(out).with_cursor(cursor);
        true
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn is_empty(&self) -> bool {
        self.input.value().is_empty()
    }

    pub fn clear(&mut self) {
        self.input.reset();
    }

    /// Applies an editing key; `true` when the key was one (the caller handles the rest).
    /// Yank (Ctrl-Y) is left out: it would paste text the field itself deleted, which
    /// nobody expects from a one-line dialog field.
    pub fn handle(&mut self, k: &KeyEvent) -> bool {
        match to_input_request(&Event::Key(*k)) {
            Some(tui_input::InputRequest::Yank) | None => false,
            // A full field takes no more characters (the key is still "handled").
            Some(tui_input::InputRequest::InsertChar(_))
                if self.input.value().chars().count() >= self.max =>
            {
                true
            }
            Some(req) => {
                self.input.handle(req);
                true
            }
        }
    }

    /// The text with a block cursor at the editing position (the cursor cell inverts
    /// the character under it, or is a █ at the end).
    pub fn spans(&self, style: Style, focused: bool) -> Vec<Span<'static>> {
        let value = self.input.value();
        if !focused {
            return vec![Span::styled(value.to_string(), style)];
        }
        let at = self.input.cursor();
        let before: String = value.chars().take(at).collect();
        let under: Option<char> = value.chars().nth(at);
        let after: String = value.chars().skip(at + 1).collect();
        match under {
            Some(c) => vec![
                Span::styled(before, style),
                Span::styled(
                    c.to_string(),
                    style.add_modifier(ratatui::style::Modifier::REVERSED),
                ),
                Span::styled(after, style),
            ],
            None => vec![Span::styled(format!("{before}█"), style)],
        }
    }

    /// The text with the cursor marker, as one string (for titles).
    pub fn with_cursor(&self) -> String {
        self.spans(Style::default(), true)
            .iter()
            .map(|s| s.content.as_ref())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEventKind, KeyEventState, KeyModifiers};

    fn k(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent {
            code,
            modifiers,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    fn typed(s: &str) -> TextField {
        let mut f = TextField::default();
        for c in s.chars() {
            assert!(f.handle(&k(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        f
    }

    #[test]
    fn readline_keys() {
        let mut f = typed("billing agent");
        assert!(f.handle(&k(KeyCode::Char('w'), KeyModifiers::CONTROL)));
        assert_eq!(f.value(), "billing ");
        f.handle(&k(KeyCode::Home, KeyModifiers::NONE));
        f.handle(&k(KeyCode::Char('x'), KeyModifiers::NONE));
        assert_eq!(f.value(), "xbilling ");
        f.handle(&k(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(f.value(), "xilling ");
        f.handle(&k(KeyCode::Right, KeyModifiers::NONE));
        f.handle(&k(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(f.value(), "xlling ");
        f.handle(&k(KeyCode::End, KeyModifiers::NONE));
        f.handle(&k(KeyCode::Left, KeyModifiers::NONE));
        assert_eq!(f.with_cursor(), "xlling ", "cursor on the last char");
        assert!(f.handle(&k(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert_eq!(f.value(), "", "Ctrl-U clears, it does not insert u");
    }

    #[test]
    fn a_paste_is_text_at_the_cursor_without_control_characters_and_capped() {
        let mut f = typed("ab");
        f.handle(&k(KeyCode::Left, KeyModifiers::NONE));
        assert!(f.paste("rb\ruy\x1b[A\t"));
        assert_eq!(f.value(), "arbuy[Ab");
        assert_eq!(
            f.with_cursor(),
            "arbuy[Ab",
            "the cursor is after the pasted text"
        );
        let mut f = TextField::default().with_max(5);
        assert!(f.paste("0123456789"));
        assert_eq!(f.value(), "01234");
        assert!(!f.paste("x"), "a full field takes nothing more");
        assert!(f.handle(&k(KeyCode::Char('x'), KeyModifiers::NONE)));
        assert_eq!(f.value(), "01234");
        assert!(
            !f.paste("\r\n\x1b"),
            "only control characters: nothing changes"
        );
    }

    #[test]
    fn non_editing_keys_are_left_to_the_caller() {
        let mut f = typed("a");
        for code in [KeyCode::Enter, KeyCode::Esc, KeyCode::Tab, KeyCode::Up] {
            assert!(!f.handle(&k(code, KeyModifiers::NONE)));
        }
        assert!(!f.handle(&k(KeyCode::Char('y'), KeyModifiers::CONTROL)));
        assert_eq!(f.value(), "a");
        assert_eq!(f.with_cursor(), "a█");
    }
}
