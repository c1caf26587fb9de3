//! The identity model shared by `list`, `show`, `doctor`, `--json` and the TUI.

use crate::core::badge::{Badge, BadgeState};
use serde::Serialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Agent,
    McpServer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::McpServer => "mcp-server",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::McpServer => "MCP server",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Disk,
    Keyring,
    Env,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disk => "disk",
            Self::Keyring => "keyring",
            Self::Env => "env",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Warning,
    Error,
}

/// Stable problem codes: `doctor`, `list --json` and the TUI all speak these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Code {
    Unreadable,
    MalformedKey,
    KeyMismatch,
    KidMismatch,
    MissingPrivateKey,
    MissingPublicJwk,
    MissingPublicPem,
    PublicMismatch,
    PemEscaped,
    Pkcs8V2,
    DidTxtMismatch,
    InsecurePermissions,
    SymlinkedKey,
    EnvShadowsDisk,
    EnvInvalid,
    EnvTargetUnknown,
    BadgeMalformed,
    BadgeExpired,
    BadgeNotYetValid,
    BadgeSignatureInvalid,
    BadgeSubjectMismatch,
    BadgeRevoked,
    AgentDisabled,
    RegistryDidMismatch,
    RegistryError,
    NotRegistered,
    RotationInterrupted,
    RotationPending,
    RetiringKeyPastGrace,
    KeyringOnly,
    KeyringEntryMissing,
    KeyringIndexStale,
    KeyringUnavailable,
    NotDiscoverable,
    TildeInKeyDir,
    ScanFailed,
    Leftover,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::MalformedKey => "malformed-key",
            Self::KeyMismatch => "key-mismatch",
            Self::KidMismatch => "kid-mismatch",
            Self::MissingPrivateKey => "missing-private-key",
            Self::MissingPublicJwk => "missing-public-jwk",
            Self::MissingPublicPem => "missing-public-pem",
            Self::PublicMismatch => "public-mismatch",
            Self::PemEscaped => "pem-escaped",
            Self::Pkcs8V2 => "pkcs8-v2",
            Self::DidTxtMismatch => "did-txt-mismatch",
            Self::InsecurePermissions => "insecure-permissions",
            Self::SymlinkedKey => "symlinked-key",
            Self::EnvShadowsDisk => "env-shadows-disk",
            Self::EnvInvalid => "env-invalid",
            Self::EnvTargetUnknown => "env-target-unknown",
            Self::BadgeMalformed => "badge-malformed",
            Self::BadgeExpired => "badge-expired",
            Self::BadgeNotYetValid => "badge-not-yet-valid",
            Self::BadgeSignatureInvalid => "badge-signature-invalid",
            Self::BadgeSubjectMismatch => "badge-subject-mismatch",
            Self::BadgeRevoked => "badge-revoked",
            Self::AgentDisabled => "agent-disabled",
            Self::RegistryDidMismatch => "registry-did-mismatch",
            Self::RegistryError => "registry-error",
            Self::NotRegistered => "not-registered",
            Self::RotationInterrupted => "rotation-interrupted",
            Self::RotationPending => "rotation-pending",
            Self::RetiringKeyPastGrace => "retiring-key-past-grace",
            Self::KeyringOnly => "keyring-only",
            Self::KeyringEntryMissing => "keyring-entry-missing",
            Self::KeyringIndexStale => "keyring-index-stale",
            Self::KeyringUnavailable => "keyring-unavailable",
            Self::NotDiscoverable => "not-discoverable",
            Self::TildeInKeyDir => "tilde-in-key-dir",
            Self::ScanFailed => "scan-failed",
            Self::Leftover => "leftover",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub code: Code,
    /// What is wrong, naming the file.
    pub message: String,
    /// What to do about it (a command where we know one).
    pub fix: String,
}

impl Problem {
    pub fn error(code: Code, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn warning(code: Code, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            code,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// A badge as shown to users: claims plus its offline state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadgeInfo {
    pub jti: String,
    pub iss: String,
    pub sub: String,
    pub trust_level: Option<String>,
    pub ial: Option<String>,
    pub issued_at: i64,
    pub expires_at: i64,
    pub state: BadgeState,
    /// Why the state is what it is (e.g. `offline`, `revocation check: timeout`).
    pub reason: Option<String>,
}

impl BadgeInfo {
    /// ` · level 1 · IAL-0`, for one-line summaries.
    pub fn level_ial(&self) -> String {
        let level = self
            .trust_level
            .as_deref()
            .map(|l| format!(" · level {l}"))
            .unwrap_or_default();
        let ial = self
            .ial
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|l| format!(" · IAL-{l}"))
            .unwrap_or_default();
        format!("{level}{ial}")
    }

    pub fn from_badge(b: &Badge, state: BadgeState) -> Self {
        Self {
            jti: b.jti.clone(),
            iss: b.iss.clone(),
            sub: b.sub.clone(),
            trust_level: b.trust_level.clone(),
            ial: b.ial.clone(),
            issued_at: b.iat,
            expires_at: b.exp,
            state,
            reason: None,
        }
    }
}

/// A file that belongs to an identity, with its permission bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub path: String,
    /// Octal permission bits, e.g. "0600"; absent for env identities.
    pub mode: Option<String>,
    pub symlink: bool,
}

