//! `p`: push the selected identity's key to its recorded targets or a new one, through
//! `app::push`'s probe → ask → write flow (the CLI's), in the background. The key itself
//! never reaches the model: jobs load it, the screen shows targets, states and outcomes.

use super::super::input::TextField;
use super::super::model::{Effect, Model, Msg, RecordKey, Screen};
use super::super::theme::Theme;
use super::{centered, frame};
use crate::app::push::{Deployed, Existing};
use crate::core::target::Target;
use crate::store::targets::Record;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use std::collections::HashMap;

/// A target's record and what `D` last found there, per identity.
#[derive(Debug, Default)]
pub struct Deployments {
    pub records: HashMap<RecordKey, Vec<Record>>,
    /// The last `deployed` of each identity (`Err`: it could not run).
    pub found: HashMap<RecordKey, Result<Vec<Deployed>, String>>,
    /// Identities whose targets are being read back.
    pub checking: Vec<RecordKey>,
}

impl Deployments {
    pub fn of(&self, key: &RecordKey) -> &[Record] {
        self.records.get(key).map(Vec::as_slice).unwrap_or(&[])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub target: Target,
    /// `pushed`, `unchanged` or `failed`, as `push --json` says it.
    pub outcome: &'static str,
    pub message: Option<String>,
    pub warnings: Vec<String>,
}

impl PushOutcome {
    fn failed(target: Target, why: String) -> Self {
        Self {
            target,
            outcome: "failed",
            message: Some(why),
            warnings: Vec::new(),
        }
    }
}

pub enum Stage {
    /// Choosing a recorded target (or "new target…", the last row).
    Pick,
    /// Typing a new target in the CLI's syntax.
    Typing(TextField),
    /// Probing or writing in the background.
    Working,
    /// A target holds something else: overwrite it? One at a time, like the CLI.
    Ask {
        queue: Vec<(Target, String)>,
        writes: Vec<(Target, bool)>,
        settled: Vec<PushOutcome>,
    },
    Done(Vec<PushOutcome>),
}

pub struct PushState {
    /// What effects name the identity by (`target::of`).
    pub id: String,
    pub label: String,
    pub key: RecordKey,
    pub selected: usize,
    pub stage: Stage,
}

/// A push runs in the picker: the spinner turns.
pub fn working(m: &Model) -> bool {
    matches!(&m.screen, Screen::Push(st) if matches!(st.stage, Stage::Working))
}

pub fn open(m: &mut Model, id: String) -> Vec<Effect> {
    let Some(i) = m.current() else {
        return Vec::new();
    };
    let st = PushState {
        id,
        label: i.label().to_string(),
        key: (i.kind, i.id.clone()),
        selected: 0,
        stage: Stage::Pick,
    };
    m.screen = Screen::Push(Box::new(st));
    Vec::new()
}

/// The new target's parse error, by shape (never the text typed).
pub fn validate(text: &str) -> Result<Target, String> {
    text.trim().parse::<Target>().map_err(|e| e.to_string())
}

fn probe(st: &mut PushState, targets: Vec<Target>) -> Vec<Effect> {
    st.stage = Stage::Working;
    vec![Effect::ProbePush {
        id: st.id.clone(),
        targets,
    }]
}

pub fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let records: Vec<Target> = match &m.screen {
        Screen::Push(st) => m
            .deployments
            .of(&st.key)
            .iter()
            .map(|r| r.target.clone())
            .collect(),
        _ => return Vec::new(),
    };
    let Screen::Push(st) = &mut m.screen else {
        return Vec::new();
    };
    let plain = !k
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    match &mut st.stage {
        Stage::Pick => match k.code {
            KeyCode::Esc | KeyCode::Char('q') => m.screen = Screen::Main,
            KeyCode::Up | KeyCode::Char('k') => st.selected = st.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                st.selected = (st.selected + 1).min(records.len())
            }
            KeyCode::Enter => match records.get(st.selected) {
                Some(t) => return probe(st, vec![t.clone()]),
                None => {
                    st.stage = Stage::Typing(TextField::default().with_max(512));
                }
            },
            KeyCode::Char('a') if plain => {
                if records.is_empty() {
                    m.toast = Some("No recorded targets yet: choose \"new target…\"".into());
                } else {
                    return probe(st, records);
                }
            }
            _ => {}
        },
        Stage::Typing(field) => match k.code {
            KeyCode::Esc => st.stage = Stage::Pick,
            KeyCode::Enter => match validate(field.value()) {
                Ok(t) => return probe(st, vec![t]),
                Err(e) => m.toast = Some(format!("Not a push target: {e}")),
            },
            _ => {
                field.handle(&k);
            }
        },
        Stage::Working => {
            if k.code == KeyCode::Esc {
                m.toast = Some("The push runs on in the background; its result is logged".into());
                m.screen = Screen::Main;
            }
        }
        Stage::Ask {
            queue,
            writes,
            settled,
        } => {
            let Some((t, what)) = queue.first().cloned() else {
                return Vec::new();
            };
            match k.code {
                KeyCode::Char('y' | 'Y') if plain => writes.push((t, true)),
                KeyCode::Char('n' | 'N') | KeyCode::Esc | KeyCode::Enter => {
                    settled.push(PushOutcome::failed(t, format!("{what}; not overwritten")))
                }
                _ => return Vec::new(),
            }
            queue.remove(0);
            if queue.is_empty() {
                let (writes, settled) = (std::mem::take(writes), std::mem::take(settled));
                return decided(st, writes, settled);
            }
        }
        Stage::Done(_) => {
            if matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                // Back to the picker, which now lists what was recorded.
                st.stage = Stage::Pick;
                st.selected = 0;
            }
        }
    }
    Vec::new()
}

