//! A development registry on 127.0.0.1 implementing the routes our client and the
//! CapiscIO SDKs call. It keeps state in memory (optionally in a JSON file), signs real
//! EdDSA badges with its own CA key, can revoke badges and disable agents, and injects
//! latency and faults (status codes, slow, huge, truncated bodies, redirects) for tests.

use crate::core::badge::sign_compact;
use crate::core::{b64, did, ids, jwk, key::KeyPair, pem};
use crate::store::fs::{self as sfs, Overwrite};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which of the documented reply shapes business routes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
pub enum Variant {
    /// `{"success": true, "data": {…camelCase…}}` (server API docs, SDK code)
    Envelope,
    /// bare snake_case bodies (RFC-002 §12.1 badge issuance, core PoP replies)
    Bare,
}

#[derive(Debug, Clone)]
pub struct DevConfig {
    pub port: u16,
    pub state_file: Option<PathBuf>,
    /// When set, `/v1/sdk/*` and issuance routes require this `X-Capiscio-Registry-Key`.
    pub api_key: Option<String>,
    pub variant: Variant,
    pub latency: Duration,
    pub badge_ttl: i64,
}

impl Default for DevConfig {
    fn default() -> Self {
        Self {
            port: 0,
            state_file: None,
            api_key: None,
            variant: Variant::Envelope,
            latency: Duration::ZERO,
            badge_ttl: 300,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub did: Option<String>,
    pub public_key: Option<String>,
    pub status: String,
    pub domain: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub did: Option<String>,
    pub public_key: Option<String>,
    pub status: String,
    pub org_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BadgeRecord {
    pub jti: String,
    pub sub: String,
    pub subject_id: String,
    pub server: bool,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub reason: Option<String>,
}

/// A fault injected into replies whose path starts with `path_prefix`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Fault {
    pub path_prefix: String,
    pub method: Option<String>,
    /// Reply with this status (and `body`, or a generic error body).
    pub status: Option<u16>,
    pub body: Option<Value>,
    /// Wait before answering.
    pub delay_ms: u64,
    /// Send the real reply cut in half (invalid JSON).
    pub truncate: bool,
    /// Send the body in small pieces this far apart.
    pub slow_body_ms: u64,
    /// Reply with a JSON body of about this many bytes.
    pub body_size: Option<usize>,
    /// Answer 302 with this Location.
    pub redirect: Option<String>,
    /// Reply with this raw text instead of JSON.
    pub raw: Option<String>,
    /// Apply this many times, then drop the fault (default: forever).
    pub times: Option<u32>,
    /// Serve paged lists (`/v1/revocations`) at most this many entries a page, whatever
    /// `limit` the client asks for: a registry whose list outgrows the client's page cap.
    pub page_size: Option<usize>,
}

/// A [`Fault::page_size`] handed from the middleware to the list routes.
#[derive(Debug, Clone, Copy)]
struct PageSize(usize);

#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub had_api_key: bool,
}

#[derive(Serialize, Deserialize)]
struct Persisted {
    ca_seed: String,
    ca_kid: String,
    agents: BTreeMap<String, Agent>,
    servers: BTreeMap<String, Server>,
    badges: BTreeMap<String, BadgeRecord>,
}

struct Inner {
    ca: KeyPair,
    ca_kid: String,
    agents: BTreeMap<String, Agent>,
    servers: BTreeMap<String, Server>,
    badges: BTreeMap<String, BadgeRecord>,
    faults: Vec<Fault>,
    log: Vec<LoggedRequest>,
}

struct Shared {
    cfg: DevConfig,
    origin: String,
    host: String,
    inner: Mutex<Inner>,
}

type AppState = Arc<Shared>;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn uuid() -> String {
    let mut b = [0u8; 16];
    // The dev registry is a test fixture; a failing OS RNG is not worth a panic path.
    let _ = getrandom::fill(&mut b);
    ids::uuid_v4(b)
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a handler panicked mid-update; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn save(&self, inner: &Inner) {
        let Some(path) = &self.cfg.state_file else {
            return;
        };
        let p = Persisted {
            ca_seed: crate::core::key::hex(inner.ca.seed()),
            ca_kid: inner.ca_kid.clone(),
            agents: inner.agents.clone(),
            servers: inner.servers.clone(),
            badges: inner.badges.clone(),
        };
        if let Ok(text) = serde_json::to_string_pretty(&p) {
            let _ = sfs::write_atomic(path, text.as_bytes(), 0o600, Overwrite::Allow);
        }
    }

    fn agent_did_web(&self, id: &str) -> String {
        did::agent_did_web(&self.host, id)
    }

    /// Business replies in the configured shape.
    fn reply(&self, status: StatusCode, data: Value) -> Response {
        match self.cfg.variant {
            Variant::Envelope => (
                status,
                Json(json!({ "success": status.is_success(), "data": data })),
            )
                .into_response(),
            Variant::Bare => (status, Json(snake_keys(data))).into_response(),
        }
    }
}

fn snake_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let mut s = String::new();
                    for c in k.chars() {
                        if c.is_ascii_uppercase() {
                            s.push('_');
                            s.push(c.to_ascii_lowercase());
                        } else {
                            s.push(c);
                        }
                    }
                    (s, v)
                })
                .collect(),
        ),
        other => other,
    }
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, Json(json!({ "error": msg }))).into_response()
}