/// The "Files" line `show` prints and the details pane draws: `private.jwk 0600 · …`.
pub fn files_line(files: &[FileInfo]) -> String {
    files
        .iter()
        .map(|f| {
            format!(
                "{}{}{}",
                f.name,
                f.mode
                    .as_deref()
                    .map(|m| format!(" {m}"))
                    .unwrap_or_default(),
                if f.symlink { " (symlink)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Everything we know about one identity. Holds no private key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    pub id: String,
    pub kind: Kind,
    pub source: Source,
    /// Directory, or `env:<VAR>` for injected keys.
    pub location: String,
    pub name: Option<String>,
    /// The id the registry knows this identity by, when it differs from `id`: an MCP
    /// server the registry created under a new id (`.resolved_server_id`) keeps its
    /// folder name as `id`.
    pub registry_id: Option<String>,
    /// The identity DID the SDK presents (did:web when known, else the key DID).
    pub did: Option<String>,
    /// did:key derived from the key itself.
    pub key_did: Option<String>,
    pub fingerprint: Option<String>,
    /// The SDK would use this key for this identity.
    pub effective: bool,
    pub badge: Option<BadgeInfo>,
    pub problems: Vec<Problem>,
    pub files: Vec<FileInfo>,
    /// For env identities: the disk identity the SDK would overwrite. For disk
    /// identities: the env var that overrides them.
    pub shadows: Option<String>,
    pub shadowed_by: Option<String>,
    /// What the registry said; `None` when it was not asked (offline).
    pub registry: Option<RegistryInfo>,
}

/// The registry's view of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegistryInfo {
    pub url: String,
    /// `Some(false)`: the registry does not know this id. `None`: not asked (no API key) or failed.
    pub registered: Option<bool>,
    pub did: Option<String>,
    pub name: Option<String>,
    /// `active`, `inactive`, `disabled`, `suspended`, … as the registry says.
    pub status: Option<String>,
    /// Why the registry could not be asked, when it could not.
    pub error: Option<String>,
}

impl Identity {
    /// An identity with nothing known about it yet but where it was found.
    pub fn new(
        id: impl Into<String>,
        kind: Kind,
        source: Source,
        location: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            kind,
            source,
            location: location.into(),
            name: None,
            registry_id: None,
            did: None,
            key_did: None,
            fingerprint: None,
            effective: false,
            badge: None,
            problems: Vec::new(),
            files: Vec::new(),
            shadows: None,
            shadowed_by: None,
            registry: None,
        }
    }

    pub fn worst(&self) -> Option<Severity> {
        self.problems.iter().map(|p| p.severity).max()
    }

    /// "Needs attention": at least one problem of severity warning or error. The one
    /// definition `list`, `status`, `doctor` and the UI header count by ([`attention`]).
    pub fn needs_attention(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p.severity, Severity::Warning | Severity::Error))
    }

    pub fn has_code(&self, code: Code) -> bool {
        self.problems.iter().any(|p| p.code == code)
    }

    /// Every string a user may name this identity by: id, registry id, DIDs,
    /// fingerprint and every name it has (agent card, registry record).
    pub fn handles(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.registry_id.as_deref())
            .chain(self.did.as_deref())
            .chain(self.key_did.as_deref())
            .chain(self.fingerprint.as_deref())
            .chain(self.names())
    }

    /// The names this identity has: the agent card's, then the registry record's.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let card = self.name.as_deref();
        let registry = self
            .registry
            .as_ref()
            .and_then(|r| r.name.as_deref())
            .filter(move |r| Some(*r) != card);
        card.into_iter().chain(registry).filter(|n| !n.is_empty())
    }

    /// The id to use with the registry: the registry's own id when it assigned one.
    pub fn registry_key(&self) -> &str {
        self.registry_id.as_deref().unwrap_or(&self.id)
    }

    /// Short label for messages: name when there is one, else the id.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// How many identities need attention (see [`Identity::needs_attention`]).
pub fn attention<'a>(ids: impl IntoIterator<Item = &'a Identity>) -> usize {
    ids.into_iter().filter(|i| i.needs_attention()).count()
}

/// The one order of every listing (`list`, `status`, piped `demo`, the UI's default):
/// problems first — errors, then warnings, then none — then by name (case-insensitive,
/// the id when there is no name), then by id; kind and source last, so the order is total.
pub fn listing_order(a: &Identity, b: &Identity) -> std::cmp::Ordering {
    std::cmp::Reverse(a.worst())
        .cmp(&std::cmp::Reverse(b.worst()))
        .then_with(|| a.label().to_lowercase().cmp(&b.label().to_lowercase()))
        .then_with(|| a.label().cmp(b.label()))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| (a.kind, a.source).cmp(&(b.kind, b.source)))
}

#[cfg(test)]
mod listing_order_tests {
    use super::*;

    fn ident(id: &str, name: Option<&str>, worst: Option<Severity>) -> Identity {
        let mut i = Identity::new(id, Kind::Agent, Source::Disk, "/x");
        i.name = name.map(String::from);
        if let Some(s) = worst {
            i.problems.push(Problem {
                code: Code::Unreadable,
                severity: s,
                message: String::new(),
                fix: String::new(),
            });
        }
        i
    }

    #[test]
    fn errors_then_warnings_then_name_then_id() {
        let mut ids = [
            ident("z", Some("beta"), None),
            ident("y", Some("Alpha"), None),
            ident("b", None, Some(Severity::Warning)),
            ident("c", Some("zulu"), Some(Severity::Error)),
            ident("a", None, Some(Severity::Warning)),
            ident("x", Some("alpha"), None),
            ident("d", Some("able"), Some(Severity::Error)),
        ];
        ids.sort_by(listing_order);
        let order: Vec<_> = ids.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(order, ["d", "c", "a", "b", "y", "x", "z"]);
    }
}
