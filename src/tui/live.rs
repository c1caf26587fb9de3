//! The model kept true while the UI is open: the clock (badge states and everything else
//! that depends on time are re-derived from stored facts on every tick), reloads merged
//! with what the registry already said, and registry answers filling rows one by one.

use super::model::{Effect, Model, RowKey, Screen, row_key};
use crate::core::badge::{BadgeState, SKEW_SECS};
use crate::core::identity::{Code, Identity, Kind, Problem};
use std::collections::HashMap;

/// Every time-dependent fact re-derived for `now` (Unix seconds). A badge that was not
/// valid yet and whose window has just opened is judged anew by a rescan: what it is
/// inside its window was never decided.
pub fn tick(m: &mut Model, now: i64) -> Vec<Effect> {
    let before = m.now;
    m.now = now;
    retime(m);
    let opens =
        |at: i64| before.saturating_add(SKEW_SECS) < at && at <= now.saturating_add(SKEW_SECS);
    let opened = m.identities.iter().any(|i| {
        i.badge
            .as_ref()
            .is_some_and(|b| b.state == BadgeState::NotYetValid && opens(b.issued_at))
    });
    if opened {
        vec![Effect::Reload]
    } else {
        Vec::new()
    }
}

fn retime(m: &mut Model) {
    // A badge that expires can move its row: the highlight stays on its identity.
    let kept = m.selection_key();
    retime_rows(m);
    m.reselect(kept);
}

fn retime_rows(m: &mut Model) {
    let now = m.now;
    for i in &mut m.identities {
        crate::core::status::retime(i, now);
    }
    // An open rotation wizard says "expires in …" of the badge as it is now.
    if let Screen::Rotate(st) = &mut m.screen
        && let Some(plan) = st.plan.as_mut()
        && let Some(b) = m
            .identities
            .iter()
            .find(|i| i.id == plan.id && i.kind == plan.kind)
            .and_then(|i| i.badge.as_ref())
    {
        crate::core::rotation::retime_consequences(&mut plan.consequences, b, now);
    }
}

/// Counts a registry check as running (the spinner turns) and returns its effect.
pub fn ask(m: &mut Model, effect: Effect) -> Effect {
    m.checks_in_flight = m.checks_in_flight.saturating_add(1);
    m.checking = true;
    effect
}

/// A check ended: the spinner stops once none is left.
pub fn check_finished(m: &mut Model, error: Option<String>) {
    m.checks_in_flight = m.checks_in_flight.saturating_sub(1);
    m.checking = m.checks_in_flight > 0;
    if let Some(e) = error {
        m.toast = Some(e);
        m.toast_age = 0;
        return;
    }
    // Per-row errors are on their rows; the status bar says there are some.
    let failed = m
        .identities
        .iter()
        .filter(|i| {
            i.registry.as_ref().is_some_and(|r| r.error.is_some())
                || i.has_code(crate::core::identity::Code::RegistryError)
        })
        .count();
    if !m.checking && failed > 0 {
        m.toast = Some(match failed {
            1 => "The registry could not answer for 1 identity: see its row".into(),
            n => format!("The registry could not answer for {n} identities: see their rows"),
        });
        m.toast_age = 0;
    }
}

/// A rescan arrived: identities found again with the same key and badge keep what the
/// registry said about them; new ones, and ones whose key or badge changed, are asked
/// again (when a registry is configured). The highlight follows the identity.
pub fn loaded(m: &mut Model, identities: Vec<Identity>, notes: Vec<Problem>) -> Vec<Effect> {
    let kept = m.selection_key();
    let mut recheck: Vec<RowKey> = Vec::new();
    let mut merged = identities;
    // One index, not a search per identity: reloads of thousands stay cheap.
    let before: HashMap<(Kind, &str, &str), &Identity> = m
        .identities
        .iter()
        .map(|i| ((i.kind, i.id.as_str(), i.location.as_str()), i))
        .collect();
    for fresh in &mut merged {
        let prev = before.get(&(fresh.kind, fresh.id.as_str(), fresh.location.as_str()));
        match prev {
            Some(prev) if crate::app::status::same_facts(prev, fresh) => {
                // Unanswered so far: a check in flight fills it in, or we are offline.
                let answered = prev.registry.is_some();
                if !crate::app::status::carry_over(prev, fresh) && answered {
                    recheck.push(row_key(fresh));
                }
            }
            _ => recheck.push(row_key(fresh)),
        }
    }
    drop(before);
    m.identities = merged;
    m.notes = notes;
    retime_rows(m);
    m.reselect(kept);
    hide_a_stale_reveal(m);
    let mut fx = super::screens::export::key_changed(m);
    if m.online && !recheck.is_empty() {
        fx.push(ask(m, Effect::CheckIdentities(recheck)));
    }
    fx
}

