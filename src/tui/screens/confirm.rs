//! An explicit yes for destructive actions (rollback, ending a grace period): the screen
//! says what will happen, and only `y` goes ahead.

use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, frame};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub struct ConfirmState {
    pub title: String,
    /// What will happen, one paragraph a line.
    pub lines: Vec<String>,
    /// What `y` does, as a verb phrase ("roll back billing-agent").
    pub verb: String,
    pub effect: Effect,
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Confirm(st) = &mut m.screen else {
        return Vec::new();
    };
    let plain = !k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match k.code {
        KeyCode::Char('y' | 'Y') if plain => {
            let fx = st.effect.clone();
            m.toast = Some(format!("Working: {}…", st.verb));
            m.screen = Screen::Main;
            vec![fx]
        }
        KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
            m.toast = Some(format!("Cancelled: did not {}", st.verb));
            m.screen = Screen::Main;
            Vec::new()
        }
        _ => {
            m.toast = Some(format!("Press y to {}, or n / Esc to cancel", st.verb));
            Vec::new()
        }
    }
}

pub fn draw(f: &mut Frame, area: Rect, st: &ConfirmState, t: &Theme) {
    let r = centered(area, 76, st.lines.len() as u16 * 2 + 6);
    let (block, _) = frame(f, area, r, format!(" {} ", st.title));
    let mut lines = vec![Line::from("")];
    for l in &st.lines {
        lines.push(Line::from(format!(" {l}")));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(vec![
        Span::styled(" y ", t.error()),
        Span::raw(format!("{} · ", st.verb)),
        Span::styled("n / Esc ", t.accent()),
        Span::raw("cancels"),
    ]));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}
