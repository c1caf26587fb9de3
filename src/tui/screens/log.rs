//! `L`: every message this session showed (toasts and results), newest last, with the
//! time it appeared — a status line fades, the log keeps it.

use super::super::keymap::{self, Action};
use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, clamp_scroll, frame};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// How many messages the log is scrolled up from its newest one.
#[derive(Debug, Default)]
pub struct LogState {
    pub back: u16,
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let len = m.session.log.len() as u16;
    let Screen::Log(st) = &mut m.screen else {
        return Vec::new();
    };
    match (k.code, keymap::action(&k)) {
        (KeyCode::Enter, _) | (_, Some(Action::Back | Action::Quit | Action::Log)) => {
            m.screen = Screen::Main
        }
        (KeyCode::PageUp, _) => st.back = st.back.saturating_add(10).min(len.saturating_sub(1)),
        (KeyCode::PageDown, _) => st.back = st.back.saturating_sub(10),
        (_, Some(Action::Up)) => st.back = st.back.saturating_add(1).min(len.saturating_sub(1)),
        (_, Some(Action::Home)) => st.back = len.saturating_sub(1),
        (_, Some(Action::End)) => st.back = 0,
        (_, Some(Action::Down)) => st.back = st.back.saturating_sub(1),
        _ => {}
    }
    Vec::new()
}

/// `HH:MM:SS` (UTC) of a Unix time.
fn clock(unix: i64) -> String {
    let s = unix.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

pub fn draw(f: &mut Frame, area: Rect, st: &LogState, m: &Model, t: &Theme) {
    let r = centered(area, 110, area.height.saturating_sub(4));
    let (block, inner) = frame(
        f,
        area,
        r,
        " Messages this session (UTC) — ↑↓ scroll · Esc closes ".into(),
    );
    // Wrapped here, not by the paragraph, so the scroll counts the rows really drawn
    // and the newest message is always reachable; continuation rows hang under the text.
    const STAMP: usize = 10;
    let cols = inner.width as usize;
    let mut lines: Vec<Line> = Vec::new();
    if m.session.log_dropped > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                " … {} older message(s) dropped: the log keeps the last {}",
                m.session.log_dropped,
                super::actions::LOG_KEEP
            ),
            t.dim(),
        )));
    }
    // The row where each message ends, so `back` (in messages) becomes a row offset.
    let mut ends: Vec<usize> = Vec::new();
    for (at, text) in &m.session.log {
        let rows = crate::display::text::wrap_hanging(
            text,
            cols.saturating_sub(STAMP),
            cols.saturating_sub(STAMP),
        );
        for (n, row) in rows.into_iter().enumerate() {
            let stamp = if n == 0 {
                format!(" {} ", clock(*at))
            } else {
                " ".repeat(STAMP)
            };
            lines.push(Line::from(vec![
                Span::styled(stamp, t.dim()),
                Span::raw(row),
            ]));
        }
        ends.push(lines.len());
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(" No messages yet.", t.dim())));
    }
    // Newest at the bottom; `back` messages up from there, the last one shown in full.
    let last = ends
        .len()
        .checked_sub(1 + st.back as usize)
        .and_then(|n| ends.get(n))
        .copied()
        .unwrap_or(lines.len());
    let scroll = clamp_scroll(
        last.saturating_sub(inner.height as usize) as u16,
        lines.len(),
        inner.height,
    );
    f.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), r);
}
