//! `push` and `deployed`: an identity's env value stored through the user's own
//! secrets CLI, the successful targets recorded, and each recorded target read back and
//! compared with the identity's current and archived keys.

use crate::app::{AppError, Context};
use crate::core::export::Format;
use crate::core::identity::{Identity, Kind};
use crate::core::key::KeyPair;
use crate::core::target::Target;
use crate::push::redact::Redactor;
use crate::push::runner::{self, RunError};
use crate::push::{Backend, Input, Meta, Read};
use crate::store::disk::Found;
use crate::store::scan::Scan;
use crate::store::targets::{self, Record};
use serde::Serialize;
use std::time::Duration;
use zeroize::Zeroizing;

/// CLI calls in flight at once.
pub const PARALLEL: usize = 8;

/// Everything a push needs about the identity, the key included.
pub struct Prepared {
    pub identity: Identity,
    pub kind: Kind,
    pub key: KeyPair,
    /// The env value: the one-line JWK (agents) or the PKCS#8 PEM (MCP servers).
    pub value: Zeroizing<String>,
    pub meta: Meta,
    pub redactor: Redactor,
}

pub fn prepare(ctx: &Context, scan: &Scan, query: &str) -> Result<Prepared, AppError> {
    let found = crate::app::resolve::resolve(&scan.found, query)?;
    let kind = found.identity.kind;
    let format = match kind {
        Kind::Agent => Format::Jwk,
        Kind::McpServer => Format::Pem,
    };
    // Exactly what `export --format jwk|pem` prints; the JWK without its newline.
    let exported = crate::app::export::render(ctx, scan, query, format, None)?;
    let mut value = exported.text;
    if kind == Kind::Agent {
        let trimmed = value.trim_end_matches('\n').len();
        value.truncate(trimmed);
    }
    let key = crate::app::keys::load_key(ctx, found)?;
    let meta = Meta {
        did: found
            .identity
            .did
            .clone()
            .unwrap_or_else(|| key.public().did_key()),
        fingerprint: key.public().fingerprint(),
    };
    let redactor = identity_redactor(found, Some(&value), Some(&key));
    Ok(Prepared {
        identity: found.identity.clone(),
        kind,
        key,
        value,
        meta,
        redactor,
    })
}

/// The one redactor for every text a child CLI produces about `found`: it knows the
/// current key (and `value`, the env value being pushed) and every archived key, so a
/// CLI echoing a key rotated out (a target still holding it) is redacted too.
pub fn identity_redactor(
    found: &Found,
    value: Option<&str>,
    current: Option<&KeyPair>,
) -> Redactor {
    let archived = found
        .dir
        .as_deref()
        .map(|d| archived_keys(d, found.identity.kind))
        .unwrap_or_default();
    let keys: Vec<&KeyPair> = current.into_iter().chain(archived.iter()).collect();
    Redactor::for_keys(value, &keys)
}

/// Each archived private key of an identity directory, loaded as rotation loads them
/// (capped reads); an `x` that disagrees with `d` does not matter here, `d` is the secret.
fn archived_keys(dir: &std::path::Path, kind: Kind) -> Vec<KeyPair> {
    crate::store::rotate::list_archive(dir, kind)
        .into_iter()
        .filter_map(|e| {
            let path = std::path::Path::new(&e.path).join(crate::store::rotate::private_name(kind));
            let text = crate::store::fs::read_small_text(&path).ok()?;
            match kind {
                Kind::Agent => crate::core::jwk::parse_private(&text).ok().map(|p| p.key),
                Kind::McpServer => crate::core::pem::parse_private(&text).ok().map(|(k, _)| k),
            }
        })
        .collect()
}

/// What is at a target before a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    Missing,
    /// The container exists (a Vault secret, a Kubernetes Secret, an item) without our
    /// field: writing adds the field and overwrites nothing.
    NoField,
    /// It already holds this very key.
    Same,
    /// It holds something else (another key's fingerprint when it is a key).
    Other(Option<String>),
    /// A write-only backend says it exists.
    Present,
}

fn failure(b: &dyn Backend, e: RunError) -> String {
    match e {
        RunError::Missing { .. } => e.to_string(),
        _ => format!("{}: {e}", b.program()),
    }
}

/// What a push may replace without asking: a target holding one of this identity's
/// archived keys (what a rotation leaves behind), or a write-only target already
/// recorded for it. The one rule for `push` and `rotate --push`, so the rotation's hint
/// "`push ID` afterwards" works off a terminal too.
pub struct Ours {
    archived: Vec<String>,
    recorded: Vec<Target>,
}