/// Everything is decided: write what is to be written, else show the outcomes.
fn decided(
    st: &mut PushState,
    writes: Vec<(Target, bool)>,
    settled: Vec<PushOutcome>,
) -> Vec<Effect> {
    // An unchanged target holds the key: recorded like a push (as the CLI does), so
    // the write job runs for it too.
    if writes.is_empty() && settled.iter().all(|o| o.outcome == "failed") {
        st.stage = Stage::Done(settled);
        return Vec::new();
    }
    st.stage = Stage::Working;
    vec![Effect::WritePush {
        id: st.id.clone(),
        writes,
        settled,
    }]
}

pub fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Targets(all) => {
            m.deployments.records = all.into_iter().collect();
            Vec::new()
        }
        Msg::Deployed { key, rows } => {
            m.deployments.checking.retain(|k| *k != key);
            let who = m
                .identities
                .iter()
                .find(|i| i.kind == key.0 && i.id == key.1)
                .map_or(key.1.clone(), |i| i.label().to_string());
            m.toast = Some(match &rows {
                Ok(r) if r.is_empty() => format!("{who}: no recorded push targets"),
                Ok(r) => format!(
                    "Deployed {who}: {}",
                    r.iter()
                        .map(|d| format!("{} {}", d.target, d.state.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Err(e) => format!("Cannot check the deployments of {who}: {e}"),
            });
            m.deployments.found.insert(key, rows);
            Vec::new()
        }
        Msg::PushProbed { id, probes } => {
            let Screen::Push(st) = &mut m.screen else {
                m.toast = Some(
                    "Push cancelled: its picker was closed before anything was written".into(),
                );
                return Vec::new();
            };
            // Only the picker that asked (still waiting) takes the answer: one closed and
            // opened again meanwhile shows its own list.
            if st.id != id || !matches!(st.stage, Stage::Working) {
                m.toast = Some(
                    "Push cancelled: its picker was closed before anything was written".into(),
                );
                return Vec::new();
            }
            let mut writes = Vec::new();
            let mut settled = Vec::new();
            let mut queue = Vec::new();
            for (t, p) in probes {
                match p {
                    Err(e) => settled.push(PushOutcome::failed(t, e)),
                    Ok(Existing::Same) => settled.push(PushOutcome {
                        target: t,
                        outcome: "unchanged",
                        message: Some("it already holds this key".into()),
                        warnings: Vec::new(),
                    }),
                    Ok(Existing::Missing) => writes.push((t, false)),
                    Ok(Existing::NoField) => writes.push((t, true)),
                    Ok(other) => {
                        let what = match &other {
                            Existing::Other(Some(fp)) => format!("it holds another key ({fp})"),
                            Existing::Present => {
                                "it exists (its value cannot be read back)".to_string()
                            }
                            _ => "it exists and holds something else".to_string(),
                        };
                        queue.push((t, what));
                    }
                }
            }
            if queue.is_empty() {
                decided(st, writes, settled)
            } else {
                st.stage = Stage::Ask {
                    queue,
                    writes,
                    settled,
                };
                Vec::new()
            }
        }
        Msg::Pushed(outcomes) => {
            let ok = outcomes.iter().filter(|o| o.outcome != "failed").count();
            m.toast = Some(format!(
                "Pushed: {ok} of {} target(s) hold the current key{}",
                outcomes.len(),
                if ok < outcomes.len() {
                    "; failed targets were not recorded"
                } else {
                    ""
                }
            ));
            if let Screen::Push(st) = &mut m.screen
                && matches!(st.stage, Stage::Working)
            {
                // What D found before is stale now: the section shows the pushes until
                // D reads the targets back again.
                m.deployments.found.remove(&st.key);
                st.stage = Stage::Done(outcomes);
            }
            vec![Effect::Reload]
        }
        _ => Vec::new(),
    }
}

fn glyph(outcome: &str) -> &'static str {
    match outcome {
        "pushed" => "✔",
        "unchanged" => "=",
        _ => "✖",
    }
}

