//! HTTP client for the CapiscIO registry. Correct where the contract is clear, tolerant
//! where it is not (see `model`), and careful with the API key: it is sent only as
//! `X-Capiscio-Registry-Key`, only to the configured registry origin, never across a
//! redirect to another host, and never printed.

use crate::core::badge::IssuerKey;
use crate::registry::model::{
    self, AgentRecord, BadgeStatus, EntityStatus, IssuedBadge, ServerRecord,
};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{Mutex, Semaphore};
use zeroize::Zeroizing;

pub const DEFAULT_URL: &str = "https://registry.capisc.io";
pub const API_KEY_HEADER: &str = "X-Capiscio-Registry-Key";
pub const MAX_BODY: usize = 1024 * 1024;
pub const JWKS_TTL: Duration = Duration::from_secs(300);
/// How many pages of `GET /v1/revocations` are read before the list counts as incomplete.
pub const MAX_REVOCATION_PAGES: usize = 50;

/// Where the API key came from, for the status bar ("key from env").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Env,
    Keyring,
    Flag,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Env => "env",
            Self::Keyring => "keyring",
            Self::Flag => "flag",
        }
    }
}

/// The registry API key. Wiped on drop; `Debug` and `Display` show only a masked form.
#[derive(Clone)]
pub struct ApiKey {
    value: Zeroizing<String>,
    pub source: KeySource,
}

impl ApiKey {
    pub fn new(value: &str, source: KeySource) -> Self {
        Self {
            value: Zeroizing::new(value.trim().to_string()),
            source,
        }
    }

    /// `sk_t…` plus the length: enough to tell keys apart, useless to an attacker.
    pub fn masked(&self) -> String {
        let head: String = self.value.chars().take(4).collect();
        format!("{head}…({} chars)", self.value.chars().count())
    }

    fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}, from {:?})", self.masked(), self.source)
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RegistryError {
    #[error("registry URL `{0}` is not a valid URL")]
    InvalidUrl(String),
    #[error(
        "registry URL `{0}` must use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
    )]
    Insecure(String),
    #[error("timeout")]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error(
        "the registry redirected to another host ({0}); not following, so the API key stays with the registry"
    )]
    Redirect(String),
    #[error("response body over {} KiB", MAX_BODY / 1024)]
    TooLarge,
    #[error("invalid JSON from the registry: {0}")]
    BadJson(String),
    #[error("unexpected reply shape from {0}")]
    Shape(String),
    /// A paged list that could not be read to its end: a partial answer is no answer.
    #[error("incomplete {0}")]
    Incomplete(String),
    #[error("API key rejected (HTTP {0})")]
    Unauthorized(u16),
    /// 403: the key was read but this is not allowed — the registry says why (a disabled
    /// agent, a key without that permission); not an "API key rejected".
    #[error("refused by the registry (HTTP 403): {}", .0.as_deref().unwrap_or("no reason given; the API key may lack the permission"))]
    Forbidden(Option<String>),
    #[error("no API key: set CAPISCIO_API_KEY")]
    NoApiKey,
    #[error("HTTP {code}{}", .message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Status { code: u16, message: Option<String> },
    #[error("{0}")]
    Other(String),
}

impl RegistryError {
    /// Short reason for a `registry-error (<reason>)` state.
    pub fn reason(&self) -> String {
        match self {
            Self::Timeout => "timeout".into(),
            Self::Connect(_) => "unreachable".into(),
            Self::Redirect(_) => "cross-host redirect refused".into(),
            Self::TooLarge => "reply too large".into(),
            Self::BadJson(_) | Self::Shape(_) => "malformed reply".into(),
            Self::Incomplete(what) => format!("incomplete {what}"),
            Self::Unauthorized(c) => format!("HTTP {c}"),
            Self::Forbidden(_) => "HTTP 403".into(),
            Self::NoApiKey => "no API key".into(),
            Self::Status { code, .. } => format!("HTTP {code}"),
            other => other.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: String,
    pub api_key: Option<ApiKey>,
    pub concurrency: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub retries: u32,
}

impl ClientConfig {
    pub fn new(base_url: &str, api_key: Option<ApiKey>) -> Self {
        Self {
            base_url: base_url.to_string(),
            api_key,
            concurrency: 16,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
            retries: 2,
        }
    }
}

/// How a write request was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Done(Value),
    /// 409: already set. The SDKs treat this as success; callers explain what it means.
    AlreadySet(Option<String>),
    NotFound,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    key: Option<ApiKey>,
    in_flight: Arc<Semaphore>,
    retries: u32,
    jwks: Mutex<Option<(Instant, Arc<Vec<IssuerKey>>)>>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base", &self.base.as_str())
            .field("key", &self.key)
            .finish()
    }
}

pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses and vets a registry base URL.
pub fn parse_base(url: &str) -> Result<Url, RegistryError> {
    let mut u = Url::parse(url.trim()).map_err(|_| RegistryError::InvalidUrl(url.to_string()))?;
    let host = u
        .host_str()
        .ok_or_else(|| RegistryError::InvalidUrl(url.to_string()))?
        .to_string();
    match u.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        "http" => return Err(RegistryError::Insecure(url.to_string())),
        _ => return Err(RegistryError::InvalidUrl(url.to_string())),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(RegistryError::InvalidUrl(
            "credentials in the URL are not allowed".into(),
        ));
    }
    u.set_query(None);
    u.set_fragment(None);
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    // Another component may have installed one already; either way one is in place.
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl RegistryClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, RegistryError> {
        install_crypto_provider();
        let base = parse_base(&cfg.base_url)?;
        let origin = (
            base.scheme().to_string(),
            base.host_str().unwrap_or_default().to_string(),
            base.port_or_known_default(),
        );
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let u = attempt.url();
            let same = u.scheme() == origin.0
                && u.host_str() == Some(origin.1.as_str())
                && u.port_or_known_default() == origin.2;
            if !same {
                let to = u.host_str().unwrap_or("?").to_string();
                attempt.error(RedirectRefused(to))
            } else if attempt.previous().len() >= 5 {
                attempt.error(RedirectRefused("too many redirects".into()))
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.timeout)
            .redirect(policy)
            .user_agent(concat!("capiscio-tui/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Other(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            key: cfg.api_key,
            in_flight: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
            retries: cfg.retries,
            jwks: Mutex::new(None),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    pub fn host(&self) -> String {
        match self.base.port() {
            Some(p) => format!("{}:{p}", self.base.host_str().unwrap_or_default()),
            None => self.base.host_str().unwrap_or_default().to_string(),
        }
    }

    pub fn api_key(&self) -> Option<&ApiKey> {
        self.key.as_ref()
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut u = self.base.clone();
        if let Ok(mut p) = u.path_segments_mut() {
            p.pop_if_empty();
            p.extend(segments);
        }
        u
    }

    async fn request(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        with_key: bool,
    ) -> Result<Reply, RegistryError> {
        let key = if with_key {
            Some(self.key.as_ref().ok_or(RegistryError::NoApiKey)?)
        } else {
            None
        };
        let _permit = self
            .in_flight
            .acquire()
            .await
            .map_err(|_| RegistryError::Other("client closed".into()))?;
        let retries = if method == Method::GET {
            self.retries
        } else {
            0
        };
        let mut url = self.url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut attempt = 0;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header("Accept", "application/json");
            if let Some(k) = key {
                req = req.header(API_KEY_HEADER, k.expose());
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let retryable = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let transient = matches!(status.as_u16(), 429 | 502 | 503 | 504);
                    if !(transient && attempt < retries) {
                        return read_reply(resp).await;
                    }
                    true
                }
                Err(e) => {
                    let err = map_error(&e);
                    if !(matches!(err, RegistryError::Connect(_)) && attempt < retries) {
                        return Err(err);
                    }
                    true
                }
            };
            debug_assert!(retryable);
            attempt += 1;
            tokio::time::sleep(Duration::from_millis(100 * 3u64.pow(attempt - 1))).await;
        }
    }

    async fn get(&self, segments: &[&str], with_key: bool) -> Result<Reply, RegistryError> {
        self.request(Method::GET, segments, &[], None, with_key)
            .await
    }

    /// `GET /v1/sdk/agents/{id}` (API key). `None` when the registry does not know the agent.
    pub async fn agent(&self, id: &str) -> Result<Option<AgentRecord>, RegistryError> {
        let r = self.get(&["v1", "sdk", "agents", id], true).await?;
        // A 200 whose body names no agent (`{}`, `{"data":{}}`) is no answer: read as an
        // active agent it would hide a disabled one.
        match ok_or_none(r)?.map(|b| model::agent_record(&b)) {
            Some(a) if a.id.is_none() && a.did.is_none() && a.status.is_none() => {
                Err(RegistryError::Shape("agent record".into()))
            }
            other => Ok(other),
        }
    }

    /// `GET /v1/sdk/agents` (API key): every agent of the key's organisation, as the
    /// SDK lists them to find an agent by name.
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, RegistryError> {
        let r = self.get(&["v1", "sdk", "agents"], true).await?;
        Ok(model::agent_list(&success(r)?))
    }

    /// `GET /v1/agents/{id}/status` (public).
    pub async fn agent_status(&self, id: &str) -> Result<Option<EntityStatus>, RegistryError> {
        let r = self.get(&["v1", "agents", id, "status"], false).await?;
        shaped(ok_or_none(r)?, "agent status", model::entity_status)
    }

    /// `GET /v1/servers/{id}/status` (public; shape undocumented, read like the agent one).
    pub async fn server_status(&self, id: &str) -> Result<Option<EntityStatus>, RegistryError> {
        let r = self.get(&["v1", "servers", id, "status"], false).await?;
        shaped(ok_or_none(r)?, "server status", model::entity_status)
    }

    /// `GET /v1/sdk/servers/{id}` (API key).
    pub async fn server(&self, id: &str) -> Result<Option<ServerRecord>, RegistryError> {
        let r = self.get(&["v1", "sdk", "servers", id], true).await?;
        match ok_or_none(r)?.map(|b| model::server_record(&b)) {
            Some(s) if s.id.is_none() && s.did.is_none() && s.status.is_none() => {
                Err(RegistryError::Shape("server record".into()))
            }
            other => Ok(other),
        }
    }

    /// `GET /v1/badges/{jti}/status` (public).
    pub async fn badge_status(&self, jti: &str) -> Result<Option<BadgeStatus>, RegistryError> {
        let r = self.get(&["v1", "badges", jti, "status"], false).await?;
        shaped(ok_or_none(r)?, "badge status", model::badge_status)
    }

    /// Every revoked jti, from the paged `GET /v1/revocations` list. Fails closed: a list
    /// that does not end within [`MAX_REVOCATION_PAGES`] pages, repeats a cursor, or has a
    /// failed or malformed page is an error, never the partial set.
    pub async fn revoked_jtis(&self) -> Result<HashSet<String>, RegistryError> {
        let mut all = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_REVOCATION_PAGES {
            let mut q = vec![("since", "1970-01-01T00:00:00Z"), ("limit", "1000")];
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let r = self
                .request(Method::GET, &["v1", "revocations"], &q, None, false)
                .await?;
            let body = success(r)?;
            let (jtis, next) = model::revocations(&body)
                .ok_or_else(|| RegistryError::Shape("revocations".into()))?;
            all.extend(jtis);
            match next {
                None => return Ok(all),
                Some(n) if Some(&n) == cursor.as_ref() => {
                    return Err(RegistryError::Incomplete(
                        "revocation list (the registry repeated its page cursor)".into(),
                    ));
                }
                Some(n) => cursor = Some(n),
            }
        }
        Err(RegistryError::Incomplete(format!(
            "revocation list (more than {MAX_REVOCATION_PAGES} pages)"
        )))
    }

    /// The registry's badge-signing keys, cached for five minutes.
    pub async fn jwks(&self) -> Result<Arc<Vec<IssuerKey>>, RegistryError> {
        let mut cache = self.jwks.lock().await;
        if let Some((at, keys)) = cache.as_ref()
            && at.elapsed() < JWKS_TTL
        {
            return Ok(keys.clone());
        }
        let r = self.get(&[".well-known", "jwks.json"], false).await?;
        // A small-order key verifies forged signatures under a lax check; never trust one.
        let keys: Vec<IssuerKey> = model::jwks(&success(r)?)
            .into_iter()
            .filter(|k| !k.key.is_weak())
            .map(|k| IssuerKey {
                kid: k.kid,
                key: k.key,
            })
            .collect();
        if keys.is_empty() {
            return Err(RegistryError::Shape("jwks (no Ed25519 keys)".into()));
        }
        let keys = Arc::new(keys);
        *cache = Some((Instant::now(), keys.clone()));
        Ok(keys)
    }

    /// `PATCH /v1/sdk/agents/{id}/identity` with `{did, publicKey}` as the SDK sends it.
    pub async fn register_agent_identity(
        &self,
        id: &str,
        did: &str,
        public_jwk: &str,
    ) -> Result<WriteOutcome, RegistryError> {
        let body = serde_json::json!({ "did": did, "publicKey": public_jwk });
        let r = self
            .request(
                Method::PATCH,
                &["v1", "sdk", "agents", id, "identity"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        write_outcome(r)
    }

    /// `POST /v1/sdk/agents` with the SDK's body; returns the new agent record.
    pub async fn create_agent(&self, name: &str) -> Result<AgentRecord, RegistryError> {
        let body = serde_json::json!({ "name": name, "protocol": "a2a" });
        let r = self
            .request(
                Method::POST,
                &["v1", "sdk", "agents"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        Ok(model::agent_record(&success(r)?))
    }

    /// `PUT /v1/sdk/servers/{id}` with `{did, publicKey: <SPKI PEM>}`.
    pub async fn put_server(
        &self,
        id: &str,
        did: &str,
        public_pem: &str,
    ) -> Result<WriteOutcome, RegistryError> {
        let body = serde_json::json!({ "did": did, "publicKey": public_pem });
        let r = self
            .request(
                Method::PUT,
                &["v1", "sdk", "servers", id],
                &[],
                Some(&body),
                true,
            )
            .await?;
        write_outcome(r)
    }

    /// `POST /v1/sdk/servers` (what the MCP SDK does when the PUT says 404).
    pub async fn create_server(
        &self,
        name: &str,
        did: &str,
        public_pem: &str,
    ) -> Result<ServerRecord, RegistryError> {
        let body = serde_json::json!({ "name": name, "did": did, "publicKey": public_pem });
        let r = self
            .request(
                Method::POST,
                &["v1", "sdk", "servers"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        Ok(model::server_record(&success(r)?))
    }

    /// IAL-0 agent badge: `POST /v1/agents/{id}/badge` with the body capiscio-core sends.
    pub async fn request_agent_badge(&self, id: &str) -> Result<IssuedBadge, RegistryError> {
        let body = serde_json::json!({ "duration": "5m0s" });
        let r = self
            .request(
                Method::POST,
                &["v1", "agents", id, "badge"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        model::issued_badge(&success(r)?)
            .ok_or_else(|| RegistryError::Shape("badge issuance".into()))
    }

    /// `POST /v1/sdk/servers/{id}/badge` with `{domain}`.
    pub async fn request_server_badge(
        &self,
        id: &str,
        domain: Option<&str>,
    ) -> Result<IssuedBadge, RegistryError> {
        let body = match domain {
            Some(d) => serde_json::json!({ "domain": d }),
            None => serde_json::json!({}),
        };
        let r = self
            .request(
                Method::POST,
                &["v1", "sdk", "servers", id, "badge"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        model::issued_badge(&success(r)?)
            .ok_or_else(|| RegistryError::Shape("server badge issuance".into()))
    }

    /// `POST /v1/badges/{jti}/revoke` (admin key).
    pub async fn revoke_badge(&self, jti: &str, reason: &str) -> Result<(), RegistryError> {
        let body = serde_json::json!({ "reason": reason });
        let r = self
            .request(
                Method::POST,
                &["v1", "badges", jti, "revoke"],
                &[],
                Some(&body),
                true,
            )
            .await?;
        success(r).map(drop)
    }
}

#[derive(Debug)]
struct RedirectRefused(String);

impl fmt::Display for RedirectRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redirect to {} refused", self.0)
    }
}

impl std::error::Error for RedirectRefused {}

fn map_error(e: &reqwest::Error) -> RegistryError {
    if e.is_redirect() {
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(e);
        while let Some(s) = src {
            if let Some(r) = s.downcast_ref::<RedirectRefused>() {
                return RegistryError::Redirect(r.0.clone());
            }
            src = s.source();
        }
        return RegistryError::Redirect("?".into());
    }
    if e.is_timeout() {
        return RegistryError::Timeout;
    }
    if e.is_connect() {
        return RegistryError::Connect(root_cause(e));
    }
    RegistryError::Other(root_cause(e))
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

async fn read_reply(mut resp: reqwest::Response) -> Result<Reply, RegistryError> {
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(RegistryError::TooLarge);
    }
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if buf.len() + chunk.len() > MAX_BODY {
                    return Err(RegistryError::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(map_error(&e)),
        }
    }
    let body = if buf.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(&buf) {
            Ok(v) => v,
            Err(e) if status.is_success() => return Err(RegistryError::BadJson(e.to_string())),
            // An HTML error page from a proxy: the status code says enough.
            Err(_) => Value::Null,
        }
    };
    Ok(Reply { status, body })
}

fn error_for(r: &Reply) -> RegistryError {
    match r.status.as_u16() {
        401 => RegistryError::Unauthorized(401),
        403 => RegistryError::Forbidden(model::error_message(&r.body)),
        code => RegistryError::Status {
            code,
            message: model::error_message(&r.body),
        },
    }
}

fn success(r: Reply) -> Result<Value, RegistryError> {
    if r.status.is_success() {
        Ok(r.body)
    } else {
        Err(error_for(&r))
    }
}

fn ok_or_none(r: Reply) -> Result<Option<Value>, RegistryError> {
    if r.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    success(r).map(Some)
}

fn shaped<T>(
    body: Option<Value>,
    what: &str,
    parse: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, RegistryError> {
    match body {
        None => Ok(None),
        Some(b) => parse(&b)
            .map(Some)
            .ok_or_else(|| RegistryError::Shape(what.into())),
    }
}

fn write_outcome(r: Reply) -> Result<WriteOutcome, RegistryError> {
    match r.status.as_u16() {
        404 => Ok(WriteOutcome::NotFound),
        409 => Ok(WriteOutcome::AlreadySet(model::error_message(&r.body))),
        _ => success(r).map(WriteOutcome::Done),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(parse_base("https://registry.capisc.io").is_ok());
        assert!(parse_base("http://127.0.0.1:8080").is_ok());
        assert!(parse_base("http://localhost:1").is_ok());
        assert!(parse_base("http://[::1]:1").is_ok());
        assert_eq!(
            parse_base("http://example.com"),
            Err(RegistryError::Insecure("http://example.com".into()))
        );
        assert!(matches!(
            parse_base("ftp://x"),
            Err(RegistryError::InvalidUrl(_))
        ));
        assert!(matches!(
            parse_base("not a url"),
            Err(RegistryError::InvalidUrl(_))
        ));
        assert!(parse_base("https://u:p@x.io").is_err());
        assert_eq!(
            parse_base("https://x.io/api").unwrap().as_str(),
            "https://x.io/api/"
        );
    }

    #[test]
    fn key_is_masked() {
        let k = ApiKey::new("sk_test_0123456789abcdef", KeySource::Env);
        assert_eq!(k.masked(), "sk_t…(24 chars)");
        assert!(!format!("{k:?}").contains("0123456789"));
    }

    #[test]
    fn paths_are_escaped() {
        let c = RegistryClient::new(ClientConfig::new("http://127.0.0.1:1/base", None)).unwrap();
        assert_eq!(
            c.url(&["v1", "badges", "a/b?c", "status"]).as_str(),
            "http://127.0.0.1:1/base/v1/badges/a%2Fb%3Fc/status"
        );
    }
}
