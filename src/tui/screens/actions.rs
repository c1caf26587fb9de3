//! What the CLI could do and the UI could not: roll back, end a grace period, request
//! or renew a badge (by hand or, opted in, automatically while the UI is open), and the
//! session's message log. Keys come here from the main screen, results as messages.

use super::super::keymap::Action;
use super::super::model::{Effect, Model, Msg, Screen};
use super::confirm::ConfirmState;
use super::log::LogState;
use crate::core::badge::BadgeState;
use crate::core::identity::{Identity, Kind, Source};
use std::collections::{BTreeMap, BTreeSet};

/// State that lives for the whole session, whatever screen is open.
#[derive(Debug, Default)]
pub struct Session {
    /// Every message shown this session: (Unix time, text).
    pub log: Vec<(i64, String)>,
    /// The toast last written to the log (so one toast is logged once).
    logged: Option<String>,
    /// Renew expiring badges while the UI is open (opt-in, `a`).
    pub auto_renew: bool,
    /// Identities whose badge request is in flight.
    pub renewing: BTreeSet<String>,
    /// The expiry of the badge each renewal got: an older listing is not renewed again.
    pub renewed: BTreeMap<String, i64>,
    /// Automatic renewals that failed: not retried until auto-renew is switched on again.
    pub renew_failed: BTreeSet<String>,
    pub help_scroll: u16,
}

impl Session {
    /// Writes a result shown outside the status line (in a dialog) into the log.
    pub fn record(&mut self, now: i64, text: String) {
        self.log.push((now, text));
    }

    /// Writes the toast into the log when it is new.
    pub fn note(&mut self, toast: &Option<String>, now: i64) {
        match toast {
            None => self.logged = None,
            Some(t) if self.logged.as_ref() != Some(t) => {
                self.log.push((now, t.clone()));
                self.logged = Some(t.clone());
            }
            _ => {}
        }
    }
}

/// "not configured" is what the header shows when no registry is set on purpose.
fn registry_configured(m: &Model) -> bool {
    m.registry != "not configured"
}

const NO_REGISTRY: &str = "No registry configured: set CAPISCIO_SERVER_URL and CAPISCIO_API_KEY (or log in) to request badges";

