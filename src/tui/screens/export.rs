//! The export picker (`c`, `e`, and the capture step after a rotation): choose a format,
//! see a masked preview, copy the real text or save it to a new 0600 file.

use super::super::input::TextField;
use super::super::keymap::{self, Action};
use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, frame};
use crate::core::export::Format;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use zeroize::Zeroizing;

pub const EXPORT_FORMATS: [Format; 8] = Format::ALL;

pub struct ExportState {
    pub id: String,
    /// The identity's name (or id) for titles and messages.
    pub label: String,
    pub selected: usize,
    /// The rendered text for the selected format (contains the key; shown masked).
    pub text: Option<Zeroizing<String>>,
    /// Why the key cannot be exported: then the picker offers nothing but this.
    pub error: Option<String>,
    /// The path being typed after `s`.
    pub save: Option<TextField>,
    /// Why the last save failed (the file existed, a symlink, …).
    pub save_error: Option<String>,
    /// The fingerprint of the key `text` was rendered from.
    pub fingerprint: Option<String>,
    /// Said when the key on disk changed while the picker was open (rotated elsewhere).
    pub changed: Option<String>,
}

impl ExportState {
    pub fn new(id: &str, label: &str) -> Self {
        Self {
            id: id.to_string(),
            label: label.to_string(),
            selected: 0,
            text: None,
            error: None,
            save: None,
            save_error: None,
            fingerprint: None,
            changed: None,
        }
    }
}

