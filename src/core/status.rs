//! Badge verdicts from a badge plus whatever the registry told us. Pure: the facts are
//! gathered by `app::status` and handed in, with the clock.

use crate::core::badge::{self, Badge, BadgeState, IssuerKey};
use crate::core::did;
use crate::core::identity::{Code, Identity, Problem};

/// What the registry said, per question; `None` means the question was not asked.
#[derive(Debug, Default)]
pub struct Evidence<'a> {
    pub issuer_keys: Option<Result<&'a [IssuerKey], String>>,
    pub revoked: Option<Result<bool, String>>,
    /// `Ok(None)`: the registry does not know the agent.
    pub agent_status: Option<Result<Option<String>, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: BadgeState,
    pub reason: Option<String>,
}

impl Verdict {
    fn new(state: BadgeState, reason: Option<String>) -> Self {
        Self { state, reason }
    }
}

/// `online = None` classifies offline. `is_for` says whether the badge names this identity.
pub fn classify(badge: &Badge, is_for: bool, online: Option<&Evidence>, now: i64) -> Verdict {
    if let Some(s) = badge.time_state(now) {
        return Verdict::new(s, None);
    }
    if !is_for {
        return Verdict::new(
            BadgeState::WrongSubject,
            Some(format!("subject is {}", badge.sub)),
        );
    }
    if badge.is_self_signed() {
        // Level 0: verified against the subject's own did:key; not revocable, no agent check.
        let ok = did::parse_did_key(&badge.iss).is_ok_and(|k| badge.verify_with(&k));
        return if ok {
            Verdict::new(
                badge.lifetime_state(now),
                Some("self-signed (level 0)".into()),
            )
        } else {
            Verdict::new(
                BadgeState::SignatureInvalid,
                Some("self-signature does not verify".into()),
            )
        };
    }
    let Some(ev) = online else {
        return Verdict::new(BadgeState::Unverified, Some("offline".into()));
    };
    match &ev.issuer_keys {
        None => {
            return Verdict::new(
                BadgeState::Unverified,
                Some("registry keys not fetched".into()),
            );
        }
        Some(Err(r)) => return Verdict::new(BadgeState::RegistryError, Some(format!("JWKS: {r}"))),
        Some(Ok(keys)) if !badge.verify_with_keys(keys) => {
            return Verdict::new(
                BadgeState::SignatureInvalid,
                Some(format!(
                    "no key of the registry JWKS verifies it (issuer {})",
                    badge.iss
                )),
            );
        }
        Some(Ok(_)) => {}
    }
    match &ev.revoked {
        Some(Ok(true)) => return Verdict::new(BadgeState::Revoked, None),
        Some(Err(r)) => {
            return Verdict::new(
                BadgeState::RegistryError,
                Some(format!("revocation check: {r}")),
            );
        }
        None => {
            return Verdict::new(
                BadgeState::RegistryError,
                Some("revocation not checked".into()),
            );
        }
        Some(Ok(false)) => {}
    }
    match &ev.agent_status {
        Some(Ok(Some(s))) if s != "active" => {
            return Verdict::new(BadgeState::AgentDisabled, Some(format!("agent is {s}")));
        }
        Some(Ok(None)) => {
            return Verdict::new(
                BadgeState::RegistryError,
                Some("agent unknown to the registry".into()),
            );
        }
        Some(Err(r)) => {
            return Verdict::new(
                BadgeState::RegistryError,
                Some(format!("agent status: {r}")),
            );
        }
        _ => {}
    }
    Verdict::new(badge.lifetime_state(now), None)
}

fn short(jti: &str) -> String {
    if jti.is_empty() {
        return "(no jti)".into();
    }
    let head: String = jti.chars().take(8).collect();
    if jti.chars().count() > 8 {
        head + "…"
    } else {
        head
    }
}

/// The problems a verdict means for the identity `id` holding the badge.
pub fn problems_for(v: &Verdict, b: &Badge, id: &str) -> Vec<Problem> {
    problems_for_claims(v, &b.jti, &b.sub, id)
}

