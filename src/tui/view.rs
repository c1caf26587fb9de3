//! Pure drawing: model in, frame out. No I/O here, ever.

use super::model::*;
use super::theme::Theme;
use crate::cli::render::{health_glyph, short_did, short_id};
use crate::core::badge::BadgeState;
use crate::core::identity::{Identity, Severity};
use crate::core::ids;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub const MIN_SIZE: (u16, u16) = (80, 24);

pub fn draw(f: &mut Frame, m: &Model, t: &Theme) {
    let area = f.area();
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        let msg = format!(
            "Terminal too small ({}×{}): capiscio-tui needs at least {}×{}.",
            area.width, area.height, MIN_SIZE.0, MIN_SIZE.1
        );
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    // Setup problems (an unreadable directory, `~` in CAPISCIO_KEY_DIR) belong to no
    // identity; `list` prints them under the table, the UI under the header.
    let note_rows = m.notes.len().min(MAX_NOTE_ROWS) as u16;
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(note_rows),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    header(f, rows[0], m, t);
    notes(f, rows[1], m, t);
    let body = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
        .split(rows[2]);
    list(f, body[0], m, t);
    details(f, body[1], m, t);
    footer(f, rows[3], m, t);
    super::screens::draw(f, area, m, t);
}

const MAX_NOTE_ROWS: usize = 3;

fn notes(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let hidden = m.notes.len().saturating_sub(MAX_NOTE_ROWS);
    let lines: Vec<Line> = m
        .notes
        .iter()
        .take(MAX_NOTE_ROWS)
        .enumerate()
        .map(|(n, p)| {
            let (glyph, style) = match p.severity {
                Severity::Error => ("✖", t.error()),
                Severity::Warning => ("▲", t.warning()),
            };
            let more = if hidden > 0 && n + 1 == MAX_NOTE_ROWS {
                format!("  (+{hidden} more: capiscio-tui doctor)")
            } else {
                String::new()
            };
            Line::from(vec![
                Span::styled(format!(" {glyph} {}: ", p.code.as_str()), style),
                Span::raw(p.message.clone()),
                Span::styled(format!(" — {}{more}", p.fix), t.dim()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), r);
}

fn header(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let text = format!(
        " capiscio-tui ─ {} ─ registry: {} ─ {} ─ {} need attention",
        m.home,
        m.registry,
        match m.identities.len() {
            1 => "1 identity".to_string(),
            n => format!("{n} identities"),
        },
        m.attention()
    );
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(text, t.header()))),
        r,
    );
}

fn severity_style(i: &Identity, t: &Theme) -> Style {
    match i.worst() {
        Some(Severity::Error) => t.error(),
        Some(Severity::Warning) => t.warning(),
        None => t.ok(),
    }
}

