//! `update(model, msg) -> effects`: every state change in one pure function, so it can
//! be tested without a terminal, a clock or a disk.

use super::keymap::{self, Action};
use super::model::*;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};

pub fn update(m: &mut Model, msg: Msg) -> Vec<Effect> {
    // Every message shown goes into the session's log, wherever it was set.
    m.session.note(&m.toast, m.now);
    let fx = apply(m, msg);
    m.session.note(&m.toast, m.now);
    // Without a keyboard the UI ends, but a running rotation is seen to its end first.
    if m.input_lost && !matches!(&m.screen, Screen::Rotate(st) if st.running) {
        m.quit = true;
    }
    fx
}

fn too_small(m: &Model) -> bool {
    let (w, h) = super::view::MIN_SIZE;
    m.size.0 < w || m.size.1 < h
}

fn apply(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        // Act on presses only: Windows also reports releases (and repeats).
        Msg::Key(k) if k.kind != KeyEventKind::Press => Vec::new(),
        // While the screen only says it is too small, keys act on nothing unseen: only
        // quitting works.
        Msg::Key(k) if too_small(m) => {
            if keymap::action(&k) == Some(Action::Quit) {
                m.quit = true;
            }
            Vec::new()
        }
        Msg::Key(k) => {
            // A key press dismisses the last status message.
            m.toast = None;
            m.toast_age = 0;
            key(m, k)
        }
        Msg::Mouse(_) | Msg::Paste(_) if too_small(m) => Vec::new(),
        Msg::Paste(text) => {
            m.toast = None;
            m.toast_age = 0;
            super::paste::paste(m, &text);
            Vec::new()
        }
        Msg::InputLost(why) => {
            m.session.record(m.now, why);
            m.input_lost = true;
            Vec::new()
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
            if m.checking || super::screens::push::working(m) {
                m.spinner = m.spinner.wrapping_add(1);
            }
            let mut effects = effects;
            // Auto-renew looks at the badge states the clock just re-derived.
            effects.extend(super::screens::actions::on_tick(m));
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
        Msg::ExportText {
            id,
            format,
            text,
            fingerprint,
            copy,
        } => super::screens::export::on_text(m, id, format, text, fingerprint, copy),
        Msg::Copied(r) => {
            // The key left this tool: a rotation waiting for it to be captured is done.
            let noted = match (&r, &m.screen) {
                (Ok(_), Screen::Export(st)) => st
                    .fingerprint
                    .iter()
                    .map(|fp| Effect::NoteCapture {
                        id: st.id.clone(),
                        fingerprint: fp.clone(),
                    })
                    .collect(),
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
        Msg::Revealed {
            id,
            text,
            fingerprint,
        } => {
            match text {
                Ok(t) => {
                    m.revealed = Some((id, t));
                    m.revealed_fingerprint = fingerprint;
                }
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
                    m.session
                        .record(m.now, format!("Could not create the identity: {e}"));
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
                && super::target::id_of(&st.id) == j.identity_id
            {
                st.resumable = Some(j);
            }
            Vec::new()
        }
        Msg::Rotated(r) => {
            m.session.record(
                m.now,
                match &r {
                    Ok(j) => format!(
                        "Rotated {}: {} → {}",
                        j.identity_id,
                        j.old_did,
                        j.new_did.as_deref().unwrap_or("(new)")
                    ),
                    Err(e) => format!("Rotation failed: {e}"),
                },
            );
            if let Screen::Rotate(st) = &mut m.screen {
                st.running = false;
                match r {
                    Ok(j) => st.journal = Some(j),
                    Err(e) => st.error = Some(e),
                }
            }
            vec![Effect::Reload]
        }
        msg @ (Msg::BadgeRenewed { .. }
        | Msg::RolledBack(_)
        | Msg::GraceEnded(_)
        | Msg::Saved(_)) => super::screens::actions::on_msg(m, msg),
        msg
        @ (Msg::Targets(_) | Msg::Deployed { .. } | Msg::PushProbed { .. } | Msg::Pushed(_)) => {
            super::screens::push::on_msg(m, msg)
        }
        Msg::Identified(r) => {
            super::screens::identify::on_result(m, r);
            Vec::new()
        }
    }
}

/// The filter field changed (typed or pasted): filter once with its text.
pub(super) fn refilter(m: &mut Model) {
    if m.filter != m.filter_input.value() {
        // The highlight stays on its identity while it still matches.
        let kept = m.selection_key();
        m.filter = m.filter_input.value().to_string();
        match kept.as_ref().and_then(|k| m.position_of(k)) {
            Some(p) => m.selected = p,
            None => {
                m.selected = 0;
                m.revealed = None;
            }
        }
        clamp(m);
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
        m.main.details_scroll = 0;
    }
    m.selected = to;
    clamp(m);
}

/// Moves the highlight by `delta` rows of identities, within the list.
fn move_selection(m: &mut Model, delta: isize) {
    let n = m.visible().len();
    let to = m
        .selected
        .saturating_add_signed(delta)
        .min(n.saturating_sub(1));
    select(m, to);
}

/// Scrolls the details pane, within what the last frame says there is to see.
fn scroll_details(m: &mut Model, delta: i32) {
    let Some(id) = m.current().map(|i| i.id.clone()) else {
        return;
    };
    let max = i32::from(m.main.drawn.details_max);
    let to = (i32::from(m.main.scroll_for(&id)) + delta).clamp(0, max);
    m.main.details_scroll = u16::try_from(to).unwrap_or(0);
    m.main.details_for = Some(id);
}

/// Rows a page key moves: what the pane shows, less one line of context.
fn page(lines: u16) -> i32 {
    i32::from(lines.saturating_sub(1).max(1))
}

fn key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    match &mut m.screen {
        Screen::Main if m.filtering => {
            match k.code {
                KeyCode::Esc => {
                    m.filtering = false;
                    m.filter_input.clear();
                }
                KeyCode::Enter => m.filtering = false,
                KeyCode::Up | KeyCode::Down => return main_action(m, keymap::action(&k)),
                _ if keymap::action(&k) == Some(Action::Quit) && k.code != KeyCode::Char('q') => {
                    // Ctrl-C still quits while typing.
                    m.quit = true;
                }
                _ => {
                    if !m.filter_input.handle(&k) {
                        return Vec::new();
                    }
                }
            }
            refilter(m);
            Vec::new()
        }
        Screen::Main => main_action(m, keymap::action(&k)),
        _ => super::screens::key(m, k),
    }
}

fn main_action(m: &mut Model, a: Option<Action>) -> Vec<Effect> {
    let n = m.visible().len();
    let id = m.current().map(|i| super::target::of(&m.identities, i));
    // A key that acts on the highlighted identity says so when there is none.
    if id.is_none()
        && matches!(
            a,
            Some(
                Action::Copy
                    | Action::Export
                    | Action::Rotate
                    | Action::Reveal
                    | Action::Fix
                    | Action::Badge
                    | Action::Rollback
                    | Action::EndGrace
                    | Action::Push
                    | Action::Deployed
            )
        )
    {
        m.toast = Some(if m.identities.is_empty() {
            "No identity yet — n creates one".into()
        } else {
            "Nothing matches the filter — Esc clears it".into()
        });
        return Vec::new();
    }
    // With the details pane focused, the movement keys scroll it.
    let details = m.focus == Pane::Details;
    let page_details = page(m.main.drawn.details_height);
    let page_list = page(m.main.drawn.list.height);
    match a {
        Some(Action::Up) if details => scroll_details(m, -1),
        Some(Action::Down) if details => scroll_details(m, 1),
        Some(Action::PageUp) if details => scroll_details(m, -page_details),
        Some(Action::PageDown) if details => scroll_details(m, page_details),
        Some(Action::Home) if details => scroll_details(m, i32::MIN / 2),
        Some(Action::End) if details => scroll_details(m, i32::MAX / 2),
        Some(Action::Up) => select(m, m.selected.saturating_sub(1)),
        Some(Action::Down) => select(m, (m.selected + 1).min(n.saturating_sub(1))),
        Some(Action::PageUp) => move_selection(m, -(page_list as isize)),
        Some(Action::PageDown) => move_selection(m, page_list as isize),
        Some(Action::Home) => select(m, 0),
        Some(Action::End) => select(m, n.saturating_sub(1)),
        Some(Action::Filter) => {
            m.filtering = true;
            m.filter_input = super::input::TextField::default()
                .with_max(super::paste::FILTER_MAX)
                .with_value(&m.filter);
        }
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
                m.filter_input.clear();
                m.reselect(kept);
            } else {
                // Esc only ever backs out; ending the session is q's job (or Ctrl-C).
                m.toast = Some("Nothing to close — q quits".into());
            }
        }
        Some(Action::Refresh) => {
            // Checks never stack: this one is merged into one that runs after the current.
            if m.checks_in_flight > 0 {
                m.toast = Some(
                    "Already asking the registry: one more check follows when this one ends."
                        .into(),
                );
            }
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
            } else if m
                .current()
                .is_some_and(|i| !crate::display::key_loadable(i))
            {
                m.toast = Some("This key cannot be loaded: its problems say why".into());
            } else if let Some(id) = id {
                return vec![Effect::Reveal { id }];
            }
        }
        Some(Action::Copy | Action::Export) => {
            if let Some(id) = id {
                // Default to the env line of the identity's own SDK variable.
                return super::screens::export::open(m, id);
            }
        }
        Some(Action::New) => m.screen = Screen::Generate(GenerateState::default()),
        Some(Action::Rotate) => {
            if let Some(id) = id {
                return super::screens::rotate::open(m, id);
            }
        }
        Some(
            a @ (Action::Badge
            | Action::AutoRenew
            | Action::Rollback
            | Action::EndGrace
            | Action::Log),
        ) => return super::screens::actions::on_action(m, a),
        Some(Action::Push) => {
            // Nothing to push when the key cannot be loaded: say so now, not after a form.
            if let Some(i) = m.current().filter(|i| !crate::display::key_loadable(i)) {
                m.toast = Some(format!(
                    "Cannot push {}: its private key cannot be loaded (see Problems in the details)",
                    i.label()
                ));
                return Vec::new();
            }
            if let Some(id) = id {
                return super::screens::push::open(m, id);
            }
        }
        Some(Action::Deployed) => {
            if let (Some(id), Some(i)) = (id, m.current()) {
                let key = (i.kind, i.id.clone());
                if m.deployments.of(&key).is_empty() {
                    m.toast = Some(format!(
                        "{} has no recorded push targets: p pushes it to one",
                        i.label()
                    ));
                } else if !m.deployments.checking.contains(&key) {
                    m.toast = Some(format!("Reading back the push targets of {}…", i.label()));
                    m.deployments.checking.push(key.clone());
                    return vec![Effect::CheckDeployed { id, key }];
                }
            }
        }
        Some(Action::Identify) => return super::screens::identify::open(m),
        None => {}
    }
    Vec::new()
}

