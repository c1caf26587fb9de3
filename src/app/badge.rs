//! `badge request` and `badge issue --self-sign`.

use crate::app::{AppError, Context};
use crate::core::badge::{self, Badge};
use crate::core::identity::{Kind, Source};
use crate::registry::client::RegistryClient;
use crate::store::disk::{AGENT_BADGE, Found};
use crate::store::fs::{self as sfs, Overwrite};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Serialize)]
pub struct BadgeOutcome {
    pub id: String,
    pub jti: String,
    pub sub: String,
    pub iss: String,
    pub trust_level: Option<String>,
    pub expires_at: i64,
    /// Where the badge was stored; `None` for MCP servers (their SDK keeps badges in memory).
    pub stored_at: Option<String>,
    #[serde(skip)]
    pub token: String,
}

fn outcome(found: &Found, b: &Badge, token: String, stored_at: Option<PathBuf>) -> BadgeOutcome {
    BadgeOutcome {
        id: found.identity.id.clone(),
        jti: b.jti.clone(),
        sub: b.sub.clone(),
        iss: b.iss.clone(),
        trust_level: b.trust_level.clone(),
        expires_at: b.exp,
        stored_at: stored_at.map(|p| p.display().to_string()),
        token,
    }
}

/// Agents keep their badge in `<dir>/badge.jwt` (0600, atomic), where the SDK's keeper does.
fn store(found: &Found, token: &str) -> Result<Option<PathBuf>, AppError> {
    if found.identity.kind != Kind::Agent {
        return Ok(None);
    }
    if found.identity.source != Source::Disk {
        return Err(AppError::Refused(format!(
            "{} is injected through an env var and has no directory to keep badge.jwt in; use the disk identity it overrides",
            found.identity.id
        )));
    }
    let dir = PathBuf::from(&found.identity.location);
    crate::store::create::refuse_symlinked_identity(&dir)?;
    let _lock = crate::store::rotate::lock_within(
        &crate::store::rotate::Paths::for_dir(&dir),
        &found.identity.id,
        crate::app::rotate::LOCK_PATIENCE,
    )?;
    let path = dir.join(AGENT_BADGE);
    sfs::refuse_symlinks(&path)?;
    sfs::write_atomic(&path, token.as_bytes(), 0o600, Overwrite::Allow)?;
    Ok(Some(path))
}

fn check_decodes(found: &Found, token: &str) -> Result<Badge, AppError> {
    let b = badge::decode(token)
        .map_err(|e| AppError::Refused(format!("the registry returned an unusable badge: {e}")))?;
    if !is_for(found, &b) {
        return Err(AppError::Refused(format!(
            "the registry issued a badge for {} that does not match this identity's key; not stored (run `capiscio-tui status {}`)",
            b.sub, found.identity.id
        )));
    }
    Ok(b)
}

/// A renewal must never make things worse: the new badge is written only when it
/// verifies (the registry's JWKS signed it, or its own did:key for a self-signed one),
/// is within its time window, is bound to this key (checked by [`check_decodes`]) and,
/// when the badge on disk still verifies and has not expired, does not run out before it.
async fn check_better(
    client: &RegistryClient,
    found: &Found,
    b: &Badge,
    now: i64,
) -> Result<(), AppError> {
    let refused = |why: String| {
        AppError::Refused(format!(
            "the registry's new badge {why}; not stored — {}",
            if found.badge.is_some() {
                "the badge on disk is unchanged"
            } else {
                "no badge was written"
            }
        ))
    };
    match b.time_state(now) {
        Some(badge::BadgeState::Expired) => {
            return Err(refused(format!(
                "expired {}",
                crate::core::ids::relative(b.exp, now)
            )));
        }
        Some(_) => {
            return Err(refused(format!(
                "is not valid until {}",
                crate::core::ids::rfc3339(b.nbf.unwrap_or(b.iat))
            )));
        }
        None => {}
    }
    let keys = if b.is_self_signed() {
        None
    } else {
        Some(client.jwks().await.map_err(|e| {
            refused(format!(
                "could not be verified (the registry's keys could not be fetched: {e})"
            ))
        })?)
    };
    let verifies = |x: &Badge| match &keys {
        _ if x.is_self_signed() => {
            crate::core::did::parse_did_key(&x.iss).is_ok_and(|k| x.verify_with(&k))
        }
        Some(k) => x.verify_with_keys(k),
        None => false,
    };
    if !verifies(b) {
        return Err(refused(format!(
            "does not verify: no key of the registry's JWKS signed it (issuer {})",
            crate::core::text::printable(&b.iss)
        )));
    }
    if let Some(old) = found.badge.as_ref()
        && old.time_state(now).is_none()
        && old.exp > b.exp
        && is_for(found, old)
        && (old.is_self_signed() || keys.is_some())
        && verifies(old)
    {
        return Err(refused(format!(
            "expires {} ({}), before the valid one on disk ({})",
            crate::core::ids::relative(b.exp, now),
            crate::core::ids::rfc3339(b.exp),
            crate::core::ids::rfc3339(old.exp)
        )));
    }
    Ok(())
}

fn is_for(found: &Found, b: &Badge) -> bool {
    let dids: Vec<&str> = [
        found.identity.did.as_deref(),
        found.identity.key_did.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    b.is_for(&dids, found.identity.registry_key(), found.public.as_ref())
}

/// Asks the registry for a badge and stores it (agents) only when it is an improvement:
/// see [`check_better`]. `now` is the caller's clock.
pub async fn request(
    client: &RegistryClient,
    found: &Found,
    now: i64,
) -> Result<BadgeOutcome, AppError> {
    let id = found.identity.registry_key();
    let issued = match found.identity.kind {
        Kind::Agent => client.request_agent_badge(id).await,
        Kind::McpServer => client.request_server_badge(id, None).await,
    }
    .map_err(|e| AppError::Refused(format!("badge request for {id} failed: {e}")))?;
    let b = check_decodes(found, &issued.token)?;
    check_better(client, found, &b, now).await?;
    let stored = store(found, &issued.token)?;
    Ok(outcome(found, &b, issued.token, stored))
}

pub fn self_sign(ctx: &Context, found: &Found, ttl: i64) -> Result<BadgeOutcome, AppError> {
    let key = crate::app::export::load_key(ctx, found)?;
    let jti = crate::app::generate::fresh_uuid()?;
    let token = badge::self_signed(&key, &jti, ctx.now, ttl);
    let b = badge::decode(&token).map_err(|e| AppError::Refused(e.to_string()))?;
    let stored = store(found, &token)?;
    Ok(outcome(found, &b, token, stored))
}
