//! Everything a service function needs from the outside world, captured once at the
//! edge so the functions themselves are deterministic under test.

use crate::registry::client::{
    ApiKey, ClientConfig, DEFAULT_URL, KeySource, RegistryClient, RegistryError,
};
use crate::store::env::EnvSnapshot;
use crate::store::scan::{self, Scan, ScanInput};
use std::path::PathBuf;
use std::time::Duration;

pub const SERVER_URL_VAR: &str = "CAPISCIO_SERVER_URL";
pub const API_KEY_VAR: &str = "CAPISCIO_API_KEY";

/// Which registry to talk to and how.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    pub url: String,
    /// Set by `--server-url` or `CAPISCIO_SERVER_URL` rather than defaulted.
    pub explicit: bool,
    pub api_key: Option<ApiKey>,
    pub timeout: Duration,
    pub concurrency: usize,
}

impl RegistrySettings {
    /// Flag, then `CAPISCIO_SERVER_URL`, then the production registry; key from the env.
    pub fn resolve(flag: Option<&str>, env: &EnvSnapshot) -> Self {
        let (url, explicit) = match flag.or(env.get(SERVER_URL_VAR)) {
            Some(u) => (u.to_string(), true),
            None => (DEFAULT_URL.to_string(), false),
        };
        Self {
            url,
            explicit,
            api_key: env.get(API_KEY_VAR).map(|k| ApiKey::new(k, KeySource::Env)),
            timeout: Duration::from_secs(15),
            concurrency: 16,
        }
    }

    pub fn client(&self) -> Result<RegistryClient, RegistryError> {
        let mut cfg = ClientConfig::new(&self.url, self.api_key.clone());
        cfg.timeout = self.timeout;
        cfg.connect_timeout = self.timeout.min(Duration::from_secs(5));
        cfg.concurrency = self.concurrency;
        RegistryClient::new(cfg)
    }

    /// "registry.capisc.io (key from env)" for headers and status bars; never the key.
    pub fn describe(&self) -> String {
        let host = crate::registry::client::parse_base(&self.url)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| self.url.clone());
        match &self.api_key {
            Some(k) => format!("{host} (API key {} from {})", k.masked(), k.source.as_str()),
            None => format!("{host} (no API key)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Context {
    /// The CapiscIO home (`~/.capiscio` by default).
    pub home: PathBuf,
    pub env: EnvSnapshot,
    pub cwd: PathBuf,
    /// Unix seconds.
    pub now: i64,
    pub offline: bool,
    pub registry: RegistrySettings,
    pub keyring: crate::store::keyring::Choice,
    /// `--keyring` was given: consult the keyring even without an index.
    pub keyring_explicit: bool,
    /// Seconds before copied secrets are cleared from the clipboard (0 = never).
    pub clear_after: u64,
}

impl Context {
    /// `list` and `show` ask the registry only when one is configured on purpose (a URL
    /// or an API key), so that plain use never leaves the machine unasked.
    pub fn online_by_default(&self) -> bool {
        !self.offline && (self.registry.explicit || self.registry.api_key.is_some())
    }

    pub fn scan(&self) -> Scan {
        let mut s = scan::scan(&ScanInput {
            home: &self.home,
            env: &self.env,
            cwd: &self.cwd,
            now: self.now,
        });
        if self.uses_keyring() {
            let kr = self.keyring();
            scan::merge_keyring(&mut s, &self.home, kr.as_ref());
        }
        s
    }

    /// The keyring is consulted only when something was put there (the index exists)
    /// or it was asked for, so plain runs never wait on a keyring daemon.
    pub fn uses_keyring(&self) -> bool {
        use crate::store::keyring::{Choice, index_path};
        self.keyring != Choice::None && (self.keyring_explicit || index_path(&self.home).exists())
    }

    pub fn keyring(
        &self,
    ) -> Result<crate::store::keyring::Keyring, crate::store::keyring::KeyringError> {
        crate::store::keyring::open(self.keyring)
    }
}
