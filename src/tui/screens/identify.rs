//! `i`: what is on the clipboard, as `identify` says it — which identity, current,
//! archived or unknown, and the SDK's verdict. Only the report is kept, never the text.

use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, clamp_scroll, frame};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

pub struct IdentifyState {
    /// `None` while the clipboard is being read.
    pub report: Option<Result<String, String>>,
    pub scroll: u16,
}

pub fn open(m: &mut Model) -> Vec<Effect> {
    m.screen = Screen::Identify(IdentifyState {
        report: None,
        scroll: 0,
    });
    vec![Effect::IdentifyClipboard]
}

pub fn on_result(m: &mut Model, r: Result<String, String>) {
    if let Err(e) = &r {
        m.toast = Some(format!("Identify: {e}"));
    }
    if let Screen::Identify(st) = &mut m.screen {
        st.report = Some(r);
    }
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Identify(st) = &mut m.screen else {
        return Vec::new();
    };
    match k.code {
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => m.screen = Screen::Main,
        KeyCode::Up | KeyCode::Char('k') => st.scroll = st.scroll.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => st.scroll = st.scroll.saturating_add(1),
        _ => {}
    }
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, st: &IdentifyState, t: &Theme) {
    let r = centered(area, 100, 20);
    let (block, inner) = frame(f, area, r, " What is on the clipboard — Esc closes ".into());
    let lines: Vec<Line> = match &st.report {
        None => vec![Line::from(" Reading the clipboard…")],
        Some(Ok(text)) => text.lines().map(|l| Line::from(format!(" {l}"))).collect(),
        Some(Err(e)) => vec![Line::styled(format!(" {e}"), t.error())],
    };
    let rows = super::wrapped_rows(&lines, inner.width);
    let scroll = clamp_scroll(st.scroll, rows, inner.height);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block),
        r,
    );
}
