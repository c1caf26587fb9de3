//! `update(model, msg) -> effects`: every state change in one pure function, so it can
//! be tested without a terminal, a clock or a disk.

use super::keymap::{self, Action};
use super::model::*;
use crate::core::identity::Kind;
use crate::core::rotation::Mode;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        // Act on presses only: Windows also reports releases (and repeats).
        Msg::Key(k) if k.kind != KeyEventKind::Press => Vec::new(),
        Msg::Key(k) => {
            // A key press dismisses the last status message.
            m.toast = None;
            m.toast_age = 0;
            key(m, k)
        }
        Msg::Mouse(e) => mouse(m, e),
        Msg::Resize(w, h) => {
            m.size = (w, h);
            Vec::new()
        }
        Msg::Tick {
            now,
            clipboard_left,
        } => {
            let effects = super::live::tick(m, now);
            m.clipboard_left = clipboard_left;
            if m.toast.is_some() {
                m.toast_age += 1;
                if m.toast_age > 4 {
                    m.toast = None;
                    m.toast_age = 0;
                }
            }
            if m.checking {
                m.spinner = m.spinner.wrapping_add(1);
            }
            effects
        }
        Msg::Loaded { identities, notes } => super::live::loaded(m, identities, notes),
        Msg::CheckedOne(i) => {
            super::live::checked_one(m, *i);
            Vec::new()
        }
        Msg::CheckFinished { error } => {
            super::live::check_finished(m, error);
            Vec::new()
        }
        Msg::HomeChanged => vec![Effect::Reload],
        Msg::ClipboardClearSent(s) => {
            m.toast = Some(s);
            m.toast_age = 0;
            Vec::new()
        }
        Msg::ExportText { id, format, text } => {
            if let Screen::Export(st) = &mut m.screen
                && st.id == id
                && EXPORT_FORMATS.get(st.selected) == Some(&format)
            {
                match text {
                    Ok(t) => {
                        st.text = Some(t);
                        st.error = None;
                    }
                    Err(e) => st.error = Some(e),
                }
            }
            Vec::new()
        }
        Msg::Copied(r) => {
            // The key left this tool: a rotation waiting for it to be captured is done.
            let noted = match (&r, &m.screen) {
                (Ok(_), Screen::Export(st)) => vec![Effect::NoteCapture { id: st.id.clone() }],
                _ => Vec::new(),
            };
            m.toast = Some(match r {
                Ok(s) => s,
                Err(e) => format!(
                    "Copy failed: {e} — press v on the details pane to reveal the key instead"
                ),
            });
            if matches!(m.screen, Screen::Export(_)) {
                m.screen = Screen::Main;
            }
            noted
        }
        Msg::ClipboardCleared { cleared } => {
            m.toast = Some(if cleared {
                "Clipboard cleared.".into()
            } else {
                "Clipboard left alone: it holds something else now.".into()
            });
            Vec::new()
        }
        Msg::Revealed { id, text } => {
            match text {
                Ok(t) => m.revealed = Some((id, t)),
                Err(e) => m.toast = Some(format!("Cannot reveal: {e}")),
            }
            Vec::new()
        }
        Msg::Fixed(r) => {
            m.toast = Some(match r {
                Ok(s) => s,
                Err(e) => format!("Could not fix: {e}"),
            });
            vec![Effect::Reload]
        }
        Msg::Generated(r) => {
            match r {
                Ok((s, id)) => {
                    m.toast = Some(s);
                    m.screen = Screen::Main;
                    m.follow = Some(id);
                    return vec![Effect::Reload];
                }
                Err(e) => {
                    if let Screen::Generate(g) = &mut m.screen {
                        g.error = Some(e);
                    }
                }
            }
            Vec::new()
        }
        Msg::Planned(r) => {
            if let Screen::Rotate(st) = &mut m.screen {
                match r {
                    Ok(p) => st.plan = Some(p),
                    Err(e) => st.error = Some(e),
                }
            }
            Vec::new()
        }
        Msg::Resumable(j) => {
            if let Screen::Rotate(st) = &mut m.screen
                && st.id == j.identity_id
            {
                st.resumable = Some(j);
            }
            Vec::new()
        }
        Msg::Rotated(r) => {
            if let Screen::Rotate(st) = &mut m.screen {
                st.running = false;
                match r {
                    Ok(j) => st.journal = Some(j),
                    Err(e) => st.error = Some(e),
                }
            }
            vec![Effect::Reload]
        }
    }
}