/// A revealed key stays on screen only while it is the key on disk: after a rotation
/// (here or elsewhere) the old key is hidden, not shown next to the new fingerprint.
fn hide_a_stale_reveal(m: &mut Model) {
    let Some((id, _)) = &m.revealed else { return };
    let now = m
        .identities
        .iter()
        .find(|i| &i.id == id)
        .and_then(|i| i.fingerprint.as_ref());
    if now.is_some() && now == m.revealed_fingerprint.as_ref() {
        return;
    }
    m.toast = Some(format!(
        "The key of {id} changed on disk: the revealed key was hidden (v reveals the current one)."
    ));
    m.toast_age = 0;
    m.revealed = None;
    m.revealed_fingerprint = None;
}

/// One registry answer: it replaces its row, unless the row's key changed since the check
/// started (that answer is about a key no longer there).
pub fn checked_one(m: &mut Model, i: Identity) {
    let now = m.now;
    // An answer can move its row (problems first): the highlight stays on its identity.
    let kept = m.selection_key();
    if let Some(slot) = m.identities.iter_mut().find(|x| {
        x.kind == i.kind
            && x.id == i.id
            && x.location == i.location
            && x.fingerprint == i.fingerprint
    }) {
        if failed(&i) && slot.registry.is_some() && !failed(slot) {
            // The registry could not answer this time: what it said before (a revoked
            // badge, a disabled agent) still stands; the failure is added beside it.
            for p in i.problems.iter().filter(|p| p.code == Code::RegistryError) {
                if !slot.problems.contains(p) {
                    slot.problems.push(p.clone());
                }
            }
        } else {
            *slot = i;
        }
        crate::core::status::retime(slot, now);
    }
    m.reselect(kept);
}

/// An answer that is only "the registry could not be asked".
fn failed(i: &Identity) -> bool {
    i.registry.as_ref().is_some_and(|r| r.error.is_some()) || i.has_code(Code::RegistryError)
}

#[cfg(test)]
mod tests {
    use super::super::model::Msg;
    use super::super::update::update;
    use super::*;
    use crate::core::identity::{BadgeInfo, Code, Kind, RegistryInfo, Source};

    const T0: i64 = 1_000_000;

    fn ident(id: &str, fp: &str) -> Identity {
        Identity {
            name: Some(id.into()),
            fingerprint: Some(fp.into()),
            ..Identity::new(id, Kind::Agent, Source::Disk, format!("/h/{id}"))
        }
    }

    fn badge(state: BadgeState, iat: i64, exp: i64) -> BadgeInfo {
        BadgeInfo {
            jti: "jti-1".into(),
            iss: "did:key:z6Mk".into(),
            sub: "did:key:z6Mk".into(),
            trust_level: Some("0".into()),
            ial: None,
            issued_at: iat,
            expires_at: exp,
            state,
            reason: Some("self-signed (level 0)".into()),
        }
    }

    fn model() -> Model {
        Model::new("/h".into(), "r".into(), Some(30), false, T0)
    }

    fn tick(m: &mut Model, now: i64) {
        update(
            m,
            Msg::Tick {
                now,
                clipboard_left: None,
            },
        );
    }

    /// An answer or a badge expiring moves a row (problems first); the highlight stays on
    /// the identity it was on, not on the row number.
    #[test]
    fn rows_that_move_keep_the_highlight_on_its_identity() {
        let mut m = model();
        let mut b = ident("b", "fp-b");
        b.badge = Some(badge(BadgeState::Valid, T0 - 100, T0 + 100));
        m.identities = vec![ident("a", "fp-a"), b, ident("c", "fp-c")];
        m.selected = 2;
        assert_eq!(m.current().unwrap().id, "c");
        // b's badge expires: b moves to the top.
        tick(&mut m, T0 + 100 + crate::core::badge::SKEW_SECS);
        assert_eq!(m.visible()[0], 1, "b is listed first now");
        assert_eq!(m.current().unwrap().id, "c");
        // a is answered with a problem: a moves up too.
        let mut answered = ident("a", "fp-a");
        answered
            .problems
            .push(crate::core::identity::Problem::error(
                Code::AgentDisabled,
                "m",
                "f",
            ));
        update(&mut m, Msg::CheckedOne(Box::new(answered)));
        assert_eq!(m.current().unwrap().id, "c");
    }

