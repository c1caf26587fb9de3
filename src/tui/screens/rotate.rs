//! `R`: the rotation wizard — impact, typed confirmation (the id, or the name when it is
//! unique), an optional move to a new registry agent, the walkthrough, and resuming an
//! unfinished earlier rotation.

use super::super::input::TextField;
use super::super::model::{Effect, Model, Screen};
use super::super::theme::Theme;
use super::{centered, clamp_scroll, frame, hanging};
use crate::app::rotate::Plan;
use crate::core::identity::Kind;
use crate::core::rotation::{Impact, Journal, Mode, StepId};
use crate::display::short_did;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub struct RotateState {
    pub id: String,
    /// The identity's name (or id) for titles.
    pub label: String,
    pub kind: Kind,
    /// What the typed confirmation may be: the id, and the name when no other identity
    /// has it.
    pub accept: Vec<String>,
    /// An earlier rotation of this identity that is unfinished: Enter resumes it.
    pub resumable: Option<Journal>,
    pub mode: Mode,
    /// Move a registered agent to a new registry agent (the CLI's `--new-agent`).
    pub new_agent: bool,
    pub plan: Option<Plan>,
    pub typed: TextField,
    /// Why the last Enter did not go ahead (a wrong confirmation).
    pub hint: Option<String>,
    /// Emergency mode asks a second time.
    pub emergency_confirmed: bool,
    pub running: bool,
    pub journal: Option<Journal>,
    pub error: Option<String>,
    /// Lines scrolled in the body (impact or steps), for small terminals.
    pub scroll: u16,
}

impl RotateState {
    pub fn new(id: &str, label: &str, kind: Kind, accept: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            label: label.to_string(),
            kind,
            accept,
            resumable: None,
            mode: Mode::Planned,
            new_agent: false,
            plan: None,
            typed: TextField::default(),
            hint: None,
            emergency_confirmed: false,
            running: false,
            journal: None,
            error: None,
            scroll: 0,
        }
    }

    /// The confirmation prompt: the name first when it is accepted (shorter to type).
    fn wanted(&self) -> String {
        match &self.accept[..] {
            [id, name] => format!("the name {name} or the id {id}"),
            [id] => format!("the id {id}"),
            _ => "the identity id".into(),
        }
    }

    fn replan(&mut self) -> Vec<Effect> {
        self.emergency_confirmed = false;
        self.plan = None;
        self.hint = None;
        self.scroll = 0;
        vec![Effect::PlanAnew {
            id: self.id.clone(),
            mode: self.mode,
            new_agent: self.new_agent,
        }]
    }
}

/// Opens the wizard on `id` (which must be listed).
pub fn open(m: &mut Model, id: String) -> Vec<Effect> {
    let Some(i) = super::super::target::find(&m.identities, &id) else {
        return Vec::new();
    };
    let mut accept = vec![i.id.clone()];
    if let Some(name) = i
        .name
        .as_ref()
        .filter(|n| !n.trim().is_empty() && **n != i.id)
    {
        let same = m
            .identities
            .iter()
            .filter(|x| x.name.as_deref() == Some(name.as_str()) || x.id == *name)
            .count();
        if same == 1 {
            accept.push(name.clone());
        }
    }
    let st = RotateState::new(&id, i.label(), i.kind, accept);
    m.screen = Screen::Rotate(Box::new(st));
    vec![Effect::PlanRotation {
        id,
        mode: Mode::Planned,
    }]
}

