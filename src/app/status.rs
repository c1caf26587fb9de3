//! `status`: every identity's badge verified and checked with the registry, all
//! identities concurrently (the client bounds requests in flight). A failing request
//! only affects the identity it was for.

use crate::core::badge::{Badge, BadgeState, IssuerKey};
use crate::core::identity::{Code, Identity, Kind, Problem, RegistryInfo, Source};
use crate::core::status::{self, Evidence};
use crate::core::{did, jwk, pem};
use crate::registry::client::{RegistryClient, RegistryError};
use crate::store::disk::Found;
use crate::store::env::{AGENT_ID_VAR, EnvSnapshot, SERVER_ID_VAR};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::collections::HashSet;
use std::sync::Arc;

/// Above this many badges one revocation-list request beats one request per badge.
pub const BULK_REVOCATION_THRESHOLD: usize = 32;

/// The registry id an identity is known by, if any.
fn registry_id(f: &Found, env: &EnvSnapshot) -> Option<String> {
    match (f.identity.source, f.identity.kind) {
        (Source::Env, Kind::Agent) => env.get(AGENT_ID_VAR).map(str::to_string),
        (Source::Env, Kind::McpServer) => env.get(SERVER_ID_VAR).map(str::to_string),
        _ => Some(f.identity.registry_key().to_string()),
    }
}

/// A badge that needs the registry: signed by it and otherwise acceptable.
fn needs_registry(b: &Badge, f: &Found, now: i64) -> bool {
    !b.is_self_signed() && b.time_state(now).is_none() && is_for(b, f)
}