fn agent_json(a: &Agent) -> Value {
    json!({ "id": a.id, "name": a.name, "did": a.did, "publicKey": a.public_key, "status": a.status, "domain": a.domain })
}

fn server_json(s: &Server) -> Value {
    json!({ "id": s.id, "name": s.name, "did": s.did, "publicKey": s.public_key, "status": s.status, "orgId": s.org_id })
}

/// The running registry. Dropping it (or `shutdown`) stops the server.
pub struct DevRegistry {
    pub addr: SocketAddr,
    pub url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl DevRegistry {
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Resolves when the server task ends (it only ends on shutdown).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for DevRegistry {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A development registry's state (CA, agents, badges) stays far below this.
const STATE_FILE_MAX: u64 = 16 * 1024 * 1024;

fn load_or_new(cfg: &DevConfig) -> std::io::Result<Inner> {
    if let Some(path) = &cfg.state_file
        && path.exists()
    {
        // Capped, no-follow, non-blocking like every other read; it holds the CA seed.
        let text = crate::store::fs::read_text_capped(path, STATE_FILE_MAX)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let p: Persisted = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        let seed: Vec<u8> = (0..p.ca_seed.len() / 2)
            .filter_map(|i| u8::from_str_radix(p.ca_seed.get(i * 2..i * 2 + 2)?, 16).ok())
            .collect();
        let ca = KeyPair::from_seed_slice(&seed)
            .ok_or_else(|| std::io::Error::other("state file: bad CA seed"))?;
        return Ok(Inner {
            ca,
            ca_kid: p.ca_kid,
            agents: p.agents,
            servers: p.servers,
            badges: p.badges,
            faults: Vec::new(),
            log: Vec::new(),
        });
    }
    let ca = KeyPair::generate().map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(Inner {
        ca_kid: format!("capiscio-dev-ca-{}", now()),
        ca,
        agents: BTreeMap::new(),
        servers: BTreeMap::new(),
        badges: BTreeMap::new(),
        faults: Vec::new(),
        log: Vec::new(),
    })
}

/// Binds 127.0.0.1:`port` (0 = any free port) and serves until shut down.
pub async fn start(cfg: DevConfig) -> std::io::Result<DevRegistry> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.port)).await?;
    let addr = listener.local_addr()?;
    let inner = load_or_new(&cfg)?;
    let shared = Arc::new(Shared {
        origin: format!("http://{addr}"),
        host: addr.to_string(),
        cfg,
        inner: Mutex::new(inner),
    });
    let app = router(shared.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(DevRegistry {
        addr,
        url: shared.origin.clone(),
        shutdown: Some(tx),
        task: Some(task),
    })
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/sdk/agents", get(list_agents).post(create_agent))
        .route("/v1/sdk/agents/{id}", get(get_agent).put(put_agent))
        .route("/v1/sdk/agents/{id}/identity", patch(patch_identity))
        .route("/v1/sdk/servers", get(list_servers).post(create_server))
        .route("/v1/sdk/servers/{id}", get(get_server).put(put_server))
        .route("/v1/sdk/servers/{id}/badge", post(server_badge))
        .route("/v1/sdk/servers/badges/{jti}/revoke", post(revoke))
        .route("/v1/agents/{id}/badge", post(agent_badge))
        .route("/v1/agents/{id}/status", get(agent_status))
        .route("/v1/agents/{id}/disable", post(disable_agent))
        .route("/v1/agents/{id}/enable", post(enable_agent))
        .route("/v1/servers/{id}/status", get(server_status))
        .route("/v1/badges/{jti}/status", get(badge_status))
        .route("/v1/servers/badges/{jti}/status", get(badge_status))
        .route("/v1/badges/{jti}/revoke", post(revoke))
        .route("/v1/revocations", get(revocations))
        .route("/v1/events", post(events))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/agents/{id}/did.json", get(agent_did_doc))
        .route("/servers/{id}/did.json", get(server_did_doc))
        .route("/_dev/faults", post(add_fault).delete(clear_faults))
        .route("/_dev/requests", get(request_log))
        .route("/_dev/badges", post(dev_issue_badge))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults_and_auth,
        ))
        .with_state(state)
}