fn clamp(m: &mut Model) {
    let n = m.visible().len();
    if m.selected >= n {
        m.selected = n.saturating_sub(1);
    }
}

fn select(m: &mut Model, to: usize) {
    if to != m.selected {
        m.revealed = None;
    }
    m.selected = to;
    clamp(m);
}

fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    match &mut m.screen {
        Screen::Help => {
            if matches!(
                keymap::action(&k),
                Some(Action::Back | Action::Help | Action::Quit)
            ) || k.code == KeyCode::Enter
            {
                m.screen = Screen::Main;
            }
            Vec::new()
        }
        Screen::Export(_) => export_key(m, k),
        Screen::Generate(_) => generate_key(m, k),
        Screen::Rotate(_) => rotate_key(m, k),
        Screen::Main if m.filtering => {
            match k.code {
                KeyCode::Esc => {
                    m.filtering = false;
                    m.filter.clear();
                }
                KeyCode::Enter => m.filtering = false,
                KeyCode::Backspace => {
                    m.filter.pop();
                }
                KeyCode::Char(c) if !c.is_control() => m.filter.push(c),
                KeyCode::Up | KeyCode::Down => return main_action(m, keymap::action(&k)),
                _ => {}
            }
            m.selected = 0;
            m.revealed = None;
            clamp(m);
            Vec::new()
        }
        Screen::Main => main_action(m, keymap::action(&k)),
    }
}

fn main_action(m: &mut Model, a: Option<Action>) -> Vec<Effect> {
    let n = m.visible().len();
    let id = m.current().map(|i| i.id.clone());
    match a {
        Some(Action::Up) => select(m, m.selected.saturating_sub(1)),
        Some(Action::Down) => select(m, (m.selected + 1).min(n.saturating_sub(1))),
        Some(Action::Home) => select(m, 0),
        Some(Action::End) => select(m, n.saturating_sub(1)),
        Some(Action::Filter) => m.filtering = true,
        Some(Action::Sort) => {
            // The highlight stays on the same identity, wherever the new order puts it.
            let keep = m.current().map(|i| (i.id.clone(), i.kind, i.source));
            m.sort = m.sort.next();
            m.toast = Some(format!("Sorted by {}", m.sort.label()));
            m.selected = keep.and_then(|k| m.position_of(&k)).unwrap_or(0);
        }
        Some(Action::SwitchPane) => {
            m.focus = if m.focus == Pane::List {
                Pane::Details
            } else {
                Pane::List
            };
            if m.focus == Pane::List {
                m.revealed = None;
            }
        }
        Some(Action::Details) => m.focus = Pane::Details,
        Some(Action::Help) => m.screen = Screen::Help,
        Some(Action::Quit) => m.quit = true,
        Some(Action::Back) => {
            if m.focus == Pane::Details {
                m.focus = Pane::List;
                m.revealed = None;
            } else if !m.filter.is_empty() {
                // The highlight stays where it was, now among all identities.
                let kept = m.selection_key();
                m.filter.clear();
                m.reselect(kept);
            } else {
                // Esc only ever backs out; ending the session is q's job (or Ctrl-C).
                m.toast = Some("Nothing to close — q quits".into());
            }
        }
        Some(Action::Refresh) => {
            return vec![Effect::Reload, super::live::ask(m, Effect::CheckRegistry)];
        }
        Some(Action::Fix) => {
            if let Some(id) = id {
                return vec![Effect::Fix { id }];
            }
        }
        Some(Action::Reveal) => {
            if m.revealed.is_some() {
                m.revealed = None;
            } else if let Some(id) = id {
                return vec![Effect::Reveal { id }];
            }
        }
        Some(Action::Copy | Action::Export) => {
            if let Some(id) = id {
                // Default to the env line of the identity's own SDK variable.
                m.screen = Screen::Export(ExportState {
                    id: id.clone(),
                    selected: 0,
                    text: None,
                    error: None,
                });
                return vec![Effect::LoadExport {
                    id,
                    format: EXPORT_FORMATS[0],
                }];
            }
        }
        Some(Action::New) => {
            m.screen = Screen::Generate(GenerateState {
                kind: Kind::Agent,
                id: String::new(),
                name: String::new(),
                keyring: false,
                register: false,
                field: 0,
                error: None,
            });
        }
        Some(Action::Rotate) => {
            if let Some(id) = id {
                m.screen = Screen::Rotate(Box::new(RotateState {
                    id: id.clone(),
                    resumable: None,
                    mode: Mode::Planned,
                    plan: None,
                    typed: String::new(),
                    emergency_confirmed: false,
                    running: false,
                    journal: None,
                    error: None,
                }));
                return vec![Effect::PlanRotation {
                    id,
                    mode: Mode::Planned,
                }];
            }
        }
        None => {}
    }
    Vec::new()
}