pub fn draw(f: &mut Frame, area: Rect, st: &PushState, m: &Model, t: &Theme) {
    let records = m.deployments.of(&st.key);
    let r = centered(area, 96, (records.len() as u16).saturating_add(6).max(12));
    let (block, inner) = frame(f, area, r, format!(" Push {} ", st.label));
    let mut lines = vec![Line::from("")];
    match &st.stage {
        Stage::Pick => {
            // The rows the list gets (a blank line above, two below): scrolled so the
            // highlighted row is always on screen.
            let room = (inner.height as usize).saturating_sub(3).max(1);
            let skip = st.selected.saturating_sub(room - 1);
            for (n, rec) in records.iter().enumerate().skip(skip).take(room) {
                let text = format!(
                    " {}  last pushed {} {}",
                    rec.target,
                    rec.fingerprint,
                    crate::core::ids::relative(rec.pushed_at, m.now)
                );
                let style = if n == st.selected {
                    t.selected()
                } else {
                    Style::default()
                };
                lines.push(Line::from(Span::styled(text, style)));
            }
            if records.len() < skip + room {
                let style = if st.selected >= records.len() {
                    t.selected()
                } else {
                    t.accent()
                };
                lines.push(Line::from(Span::styled(" new target…", style)));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                " Enter pushes to the highlighted target · a pushes to all recorded · Esc closes",
                t.dim(),
            )));
        }
        Stage::Typing(field) => {
            lines.push(Line::from(
                " Target (as for push --to), e.g. aws-sm:prod/billing?region=eu-west-1",
            ));
            lines.push(Line::from(
                " or vault:secret/app#key, k8s:ns/secret#key, gh:owner/repo#NAME",
            ));
            lines.push(Line::from(""));
            let mut spans = vec![Span::raw(" > ")];
            spans.extend(field.spans(Style::default(), true));
            lines.push(Line::from(spans));
            lines.push(Line::from(""));
            if !field.is_empty() {
                lines.push(match validate(field.value()) {
                    Ok(target) => Line::from(Span::styled(
                        format!(" ✔ a {} target", target.scheme()),
                        t.ok(),
                    )),
                    Err(e) => Line::from(Span::styled(format!(" ✖ {e}"), t.error())),
                });
            }
            lines.push(Line::from(Span::styled(
                " Enter pushes · Esc back to the list",
                t.dim(),
            )));
        }
        Stage::Working => {
            let s = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"][m.spinner % 10];
            lines.push(Line::from(format!(" {s} Pushing… (through your own CLI)")));
        }
        Stage::Ask { queue, .. } => {
            if let Some((target, what)) = queue.first() {
                lines.push(Line::from(format!(" {target}: {what}.")));
                lines.push(Line::from(""));
                lines.push(Line::from(vec![
                    Span::raw(format!(" Overwrite it with {}'s key? ", st.label)),
                    Span::styled("y", t.error()),
                    Span::raw(" overwrites · "),
                    Span::styled("N", t.accent()),
                    Span::raw(" keeps it"),
                ]));
            }
        }
        Stage::Done(outcomes) => {
            for o in outcomes {
                let style = if o.outcome == "failed" {
                    t.error()
                } else {
                    t.ok()
                };
                let mut text = format!(" {} {:<9} {}", glyph(o.outcome), o.outcome, o.target);
                if let Some(msg) = &o.message {
                    text.push_str(&format!(" — {msg}"));
                }
                lines.push(Line::from(Span::styled(text, style)));
                for w in &o.warnings {
                    lines.push(Line::from(Span::styled(
                        format!("   warning: {w}"),
                        t.warning(),
                    )));
                }
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                " Enter / Esc: back to the targets",
                t.dim(),
            )));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        r,
    );
}

use ratatui::style::Style;

#[cfg(test)]
mod tests {
    use super::super::super::model::{Effect, Model, Msg, Screen};
    use super::super::super::update::update;
    use super::Stage;
    use crate::app::push::Existing;
    use crate::core::identity::{Identity, Kind, Source};
    use crate::core::target::Target;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