fn needs_key(method: &Method, path: &str) -> bool {
    path.starts_with("/v1/sdk/")
        || (method == Method::POST && path.starts_with("/v1/agents/"))
        || (method == Method::POST && path.starts_with("/v1/badges/"))
}

async fn faults_and_auth(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let presented = req
        .headers()
        .get(crate::registry::client::API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let fault = {
        let mut inner = st.lock();
        if inner.log.len() >= 10_000 {
            inner.log.drain(..5_000);
        }
        inner.log.push(LoggedRequest {
            method: method.to_string(),
            path: path.clone(),
            had_api_key: presented.is_some(),
        });
        let pos = inner.faults.iter().position(|f| {
            !path.starts_with("/_dev/")
                && path.starts_with(&f.path_prefix)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
        });
        pos.map(|i| {
            let f = inner.faults[i].clone();
            if let Some(t) = inner.faults[i].times.as_mut() {
                *t = t.saturating_sub(1);
                if *t == 0 {
                    inner.faults.remove(i);
                }
            }
            f
        })
    };
    if !st.cfg.latency.is_zero() && !path.starts_with("/_dev/") {
        tokio::time::sleep(st.cfg.latency).await;
    }
    if let Some(f) = &fault {
        if let Some(n) = f.page_size {
            req.extensions_mut().insert(PageSize(n.max(1)));
        }
        if f.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        }
        if let Some(loc) = &f.redirect {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(loc) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            return r;
        }
        if let Some(size) = f.body_size {
            let body = format!("{{\"pad\":\"{}\"}}", " ".repeat(size.saturating_sub(10)));
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
        }
        if let Some(raw) = &f.raw {
            let status = f
                .status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            return (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                raw.clone(),
            )
                .into_response();
        }
        if let Some(code) = f.status.and_then(|s| StatusCode::from_u16(s).ok()) {
            let body = f
                .body
                .clone()
                .unwrap_or_else(|| json!({ "error": format!("injected fault {code}") }));
            return (code, Json(body)).into_response();
        }
    }
    if let Some(want) = &st.cfg.api_key
        && needs_key(&method, &path)
        && presented.as_deref() != Some(want.as_str())
    {
        return error(StatusCode::UNAUTHORIZED, "invalid or missing API key");
    }
    let resp = next.run(req).await;
    match fault {
        Some(f) if f.truncate || f.slow_body_ms > 0 => {
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mut parts = parts;
            parts.headers.remove(header::CONTENT_LENGTH);
            if f.truncate {
                let cut = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
                return Response::from_parts(parts, Body::from(cut));
            }
            let delay = Duration::from_millis(f.slow_body_ms);
            let pieces: Vec<Bytes> = bytes.chunks(8).map(Bytes::copy_from_slice).collect();
            let stream =
                futures_util::stream::unfold(pieces.into_iter(), move |mut it| async move {
                    let next = it.next()?;
                    tokio::time::sleep(delay).await;
                    Some((Ok::<Bytes, std::io::Error>(next), it))
                });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        _ => resp,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CreateAgent {
    id: Option<String>,
    name: Option<String>,
    did: Option<String>,
    #[serde(alias = "public_key", rename = "publicKey")]
    public_key: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AgentFilter {
    did: Option<String>,
}

async fn list_agents(State(st): State<AppState>, Query(filter): Query<AgentFilter>) -> Response {
    // `?did=` narrows the list to the agents holding that DID (spec §5.2).
    let list: Vec<Value> = st
        .lock()
        .agents
        .values()
        .filter(|a| filter.did.is_none() || a.did == filter.did)
        .map(agent_json)
        .collect();
    match st.cfg.variant {
        Variant::Envelope => Json(json!({ "success": true, "data": list })).into_response(),
        Variant::Bare => {
            Json(Value::Array(list.into_iter().map(snake_keys).collect())).into_response()
        }
    }
}

async fn create_agent(State(st): State<AppState>, Json(body): Json<CreateAgent>) -> Response {
    let id = body.id.filter(|i| ids::is_safe_id(i)).unwrap_or_else(uuid);
    let mut inner = st.lock();
    if inner.agents.contains_key(&id) {
        return error(StatusCode::CONFLICT, "agent exists");
    }
    let agent = Agent {
        name: body
            .name
            .unwrap_or_else(|| format!("Agent-{}", id.chars().take(8).collect::<String>())),
        did: body.did,
        public_key: body.public_key,
        status: body.status.unwrap_or_else(|| "inactive".into()),
        domain: None,
        reason: None,
        id: id.clone(),
    };
    let v = agent_json(&agent);
    inner.agents.insert(id, agent);
    st.save(&inner);
    drop(inner);
    st.reply(StatusCode::CREATED, v)
}

async fn get_agent(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let v = st.lock().agents.get(&id).map(agent_json);
    match v {
        Some(v) => st.reply(StatusCode::OK, v),
        None => error(StatusCode::NOT_FOUND, "agent not found"),
    }
}

async fn put_agent(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<Map<String, Value>>,
) -> Response {
    let mut inner = st.lock();
    let Some(a) = inner.agents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "agent not found");
    };
    // The real server overwrites every field from the body (hence the SDK's GET→PUT).
    if let Some(n) = body.get("name").and_then(Value::as_str) {
        a.name = n.to_string();
    }
    if let Some(s) = body.get("status").and_then(Value::as_str) {
        a.status = s.to_string();
    }
    a.domain = body
        .get("domain")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Some(d) = body.get("did").and_then(Value::as_str) {
        a.did = Some(d.to_string());
    }
    let v = agent_json(a);
    st.save(&inner);
    drop(inner);
    st.reply(StatusCode::OK, v)
}

#[derive(Deserialize)]
struct IdentityBody {
    did: String,
    #[serde(rename = "publicKey", alias = "public_key", default)]
    public_key: Option<String>,
}

async fn patch_identity(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<IdentityBody>,
) -> Response {
    let mut inner = st.lock();
    let Some(a) = inner.agents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "agent not found");
    };
    if a.did.as_deref().is_some_and(|d| !d.is_empty()) {
        return error(StatusCode::CONFLICT, "identity already set");
    }
    a.did = Some(body.did);
    a.public_key = body.public_key;
    let v = agent_json(a);
    st.save(&inner);
    drop(inner);
    st.reply(StatusCode::OK, v)
}

