//! The main screen: header, setup notes, the identity list, the details pane and the
//! footer. Pure drawing from the model; it reports where it drew (`layout::Drawn`).

use super::layout::{Drawn, list_offset};
use super::model::{Model, Pane, Row};
use super::theme::Theme;
use crate::core::identity::{Code, Identity, Severity};
use crate::core::ids;
use crate::display::{self, Tone, text};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

pub const MAX_NOTE_ROWS: usize = 3;
/// Width of the details pane's key column ("Fingerprint ").
const KEY_COL: usize = 12;

pub fn tone(s: Tone, t: &Theme) -> Style {
    match s {
        Tone::Ok => t.ok(),
        Tone::Warn => t.warning(),
        Tone::Err => t.error(),
        Tone::Dim => t.dim(),
    }
}

/// Spans cut to `max` columns in total; a cut ends with `…`.
fn fit_spans(spans: Vec<(String, Style)>, max: usize) -> Line<'static> {
    let mut left = max;
    let mut out = Vec::new();
    for (s, style) in spans {
        if left == 0 {
            break;
        }
        let cut = text::fit(&s, left);
        left -= text::width(&cut);
        let was_cut = cut != s;
        out.push(Span::styled(cut, style));
        if was_cut {
            break;
        }
    }
    Line::from(out)
}

/// The header: counts always, then as much of the registry and the home as fits
/// (the home keeps its end, the registry its start), the title last to go.
pub fn header_text(m: &Model, width: usize) -> String {
    let counts = format!(
        "{} ─ {}",
        display::identities(m.identities.len()),
        display::need_attention(display::attention(&m.identities))
    );
    let registry = format!("registry: {}", m.registry);
    let full = format!(" capiscio-tui ─ {} ─ {registry} ─ {counts}", m.home);
    if text::width(&full) <= width {
        return full;
    }
    for title in [" capiscio-tui ─ ", " "] {
        let fixed = text::width(title) + 2 * text::width(" ─ ") + text::width(&counts);
        let avail = width.saturating_sub(fixed);
        let home_w = text::width(&m.home).min((avail / 3).max(14));
        let reg_w = avail.saturating_sub(home_w);
        if reg_w >= 16 {
            return format!(
                "{title}{} ─ {} ─ {counts}",
                text::fit_start(&m.home, home_w),
                text::fit(&registry, reg_w)
            );
        }
    }
    // Narrower still: the counts alone, then the registry if some of it fits.
    let avail = width.saturating_sub(text::width(&counts) + 4);
    if avail >= 12 {
        format!(" {} ─ {counts}", text::fit(&registry, avail))
    } else {
        text::fit(&format!(" {counts}"), width)
    }
}

pub fn header(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let text = header_text(m, r.width as usize);
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(text, t.header()))),
        r,
    );
}

pub fn notes(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
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
            fit_spans(
                vec![
                    (format!(" {glyph} {}: ", p.code.as_str()), style),
                    (p.message.clone(), Style::default()),
                    (format!(" — {}{more}", p.fix), t.dim()),
                ],
                r.width as usize,
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines), r);
}

/// The spinner while the registry has not answered for this row, else the badge cell.
fn badge_short(i: &Identity, m: &Model) -> (String, Tone) {
    if m.checking && i.registry.is_none() {
        let s = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"][m.spinner % 10];
        return (format!("{s} …"), Tone::Dim);
    }
    let c = display::badge_cell(i, m.now);
    (c.short(), c.tone())
}

