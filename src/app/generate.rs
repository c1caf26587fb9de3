//! `generate`: a new identity in exactly the layout the SDKs read.

use crate::app::{AppError, Context};
use crate::core::identity::{Identity, Kind};
use crate::core::ids;
use crate::core::jwk;
use crate::core::key::KeyPair;
use crate::store::disk;
use crate::store::scan::{agents_dir, servers_dir};
use std::path::PathBuf;

pub struct GenerateRequest {
    pub kind: Kind,
    pub id: Option<String>,
    pub name: Option<String>,
}

pub struct Generated {
    pub identity: Identity,
    pub dir: PathBuf,
}

/// Writes `key` as a new identity. The caller supplies the key and a fresh UUID so
/// that tests can be deterministic; the CLI draws both from the OS RNG.
pub fn generate(
    ctx: &Context,
    req: &GenerateRequest,
    key: &KeyPair,
    fresh_id: String,
) -> Result<Generated, AppError> {
    let raw = req.id.clone().unwrap_or(fresh_id);
    let id = ids::IdentityId::parse(&raw).map_err(|e| AppError::InvalidId(e.to_string()))?;
    let parent = match req.kind {
        Kind::Agent => agents_dir(&ctx.home),
        Kind::McpServer => servers_dir(&ctx.home),
    };
    let dir = crate::store::create::identity_path(&parent, &id);
    let id = id.to_string();
    // A linked ~/.capiscio or keys/ would put the key wherever the link points.
    let root = ctx.home.parent().unwrap_or(&ctx.home);
    crate::store::create::refuse_symlinked_path(root, &dir)?;
    // The CapiscIO home itself should be private too.
    crate::store::fs::create_private_dir(&ctx.home)?;
    crate::store::create::refuse_symlinked_path(root, &dir)?;
    match req.kind {
        Kind::Agent => {
            let card = req
                .name
                .as_deref()
                .map(|n| agent_card(&id, n, key, ctx.now));
            disk::write_agent(&dir, key, card.as_deref())?;
        }
        Kind::McpServer => disk::write_server(&dir, key)?,
    }
    let mut found = match req.kind {
        Kind::Agent => disk::inspect_agent(&dir, &id, disk::is_uuid(&id), ctx.now),
        Kind::McpServer => disk::inspect_server(&dir, &id),
    };
    found.identity.effective = found.loadable;
    if found.identity.name.is_none() {
        found.identity.name = req.name.clone();
    }
    Ok(Generated {
        identity: found.identity,
        dir,
    })
}

/// The agent card capiscio-core's Init RPC writes (the schema SDK-created agents have).
pub fn agent_card(id: &str, name: &str, key: &KeyPair, now: i64) -> String {
    let did = key.public().did_key();
    let public: serde_json::Value =
        serde_json::from_str(&jwk::to_go_public(key.public())).unwrap_or(serde_json::Value::Null);
    let card = serde_json::json!({
        "@context": "https://capisc.io/ns/agent-card/v1",
        "capiscio:agentId": id,
        "created": ids::rfc3339(now),
        "description": "CapiscIO verified agent",
        "id": did,
        "name": name,
        "verificationMethods": [{
            "id": format!("{did}#keys-1"),
            "type": "JsonWebKey2020",
            "controller": did,
            "publicKeyJwk": public,
        }],
    });
    serde_json::to_string_pretty(&card).unwrap_or_default()
}

pub fn fresh_uuid() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(AppError::Random)?;
    Ok(ids::uuid_v4(bytes))
}

pub fn fresh_key() -> Result<KeyPair, AppError> {
    KeyPair::generate().map_err(AppError::Random)
}

/// What [`create`] did: the identity as it finally is (renamed when the registry assigned
/// an id) and, when registering was asked for, how that went.
pub struct Created {
    pub identity: Identity,
    pub dir: PathBuf,
    pub registered: Option<Result<crate::app::register::Report, AppError>>,
}

/// "Create (and register)", the one workflow behind `generate [--register]` and the UI's
/// `n`: writes the identity, then registers it when a registry client is given. A failed
/// registration leaves the identity created and is reported in [`Created::registered`].
pub async fn create(
    ctx: &Context,
    req: &GenerateRequest,
    key: &KeyPair,
    fresh_id: String,
    register_with: Option<&crate::registry::client::RegistryClient>,
) -> Result<Created, AppError> {
    let generated = generate(ctx, req, key, fresh_id)?;
    let (mut identity, mut dir) = (generated.identity, generated.dir);
    let Some(client) = register_with else {
        return Ok(Created {
            identity,
            dir,
            registered: None,
        });
    };
    let scan = ctx.scan();
    let found = crate::app::resolve::resolve(&scan.found, &identity.id)?;
    let report = crate::app::register::register(client, found).await;
    // Registering can move an agent to the id the registry assigned: name it as it is now.
    if let Ok(r) = &report
        && r.id != identity.id
    {
        let scan = ctx.scan();
        let moved = crate::app::resolve::resolve(&scan.found, &r.id)?;
        if let Some(d) = moved.dir.clone() {
            dir = d;
        }
        let name = identity.name.take();
        identity = moved.identity.clone();
        identity.name = identity.name.take().or(name);
    }
    Ok(Created {
        identity,
        dir,
        registered: Some(report),
    })
}
