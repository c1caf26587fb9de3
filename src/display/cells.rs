//! Glyphs and table cells for one identity. Colour is never the only signal: every cell
//! carries a glyph or a word, and a `Tone` the UI may colour it with.

use crate::core::badge::{BadgeState, SKEW_SECS};
use crate::core::identity::{BadgeInfo, Identity, Severity, Source};
use crate::core::ids;

/// How a cell may be coloured; the text says the same without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Ok,
    Warn,
    Err,
    Dim,
}

impl Tone {
    pub fn of(s: Option<Severity>) -> Self {
        match s {
            Some(Severity::Error) => Self::Err,
            Some(Severity::Warning) => Self::Warn,
            None => Self::Ok,
        }
    }
}

/// One glyph for an identity's health.
pub fn health_glyph(i: &Identity) -> &'static str {
    match i.worst() {
        Some(Severity::Error) => "✖",
        Some(Severity::Warning) => "▲",
        None if i.source == Source::Env => "◆",
        None => "●",
    }
}

pub fn severity_glyph(s: Severity) -> &'static str {
    match s {
        Severity::Error => "✖",
        Severity::Warning => "▲",
    }
}

/// Middle-shortened DID: method, first five and last three of the key part.
pub fn short_did(did: &str) -> String {
    let chars: Vec<char> = did.chars().collect();
    if chars.len() <= 24 {
        return did.to_string();
    }
    let head: String = chars[..13].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}…{tail}")
}

/// UUIDs are long; eight characters identify one in a table.
pub fn short_id(id: &str) -> String {
    if id.chars().count() > 13 {
        format!("{}…", id.chars().take(8).collect::<String>())
    } else {
        id.to_string()
    }
}

/// The name a list row shows: the card's name, the variable of an env key, else the id.
/// One inert line: a card's name is anyone's text.
pub fn list_name(i: &Identity) -> String {
    match (&i.name, i.source) {
        (Some(n), _) => crate::core::text::inline(n).into_owned(),
        (None, Source::Env) => i.location.trim_start_matches("env:").to_string(),
        (None, _) => short_id(&i.id),
    }
}

/// The badge's state at `now`. Scans classify a badge once; the time-dependent states
/// (valid, expiring, expired) move on with the clock, the registry's verdicts do not.
pub fn badge_state(b: &BadgeInfo, now: i64) -> BadgeState {
    let expired = now >= b.expires_at.saturating_add(SKEW_SECS);
    match b.state {
        BadgeState::Valid | BadgeState::Expiring | BadgeState::Unverified if expired => {
            BadgeState::Expired
        }
        BadgeState::Valid | BadgeState::Expiring => {
            // Under 20 % of the lifetime left: the rule `core::badge` classifies by.
            let lifetime = b.expires_at.saturating_sub(b.issued_at).max(1);
            let left = b.expires_at.saturating_sub(now);
            if left.saturating_mul(5) < lifetime {
                BadgeState::Expiring
            } else {
                BadgeState::Valid
            }
        }
        other => other,
    }
}

/// Whether a countdown means anything: only for a badge that is (still) usable.
fn counts_down(s: BadgeState) -> bool {
    matches!(
        s,
        BadgeState::Valid | BadgeState::Expiring | BadgeState::Unverified | BadgeState::Expired
    )
}

/// An identity's badge at `now`: its state, and the time left when a countdown applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeCell {
    /// `None`: no badge.
    pub state: Option<BadgeState>,
    /// `4m 12s`, `exp` once the expiry has passed; `None` for states that end a badge
    /// regardless of time (revoked, agent-disabled, …).
    pub left: Option<String>,
}

pub fn badge_cell(i: &Identity, now: i64) -> BadgeCell {
    match &i.badge {
        None => BadgeCell {
            state: None,
            left: None,
        },
        Some(b) => {
            let state = badge_state(b, now);
            let left = counts_down(state).then(|| {
                if b.expires_at > now {
                    ids::duration(b.expires_at.saturating_sub(now))
                } else {
                    "exp".into()
                }
            });
            BadgeCell {
                state: Some(state),
                left,
            }
        }
    }
}

impl BadgeCell {
    /// `valid 4m 12s`, `expired exp`, `revoked`, `–`: the `list` table's cell.
    pub fn words(&self) -> String {
        match (&self.state, &self.left) {
            (None, _) => "–".into(),
            (Some(s), Some(left)) => format!("{} {left}", s.as_str()),
            (Some(s), None) => s.as_str().into(),
        }
    }

