//! Human output. Wording mirrors the TUI; `--json` output is the serialised model.

use crate::app::doctor::Report;
use crate::core::identity::{Code, Identity, Problem};
use crate::core::ids;
use std::fmt::Write as _;

// The cells live in the shared display model; these names stay for existing callers.
use crate::display::{fix_text, problem_codes, problem_text};
pub use crate::display::{health_glyph, registry_cell, severity_glyph, short_did, short_id};

/// `valid 4m 12s`, `expired exp`, `revoked`: the badge column of `list`.
pub fn badge_cell(i: &Identity, now: i64) -> String {
    crate::display::badge_cell(i, now).words()
}

fn pad(s: &str, width: usize) -> String {
    let n = crate::display::text::width(s);
    if n >= width {
        s.to_string()
    } else {
        format!("{s}{}", " ".repeat(width - n))
    }
}

/// Left-aligned columns two spaces apart; the last column is not padded. Cells carry
/// untrusted text (names, registry words): each is made one inert line first, and
/// measured in terminal columns, so no cell adds a row or shifts the columns after it.
fn table(rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| crate::core::text::inline(c).into_owned())
                .collect()
        })
        .collect();
    let rows = &rows[..];
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(crate::display::text::width(c));
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (idx, c) in r.iter().enumerate() {
            if idx + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&pad(c, widths[idx]));
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn footer(out: &mut String, ids_: &[Identity], notes: &[Problem], hint: bool) {
    let attention = crate::display::attention(ids_);
    let _ = writeln!(
        out,
        "\n{} · {}{}",
        crate::display::identities(ids_.len()),
        crate::display::need_attention(attention),
        if attention > 0 && hint {
            " · run `capiscio-tui doctor` for fixes"
        } else {
            ""
        }
    );
    push_notes(out, notes);
}

pub fn list_table(ids_: &[Identity], notes: &[Problem], now: i64) -> String {
    if ids_.is_empty() {
        // With a directory we could not read, "none found" is not known to be true.
        let blind = notes.iter().any(|n| n.code == Code::Unreadable);
        let mut out = String::from(if blind {
            "No CapiscIO identities could be read.\n"
        } else {
            "No CapiscIO identities found.\nCreate one with `capiscio-tui generate --kind agent`.\n"
        });
        push_notes(&mut out, notes);
        return out;
    }
    // Offline the registry column would be all dashes: it appears only when asked.
    let online = ids_.iter().any(|i| i.registry.is_some());
    let mut header: Vec<String> = [
        "",
        "KIND",
        "ID",
        "NAME",
        "SOURCE",
        "DID",
        "FINGERPRINT",
        "BADGE",
    ]
    .map(String::from)
    .to_vec();
    if online {
        header.push("REGISTRY".into());
    }
    header.push("PROBLEMS".into());
    let mut rows = vec![header];
    for i in ids_ {
        let mut r = vec![
            health_glyph(i).to_string(),
            i.kind.as_str().to_string(),
            i.id.clone(),
            match (i.names().next(), &i.shadows) {
                (Some(n), _) => n.to_string(),
                (None, Some(t)) => format!("→ {}", short_id(t)),
                (None, None) => "–".into(),
            },
            format!(
                "{}{}",
                i.source.as_str(),
                if i.effective { "" } else { " (unused)" }
            ),
            i.did
                .as_deref()
                .map(short_did)
                .unwrap_or_else(|| "–".into()),
            i.fingerprint.clone().unwrap_or_else(|| "–".into()),
            badge_cell(i, now),
        ];
        if online {
            r.push(registry_cell(i));
        }
        r.push(problem_codes(i));
        rows.push(r);
    }
    let mut out = table(&rows);
    footer(&mut out, ids_, notes, true);
    out
}