    /// A re-check the registry could not answer keeps what it said before (a revoked
    /// badge stays revoked) and adds the failure beside it; a real answer replaces both.
    #[test]
    fn a_failed_recheck_keeps_the_last_answer() {
        let mut m = model();
        let mut a = ident("a", "fp-a");
        a.badge = Some(badge(BadgeState::Revoked, T0 - 100, T0 + 1000));
        a.registry = Some(RegistryInfo {
            url: "u".into(),
            registered: Some(true),
            did: None,
            name: None,
            status: Some("active".into()),
            error: None,
        });
        a.problems
            .push(Problem::error(Code::BadgeRevoked, "revoked", "f"));
        m.identities = vec![a.clone()];
        let mut failed = ident("a", "fp-a");
        failed.registry = Some(RegistryInfo {
            error: Some("HTTP 500".into()),
            ..a.registry.clone().unwrap()
        });
        failed.problems.push(Problem::warning(
            Code::RegistryError,
            "could not check",
            "f",
        ));
        update(&mut m, Msg::CheckedOne(Box::new(failed)));
        let now = &m.identities[0];
        assert!(now.has_code(Code::BadgeRevoked), "still revoked");
        assert!(
            now.has_code(Code::RegistryError),
            "and the failure is shown"
        );
        update(&mut m, Msg::CheckedOne(Box::new(ident("a", "fp-a"))));
        assert!(!m.identities[0].has_code(Code::RegistryError));
    }

    /// The clock runs: a badge goes valid → expiring → expired while the UI is open, and
    /// the attention count follows.
    #[test]
    fn an_advanced_clock_expires_a_badge_on_screen() {
        let mut m = model();
        let mut a = ident("a", "fp-a");
        a.badge = Some(badge(BadgeState::Valid, T0 - 100, T0 + 100));
        m.identities = vec![a, ident("b", "fp-b")];
        assert_eq!(m.attention(), 0);
        tick(&mut m, T0 + 50);
        assert_eq!(m.now, T0 + 50);
        let state = |m: &Model| m.identities[0].badge.as_ref().unwrap().state;
        assert_eq!(state(&m), BadgeState::Valid, "more than a fifth left");
        tick(&mut m, T0 + 70);
        assert_eq!(state(&m), BadgeState::Expiring);
        assert_eq!(m.attention(), 0);
        tick(&mut m, T0 + 100 + crate::core::badge::SKEW_SECS);
        assert_eq!(state(&m), BadgeState::Expired);
        assert!(m.identities[0].has_code(Code::BadgeExpired));
        assert_eq!(m.attention(), 1);
        // A rescan made at the new time agrees, and a reload does not bring it back.
        let mut again = ident("a", "fp-a");
        again.badge = Some(badge(BadgeState::Valid, T0 - 100, T0 + 100));
        update(
            &mut m,
            Msg::Loaded {
                identities: vec![again, ident("b", "fp-b")],
                notes: Vec::new(),
            },
        );
        assert_eq!(state(&m), BadgeState::Expired);
        assert_eq!(m.attention(), 1);
    }

    fn answered(mut i: Identity, state: BadgeState) -> Identity {
        i.registry = Some(RegistryInfo {
            url: "u".into(),
            registered: Some(true),
            did: None,
            name: None,
            status: Some("active".into()),
            error: None,
        });
        if let Some(b) = i.badge.as_mut() {
            b.state = state;
            b.reason = None;
        }
        if state == BadgeState::Revoked {
            i.problems.push(crate::core::identity::Problem::error(
                Code::BadgeRevoked,
                "badge jti-1 was revoked by the registry",
                "renew",
            ));
        }
        i
    }

