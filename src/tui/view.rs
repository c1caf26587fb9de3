//! Pure drawing: model in, frame out. No I/O here, ever.

use super::keymap::BINDINGS;
use super::layout::Drawn;
use super::main_view;
use super::model::*;
use super::theme::Theme;
use crate::core::rotation::{Impact, Mode};
use crate::display::{short_did, short_id};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub const MIN_SIZE: (u16, u16) = (80, 24);

/// Draws a frame (see [`frame`] for what was drawn where).
pub fn draw(f: &mut Frame, m: &Model, t: &Theme) {
    let _ = frame(f, m, t);
}

/// Draws a frame and returns where the main screen put its list and details, for
/// hit-testing clicks; the run loop stores it in the model.
pub fn frame(f: &mut Frame, m: &Model, t: &Theme) -> Drawn {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "Terminal too small ({}×{}): capiscio-tui needs at least {}×{}.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return Drawn::default();
    }
    // Setup problems (an unreadable directory, `~` in CAPISCIO_KEY_DIR) belong to no
    // identity; `list` prints them under the table, the UI under the header.
    let note_rows = m.notes.len().min(main_view::MAX_NOTE_ROWS) as u16;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(note_rows),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    main_view::header(f, rows[0], m, t);
    main_view::notes(f, rows[1], m, t);
    let body = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(rows[2]);
    let list = main_view::list(f, body[0], m, t, m.main.drawn.list_offset);
    let details = main_view::details(f, body[1], m, t);
    main_view::footer(f, rows[3], m, t);
    match &m.screen {
        Screen::Main => {}
        Screen::Help => help(f, area, t),
        Screen::Export(st) => export(f, area, st, m, t),
        Screen::Generate(g) => generate(f, area, g, t),
        Screen::Rotate(st) => rotate(f, area, st, t),
    }
    Drawn {
        details: details.details,
        details_height: details.details_height,
        details_max: details.details_max,
        ..list
    }
}

/// Draws a frame on the terminal and records the layout in the model.
pub fn render(
    terminal: &mut ratatui::DefaultTerminal,
    m: &mut Model,
    t: &Theme,
) -> std::io::Result<()> {
    let mut drawn = Drawn::default();
    terminal.draw(|f| drawn = frame(f, m, t))?;
    m.main.drawn = drawn;
    Ok(())
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn help(f: &mut Frame, area: Rect, t: &Theme) {
    let r = centered(area, 64, BINDINGS.len() as u16 + 4);
    f.render_widget(Clear, r);
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
        "  Mouse: click selects, the wheel scrolls (--no-mouse turns it off)",
        t.dim(),
    )));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys — Esc closes "),
        ),
        r,
    );
}

/// Shows the shape of a snippet without the key: long base64 runs become bullets.
pub fn mask(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_b64(chars[i]) {
            let start = i;
            while i < chars.len() && is_b64(chars[i]) {
                i += 1;
            }
            let token: String = chars[start..i].iter().collect();
            let after_did = out.ends_with("did:key:");
            if token.len() >= 40 && !after_did {
                out.push_str("••••••••••••");
            } else {
                out.push_str(&token);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn export(f: &mut Frame, area: Rect, st: &ExportState, m: &Model, t: &Theme) {
    let r = centered(area, 96, 22);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(format!(
        " Copy the key of {} — ↑↓ choose · Enter copies · Esc ",
        short_id(&st.id)
    ));
    let inner = block.inner(r);
    f.render_widget(block, r);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(24), Constraint::Min(10)])
        .split(inner);
    let items: Vec<Line> = EXPORT_FORMATS
        .iter()
        .enumerate()
        .map(|(n, fmt)| {
            let label = match fmt.as_str() {
                "env" => "env line / .env",
                "compose" => "Docker Compose",
                "k8s" => "Kubernetes Secret",
                "lambda" => "AWS Lambda",
                "cloudrun" => "Cloud Run",
                "github" => "GitHub Actions",
                "jwk" => "raw JWK",
                _ => "raw PEM",
            };
            let style = if n == st.selected {
                t.selected()
            } else {
                Style::default()
            };
            Line::from(Span::styled(
                format!(" {} {label}", if n == st.selected { "▶" } else { " " }),
                style,
            ))
        })
        .collect();
    f.render_widget(Paragraph::new(items), cols[0]);
    let preview = match (&st.text, &st.error) {
        (_, Some(e)) => vec![Line::from(Span::styled(e.clone(), t.error()))],
        (Some(text), _) => mask(text)
            .lines()
            .map(|l| Line::from(l.to_string()))
            .collect(),
        (None, None) => vec![Line::from(Span::styled("loading…", t.dim()))],
    };
    let clears = m
        .clear_after
        .map(|s| format!("clears {s}s after copying"))
        .unwrap_or_else(|| "not cleared automatically".into());
    let mut lines = preview;
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        format!("Preview is masked; Enter copies the real text ({clears})."),
        t.dim(),
    )));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::LEFT).title(" preview ")),
        cols[1],
    );
}

