//! Key rotation, pure parts: the impact analysis (what changes, with severity), the
//! needles that find an old key in deployment files, and the walkthrough as a state
//! machine whose state lives in a journal so it can stop and resume days later.

use crate::core::b64;
use crate::core::identity::{Identity, Kind};
use crate::core::ids;
use crate::core::key::{KeyPair, PublicKey};
use crate::core::pem;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// New key active; old public key kept in the agent card as retiring until the grace deadline
    Planned,
    /// Old key dropped at once, its badge revoked when possible, its archive marked compromised
    Emergency,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Emergency => "emergency",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Impact {
    Ok,
    Warning,
    Error,
}

impl Impact {
    pub fn glyph(self) -> &'static str {
        match self {
            Self::Ok => "✔",
            Self::Warning => "⚠",
            Self::Error => "✖",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consequence {
    pub severity: Impact,
    pub code: String,
    pub message: String,
}

fn c(severity: Impact, code: &str, message: String) -> Consequence {
    Consequence {
        severity,
        code: code.into(),
        message,
    }
}

const BADGE_INVALIDATED: &str = "badge-invalidated";
const BADGE_TAIL: &str = "stops verifying for the new one.";

fn badge_invalidated(b: &crate::core::identity::BadgeInfo, now: i64, revoke: &str) -> String {
    format!(
        "Badge {} ({}, expires {}) is bound to the old key and {BADGE_TAIL}{revoke}",
        short(&b.jti),
        b.state.as_str(),
        ids::relative(b.expires_at, now)
    )
}

/// Re-words the badge consequence of an impact for `now` and the badge as it stands now
/// (a wizard left open keeps telling the truth about "expires in …").
pub fn retime_consequences(
    consequences: &mut [Consequence],
    b: &crate::core::identity::BadgeInfo,
    now: i64,
) {
    for c in consequences
        .iter_mut()
        .filter(|c| c.code == BADGE_INVALIDATED)
    {
        let revoke = c
            .message
            .split_once(BADGE_TAIL)
            .map(|(_, r)| r.to_string())
            .unwrap_or_default();
        c.message = badge_invalidated(b, now, &revoke);
    }
}

/// One place an old key was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHit {
    pub path: String,
    pub line: usize,
    /// What matched, e.g. "private key (JWK d)".
    pub what: String,
    pub private: bool,
}

/// The strings that give a key away in any of our export encodings.
pub struct Needles {
    items: Vec<(String, &'static str, bool)>,
}

impl Needles {
    pub fn for_key(key: &KeyPair) -> Self {
        let public = key.public();
        let mut items = vec![
            (b64::url_encode(key.seed()), "private key (JWK d)", true),
            (
                pem_body(&pem::encode_private(key)),
                "private key (PKCS#8 PEM)",
                true,
            ),
        ];
        items.extend(Self::for_public(public).items);
        Self { items }
    }

    pub fn for_public(public: &PublicKey) -> Self {
        Self {
            items: vec![
                (
                    b64::url_encode(public.as_bytes()),
                    "public key (JWK x)",
                    false,
                ),
                (
                    pem_body(&pem::encode_public(public)),
                    "public key (SPKI PEM)",
                    false,
                ),
                (
                    b64::std_encode(public.as_bytes()),
                    "public key (base64)",
                    false,
                ),
                (public.did_key(), "key DID", false),
            ],
        }
    }