/// `✔ 4m`, `⚠ 40s`, `✖ exp`, `· –`: a glyph and a word, colour only on top.
pub fn badge_cell(i: &Identity, now: i64, checking: bool, spin: usize) -> (String, Severity2) {
    if checking && i.registry.is_none() {
        let s = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"][spin % 10];
        return (format!("{s} …"), Severity2::Dim);
    }
    match &i.badge {
        None => ("· –".into(), Severity2::Dim),
        Some(b) => {
            let left = if b.expires_at > now {
                ids::duration(b.expires_at - now)
            } else {
                "exp".into()
            };
            match b.state {
                BadgeState::Valid => (format!("✔ {left}"), Severity2::Ok),
                BadgeState::Expiring => (format!("⚠ {left}"), Severity2::Warn),
                BadgeState::Unverified => (format!("? {left}"), Severity2::Dim),
                BadgeState::Expired => ("✖ exp".into(), Severity2::Err),
                other => (format!("✖ {}", other.as_str()), Severity2::Err),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity2 {
    Ok,
    Warn,
    Err,
    Dim,
}

fn s2(s: Severity2, t: &Theme) -> Style {
    match s {
        Severity2::Ok => t.ok(),
        Severity2::Warn => t.warning(),
        Severity2::Err => t.error(),
        Severity2::Dim => t.dim(),
    }
}

fn list(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let title = if m.filtering || !m.filter.is_empty() {
        format!(
            " Identities  [/ {}] ",
            if m.filtering {
                m.filter_input.with_cursor()
            } else {
                m.filter.clone()
            }
        )
    } else {
        " Identities  [/ filter] ".into()
    };
    let border = if m.focus == Pane::List {
        t.accent()
    } else {
        Style::default()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let visible = m.visible();
    let selected = visible.get(m.selected).copied();
    let name_w = (inner.width as usize).saturating_sub(34).clamp(10, 24);
    let mut lines = Vec::new();
    for row in m.rows() {
        match row {
            Row::Header(h) => lines.push(Line::from(Span::styled(h, t.header()))),
            Row::Item(n) => {
                let i = &m.identities[n];
                let (badge, sev) = badge_cell(i, m.now, m.checking, m.spinner);
                let name = match (&i.name, i.source) {
                    (Some(n), _) => n.clone(),
                    (None, crate::core::identity::Source::Env) => {
                        i.location.trim_start_matches("env:").to_string()
                    }
                    (None, _) => short_id(&i.id),
                };
                let mut name: String = name.chars().take(name_w).collect();
                while name.chars().count() < name_w {
                    name.push(' ');
                }
                let did = if i.shadows.is_some() {
                    format!("shadows {}!", short_id(i.shadows.as_deref().unwrap_or("")))
                } else {
                    i.did
                        .as_deref()
                        .map(short_did)
                        .unwrap_or_else(|| "–".into())
                };
                let marker = if Some(n) == selected { "▶ " } else { "  " };
                let mut spans = vec![
                    Span::raw(marker),
                    Span::styled(health_glyph(i), severity_style(i, t)),
                    Span::raw(" "),
                    Span::raw(name),
                    Span::raw(" "),
                    Span::styled(format!("{did:<18}"), t.dim()),
                    Span::raw(" "),
                    Span::styled(badge, s2(sev, t)),
                ];
                if Some(n) == selected {
                    spans = spans
                        .into_iter()
                        .map(|s| s.patch_style(t.selected()))
                        .collect();
                }
                lines.push(Line::from(spans));
            }
        }
    }
    if lines.is_empty() {
        let blind = m
            .notes
            .iter()
            .any(|n| n.code == crate::core::identity::Code::Unreadable);
        lines.push(Line::from(if blind {
            "No identities could be read (see the problem above)."
        } else if m.filter.is_empty() {
            "No identities yet — press n to create one."
        } else {
            "Nothing matches the filter (Esc clears it)."
        }));
    }
    // Keep the selection in view.
    let sel_line = m
        .rows()
        .iter()
        .position(|r| matches!(r, Row::Item(n) if Some(*n) == selected))
        .unwrap_or(0);
    let height = inner.height as usize;
    let offset = sel_line.saturating_sub(height.saturating_sub(1));
    f.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), inner);
}

fn kv<'a>(k: &'a str, v: String, style: Style) -> Line<'a> {
    Line::from(vec![
        Span::styled(
            format!("{k:<12}"),
            Style::default().add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(v, style),
    ])
}

fn details(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let border = if m.focus == Pane::Details {
        t.accent()
    } else {
        Style::default()
    };
    let Some(i) = m.current() else {
        f.render_widget(
            Block::default()
                .borders(Borders::ALL)
                .title(" Details ")
                .border_style(border),
            r,
        );
        return;
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} ", i.label()))
        .border_style(border);
    let plain = Style::default();
    let mut lines = vec![
        kv(
            "Kind",
            format!("{}   Source {}", i.kind.label(), i.source.as_str()),
            plain,
        ),
        kv("Id", i.id.clone(), plain),
        kv("DID", i.did.clone().unwrap_or_else(|| "–".into()), plain),
        kv(
            "Key DID",
            i.key_did.clone().unwrap_or_else(|| "–".into()),
            plain,
        ),
        kv(
            "Fingerprint",
            i.fingerprint.clone().unwrap_or_else(|| "–".into()),
            plain,
        ),
        kv(
            "In use",
            if i.effective {
                "yes — the SDK would use this key".into()
            } else {
                "no".into()
            },
            plain,
        ),
    ];
    if let Some(r) = &i.registry_id {
        lines.insert(2, kv("Registry id", r.clone(), plain));
    }
    match &i.badge {
        None => lines.push(kv("Badge", "none".into(), t.dim())),
        Some(b) => {
            let (cell, sev) = badge_cell(i, m.now, false, 0);
            let level_ial = b.level_ial();
            lines.push(kv(
                "Badge",
                format!(
                    "{} {}{level_ial}",
                    cell.split(' ').next().unwrap_or(""),
                    b.state.as_str()
                ),
                s2(sev, t),
            ));
            if let Some(reason) = &b.reason {
                lines.push(kv("", reason.clone(), t.dim()));
            }
            lines.push(kv(
                "",
                format!(
                    "expires {} · issued {}",
                    ids::relative(b.expires_at, m.now),
                    ids::relative(b.issued_at, m.now)
                ),
                plain,
            ));
            lines.push(kv(
                "",
                format!("iss {} · jti {}", b.iss, short_id(&b.jti)),
                t.dim(),
            ));
        }
    }
    if let Some(reg) = &i.registry {
        lines.push(kv(
            "Registry",
            crate::cli::render::registry_cell(i)
                + &reg
                    .did
                    .as_ref()
                    .map(|d| format!(" · {}", short_did(d)))
                    .unwrap_or_default(),
            plain,
        ));
    }
    if let Some(v) = &i.shadowed_by {
        lines.push(kv(
            "Overridden",
            format!("by {v} (env beats disk)"),
            t.warning(),
        ));
    }
    if !i.files.is_empty() {
        lines.push(kv(
            "Files",
            crate::core::identity::files_line(&i.files),
            plain,
        ));
    }
    match &m.revealed {
        Some((id, text)) if *id == i.id => {
            lines.push(kv(
                "Private key",
                "(revealed — v or leaving the pane masks it)".into(),
                t.warning(),
            ));
            for l in text.lines() {
                lines.push(Line::from(Span::raw(format!("  {l}"))));
            }
        }
        _ => lines.push(kv(
            "Private key",
            "••••••••••••••••••  (v reveal)".into(),
            t.dim(),
        )),
    }
    if i.problems.is_empty() {
        lines.push(kv("Problems", "none".into(), t.ok()));
    } else {
        for (n, p) in i.problems.iter().enumerate() {
            let style = if p.severity == Severity::Error {
                t.error()
            } else {
                t.warning()
            };
            let glyph = if p.severity == Severity::Error {
                "✖"
            } else {
                "▲"
            };
            lines.push(kv(
                if n == 0 { "Problems" } else { "" },
                format!("{glyph} {}: {}", p.code.as_str(), p.message),
                style,
            ));
            let key_hint = if crate::app::fix::repairable(p.code) {
                " (or press f)"
            } else {
                ""
            };
            lines.push(kv("", format!("  fix: {}{key_hint}", p.fix), t.dim()));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        r,
    );
}

fn footer(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let keys = if m.session.auto_renew {
        " ⟳ auto-renew on  c copy  e export  n new  R rotate  ? help  q quit"
    } else {
        " c copy  e export  n new  R rotate  r refresh  / filter  ? help  q quit"
    };
    // A pending clipboard clear always shows its live countdown.
    let right = match (&m.toast, m.clipboard_left) {
        (Some(toast), Some(s)) => format!(
            "{} — clears in {s}s",
            toast.split(" — clears in").next().unwrap_or(toast)
        ),
        (None, Some(s)) => format!("clipboard clears in {s}s"),
        (Some(toast), None) => toast.clone(),
        (None, None) if m.checking => "asking the registry…".into(),
        _ => String::new(),
    };
    let width = r.width as usize;
    // The message matters more than the key reminder when both do not fit.
    let keys = if keys.chars().count() + right.chars().count() + 1 > width {
        if m.session.auto_renew {
            " ⟳ auto-renew on  ? help"
        } else {
            " ? help  q quit"
        }
    } else {
        keys
    };
    let pad = width.saturating_sub(keys.chars().count() + right.chars().count() + 1);
    let line = Line::from(vec![
        Span::styled(keys, t.dim()),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, t.accent()),
    ]);
    f.render_widget(Paragraph::new(line), r);
}

pub use super::screens::export::mask;
