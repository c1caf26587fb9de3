//! Registering a local key with the registry, as the SDKs do it, and saying plainly
//! what each registry answer means for the user.

use crate::app::AppError;
use crate::core::identity::Kind;
use crate::core::jwk;
use crate::core::key::PublicKey;
use crate::core::pem;
use crate::registry::client::{RegistryClient, WriteOutcome};
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
        Kind::Agent => {
            // The SDK sends the public JWK serialised as a JSON string.
            let public_jwk = serde_json::from_str::<serde_json::Value>(&jwk::to_go_public(&public))
                .map(|v| v.to_string())
                .unwrap_or_default();
            Ok(
                match client
                    .register_agent_identity(&id, &did, &public_jwk)
                    .await
                    .map_err(reg)?
                {
                    WriteOutcome::Done(_) => report(
                        Outcome::Registered,
                        format!("registered {did} for agent {id}"),
                    ),
                    WriteOutcome::AlreadySet(_) => report(
                        Outcome::AlreadySet,
                        format!(
                            "the registry already holds an identity for agent {id} (HTTP 409) and keeps it: this key is not the one it vouches for, \
                         so PoP badges fail and IAL-0 badges embed the registered key. Create a new agent in the CapiscIO dashboard and \
                         generate with its id, or update this agent's key in the dashboard."
                        ),
                    ),
                    WriteOutcome::NotFound => report(
                        Outcome::UnknownAgent,
                        format!(
                            "the registry has no agent {id}: create the agent in the CapiscIO dashboard, then register this key under its UUID"
                        ),
                    ),
                },
            )
        }
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
