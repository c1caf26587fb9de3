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
use ratatui::widgets::{Paragraph, Wrap};

/// How far the log is scrolled up from its newest line.
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
        (KeyCode::PageUp, _) => st.back = st.back.saturating_add(10).min(len),
        (KeyCode::PageDown, _) => st.back = st.back.saturating_sub(10),
        (_, Some(Action::Up)) => st.back = st.back.saturating_add(1).min(len),
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
    let dropped = (m.session.log_dropped > 0).then(|| {
        Line::from(Span::styled(
            format!(
                " … {} older message(s) dropped: the log keeps the last {}",
                m.session.log_dropped,
                super::actions::LOG_KEEP
            ),
            t.dim(),
        ))
    });
    let lines: Vec<Line> = if m.session.log.is_empty() {
        vec![Line::from(Span::styled(" No messages yet.", t.dim()))]
    } else {
        dropped
            .into_iter()
            .chain(m.session.log.iter().map(|(at, text)| {
                Line::from(vec![
                    Span::styled(format!(" {} ", clock(*at)), t.dim()),
                    Span::raw(text.clone()),
                ])
            }))
            .collect()
    };
    // Newest at the bottom; `back` scrolls up from there.
    let len = lines.len();
    let bottom = len.saturating_sub(inner.height as usize) as u16;
    let scroll = clamp_scroll(bottom.saturating_sub(st.back), len, inner.height);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block)
            .scroll((scroll, 0)),
        r,
    );
}