    fn press(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent {
            code: c,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    fn model() -> Model {
        let mut m = Model::new("/h".into(), "-".into(), None, false, 0);
        m.identities = vec![Identity {
            name: Some("billing".into()),
            ..Identity::new("a1".to_string(), Kind::Agent, Source::Disk, "/h/a1")
        }];
        m
    }

    fn t(s: &str) -> Target {
        s.parse().unwrap()
    }

    #[test]
    fn a_new_target_is_probed_then_written_where_nothing_is() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('p')));
        update(&mut m, press(KeyCode::Enter));
        for c in "gh:o/r#K".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        let fx = update(&mut m, press(KeyCode::Enter));
        assert_eq!(
            fx,
            [Effect::ProbePush {
                id: "a1".into(),
                targets: vec![t("gh:o/r#K")]
            }]
        );
        let fx = update(
            &mut m,
            Msg::PushProbed {
                id: "a1".into(),
                probes: vec![(t("gh:o/r#K"), Ok(Existing::Missing))],
            },
        );
        assert!(
            matches!(&fx[..], [Effect::WritePush { writes, .. }] if writes == &[(t("gh:o/r#K"), false)])
        );
    }

    #[test]
    fn another_value_is_overwritten_only_after_y() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('p')));
        let probes = || Msg::PushProbed {
            id: "a1".into(),
            probes: vec![
                (t("doppler:p/c#A"), Ok(Existing::Other(Some("ff".into())))),
                (t("doppler:p/c#B"), Err("doppler: not installed".into())),
            ],
        };
        let working = |m: &mut Model| {
            if let Screen::Push(st) = &mut m.screen {
                st.stage = Stage::Working;
            }
        };
        // A picker not waiting for an answer ignores it.
        assert!(update(&mut m, probes()).is_empty());
        assert!(matches!(&m.screen, Screen::Push(st) if matches!(st.stage, Stage::Pick)));
        working(&mut m);
        assert!(update(&mut m, probes()).is_empty());
        let fx = update(&mut m, press(KeyCode::Char('n')));
        assert!(fx.is_empty(), "declined and failed: nothing to write");
        let Screen::Push(st) = &m.screen else {
            panic!()
        };
        let Stage::Done(o) = &st.stage else { panic!() };
        assert!(o.iter().all(|o| o.outcome == "failed"));

        let mut m = model();
        update(&mut m, press(KeyCode::Char('p')));
        working(&mut m);
        update(&mut m, probes());
        let fx = update(&mut m, press(KeyCode::Char('y')));
        assert!(
            matches!(&fx[..], [Effect::WritePush { writes, settled, .. }]
                if writes == &[(t("doppler:p/c#A"), true)] && settled.len() == 1)
        );
    }

    #[test]
    fn a_target_that_does_not_parse_is_not_pushed() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('p')));
        update(&mut m, press(KeyCode::Enter));
        for c in "vault:secret".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert!(update(&mut m, press(KeyCode::Enter)).is_empty());
        assert!(
            m.toast
                .as_deref()
                .unwrap()
                .starts_with("Not a push target: a vault target looks like")
        );
    }

    /// Many recorded targets: the list scrolls so the highlighted row stays visible.
    #[test]
    fn a_long_list_scrolls_to_the_highlight() {
        let mut m = model();
        let recs: Vec<crate::store::targets::Record> = (0..40)
            .map(|n| crate::store::targets::Record {
                target: t(&format!("gh:o/r#K{n}")),
                fingerprint: "ff".into(),
                pushed_at: 0,
            })
            .collect();
        m.deployments
            .records
            .insert((Kind::Agent, "a1".into()), recs);
        update(&mut m, press(KeyCode::Char('p')));
        for _ in 0..45 {
            update(&mut m, press(KeyCode::Down));
        }
        let theme = super::super::super::theme::Theme::new(None);
        for (w, h) in [(80, 24), (40, 10), (200, 60)] {
            let mut term =
                ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h)).unwrap();
            term.draw(|f| super::super::super::view::draw(f, &m, &theme))
                .unwrap();
            let text: String = term
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect();
            if h >= 24 {
                assert!(text.contains("new target…"), "{w}x{h}");
            }
        }
    }

    #[test]
    fn a_pushes_to_every_recorded_target_and_enter_to_the_highlighted_one() {
        let mut m = model();
        let rec = |s: &str| crate::store::targets::Record {
            target: t(s),
            fingerprint: "ff".into(),
            pushed_at: 0,
        };
        m.deployments.records.insert(
            (Kind::Agent, "a1".into()),
            vec![rec("gh:o/r#A"), rec("vault:secret/app#key")],
        );
        update(&mut m, press(KeyCode::Char('p')));
        let fx = update(&mut m, press(KeyCode::Char('a')));
        assert_eq!(
            fx,
            [Effect::ProbePush {
                id: "a1".into(),
                targets: vec![t("gh:o/r#A"), t("vault:secret/app#key")]
            }]
        );
        let mut m2 = model();
        m2.deployments = std::mem::take(&mut m.deployments);
        update(&mut m2, press(KeyCode::Char('p')));
        update(&mut m2, press(KeyCode::Down));
        let fx = update(&mut m2, press(KeyCode::Enter));
        assert_eq!(
            fx,
            [Effect::ProbePush {
                id: "a1".into(),
                targets: vec![t("vault:secret/app#key")]
            }]
        );
    }
}
