//! What `identify` says about a pasted value, as text: the CLI prints it, the UI's `i`
//! shows it. Shapes, DIDs, fingerprints and identities only — never the input's text.

use crate::app::identify::{self as id, Report, State};
use crate::core::pasted::SHAPES;

fn state_line(m: &id::Match) -> String {
    let who = match &m.name {
        Some(n) if n != &m.id => format!("{} \"{}\"", m.id, n),
        _ => m.id.clone(),
    };
    let head = format!("{who} ({}, {})", m.kind.as_str(), m.source.as_str());
    match (&m.state, &m.archive) {
        (State::Archived, Some(a)) => {
            let mut s = format!("{head}: an ARCHIVED key (archive {}", a.name);
            if let Some(when) = &a.archived {
                s.push_str(&format!(", archived {when}"));
            }
            if let Some(r) = &a.reason {
                s.push_str(&format!(", {r}"));
            }
            if a.compromised {
                s.push_str(", marked COMPROMISED");
            }
            s.push(')');
            s
        }
        _ => format!("{head}: its CURRENT key"),
    }
}

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let n = report.keys.len();
    for (i, k) in report.keys.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let title = if n > 1 {
            format!("Key {} of {n}", i + 1)
        } else {
            "Key".to_string()
        };
        out.push_str(&format!("{title} (line {}): {}\n", k.line, k.shape));
        out.push_str(&format!("  DID          {}\n", k.did));
        out.push_str(&format!("  Fingerprint  {}\n", k.fingerprint));
        out.push_str(&format!("  State        {}\n", k.state.as_str()));
        if k.matches.is_empty() {
            out.push_str(
                "  Identity     none here: no identity (disk, keyring or env) holds this key, current or archived\n",
            );
        }
        for (j, m) in k.matches.iter().enumerate() {
            let label = if j == 0 { "Identity" } else { "" };
            out.push_str(&format!("  {label:<12} {}\n", state_line(m)));
        }
        if let Some(s) = &k.sdk {
            let as_var = if s.named {
                format!("as {}", s.var)
            } else {
                format!("if set as {}", s.var)
            };
            let verdict = match (s.accepted, s.problems.is_empty()) {
                (true, true) => "the SDK accepts it",
                (true, false) => "the SDK accepts it, but",
                (false, _) => "the SDK does NOT accept it",
            };
            out.push_str(&format!("  SDK          {as_var}: {verdict}\n"));
            for p in &s.problems {
                out.push_str(&format!(
                    "               {} {}\n                 fix: {}\n",
                    match p.severity {
                        crate::core::identity::Severity::Error => "✖",
                        crate::core::identity::Severity::Warning => "⚠",
                    },
                    p.message,
                    p.fix
                ));
            }
        } else if !k.private {
            out.push_str("  SDK          a public key: the SDK's env var needs the private key\n");
        }
        for note in &k.notes {
            out.push_str(&format!("  Note         {note}\n"));
        }
    }
    if !report.unreadable.is_empty() {
        out.push('\n');
        out.push_str(&render_unreadable(report));
    }
    if report.truncated {
        out.push_str(&format!(
            "\nOnly the first {} candidates were looked at.\n",
            crate::core::pasted::MAX_FINDINGS
        ));
    }
    out
}

pub fn render_unreadable(report: &Report) -> String {
    report
        .unreadable
        .iter()
        .map(|u| {
            format!(
                "Could not read (line {}): {}: {}\n",
                u.line, u.shape, u.error
            )
        })
        .collect()
}

/// The whole report as text, also when no key was read (the UI's `i` shows this): the
/// same words as `identify`, never the input's text.
pub fn describe(report: &Report) -> String {
    if report.read_a_key() {
        return render(report);
    }
    let i = &report.input;
    let mut out = if i.bytes == 0 {
        "The clipboard is empty.\n".to_string()
    } else {
        format!(
            "No readable key on the clipboard ({} bytes on {} line(s){}); looked for {SHAPES}\n",
            i.bytes,
            i.lines,
            if i.binary { ", not UTF-8 text" } else { "" }
        )
    };
    out.push_str(&render_unreadable(report));
    crate::core::text::printable(&out).into_owned()
}