/// Whether the capture step of a finished rotation is still open.
fn capture_open(st: &RotateState) -> bool {
    st.journal
        .as_ref()
        .is_some_and(|j| !j.step(StepId::Capture).is_settled())
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Rotate(st) = &mut m.screen else {
        return Vec::new();
    };
    match k.code {
        KeyCode::PageDown | KeyCode::Down => {
            st.scroll = st
                .scroll
                .saturating_add(if k.code == KeyCode::Down { 1 } else { 5 });
            return Vec::new();
        }
        KeyCode::PageUp | KeyCode::Up => {
            st.scroll = st
                .scroll
                .saturating_sub(if k.code == KeyCode::Up { 1 } else { 5 });
            return Vec::new();
        }
        _ => {}
    }
    if st.running {
        return Vec::new();
    }
    if st.journal.is_some() || st.error.is_some() {
        // After a rotation, Enter goes straight to the capture step: the export picker.
        if k.code == KeyCode::Enter && capture_open(st) {
            let id = st.id.clone();
            return super::export::open(m, id);
        }
        if matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
            m.screen = Screen::Main;
        }
        return Vec::new();
    }
    if let Some(j) = &st.resumable {
        match k.code {
            KeyCode::Enter => {
                st.running = true;
                return vec![Effect::ResumeRotation {
                    id: j.identity_id.clone(),
                    new_agent: st.new_agent,
                }];
            }
            // Ctrl-N: finish it on a new registry agent (the CLI's `--resume --new-agent`,
            // what a refused register step tells you to do).
            KeyCode::Char('n') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                st.new_agent = !st.new_agent;
            }
            KeyCode::Char('n') if !j.interrupted() => {
                st.resumable = None;
                return st.replan();
            }
            KeyCode::Esc => m.screen = Screen::Main,
            _ => {}
        }
        return Vec::new();
    }
    match k.code {
        KeyCode::Esc => m.screen = Screen::Main,
        KeyCode::Tab => {
            st.mode = if st.mode == Mode::Planned {
                Mode::Emergency
            } else {
                Mode::Planned
            };
            return st.replan();
        }
        KeyCode::Char('n') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            if st.kind == Kind::Agent {
                st.new_agent = !st.new_agent;
                return st.replan();
            }
            st.hint = Some("Only a registered agent can move to a new registry agent.".into());
        }
        KeyCode::Enter if st.plan.is_some() => {
            let typed = st.typed.value().trim();
            if !st.accept.iter().any(|a| a == typed) {
                st.hint = Some(if typed.is_empty() {
                    format!("Nothing typed: type {} and press Enter.", st.wanted())
                } else {
                    format!("“{typed}” does not match: type {}.", st.wanted())
                });
                return Vec::new();
            }
            if st.mode == Mode::Emergency && !st.emergency_confirmed {
                st.emergency_confirmed = true;
                return Vec::new();
            }
            st.running = true;
            st.hint = None;
            return vec![Effect::RotateWith {
                id: st.id.clone(),
                mode: st.mode,
                new_agent: st.new_agent,
            }];
        }
        _ => {
            if st.typed.handle(&k) {
                st.hint = None;
                st.emergency_confirmed = false;
            }
        }
    }
    Vec::new()
}

fn step_lines<'a>(j: &Journal, t: &Theme, width: u16) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
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
        lines.extend(hanging(
            vec![Span::styled(format!(" {g} "), style)],
            &format!("{:<52} {}{why}", s.id.title(), s.state.label()),
            ratatui::style::Style::default(),
            width,
        ));
    }
    for n in &j.notes {
        lines.extend(hanging(
            vec![Span::styled(" note: ", t.dim())],
            n,
            t.dim(),
            width,
        ));
    }
    lines
}