async fn list_servers(State(st): State<AppState>) -> Response {
    let list: Vec<Value> = st.lock().servers.values().map(server_json).collect();
    st.reply(StatusCode::OK, Value::Array(list))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServerBody {
    id: Option<String>,
    name: Option<String>,
    did: Option<String>,
    #[serde(rename = "publicKey", alias = "public_key")]
    public_key: Option<String>,
}

async fn create_server(State(st): State<AppState>, Json(body): Json<ServerBody>) -> Response {
    let id = body.id.filter(|i| ids::is_safe_id(i)).unwrap_or_else(uuid);
    let server = Server {
        name: body.name.unwrap_or_else(|| id.clone()),
        did: body.did,
        public_key: body.public_key,
        status: "active".into(),
        org_id: "00000000-0000-4000-8000-00000000000d".into(),
        id: id.clone(),
    };
    let v = server_json(&server);
    let mut inner = st.lock();
    inner.servers.insert(id, server);
    st.save(&inner);
    drop(inner);
    st.reply(StatusCode::CREATED, v)
}

async fn get_server(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let v = st.lock().servers.get(&id).map(server_json);
    match v {
        Some(v) => st.reply(StatusCode::OK, v),
        None => error(StatusCode::NOT_FOUND, "server not found"),
    }
}

async fn put_server(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<ServerBody>,
) -> Response {
    let mut inner = st.lock();
    let Some(s) = inner.servers.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "server not found");
    };
    // Servers re-push their key on every start; the registry takes the new one.
    if body.did.is_some() {
        s.did = body.did;
    }
    if body.public_key.is_some() {
        s.public_key = body.public_key;
    }
    let v = server_json(s);
    st.save(&inner);
    drop(inner);
    st.reply(StatusCode::OK, v)
}