fn export_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Export(st) = &mut m.screen else {
        return Vec::new();
    };
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
        Some(Action::Up) => {
            st.selected = st.selected.saturating_sub(1);
            load(st)
        }
        Some(Action::Down) => {
            st.selected = (st.selected + 1).min(EXPORT_FORMATS.len() - 1);
            load(st)
        }
        Some(Action::Details) | Some(Action::Copy) => match &st.text {
            Some(t) => vec![Effect::Copy {
                text: t.clone(),
                what: format!("{} for {}", EXPORT_FORMATS[st.selected].as_str(), st.id),
            }],
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn generate_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Generate(g) = &mut m.screen else {
        return Vec::new();
    };
    match k.code {
        KeyCode::Esc => m.screen = Screen::Main,
        KeyCode::Tab | KeyCode::Down => g.field = (g.field + 1) % GenerateState::FIELDS,
        KeyCode::BackTab | KeyCode::Up => {
            g.field = (g.field + GenerateState::FIELDS - 1) % GenerateState::FIELDS
        }
        KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right if g.field == 0 || g.field >= 3 => {
            match g.field {
                0 => {
                    g.kind = if g.kind == Kind::Agent {
                        Kind::McpServer
                    } else {
                        Kind::Agent
                    }
                }
                3 => g.keyring = !g.keyring,
                _ => g.register = !g.register,
            }
        }
        KeyCode::Backspace if g.field == 1 => {
            g.id.pop();
        }
        KeyCode::Backspace if g.field == 2 => {
            g.name.pop();
        }
        KeyCode::Char(c) if g.field == 1 && !c.is_control() => g.id.push(c),
        KeyCode::Char(c) if g.field == 2 && !c.is_control() => g.name.push(c),
        KeyCode::Enter => {
            return vec![Effect::Generate {
                kind: g.kind,
                id: (!g.id.trim().is_empty()).then(|| g.id.trim().to_string()),
                name: (!g.name.trim().is_empty()).then(|| g.name.trim().to_string()),
                keyring: g.keyring,
                register: g.register,
            }];
        }
        _ => {}
    }
    Vec::new()
}