/// Draws the list; returns its inner area, scroll offset and the identity on each line.
pub fn list(f: &mut Frame, r: Rect, m: &Model, t: &Theme, prev_offset: usize) -> Drawn {
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
        .title(text::fit(&title, r.width.saturating_sub(2) as usize))
        .border_style(border);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let rows = m.rows();
    let visible = m.visible();
    let selected = visible.get(m.selected).copied();
    let width = inner.width as usize;
    let height = inner.height as usize;
    if rows.is_empty() {
        let blind = m.notes.iter().any(|n| n.code == Code::Unreadable);
        let msg = if blind {
            "No identities could be read (see the problem above)."
        } else if m.filter.is_empty() {
            "No identities yet — press n to create one."
        } else {
            "Nothing matches the filter (Esc clears it)."
        };
        f.render_widget(Paragraph::new(text::fit(msg, width)), inner);
        return Drawn {
            list: inner,
            ..Drawn::default()
        };
    }
    let sel_line = rows
        .iter()
        .position(|r| matches!(r, Row::Item(n) if Some(*n) == selected))
        .unwrap_or(0);
    let top = if sel_line > 0 && matches!(rows[sel_line - 1], Row::Header(_)) {
        sel_line - 1
    } else {
        sel_line
    };
    let offset = list_offset(prev_offset, top, sel_line, height, rows.len());
    let window = &rows[offset..rows.len().min(offset + height)];
    // Columns: marker, health glyph, name, DID, badge. The badge column is as wide as its
    // widest cell on screen; the DID goes first when the name would get too narrow.
    let badges: Vec<Option<(String, Tone)>> = window
        .iter()
        .map(|r| match r {
            Row::Item(n) => Some(badge_short(&m.identities[*n], m)),
            Row::Header(_) => None,
        })
        .collect();
    let badge_w = badges
        .iter()
        .flatten()
        .map(|(b, _)| text::width(b))
        .max()
        .unwrap_or(0)
        .clamp(5, 18);
    const DID_W: usize = 18;
    let fixed = 2 + 1 + 1 + 1 + badge_w;
    let with_did = width.saturating_sub(fixed + DID_W + 1) >= 12;
    let name_w = width
        .saturating_sub(fixed + if with_did { DID_W + 1 } else { 0 })
        .clamp(1, 40);
    let mut lines = Vec::with_capacity(window.len());
    let mut drawn_rows = Vec::with_capacity(window.len());
    for (row, badge) in window.iter().zip(badges) {
        match (row, badge) {
            (Row::Item(n), Some((badge, sev))) => {
                let i = &m.identities[*n];
                let did = if let Some(s) = &i.shadows {
                    format!("shadows {}!", display::short_id(s))
                } else {
                    i.did
                        .as_deref()
                        .map(display::short_did)
                        .unwrap_or_else(|| "–".into())
                };
                let is_sel = Some(*n) == selected;
                let mut spans = vec![
                    (
                        if is_sel { "▶ " } else { "  " }.to_string(),
                        Style::default(),
                    ),
                    (
                        display::health_glyph(i).to_string(),
                        tone(Tone::of(i.worst()), t),
                    ),
                    (" ".into(), Style::default()),
                    (text::cell(&display::list_name(i), name_w), Style::default()),
                    (" ".into(), Style::default()),
                ];
                if with_did {
                    spans.push((text::cell(&did, DID_W), t.dim()));
                    spans.push((" ".into(), Style::default()));
                }
                spans.push((text::fit(&badge, badge_w), tone(sev, t)));
                let mut line = fit_spans(spans, width);
                if is_sel {
                    line = Line::from(
                        line.spans
                            .into_iter()
                            .map(|s| s.patch_style(t.selected()))
                            .collect::<Vec<_>>(),
                    );
                }
                lines.push(line);
                drawn_rows.push(Some(*n));
            }
            (Row::Header(h), _) => {
                lines.push(Line::from(Span::styled(text::fit(h, width), t.header())));
                drawn_rows.push(None);
            }
            (Row::Item(_), None) => {}
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
    Drawn {
        list: inner,
        list_offset: offset,
        list_rows: drawn_rows,
        ..Drawn::default()
    }
}

/// A key and its value; the value wraps with a hanging indent: continuation lines start
/// under the value (plus `hang` columns), never at column 0.
fn kv(out: &mut Vec<Line<'static>>, k: &str, v: &str, style: Style, width: usize, hang: usize) {
    let key_style = Style::default().add_modifier(Modifier::BOLD);
    let value_w = width.saturating_sub(KEY_COL).max(8);
    let indent = KEY_COL + hang;
    let mut parts = text::wrap_hanging(v, value_w, width.saturating_sub(indent).max(8)).into_iter();
    out.push(Line::from(vec![
        Span::styled(text::cell(k, KEY_COL), key_style),
        Span::styled(parts.next().unwrap_or_default(), style),
    ]));
    for l in parts {
        out.push(Line::from(vec![
            Span::raw(" ".repeat(indent)),
            Span::styled(l, style),
        ]));
    }
}

/// `v` from column `indent`, wrapped to `width`; continuation lines start at `hang`.
fn hanging(
    out: &mut Vec<Line<'static>>,
    v: &str,
    style: Style,
    width: usize,
    indent: usize,
    hang: usize,
) {
    let parts = text::wrap_hanging(
        v,
        width.saturating_sub(indent).max(8),
        width.saturating_sub(hang).max(8),
    );
    for (n, l) in parts.into_iter().enumerate() {
        out.push(Line::from(vec![
            Span::raw(" ".repeat(if n == 0 { indent } else { hang })),
            Span::styled(l, style),
        ]));
    }
}

/// The lines of the details pane for `i`, wrapped to `width`.
pub fn detail_lines(i: &Identity, m: &Model, t: &Theme, width: usize) -> Vec<Line<'static>> {
    let plain = Style::default();
    let mut lines = Vec::new();
    let w = width;
    kv(
        &mut lines,
        "Kind",
        &format!("{}   Source {}", i.kind.label(), i.source.as_str()),
        plain,
        w,
        0,
    );
    kv(&mut lines, "Id", &i.id, plain, w, 0);
    if let Some(r) = &i.registry_id {
        kv(&mut lines, "Registry id", r, plain, w, 0);
    }
    kv(
        &mut lines,
        "DID",
        i.did.as_deref().unwrap_or("–"),
        plain,
        w,
        0,
    );
    kv(
        &mut lines,
        "Key DID",
        i.key_did.as_deref().unwrap_or("–"),
        plain,
        w,
        0,
    );
    kv(
        &mut lines,
        "Fingerprint",
        i.fingerprint.as_deref().unwrap_or("–"),
        plain,
        w,
        0,
    );
    kv(
        &mut lines,
        "In use",
        if i.effective {
            "yes — the SDK would use this key"
        } else {
            "no"
        },
        plain,
        w,
        0,
    );
    match &i.badge {
        None => kv(&mut lines, "Badge", "none", t.dim(), w, 0),
        Some(b) => {
            let cell = display::badge_cell(i, m.now);
            let state = cell.state.map(|s| s.as_str()).unwrap_or("none");
            kv(
                &mut lines,
                "Badge",
                &format!("{} {state}{}", cell.glyph(), b.level_ial()),
                tone(cell.tone(), t),
                w,
                2,
            );
            if let Some(reason) = &b.reason {
                kv(&mut lines, "", reason, t.dim(), w, 0);
            }
            // A revoked or disabled badge is over whatever its expiry says: no countdown.
            let when = if cell.left.is_some() {
                format!(
                    "expires {} · issued {}",
                    ids::relative(b.expires_at, m.now),
                    ids::relative(b.issued_at, m.now)
                )
            } else {
                format!(
                    "issued {} · exp claim {}",
                    ids::relative(b.issued_at, m.now),
                    ids::rfc3339(b.expires_at)
                )
            };
            kv(&mut lines, "", &when, plain, w, 0);
            kv(
                &mut lines,
                "",
                &format!("iss {} · jti {}", b.iss, display::short_id(&b.jti)),
                t.dim(),
                w,
                0,
            );
        }
    }
    if let Some(reg) = &i.registry {
        kv(
            &mut lines,
            "Registry",
            &(display::registry_cell(i)
                + &reg
                    .did
                    .as_ref()
                    .map(|d| format!(" · {}", display::short_did(d)))
                    .unwrap_or_default()),
            plain,
            w,
            0,
        );
    }
    if let Some(v) = &i.shadowed_by {
        kv(
            &mut lines,
            "Overridden",
            &format!("by {v} (env beats disk)"),
            t.warning(),
            w,
            0,
        );
    }
    if !i.files.is_empty() {
        kv(
            &mut lines,
            "Files",
            &crate::core::identity::files_line(&i.files),
            plain,
            w,
            0,
        );
    }
    match &m.revealed {
        Some((id, secret)) if *id == super::target::of(&m.identities, i) => {
            kv(
                &mut lines,
                "Private key",
                "(revealed — v or leaving the pane masks it)",
                t.warning(),
                w,
                0,
            );
            for l in secret.lines() {
                for part in text::wrap(l, w.saturating_sub(2).max(8)) {
                    lines.push(Line::from(Span::raw(format!("  {part}"))));
                }
            }
        }
        _ if display::key_loadable(i) => kv(
            &mut lines,
            "Private key",
            "••••••••  (v reveal)",
            t.dim(),
            w,
            0,
        ),
        _ => kv(
            &mut lines,
            "Private key",
            "cannot be loaded (see Problems)",
            t.dim(),
            w,
            0,
        ),
    }
    if i.problems.is_empty() {
        kv(&mut lines, "Problems", "none", t.ok(), w, 0);
    } else {
        // Problems get the pane's full width: they are the longest lines and the reason
        // to look at the details at all.
        lines.push(Line::from(Span::styled(
            format!("Problems ({})", i.problems.len()),
            Style::default().add_modifier(Modifier::BOLD),
        )));
        for p in &i.problems {
            let style = tone(Tone::of(Some(p.severity)), t);
            hanging(&mut lines, &display::problem_text(p), style, w, 0, 2);
            let key_hint = if crate::app::fix::repairable(p.code) {
                " (or press f)"
            } else {
                ""
            };
            hanging(
                &mut lines,
                &format!("{}{key_hint}", display::fix_text(p)),
                t.dim(),
                w,
                2,
                7,
            );
        }
    }
    deployed_lines(&mut lines, i, m, t, w);
    lines
}

/// The "Deployed" section: each recorded push target with what `D` last found there,
/// else what was last pushed. Nothing when the identity was never pushed.
fn deployed_lines(lines: &mut Vec<Line<'static>>, i: &Identity, m: &Model, t: &Theme, w: usize) {
    let key = (i.kind, i.id.clone());
    let records = m.deployments.of(&key);
    if records.is_empty() {
        return;
    }
    let checking = m.deployments.checking.contains(&key);
    lines.push(Line::from(Span::styled(
        format!(
            "Deployed ({}){}",
            records.len(),
            if checking {
                " — reading back…"
            } else {
                " — D checks"
            }
        ),
        Style::default().add_modifier(Modifier::BOLD),
    )));
    let found = m.deployments.found.get(&key);
    if let Some(Err(e)) = found {
        hanging(lines, &format!("cannot check: {e}"), t.error(), w, 2, 4);
    }
    for r in records {
        let row = found
            .and_then(|f| f.as_ref().ok())
            .and_then(|rows| rows.iter().find(|d| d.target == r.target));
        let (text, style) = match row {
            Some(d) => {
                let style = match d.state {
                    crate::app::push::State::Current => t.ok(),
                    crate::app::push::State::WriteOnly if !d.fails() => t.ok(),
                    crate::app::push::State::WriteOnly | crate::app::push::State::Previous => {
                        t.warning()
                    }
                    _ => t.error(),
                };
                (
                    format!(
                        "{}  {}{}",
                        r.target,
                        d.state.as_str(),
                        display::deployed::deployed_detail(d, m.now)
                    ),
                    style,
                )
            }
            None => {
                let which = if i.fingerprint.as_deref() == Some(r.fingerprint.as_str()) {
                    "the current key"
                } else {
                    "an older key"
                };
                (
                    format!(
                        "{}  pushed {} ({which}) {}",
                        r.target,
                        r.fingerprint,
                        crate::core::ids::relative(r.pushed_at, m.now)
                    ),
                    t.dim(),
                )
            }
        };
        hanging(lines, &text, style, w, 2, 4);
    }
}

/// Draws the details pane at its scroll position (clamped); returns the pane, its text
/// height and the furthest it can scroll.
pub fn details(f: &mut Frame, r: Rect, m: &Model, t: &Theme) -> Drawn {
    let border = if m.focus == Pane::Details {
        t.accent()
    } else {
        Style::default()
    };
    let mut block = Block::default().borders(Borders::ALL).border_style(border);
    let title_w = r.width.saturating_sub(4) as usize;
    let Some(i) = m.current() else {
        f.render_widget(block.title(" Details "), r);
        return Drawn {
            details: r,
            ..Drawn::default()
        };
    };
    block = block.title(format!(
        " {} ",
        text::fit(i.label(), title_w.saturating_sub(2))
    ));
    let inner = block.inner(r);
    let lines = detail_lines(i, m, t, inner.width as usize);
    let height = inner.height;
    let max = u16::try_from(lines.len().saturating_sub(height as usize)).unwrap_or(u16::MAX);
    let scroll = m.main.scroll_for(&i.id).min(max);
    if max > 0 {
        let hint = if scroll < max && m.focus == Pane::Details {
            " ↓ more (↓/PgDn) "
        } else if scroll < max {
            " ↓ more (Tab, then PgDn) "
        } else {
            " ↑ scrolled "
        };
        block = block.title_bottom(Line::from(text::fit(hint, title_w)).right_aligned());
    }
    f.render_widget(block, r);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll as usize)
        .take(height as usize)
        .collect();
    f.render_widget(Paragraph::new(shown), inner);
    Drawn {
        details: r,
        details_height: height,
        details_max: max,
        ..Drawn::default()
    }
}