    /// Every (line number, what, private?) in `text`; one hit per line, the most sensitive.
    pub fn find(&self, text: &str) -> Vec<(usize, &'static str, bool)> {
        let mut hits = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if let Some((_, what, private)) = self
                .items
                .iter()
                .find(|(needle, _, _)| line.contains(needle.as_str()))
            {
                hits.push((n + 1, *what, *private));
            }
        }
        hits
    }
}

fn pem_body(pem_text: &str) -> String {
    pem_text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

pub struct ImpactInput<'a> {
    pub identity: &'a Identity,
    pub old: PublicKey,
    pub mode: Mode,
    pub grace_days: u32,
    /// Env vars in this environment that inject the old key.
    pub env_old: Vec<String>,
    pub file_hits: Vec<FileHit>,
    /// The agent card lists the old key (partners may have pinned it).
    pub card_lists_old: bool,
    /// An agent card exists (rotation updates one; it never creates one).
    pub card_exists: bool,
    /// What the registry said about this identity when the plan was made.
    pub registry: RegistryFact,
    /// `--new-agent`: on a 409 the new key gets a new agent record.
    pub new_agent: bool,
    pub can_reach_registry: bool,
    pub has_api_key: bool,
    pub archive_dir: String,
    pub now: i64,
}

/// The registry's answer about an identity, checked when the plan is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryFact {
    /// Not asked: offline, no registry configured, or no API key (the reason).
    NotAsked(String),
    /// Asked, but it did not answer usefully (the error).
    NoAnswer(String),
    /// It has no record of this identity.
    Unknown,
    /// Its record holds no key yet.
    NoKey,
    /// Its record holds the key being rotated out.
    HoldsOld,
    /// Its record holds some other DID.
    HoldsOther(String),
}

/// What rotating means for the agent's registry record — only what was checked.
fn registry_impact(i: &ImpactInput) -> Consequence {
    let id = &i.identity.id;
    let unchecked = |why: String| {
        c(
            Impact::Warning,
            "registry-not-checked",
            format!(
                "The registry was not checked ({why}). If it holds the old key for agent {id}, it keeps it (an agent's identity is set once): PoP (IAL-1) badges would fail and IAL-0 badges embed the old key; `--new-agent` gives the new key its own agent record."
            ),
        )
    };
    match &i.registry {
        RegistryFact::NotAsked(why) => unchecked(why.clone()),
        RegistryFact::NoAnswer(e) => unchecked(format!("it did not answer: {e}")),
        RegistryFact::Unknown => c(
            Impact::Ok,
            "registry-unaware",
            format!(
                "The registry has no agent {id}: no registry record refers to the old key. `capiscio-tui register {id}` afterwards creates one for the new key."
            ),
        ),
        RegistryFact::NoKey => c(
            Impact::Ok,
            "registry-takes-new-key",
            format!(
                "The registry's agent {id} holds no key yet: the register step sets the new one."
            ),
        ),
        RegistryFact::HoldsOld if i.new_agent => c(
            Impact::Warning,
            "registry-new-agent",
            format!(
                "The registry holds the old key for agent {id} and will not take another (an agent's identity is set once): with --new-agent the register step creates a new agent record for the new key and this identity moves to its id. Whoever knows agent {id} must switch to the new id."
            ),
        ),
        RegistryFact::HoldsOld => c(
            Impact::Error,
            "registry-forbids-rekey",
            format!(
                "The registry holds the old key for agent {id} and will not take another (an agent's identity is set once: HTTP 409), so rotating in place leaves PoP (IAL-1) badges failing and IAL-0 badges embedding the old key. Use `capiscio-tui rotate {id} --new-agent` (a new agent record for the new key; this identity moves to its id), or change the key in the CapiscIO dashboard."
            ),
        ),
        RegistryFact::HoldsOther(d) => c(
            Impact::Warning,
            "registry-holds-other-key",
            format!(
                "The registry's agent {id} holds {d}, not the key being rotated: rotating does not change that (the register step will be refused); fix it in the CapiscIO dashboard."
            ),
        ),
    }
}