pub fn on_action(m: &mut Model, a: Action) -> Vec<Effect> {
    let current = m.current().cloned();
    match a {
        Action::Log => {
            m.screen = Screen::Log(LogState::default());
            Vec::new()
        }
        Action::AutoRenew => {
            if !registry_configured(m) {
                m.toast = Some(NO_REGISTRY.into());
                return Vec::new();
            }
            m.session.auto_renew = !m.session.auto_renew;
            m.session.renew_failed.clear();
            m.toast = Some(if m.session.auto_renew {
                "Auto-renew on: expiring badges are renewed while the UI is open (a turns it off)"
                    .into()
            } else {
                "Auto-renew off".into()
            });
            on_tick(m)
        }
        Action::Badge => {
            let Some(i) = current else {
                return Vec::new();
            };
            if i.kind != Kind::Agent || i.source != Source::Disk {
                m.toast = Some(format!(
                    "{} keeps no badge file: only agents on disk store badge.jwt (MCP servers get theirs in memory; `capiscio-tui badge request` prints one)",
                    i.label()
                ));
                return Vec::new();
            }
            if !registry_configured(m) {
                m.toast = Some(NO_REGISTRY.into());
                return Vec::new();
            }
            if m.session.renewing.contains(&i.id) {
                m.toast = Some(format!(
                    "A badge request for {} is already running",
                    i.label()
                ));
                return Vec::new();
            }
            m.session.renewing.insert(i.id.clone());
            m.toast = Some(format!("Requesting a badge for {}…", i.label()));
            vec![Effect::RenewBadge {
                id: i.id.clone(),
                auto: false,
            }]
        }
        Action::Rollback => {
            let Some(i) = current else {
                return Vec::new();
            };
            if i.source != Source::Disk {
                m.toast = Some(format!(
                    "{} is not on disk: only disk identities keep the archive a rollback restores",
                    i.label()
                ));
                return Vec::new();
            }
            m.screen = Screen::Confirm(ConfirmState {
                title: format!("Roll back {}?", i.label()),
                lines: vec![
                    format!(
                        "This restores the key {} had before its last rotation; the current key is archived, not deleted.",
                        i.label()
                    ),
                    "Badges and the registry may still name the current key: re-register and request a badge afterwards (b).".into(),
                ],
                verb: format!("roll back {}", i.label()),
                effect: Effect::Rollback { id: i.id.clone() },
            });
            Vec::new()
        }
        Action::EndGrace => {
            let Some(i) = current else {
                return Vec::new();
            };
            if i.kind != Kind::Agent || i.source != Source::Disk {
                m.toast = Some(format!(
                    "{} has no agent card on disk: only agents list retiring keys",
                    i.label()
                ));
                return Vec::new();
            }
            m.screen = Screen::Confirm(ConfirmState {
                title: format!("End the grace period of {}?", i.label()),
                lines: vec![
                    "The old key leaves the agent card now — even if its grace period has not run out — so partners stop trusting it at once.".into(),
                    "The archived private key is kept.".into(),
                ],
                verb: format!("end the grace period of {}", i.label()),
                effect: Effect::EndGrace { id: i.id.clone() },
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

pub fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::BadgeRenewed { id, auto, result } => {
            m.session.renewing.remove(&id);
            let who = m
                .identities
                .iter()
                .find(|i| i.id == id)
                .map(|i| i.label().to_string())
                .unwrap_or_else(|| id.clone());
            let how = if auto { "Auto-renewed" } else { "New badge" };
            match result {
                Ok(expires_at) => {
                    m.session.renewed.insert(id, expires_at);
                    m.toast = Some(format!(
                        "{how} for {who}: expires {}",
                        crate::core::ids::relative(expires_at, m.now)
                    ));
                    return vec![Effect::Reload];
                }
                Err(e) => {
                    if auto {
                        m.session.renew_failed.insert(id);
                    }
                    m.toast = Some(format!("Badge request for {who} failed: {e}"));
                }
            }
            Vec::new()
        }
        Msg::RolledBack(r) | Msg::GraceEnded(r) => {
            m.toast = Some(match r {
                Ok(s) => s,
                Err(e) => format!("Not done: {e}"),
            });
            vec![Effect::Reload]
        }
        Msg::Saved(r) => {
            match r {
                Ok(s) => {
                    m.toast = Some(s);
                    // Saved from the key previewed (the job checked): a rotation waiting
                    // for its new key to be captured is done, as after a copy.
                    let noted = match &m.screen {
                        Screen::Export(st) => st
                            .fingerprint
                            .iter()
                            .map(|fp| Effect::NoteCapture {
                                id: st.id.clone(),
                                fingerprint: fp.clone(),
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    if matches!(m.screen, Screen::Export(_)) {
                        m.screen = Screen::Main;
                    }
                    return noted;
                }
                Err(e) => {
                    if let Screen::Export(st) = &mut m.screen {
                        st.save_error = Some(e.clone());
                    }
                    m.toast = Some(format!("Not saved: {e}"));
                }
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Whether a badge has less than a fifth of its lifetime left (or has run out) and is
/// not refused for a reason a new badge would not fix.
fn wants_renewal(i: &Identity, now: i64) -> bool {
    let Some(b) = &i.badge else {
        return false;
    };
    let renewable = matches!(
        b.state,
        BadgeState::Valid | BadgeState::Expiring | BadgeState::Expired | BadgeState::Unverified
    );
    let lifetime = (b.expires_at - b.issued_at).max(1);
    renewable && (b.expires_at - now).saturating_mul(5) < lifetime
}

/// On every tick with auto-renew on: renew each expiring badge that no request is
/// already renewing (and that a renewal has not replaced already).
pub fn on_tick(m: &mut Model) -> Vec<Effect> {
    if !m.session.auto_renew {
        return Vec::new();
    }
    let now = m.now;
    let due: Vec<String> = m
        .identities
        .iter()
        .filter(|i| i.source == Source::Disk && i.kind == Kind::Agent && wants_renewal(i, now))
        .filter(|i| {
            !m.session.renewing.contains(&i.id)
                && !m.session.renew_failed.contains(&i.id)
                && m.session
                    .renewed
                    .get(&i.id)
                    .is_none_or(|&exp| i.badge.as_ref().is_some_and(|b| b.expires_at >= exp))
        })
        .map(|i| i.id.clone())
        .collect();
    due.into_iter()
        .map(|id| {
            m.session.renewing.insert(id.clone());
            Effect::RenewBadge { id, auto: true }
        })
        .collect()
}
