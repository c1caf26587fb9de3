//! Where the main screen put things, recorded while drawing, so that a click is hit-tested
//! against the rectangles really drawn (not against a guess of where the list starts).

use ratatui::layout::Rect;

/// What one frame of the main screen drew where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drawn {
    /// The identity list inside its border.
    pub list: Rect,
    /// Index into `Model::rows()` of the first row shown: the list's scroll position.
    pub list_offset: usize,
    /// Per screen line of the list, from its top: the identity drawn there (an index into
    /// `Model::identities`), `None` for a group header.
    pub list_rows: Vec<Option<usize>>,
    /// The details pane, border included.
    pub details: Rect,
    /// Lines of the details pane's text area.
    pub details_height: u16,
    /// How far the details can scroll before the last line is at the bottom.
    pub details_max: u16,
}

/// The main screen's own view state: the details scroll position and the last frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MainView {
    pub details_scroll: u16,
    /// The identity `details_scroll` belongs to: another one (after a filter, a sort or
    /// a reload moved the highlight) starts at the top.
    pub details_for: Option<String>,
    pub drawn: Drawn,
}

impl MainView {
    /// The scroll position for the details of `id`.
    pub fn scroll_for(&self, id: &str) -> u16 {
        if self.details_for.as_deref() == Some(id) {
            self.details_scroll
        } else {
            0
        }
    }
}

fn contains(r: Rect, col: u16, row: u16) -> bool {
    col >= r.x
        && col < r.x.saturating_add(r.width)
        && row >= r.y
        && row < r.y.saturating_add(r.height)
}

impl Drawn {
    pub fn in_list(&self, col: u16, row: u16) -> bool {
        contains(self.list, col, row)
    }

    pub fn in_details(&self, col: u16, row: u16) -> bool {
        contains(self.details, col, row)
    }

    /// The identity (index into `Model::identities`) drawn at this cell of the list, if any.
    pub fn identity_at(&self, col: u16, row: u16) -> Option<usize> {
        if !self.in_list(col, row) {
            return None;
        }
        self.list_rows
            .get(usize::from(row - self.list.y))
            .copied()
            .flatten()
    }
}

