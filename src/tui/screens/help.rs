//! `?`: every entry of the key table, scrollable so that it is readable at 80×24.

use super::super::keymap::{self, Action, BINDINGS};
use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, clamp_scroll, frame};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Lines after the key table.
const EXTRA_LINES: usize = 2;

/// The help's lines: the key table, the text-field keys and the mouse.
fn lines(t: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("  {:<8}", b.keys), t.accent()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::from(Span::styled(
        "  In text fields: ←→ Home End move · Ctrl-U clears · Ctrl-W deletes a word",
        t.dim(),
    )));
    lines.push(Line::from(Span::styled(
        "  Mouse: click selects, the wheel scrolls (--no-mouse turns it off)",
        t.dim(),
    )));
    lines
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    match (k.code, keymap::action(&k)) {
        (KeyCode::Enter, _) | (_, Some(Action::Back | Action::Help | Action::Quit)) => {
            m.session.help_scroll = 0;
            m.screen = Screen::Main;
        }
        (KeyCode::Down | KeyCode::PageDown, _) | (_, Some(Action::Down)) => {
            // Never past the last page, so ↑ works at once after holding ↓.
            let len = BINDINGS.len() + EXTRA_LINES;
            let inner = (len as u16 + 2)
                .min(m.size.1.saturating_sub(2))
                .saturating_sub(2);
            m.session.help_scroll =
                clamp_scroll(m.session.help_scroll.saturating_add(1), len, inner)
        }
        (KeyCode::Up | KeyCode::PageUp, _) | (_, Some(Action::Up)) => {
            m.session.help_scroll = m.session.help_scroll.saturating_sub(1)
        }
        _ => {}
    }
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, scroll: u16, t: &Theme) {
    let lines = lines(t);
    let r = centered(area, 80, lines.len() as u16 + 2);
    let inner_h = r.height.saturating_sub(2);
    let scroll = clamp_scroll(scroll, lines.len(), inner_h);
    let more = lines.len() > inner_h as usize + scroll as usize;
    let title = if more || scroll > 0 {
        " Keys — ↑↓ scroll · Esc closes ".to_string()
    } else {
        " Keys — Esc closes ".to_string()
    };
    let (block, _) = frame(f, area, r, title);
    let block = if more {
        block.title_bottom(Line::from(" ↓ more ").right_aligned())
    } else {
        block
    };
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