/// Every consequence of rotating, computed before anything changes.
pub fn analyze(i: &ImpactInput) -> Vec<Consequence> {
    let id = i.identity;
    let old_did = i.old.did_key();
    let mut out = vec![c(
        Impact::Error,
        "key-did-changes",
        format!(
            "The key DID changes: {old_did} → (new). Anything pinned to the old did:key (partner trust stores, --trusted-issuers, level-0 badges, delegations) stops matching."
        ),
    )];
    match id.did.as_deref() {
        Some(d) if crate::core::did::method(d) == "web" => out.push(c(
            Impact::Ok,
            "identity-did-stays",
            format!("The identity DID {d} stays: it is tied to the id, not the key."),
        )),
        _ => out.push(c(
            Impact::Error,
            "identity-did-changes",
            "The identity DID is the did:key itself, so it changes too: peers know this identity by a new DID.".into(),
        )),
    }
    if let Some(b) = &id.badge {
        let revoke = match (i.mode, i.has_api_key && i.can_reach_registry) {
            (Mode::Emergency, true) => " It will be revoked now.",
            (Mode::Emergency, false) => {
                " Revoke it in the CapiscIO dashboard (revocation needs CAPISCIO_API_KEY and the registry)."
            }
            (Mode::Planned, _) => "",
        };
        out.push(c(
            Impact::Error,
            BADGE_INVALIDATED,
            badge_invalidated(b, i.now, revoke),
        ));
    }
    match id.kind {
        Kind::Agent => out.push(registry_impact(i)),
        Kind::McpServer => out.push(c(
            Impact::Ok,
            "server-pushes-new-key",
            format!("The MCP SDK pushes the new key on the server's next start (PUT /v1/sdk/servers/{}); a 409 would leave the old one.", id.id),
        )),
    }
    for var in &i.env_old {
        out.push(c(
            Impact::Warning,
            "env-injects-old-key",
            format!("{var} in this shell injects the OLD key: it would overwrite the new key on the next start."),
        ));
    }
    let private: Vec<String> = i
        .file_hits
        .iter()
        .filter(|h| h.private)
        .map(|h| format!("{}:{}", h.path, h.line))
        .collect();
    if !private.is_empty() {
        out.push(c(
            Impact::Warning,
            "old-key-deployed",
            format!(
                "Found the old private key in {}: replace it there after the rotation.",
                private.join(", ")
            ),
        ));
    }
    let public: Vec<String> = i
        .file_hits
        .iter()
        .filter(|h| !h.private)
        .map(|h| format!("{}:{} ({})", h.path, h.line, h.what))
        .collect();
    if !public.is_empty() {
        out.push(c(
            Impact::Warning,
            "old-key-pinned",
            format!(
                "The old public key or DID is pinned in {}.",
                public.join(", ")
            ),
        ));
    }
    if id.kind == Kind::Agent {
        out.push(match (i.mode, i.card_lists_old) {
            _ if !i.card_exists => c(
                Impact::Ok,
                "no-card",
                "There is no agent-card.json: no published key to retire (rotation does not create one).".into(),
            ),
            (Mode::Planned, _) => c(
                Impact::Ok,
                "card-keeps-retiring-key",
                format!(
                    "agent-card.json lists the old public key as retiring until {} ({} days' grace) so partners can move to the new one.",
                    &ids::rfc3339(i.now.saturating_add(i64::from(i.grace_days) * 86_400))[..10],
                    i.grace_days
                ),
            ),
            (Mode::Emergency, true) => c(
                Impact::Error,
                "card-drops-old-key",
                "The old key is removed from agent-card.json at once: partners pinned to it fail immediately.".into(),
            ),
            (Mode::Emergency, false) => c(Impact::Ok, "card-drops-old-key", "The old key is not published in agent-card.json.".into()),
        });
    }
    out.push(c(
        Impact::Ok,
        "old-key-archived",
        match i.mode {
            Mode::Planned => format!(
                "The old key is archived in {}, not deleted: `rotate {} --rollback` restores it.",
                i.archive_dir, id.id
            ),
            Mode::Emergency => format!(
                "The old key is archived in {} (marked compromised), not deleted.",
                i.archive_dir
            ),
        },
    ));
    out
}

/// A recorded push target, as the impact needs it (non-secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetFact {
    /// The target as `core::target` prints it.
    pub target: String,
    /// The fingerprint last pushed there.
    pub fingerprint: String,
    pub pushed_at: i64,
}

pub const TARGET_HOLDS_OLD: &str = "target-holds-old-key";

/// One consequence per recorded target: after the swap each still holds what was last
/// pushed there, and a deployment restarting from it comes up with that key.
pub fn target_consequences(
    id: &str,
    targets: &[TargetFact],
    old_fingerprint: &str,
) -> Vec<Consequence> {
    targets
        .iter()
        .map(|t| {
            let which = if t.fingerprint == old_fingerprint {
                "the old key"
            } else {
                "an older key"
            };
            c(
                Impact::Warning,
                TARGET_HOLDS_OLD,
                format!(
                    "{} will still hold {which} ({}, pushed {}): a deployment that restarts from it runs with that key. Push the new key with `rotate {id} --push` (or `push {id}` afterwards).",
                    t.target,
                    t.fingerprint,
                    ids::rfc3339(t.pushed_at)
                ),
            )
        })
        .collect()
}