/// The first list row to show: where the list was, unless the selection left the window
/// (then just far enough to bring it back). `top` is the selection's row, or the group
/// header right above it, which is worth showing with it.
pub fn list_offset(prev: usize, top: usize, selected: usize, height: usize, total: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let max = total.saturating_sub(height);
    let mut offset = prev.min(max);
    if top < offset {
        offset = top;
    }
    if selected >= offset + height {
        offset = selected + 1 - height;
    }
    offset.min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_moves_only_to_keep_the_selection_in_view() {
        assert_eq!(list_offset(0, 5, 5, 10, 40), 0);
        assert_eq!(
            list_offset(0, 12, 12, 10, 40),
            3,
            "scrolls down just enough"
        );
        assert_eq!(list_offset(3, 8, 8, 10, 40), 3, "stays while visible");
        assert_eq!(list_offset(20, 1, 2, 10, 40), 1, "scrolls up to the header");
        assert_eq!(list_offset(35, 39, 39, 10, 40), 30, "never past the end");
        assert_eq!(list_offset(7, 0, 0, 10, 5), 0);
        assert_eq!(list_offset(7, 0, 0, 0, 5), 0);
    }

    #[test]
    fn hits_map_screen_lines_to_identities() {
        let d = Drawn {
            list: Rect::new(1, 4, 20, 3),
            list_rows: vec![None, Some(7), Some(2)],
            ..Drawn::default()
        };
        assert_eq!(d.identity_at(5, 4), None, "a header");
        assert_eq!(d.identity_at(5, 5), Some(7));
        assert_eq!(d.identity_at(20, 6), Some(2));
        assert_eq!(d.identity_at(21, 6), None, "right of the list");
        assert_eq!(d.identity_at(5, 7), None, "below the list");
        assert_eq!(d.identity_at(0, 5), None, "on the border");
    }

    use crate::core::identity::{Code, Identity, Kind, Problem, Source};
    use crate::tui::model::{Model, Msg, Pane};
    use crate::tui::theme::{Theme, ThemeName};
    use crate::tui::{update::update, view};
    use ratatui::crossterm::event::{
        KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent,
        MouseEventKind,
    };

    fn model(n: usize) -> Model {
        let mut m = Model::new("/h".into(), "not configured".into(), None, true, 0);
        m.identities = (0..n)
            .map(|k| {
                let mut i = Identity::new(
                    format!("id-{k:02}"),
                    Kind::Agent,
                    Source::Disk,
                    format!("/h/{k}"),
                );
                i.name = Some(format!("agent-{k:02}"));
                i
            })
            .collect();
        m
    }

    /// Draws like the run loop does: the frame's layout goes back into the model.
    fn draw(m: &mut Model, w: u16, h: u16) -> String {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
        let theme = Theme::new(Some(ThemeName::Mono));
        let mut drawn = Drawn::default();
        term.draw(|f| drawn = view::frame(f, m, &theme)).unwrap();
        m.main.drawn = drawn;
        let buf = term.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect()
    }

    fn mouse(kind: MouseEventKind, column: u16, row: u16) -> Msg {
        Msg::Mouse(MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    fn key(code: KeyCode) -> Msg {
        Msg::Key(KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    fn row_of(screen: &str, text: &str) -> u16 {
        screen.lines().position(|l| l.contains(text)).unwrap() as u16
    }

    #[test]
    fn a_click_after_scrolling_selects_the_row_under_the_pointer() {
        let mut m = model(40);
        draw(&mut m, 80, 24);
        update(&mut m, key(KeyCode::End));
        let screen = draw(&mut m, 80, 24);
        assert!(!screen.contains("agent-00"), "{screen}");
        assert!(m.main.drawn.list_offset > 0);
        let row = row_of(&screen, "agent-30");
        update(
            &mut m,
            mouse(MouseEventKind::Down(MouseButton::Left), 6, row),
        );
        assert_eq!(m.current().unwrap().id, "id-30");
        // The list does not jump when the click lands inside the window.
        let offset = m.main.drawn.list_offset;
        draw(&mut m, 80, 24);
        assert_eq!(m.main.drawn.list_offset, offset);
        // A click on a group header or below the rows changes nothing.
        update(&mut m, mouse(MouseEventKind::Down(MouseButton::Left), 6, 0));
        assert_eq!(m.current().unwrap().id, "id-30");
    }

    #[test]
    fn setup_notes_push_the_list_down_and_clicks_follow() {
        let mut m = model(5);
        m.notes = vec![
            Problem::warning(Code::TildeInKeyDir, "CAPISCIO_KEY_DIR=~/k", "fix it"),
            Problem::error(Code::Unreadable, "cannot open /h/x", "chmod"),
        ];
        let screen = draw(&mut m, 80, 24);
        let row = row_of(&screen, "agent-03");
        update(
            &mut m,
            mouse(MouseEventKind::Down(MouseButton::Left), 10, row),
        );
        assert_eq!(m.current().unwrap().id, "id-03");
    }

    #[test]
    fn the_wheel_moves_the_list_or_scrolls_the_details() {
        let mut m = model(3);
        m.identities[1].problems = (0..12)
            .map(|k| {
                Problem::warning(
                    Code::Leftover,
                    format!("leftover file number {k} is here"),
                    "remove it",
                )
            })
            .collect();
        // Problems first: id-01 is the first row, then id-00, id-02.
        m.selected = 0;
        let screen = draw(&mut m, 80, 24);
        assert!(m.main.drawn.details_max > 0, "{screen}");
        let (list, details) = (m.main.drawn.list, m.main.drawn.details);
        update(
            &mut m,
            mouse(MouseEventKind::ScrollDown, details.x + 3, details.y + 3),
        );
        assert_eq!(m.main.details_scroll, 3);
        assert_eq!(
            m.current().unwrap().id,
            "id-01",
            "the wheel over details keeps the row"
        );
        update(
            &mut m,
            mouse(MouseEventKind::ScrollDown, list.x + 3, list.y + 1),
        );
        assert_eq!(m.current().unwrap().id, "id-00");
        assert_eq!(
            m.main.details_scroll, 0,
            "another identity starts at the top"
        );
    }

    #[test]
    fn details_keys_scroll_within_bounds() {
        let mut m = model(2);
        m.identities[0].problems = (0..12)
            .map(|k| {
                Problem::error(
                    Code::MalformedKey,
                    format!("private.jwk: problem {k}"),
                    "restore",
                )
            })
            .collect();
        m.identities[1].problems = m.identities[0].problems.clone();
        draw(&mut m, 80, 24);
        update(&mut m, key(KeyCode::Tab));
        assert_eq!(m.focus, Pane::Details);
        update(&mut m, key(KeyCode::Down));
        assert_eq!(m.main.details_scroll, 1);
        assert_eq!(m.current().unwrap().id, "id-00", "the highlight stays");
        update(&mut m, key(KeyCode::End));
        let max = m.main.drawn.details_max;
        assert_eq!(m.main.details_scroll, max);
        update(&mut m, key(KeyCode::PageDown));
        assert_eq!(m.main.details_scroll, max, "not past the end");
        let screen = draw(&mut m, 80, 24);
        assert!(screen.contains("problem 11"), "{screen}");
        assert!(
            !screen.contains("(v reveal)"),
            "a malformed key offers no reveal"
        );
        update(&mut m, key(KeyCode::Home));
        assert_eq!(m.main.details_scroll, 0);
        update(&mut m, key(KeyCode::PageDown));
        assert!(m.main.details_scroll > 1);
        // Another identity (here through the filter) starts at the top.
        update(&mut m, key(KeyCode::Char('/')));
        update(&mut m, key(KeyCode::Char('1')));
        assert_eq!(m.current().unwrap().id, "id-01");
        let screen = draw(&mut m, 80, 24);
        assert!(screen.contains("Kind        agent"), "{screen}");
    }
}