/// [`problems_for`] from the two claims it quotes, so a stored verdict can be re-derived.
pub fn problems_for_claims(v: &Verdict, jti: &str, sub: &str, id: &str) -> Vec<Problem> {
    let jti = short(jti);
    let renew =
        format!("request a new badge: `capiscio-tui badge request {id}` or restart the agent");
    let why = v
        .reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    match v.state {
        BadgeState::Expired => vec![Problem::warning(
            Code::BadgeExpired,
            format!("badge {jti} expired"),
            renew,
        )],
        BadgeState::NotYetValid => vec![Problem::warning(
            Code::BadgeNotYetValid,
            format!("badge {jti} is not valid yet (check this machine's clock)"),
            "check the system clock",
        )],
        BadgeState::SignatureInvalid => vec![Problem::error(
            Code::BadgeSignatureInvalid,
            format!("badge {jti} does not verify{why}"),
            renew,
        )],
        BadgeState::WrongSubject => vec![Problem::error(
            Code::BadgeSubjectMismatch,
            format!("badge {jti} is for {sub}, not for this identity"),
            format!("delete badge.jwt and request a new one: `capiscio-tui badge request {id}`"),
        )],
        BadgeState::Revoked => vec![Problem::error(
            Code::BadgeRevoked,
            format!("badge {jti} was revoked by the registry"),
            renew,
        )],
        // The agent's own status is reported once, as its own problem (app::status), so it
        // outlives this badge verdict.
        BadgeState::AgentDisabled => Vec::new(),
        BadgeState::RegistryError => vec![Problem::warning(
            Code::RegistryError,
            format!("badge {jti} could not be checked with the registry{why}"),
            format!("check the registry URL and your network, then `capiscio-tui status {id}`"),
        )],
        BadgeState::Valid | BadgeState::Expiring | BadgeState::Unverified => Vec::new(),
    }
}