/// The subject key of a badge: the registered public JWK or PEM, else the did:key.
fn subject_x(public_key: Option<&str>, did_: Option<&str>) -> Option<String> {
    let pk = public_key
        .and_then(|p| {
            jwk::parse_public(p)
                .ok()
                .map(|j| j.x)
                .or_else(|| pem::parse_public(p).ok())
        })
        .or_else(|| did_.and_then(|d| did::parse_did_key(d).ok()))?;
    Some(b64::url_encode(pk.as_bytes()))
}

#[allow(clippy::too_many_arguments)]
fn issue(
    st: &Shared,
    inner: &mut Inner,
    subject_id: &str,
    server: bool,
    x: &str,
    domain: Option<&str>,
    iat: i64,
    exp: i64,
) -> (String, String) {
    let jti = uuid();
    let sub = st.agent_did_web(subject_id);
    let header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": inner.ca_kid });
    let payload = json!({
        "jti": jti, "iss": st.origin, "sub": sub, "iat": iat, "exp": exp, "ial": "0",
        "key": { "kty": "OKP", "crv": "Ed25519", "x": x },
        "vc": { "type": ["VerifiableCredential", "AgentIdentity"],
                "credentialSubject": { "domain": domain.unwrap_or("localhost"), "level": "1" } },
    });
    let token = sign_compact(&header.to_string(), &payload.to_string(), &inner.ca);
    inner.badges.insert(
        jti.clone(),
        BadgeRecord {
            jti: jti.clone(),
            sub,
            subject_id: subject_id.into(),
            server,
            expires_at: exp,
            revoked_at: None,
            reason: None,
        },
    );
    (token, jti)
}

fn issued_reply(st: &Shared, token: &str, jti: &str, sub: &str, exp: i64) -> Response {
    match st.cfg.variant {
        Variant::Envelope => st.reply(
            StatusCode::OK,
            json!({ "token": token, "jti": jti, "subject": sub, "trustLevel": "1", "expiresAt": ids::rfc3339(exp) }),
        ),
        Variant::Bare => (StatusCode::OK, Json(json!({ "badge": token, "jti": jti, "expires_at": exp }))).into_response(),
    }
}

