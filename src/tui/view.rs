//! Pure drawing: model in, frame out. No I/O here, ever.

use super::keymap::BINDINGS;
use super::model::*;
use super::theme::Theme;
use crate::cli::render::{health_glyph, short_did, short_id};
use crate::core::badge::BadgeState;
use crate::core::identity::{Identity, Severity};
use crate::core::ids;
use crate::core::rotation::{Impact, Mode};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

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
    match &m.screen {
        Screen::Main => {}
        Screen::Help => help(f, area, t),
        Screen::Export(st) => export(f, area, st, m, t),
        Screen::Generate(g) => generate(f, area, g, t),
        Screen::Rotate(st) => rotate(f, area, st, t),
    }
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
            " Identities  [/ {}{}] ",
            m.filter,
            if m.filtering { "█" } else { "" }
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
    let keys = " c copy  e export  n new  R rotate  r refresh  / filter  ? help  q quit";
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
        " ? help  q quit"
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