impl Ours {
    pub fn of(ctx: &Context, found: &Found) -> Self {
        let archived = found
            .dir
            .as_deref()
            .map(|d| crate::store::rotate::list_archive(d, found.identity.kind))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.meta.map(|m| m.fingerprint))
            .collect();
        let recorded = targets::load(&ctx.home, found.identity.kind, &found.identity.id)
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.target)
            .collect();
        Self { archived, recorded }
    }

    pub fn replaceable(&self, target: &Target, existing: &Existing) -> bool {
        match existing {
            Existing::Other(Some(fp)) => self.archived.contains(fp),
            Existing::Present => self.recorded.contains(target),
            _ => false,
        }
    }
}

/// Reads the target (or asks whether it exists) before writing.
pub fn probe(b: &dyn Backend, p: &Prepared, timeout: Duration) -> Result<Existing, String> {
    let Some(call) = b.read() else {
        return Ok(Existing::Missing);
    };
    let out = runner::run(&call, &p.value, b.install_hint(), timeout, &p.redactor)
        .map_err(|e| p.redactor.redact(&failure(b, e)))?;
    Ok(
        match b.parse_read(&out).map_err(|e| p.redactor.redact(&e))? {
            Read::Missing => Existing::Missing,
            Read::Present => Existing::Present,
            Read::FieldMissing => Existing::NoField,
            Read::Value(v) => match decode_any(p.kind, &v) {
                Some(k) if k.public() == p.key.public() => Existing::Same,
                Some(k) => Existing::Other(Some(k.public().fingerprint())),
                None => Existing::Other(None),
            },
        },
    )
}

/// A key read back, whichever kind's encoding it is in (a user may have pushed the
/// other one by hand). Surrounding whitespace is the CLI's, not the value's.
fn decode_any(kind: Kind, value: &str) -> Option<KeyPair> {
    let v = value.trim();
    crate::core::secret::decode(kind, v)
        .or_else(|_| {
            let other = match kind {
                Kind::Agent => Kind::McpServer,
                Kind::McpServer => Kind::Agent,
            };
            crate::core::secret::decode(other, v)
        })
        .ok()
}

/// Stores the key. Success means the value was stored; a failed metadata call after it
/// comes back as a warning.
pub fn write(
    b: &dyn Backend,
    p: &Prepared,
    exists: bool,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let mut stored = false;
    for call in b.write(exists, &p.meta, &p.value) {
        let carries_key = !matches!(call.input, Input::Nothing);
        let out = runner::run(&call, &p.value, b.install_hint(), timeout, &p.redactor)
            .map_err(|e| p.redactor.redact(&failure(b, e)))?;
        if out.ok() {
            stored |= carries_key;
            continue;
        }
        let why = format!(
            "`{}` failed (exit status {}): {}",
            call.argv[..call.argv.len().min(3)].join(" "),
            out.code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into()),
            out.stderr.trim()
        );
        let why = p.redactor.redact(&why);
        if stored {
            warnings.push(format!("the key is stored, but its metadata is not: {why}"));
        } else {
            return Err(why);
        }
    }
    // Defence in depth: a target string that changed the meaning of the CLI's
    // arguments, or a CLI that says yes and does something else, shows here.
    if stored && b.readable() {
        match probe(b, p, timeout) {
            Ok(Existing::Same) => {}
            Ok(_) => {
                return Err("the CLI reported success but the target does not hold the key".into());
            }
            Err(e) => {
                return Err(format!(
                    "the CLI reported success but reading the target back failed: {e}"
                ));
            }
        }
    }
    Ok(warnings)
}

/// Notes a successful push: the record, and the capture step of a rotation.
pub fn record_success(
    ctx: &Context,
    scan: &Scan,
    query: &str,
    p: &Prepared,
    target: &Target,
) -> Result<(), AppError> {
    targets::record(
        &ctx.home,
        p.kind,
        &p.identity.id,
        Record {
            target: target.clone(),
            fingerprint: p.meta.fingerprint.clone(),
            pushed_at: ctx.now,
        },
    )
    .map_err(|e| AppError::Refused(e.to_string()))?;
    if let Ok(found) = crate::app::resolve::resolve(&scan.found, query) {
        crate::app::export::note_captured(ctx, found);
    }
    Ok(())
}

/// Runs `f` over `items` with at most `bound` in flight, results in input order.
pub fn parallel<T: Sync, R: Send>(items: &[T], bound: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..bound.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Current,
    Previous,
    Foreign,
    Missing,
    WriteOnly,
    Error,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Current => "current",
            State::Previous => "previous",
            State::Foreign => "foreign",
            State::Missing => "missing",
            State::WriteOnly => "write-only",
            State::Error => "error",
        }
    }
}

/// One recorded target's state. Never holds the value read back.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    pub id: String,
    pub kind: Kind,
    pub target: Target,
    pub state: State,
    /// The fingerprint of the key found there, when it is a key.
    pub found_fingerprint: Option<String>,
    /// For `previous`: when that key was archived (rotated out).
    pub archived_at: Option<i64>,
    /// What this tool last pushed there.
    pub pushed_fingerprint: String,
    pub pushed_at: i64,
    /// For `write-only`: whether the last push was the current key.
    pub pushed_current: bool,
    /// Why, for `error` and `foreign` (redacted).
    pub detail: Option<String>,
}