async fn agent_badge(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let mut inner = st.lock();
    let Some(a) = inner.agents.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "AGENT_NOT_FOUND");
    };
    if a.status == "disabled" || a.status == "suspended" {
        return error(StatusCode::FORBIDDEN, "agent disabled");
    }
    let Some(x) = subject_x(a.public_key.as_deref(), a.did.as_deref()) else {
        return error(
            StatusCode::CONFLICT,
            "no public key registered for this agent",
        );
    };
    let t = now();
    let exp = t + st.cfg.badge_ttl;
    let (token, jti) = issue(&st, &mut inner, &id, false, &x, a.domain.as_deref(), t, exp);
    st.save(&inner);
    drop(inner);
    issued_reply(&st, &token, &jti, &st.agent_did_web(&id), exp)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DomainBody {
    domain: Option<String>,
}

async fn server_badge(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Option<Json<DomainBody>>,
) -> Response {
    let mut inner = st.lock();
    let Some(s) = inner.servers.get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "server not found");
    };
    let Some(x) = subject_x(s.public_key.as_deref(), s.did.as_deref()) else {
        return error(
            StatusCode::CONFLICT,
            "no public key registered for this server",
        );
    };
    let t = now();
    let exp = t + st.cfg.badge_ttl;
    let domain = body.and_then(|b| b.0.domain);
    let (token, jti) = issue(&st, &mut inner, &id, true, &x, domain.as_deref(), t, exp);
    st.save(&inner);
    drop(inner);
    issued_reply(&st, &token, &jti, &st.agent_did_web(&id), exp)
}

/// Test hook: issue a badge for an agent with chosen times (expiring, expired, future).
#[derive(Deserialize)]
struct DevBadge {
    agent_id: String,
    iat: i64,
    exp: i64,
}

async fn dev_issue_badge(State(st): State<AppState>, Json(b): Json<DevBadge>) -> Response {
    let mut inner = st.lock();
    let Some(a) = inner.agents.get(&b.agent_id).cloned() else {
        return error(StatusCode::NOT_FOUND, "agent not found");
    };
    let Some(x) = subject_x(a.public_key.as_deref(), a.did.as_deref()) else {
        return error(
            StatusCode::CONFLICT,
            "no public key registered for this agent",
        );
    };
    let (token, jti) = issue(&st, &mut inner, &b.agent_id, false, &x, None, b.iat, b.exp);
    st.save(&inner);
    Json(json!({ "token": token, "jti": jti })).into_response()
}

async fn agent_status(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let inner = st.lock();
    match inner.agents.get(&id) {
        Some(a) => {
            let status = if a.status == "disabled" || a.status == "suspended" {
                a.status.as_str()
            } else {
                "active"
            };
            Json(json!({ "id": a.id, "status": status, "reason": a.reason })).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "agent not found"),
    }
}

async fn server_status(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    match st.lock().servers.get(&id) {
        Some(s) => Json(json!({ "id": s.id, "status": s.status })).into_response(),
        None => error(StatusCode::NOT_FOUND, "server not found"),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasonBody {
    reason: Option<String>,
}

async fn set_agent_status(st: &Shared, id: &str, status: &str, reason: Option<String>) -> Response {
    let mut inner = st.lock();
    let Some(a) = inner.agents.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, "agent not found");
    };
    a.status = status.into();
    a.reason = reason;
    let v = json!({ "id": a.id, "status": a.status });
    st.save(&inner);
    Json(v).into_response()
}

async fn disable_agent(
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Option<Json<ReasonBody>>,
) -> Response {
    set_agent_status(&st, &id, "disabled", body.and_then(|b| b.0.reason)).await
}

async fn enable_agent(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    set_agent_status(&st, &id, "active", None).await
}