/// Opens the picker on `id` at the first format (the env line of the identity's SDK).
pub fn open(m: &mut Model, id: String) -> Vec<Effect> {
    let label = super::super::target::find(&m.identities, &id)
        .map(|i| i.label().to_string())
        .unwrap_or_else(|| id.clone());
    m.screen = Screen::Export(ExportState::new(&id, &label));
    vec![Effect::LoadExport {
        id,
        format: EXPORT_FORMATS[0],
    }]
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Export(st) = &mut m.screen else {
        return Vec::new();
    };
    if let Some(path) = &mut st.save {
        match k.code {
            KeyCode::Esc => {
                st.save = None;
                st.save_error = None;
            }
            KeyCode::Enter if path.value().trim().is_empty() => {
                st.save_error = Some("Type the path of a new file first.".into())
            }
            KeyCode::Enter => {
                if let (Some(_), Some(fp)) = (&st.text, &st.fingerprint) {
                    return vec![Effect::SaveExport {
                        path: path.value().trim().to_string(),
                        id: st.id.clone(),
                        format: EXPORT_FORMATS[st.selected],
                        fingerprint: fp.clone(),
                        what: format!("{} for {}", EXPORT_FORMATS[st.selected].as_str(), st.label),
                    }];
                }
            }
            _ => {
                if path.handle(&k) {
                    st.save_error = None;
                }
            }
        }
        return Vec::new();
    }
    let load = |st: &mut ExportState| {
        st.text = None;
        vec![Effect::LoadExport {
            id: st.id.clone(),
            format: EXPORT_FORMATS[st.selected],
        }]
    };
    match keymap::action(&k) {
        Some(Action::Back | Action::Quit) => {
            m.screen = Screen::Main;
            Vec::new()
        }
        // A key that cannot be loaded has no formats to choose from.
        _ if st.error.is_some() => Vec::new(),
        Some(Action::Up) => {
            st.selected = st.selected.saturating_sub(1);
            load(st)
        }
        Some(Action::Down) => {
            st.selected = (st.selected + 1).min(EXPORT_FORMATS.len() - 1);
            load(st)
        }
        // Rendered anew from the key on disk: copied only if it is the previewed key.
        Some(Action::Details) | Some(Action::Copy) if st.text.is_some() => {
            vec![Effect::CopyExport {
                id: st.id.clone(),
                format: EXPORT_FORMATS[st.selected],
            }]
        }
        Some(Action::Sort) if st.text.is_some() => {
            st.save = Some(TextField::default());
            st.save_error = None;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// The picker's text arrived. A preview shows it; a text rendered for Enter is copied
/// only if its key is the one previewed — otherwise the key changed on disk (another
/// process rotated it) and nothing is copied: the preview shows the new key and says so.
pub fn on_text(
    m: &mut Model,
    id: String,
    format: Format,
    text: Result<Zeroizing<String>, String>,
    fingerprint: Option<String>,
    copy: bool,
) -> Vec<Effect> {
    let Screen::Export(st) = &mut m.screen else {
        return Vec::new();
    };
    if st.id != id || EXPORT_FORMATS.get(st.selected) != Some(&format) {
        return Vec::new();
    }
    let t = match text {
        Ok(t) => t,
        Err(e) => {
            st.text = None;
            st.fingerprint = None;
            st.error = Some(e);
            return Vec::new();
        }
    };
    let same = st.fingerprint.is_some() && st.fingerprint == fingerprint;
    if copy && same {
        return vec![Effect::Copy {
            text: t,
            what: format!("{} for {}", format.as_str(), st.label),
        }];
    }
    if st.fingerprint.is_some() && !same {
        st.changed = Some(if copy {
            "The key changed on disk since this preview: nothing was copied. The preview now shows the new key; Enter copies it.".into()
        } else {
            "The key changed on disk (rotated elsewhere): the preview now shows the new key.".into()
        });
    }
    st.text = Some(t);
    st.fingerprint = fingerprint;
    st.error = None;
    Vec::new()
}

/// A reload showed the identity's key changed: the preview made from the old key goes,
/// and is rendered again from the new one.
pub fn key_changed(m: &mut Model) -> Vec<Effect> {
    let Screen::Export(st) = &mut m.screen else {
        return Vec::new();
    };
    let Some(fp) = &st.fingerprint else {
        return Vec::new();
    };
    let now = m
        .identities
        .iter()
        .find(|i| i.id == st.id)
        .and_then(|i| i.fingerprint.as_ref());
    if now.is_none_or(|n| n == fp) {
        return Vec::new();
    }
    st.text = None;
    st.changed = Some("The key changed on disk (rotated elsewhere): loading the new key…".into());
    vec![Effect::LoadExport {
        id: st.id.clone(),
        format: EXPORT_FORMATS[st.selected],
    }]
}

/// Shows the shape of a snippet without the key: long base64 runs become bullets.
/// Names (lower-case letters, digits and dashes, like a Cloud Run secret's name) and
/// DIDs stay readable: they are not secret, and the user needs them to check the text.
pub fn mask(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_');
    let is_name = |t: &str| {
        t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        // An escape like the `\n` of a one-line PEM stays whole: its letter is not the
        // start of the base64 after it.
        if chars[i] == '\\' && matches!(chars.get(i + 1), Some('n' | 'r' | 't' | '"' | '\\')) {
            out.push(chars[i]);
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if is_b64(chars[i]) {
            let start = i;
            while i < chars.len() && is_b64(chars[i]) {
                i += 1;
            }
            let token: String = chars[start..i].iter().collect();
            let after_did = out.ends_with("did:key:");
            if token.len() >= 40 && !after_did && !is_name(&token) {
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

fn format_label(fmt: Format) -> &'static str {
    match fmt.as_str() {
        "env" => "env line / .env",
        "compose" => "Docker Compose",
        "k8s" => "Kubernetes Secret",
        "lambda" => "AWS Lambda",
        "cloudrun" => "Cloud Run",
        "github" => "GitHub Actions",
        "jwk" => "raw JWK",
        _ => "raw PEM",
    }
}

pub fn draw(f: &mut Frame, area: Rect, st: &ExportState, m: &Model, t: &Theme) {
    let r = centered(area, 96, 22);
    if let Some(e) = &st.error {
        let (block, _) = frame(
            f,
            area,
            r,
            format!(" Cannot export {} — Esc closes ", st.label),
        );
        let lines = vec![
            Line::from(Span::styled(
                format!(
                    " The key of {} cannot be loaded, so there is nothing to copy or save:",
                    st.label
                ),
                t.warning(),
            )),
            Line::from(""),
            Line::from(Span::styled(format!(" {e}"), t.error())),
            Line::from(""),
            Line::from(Span::styled(
                " Its problems and their fixes are in the details pane (Enter on the identity).",
                t.dim(),
            )),
        ];
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            r,
        );
        return;
    }
    let keys = if st.save.is_some() {
        "Enter saves · Esc back"
    } else {
        "↑↓ choose · Enter copies · s saves to a file · Esc"
    };
    let (block, inner) = frame(f, area, r, format!(" Export {} — {keys} ", st.label));
    f.render_widget(block, r);
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Min(3),
            Constraint::Length(if st.save.is_some() { 4 } else { 0 }),
        ])
        .split(inner);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(24), Constraint::Min(10)])
        .split(rows[0]);
    let items: Vec<Line> = EXPORT_FORMATS
        .iter()
        .enumerate()
        .map(|(n, fmt)| {
            let style = if n == st.selected {
                t.selected()
            } else {
                Style::default()
            };
            Line::from(Span::styled(
                format!(
                    " {} {}",
                    if n == st.selected { "▶" } else { " " },
                    format_label(*fmt)
                ),
                style,
            ))
        })
        .collect();
    f.render_widget(Paragraph::new(items), cols[0]);
    let mut lines = match &st.text {
        Some(text) => mask(text)
            .lines()
            .map(|l| Line::from(l.to_string()))
            .collect(),
        None => vec![Line::from(Span::styled("loading…", t.dim()))],
    };
    if let Some(note) = &st.changed {
        lines.insert(0, Line::from(""));
        lines.insert(0, Line::from(Span::styled(note.clone(), t.warning())));
    }
    if st.text.is_some() {
        let clears = m
            .clear_after
            .map(|s| format!("clears {s}s after copying"))
            .unwrap_or_else(|| "not cleared automatically".into());
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("Preview is masked; Enter copies the real text ({clears}); s saves it to a new file (0600)."),
            t.dim(),
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::LEFT).title(" preview ")),
        cols[1],
    );
    if let Some(path) = &st.save {
        let mut first = vec![Span::raw(" Save to file: ")];
        first.extend(path.spans(t.accent(), true));
        let second = match &st.save_error {
            Some(e) => Line::from(Span::styled(format!(" {e}"), t.error())),
            None => Line::from(Span::styled(
                " A new file only (never overwritten, never through a symlink), mode 0600; relative to the working directory.",
                t.dim(),
            )),
        };
        f.render_widget(
            Paragraph::new(vec![Line::from(first), second])
                .wrap(Wrap { trim: false })
                .block(Block::default().borders(Borders::TOP)),
            rows[1],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::export::{Request, Target, render};

    #[test]
    fn a_one_line_pem_keeps_its_escapes_and_hides_its_body() {
        let body = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
        let text =
            format!("X='-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n'");
        let m = mask(&text);
        assert!(m.contains("KEY-----\\n••••"), "{m}");
        assert!(m.contains("••••\\n-----END"), "{m}");
        assert!(!m.contains(&body[1..20]), "{m}");
    }

    /// The Cloud Run snippet's secret name (long, but lower-case and dashes) stays
    /// readable; the key does not.
    #[test]
    fn cloud_run_masks_the_key_not_the_secret_name() {
        let key = crate::core::key::KeyPair::from_seed(&[7; 32]);
        let label = "4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f";
        let text = render(
            Format::Cloudrun,
            &Request {
                key: &key,
                target: Target::Agent,
                label,
            },
        );
        let masked = mask(&text);
        assert!(
            masked.contains(&format!("capiscio-{label}")),
            "the secret's name is shown:\n{masked}"
        );
        let d = crate::core::b64::url_encode(key.seed());
        assert!(text.contains(d.as_str()));
        assert!(!masked.contains(d.as_str()), "{masked}");
    }
}