impl Deployed {
    /// Whether this target makes `deployed` fail.
    pub fn fails(&self) -> bool {
        match self.state {
            State::Current => false,
            State::WriteOnly => !self.pushed_current,
            _ => true,
        }
    }
}

/// The identities `deployed` covers: one, or every identity with recorded targets.
pub fn covered<'a>(
    scan: &'a Scan,
    ctx: &Context,
    query: Option<&str>,
) -> Result<Vec<&'a Found>, AppError> {
    if let Some(q) = query {
        return Ok(vec![crate::app::resolve::resolve(&scan.found, q)?]);
    }
    let recorded = targets::recorded_ids(&ctx.home);
    Ok(scan
        .found
        .iter()
        .filter(|f| {
            let stem = f.identity.id.replace(':', "-");
            recorded
                .iter()
                .any(|(k, id)| *k == f.identity.kind && *id == stem)
        })
        .collect())
}

/// Reads back every recorded target of `found` (concurrently, up to [`PARALLEL`]).
pub fn deployed(
    ctx: &Context,
    found: &[&Found],
    timeout: Duration,
) -> Result<Vec<Deployed>, AppError> {
    struct Job<'a> {
        found: &'a Found,
        record: Record,
        archive: &'a [(String, i64)],
        redactor: &'a Redactor,
    }
    let mut archives = Vec::new();
    let mut records = Vec::new();
    let mut redactors = Vec::new();
    for f in found {
        // The current key is loaded only to be redacted from what the CLIs print; one
        // that cannot be loaded leaves the archived keys and the long-run rule.
        let current = crate::app::keys::load_key(ctx, f).ok();
        redactors.push(identity_redactor(f, None, current.as_ref()));
        let rs = targets::load(&ctx.home, f.identity.kind, &f.identity.id)
            .map_err(|e| AppError::Refused(e.to_string()))?;
        let archive: Vec<(String, i64)> = f
            .dir
            .as_deref()
            .map(|d| crate::store::rotate::list_archive(d, f.identity.kind))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| e.meta.map(|m| (m.fingerprint, m.archived_at)))
            .collect();
        archives.push(archive);
        records.push(rs);
    }
    let mut jobs = Vec::new();
    for (i, f) in found.iter().enumerate() {
        for r in &records[i] {
            jobs.push(Job {
                found: f,
                record: r.clone(),
                archive: &archives[i],
                redactor: &redactors[i],
            });
        }
    }
    Ok(parallel(&jobs, PARALLEL, |j| {
        check(j.found, &j.record, j.archive, j.redactor, timeout)
    }))
}

fn check(
    found: &Found,
    rec: &Record,
    archive: &[(String, i64)],
    redactor: &Redactor,
    timeout: Duration,
) -> Deployed {
    let current = found.public.as_ref().map(|p| p.fingerprint());
    let mut d = Deployed {
        id: found.identity.id.clone(),
        kind: found.identity.kind,
        target: rec.target.clone(),
        state: State::Error,
        found_fingerprint: None,
        archived_at: None,
        pushed_fingerprint: rec.fingerprint.clone(),
        pushed_at: rec.pushed_at,
        pushed_current: current.as_deref() == Some(rec.fingerprint.as_str()),
        detail: None,
    };
    let b = crate::push::backend(&rec.target);
    if !b.readable() {
        d.state = State::WriteOnly;
        return d;
    }
    let Some(call) = b.read() else {
        d.state = State::WriteOnly;
        return d;
    };
    let out = match runner::run(&call, "", b.install_hint(), timeout, redactor) {
        Ok(o) => o,
        Err(e) => {
            d.detail = Some(redactor.redact(&failure(b.as_ref(), e)));
            return d;
        }
    };
    match b.parse_read(&out) {
        Err(e) => d.detail = Some(redactor.redact(&e)),
        Ok(Read::Missing) | Ok(Read::FieldMissing) => d.state = State::Missing,
        Ok(Read::Present) => d.state = State::WriteOnly,
        Ok(Read::Value(v)) => match decode_any(found.identity.kind, &v) {
            None => {
                d.state = State::Foreign;
                d.detail = Some("it holds a value that is not an Ed25519 private key".into());
            }
            Some(k) => {
                let fp = k.public().fingerprint();
                if Some(&fp) == current.as_ref() {
                    d.state = State::Current;
                } else if let Some((_, at)) = archive.iter().rev().find(|(f, _)| *f == fp) {
                    d.state = State::Previous;
                    d.archived_at = Some(*at);
                } else {
                    d.state = State::Foreign;
                }
                d.found_fingerprint = Some(fp);
            }
        },
    }
    d
}