/// The body (scrolls) and the fixed lines under it (prompt, hints, what the keys do).
fn content<'a>(st: &RotateState, t: &Theme, width: u16) -> (Vec<Line<'a>>, Vec<Line<'a>>) {
    let mut body = Vec::new();
    let mut bottom = Vec::new();
    if let Some(j) = &st.journal {
        body.push(Line::from(Span::styled(
            format!(
                " {} → {}",
                short_did(&j.old_did),
                j.new_did.as_deref().map(short_did).unwrap_or_default()
            ),
            t.header(),
        )));
        body.extend(step_lines(j, t, width));
        bottom.push(Line::from(Span::styled(
            if capture_open(st) {
                " Enter: capture the new key now (opens the export picker) · Esc closes"
            } else {
                " Enter or Esc closes."
            },
            t.accent(),
        )));
    } else if let Some(j) = &st.resumable {
        let what = if j.interrupted() {
            "was interrupted before it finished"
        } else {
            "has open walkthrough steps"
        };
        body.push(Line::from(Span::styled(
            format!(" An earlier rotation of {} {what}:", st.label),
            t.warning(),
        )));
        body.extend(step_lines(j, t, width));
        let new = if j.interrupted() {
            " · u on the main screen rolls it back"
        } else {
            " · n starts a new rotation"
        };
        bottom.push(Line::from(Span::styled(
            format!(" Enter resumes it{new} · Esc cancels"),
            t.accent(),
        )));
        bottom.push(Line::from(Span::styled(
            format!(
                " Ctrl-N new registry agent: [{}]",
                if st.new_agent { "x" } else { " " }
            ),
            t.dim(),
        )));
    } else if let Some(e) = &st.error {
        body.push(Line::from(Span::styled(format!(" {e}"), t.error())));
        bottom.push(Line::from(Span::styled(" Enter or Esc closes.", t.dim())));
    } else if st.running {
        body.push(Line::from(Span::styled(
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
            body.extend(hanging(
                vec![Span::styled(format!(" {} ", c.severity.glyph()), style)],
                &c.message,
                ratatui::style::Style::default(),
                width,
            ));
        }
        if st.mode == Mode::Emergency && st.emergency_confirmed {
            bottom.push(Line::from(Span::styled(
                " Emergency: the old key is dropped and its badge revoked. Enter again to confirm.",
                t.error(),
            )));
        } else {
            let mut spans = vec![Span::raw(format!(" Type {} to continue: ", st.wanted()))];
            spans.extend(st.typed.spans(t.accent(), true));
            bottom.push(Line::from(spans));
        }
        if let Some(h) = &st.hint {
            bottom.push(Line::from(Span::styled(format!(" {h}"), t.error())));
        }
    } else {
        body.push(Line::from(Span::styled(
            " Working out the impact…",
            t.dim(),
        )));
    }
    (body, bottom)
}

pub fn draw(f: &mut Frame, area: Rect, st: &RotateState, t: &Theme) {
    let r = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    let (block, inner) = frame(f, area, r, format!(" Rotate {} — Esc cancels ", st.label));
    f.render_widget(block, r);
    let mode = match st.mode {
        Mode::Planned => "◉ planned  ○ emergency",
        Mode::Emergency => "○ planned  ◉ emergency",
    };
    // The keys that change the plan are shown only while they do.
    let choosing = st.journal.is_none() && st.resumable.is_none() && !st.running;
    let key = |k: &'static str| Span::styled(if choosing { k } else { "" }, t.dim());
    let head = vec![
        Span::styled(format!(" Rotate {}?", st.label), t.header()),
        Span::raw("   mode: "),
        Span::styled(mode, t.accent()),
        key(" (Tab)"),
    ];
    // Its own line, so that it does not wrap mid-phrase at 80 columns.
    let option = if st.kind == Kind::Agent {
        Line::from(vec![
            Span::raw(" new registry agent: "),
            Span::styled(if st.new_agent { "[x]" } else { "[ ]" }, t.accent()),
            key(" (Ctrl-N)"),
        ])
    } else {
        Line::from("")
    };
    let (body, bottom) = content(st, t, inner.width);
    // Wrapped lines are counted, so the prompt is never cut at 80 columns.
    let rows_of = |lines: &[Line]| super::wrapped_rows(lines, inner.width);
    let bottom_h = if bottom.is_empty() {
        0
    } else {
        rows_of(&bottom) as u16 + 1
    };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Min(1),
            Constraint::Length(bottom_h),
        ])
        .split(inner);
    f.render_widget(Paragraph::new(vec![Line::from(head), option]), rows[0]);
    let len = rows_of(&body);
    let scroll = clamp_scroll(st.scroll, len, rows[1].height);
    let more = len > rows[1].height as usize + scroll as usize;
    f.render_widget(
        Paragraph::new(body)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        rows[1],
    );
    if bottom_h > 0 {
        let mut lines = vec![Line::from(Span::styled(
            if more {
                " ↓ more — ↑↓ / PgUp PgDn scroll"
            } else {
                ""
            },
            t.dim(),
        ))];
        lines.extend(bottom);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rows[2]);
    }
}