/// Re-derives the clock-dependent part of an identity's stored badge verdict at `now`,
/// with its problems, from the stored claims: a verdict that only waited on the clock
/// (valid, expiring) follows it, and any verdict becomes `expired` once the badge is past
/// `exp` (time is decided first, as in [`classify`]); what the registry said (revoked,
/// disabled, …) is kept until then. `not-yet-valid` stays until the next scan: what the
/// badge is once valid was never decided. Returns whether anything changed.
pub fn retime(i: &mut Identity, now: i64) -> bool {
    let Some(b) = i.badge.as_mut() else {
        return false;
    };
    let old = Verdict::new(b.state, b.reason.clone());
    let new = if badge::is_expired(b.expires_at, now) {
        Verdict::new(BadgeState::Expired, None)
    } else {
        match b.state {
            BadgeState::Valid | BadgeState::Expiring => Verdict::new(
                badge::lifetime_state(b.issued_at, b.expires_at, now),
                b.reason.clone(),
            ),
            _ => old.clone(),
        }
    };
    if new == old {
        return false;
    }
    let (jti, sub) = (b.jti.clone(), b.sub.clone());
    b.state = new.state;
    b.reason = new.reason.clone();
    let gone = problems_for_claims(&old, &jti, &sub, &i.id);
    i.problems.retain(|p| !gone.contains(p));
    i.problems
        .extend(problems_for_claims(&new, &jti, &sub, &i.id));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::badge::{decode, sign_compact};
    use crate::core::key::KeyPair;

    fn registry_badge(ca: &KeyPair, kid: Option<&str>, iat: i64, exp: i64) -> Badge {
        let header = match kid {
            Some(k) => format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{k}"}}"#),
            None => r#"{"alg":"EdDSA","typ":"JWT"}"#.to_string(),
        };
        let payload = format!(
            r#"{{"jti":"j1","iss":"https://registry.capisc.io","sub":"did:web:registry.capisc.io:agents:a1","iat":{iat},"exp":{exp},"ial":"0","vc":{{"credentialSubject":{{"level":"1"}}}}}}"#
        );
        decode(&sign_compact(&header, &payload, ca)).unwrap()
    }

    fn keys(ca: &KeyPair) -> Vec<IssuerKey> {
        vec![
            IssuerKey {
                kid: Some("other".into()),
                key: *KeyPair::from_seed(&[3; 32]).public(),
            },
            IssuerKey {
                kid: Some("ca-1".into()),
                key: *ca.public(),
            },
        ]
    }

    fn ev<'a>(
        k: &'a [IssuerKey],
        revoked: Result<bool, String>,
        status: Result<Option<String>, String>,
    ) -> Evidence<'a> {
        Evidence {
            issuer_keys: Some(Ok(k)),
            revoked: Some(revoked),
            agent_status: Some(status),
        }
    }

    #[test]
    fn every_state() {
        let ca = KeyPair::from_seed(&[1; 32]);
        let k = keys(&ca);
        let b = registry_badge(&ca, Some("ca-1"), 1000, 1300);
        let active = || Ok(Some("active".to_string()));
        assert_eq!(
            classify(&b, true, Some(&ev(&k, Ok(false), active())), 1100).state,
            BadgeState::Valid
        );
        assert_eq!(
            classify(&b, true, Some(&ev(&k, Ok(false), active())), 1280).state,
            BadgeState::Expiring
        );
        assert_eq!(
            classify(&b, true, Some(&ev(&k, Ok(false), active())), 2000).state,
            BadgeState::Expired
        );
        assert_eq!(
            classify(&b, true, Some(&ev(&k, Ok(false), active())), 100).state,
            BadgeState::NotYetValid
        );
        assert_eq!(
            classify(&b, true, Some(&ev(&k, Ok(true), active())), 1100).state,
            BadgeState::Revoked
        );
        assert_eq!(
            classify(
                &b,
                true,
                Some(&ev(&k, Ok(false), Ok(Some("disabled".into())))),
                1100
            )
            .state,
            BadgeState::AgentDisabled
        );
        assert_eq!(
            classify(&b, false, Some(&ev(&k, Ok(false), active())), 1100).state,
            BadgeState::WrongSubject
        );
        assert_eq!(classify(&b, true, None, 1100).state, BadgeState::Unverified);
        let e = classify(
            &b,
            true,
            Some(&ev(&k, Err("timeout".into()), active())),
            1100,
        );
        assert_eq!(
            (e.state, e.reason.as_deref()),
            (BadgeState::RegistryError, Some("revocation check: timeout"))
        );
        let no_jwks = Evidence {
            issuer_keys: Some(Err("HTTP 500".into())),
            ..Default::default()
        };
        assert_eq!(
            classify(&b, true, Some(&no_jwks), 1100).state,
            BadgeState::RegistryError
        );
        let forged = registry_badge(&KeyPair::from_seed(&[2; 32]), Some("ca-1"), 1000, 1300);
        assert_eq!(
            classify(&forged, true, Some(&ev(&k, Ok(false), active())), 1100).state,
            BadgeState::SignatureInvalid
        );
    }

    #[test]
    fn key_selection_without_kid_tries_each_key() {
        let ca = KeyPair::from_seed(&[1; 32]);
        let b = registry_badge(&ca, None, 1000, 1300);
        assert!(b.verify_with_keys(&keys(&ca)));
        // a kid naming the wrong key is not rescued by trying the others
        let wrong = registry_badge(&ca, Some("other"), 1000, 1300);
        assert!(!wrong.verify_with_keys(&keys(&ca)));
        // more than five candidate keys: the sixth is never tried
        let mut many: Vec<IssuerKey> = (10..15)
            .map(|i| IssuerKey {
                kid: None,
                key: *KeyPair::from_seed(&[i; 32]).public(),
            })
            .collect();
        many.push(IssuerKey {
            kid: None,
            key: *ca.public(),
        });
        assert!(!b.verify_with_keys(&many));
    }

    #[test]
    fn retime_follows_the_clock_and_keeps_registry_verdicts_until_expiry() {
        use crate::core::identity::{BadgeInfo, Kind, Severity, Source};
        let mut i = Identity::new("a1", Kind::Agent, Source::Disk, "/h/a1");
        let mut info = BadgeInfo {
            jti: "jti-1".into(),
            iss: "i".into(),
            sub: "s".into(),
            trust_level: None,
            ial: None,
            issued_at: 1000,
            expires_at: 1300,
            state: BadgeState::Valid,
            reason: Some("self-signed (level 0)".into()),
        };
        i.badge = Some(info.clone());
        assert!(!retime(&mut i, 1100));
        assert!(retime(&mut i, 1250));
        let b = i.badge.as_ref().unwrap();
        assert_eq!(b.state, BadgeState::Expiring);
        assert_eq!(b.reason.as_deref(), Some("self-signed (level 0)"));
        assert!(i.problems.is_empty());
        // Within the skew it is still expiring; past it, expired with its problem.
        assert!(!retime(&mut i, 1300 + badge::SKEW_SECS - 1));
        assert!(retime(&mut i, 1300 + badge::SKEW_SECS));
        assert_eq!(i.badge.as_ref().unwrap().state, BadgeState::Expired);
        assert_eq!(i.problems.len(), 1);
        assert_eq!(i.problems[0].code, Code::BadgeExpired);
        assert_eq!(i.problems[0].severity, Severity::Warning);
        assert!(!retime(&mut i, 5000), "stays expired, one problem");
        assert_eq!(i.problems.len(), 1);

        // A revoked badge stays revoked (with its problem) until it expires.
        info.state = BadgeState::Revoked;
        info.reason = None;
        let mut r = Identity::new("a2", Kind::Agent, Source::Disk, "/h/a2");
        r.badge = Some(info);
        r.problems.push(Problem::warning(Code::Leftover, "m", "f"));
        let v = Verdict::new(BadgeState::Revoked, None);
        r.problems
            .extend(problems_for_claims(&v, "jti-1", "s", "a2"));
        assert!(!retime(&mut r, 1250));
        assert_eq!(r.badge.as_ref().unwrap().state, BadgeState::Revoked);
        assert!(retime(&mut r, 2000));
        let codes: Vec<Code> = r.problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, [Code::Leftover, Code::BadgeExpired]);
    }
}
