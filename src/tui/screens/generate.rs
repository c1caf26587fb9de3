//! `n`: the new-identity dialog.

use super::super::input::TextField;
use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, frame};
use crate::core::identity::Kind;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub struct GenerateState {
    pub kind: Kind,
    pub id: TextField,
    pub name: TextField,
    pub keyring: bool,
    pub register: bool,
    pub field: usize,
    pub error: Option<String>,
}

impl GenerateState {
    pub const FIELDS: usize = 5;
}

impl Default for GenerateState {
    fn default() -> Self {
        Self {
            kind: Kind::Agent,
            id: TextField::default(),
            name: TextField::default(),
            keyring: false,
            register: false,
            field: 0,
            error: None,
        }
    }
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Generate(g) = &mut m.screen else {
        return Vec::new();
    };
    match k.code {
        KeyCode::Esc => m.screen = Screen::Main,
        KeyCode::Tab | KeyCode::Down => g.field = (g.field + 1) % GenerateState::FIELDS,
        KeyCode::BackTab | KeyCode::Up => {
            g.field = (g.field + GenerateState::FIELDS - 1) % GenerateState::FIELDS
        }
        KeyCode::Enter => {
            let id = g.id.value().trim();
            let name = g.name.value().trim();
            return vec![Effect::Generate {
                kind: g.kind,
                id: (!id.is_empty()).then(|| id.to_string()),
                name: (!name.is_empty()).then(|| name.to_string()),
                keyring: g.keyring,
                register: g.register,
            }];
        }
        _ if g.field == 1 => {
            g.id.handle(&k);
        }
        _ if g.field == 2 => {
            g.name.handle(&k);
        }
        KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => match g.field {
            0 => {
                g.kind = if g.kind == Kind::Agent {
                    Kind::McpServer
                } else {
                    Kind::Agent
                }
            }
            3 => g.keyring = !g.keyring,
            _ => g.register = !g.register,
        },
        _ => {}
    }
    Vec::new()
}

pub fn draw(f: &mut Frame, area: Rect, g: &GenerateState, t: &Theme) {
    // Tall enough for the whole error (a keyring or registry reason can be long).
    let err_rows = g
        .error
        .as_deref()
        .map(|e| crate::display::text::wrap(e, 66).len())
        .unwrap_or(0) as u16;
    let r = centered(area, 70, (10 + err_rows).max(13));
    let field = |label: &str, value: Vec<Span<'static>>| {
        let mut spans = vec![Span::raw(format!("  {label:<16}"))];
        spans.extend(value);
        Line::from(spans)
    };
    let style = |n: usize| {
        if g.field == n {
            t.selected()
        } else {
            Style::default()
        }
    };
    let text = |n: usize, f: &TextField, empty: &str| {
        if f.is_empty() && g.field != n {
            vec![Span::styled(empty.to_string(), t.dim())]
        } else {
            f.spans(style(n), g.field == n)
        }
    };
    let plain = |n: usize, s: String| vec![Span::styled(s, style(n))];
    let mut lines = vec![
        Line::from(""),
        field("Kind", plain(0, format!("◀ {} ▶", g.kind.label()))),
        field("Id", text(1, &g.id, "(new UUID)")),
        field("Name", text(2, &g.name, "(none)")),
        field(
            "Store",
            plain(
                3,
                if g.keyring {
                    "◀ OS keyring ▶".into()
                } else {
                    "◀ disk (~/.capiscio) ▶".into()
                },
            ),
        ),
        field(
            "Register now",
            plain(
                4,
                if g.register {
                    "[x] yes".into()
                } else {
                    "[ ] no".into()
                },
            ),
        ),
        Line::from(""),
        Line::from(Span::styled(
            "  Tab/↑↓ field · Space toggles · type to edit · Enter creates · Esc",
            t.dim(),
        )),
    ];
    if let Some(e) = &g.error {
        for row in crate::display::text::wrap(e, 66) {
            lines.push(Line::from(Span::styled(format!("  {row}"), t.error())));
        }
    }
    let (block, _) = frame(f, area, r, " New identity ".into());
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}
