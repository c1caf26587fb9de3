//! One-line text fields (the filter, the generate dialog, the rotation confirmation,
//! the save-to-file path): editing comes from the `tui-input` crate, so every field
//! has the same readline keys — ←/→, Home/End, Ctrl-A/E, Ctrl-U, Ctrl-W, Backspace, Delete.

use ratatui::crossterm::event::{Event, KeyEvent};
use ratatui::style::Style;
use ratatui::text::Span;
use tui_input::Input;
use tui_input::backend::crossterm::to_input_request;

#[derive(Debug, Clone, Default)]
pub struct TextField {
    input: Input,
}

impl TextField {
    pub fn new(value: &str) -> Self {
        Self {
            input: Input::new(value.to_string()),
        }
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