fn short(s: &str) -> String {
    let head: String = s.chars().take(8).collect();
    if s.chars().count() > 8 {
        head + "…"
    } else {
        head
    }
}

/// The walkthrough's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum StepId {
    ReviewImpact,
    ReplaceEnv,
    ArchiveAndGenerate,
    Register,
    NewBadge,
    Capture,
    Verify,
}

impl StepId {
    pub const ALL: [StepId; 7] = [
        StepId::ReviewImpact,
        StepId::ReplaceEnv,
        StepId::ArchiveAndGenerate,
        StepId::Register,
        StepId::NewBadge,
        StepId::Capture,
        StepId::Verify,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::ReviewImpact => "Review the impact",
            Self::ReplaceEnv => "Replace or unset the env var that injects the old key",
            Self::ArchiveAndGenerate => "Archive the old key and generate the new one",
            Self::Register => "Register the new key with the registry",
            Self::NewBadge => "Get a badge for the new key",
            Self::Capture => "Capture the new key for your secrets manager",
            Self::Verify => "Verify: new key DID and a valid badge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "reason", rename_all = "kebab-case")]
pub enum StepState {
    Pending(Option<String>),
    Running,
    Done,
    Skipped(String),
    Failed(String),
}

impl StepState {
    pub fn is_settled(&self) -> bool {
        matches!(self, Self::Done | Self::Skipped(_))
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Pending(_) => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Skipped(_) => "skipped",
            Self::Failed(_) => "failed",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Pending(r) => r.as_deref(),
            Self::Skipped(r) | Self::Failed(r) => Some(r),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: StepId,
    #[serde(flatten)]
    pub state: StepState,
    pub at: Option<i64>,
}

/// Where the file swap stands. Ordered: each phase is written before the next begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Journal written, nothing changed on disk yet (a staging dir may be half-built).
    Started,
    /// Staging dir complete and fsynced: new key and archive of the old one.
    Staged,
    /// The identity dir holds the new key; the staging dir holds the old layout.
    Swapped,
    /// Staging dir removed.
    Done,
    /// A rotation undone, or a rollback finished.
    RolledBack,
    /// The swap never happened (it failed or was interrupted before the exchange and
    /// its staging directory was dropped): the old key is current, nothing changed.
    Abandoned,
}

/// What a journal's swap does: a rotation puts a fresh key in place; a rollback puts an
/// archived one back. Both go through the same stage → exchange → clean-up phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    #[default]
    Rotate,
    Rollback,
}

/// The rotation journal: everything needed to finish, roll back or resume a rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub version: u32,
    pub identity_id: String,
    pub kind: Kind,
    pub dir: String,
    pub mode: Mode,
    pub started_at: i64,
    pub old_fingerprint: String,
    pub old_did: String,
    pub new_fingerprint: Option<String>,
    pub new_did: Option<String>,
    /// Archive dir name under `<dir>/archive/`.
    pub archive: String,
    pub phase: Phase,
    pub grace_until: Option<i64>,
    pub old_badge_jti: Option<String>,
    pub capture_format: String,
    pub steps: Vec<Step>,
    /// Things worth telling later (badge revoked, agent moved to a new id, …).
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub op: Op,
    /// Every path of the complete staging directory, recorded (with phase `staged`)
    /// before the exchange: a staging directory missing any of them is never swapped in.
    #[serde(default)]
    pub manifest: Vec<String>,
    /// The id the registry knows the identity by, when it differs from `identity_id`
    /// (an MCP server the registry created under a new id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    /// The identity's recorded push targets when the walkthrough last looked: with any,
    /// capturing means pushing the new key to them and verifying means reading them back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub push_targets: Vec<String>,
}

