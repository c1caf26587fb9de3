//! `demo`: a sandbox HOME with sample identities in every interesting state and a
//! development registry on a free loopback port, so a newcomer sees every feature
//! without an account.

use crate::app::AppError;
use crate::core::ids;
use crate::core::key::KeyPair;
use crate::registry::client::{ApiKey, ClientConfig, KeySource, RegistryClient};
use crate::registry::dev::{self, DevConfig, DevRegistry};
use crate::store::disk;
use std::path::{Path, PathBuf};

pub const DEMO_API_KEY: &str = "sk_test_capiscio_tui_demo";

pub struct Sandbox {
    /// Use as HOME: the identities are under `<root>/.capiscio`.
    pub root: PathBuf,
    pub registry: DevRegistry,
    _tmp: Option<tempfile::TempDir>,
}

impl Sandbox {
    pub fn home(&self) -> PathBuf {
        self.root.join(".capiscio")
    }
}

fn io(e: impl std::fmt::Display) -> AppError {
    AppError::Refused(format!("demo: {e}"))
}

fn uuid() -> Result<String, AppError> {
    crate::app::generate::fresh_uuid()
}

/// Dev-registry test hooks over plain HTTP (they are not part of the CapiscIO API).
struct Admin {
    http: reqwest::Client,
    url: String,
}

impl Admin {
    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        key: bool,
    ) -> Result<serde_json::Value, AppError> {
        let mut req = self.http.post(format!("{}{path}", self.url)).json(&body);
        if key {
            req = req.header(crate::registry::client::API_KEY_HEADER, DEMO_API_KEY);
        }
        let resp = req.send().await.map_err(io)?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.map_err(io)?;
        if !status.is_success() {
            return Err(io(format!("{path}: HTTP {status}: {v}")));
        }
        Ok(v)
    }
}

pub async fn build(dir: Option<PathBuf>) -> Result<Sandbox, AppError> {
    let (root, tmp) = match dir {
        Some(d) => {
            std::fs::create_dir_all(&d).map_err(io)?;
            (d, None)
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("capiscio-tui-demo-")
                .tempdir()
                .map_err(io)?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let registry = dev::start(DevConfig {
        api_key: Some(DEMO_API_KEY.into()),
        ..DevConfig::default()
    })
    .await
    .map_err(io)?;
    let client = RegistryClient::new(ClientConfig::new(
        &registry.url,
        Some(ApiKey::new(DEMO_API_KEY, KeySource::Flag)),
    ))
    .map_err(io)?;
    let admin = Admin {
        http: reqwest::Client::new(),
        url: registry.url.clone(),
    };
    let home = root.join(".capiscio");
    crate::store::fs::create_private_dir(&home)?;
    let now = crate::cli_now();

    // Healthy, expiring, revoked and disabled agents, each registered with its key.
    for (name, state) in [
        ("billing-agent", "healthy"),
        ("search-agent", "expiring"),
        ("old-agent", "revoked"),
        ("paused-agent", "disabled"),
    ] {
        let id = uuid()?;
        let key = KeyPair::generate().map_err(AppError::Random)?;
        let dir = home.join("keys").join(&id);
        disk::write_agent(
            &dir,
            &key,
            Some(&crate::app::generate::agent_card(&id, name, &key, now)),
        )?;
        admin
            .post(
                "/v1/sdk/agents",
                serde_json::json!({ "id": id, "name": name, "status": "active" }),
                true,
            )
            .await?;
        let public_jwk = serde_json::from_str::<serde_json::Value>(
            &crate::core::jwk::to_go_public(key.public()),
        )
        .map_err(io)?
        .to_string();
        client
            .register_agent_identity(&id, &key.public().did_key(), &public_jwk)
            .await
            .map_err(io)?;
        let token = match state {
            "expiring" => admin
                .post(
                    "/_dev/badges",
                    serde_json::json!({ "agent_id": id, "iat": now - 270, "exp": now + 30 }),
                    false,
                )
                .await?["token"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            _ => client.request_agent_badge(&id).await.map_err(io)?.token,
        };
        write_badge(&dir, &token)?;
        if state == "revoked" {
            let jti = crate::core::badge::decode(&token).map_err(io)?.jti;
            admin
                .post(
                    &format!("/v1/badges/{jti}/revoke"),
                    serde_json::json!({ "reason": "key compromise (demo)" }),
                    true,
                )
                .await?;
        }
        if state == "disabled" {
            admin
                .post(
                    &format!("/v1/agents/{id}/disable"),
                    serde_json::json!({ "reason": "paused by an admin (demo)" }),
                    true,
                )
                .await?;
        }
    }

    // A rotated key the registry does not know: registered with the old key, new key on disk.
    let id = uuid()?;
    let old = KeyPair::generate().map_err(AppError::Random)?;
    let new = KeyPair::generate().map_err(AppError::Random)?;
    admin
        .post(
            "/v1/sdk/agents",
            serde_json::json!({ "id": id, "name": "rotated-agent", "status": "active" }),
            true,
        )
        .await?;
    let old_jwk =
        serde_json::from_str::<serde_json::Value>(&crate::core::jwk::to_go_public(old.public()))
            .map_err(io)?
            .to_string();
    client
        .register_agent_identity(&id, &old.public().did_key(), &old_jwk)
        .await
        .map_err(io)?;
    let dir = home.join("keys").join(&id);
    disk::write_agent(
        &dir,
        &new,
        Some(&crate::app::generate::agent_card(
            &id,
            "rotated-agent",
            &new,
            now,
        )),
    )?;

    // A broken file: the kind of thing `doctor` is for.
    let broken = home.join("keys").join(uuid()?);
    crate::store::fs::create_private_dir(&broken)?;
    crate::store::fs::write_atomic(
        &broken.join(disk::AGENT_PRIVATE),
        b"{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"d\": ",
        0o600,
        crate::store::fs::Overwrite::Refuse,
    )?;

    // An MCP server registered the way the MCP SDK does it (PUT → 404 → POST).
    let skey = KeyPair::generate().map_err(AppError::Random)?;
    let sdir = home.join("mcp-servers").join("files-mcp");
    disk::write_server(&sdir, &skey)?;
    let found = disk::inspect_server(&sdir, "files-mcp");
    crate::app::register::register(&client, &found).await?;

    Ok(Sandbox {
        root,
        registry,
        _tmp: tmp,
    })
}

fn write_badge(dir: &Path, token: &str) -> Result<(), AppError> {
    crate::store::fs::write_atomic(
        &dir.join(disk::AGENT_BADGE),
        token.as_bytes(),
        0o600,
        crate::store::fs::Overwrite::Allow,
    )?;
    Ok(())
}

/// Used by the CLI to print where things are.
pub fn describe(s: &Sandbox) -> String {
    format!(
        "Demo sandbox: HOME={} · registry {} (API key {DEMO_API_KEY}) · {}",
        s.root.display(),
        s.registry.url,
        ids::rfc3339(crate::cli_now())
    )
}
