//! The OS keyring as a store for private keys (and the registry API key): Secret
//! Service or kernel keyutils on Linux, Keychain on macOS, Credential Manager on
//! Windows, via keyring-core. Keyrings cannot always list entries, so a non-secret
//! index (`<home>/keyring-index.json`) records what we put there; the two are
//! reconciled on every listing. Every call runs off the caller's thread under a
//! timeout, so a hung daemon cannot freeze the tool.

use crate::core::identity::Kind;
use crate::store::fs::{self as sfs, Overwrite};
use keyring_core::{CredentialStore, Entry};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use zeroize::Zeroizing;

pub const SERVICE: &str = "capiscio-tui";
pub const API_KEY_USER: &str = "registry-api-key";
pub const INDEX_FILE: &str = "keyring-index.json";
pub const MARKER_FILE: &str = "keyring.json";
const TIMEOUT: Duration = Duration::from_secs(10);

/// Which store `--keyring` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    /// Secret Service when reachable, else kernel keyutils (Linux); the native store elsewhere
    Auto,
    SecretService,
    Keyutils,
    /// Never touch a keyring
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    SecretService,
    Keyutils,
    Keychain,
    CredentialManager,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
            Self::Keychain => "keychain",
            Self::CredentialManager => "credential-manager",
        }
    }

    /// Kernel keyutils keeps keys in memory only.
    pub fn volatile(self) -> bool {
        self == Self::Keyutils
    }

    fn searchable(self) -> bool {
        self == Self::SecretService
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyringError {
    #[error("no keyring available: {0}")]
    Unavailable(String),
    #[error("the keyring did not answer within {}s (is the keyring daemon hung or waiting for an unlock prompt?)", TIMEOUT.as_secs())]
    Timeout,
    #[error(
        "the keyring is locked; unlock it (e.g. log in to the desktop, or `gnome-keyring-daemon --unlock`) and try again"
    )]
    Locked,
    #[error(
        "the Secret Service has no default collection (no \"login\" keyring yet); create one (e.g. log in to the desktop once, or `seahorse`) or use --keyring keyutils"
    )]
    NoCollection,
    #[error("no keyring entry for {0}")]
    NoEntry(String),
    #[error("keyring: {0}")]
    Failed(String),
    #[error("cannot update {path}: {message}")]
    Index { path: String, message: String },
}

fn map_err(e: keyring_core::Error, what: &str) -> KeyringError {
    match e {
        keyring_core::Error::NoEntry => KeyringError::NoEntry(what.into()),
        keyring_core::Error::NoStorageAccess(inner)
        | keyring_core::Error::PlatformFailure(inner) => classify_store_error(inner.as_ref()),
        other => classify_text(other.to_string()),
    }
}

/// Secret Service failures are told apart by type: their texts ("result not returned
/// from SS API") mean nothing to a user.
fn classify_store_error(inner: &(dyn std::error::Error + Send + Sync + 'static)) -> KeyringError {
    #[cfg(target_os = "linux")]
    if let Some(ss) = inner.downcast_ref::<secret_service::Error>() {
        use secret_service::Error as Ss;
        return match ss {
            Ss::Locked | Ss::Prompt | Ss::PromptDisconnected => KeyringError::Locked,
            Ss::NoResult => KeyringError::NoCollection,
            Ss::Unavailable => {
                KeyringError::Unavailable("no Secret Service provider on the session bus".into())
            }
            other => KeyringError::Failed(other.to_string()),
        };
    }
    classify_text(inner.to_string())
}

fn classify_text(text: String) -> KeyringError {
    let lower = text.to_lowercase();
    // A locked store makes the daemon raise an unlock prompt, which a headless
    // session dismisses.
    if lower.contains("lock") || lower.contains("prompt") {
        KeyringError::Locked
    } else {
        KeyringError::Failed(text)
    }
}

/// Runs a blocking keyring call on its own thread; gives up after the timeout.
fn bounded<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| KeyringError::Failed(e.to_string()))?;
    rx.recv_timeout(TIMEOUT)
        .unwrap_or(Err(KeyringError::Timeout))
}

/// One identity in the keyring, as the index and the item attributes describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub kind: Kind,
    pub id: String,
    pub key_did: String,
    pub fingerprint: String,
    pub created: i64,
    pub store: StoreKind,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub version: u32,
    #[serde(default)]
    pub entries: Vec<IndexEntry>,
    /// A registry API key was stored with `login` (the key itself is only in the keyring).
    #[serde(default)]
    pub api_key_store: Option<StoreKind>,
}

pub fn index_path(home: &Path) -> PathBuf {
    home.join(INDEX_FILE)
}