impl Journal {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        identity_id: &str,
        kind: Kind,
        dir: &str,
        mode: Mode,
        now: i64,
        old: &PublicKey,
        grace_days: u32,
        old_badge_jti: Option<String>,
        capture_format: &str,
    ) -> Self {
        let fp = old.fingerprint();
        Self {
            version: 1,
            identity_id: identity_id.into(),
            kind,
            dir: dir.into(),
            mode,
            started_at: now,
            old_did: old.did_key(),
            new_fingerprint: None,
            new_did: None,
            archive: format!("{}-{fp}", archive_stamp(now)),
            old_fingerprint: fp,
            phase: Phase::Started,
            grace_until: (mode == Mode::Planned)
                .then_some(now.saturating_add(i64::from(grace_days) * 86_400)),
            old_badge_jti,
            capture_format: capture_format.into(),
            steps: StepId::ALL
                .iter()
                .map(|&id| Step {
                    id,
                    state: StepState::Pending(None),
                    at: None,
                })
                .collect(),
            notes: Vec::new(),
            op: Op::Rotate,
            manifest: Vec::new(),
            registry_id: None,
            push_targets: Vec::new(),
        }
    }

    pub fn step(&self, id: StepId) -> &StepState {
        self.steps
            .iter()
            .find(|s| s.id == id)
            .map_or(&StepState::Running, |s| &s.state)
    }

    pub fn set(&mut self, id: StepId, state: StepState, now: i64) {
        if let Some(s) = self.steps.iter_mut().find(|s| s.id == id) {
            s.state = state;
            s.at = Some(now);
        }
    }

    /// A step's title for this rotation: with recorded targets, capture and verify name them.
    pub fn title(&self, id: StepId) -> String {
        let n = self.push_targets.len();
        let targets = if n == 1 { "target" } else { "targets" };
        match id {
            StepId::Capture if n > 0 => format!("Push the new key to its {n} {targets}"),
            StepId::Verify if n > 0 => {
                format!("Verify: new key DID, valid badge, {n} {targets} current")
            }
            _ => id.title().to_string(),
        }
    }

    /// The first step that is neither done nor skipped.
    pub fn next(&self) -> Option<StepId> {
        self.steps
            .iter()
            .find(|s| !s.state.is_settled())
            .map(|s| s.id)
    }

    pub fn complete(&self) -> bool {
        self.next().is_none()
    }

    /// The file swap began but did not finish: `doctor` says `rotation-interrupted`.
    pub fn interrupted(&self) -> bool {
        self.phase < Phase::Done
    }
}

/// The agent card after a rotation: `public_keys` gets the new key as active and, in
/// planned mode, the old one as retiring until the grace deadline (emergency drops it);
/// references to the old DID in the card's own identity fields move to the new one.
/// `None` when the card is not a JSON object (it is left alone).
pub fn rotate_card(
    card: &str,
    old: &PublicKey,
    new: &PublicKey,
    mode: Mode,
    grace_until: Option<i64>,
) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_str(card).ok()?;
    let obj = v.as_object_mut()?;
    let (old_did, new_did) = (old.did_key(), new.did_key());
    let entry = |k: &PublicKey, status: &str| serde_json::json!({ "kid": k.did_key(), "kty": "OKP", "crv": "Ed25519", "x": b64::url_encode(k.as_bytes()), "use": "sig", "alg": "EdDSA", "status": status });
    let mut keys = vec![entry(new, "active")];
    if mode == Mode::Planned {
        let mut retiring = entry(old, "retiring");
        if let Some(t) = grace_until {
            retiring["retire_after"] = serde_json::json!(ids::rfc3339(t));
        }
        keys.push(retiring);
    }
    if let Some(serde_json::Value::Array(existing)) = obj.get("public_keys") {
        keys.extend(
            existing
                .iter()
                .filter(|k| {
                    let kid = k.get("kid").and_then(|x| x.as_str()).unwrap_or_default();
                    kid != old_did && kid != new_did
                })
                .cloned(),
        );
    }
    obj.insert("public_keys".into(), serde_json::Value::Array(keys));
    // Init-RPC card: `id` and `verificationMethods` name the key's DID.
    let text = serde_json::to_string(obj).ok()?;
    let text = text.replace(&old_did, &new_did).replace(
        &b64::url_encode(old.as_bytes()),
        &b64::url_encode(new.as_bytes()),
    );
    let mut v: serde_json::Value = serde_json::from_str(&text).ok()?;
    // …but the retiring entry must keep naming the old key.
    if mode == Mode::Planned
        && let Some(serde_json::Value::Array(keys)) = v.get_mut("public_keys")
        && let Some(k) = keys.get_mut(1)
    {
        let mut retiring = entry(old, "retiring");
        if let Some(t) = grace_until {
            retiring["retire_after"] = serde_json::json!(ids::rfc3339(t));
        }
        *k = retiring;
    }
    serde_json::to_string_pretty(&v).ok()
}