/// The key reminder on the left, the latest message on the right; a long message is cut
/// with `…` and never covers `? help  q quit`.
pub fn footer(f: &mut Frame, r: Rect, m: &Model, t: &Theme) {
    let keys = if m.session.auto_renew {
        " ⟳ auto-renew on  c copy  e export  n new  R rotate  ? help  q quit"
    } else {
        " c copy  e export  p push  n new  R rotate  r refresh  / filter  ? help  q quit"
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
    let keys = if text::width(keys) + text::width(&right) + 1 > width {
        if m.session.auto_renew {
            " ⟳ auto-renew on  ? help"
        } else {
            " ? help  q quit"
        }
    } else {
        keys
    };
    let room = width.saturating_sub(text::width(keys) + 2);
    // A message cut short says where the whole of it is.
    const WHOLE: &str = " (L: all of it)";
    let right = if text::width(&right) > room && room > WHOLE.len() + 8 {
        text::fit(&right, room - WHOLE.len()) + WHOLE
    } else {
        text::fit(&right, room)
    };
    let pad = width.saturating_sub(text::width(keys) + text::width(&right) + 1);
    let line = Line::from(vec![
        Span::styled(keys, t.dim()),
        Span::raw(" ".repeat(pad)),
        Span::styled(right, t.accent()),
    ]);
    f.render_widget(Paragraph::new(line), r);
}