    /// `f`, `n`, a finished rotation, the watcher: every reload keeps what the registry
    /// said about identities whose key is unchanged and asks only about the others.
    #[test]
    fn a_reload_keeps_the_registry_answers_and_asks_only_about_what_changed() {
        let mut m = model();
        m.online = true;
        let mut a = ident("a", "fp-a");
        a.badge = Some(badge(BadgeState::Unverified, T0 - 100, T0 + 10_000));
        m.identities = vec![answered(a.clone(), BadgeState::Revoked), ident("b", "fp-b")];
        // b was never answered (a check is in flight): nothing to carry, nothing to ask.
        let fx = update(
            &mut m,
            Msg::Loaded {
                identities: vec![a.clone(), ident("b", "fp-b"), ident("new", "fp-n")],
                notes: Vec::new(),
            },
        );
        let a_now = m.identities.iter().find(|i| i.id == "a").unwrap();
        assert_eq!(a_now.badge.as_ref().unwrap().state, BadgeState::Revoked);
        assert!(a_now.has_code(Code::BadgeRevoked));
        assert!(a_now.registry.is_some());
        assert_eq!(
            fx,
            vec![Effect::CheckIdentities(vec![(
                Kind::Agent,
                "new".into(),
                "/h/new".into()
            )])]
        );
        assert!(m.checking);
        // A new key (a rotation): the old answers no longer hold; ask again.
        let rotated = ident("a", "fp-a2");
        let fx = update(
            &mut m,
            Msg::Loaded {
                identities: vec![rotated, ident("b", "fp-b"), ident("new", "fp-n")],
                notes: Vec::new(),
            },
        );
        assert!(m.identities.iter().all(|i| i.registry.is_none()));
        assert_eq!(
            fx,
            vec![Effect::CheckIdentities(vec![(
                Kind::Agent,
                "a".into(),
                "/h/a".into()
            )])]
        );
        // An answer about the old key, arriving late, is not put on the new key's row.
        update(
            &mut m,
            Msg::CheckedOne(Box::new(answered(ident("a", "fp-a"), BadgeState::Revoked))),
        );
        assert!(m.identities.iter().all(|i| i.registry.is_none()));
        update(
            &mut m,
            Msg::CheckedOne(Box::new(answered(ident("a", "fp-a2"), BadgeState::Valid))),
        );
        assert!(
            m.identities
                .iter()
                .any(|i| i.id == "a" && i.registry.is_some())
        );
        // Offline, nothing is asked.
        m.online = false;
        let fx = update(
            &mut m,
            Msg::Loaded {
                identities: vec![ident("other", "fp-o")],
                notes: Vec::new(),
            },
        );
        assert!(fx.is_empty());
    }

    /// Two checks at once (`r`, then a new identity): the spinner stops with the last.
    #[test]
    fn the_spinner_runs_until_every_check_finished() {
        let mut m = model();
        let first = ask(&mut m, Effect::CheckRegistry);
        assert_eq!(first, Effect::CheckRegistry);
        ask(&mut m, Effect::CheckIdentities(Vec::new()));
        update(&mut m, Msg::CheckFinished { error: None });
        assert!(m.checking);
        update(
            &mut m,
            Msg::CheckFinished {
                error: Some("No registry configured".into()),
            },
        );
        assert!(!m.checking);
        assert_eq!(m.toast.as_deref(), Some("No registry configured"));
        assert_eq!(update(&mut m, Msg::HomeChanged), vec![Effect::Reload]);
    }

    /// The wizard's impact says "expires in …" of the badge as it is now, not at planning.
    #[test]
    fn an_open_wizard_retells_the_badge_expiry() {
        let mut m = model();
        let mut a = ident("a", "fp-a");
        a.badge = Some(badge(BadgeState::Valid, T0 - 1000, T0 + 300));
        m.identities = vec![a];
        update(
            &mut m,
            Msg::Key(ratatui::crossterm::event::KeyEvent::from(
                ratatui::crossterm::event::KeyCode::Char('R'),
            )),
        );
        let plan = crate::app::rotate::Plan {
            id: "a".into(),
            kind: Kind::Agent,
            mode: crate::core::rotation::Mode::Planned,
            old_did: "d".into(),
            consequences: vec![crate::core::rotation::Consequence {
                severity: crate::core::rotation::Impact::Error,
                code: "badge-invalidated".into(),
                message: "Badge jti-1 (valid, expires in 5m 0s) is bound to the old key and stops verifying for the new one. It will be revoked now.".into(),
            }],
            file_hits: vec![],
        };
        update(&mut m, Msg::Planned(Ok(plan)));
        tick(&mut m, T0 + 240);
        let Screen::Rotate(st) = &m.screen else {
            panic!("wizard closed")
        };
        assert_eq!(
            st.plan.as_ref().unwrap().consequences[0].message,
            "Badge jti-1 (expiring, expires in 1m 0s) is bound to the old key and stops verifying for the new one. It will be revoked now."
        );
    }

    /// A badge not valid yet is judged anew (a rescan) once its window opens.
    #[test]
    fn a_badge_whose_window_opens_is_rescanned() {
        let mut m = model();
        let mut a = ident("a", "fp-a");
        a.badge = Some(badge(BadgeState::NotYetValid, T0 + 100, T0 + 1000));
        m.identities = vec![a];
        assert!(
            update(
                &mut m,
                Msg::Tick {
                    now: T0 + 10,
                    clipboard_left: None
                }
            )
            .is_empty()
        );
        assert_eq!(
            update(
                &mut m,
                Msg::Tick {
                    now: T0 + 100 - SKEW_SECS + 1,
                    clipboard_left: None
                }
            ),
            vec![Effect::Reload]
        );
        assert!(
            update(
                &mut m,
                Msg::Tick {
                    now: T0 + 100,
                    clipboard_left: None
                }
            )
            .is_empty(),
            "once"
        );
    }
}
