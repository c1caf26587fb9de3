//! Registering a local key with the registry, as the SDKs do it, and saying plainly
//! what each registry answer means for the user.

use crate::app::AppError;
use crate::core::identity::{Kind, Source};
use crate::core::ids::IdentityId;
use crate::core::jwk;
use crate::core::key::PublicKey;
use crate::core::pem;
use crate::registry::client::{RegistryClient, WriteOutcome};
use crate::registry::model::AgentRecord;
use crate::store::disk::AGENT_CARD;
use crate::store::disk::{Found, RESOLVED_ID};
use crate::store::fs::{self as sfs, Overwrite};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Registered,
    /// 409: the registry keeps what it has (the SDKs carry on as if it succeeded).
    AlreadySet,
    /// The agent id does not exist in the registry.
    UnknownAgent,
    /// The server id did not exist; the registry created one with a new id.
    CreatedServer {
        id: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: String,
    /// The id the registry knows the identity by, when it differs from `id`.
    pub registry_id: Option<String>,
    pub did: String,
    pub outcome: Outcome,
    /// What it means, in one or two sentences.
    pub message: String,
}

pub async fn register(client: &RegistryClient, found: &Found) -> Result<Report, AppError> {
    let public: PublicKey = found.public.ok_or_else(|| {
        AppError::Refused(format!(
            "{} has no readable key to register",
            found.identity.id
        ))
    })?;
    // The registry knows an MCP server by the id it assigned, when it assigned one.
    let id = found.identity.registry_key().to_string();
    let did = public.did_key();
    let reg =
        |e: crate::registry::client::RegistryError| AppError::Refused(format!("registry: {e}"));
    let report = |outcome, message: String| Report {
        id: found.identity.id.clone(),
        registry_id: Some(id.clone()).filter(|r| *r != found.identity.id),
        did: did.clone(),
        outcome,
        message,
    };
    match found.identity.kind {
        Kind::Agent => register_agent(client, found, &public).await,
        Kind::McpServer => {
            let public_pem = pem::encode_public(&public);
            match client
                .put_server(&id, &did, &public_pem)
                .await
                .map_err(reg)?
            {
                WriteOutcome::Done(_) => Ok(report(
                    Outcome::Registered,
                    format!("registered {did} for MCP server {id}"),
                )),
                WriteOutcome::AlreadySet(_) => Ok(report(
                    Outcome::AlreadySet,
                    format!(
                        "the registry answered 409 for server {id}: it keeps the key it has, so this key is not registered"
                    ),
                )),
                WriteOutcome::NotFound => {
                    // As the MCP SDK does: create the server, remember the id it got.
                    let created = client
                        .create_server(&id, &did, &public_pem)
                        .await
                        .map_err(reg)?;
                    let new_id = created.id.ok_or_else(|| {
                        AppError::Refused("registry created the server but sent no id".into())
                    })?;
                    if let Some(dir) = found.dir.as_ref().filter(|_| new_id != id) {
                        // Under the identity's lock, which also clears a killed run's temp file.
                        crate::store::create::refuse_symlinked_identity(dir)?;
                        let _lock = crate::store::rotate::lock_within(
                            &crate::store::rotate::Paths::for_dir(dir),
                            &id,
                            crate::app::rotate::LOCK_PATIENCE,
                        )?;
                        sfs::write_atomic(
                            &dir.join(RESOLVED_ID),
                            new_id.as_bytes(),
                            0o644,
                            Overwrite::Allow,
                        )?;
                    }
                    let mut r = report(
                        Outcome::CreatedServer { id: new_id.clone() },
                        format!(
                            "the registry had no server {id}; it created {new_id} (saved to .resolved_server_id, as the MCP SDK does); \
                             here it is still `{}`",
                            found.identity.id
                        ),
                    );
                    r.registry_id = Some(new_id).filter(|n| *n != found.identity.id);
                    Ok(r)
                }
            }
        }
    }
}

/// The agent record this identity is, found or created the way the agent SDK's
/// `connect()` does it: by its id; else an agent of its name whose identity is unset
/// or is this key; else a new agent (`POST /v1/sdk/agents` with `{name, protocol}`).
async fn find_or_create_agent(
    client: &RegistryClient,
    found: &Found,
    public: &PublicKey,
) -> Result<(String, AgentRecord, bool), AppError> {
    let local = &found.identity.id;
    if let Some(rec) = client.agent(local).await.map_err(reg_error)? {
        return Ok((local.clone(), rec, false));
    }
    let did = public.did_key();
    let name = found.identity.name.clone();
    if let Some(n) = &name {
        let same = client
            .agents()
            .await
            .map_err(reg_error)?
            .into_iter()
            .find(|r| {
                r.name.as_deref() == Some(n.as_str())
                    && r.id.is_some()
                    && (r.did.is_none() || r.did.as_deref() == Some(did.as_str()))
            });
        if let Some(rec) = same {
            let id = rec.id.clone().unwrap_or_default();
            return Ok((id, rec, false));
        }
    }
    let rec = client
        .create_agent(name.as_deref().unwrap_or(local))
        .await
        .map_err(reg_error)?;
    let id = rec
        .id
        .clone()
        .ok_or_else(|| AppError::Refused("the registry created an agent but sent no id".into()))?;
    Ok((id, rec, true))
}