/// An old key an agent card still lists as `retiring` after a planned rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retiring {
    pub kid: String,
    /// The grace deadline, when the card states one we can read.
    pub retire_after: Option<i64>,
}

fn retiring_entries(card: &serde_json::Value) -> impl Iterator<Item = Retiring> + '_ {
    card.get("public_keys")
        .and_then(|k| k.as_array())
        .into_iter()
        .flatten()
        .filter(|k| k.get("status").and_then(|s| s.as_str()) == Some("retiring"))
        .map(|k| Retiring {
            kid: k
                .get("kid")
                .and_then(|s| s.as_str())
                .unwrap_or_default()
                .to_string(),
            retire_after: k
                .get("retire_after")
                .and_then(|s| s.as_str())
                .and_then(ids::parse_rfc3339),
        })
}

/// Retiring keys whose grace deadline has passed: partners still trust them, and
/// nothing else will ever remove them from the card.
pub fn retiring_past_grace(card: &str, now: i64) -> Vec<Retiring> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(card) else {
        return Vec::new();
    };
    retiring_entries(&v)
        .filter(|r| r.retire_after.is_some_and(|t| t <= now))
        .collect()
}

/// Ends the grace period: the card without its `retiring` keys, and the keys dropped.
/// `None` when the card is not a JSON object or lists no retiring key.
pub fn end_grace(card: &str) -> Option<(String, Vec<Retiring>)> {
    let mut v: serde_json::Value = serde_json::from_str(card).ok()?;
    let dropped: Vec<Retiring> = retiring_entries(&v).collect();
    if dropped.is_empty() {
        return None;
    }
    let keys = v.as_object_mut()?.get_mut("public_keys")?.as_array_mut()?;
    keys.retain(|k| k.get("status").and_then(|s| s.as_str()) != Some("retiring"));
    Some((serde_json::to_string_pretty(&v).ok()?, dropped))
}

