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
    pub drawn: Drawn,
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
}