/// Mouse: a click selects the identity under the pointer, or focuses the details; the
/// wheel moves the highlight over the list and scrolls over the details. Hit-tested
/// against the rectangles the last frame drew.
fn mouse(m: &mut Model, e: ratatui::crossterm::event::MouseEvent) -> Vec<Effect> {
    if !m.mouse || !matches!(m.screen, Screen::Main) {
        return Vec::new();
    }
    let (col, row) = (e.column, e.row);
    let over_details = m.main.drawn.in_details(col, row);
    let over_list = m.main.drawn.in_list(col, row);
    match e.kind {
        MouseEventKind::ScrollDown if over_details => scroll_details(m, 3),
        MouseEventKind::ScrollUp if over_details => scroll_details(m, -3),
        MouseEventKind::ScrollDown if over_list => move_selection(m, 1),
        MouseEventKind::ScrollUp if over_list => move_selection(m, -1),
        MouseEventKind::Down(MouseButton::Left) if over_details => m.focus = Pane::Details,
        MouseEventKind::Down(MouseButton::Left) if over_list => {
            if m.focus == Pane::Details {
                m.revealed = None;
            }
            m.focus = Pane::List;
            if let Some(n) = m.main.drawn.identity_at(col, row)
                && let Some(pos) = m.visible().iter().position(|&v| v == n)
            {
                select(m, pos);
            }
        }
        _ => {}
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::{Identity, Kind, Source};
    use crate::core::rotation::Mode;
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
                fingerprint: Some("fp-1".into()),
                copy: false,
            },
        );
        // Enter renders the text anew from the key on disk, and copies it when the key
        // is the one previewed.
        let fx = update(&mut m, press(KeyCode::Enter));
        assert_eq!(
            fx,
            vec![Effect::CopyExport {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0]
            }]
        );
        let fx = update(
            &mut m,
            Msg::ExportText {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0],
                text: Ok(Zeroizing::new("X=1".into())),
                fingerprint: Some("fp-1".into()),
                copy: true,
            },
        );
        assert!(matches!(&fx[..], [Effect::Copy { text, .. }] if text.as_str() == "X=1"));
        let fx = update(
            &mut m,
            Msg::Copied(Ok("Copied env for alpha — clears in 30s".into())),
        );
        assert_eq!(
            fx,
            vec![Effect::NoteCapture {
                id: "alpha".into(),
                fingerprint: "fp-1".into()
            }],
            "the capture noted is of the key copied"
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
                fingerprint: Some("fp-1".into()),
                copy: false,
            },
        );
        assert!(matches!(&m.screen, Screen::Export(st) if st.text.is_none()));
    }

    /// The keyboard reader stopped: the UI ends, but not under a running rotation.
    #[test]
    fn a_lost_keyboard_ends_the_ui_once_no_rotation_runs() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('R')));
        if let Screen::Rotate(st) = &mut m.screen {
            st.running = true;
        }
        update(&mut m, Msg::InputLost("gone".into()));
        assert!(!m.quit, "the rotation runs to its end");
        update(&mut m, Msg::Rotated(Err("failed".into())));
        assert!(m.quit);
        let mut m = model();
        update(&mut m, Msg::InputLost("gone".into()));
        assert!(m.quit);
    }

    /// The key is rotated elsewhere between the preview and Enter: nothing is copied,
    /// the picker says so and shows the new key; a reload that shows the new key renders
    /// the preview again. A revealed key is hidden by such a reload.
    #[test]
    fn a_key_changed_on_disk_is_not_copied_and_a_revealed_one_is_hidden() {
        let mut m = model();
        let fp = |m: &mut Model, f: &str| {
            let ids = m
                .identities
                .iter()
                .cloned()
                .map(|mut i| {
                    if i.id == "alpha" {
                        i.fingerprint = Some(f.into());
                    }
                    i
                })
                .collect();
            update(
                m,
                Msg::Loaded {
                    identities: ids,
                    notes: Vec::new(),
                },
            )
        };
        fp(&mut m, "fp-old");
        update(&mut m, press(KeyCode::Char('v')));
        update(
            &mut m,
            Msg::Revealed {
                id: "alpha".into(),
                text: Ok(Zeroizing::new("old-secret".into())),
                fingerprint: Some("fp-old".into()),
            },
        );
        update(&mut m, press(KeyCode::Char('c')));
        let text = |t: &str, f: &str, copy: bool| Msg::ExportText {
            id: "alpha".into(),
            format: EXPORT_FORMATS[0],
            text: Ok(Zeroizing::new(t.into())),
            fingerprint: Some(f.into()),
            copy,
        };
        update(&mut m, text("OLD", "fp-old", false));
        update(&mut m, press(KeyCode::Enter));
        // Rotated before the copy's text was rendered: refused.
        let fx = update(&mut m, text("NEW", "fp-new", true));
        assert!(fx.is_empty(), "nothing copied: {fx:?}");
        let Screen::Export(st) = &m.screen else {
            panic!("picker closed")
        };
        assert_eq!(st.text.as_ref().unwrap().as_str(), "NEW");
        assert!(st.changed.as_ref().unwrap().contains("nothing was copied"));
        // Rotated again; the reload re-renders the preview.
        let fx = fp(&mut m, "fp-newer");
        assert_eq!(
            fx,
            vec![Effect::LoadExport {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0]
            }]
        );
        assert!(matches!(&m.screen, Screen::Export(st) if st.text.is_none()));
        assert!(m.revealed.is_none(), "the old revealed key is gone");
        assert!(m.toast.as_deref().unwrap().contains("changed on disk"));
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
                fingerprint: Some("fp-1".into()),
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

    fn plan(mode: Mode) -> Msg {
        Msg::Planned(Ok(crate::app::rotate::Plan {
            id: "alpha".into(),
            kind: Kind::Agent,
            mode,
            old_did: "d".into(),
            consequences: vec![],
            file_hits: vec![],
        }))
    }

    fn ctrl(c: char) -> Msg {
        Msg::Key(KeyEvent {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        })
    }

    #[test]
    fn rotation_needs_the_typed_id_or_name_and_a_second_yes_for_emergency() {
        let mut m = model();
        m.identities[1].id = "a1b2".into();
        assert_eq!(
            update(&mut m, press(KeyCode::Char('R'))),
            vec![Effect::PlanRotation {
                id: "a1b2".into(),
                mode: Mode::Planned
            }]
        );
        update(&mut m, plan(Mode::Planned));
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "nothing typed"
        );
        let hint = |m: &Model| match &m.screen {
            Screen::Rotate(st) => st.hint.clone().unwrap_or_default(),
            _ => String::new(),
        };
        assert!(
            hint(&m).contains("the name alpha or the id a1b2"),
            "{}",
            hint(&m)
        );
        for c in "alpah".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert!(update(&mut m, press(KeyCode::Enter)).is_empty());
        assert!(hint(&m).contains("“alpah” does not match"), "{}", hint(&m));
        // Ctrl-U clears the field instead of typing u; the name (unique) confirms.
        update(&mut m, ctrl('u'));
        for c in "alpha".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::RotateWith {
                id: "a1b2".into(),
                mode: Mode::Planned,
                new_agent: false,
            }]
        );
        let mut m = model();
        update(&mut m, press(KeyCode::Char('R')));
        assert_eq!(
            update(&mut m, press(KeyCode::Tab)),
            vec![Effect::PlanAnew {
                id: "alpha".into(),
                mode: Mode::Emergency,
                new_agent: false,
            }]
        );
        assert_eq!(
            update(&mut m, ctrl('n')),
            vec![Effect::PlanAnew {
                id: "alpha".into(),
                mode: Mode::Emergency,
                new_agent: true,
            }]
        );
        update(&mut m, plan(Mode::Emergency));
        for c in "alpha".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "first Enter only arms emergency mode"
        );
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::RotateWith {
                id: "alpha".into(),
                mode: Mode::Emergency,
                new_agent: true,
            }]
        );
    }

    /// A name that two identities share is not accepted: only the id is.
    #[test]
    fn a_shared_name_does_not_confirm() {
        let mut m = model();
        m.identities[0].name = Some("alpha".into());
        m.identities[0].id = "b-id".into();
        m.identities[1].id = "a-id".into();
        update(&mut m, press(KeyCode::Char('R')));
        let Screen::Rotate(st) = &m.screen else {
            panic!("the wizard is open")
        };
        assert_eq!(st.accept, vec![st.id.clone()], "only the id");
    }

    #[test]
    fn typing_a_filter_keeps_the_highlight_while_it_matches() {
        let mut m = model();
        update(&mut m, press(KeyCode::Down));
        assert_eq!(m.current().unwrap().id, "beta");
        update(&mut m, press(KeyCode::Char('/')));
        update(&mut m, press(KeyCode::Char('a')));
        assert_eq!(m.visible().len(), 2);
        assert_eq!(m.current().unwrap().id, "beta", "not the first row");
        update(&mut m, ctrl('u'));
        assert_eq!(m.current().unwrap().id, "beta");
    }

    #[test]
    fn filter_editing_keys() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('/')));
        for c in "srvx".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        assert_eq!(m.visible().len(), 0);
        update(&mut m, press(KeyCode::Backspace));
        assert_eq!(m.filter, "srv");
        update(&mut m, press(KeyCode::Home));
        update(&mut m, press(KeyCode::Delete));
        assert_eq!(m.filter, "rv");
        update(&mut m, ctrl('u'));
        assert_eq!(m.filter, "", "Ctrl-U clears the filter");
        assert_eq!(m.visible().len(), 3);
        update(&mut m, ctrl('c'));
        assert!(m.quit, "Ctrl-C still quits while filtering");
        let mut m = model();
        update(&mut m, press(KeyCode::Char('n')));
        update(&mut m, ctrl('c'));
        assert!(m.quit, "and from a dialog");
    }

    #[test]
    fn every_toast_goes_into_the_log_once() {
        let mut m = model();
        m.now = 3600;
        update(&mut m, press(KeyCode::Char('s')));
        update(
            &mut m,
            Msg::Tick {
                now: 3601,
                clipboard_left: None,
            },
        );
        m.toast = None;
        update(&mut m, press(KeyCode::Char('s')));
        let texts: Vec<&str> = m.session.log.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(texts, ["Sorted by name", "Sorted by badge expiry"]);
        assert_eq!(m.session.log[0].0, 3600);
        update(&mut m, press(KeyCode::Char('L')));
        assert!(matches!(m.screen, Screen::Log(_)));
    }

    #[test]
    fn destructive_actions_ask_first() {
        let mut m = model();
        assert!(update(&mut m, press(KeyCode::Char('u'))).is_empty());
        assert!(matches!(m.screen, Screen::Confirm(_)));
        assert!(
            update(&mut m, press(KeyCode::Enter)).is_empty(),
            "Enter is no yes"
        );
        assert!(update(&mut m, press(KeyCode::Esc)).is_empty());
        assert!(matches!(m.screen, Screen::Main));
        update(&mut m, press(KeyCode::Char('E')));
        assert_eq!(
            update(&mut m, press(KeyCode::Char('y'))),
            vec![Effect::EndGrace { id: "alpha".into() }]
        );
    }

    #[test]
    fn badges_need_a_registry_and_auto_renew_renews_once() {
        let mut m = model();
        assert!(update(&mut m, press(KeyCode::Char('b'))).is_empty());
        assert!(
            m.toast
                .as_deref()
                .unwrap()
                .contains("No registry configured")
        );
        m.registry = "http://127.0.0.1:1".into();
        assert_eq!(
            update(&mut m, press(KeyCode::Char('b'))),
            vec![Effect::RenewBadge {
                id: "alpha".into(),
                auto: false
            }]
        );
        m.identities[1].badge = Some(crate::core::identity::BadgeInfo {
            jti: "j".into(),
            iss: "i".into(),
            sub: "s".into(),
            trust_level: None,
            ial: None,
            issued_at: 0,
            expires_at: 100,
            state: crate::core::badge::BadgeState::Valid,
            reason: None,
        });
        m.now = 90;
        update(&mut m, press(KeyCode::Char('a')));
        assert!(m.session.auto_renew);
        let tick = |m: &mut Model| {
            update(
                m,
                Msg::Tick {
                    now: 91,
                    clipboard_left: None,
                },
            )
        };
        assert!(
            tick(&mut m).is_empty(),
            "the manual request is still in flight"
        );
        update(
            &mut m,
            Msg::BadgeRenewed {
                id: "alpha".into(),
                auto: false,
                result: Err("x".into()),
            },
        );
        assert_eq!(
            tick(&mut m),
            vec![Effect::RenewBadge {
                id: "alpha".into(),
                auto: true
            }]
        );
        assert!(tick(&mut m).is_empty(), "one renewal at a time");
        assert_eq!(
            update(
                &mut m,
                Msg::BadgeRenewed {
                    id: "alpha".into(),
                    auto: true,
                    result: Ok(5000)
                },
            ),
            vec![Effect::Reload]
        );
        assert!(
            tick(&mut m).is_empty(),
            "the old listing is not renewed again"
        );
    }

    #[test]
    fn a_broken_key_picker_offers_nothing() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('e')));
        update(
            &mut m,
            Msg::ExportText {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0],
                text: Err("malformed".into()),
                fingerprint: None,
                copy: false,
            },
        );
        assert!(update(&mut m, press(KeyCode::Down)).is_empty());
        assert!(update(&mut m, press(KeyCode::Enter)).is_empty());
        assert!(update(&mut m, press(KeyCode::Char('s'))).is_empty());
        assert!(matches!(&m.screen, Screen::Export(st) if st.save.is_none()));
    }

    #[test]
    fn save_to_file_from_the_picker() {
        let mut m = model();
        update(&mut m, press(KeyCode::Char('e')));
        update(
            &mut m,
            Msg::ExportText {
                id: "alpha".into(),
                format: EXPORT_FORMATS[0],
                text: Ok(Zeroizing::new("X=1".into())),
                fingerprint: Some("fp-1".into()),
                copy: false,
            },
        );
        update(&mut m, press(KeyCode::Char('s')));
        for c in "out.env".chars() {
            update(&mut m, press(KeyCode::Char(c)));
        }
        let fx = update(&mut m, press(KeyCode::Enter));
        assert!(
            matches!(&fx[..], [Effect::SaveExport { path, id, fingerprint, .. }] if path == "out.env" && id == "alpha" && fingerprint == "fp-1")
        );
        update(&mut m, Msg::Saved(Err("exists".into())));
        assert!(matches!(&m.screen, Screen::Export(st) if st.save_error.is_some()));
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
        assert!(
            update(&mut m, press(KeyCode::Tab)).is_empty(),
            "Tab does nothing on the resume screen"
        );
        let Screen::Rotate(st) = &mut m.screen else {
            panic!("the wizard is open")
        };
        let saved = st.resumable.clone();
        assert!(
            update(&mut m, press(KeyCode::Char('n'))).is_empty(),
            "an interrupted rotation is resumed (or rolled back), not left half-done"
        );
        let Screen::Rotate(st) = &mut m.screen else {
            panic!("the wizard is open")
        };
        if let Some(j) = &mut st.resumable {
            j.phase = crate::core::rotation::Phase::Done;
        }
        assert_eq!(
            update(&mut m, press(KeyCode::Char('n'))),
            vec![Effect::PlanAnew {
                id: "alpha".into(),
                mode: Mode::Planned,
                new_agent: false
            }],
            "n starts a new rotation, without offering the old one again"
        );
        let Screen::Rotate(st) = &mut m.screen else {
            panic!("the wizard is open")
        };
        st.resumable = saved;
        // Ctrl-N marks the resume for a new registry agent; it starts nothing new.
        let ctrl_n = Msg::Key(KeyEvent {
            code: KeyCode::Char('n'),
            modifiers: KeyModifiers::CONTROL,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        });
        assert!(update(&mut m, ctrl_n).is_empty());
        assert_eq!(
            update(&mut m, press(KeyCode::Enter)),
            vec![Effect::ResumeRotation {
                id: "alpha".into(),
                new_agent: true
            }]
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
