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

/// How many messages the log keeps; older ones are dropped (and counted).
pub const LOG_KEEP: usize = 1_000;

/// The first wait after an automatic renewal, doubled after each failure up to the cap.
pub const RENEW_BACKOFF: i64 = 60;
pub const RENEW_BACKOFF_MAX: i64 = 15 * 60;

/// The last automatic renewal of one identity: when, what badge it saw (its expiry),
/// and how many failed in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub at: i64,
    pub badge_exp: Option<i64>,
    pub failures: u32,
}

impl Attempt {
    /// When the next attempt may start while the badge stays the one this attempt saw.
    pub fn retry_at(&self) -> i64 {
        let wait = (0..self.failures.saturating_sub(1)).fold(RENEW_BACKOFF, |w, _| {
            w.saturating_mul(2).min(RENEW_BACKOFF_MAX)
        });
        self.at.saturating_add(wait)
    }
}

/// State that lives for the whole session, whatever screen is open.
#[derive(Debug, Default)]
pub struct Session {
    /// The last [`LOG_KEEP`] messages shown this session: (Unix time, text).
    pub log: Vec<(i64, String)>,
    /// How many older messages were dropped from the log.
    pub log_dropped: u64,
    /// The toast last written to the log (so one toast is logged once).
    logged: Option<String>,
    /// Renew expiring badges while the UI is open (opt-in, `a`).
    pub auto_renew: bool,
    /// Identities (by id) whose badge request is in flight: at most one each.
    pub renewing: BTreeSet<String>,
    /// The last automatic renewal per identity: a badge is not asked for again until it
    /// changed or the back-off passed, whatever the registry answered.
    pub attempts: BTreeMap<String, Attempt>,
    pub help_scroll: u16,
}

impl Session {
    /// Writes a result shown outside the status line (in a dialog) into the log.
    pub fn record(&mut self, now: i64, text: String) {
        self.push(now, text);
    }

    fn push(&mut self, now: i64, text: String) {
        self.log.push((now, text));
        if self.log.len() > LOG_KEEP {
            let extra = self.log.len() - LOG_KEEP;
            self.log.drain(..extra);
            self.log_dropped = self.log_dropped.saturating_add(extra as u64);
        }
    }

    /// Writes the toast into the log when it is new.
    pub fn note(&mut self, toast: &Option<String>, now: i64) {
        match toast {
            None => self.logged = None,
            Some(t) if self.logged.as_ref() != Some(t) => {
                self.push(now, t.clone());
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
            // Switching it on again is the user asking for a fresh try.
            m.session.attempts.clear();
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
                id: super::super::target::of(&m.identities, &i),
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
                effect: Effect::Rollback {
                    id: super::super::target::of(&m.identities, &i),
                },
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
                effect: Effect::EndGrace {
                    id: super::super::target::of(&m.identities, &i),
                },
            });
            Vec::new()
        }
        _ => Vec::new(),
    }
}

pub fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::BadgeRenewed { id, auto, result } => {
            let found = super::super::target::find(&m.identities, &id);
            let who = found.map_or_else(|| id.clone(), |i| i.label().to_string());
            let id = found.map_or(id, |i| i.id.clone());
            m.session.renewing.remove(&id);
            let how = if auto { "Auto-renewed" } else { "New badge" };
            match result {
                Ok(expires_at) => {
                    if let Some(a) = m.session.attempts.get_mut(&id) {
                        a.failures = 0;
                    }
                    m.toast = Some(format!(
                        "{how} for {who}: expires {}",
                        crate::core::ids::relative(expires_at, m.now)
                    ));
                    return vec![Effect::Reload];
                }
                Err(e) => {
                    let mut again = String::new();
                    if auto && let Some(a) = m.session.attempts.get_mut(&id) {
                        a.failures = a.failures.saturating_add(1);
                        again = format!(
                            " (auto-renew tries again {})",
                            crate::core::ids::relative(a.retry_at(), m.now)
                        );
                    }
                    m.toast = Some(format!("Badge request for {who} failed: {e}{again}"));
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

/// Whether a badge that verified (valid or expiring at `now`) has less than a fifth of
/// its lifetime left. Unverified, invalid, revoked or expired badges are not renewed
/// automatically: their claims were never trusted, and a new badge would not fix them.
fn wants_renewal(i: &Identity, now: i64) -> bool {
    i.badge
        .as_ref()
        .is_some_and(|b| crate::display::badge_state(b, now) == BadgeState::Expiring)
}

/// On every tick with auto-renew on: renew each expiring badge that no request is
/// already renewing and that no attempt has tried since it last changed (unless the
/// back-off has passed).
pub fn on_tick(m: &mut Model) -> Vec<Effect> {
    if !m.session.auto_renew {
        return Vec::new();
    }
    let now = m.now;
    let ids = &m.identities;
    let due: Vec<(String, String, Option<i64>)> = ids
        .iter()
        .filter(|i| i.source == Source::Disk && i.kind == Kind::Agent && wants_renewal(i, now))
        .filter(|i| {
            let exp = i.badge.as_ref().map(|b| b.expires_at);
            !m.session.renewing.contains(&i.id)
                && m.session
                    .attempts
                    .get(&i.id)
                    .is_none_or(|a| a.badge_exp != exp || now >= a.retry_at())
        })
        .map(|i| {
            (
                i.id.clone(),
                super::super::target::of(ids, i),
                i.badge.as_ref().map(|b| b.expires_at),
            )
        })
        .collect();
    due.into_iter()
        .map(|(id, target, badge_exp)| {
            m.session.renewing.insert(id.clone());
            let failures = m.session.attempts.get(&id).map_or(0, |a| a.failures);
            m.session.attempts.insert(
                id,
                Attempt {
                    at: now,
                    badge_exp,
                    failures,
                },
            );
            Effect::RenewBadge {
                id: target,
                auto: true,
            }
        })
        .collect()
}