fn generate(f: &mut Frame, area: Rect, g: &GenerateState, t: &Theme) {
    let r = centered(area, 70, 13);
    f.render_widget(Clear, r);
    let field = |n: usize, label: &str, value: String| {
        let style = if g.field == n {
            t.selected()
        } else {
            Style::default()
        };
        Line::from(vec![
            Span::raw(format!("  {label:<16}")),
            Span::styled(value, style),
        ])
    };
    let mut lines = vec![
        Line::from(""),
        field(0, "Kind", format!("◀ {} ▶", g.kind.label())),
        field(
            1,
            "Id",
            if g.id.is_empty() {
                "(new UUID)".into()
            } else {
                g.id.clone()
            },
        ),
        field(
            2,
            "Name",
            if g.name.is_empty() {
                "(none)".into()
            } else {
                g.name.clone()
            },
        ),
        field(
            3,
            "Store",
            if g.keyring {
                "◀ OS keyring ▶".into()
            } else {
                "◀ disk (~/.capiscio) ▶".into()
            },
        ),
        field(
            4,
            "Register now",
            if g.register {
                "[x] yes".into()
            } else {
                "[ ] no".into()
            },
        ),
        Line::from(""),
        Line::from(Span::styled(
            "  Tab/↑↓ field · Space toggles · type to edit · Enter creates · Esc",
            t.dim(),
        )),
    ];
    if let Some(e) = &g.error {
        lines.push(Line::from(Span::styled(format!("  {e}"), t.error())));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" New identity "),
        ),
        r,
    );
}

fn rotate(f: &mut Frame, area: Rect, st: &RotateState, t: &Theme) {
    let r = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, r);
    let mode = match st.mode {
        Mode::Planned => "◉ planned  ○ emergency",
        Mode::Emergency => "○ planned  ◉ emergency",
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" Rotate {}?", short_id(&st.id)), t.header()),
            Span::raw("   mode: "),
            Span::styled(mode, t.accent()),
            Span::styled("  (Tab)", t.dim()),
        ]),
        Line::from(""),
    ];
    if let Some(j) = &st.journal {
        lines.push(Line::from(Span::styled(
            format!(
                " {} → {}",
                short_did(&j.old_did),
                j.new_did.as_deref().map(short_did).unwrap_or_default()
            ),
            t.header(),
        )));
        for s in &j.steps {
            let (g, style) = match s.state.label() {
                "done" => ("✔", t.ok()),
                "skipped" => ("–", t.dim()),
                "failed" => ("✖", t.error()),
                _ => ("○", t.warning()),
            };
            let why = s
                .state
                .reason()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default();
            lines.push(Line::from(vec![
                Span::styled(format!(" {g} "), style),
                Span::raw(format!("{:<52} {}{why}", s.id.title(), s.state.label())),
            ]));
        }
        for n in &j.notes {
            lines.push(Line::from(Span::styled(format!(" note: {n}"), t.dim())));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            " Capture the new key now: Esc, then c on the identity. Enter closes.",
            t.accent(),
        )));
    } else if let Some(j) = &st.resumable {
        let what = if j.interrupted() {
            "was interrupted before it finished"
        } else {
            "has open walkthrough steps"
        };
        lines.push(Line::from(Span::styled(
            format!(" An earlier rotation of this identity {what}:"),
            t.warning(),
        )));
        for s in &j.steps {
            let why = s
                .state
                .reason()
                .map(|r| format!(" — {r}"))
                .unwrap_or_default();
            lines.push(Line::from(format!(
                "   {:<52} {}{why}",
                s.id.title(),
                s.state.label()
            )));
        }
        lines.push(Line::from(""));
        let tab = if j.interrupted() {
            ""
        } else {
            " · Tab starts a new rotation"
        };
        lines.push(Line::from(Span::styled(
            format!(" Enter resumes it{tab} · Esc cancels"),
            t.accent(),
        )));
    } else if let Some(e) = &st.error {
        lines.push(Line::from(Span::styled(format!(" {e}"), t.error())));
        lines.push(Line::from(Span::styled(" Enter closes.", t.dim())));
    } else if st.running {
        lines.push(Line::from(Span::styled(
            " Rotating… (the old key is archived first; nothing is deleted)",
            t.accent(),
        )));
    } else if let Some(p) = &st.plan {
        for c in &p.consequences {
            let style = match c.severity {
                Impact::Error => t.error(),
                Impact::Warning => t.warning(),
                Impact::Ok => t.ok(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!(" {} ", c.severity.glyph()), style),
                Span::raw(c.message.clone()),
            ]));
        }
        lines.push(Line::from(""));
        if st.mode == Mode::Emergency && st.emergency_confirmed {
            lines.push(Line::from(Span::styled(
                " Emergency: the old key is dropped and its badge revoked. Enter again to confirm.",
                t.error(),
            )));
        } else {
            lines.push(Line::from(vec![
                Span::raw(" Type the identity id to continue: "),
                Span::styled(format!("{}█", st.typed), t.accent()),
            ]));
        }
    } else {
        lines.push(Line::from(Span::styled(
            " Working out the impact…",
            t.dim(),
        )));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Rotate — Esc cancels "),
        ),
        r,
    );
}