fn reg_error(e: crate::registry::client::RegistryError) -> AppError {
    AppError::Refused(format!("registry: {e}"))
}

/// Does the registry's record already vouch for this key (its did:key, or its public JWK)?
pub(crate) fn holds_key(rec: &AgentRecord, public: &PublicKey) -> bool {
    rec.did.as_deref() == Some(public.did_key().as_str())
        || rec
            .public_key
            .as_deref()
            .and_then(|k| jwk::parse_public(k).ok())
            .is_some_and(|k| k.x == *public)
}

async fn register_agent(
    client: &RegistryClient,
    found: &Found,
    public: &PublicKey,
) -> Result<Report, AppError> {
    let did = public.did_key();
    let (id, rec, created) = find_or_create_agent(client, found, public).await?;
    let (outcome, mut message) = if holds_key(&rec, public) {
        (
            Outcome::Registered,
            format!("the registry already holds {did} for agent {id}; nothing to change"),
        )
    } else {
        // The SDK sends the public JWK serialised as a JSON string.
        let public_jwk = serde_json::from_str::<serde_json::Value>(&jwk::to_go_public(public))
            .map(|v| v.to_string())
            .unwrap_or_default();
        match client
            .register_agent_identity(&id, &did, &public_jwk)
            .await
            .map_err(reg_error)?
        {
            WriteOutcome::Done(_) if created => (
                Outcome::Registered,
                format!("created agent {id} in the registry and registered {did} for it"),
            ),
            WriteOutcome::Done(_) => (
                Outcome::Registered,
                format!("registered {did} for agent {id}"),
            ),
            WriteOutcome::AlreadySet(_) => (
                Outcome::AlreadySet,
                format!(
                    "the registry already holds another identity for agent {id} (HTTP 409; an agent's identity is set once) and keeps it: \
                     this key is not the one it vouches for, so PoP badges fail and IAL-0 badges embed the registered key. \
                     Update this agent's key in the CapiscIO dashboard, or give this key its own agent: \
                     `capiscio-tui rotate {} --new-agent` moves the identity to a new agent record.",
                    found.identity.id
                ),
            ),
            WriteOutcome::NotFound => (
                Outcome::UnknownAgent,
                format!(
                    "the registry has no agent {id} (it answered 404 when its identity was set)"
                ),
            ),
        }
    };
    let mut local_id = found.identity.id.clone();
    if id != local_id
        && outcome == Outcome::Registered
        && found.identity.source == Source::Disk
        && let Some(dir) = found.dir.as_ref()
    {
        // The SDK discovers an agent by the id the registry gave it (spec §1.3).
        let valid = IdentityId::parse(&id).map_err(|e| {
            AppError::Refused(format!(
                "the registry's agent id is unusable as a directory name ({e}); the identity stays at {}",
                dir.display()
            ))
        })?;
        crate::store::create::refuse_symlinked_identity(dir)?;
        let _lock = crate::store::rotate::lock_within(
            &crate::store::rotate::Paths::for_dir(dir),
            &local_id,
            crate::app::rotate::LOCK_PATIENCE,
        )?;
        let target = crate::store::create::move_identity(dir, &valid).map_err(|e| {
            AppError::Refused(format!(
                "agent {id} is registered, but the identity could not be moved to its id ({e}); it stays at {}",
                dir.display()
            ))
        })?;
        retag_card(&target.join(AGENT_CARD), &local_id, &id);
        message.push_str(&format!(
            "; the identity moved from {local_id} to {} (the SDK finds agents by their registry id)",
            target.display()
        ));
        local_id = id.clone();
    }
    Ok(Report {
        registry_id: Some(id).filter(|r| *r != local_id),
        id: local_id,
        did,
        outcome,
        message,
    })
}

/// The agent card names the agent id it was written for: follow the move.
fn retag_card(card: &std::path::Path, old: &str, new: &str) {
    let Ok(text) = sfs::read_small_text(card) else {
        return;
    };
    let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return;
    };
    if v.get("capiscio:agentId").and_then(|x| x.as_str()) != Some(old) {
        return;
    }
    v["capiscio:agentId"] = serde_json::Value::String(new.to_string());
    if let Ok(out) = serde_json::to_string_pretty(&v) {
        let _ = sfs::write_atomic(card, out.as_bytes(), 0o644, Overwrite::Allow);
    }
}