/// `20261127T001500Z`: sortable, filesystem-safe UTC stamp.
pub fn archive_stamp(now: i64) -> String {
    ids::rfc3339(now).replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::export::{self, Format, Request, Target};
    use crate::core::identity::{BadgeInfo, Source};

    fn identity(did: &str) -> Identity {
        Identity {
            id: "a1".into(),
            kind: Kind::Agent,
            source: Source::Disk,
            location: "/x".into(),
            name: None,
            registry_id: None,
            did: Some(did.into()),
            key_did: None,
            fingerprint: None,
            effective: true,
            badge: Some(BadgeInfo {
                jti: "550e8400-e29b".into(),
                iss: "https://r".into(),
                sub: did.into(),
                trust_level: Some("1".into()),
                ial: Some("0".into()),
                issued_at: 0,
                expires_at: 300,
                state: crate::core::badge::BadgeState::Valid,
                reason: None,
            }),
            problems: vec![],
            files: vec![],
            shadows: None,
            shadowed_by: None,
            registry: None,
        }
    }

    #[test]
    fn needles_find_every_export_encoding() {
        let key = KeyPair::from_seed(&[3; 32]);
        let needles = Needles::for_key(&key);
        for f in Format::ALL {
            for target in [Target::Agent, Target::McpServer] {
                let text = export::render(
                    f,
                    &Request {
                        key: &key,
                        target,
                        label: "x",
                    },
                );
                let hits = needles.find(&text);
                assert!(
                    hits.iter().any(|h| h.2),
                    "{f:?}/{target:?} private key not found in:\n{}",
                    text.as_str()
                );
            }
        }
        let other = KeyPair::from_seed(&[4; 32]);
        let text = export::render(
            Format::Env,
            &Request {
                key: &other,
                target: Target::Agent,
                label: "x",
            },
        );
        assert!(needles.find(&text).is_empty());
        assert_eq!(
            needles.find(&format!("a\nb\nkid: {}\n", key.public().did_key())),
            vec![(3, "key DID", false)]
        );
    }

    #[test]
    fn impact_lists_each_consequence() {
        let key = KeyPair::from_seed(&[3; 32]);
        let id = identity(&key.public().did_key());
        let input = ImpactInput {
            identity: &id,
            old: *key.public(),
            mode: Mode::Emergency,
            grace_days: 7,
            env_old: vec!["CAPISCIO_AGENT_PRIVATE_KEY_JWK".into()],
            file_hits: vec![FileHit {
                path: "./.env".into(),
                line: 3,
                what: "private key (JWK d)".into(),
                private: true,
            }],
            card_lists_old: true,
            card_exists: true,
            registry: RegistryFact::HoldsOld,
            new_agent: false,
            can_reach_registry: false,
            has_api_key: false,
            archive_dir: "archive/x".into(),
            now: 0,
        };
        let codes: Vec<String> = analyze(&input).into_iter().map(|c| c.code).collect();
        for want in [
            "key-did-changes",
            "identity-did-changes",
            "badge-invalidated",
            "registry-forbids-rekey",
            "env-injects-old-key",
            "old-key-deployed",
            "card-drops-old-key",
            "old-key-archived",
        ] {
            assert!(
                codes.iter().any(|c| c == want),
                "{want} missing from {codes:?}"
            );
        }
        let web = identity("did:web:r:agents:a1");
        let planned = ImpactInput {
            identity: &web,
            mode: Mode::Planned,
            env_old: vec![],
            file_hits: vec![],
            ..input
        };
        let out = analyze(&planned);
        assert!(out.iter().any(|c| c.code == "identity-did-stays"));
        assert!(
            out.iter()
                .any(|c| c.code == "card-keeps-retiring-key" && c.message.contains("1970-01-08"))
        );
    }

    #[test]
    fn recorded_targets_are_warnings_and_name_the_push_steps() {
        let t = |target: &str, fp: &str| TargetFact {
            target: target.into(),
            fingerprint: fp.into(),
            pushed_at: 0,
        };
        let out = target_consequences("a1", &[t("aws-sm:x", "old"), t("gh:o/r#K", "older")], "old");
        assert_eq!(out.len(), 2);
        assert!(
            out.iter()
                .all(|c| c.severity == Impact::Warning && c.code == TARGET_HOLDS_OLD)
        );
        assert!(out[0].message.starts_with(
            "aws-sm:x will still hold the old key (old, pushed 1970-01-01T00:00:00Z)"
        ));
        assert!(out[1].message.contains("an older key (older"));
        let key = KeyPair::from_seed(&[3; 32]);
        let mut j = Journal::new(
            "a1",
            Kind::Agent,
            "/x",
            Mode::Planned,
            0,
            key.public(),
            7,
            None,
            "env",
        );
        assert_eq!(j.title(StepId::Capture), StepId::Capture.title());
        j.push_targets = vec!["aws-sm:x".into(), "gh:o/r#K".into()];
        assert_eq!(
            j.title(StepId::Capture),
            "Push the new key to its 2 targets"
        );
        assert!(j.title(StepId::Verify).ends_with("2 targets current"));
        // Journals written before push targets existed still read.
        let mut v = serde_json::to_value(&j).unwrap();
        v.as_object_mut().unwrap().remove("push_targets");
        assert!(
            serde_json::from_value::<Journal>(v)
                .unwrap()
                .push_targets
                .is_empty()
        );
    }

    #[test]
    fn card_rotation() {
        let old = KeyPair::from_seed(&[3; 32]);
        let new = KeyPair::from_seed(&[4; 32]);
        let card = format!(
            r#"{{"id":"{}","name":"a","verificationMethods":[{{"id":"{}#keys-1","publicKeyJwk":{{"x":"{}"}}}}]}}"#,
            old.public().did_key(),
            old.public().did_key(),
            b64::url_encode(old.public().as_bytes())
        );
        let planned: serde_json::Value = serde_json::from_str(
            &rotate_card(&card, old.public(), new.public(), Mode::Planned, Some(0)).unwrap(),
        )
        .unwrap();
        assert_eq!(planned["id"], new.public().did_key());
        assert_eq!(planned["public_keys"][0]["kid"], new.public().did_key());
        assert_eq!(planned["public_keys"][1]["kid"], old.public().did_key());
        assert_eq!(planned["public_keys"][1]["status"], "retiring");
        assert_eq!(
            planned["public_keys"][1]["retire_after"],
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            planned["verificationMethods"][0]["publicKeyJwk"]["x"],
            b64::url_encode(new.public().as_bytes())
        );
        let emergency: serde_json::Value = serde_json::from_str(
            &rotate_card(&card, old.public(), new.public(), Mode::Emergency, None).unwrap(),
        )
        .unwrap();
        assert_eq!(emergency["public_keys"].as_array().unwrap().len(), 1);
        assert!(!emergency.to_string().contains(&old.public().did_key()));
        assert_eq!(
            rotate_card("[1]", old.public(), new.public(), Mode::Planned, None),
            None
        );
    }

    #[test]
    fn grace_ends_on_its_deadline_and_on_request() {
        let old = KeyPair::from_seed(&[3; 32]);
        let new = KeyPair::from_seed(&[4; 32]);
        let deadline = 1_800_000_000;
        let card = rotate_card(
            r#"{"name":"a","public_keys":[{"kid":"did:key:zPartnerPinned","status":"active"}]}"#,
            old.public(),
            new.public(),
            Mode::Planned,
            Some(deadline),
        )
        .unwrap();
        assert!(retiring_past_grace(&card, deadline - 1).is_empty());
        let due = retiring_past_grace(&card, deadline);
        assert_eq!(
            due,
            vec![Retiring {
                kid: old.public().did_key(),
                retire_after: Some(deadline)
            }]
        );
        let (ended, dropped) = end_grace(&card).unwrap();
        assert_eq!(dropped, due);
        let v: serde_json::Value = serde_json::from_str(&ended).unwrap();
        let kids: Vec<&str> = v["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(
            kids,
            [new.public().did_key().as_str(), "did:key:zPartnerPinned"]
        );
        assert_eq!(v["name"], "a");
        // Nothing left to end; unreadable cards and deadlines are left alone.
        assert_eq!(end_grace(&ended), None);
        assert_eq!(end_grace("not json"), None);
        assert!(retiring_past_grace("[]", deadline).is_empty());
        let odd = r#"{"public_keys":[{"kid":"k","status":"retiring","retire_after":"soon"}]}"#;
        assert!(retiring_past_grace(odd, i64::MAX).is_empty());
        assert_eq!(end_grace(odd).unwrap().1[0].retire_after, None);
    }

    #[test]
    fn journal_steps_and_phases() {
        let key = KeyPair::from_seed(&[3; 32]);
        let mut j = Journal::new(
            "a1",
            Kind::Agent,
            "/x",
            Mode::Planned,
            1_733_788_800,
            key.public(),
            7,
            None,
            "env",
        );
        assert_eq!(
            j.archive,
            format!("20241210T000000Z-{}", key.public().fingerprint())
        );
        assert_eq!(j.next(), Some(StepId::ReviewImpact));
        assert!(j.interrupted());
        for s in StepId::ALL {
            j.set(s, StepState::Done, 1);
        }
        j.set(StepId::NewBadge, StepState::Skipped("offline".into()), 2);
        assert!(j.complete());
        j.set(StepId::Verify, StepState::Failed("badge invalid".into()), 3);
        assert_eq!(j.next(), Some(StepId::Verify));
        let text = serde_json::to_string(&j).unwrap();
        assert_eq!(serde_json::from_str::<Journal>(&text).unwrap(), j);
        assert!(
            text.contains(r#""state":"failed","reason":"badge invalid""#),
            "{text}"
        );
    }
}