fn rotate_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let Screen::Rotate(st) = &mut m.screen else {
        return Vec::new();
    };
    if st.running {
        return Vec::new();
    }
    if st.journal.is_some() || st.error.is_some() {
        // After a rotation, Enter goes straight to the capture step: the export picker.
        if k.code == KeyCode::Enter
            && st
                .journal
                .as_ref()
                .is_some_and(|j| !j.step(crate::core::rotation::StepId::Capture).is_settled())
        {
            let id = st
                .journal
                .as_ref()
                .map(|j| j.identity_id.clone())
                .unwrap_or_default();
            m.screen = Screen::Export(ExportState {
                id: id.clone(),
                selected: 0,
                text: None,
                error: None,
            });
            return vec![Effect::LoadExport {
                id,
                format: EXPORT_FORMATS[0],
            }];
        }
        if matches!(k.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
            m.screen = Screen::Main;
        }
        return Vec::new();
    }
    if let Some(j) = &st.resumable
        && k.code == KeyCode::Enter
    {
        st.running = true;
        return vec![Effect::ResumeRotation {
            id: j.identity_id.clone(),
        }];
    }
    match k.code {
        KeyCode::Esc => m.screen = Screen::Main,
        KeyCode::Tab => {
            st.mode = if st.mode == Mode::Planned {
                Mode::Emergency
            } else {
                Mode::Planned
            };
            st.emergency_confirmed = false;
            st.plan = None;
            return vec![Effect::PlanRotation {
                id: st.id.clone(),
                mode: st.mode,
            }];
        }
        KeyCode::Backspace => {
            st.typed.pop();
        }
        KeyCode::Char(c) if !c.is_control() => st.typed.push(c),
        KeyCode::Enter if st.plan.is_some() && st.typed == st.id => {
            if st.mode == Mode::Emergency && !st.emergency_confirmed {
                st.emergency_confirmed = true;
                return Vec::new();
            }
            st.running = true;
            return vec![Effect::Rotate {
                id: st.id.clone(),
                mode: st.mode,
            }];
        }
        _ => {}
    }
    Vec::new()
}