fn is_for(b: &Badge, f: &Found) -> bool {
    let dids: Vec<&str> = [f.identity.did.as_deref(), f.identity.key_did.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    b.is_for(&dids, f.identity.registry_key(), f.public.as_ref())
}

enum Revocations {
    Bulk(Result<HashSet<String>, String>),
    PerBadge,
}

struct Facts {
    record: Option<Result<Option<Record>, RegistryError>>,
    entity_status: Option<Result<Option<String>, String>>,
    revoked: Option<Result<bool, String>>,
}

struct Record {
    did: Option<String>,
    name: Option<String>,
    status: Option<String>,
    public_key: Option<String>,
}

/// Checks every identity; results are written into the identities themselves so that
/// `list`, `show`, `status` and the TUI all show the same thing.
pub async fn check_all(client: &RegistryClient, found: &mut [Found], env: &EnvSnapshot, now: i64) {
    check_each(client, found, env, now, |_, _| {}).await;
}

/// Like [`check_all`], calling `done(index, identity)` as each identity's answer arrives,
/// so a UI can fill in rows as they come rather than all at the end.
pub async fn check_each(
    client: &RegistryClient,
    found: &mut [Found],
    env: &EnvSnapshot,
    now: i64,
    mut done: impl FnMut(usize, &Identity),
) {
    let badges: Vec<&Badge> = found
        .iter()
        .filter_map(|f| f.badge.as_ref().filter(|b| needs_registry(b, f, now)))
        .collect();
    let jwks: Option<Result<Arc<Vec<IssuerKey>>, String>> = if badges.is_empty() {
        None
    } else {
        Some(client.jwks().await.map_err(|e| e.reason()))
    };
    let revocations = if badges.len() > BULK_REVOCATION_THRESHOLD {
        match client.revoked_jtis().await {
            // A registry without the list route still answers per badge.
            Err(RegistryError::Status { code: 404, .. }) => Revocations::PerBadge,
            other => Revocations::Bulk(other.map_err(|e| e.reason())),
        }
    } else {
        Revocations::PerBadge
    };
    let url = client.base_url().as_str().trim_end_matches('/').to_string();
    let snapshot: Vec<Found> = found.to_vec();
    let mut pending: FuturesUnordered<_> = snapshot
        .iter()
        .enumerate()
        .map(|(n, f)| {
            let revocations = &revocations;
            async move { (n, gather(client, f, env, now, revocations).await) }
        })
        .collect();
    while let Some((n, facts)) = pending.next().await {
        apply(&mut found[n], facts, jwks.as_ref(), &url, now);
        done(n, &found[n].identity);
    }
}

async fn gather(
    client: &RegistryClient,
    f: &Found,
    env: &EnvSnapshot,
    now: i64,
    revocations: &Revocations,
) -> Facts {
    let mut facts = Facts {
        record: None,
        entity_status: None,
        revoked: None,
    };
    let Some(id) = registry_id(f, env) else {
        return facts;
    };
    let has_key = client.api_key().is_some();
    match f.identity.kind {
        Kind::Agent if has_key => {
            let rec = client.agent(&id).await.map(|o| {
                o.map(|r| Record {
                    did: r.did,
                    name: r.name,
                    status: r.status,
                    public_key: r.public_key,
                })
            });
            // The record carries the status; no second request needed.
            facts.entity_status = Some(match &rec {
                Ok(Some(r)) => Ok(Some(normalise_status(r.status.as_deref()))),
                Ok(None) => Ok(None),
                Err(e) => Err(e.reason()),
            });
            facts.record = Some(rec);
        }
        Kind::Agent => {
            facts.entity_status = Some(
                client
                    .agent_status(&id)
                    .await
                    .map(|o| o.map(|s| s.status))
                    .map_err(|e| e.reason()),
            );
        }
        Kind::McpServer if has_key => {
            let rec = client.server(&id).await.map(|o| {
                o.map(|r| Record {
                    did: r.did,
                    name: None,
                    status: r.status,
                    public_key: r.public_key,
                })
            });
            facts.record = Some(rec);
        }
        Kind::McpServer => {
            facts.entity_status = Some(
                client
                    .server_status(&id)
                    .await
                    .map(|o| o.map(|s| s.status))
                    .map_err(|e| e.reason()),
            );
        }
    }
    if let Some(b) = f.badge.as_ref().filter(|b| needs_registry(b, f, now)) {
        facts.revoked = Some(match revocations {
            Revocations::Bulk(Ok(set)) => Ok(set.contains(&b.jti)),
            Revocations::Bulk(Err(r)) => Err(r.clone()),
            Revocations::PerBadge => match client.badge_status(&b.jti).await {
                Ok(Some(s)) => Ok(s.revoked),
                Ok(None) => Err("badge unknown to the registry".into()),
                Err(e) => Err(e.reason()),
            },
        });
    }
    facts
}

/// The SDK record's status: `inactive` only means "not yet activated by connect()".
fn normalise_status(s: Option<&str>) -> String {
    match s.map(str::to_ascii_lowercase).as_deref() {
        Some(s @ ("disabled" | "suspended" | "revoked")) => s.to_string(),
        _ => "active".to_string(),
    }
}

fn apply(
    f: &mut Found,
    facts: Facts,
    jwks: Option<&Result<Arc<Vec<IssuerKey>>, String>>,
    url: &str,
    now: i64,
) {
    let id = f.identity.id.clone();
    let mut info = RegistryInfo {
        url: url.to_string(),
        registered: None,
        did: None,
        name: None,
        status: None,
        error: None,
    };
    let mut problems: Vec<Problem> = Vec::new();
    match &facts.record {
        Some(Ok(Some(r))) => {
            info.registered = Some(true);
            info.did = r.did.clone();
            info.name = r.name.clone();
            info.status = r.status.clone();
            problems.extend(key_drift(&f.identity, r, f.public.as_ref()));
        }
        Some(Ok(None)) => {
            info.registered = Some(false);
            problems.push(Problem::warning(
                Code::NotRegistered,
                format!("the registry has no {} with id {id}", f.identity.kind.label()),
                format!("register it: `capiscio-tui register {id}` (or create it in the CapiscIO dashboard)"),
            ));
        }
        Some(Err(e)) => info.error = Some(e.reason()),
        None => {}
    }
    if let Some(Ok(Some(s))) = &facts.entity_status {
        info.status.get_or_insert_with(|| s.clone());
    }
    if facts.record.is_none() {
        match &facts.entity_status {
            Some(Ok(None)) => info.registered = Some(false),
            Some(Ok(Some(_))) => info.registered = Some(true),
            Some(Err(r)) => info.error = Some(r.clone()),
            None => {}
        }
    }
    if let Some(e) = &info.error {
        problems.push(Problem::warning(
            Code::RegistryError,
            format!("the registry could not be asked about this identity ({e})"),
            format!("check the registry URL, your network and CAPISCIO_API_KEY, then `capiscio-tui status {id}`"),
        ));
    }
    if let (Some(b), Some(badge_info)) = (f.badge.as_ref(), f.identity.badge.as_mut()) {
        let keys = jwks.map(|r| r.as_ref().map(|k| k.as_slice()).map_err(Clone::clone));
        let evidence = Evidence {
            issuer_keys: keys,
            revoked: facts.revoked.clone(),
            agent_status: facts.entity_status.clone(),
        };
        let dids: Vec<&str> = [f.identity.did.as_deref(), f.identity.key_did.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let verdict = status::classify(
            b,
            b.is_for(&dids, &id, f.public.as_ref()),
            Some(&evidence),
            now,
        );
        // Offline badge problems are replaced by the online verdict's.
        f.identity.problems.retain(|p| !is_badge_code(p.code));
        problems.extend(status::problems_for(&verdict, b, &id));
        badge_info.state = verdict.state;
        badge_info.reason = verdict.reason;
    }
    // A disabled agent is a fact about the agent, not about its badge: it stays an error
    // when the badge's own verdict moves on (e.g. the badge expires while the UI is open).
    if f.identity.kind == Kind::Agent
        && let Some(Ok(Some(s))) = &facts.entity_status
        && s != "active"
    {
        {
            problems.push(Problem::error(
                Code::AgentDisabled,
                format!("the registry reports this agent as {s}; badges for it are rejected"),
                "re-enable the agent in the CapiscIO dashboard",
            ));
        }
    }
    if let Some(d) = info.did.clone().filter(|d| did::method(d) == "web") {
        f.identity.did = Some(d);
    }
    f.identity.problems.extend(problems);
    f.identity.registry = Some(info);
}

fn is_badge_code(c: Code) -> bool {
    matches!(
        c,
        Code::BadgeExpired
            | Code::BadgeNotYetValid
            | Code::BadgeSignatureInvalid
            | Code::BadgeSubjectMismatch
            | Code::BadgeRevoked
            | Code::AgentDisabled
            | Code::RegistryError
    )
}

/// The registry holds another key than the local one (a rotation it does not know).
fn key_drift(
    identity: &Identity,
    r: &Record,
    local: Option<&crate::core::key::PublicKey>,
) -> Option<Problem> {
    let local = local?;
    let registry_did_key = r.did.as_deref().filter(|d| did::method(d) == "key");
    let registry_pk = r.public_key.as_deref().and_then(|p| {
        jwk::parse_public(p)
            .ok()
            .map(|j| j.x)
            .or_else(|| pem::parse_public(p).ok())
    });
    let differs_by_did = registry_did_key.is_some_and(|d| {
        did::parse_did_key(d).is_ok_and(|k| k != *local) || did::parse_did_key(d).is_err()
    });
    let differs_by_key = registry_pk.is_some_and(|k| k != *local);
    if !(differs_by_did || differs_by_key) {
        return None;
    }
    let what = registry_did_key
        .map(str::to_string)
        .or_else(|| registry_pk.map(|k| k.did_key()))
        .unwrap_or_default();
    let fix = match identity.kind {
        Kind::Agent => "the registry keeps the first key it was given: register a new agent for this key, or update the agent in the CapiscIO dashboard".to_string(),
        Kind::McpServer => "start the server once (it re-registers its key), or `capiscio-tui generate --register` for a new server".to_string(),
    };
    Some(Problem::error(
        Code::RegistryDidMismatch,
        format!(
            "the registry holds {what}, not this key ({}): PoP badges fail and IAL-0 badges embed the registry's key",
            local.did_key()
        ),
        fix,
    ))
}

/// One identity's badge state for the status line: the badge's state, or `no-badge`.
pub fn badge_state_label(i: &Identity) -> String {
    match &i.badge {
        None => "no-badge".into(),
        Some(b) => match (&b.state, &b.reason) {
            (BadgeState::RegistryError, Some(r)) => format!("registry-error ({r})"),
            (BadgeState::Unverified, Some(r)) => format!("unverified ({r})"),
            (s, _) => s.as_str().into(),
        },
    }
}

/// Problems only the registry raises (beside the badge's).
fn is_registry_code(c: Code) -> bool {
    matches!(c, Code::NotRegistered | Code::RegistryDidMismatch)
}

/// Whether `fresh` is `prev` found again with the same key and the same badge, so that
/// what the registry said about `prev` still holds for it.
pub fn same_facts(prev: &Identity, fresh: &Identity) -> bool {
    prev.kind == fresh.kind
        && prev.source == fresh.source
        && prev.id == fresh.id
        && prev.location == fresh.location
        && prev.fingerprint == fresh.fingerprint
        && prev.badge.as_ref().map(|b| &b.jti) == fresh.badge.as_ref().map(|b| &b.jti)
}

/// Carries the registry's answers about `prev` over to `fresh`, a rescan of the same
/// identity (see [`same_facts`]): the record, the online badge verdict and the problems the
/// registry raised replace the offline ones, so a reload does not forget that a badge was
/// revoked. Returns whether it did (nothing is carried when `prev` was never answered).
pub fn carry_over(prev: &Identity, fresh: &mut Identity) -> bool {
    let Some(info) = prev.registry.as_ref() else {
        return false;
    };
    // A verdict that only waited for the badge's window says nothing about the badge
    // inside it: that needs asking again.
    if !same_facts(prev, fresh)
        || prev
            .badge
            .as_ref()
            .is_some_and(|b| b.state == BadgeState::NotYetValid)
    {
        return false;
    }
    let online = |p: &Problem| is_badge_code(p.code) || is_registry_code(p.code);
    fresh.problems.retain(|p| !online(p));
    fresh
        .problems
        .extend(prev.problems.iter().filter(|p| online(p)).cloned());
    if let (Some(f), Some(p)) = (fresh.badge.as_mut(), prev.badge.as_ref()) {
        f.state = p.state;
        f.reason = p.reason.clone();
    }
    if let Some(d) = info.did.clone().filter(|d| did::method(d) == "web") {
        fresh.did = Some(d);
    }
    fresh.registry = Some(info.clone());
    true
}

#[cfg(test)]
mod carry_tests {
    use super::*;
    use crate::core::identity::BadgeInfo;

    fn ident(fp: &str) -> Identity {
        let mut i = Identity::new("a1", Kind::Agent, Source::Disk, "/h/a1");
        i.fingerprint = Some(fp.into());
        i.badge = Some(BadgeInfo {
            jti: "j1".into(),
            iss: "https://r".into(),
            sub: "did:web:r:agents:a1".into(),
            trust_level: None,
            ial: None,
            issued_at: 0,
            expires_at: i64::MAX / 2,
            state: BadgeState::Unverified,
            reason: Some("offline".into()),
        });
        i
    }

    #[test]
    fn a_rescan_keeps_the_registry_verdict_while_the_key_is_the_same() {
        let mut prev = ident("fp1");
        prev.registry = Some(RegistryInfo {
            url: "u".into(),
            registered: Some(true),
            did: None,
            name: None,
            status: Some("active".into()),
            error: None,
        });
        let b = prev.badge.as_mut().unwrap();
        b.state = BadgeState::Revoked;
        b.reason = None;
        prev.problems
            .push(Problem::error(Code::BadgeRevoked, "revoked", "renew"));
        let mut fresh = ident("fp1");
        fresh
            .problems
            .push(Problem::warning(Code::MissingPublicJwk, "m", "f"));
        assert!(carry_over(&prev, &mut fresh));
        assert_eq!(fresh.badge.as_ref().unwrap().state, BadgeState::Revoked);
        let codes: Vec<Code> = fresh.problems.iter().map(|p| p.code).collect();
        assert_eq!(codes, [Code::MissingPublicJwk, Code::BadgeRevoked]);
        assert!(fresh.registry.is_some());
        // A new key: the old answers do not hold.
        let mut rotated = ident("fp2");
        assert!(!carry_over(&prev, &mut rotated));
        assert!(rotated.registry.is_none());
        assert_eq!(
            rotated.badge.as_ref().unwrap().state,
            BadgeState::Unverified
        );
    }
}
