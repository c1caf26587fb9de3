//! The model kept true while the UI is open: the clock (badge states and everything else
//! that depends on time are re-derived from stored facts on every tick), reloads merged
//! with what the registry already said, and registry answers filling rows one by one.

use super::model::{Effect, Model, RowKey, Screen, row_key};
use crate::core::identity::{Identity, Problem};

/// Every time-dependent fact re-derived for `now` (Unix seconds).
pub fn tick(m: &mut Model, now: i64) {
    m.now = now;
    retime(m);
}

fn retime(m: &mut Model) {
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
    }
}

/// A rescan arrived: identities found again with the same key and badge keep what the
/// registry said about them; new ones, and ones whose key or badge changed, are asked
/// again (when a registry is configured). The highlight follows the identity.
pub fn loaded(m: &mut Model, identities: Vec<Identity>, notes: Vec<Problem>) -> Vec<Effect> {
    let kept = m.selection_key();
    let mut recheck: Vec<RowKey> = Vec::new();
    let mut merged = identities;
    for fresh in &mut merged {
        let key = row_key(fresh);
        match m.identities.iter().find(|p| row_key(p) == key) {
            Some(prev) if crate::app::status::same_facts(prev, fresh) => {
                // Unanswered so far: a check in flight fills it in, or we are offline.
                crate::app::status::carry_over(prev, fresh);
            }
            _ => recheck.push(key),
        }
    }
    m.identities = merged;
    m.notes = notes;
    retime(m);
    m.reselect(kept);
    if m.online && !recheck.is_empty() {
        return vec![ask(m, Effect::CheckIdentities(recheck))];
    }
    Vec::new()
}

/// One registry answer: it replaces its row, unless the row's key changed since the check
/// started (that answer is about a key no longer there).
pub fn checked_one(m: &mut Model, i: Identity) {
    let now = m.now;
    if let Some(slot) = m
        .identities
        .iter_mut()
        .find(|x| row_key(x) == row_key(&i) && x.fingerprint == i.fingerprint)
    {
        *slot = i;
        crate::core::status::retime(slot, now);
    }
}