/// `status`: one line per identity — id, DID, badge state, level, expiry countdown.
pub fn status(ids_: &[Identity], registry: &str, now: i64) -> String {
    let mut rows = vec![
        [
            "", "ID", "DID", "BADGE", "LEVEL", "EXPIRES", "REGISTRY", "PROBLEMS",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for i in ids_ {
        let (level, expires) = match &i.badge {
            None => ("–".to_string(), "–".to_string()),
            Some(b) => (
                b.trust_level.clone().unwrap_or_else(|| "?".into()),
                ids::relative(b.expires_at, now),
            ),
        };
        rows.push(vec![
            health_glyph(i).into(),
            match &i.name {
                Some(n) => format!("{n} ({})", short_id(&i.id)),
                None => i.id.clone(),
            },
            i.did
                .as_deref()
                .map(short_did)
                .unwrap_or_else(|| "–".into()),
            crate::app::status::badge_state_label(i),
            level,
            expires,
            registry_cell(i),
            problem_codes(i),
        ]);
    }
    let mut out = format!("registry: {registry}\n");
    out.push_str(&table(&rows));
    footer(&mut out, ids_, &[], true);
    out
}

fn push_notes(out: &mut String, notes: &[Problem]) {
    for n in notes {
        let _ = writeln!(
            out,
            "{} {}: {}\n  fix: {}",
            severity_glyph(n.severity),
            n.code.as_str(),
            n.message,
            n.fix
        );
    }
}

pub fn show(i: &Identity, now: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}",
        health_glyph(i),
        crate::core::text::inline(i.label())
    );
    // Values are untrusted (card names, registry strings): one inert line each.
    let row = |out: &mut String, k: &str, v: &str| {
        let _ = writeln!(out, "  {}{}", pad(k, 14), crate::core::text::inline(v));
    };
    row(&mut out, "Kind", i.kind.label());
    row(&mut out, "Id", &i.id);
    if let Some(r) = &i.registry_id {
        row(&mut out, "Registry id", r);
    }
    if let Some(n) = &i.name {
        row(&mut out, "Name", n);
    }
    let source = format!(
        "{}{}",
        i.source.as_str(),
        if i.effective {
            " · used by the SDK"
        } else {
            " · not used by the SDK"
        }
    );
    row(&mut out, "Source", &source);
    row(&mut out, "Location", &i.location);
    row(&mut out, "DID", i.did.as_deref().unwrap_or("–"));
    row(&mut out, "Key DID", i.key_did.as_deref().unwrap_or("–"));
    row(
        &mut out,
        "Fingerprint",
        i.fingerprint.as_deref().unwrap_or("–"),
    );
    if let Some(r) = &i.registry {
        let did = r
            .did
            .as_deref()
            .map(|d| format!(" · DID {d}"))
            .unwrap_or_default();
        row(
            &mut out,
            "Registry",
            &format!("{}{did} · {}", registry_cell(i), r.url),
        );
    }
    match &i.badge {
        None => row(&mut out, "Badge", "none"),
        Some(b) => {
            let level_ial = b.level_ial();
            let reason = b
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            row(
                &mut out,
                "Badge",
                &format!("{}{reason}{level_ial}", b.state.as_str()),
            );
            // A revoked or disabled badge is over whatever its expiry says: no countdown.
            let expires = if crate::display::badge_cell(i, now).left.is_some() {
                format!(
                    "expires {} ({})",
                    ids::relative(b.expires_at, now),
                    ids::rfc3339(b.expires_at)
                )
            } else {
                format!("exp claim {}", ids::rfc3339(b.expires_at))
            };
            row(&mut out, "", &expires);
            row(
                &mut out,
                "",
                &format!(
                    "issued {} ({})",
                    ids::relative(b.issued_at, now),
                    ids::rfc3339(b.issued_at)
                ),
            );
            row(
                &mut out,
                "",
                &format!(
                    "jti {} · iss {}",
                    if b.jti.is_empty() { "(none)" } else { &b.jti },
                    b.iss
                ),
            );
            row(&mut out, "", &format!("sub {}", b.sub));
        }
    }
    if let Some(v) = &i.shadowed_by {
        row(&mut out, "Overridden by", &format!("{v} (env beats disk)"));
    }
    if let Some(t) = &i.shadows {
        row(&mut out, "Overrides", t);
    }
    if !i.files.is_empty() {
        row(
            &mut out,
            "Files",
            &crate::core::identity::files_line(&i.files),
        );
    }
    row(
        &mut out,
        "Private key",
        "•••••••• (capiscio-tui export … --format env)",
    );
    if i.problems.is_empty() {
        row(&mut out, "Problems", "none");
    } else {
        for (n, p) in i.problems.iter().enumerate() {
            let label = if n == 0 { "Problems" } else { "" };
            row(&mut out, label, &problem_text(p));
            row(&mut out, "", &format!("  {}", fix_text(p)));
        }
    }
    out
}

pub fn doctor(r: &Report) -> String {
    let mut out = String::new();
    for f in &r.fixed {
        let _ = writeln!(out, "✔ fixed {} ({}): {}", f.id, f.code.as_str(), f.action);
    }
    if !r.fixed.is_empty() {
        out.push('\n');
    }
    for e in &r.identities {
        let _ = writeln!(
            out,
            "{} {} ({}, {}) {}",
            e.problems
                .first()
                .map_or("●", |p| severity_glyph(p.severity)),
            e.id,
            e.kind.as_str(),
            e.source.as_str(),
            e.location
        );
        for p in &e.problems {
            let _ = writeln!(
                out,
                "   {} {}: {}\n     fix: {}{}",
                severity_glyph(p.severity),
                p.code.as_str(),
                p.message,
                p.fix,
                if crate::app::fix::repairable(p.code) && !p.fix.contains("doctor --fix") {
                    " (or `capiscio-tui doctor --fix`)"
                } else {
                    ""
                }
            );
        }
    }
    push_notes(&mut out, &r.notes);
    if r.errors == 0 && r.warnings == 0 {
        let _ = writeln!(
            out,
            "✔ No problems in {}.",
            crate::display::identities(r.identities_checked)
        );
    } else {
        let _ = writeln!(
            out,
            "{} error(s), {} warning(s) in {} · {}.",
            r.errors,
            r.warnings,
            crate::display::identities(r.identities_checked),
            crate::display::need_attention(r.attention)
        );
    }
    out
}