async fn badge_status(State(st): State<AppState>, Path(jti): Path<String>) -> Response {
    match st.lock().badges.get(&jti) {
        Some(b) => {
            let mut v = json!({ "jti": b.jti, "sub": b.sub, "revoked": b.revoked_at.is_some(), "expiresAt": ids::rfc3339(b.expires_at) });
            if let Some(at) = b.revoked_at {
                v["revokedAt"] = json!(ids::rfc3339(at));
                v["reason"] = json!(b.reason);
            }
            Json(v).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "badge not found"),
    }
}

async fn revoke(
    State(st): State<AppState>,
    Path(jti): Path<String>,
    body: Option<Json<ReasonBody>>,
) -> Response {
    let mut inner = st.lock();
    let Some(b) = inner.badges.get_mut(&jti) else {
        return error(StatusCode::NOT_FOUND, "badge not found");
    };
    let at = *b.revoked_at.get_or_insert(now());
    b.reason = body.and_then(|b| b.0.reason).or(b.reason.take());
    st.save(&inner);
    Json(json!({ "jti": jti, "revoked": true, "revokedAt": ids::rfc3339(at) })).into_response()
}

async fn revocations(
    State(st): State<AppState>,
    page_size: Option<axum::Extension<PageSize>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(1000)
        .clamp(1, 1000)
        .min(page_size.map_or(usize::MAX, |p| p.0.0));
    let start: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let inner = st.lock();
    let all: Vec<&BadgeRecord> = inner
        .badges
        .values()
        .filter(|b| b.revoked_at.is_some())
        .collect();
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|b| json!({ "jti": b.jti, "revokedAt": ids::rfc3339(b.revoked_at.unwrap_or(0)), "reason": b.reason }))
        .collect();
    let mut v = json!({ "revocations": page, "syncedAt": ids::rfc3339(now()) });
    if start.saturating_add(limit) < all.len() {
        v["nextCursor"] = json!((start + limit).to_string());
    }
    Json(v).into_response()
}

async fn events() -> Response {
    Json(json!({ "success": true })).into_response()
}

async fn jwks(State(st): State<AppState>) -> Response {
    let inner = st.lock();
    Json(json!({ "keys": [{
        "kty": "OKP", "crv": "Ed25519", "x": b64::url_encode(inner.ca.public().as_bytes()),
        "kid": inner.ca_kid, "alg": "EdDSA", "use": "sig",
    }]}))
    .into_response()
}

fn did_doc(did_: &str, x: Option<String>) -> Value {
    let mut vm = json!([]);
    if let Some(x) = x
        .and_then(|x| b64::url_decode(&x))
        .and_then(|b| crate::core::key::PublicKey::from_slice(&b))
    {
        let multibase = x.did_key().trim_start_matches("did:key:").to_string();
        vm = json!([{ "id": format!("{did_}#key-1"), "type": "Ed25519VerificationKey2020", "controller": did_, "publicKeyMultibase": multibase }]);
    }
    json!({
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/ed25519-2020/v1"],
        "id": did_, "verificationMethod": vm,
        "authentication": [format!("{did_}#key-1")], "assertionMethod": [format!("{did_}#key-1")],
    })
}

async fn agent_did_doc(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let a = st.lock().agents.get(&id).cloned();
    match a {
        Some(a) => Json(did_doc(
            &st.agent_did_web(&id),
            subject_x(a.public_key.as_deref(), a.did.as_deref()),
        ))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "agent not found"),
    }
}

async fn server_did_doc(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let s = st.lock().servers.get(&id).cloned();
    match s {
        Some(s) => Json(did_doc(
            &st.agent_did_web(&id),
            subject_x(s.public_key.as_deref(), s.did.as_deref()),
        ))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "server not found"),
    }
}

async fn add_fault(State(st): State<AppState>, Json(f): Json<Fault>) -> Response {
    st.lock().faults.push(f);
    Json(json!({ "ok": true })).into_response()
}

async fn clear_faults(State(st): State<AppState>) -> Response {
    st.lock().faults.clear();
    Json(json!({ "ok": true })).into_response()
}

async fn request_log(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let _ = headers;
    Json(json!({ "requests": st.lock().log })).into_response()
}