/// Mouse: click selects a row, the wheel scrolls; the list starts two rows down.
fn mouse(m: &mut Model, e: ratatui::crossterm::event::MouseEvent) -> Vec<Effect> {
    if !m.mouse || !matches!(m.screen, Screen::Main) {
        return Vec::new();
    }
    match e.kind {
        MouseEventKind::ScrollDown => main_action(m, Some(Action::Down)),
        MouseEventKind::ScrollUp => main_action(m, Some(Action::Up)),
        MouseEventKind::Down(MouseButton::Left) => {
            let list_width = m.size.0 * 55 / 100;
            if e.column >= list_width {
                m.focus = Pane::Details;
                return Vec::new();
            }
            m.focus = Pane::List;
            let row = e.row.saturating_sub(2) as usize;
            if let Some(Row::Item(n)) = m.rows().get(row) {
                let n = *n;
                if let Some(pos) = m.visible().iter().position(|&v| v == n) {
                    select(m, pos);
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::{Identity, Source};
    use ratatui::crossterm::event::{KeyEventState, KeyModifiers};
    use zeroize::Zeroizing;

    fn ident(id: &str, kind: Kind, source: Source) -> Identity {
        Identity {
            name: Some(id.into()),
            did: Some(format!("did:key:z6Mk{id}")),
            fingerprint: Some(format!("fp-{id}")),
            effective: true,
            ..Identity::new(id, kind, source, format!("/h/{id}"))
        }
    }

    fn model() -> Model {
        let mut m = Model::new("/h".into(), "not configured".into(), Some(30), true, 0);
        m.identities = vec![
            ident("beta", Kind::Agent, Source::Disk),
            ident("alpha", Kind::Agent, Source::Disk),
            ident("srv", Kind::McpServer, Source::Disk),
        ];
        m
    }

    fn press(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent {
            code: c,
            modifiers: KeyModifiers::NONE,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    #[test]
    fn navigation_and_grouping() {
        let mut m = model();
        assert_eq!(
            m.current().unwrap().id,
            "alpha",
            "sorted by name within the group"
        );
        update(&mut m, press(KeyCode::Char('j')));
        assert_eq!(m.current().unwrap().id, "beta");
        update(&mut m, press(KeyCode::End));
        assert_eq!(m.current().unwrap().id, "srv");
        update(&mut m, press(KeyCode::Down));
        assert_eq!(m.current().unwrap().id, "srv", "stops at the end");
        assert_eq!(m.rows()[0], Row::Header("AGENTS"));
        assert!(m.rows().contains(&Row::Header("MCP SERVERS")));
    }

    #[test]
    fn releases_are_ignored() {
        let mut m = model();
        update(
            &mut m,
            Msg::Key(KeyEvent {
                code: KeyCode::Down,
                modifiers: KeyModifiers::NONE,
                kind: KeyEventKind::Release,
                state: KeyEventState::NONE,
            }),
        );
        assert_eq!(m.selected, 0);
    }

    #[test]
    fn incremental_filter() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('/')));
        for c in "fp-sr".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert_eq!(m.visible().len(), 1);
        assert_eq!(m.current().unwrap().id, "srv");
        update(&mut m, press(KeyCode::Esc));
        assert_eq!(m.visible().len(), 3);
        assert!(!m.quit);
    }

    #[test]
    fn copy_flow_loads_then_copies() {
        let mut m = model();
        let fx = update(&mut m, press(KeyCode::Char('c')));
        assert_eq!(
            fx,
            vec![Effect::LoadExport {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0]
            }]
        );
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "nothing to copy before the text is there"
        );
        update(
            &mut m,
            Msg::ExportText {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0],
                text: Ok(Zeroizing::new("X=1".into())),
            },
        );
        let fx = update(&mut m, press(KeyCode::Enter));
        assert!(matches!(&fx[..], [Effect::Copy { text, .. }] if text.as_str() == "X=1"));
        update(
            &mut m,
            Msg::Copied(Ok("Copied env for alpha — clears in 30s".into())),
        );
        assert!(matches!(m.screen, Screen::Main));
        assert!(m.toast.as_deref().unwrap().contains("clears in 30s"));
        // a stale answer for another format is ignored
        update(&mut m, press(KeyCode::Char('e')));
        update(&mut m, press(KeyCode::Down));
        update(
            &mut m,
            Msg::ExportText {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0],
                text: Ok(Zeroizing::new("old".into())),
            },
        );
        assert!(matches!(&m.screen, Screen::Export(st) if st.text.is_none()));
    }

    #[test]
    fn reveal_is_masked_again_when_moving() {
        let mut m = model();
        assert_eq!(
            update(&mut m, press(KeyCode::Char('v'))),
            vec![Effect::Reveal { id: "alpha".into() }]
        );
        update(
            &mut m,
            Msg::Revealed {
                id: "alpha".into(),
                text: Ok(Zeroizing::new("secret".into())),
            },
        );
        assert!(m.revealed.is_some());
        update(&mut m, press(KeyCode::Down));
        assert!(m.revealed.is_none());
    }

    #[test]
    fn f_fixes_the_selected_identity_and_reloads() {
        let mut m = model();
        assert_eq!(
            update(&mut m, press(KeyCode::Char('f'))),
            vec![Effect::Fix { id: "alpha".into() }]
        );
        let fx = update(
            &mut m,
            Msg::Fixed(Ok("Fixed alpha: chmod 600 /h/alpha/private.jwk".into())),
        );
        assert_eq!(fx, vec![Effect::Reload]);
        assert!(m.toast.as_deref().unwrap().starts_with("Fixed alpha"));
        update(&mut m, Msg::Fixed(Err("cannot chmod".into())));
        assert_eq!(m.toast.as_deref(), Some("Could not fix: cannot chmod"));
    }

    #[test]
    fn generate_dialog() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('n')));
        update(&mut m, press(KeyCode::Char(' ')));
        update(&mut m, press(KeyCode::Tab));
        for c in "srv-2".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        let fx = update(&mut m, press(KeyCode::Enter));
        assert_eq!(
            fx,
            vec![Effect::Generate {
                kind: Kind::McpServer,
                id: Some("srv-2".into()),
                name: None,
                keyring: false,
                register: false
            }]
        );
        let fx = update(
            &mut m,
            Msg::Generated(Ok(("Created".into(), "alpha".into()))),
        );
        assert_eq!(fx, vec![Effect::Reload]);
    }

    #[test]
    fn rotation_needs_the_typed_id_and_a_second_yes_for_emergency() {
        let mut m = model();
        assert_eq!(
            update(&mut m, press(KeyCode::Char('R'))),
            vec![Effect::PlanRotation {
                id: "alpha".into(),
                mode: Mode::Planned
            }]
        );
        let plan = crate::app::rotate::Plan {
            id: "alpha".into(),
            kind: Kind::Agent,
            mode: Mode::Planned,
            old_did: "d".into(),
            consequences: vec![],
            file_hits: vec![],
        };
        update(&mut m, Msg::Planned(Ok(plan)));
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "no id typed"
        );
        for c in "alpha".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::Rotate {
                id: "alpha".into(),
                mode: Mode::Planned
            }]
        );
        let mut m = model();
        update(&mut m, press(KeyCode::Char('R')));
        assert_eq!(
            update(&mut m, press(KeyCode::Tab)),
            vec![Effect::PlanRotation {
                id: "alpha".into(),
                mode: Mode::Emergency
            }]
        );
        let plan = crate::app::rotate::Plan {
            id: "alpha".into(),
            kind: Kind::Agent,
            mode: Mode::Emergency,
            old_did: "d".into(),
            consequences: vec![],
            file_hits: vec![],
        };
        update(&mut m, Msg::Planned(Ok(plan)));
        for c in "alpha".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "first Enter only arms emergency mode"
        );
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::Rotate {
                id: "alpha".into(),
                mode: Mode::Emergency
            }]
        );
    }

    /// Esc backs out (details, then the filter, keeping the highlight) and never quits.
    #[test]
    fn esc_never_quits_and_clearing_the_filter_keeps_the_highlight() {
        let mut m = model();
        m.filter = "srv".into();
        assert_eq!(m.current().unwrap().id, "srv");
        update(&mut m, press(KeyCode::Esc));
        assert!(m.filter.is_empty());
        assert_eq!(m.current().unwrap().id, "srv", "not the first row");
        update(&mut m, press(KeyCode::Esc));
        update(&mut m, press(KeyCode::Esc));
        assert!(!m.quit);
        assert!(m.toast.as_deref().unwrap().contains("q quits"));
        update(&mut m, press(KeyCode::Char('q')));
        assert!(m.quit);
    }

    /// A reload that changes the rows keeps the highlight on the same identity; a created
    /// identity is highlighted once a reload lists it.
    #[test]
    fn selection_follows_the_identity_across_reloads() {
        let mut m = model();
        update(&mut m, press(KeyCode::Down));
        assert_eq!(m.current().unwrap().id, "beta");
        let mut ids = vec![
            ident("aaa", Kind::Agent, Source::Disk),
            ident("beta", Kind::Agent, Source::Disk),
            ident("alpha", Kind::Agent, Source::Disk),
            ident("srv", Kind::McpServer, Source::Disk),
        ];
        update(
            &mut m,
            Msg::Loaded {
                identities: ids.clone(),
                notes: Vec::new(),
            },
        );
        assert_eq!(m.current().unwrap().id, "beta", "not the old row number");
        update(&mut m, Msg::Generated(Ok(("Created".into(), "new".into()))));
        ids.push(ident("new", Kind::Agent, Source::Disk));
        update(
            &mut m,
            Msg::Loaded {
                identities: ids,
                notes: Vec::new(),
            },
        );
        assert_eq!(m.current().unwrap().id, "new");
    }

    /// `s` really reorders each group, and the highlight stays on the same identity.
    #[test]
    fn sort_modes_reorder_and_keep_the_selection() {
        let mut m = model();
        let badge = |exp: i64| crate::core::identity::BadgeInfo {
            jti: "j".into(),
            iss: "i".into(),
            sub: "s".into(),
            trust_level: None,
            ial: None,
            issued_at: 0,
            expires_at: exp,
            state: crate::core::badge::BadgeState::Valid,
            reason: None,
        };
        m.identities = vec![
            ident("beta", Kind::Agent, Source::Disk),
            ident("alpha", Kind::Agent, Source::Disk),
            ident("gamma", Kind::Agent, Source::Disk),
        ];
        m.identities[0].badge = Some(badge(500));
        m.identities[2].badge = Some(badge(100));
        m.identities[2]
            .problems
            .push(crate::core::identity::Problem::warning(
                crate::core::identity::Code::Leftover,
                "m",
                "f",
            ));
        let order = |m: &Model| -> Vec<String> {
            m.visible()
                .iter()
                .map(|&n| m.identities[n].id.clone())
                .collect()
        };
        assert_eq!(order(&m), ["gamma", "alpha", "beta"], "problems first");
        // Highlight alpha, then cycle: name, then badge expiry, then back.
        update(&mut m, press(KeyCode::Down));
        assert_eq!(m.current().unwrap().id, "alpha");
        update(&mut m, press(KeyCode::Char('s')));
        assert_eq!(order(&m), ["alpha", "beta", "gamma"], "by name");
        assert_eq!(m.current().unwrap().id, "alpha");
        update(&mut m, press(KeyCode::Char('s')));
        assert_eq!(
            order(&m),
            ["gamma", "beta", "alpha"],
            "soonest expiry first"
        );
        assert_eq!(m.current().unwrap().id, "alpha");
        update(&mut m, press(KeyCode::Char('s')));
        assert_eq!(order(&m), ["gamma", "alpha", "beta"]);
        assert_eq!(m.current().unwrap().id, "alpha");
    }

    #[test]
    fn sort_cycles_and_resume_is_offered() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('s')));
        assert_eq!(m.sort, SortBy::Name);
        assert!(m.toast.as_deref().unwrap().contains("name"));
        update(&mut m, press(KeyCode::Char('s')));
        assert_eq!(m.sort, SortBy::Expiry);
        update(&mut m, press(KeyCode::Char('R')));
        let key = crate::core::key::KeyPair::from_seed(&[1; 32]);
        let j = crate::core::rotation::Journal::new(
            "alpha",
            Kind::Agent,
            "/h/alpha",
            Mode::Planned,
            0,
            key.public(),
            7,
            None,
            "env",
        );
        update(&mut m, Msg::Resumable(j));
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::ResumeRotation { id: "alpha".into() }]
        );
    }

    #[test]
    fn after_a_rotation_enter_opens_the_capture_picker() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('R')));
        let key = crate::core::key::KeyPair::from_seed(&[1; 32]);
        let j = crate::core::rotation::Journal::new(
            "alpha",
            Kind::Agent,
            "/h/alpha",
            Mode::Planned,
            0,
            key.public(),
            7,
            None,
            "env",
        );
        update(&mut m, Msg::Rotated(Ok(j)));
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::LoadExport {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0]
            }]
        );
        assert!(matches!(m.screen, Screen::Export(_)));
    }

    #[test]
    fn registry_answers_fill_rows_one_by_one() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('r')));
        assert!(m.checking);
        let mut answered = m.identities[2].clone();
        answered.registry = Some(crate::core::identity::RegistryInfo {
            url: "u".into(),
            registered: Some(true),
            did: None,
            name: None,
            status: Some("active".into()),
            error: None,
        });
        update(&mut m, Msg::CheckedOne(Box::new(answered)));
        assert!(m.identities[2].registry.is_some());
        assert!(
            m.identities[0].registry.is_none(),
            "other rows keep their spinner"
        );
        assert!(m.checking);
        update(&mut m, Msg::CheckFinished { error: None });
        assert!(!m.checking);
    }

    #[test]
    fn quit_keys() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('q')));
        assert!(m.quit);
        let mut m = model();
        update(
            &mut m,
            Msg::Key(KeyEvent {
                code: KeyCode::Char('c'),
                modifiers: KeyModifiers::CONTROL,
                kind: KeyEventKind::Press,
                state: KeyEventState::NONE,
            }),
        );
        assert!(m.quit);
    }
}
