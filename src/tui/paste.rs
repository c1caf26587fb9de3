//! Bracketed paste: pasted text arrives as one `Paste` message, never as key presses, so
//! a pasted "rb⏎y" cannot end the filter and confirm a rollback, and a long paste costs
//! one edit and one re-filter instead of one per character.

use super::model::{Model, Screen};

/// The longest filter: more than any id, name, DID or fingerprint it could match.
pub const FILTER_MAX: usize = 256;

/// Puts `text` into the focused text field; screens without one ignore it.
pub fn paste(m: &mut Model, text: &str) {
    if matches!(m.screen, Screen::Main) {
        if m.filtering && m.filter_input.paste(text) {
            super::update::refilter(m);
        }
        return;
    }
    match &mut m.screen {
        Screen::Export(st) => {
            if let Some(path) = &mut st.save
                && path.paste(text)
            {
                st.save_error = None;
            }
        }
        Screen::Generate(g) => {
            let field = match g.field {
                1 => &mut g.id,
                2 => &mut g.name,
                _ => return,
            };
            field.paste(text);
        }
        Screen::Rotate(st) => {
            // Only while the typed confirmation is what the wizard waits for.
            let typing =
                !st.running && st.journal.is_none() && st.error.is_none() && st.resumable.is_none();
            if typing && st.typed.paste(text) {
                st.hint = None;
                st.emergency_confirmed = false;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Model, Msg};
    use super::super::update::update;
    use crate::core::identity::{Identity, Kind, Source};
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    fn model() -> Model {
        let mut m = Model::new("/h".into(), "r".into(), Some(30), false, 0);
        m.identities = ["ruby", "rb-agent", "other"]
            .iter()
            .map(|n| Identity::new(*n, Kind::Agent, Source::Disk, format!("/h/{n}")))
            .collect();
        m
    }

    #[test]
    fn a_paste_into_the_filter_is_text_not_keys() {
        let mut m = model();
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Char('/'))));
        let fx = update(&mut m, Msg::Paste("rb\ruy".into()));
        assert!(fx.is_empty());
        assert!(m.filtering, "a pasted Enter does not end the filter");
        assert_eq!(m.filter, "rbuy");
        assert!(matches!(m.screen, super::Screen::Main));
        let long = "x".repeat(50_000);
        update(&mut m, Msg::Paste(long));
        assert_eq!(m.filter.chars().count(), super::FILTER_MAX);
    }

    /// The dialogs' fields take a paste where the cursor is; other parts ignore it.
    #[test]
    fn dialog_fields_take_a_paste() {
        let mut m = model();
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Char('n'))));
        update(&mut m, Msg::Paste("ignored on the kind field".into()));
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Tab)));
        update(&mut m, Msg::Paste("my-id\n".into()));
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Tab)));
        update(&mut m, Msg::Paste("My\tName".into()));
        let super::Screen::Generate(g) = &m.screen else {
            panic!("dialog closed")
        };
        assert_eq!((g.id.value(), g.name.value()), ("my-id", "MyName"));
        m.screen = super::Screen::Rotate(Box::new(super::super::model::RotateState::new(
            "ruby",
            "ruby",
            Kind::Agent,
            vec!["ruby".into()],
        )));
        let fx = update(&mut m, Msg::Paste("ruby\r".into()));
        assert!(fx.is_empty(), "a pasted Enter does not confirm");
        let super::Screen::Rotate(st) = &m.screen else {
            panic!("wizard closed")
        };
        assert_eq!(st.typed.value(), "ruby");
        assert!(!st.running);
    }

    #[test]
    fn a_paste_where_no_field_is_focused_does_nothing() {
        let mut m = model();
        let fx = update(&mut m, Msg::Paste("q".into()));
        assert!(fx.is_empty());
        assert!(!m.quit);
        assert!(!m.filtering);
        assert!(m.filter.is_empty());
    }
}
