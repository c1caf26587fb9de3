//! The modal screens, one file each: its state, its keys and its drawing. `update` and
//! `view` only dispatch here, so a screen can change without touching the main screen.

pub mod actions;
pub mod confirm;
pub mod export;
pub mod generate;
pub mod help;
pub mod log;
pub mod results;
pub mod rotate;

use super::model::{Effect, Model, Screen};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Clear};

/// Keys while a modal screen is open (never called for the main screen).
pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    match &m.screen {
        Screen::Main => Vec::new(),
        Screen::Help => help::key(m, k),
        Screen::Export(_) => export::key(m, k),
        Screen::Generate(_) => generate::key(m, k),
        Screen::Rotate(_) => rotate::key(m, k),
        Screen::Log(_) => log::key(m, k),
        Screen::Confirm(_) => confirm::key(m, k),
    }
}

/// Draws the open modal screen over the main screen.
pub fn draw(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    match &m.screen {
        Screen::Main => {}
        Screen::Help => help::draw(f, area, m.session.help_scroll, t),
        Screen::Export(st) => export::draw(f, area, st, m, t),
        Screen::Generate(g) => generate::draw(f, area, g, t),
        Screen::Rotate(st) => rotate::draw(f, area, st, t),
        Screen::Log(st) => log::draw(f, area, st, m, t),
        Screen::Confirm(st) => confirm::draw(f, area, st, t),
    }
}

/// A centred rectangle of at most `w`×`h` inside `area`, one cell from its edges.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clears the modal's whole rectangle (borders included) and the column on each side
/// of it, so no character of the screen below bleeds into its edges: a wide glyph cut
/// in half by the border would otherwise still be drawn over it.
pub fn frame<'a>(f: &mut Frame, area: Rect, r: Rect, title: String) -> (Block<'a>, Rect) {
    let margin = Rect {
        x: r.x.saturating_sub(1),
        y: r.y,
        width: r.width + 2,
        height: r.height,
    }
    .intersection(area);
    f.render_widget(Clear, margin);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(r);
    (block, inner)
}

/// How many lines to scroll so that `len` lines fit into `height` after `offset`.
pub fn clamp_scroll(offset: u16, len: usize, height: u16) -> u16 {
    let max = len.saturating_sub(height as usize) as u16;
    offset.min(max)
}

/// Rows `lines` take when word-wrapped to `width` (greedy, as the paragraph wraps), so
/// a modal can size its fixed part and know whether its body has more below.
pub fn wrapped_rows(lines: &[ratatui::text::Line], width: u16) -> usize {
    let width = width.max(1) as usize;
    lines
        .iter()
        .map(|l| {
            let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
            let mut rows = 1;
            let mut col = 0;
            for word in text.split_inclusive(' ') {
                let w = ratatui::text::Span::raw(word).width();
                let bare = ratatui::text::Span::raw(word.trim_end()).width();
                if col > 0 && col + bare > width {
                    rows += 1;
                    col = 0;
                }
                if w > width {
                    rows += (col + w - 1) / width;
                    col = (col + w) % width;
                } else {
                    col += w;
                }
            }
            rows
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use ratatui::text::Line;

    #[test]
    fn wrapped_rows_counts_word_wrapping() {
        assert_eq!(super::wrapped_rows(&[Line::from("")], 10), 1);
        assert_eq!(super::wrapped_rows(&[Line::from("aaaa bbbb")], 10), 1);
        assert_eq!(super::wrapped_rows(&[Line::from("aaaa bbbb cc")], 10), 2);
        assert_eq!(
            super::wrapped_rows(&[Line::from("aaaaaaaaaaaaaaaaaaaaaaaaa")], 10),
            3
        );
    }
}