    pub fn glyph(&self) -> &'static str {
        match self.state {
            None => "·",
            Some(BadgeState::Valid) => "✔",
            Some(BadgeState::Expiring) => "⚠",
            Some(BadgeState::Unverified) => "?",
            Some(_) => "✖",
        }
    }

    pub fn tone(&self) -> Tone {
        match self.state {
            None | Some(BadgeState::Unverified) => Tone::Dim,
            Some(BadgeState::Valid) => Tone::Ok,
            Some(BadgeState::Expiring) => Tone::Warn,
            Some(_) => Tone::Err,
        }
    }

    /// `✔ 4m 12s`, `✖ exp`, `✖ revoked`, `· –`: the UI's narrow cell.
    pub fn short(&self) -> String {
        let text = match (&self.state, &self.left) {
            (None, _) => "–".to_string(),
            (Some(BadgeState::Expired), _) => "exp".into(),
            (Some(_), Some(left)) => left.clone(),
            (Some(s), None) => s.as_str().into(),
        };
        format!("{} {text}", self.glyph())
    }
}

/// The registry's word on an identity, in one cell.
pub fn registry_cell(i: &Identity) -> String {
    match &i.registry {
        None => "–".into(),
        Some(r) => match (&r.error, r.registered, &r.status) {
            (Some(e), _, _) => format!("error ({e})"),
            (None, Some(false), _) => "not registered".into(),
            (None, _, Some(s)) => s.clone(),
            (None, Some(true), None) => "registered".into(),
            (None, None, None) => "–".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::Kind;

    fn with_badge(state: BadgeState, issued: i64, expires: i64) -> Identity {
        let mut i = Identity::new("a", Kind::Agent, Source::Disk, "/a");
        i.badge = Some(BadgeInfo {
            jti: "j".into(),
            iss: "i".into(),
            sub: "s".into(),
            trust_level: None,
            ial: None,
            issued_at: issued,
            expires_at: expires,
            state,
            reason: None,
        });
        i
    }

    #[test]
    fn short_dids() {
        assert_eq!(
            short_did("did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"),
            "did:key:z6Mkt…Msw"
        );
        assert_eq!(short_did("did:web:x"), "did:web:x");
        assert_eq!(
            short_id("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f"),
            "4b7c7f4e…"
        );
        assert_eq!(short_id("files-mcp"), "files-mcp");
    }

    #[test]
    fn badges_count_down_only_while_usable() {
        let i = with_badge(BadgeState::Valid, 0, 1000);
        let c = badge_cell(&i, 100);
        assert_eq!(c.words(), "valid 15m 0s");
        assert_eq!(c.short(), "✔ 15m 0s");
        for s in [BadgeState::Revoked, BadgeState::AgentDisabled] {
            let c = badge_cell(&with_badge(s, 0, 1000), 100);
            assert_eq!(c.left, None, "{s:?} shows no countdown");
            assert_eq!(c.words(), s.as_str());
            assert_eq!(c.short(), format!("✖ {}", s.as_str()));
        }
        assert_eq!(
            badge_cell(&Identity::new("a", Kind::Agent, Source::Disk, "/a"), 0).short(),
            "· –"
        );
    }

    #[test]
    fn the_state_moves_on_with_now() {
        let i = with_badge(BadgeState::Valid, 0, 1000);
        assert_eq!(badge_cell(&i, 100).state, Some(BadgeState::Valid));
        assert_eq!(badge_cell(&i, 900).state, Some(BadgeState::Expiring));
        let late = badge_cell(&i, 1000 + SKEW_SECS);
        assert_eq!(late.state, Some(BadgeState::Expired));
        assert_eq!(late.short(), "✖ exp");
        assert_eq!(late.words(), "expired exp");
        let unverified = with_badge(BadgeState::Unverified, 0, 1000);
        assert_eq!(
            badge_cell(&unverified, 900).state,
            Some(BadgeState::Unverified)
        );
        assert_eq!(
            badge_cell(&unverified, 2000).state,
            Some(BadgeState::Expired)
        );
        let revoked = with_badge(BadgeState::Revoked, 0, 1000);
        assert_eq!(badge_cell(&revoked, 2000).state, Some(BadgeState::Revoked));
    }
}