pub fn read_index(home: &Path) -> Result<Option<Index>, KeyringError> {
    let path = index_path(home);
    match sfs::read_small_text(&path) {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(KeyringError::Index {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Ok(t) => serde_json::from_str(&t)
            .map(Some)
            .map_err(|e| KeyringError::Index {
                path: path.display().to_string(),
                message: crate::core::jwk::JsonFault::of(&e, &t).to_string(),
            }),
    }
}

pub fn write_index(home: &Path, index: &Index) -> Result<(), KeyringError> {
    let path = index_path(home);
    let fail = |message: String| KeyringError::Index {
        path: path.display().to_string(),
        message,
    };
    sfs::create_private_dir(home).map_err(|e| fail(e.to_string()))?;
    let text = serde_json::to_string_pretty(index).map_err(|e| fail(e.to_string()))?;
    sfs::write_atomic(&path, text.as_bytes(), 0o600, Overwrite::Allow)
        .map_err(|e| fail(e.to_string()))
}

/// The marker left in an identity directory whose private key moved to the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub store: StoreKind,
    pub service: String,
    pub user: String,
    pub fingerprint: String,
}

pub fn read_marker(dir: &Path) -> Option<Marker> {
    sfs::read_small_text(&dir.join(MARKER_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
}

pub fn user_for(kind: Kind, id: &str) -> String {
    format!("{}:{id}", kind.as_str())
}

/// An opened keyring store.
#[derive(Clone)]
pub struct Keyring {
    pub kind: StoreKind,
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring({})", self.kind.as_str())
    }
}

#[cfg(target_os = "linux")]
fn open_kind(kind: StoreKind) -> Result<Keyring, KeyringError> {
    let store: Arc<CredentialStore> = match kind {
        StoreKind::SecretService => zbus_secret_service_keyring_store::Store::new()
            .map_err(|e| map_err(e, "secret service"))?,
        StoreKind::Keyutils => {
            linux_keyutils_keyring_store::Store::new().map_err(|e| map_err(e, "keyutils"))?
        }
        other => {
            return Err(KeyringError::Unavailable(format!(
                "{} is not available on Linux",
                other.as_str()
            )));
        }
    };
    Ok(Keyring { kind, store })
}

#[cfg(target_os = "linux")]
fn secret_service_writable() -> Result<(), KeyringError> {
    use secret_service::{EncryptionType, blocking::SecretService};
    let wrap = |e: secret_service::Error| classify_store_error(&e);
    let ss = SecretService::connect(EncryptionType::Plain).map_err(wrap)?;
    let collection = ss.get_default_collection().map_err(wrap)?;
    if collection.is_locked().map_err(wrap)? {
        return Err(KeyringError::Locked);
    }
    Ok(())
}

#[cfg(target_os = "macos")]
fn open_kind(kind: StoreKind) -> Result<Keyring, KeyringError> {
    match kind {
        StoreKind::Keychain => Ok(Keyring {
            kind,
            store: apple_native_keyring_store::keychain::Store::new()
                .map_err(|e| map_err(e, "keychain"))?,
        }),
        other => Err(KeyringError::Unavailable(format!(
            "{} is not available on macOS",
            other.as_str()
        ))),
    }
}

#[cfg(target_os = "windows")]
fn open_kind(kind: StoreKind) -> Result<Keyring, KeyringError> {
    match kind {
        StoreKind::CredentialManager => Ok(Keyring {
            kind,
            store: windows_native_keyring_store::Store::new()
                .map_err(|e| map_err(e, "credential manager"))?,
        }),
        other => Err(KeyringError::Unavailable(format!(
            "{} is not available on Windows",
            other.as_str()
        ))),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn open_kind(kind: StoreKind) -> Result<Keyring, KeyringError> {
    Err(KeyringError::Unavailable(format!(
        "{} is not supported on this platform",
        kind.as_str()
    )))
}

/// Opens a store and proves it answers (a search or a probe entry), within the timeout.
fn open_checked(kind: StoreKind) -> Result<Keyring, KeyringError> {
    bounded(move || {
        let k = open_kind(kind)?;
        if kind.searchable() {
            let spec = HashMap::from([("service", SERVICE)]);
            Entry::search_in_store(&k.store, &spec).map_err(|e| map_err(e, "search"))?;
        } else {
            let probe =
                Entry::new_in_store(&k.store, SERVICE, "probe").map_err(|e| map_err(e, "probe"))?;
            probe
                .set_password("probe")
                .map_err(|e| map_err(e, "probe"))?;
            let _ = probe.delete_credential();
        }
        Ok(k)
    })
}

/// The store to use, or why there is none.
pub fn open(choice: Choice) -> Result<Keyring, KeyringError> {
    let order: &[StoreKind] = match choice {
        Choice::None => {
            return Err(KeyringError::Unavailable(
                "disabled with --keyring none".into(),
            ));
        }
        Choice::SecretService => &[StoreKind::SecretService],
        Choice::Keyutils => &[StoreKind::Keyutils],
        Choice::Auto if cfg!(target_os = "macos") => &[StoreKind::Keychain],
        Choice::Auto if cfg!(target_os = "windows") => &[StoreKind::CredentialManager],
        Choice::Auto => &[StoreKind::SecretService, StoreKind::Keyutils],
    };
    let mut reasons = Vec::new();
    for &kind in order {
        match open_checked(kind) {
            Ok(k) => return Ok(k),
            Err(e) => reasons.push(format!(
                "{}: {}",
                kind.as_str(),
                describe_open_error(kind, &e)
            )),
        }
    }
    Err(KeyringError::Unavailable(reasons.join("; ")))
}

fn describe_open_error(kind: StoreKind, e: &KeyringError) -> String {
    let text = e.to_string();
    if kind == StoreKind::SecretService
        && (text.contains("DBUS")
            || text.contains("D-Bus")
            || text.contains("dbus")
            || text.contains("No such file")
            || text.contains("ServiceUnknown"))
    {
        format!("no Secret Service on the session bus ({text})")
    } else {
        text
    }
}

impl Keyring {
    /// Whether a new secret could be stored now, asked without raising an unlock
    /// prompt: searches succeed on a locked or missing default collection, writes do not.
    pub fn writable(&self) -> Result<(), KeyringError> {
        match self.kind {
            #[cfg(target_os = "linux")]
            // A daemon busy with (or just failing) an unlock prompt can drop one call
            // ("NoReply"); ask once more before calling the store unusable.
            StoreKind::SecretService => bounded(|| {
                secret_service_writable().or_else(|e| match e {
                    KeyringError::Locked => Err(e),
                    _ => {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        secret_service_writable()
                    }
                })
            }),
            _ => Ok(()),
        }
    }

    fn entry(&self, user: &str) -> Result<Entry, KeyringError> {
        Entry::new_in_store(&self.store, SERVICE, user).map_err(|e| map_err(e, user))
    }

    /// Stores a secret, then reads it back: only a verified write counts.
    pub fn put(
        &self,
        user: &str,
        secret: &str,
        attributes: &[(&str, String)],
    ) -> Result<(), KeyringError> {
        let me = self.clone();
        let user = user.to_string();
        let secret = Zeroizing::new(secret.to_string());
        let attrs: Vec<(String, String)> = attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        bounded(move || {
            let e = me.entry(&user)?;
            e.set_password(&secret).map_err(|err| map_err(err, &user))?;
            if me.kind.searchable() && !attrs.is_empty() {
                let map: HashMap<&str, &str> = attrs
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                e.update_attributes(&map)
                    .map_err(|err| map_err(err, &user))?;
            }
            let back = Zeroizing::new(e.get_password().map_err(|err| map_err(err, &user))?);
            if back.as_str() != secret.as_str() {
                return Err(KeyringError::Failed(format!(
                    "read-back of {user} did not match what was written"
                )));
            }
            Ok(())
        })
    }

    pub fn get(&self, user: &str) -> Result<Zeroizing<String>, KeyringError> {
        let me = self.clone();
        let user = user.to_string();
        bounded(move || {
            let e = me.entry(&user)?;
            e.get_password()
                .map(Zeroizing::new)
                .map_err(|err| map_err(err, &user))
        })
    }

    pub fn delete(&self, user: &str) -> Result<(), KeyringError> {
        let me = self.clone();
        let user = user.to_string();
        bounded(move || {
            let e = me.entry(&user)?;
            e.delete_credential().map_err(|err| map_err(err, &user))
        })
    }

    /// Entries found by attribute search (Secret Service only): `(user, attributes)`.
    pub fn search(&self) -> Result<Option<Vec<HashMap<String, String>>>, KeyringError> {
        if !self.kind.searchable() {
            return Ok(None);
        }
        let me = self.clone();
        bounded(move || {
            let spec = HashMap::from([("service", SERVICE)]);
            let found =
                Entry::search_in_store(&me.store, &spec).map_err(|e| map_err(e, "search"))?;
            Ok(Some(
                found
                    .iter()
                    .filter_map(|e| e.get_attributes().ok())
                    .collect(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(e)
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn secret_service_errors_become_reasons_a_user_can_act_on() {
        use secret_service::Error as Ss;
        let cases = [
            (Ss::NoResult, KeyringError::NoCollection),
            (Ss::Locked, KeyringError::Locked),
            (Ss::Prompt, KeyringError::Locked),
            (Ss::PromptDisconnected, KeyringError::Locked),
        ];
        for (ss, want) in cases {
            let got = map_err(keyring_core::Error::NoStorageAccess(boxed(ss)), "x");
            assert_eq!(got, want);
        }
        let got = map_err(
            keyring_core::Error::PlatformFailure(boxed(Ss::Unavailable)),
            "x",
        );
        assert!(matches!(got, KeyringError::Unavailable(_)), "{got:?}");
        assert!(
            KeyringError::NoCollection
                .to_string()
                .contains("no default collection")
        );
    }

    #[test]
    fn other_stores_are_judged_by_their_text() {
        let locked = std::io::Error::other("The user name or passphrase is locked");
        assert_eq!(
            map_err(keyring_core::Error::NoStorageAccess(boxed(locked)), "x"),
            KeyringError::Locked
        );
        let other = std::io::Error::other("disk on fire");
        assert_eq!(
            map_err(keyring_core::Error::PlatformFailure(boxed(other)), "x"),
            KeyringError::Failed("disk on fire".into())
        );
        assert_eq!(
            map_err(keyring_core::Error::NoEntry, "agent 1"),
            KeyringError::NoEntry("agent 1".into())
        );
    }
}
