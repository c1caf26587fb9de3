//! `rotate`: impact analysis, crash-safe execution, resume, rollback, and the
//! walkthrough's registry / capture / verify steps. The disk mechanics live in
//! `store::rotate`; the pure rules in `core::rotation`.

use crate::app::{AppError, Context};
use crate::core::export::Format;
use crate::core::identity::{Identity, Kind, Source};
use crate::core::rotation::{
    self, Consequence, FileHit, ImpactInput, Journal, Mode, Needles, Op, Phase, RegistryFact,
    StepId, StepState,
};
use crate::core::{jwk, key::KeyPair, pem};
use crate::registry::client::{RegistryClient, WriteOutcome};
use crate::store::disk::{self, AGENT_CARD, DID_TXT, Found};
use crate::store::rotate::{self as rs, ArchiveMeta, NewFile, Paths, RotateError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

impl From<RotateError> for AppError {
    fn from(e: RotateError) -> Self {
        AppError::Refused(e.to_string())
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub grace_days: u32,
    pub scan_dir: PathBuf,
    pub capture_format: Format,
    pub new_agent: bool,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub id: String,
    pub kind: Kind,
    pub mode: Mode,
    pub old_did: String,
    pub consequences: Vec<Consequence>,
    pub file_hits: Vec<FileHit>,
}

/// Each CLI call of the verify step's `deployed`, like `deployed`'s default.
const DEPLOYED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a short operation waits for another process's lock on the same identity.
pub const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// The identity directory of a disk identity, refusing what rotation must not touch.
fn identity_dir(found: &Found) -> Result<PathBuf, AppError> {
    if found.identity.source != Source::Disk {
        return Err(AppError::Refused(format!(
            "{} is not a key on disk; rotate the disk identity it belongs to, then replace the env var with the new key",
            found.identity.id
        )));
    }
    let dir = PathBuf::from(&found.identity.location);
    crate::store::create::refuse_symlinked_identity(&dir)?;
    if rs::archive_is_symlink(&dir) {
        return Err(AppError::Refused(format!(
            "{}/archive is a symlink; capiscio-tui does not archive, list or restore keys through a link — replace it with the directory itself",
            dir.display()
        )));
    }
    if crate::store::fs::is_symlink(&dir.join(rs::private_name(found.identity.kind))) {
        return Err(AppError::Refused(format!(
            "the private key of {} is a symlink (symlinked-key); replace it with the file itself before rotating",
            found.identity.id
        )));
    }
    Ok(dir)
}

/// Files under `root` a deployment could hold a key in, bounded in count and size.
fn deployment_files(root: &Path, skip: &[PathBuf]) -> Vec<PathBuf> {
    const SKIP_DIRS: [&str; 7] = [
        ".git",
        "target",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".capiscio",
    ];
    let wanted = |name: &str| {
        name.starts_with(".env")
            || name.starts_with("docker-compose")
            || name.starts_with("compose.")
            || [".yaml", ".yml", ".tf", ".tfvars", ".json"]
                .iter()
                .any(|e| name.ends_with(e))
    };
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            if skip.iter().any(|s| path.starts_with(s)) {
                continue;
            }
            if ft.is_dir()
                && depth < 8
                && !SKIP_DIRS.contains(&name.as_str())
                && !name.starts_with(".rotating")
            {
                stack.push((path, depth + 1));
            } else if ft.is_file()
                && wanted(&name)
                && e.metadata().is_ok_and(|m| m.len() <= 2 * 1024 * 1024)
            {
                out.push(path);
                if out.len() >= 20_000 {
                    return out;
                }
            }
        }
    }
    out.sort();
    out
}

/// Every line under `root` that holds the key in one of our export encodings.
pub fn find_key_in_files(root: &Path, skip: &[PathBuf], needles: &Needles) -> Vec<FileHit> {
    let mut hits = Vec::new();
    for path in deployment_files(root, skip) {
        // Capped, no-follow, non-blocking (a FIFO swapped in after the listing cannot
        // hang the plan); files that are not UTF-8 text hold none of our encodings.
        let Ok(text) = crate::store::fs::read_text_capped(&path, 2 * 1024 * 1024) else {
            continue;
        };
        let shown = path
            .strip_prefix(root)
            .map(|p| format!("./{}", p.display()))
            .unwrap_or_else(|_| path.display().to_string());
        for (line, what, private) in needles.find(&text) {
            hits.push(FileHit {
                path: shown.clone(),
                line,
                what: what.into(),
                private,
            });
        }
    }
    hits
}

fn env_vars_with_key(ctx: &Context, public: &crate::core::key::PublicKey) -> Vec<String> {
    [
        crate::store::env::inspect_agent(&ctx.env),
        crate::store::env::inspect_server(&ctx.env),
    ]
    .into_iter()
    .flatten()
    .filter(|f| f.public.as_ref() == Some(public))
    .map(|f| f.identity.location.trim_start_matches("env:").to_string())
    .collect()
}

/// What the registry holds for this identity, asked now (agents only; servers push
/// their key on every start).
pub async fn registry_fact(
    ctx: &Context,
    found: &Found,
    old: &crate::core::key::PublicKey,
    client: Option<&RegistryClient>,
) -> RegistryFact {
    let why = if ctx.offline {
        "offline"
    } else if client.is_none() {
        "no registry configured: set CAPISCIO_SERVER_URL and CAPISCIO_API_KEY"
    } else if ctx.registry.api_key.is_none() {
        "needs CAPISCIO_API_KEY"
    } else {
        ""
    };
    let Some(c) = client.filter(|_| why.is_empty()) else {
        return RegistryFact::NotAsked(why.into());
    };
    if found.identity.kind != Kind::Agent {
        return RegistryFact::NotAsked("MCP servers push their key when they start".into());
    }
    match c.agent(found.identity.registry_key()).await {
        Err(e) => RegistryFact::NoAnswer(e.reason()),
        Ok(None) => RegistryFact::Unknown,
        Ok(Some(rec)) if crate::app::register::holds_key(&rec, old) => RegistryFact::HoldsOld,
        Ok(Some(rec)) => match rec.did {
            None => RegistryFact::NoKey,
            Some(d) => RegistryFact::HoldsOther(d),
        },
    }
}

/// Impact analysis: computed before anything changes, from what is true now — the
/// files, the agent card, and the registry's answer (`client`, when one is configured).
pub async fn plan(
    ctx: &Context,
    found: &Found,
    opts: &Options,
    client: Option<&RegistryClient>,
) -> Result<Plan, AppError> {
    let dir = identity_dir(found)?;
    let old = crate::app::export::load_key(ctx, found)?;
    let needles = Needles::for_key(&old);
    let skip = vec![dir.clone(), ctx.home.clone()];
    let file_hits = find_key_in_files(&opts.scan_dir, &skip, &needles);
    let card = crate::store::fs::read_small_text(&dir.join(AGENT_CARD));
    let card_exists = card.is_ok();
    let card_lists_old = card
        .map(|c| {
            c.contains(&old.public().did_key())
                || c.contains(&crate::core::b64::url_encode(old.public().as_bytes()))
        })
        .unwrap_or(false);
    let archive = rs::archive_name(ctx.now, &old.public().fingerprint(), "");
    let consequences = rotation::analyze(&ImpactInput {
        identity: &found.identity,
        old: *old.public(),
        mode: opts.mode,
        grace_days: opts.grace_days,
        env_old: env_vars_with_key(ctx, old.public()),
        file_hits: file_hits.clone(),
        card_lists_old,
        card_exists,
        registry: registry_fact(ctx, found, old.public(), client).await,
        new_agent: opts.new_agent,
        can_reach_registry: !ctx.offline,
        has_api_key: ctx.registry.api_key.is_some(),
        archive_dir: format!("{}/archive/{archive}", dir.display()),
        now: ctx.now,
    });
    let mut consequences = consequences;
    consequences.extend(rotation::target_consequences(
        &found.identity.id,
        &target_facts(ctx, found.identity.kind, &found.identity.id),
        &old.public().fingerprint(),
    ));
    Ok(Plan {
        id: found.identity.id.clone(),
        kind: found.identity.kind,
        mode: opts.mode,
        old_did: old.public().did_key(),
        consequences,
        file_hits,
    })
}

/// The identity's recorded push targets (none when the record is unreadable: the plan
/// and the walkthrough then say nothing about targets rather than fail).
fn target_facts(ctx: &Context, kind: Kind, id: &str) -> Vec<rotation::TargetFact> {
    crate::store::targets::load(&ctx.home, kind, id)
        .unwrap_or_default()
        .into_iter()
        .map(|r| rotation::TargetFact {
            target: r.target.to_string(),
            fingerprint: r.fingerprint,
            pushed_at: r.pushed_at,
        })
        .collect()
}

/// The files of the new layout for `new`, derived from what the directory holds now.
fn new_layout(
    dir: &Path,
    kind: Kind,
    old: &crate::core::key::PublicKey,
    new: &KeyPair,
    mode: Mode,
    grace_until: Option<i64>,
) -> Vec<NewFile> {
    let text = |s: String| Zeroizing::new(s.into_bytes());
    match kind {
        Kind::Agent => {
            let mut files = vec![
                NewFile {
                    name: disk::AGENT_PRIVATE.into(),
                    content: Zeroizing::new(jwk::to_go_private(new).as_bytes().to_vec()),
                    mode: 0o600,
                },
                NewFile {
                    name: disk::AGENT_PUBLIC.into(),
                    content: text(jwk::to_go_public(new.public())),
                    mode: 0o644,
                },
            ];
            if let Ok(card) = crate::store::fs::read_small_text(&dir.join(AGENT_CARD))
                && let Some(rotated) =
                    rotation::rotate_card(&card, old, new.public(), mode, grace_until)
            {
                files.push(NewFile {
                    name: AGENT_CARD.into(),
                    content: text(rotated),
                    mode: 0o644,
                });
            }
            files
        }
        Kind::McpServer => {
            let mut files = vec![
                NewFile {
                    name: disk::SERVER_PRIVATE.into(),
                    content: Zeroizing::new(pem::encode_private(new).as_bytes().to_vec()),
                    mode: 0o600,
                },
                NewFile {
                    name: disk::SERVER_PUBLIC.into(),
                    content: text(pem::encode_public(new.public())),
                    mode: 0o644,
                },
            ];
            // did.txt usually holds the server's did:web (stays); a did:key must follow the key.
            let did_txt = crate::store::fs::read_small_text(&dir.join(DID_TXT))
                .map(|t| t.trim().to_string())
                .unwrap_or_default();
            if did_txt.is_empty() || crate::core::did::method(&did_txt) == "key" {
                files.push(NewFile {
                    name: DID_TXT.into(),
                    content: text(new.public().did_key()),
                    mode: 0o644,
                });
            }
            files
        }
    }
}

/// Stage → record → exchange → record → clean up → record. The journal is written
/// (and fsynced) before each step that changes which key is current, so that recovery
/// ([`settle`]) never has to guess.
fn swap(
    paths: &Paths,
    j: &mut Journal,
    files: &[NewFile],
    meta: &ArchiveMeta,
) -> Result<(), AppError> {
    let manifest = rs::stage(paths, j.kind, files, &j.archive, meta)?;
    let to = j
        .new_fingerprint
        .clone()
        .ok_or_else(|| AppError::Refused("the journal names no new key".into()))?;
    // Stage can take a while; an SDK may have rewritten the key meanwhile (it does so at
    // every start while an env var injects one). Swapping now would drop that key.
    if rs::fingerprint_in(&paths.dir, j.kind).as_deref() != Some(j.old_fingerprint.as_str()) {
        return Err(AppError::Refused(format!(
            "the key in {} changed while the rotation was being prepared; nothing was swapped — look at it with `capiscio-tui show {}` and try again",
            paths.dir.display(),
            j.identity_id
        )));
    }
    rs::verify_staged(
        paths,
        j.kind,
        &manifest,
        &to,
        &j.old_fingerprint,
        &j.archive,
    )
    .map_err(AppError::Refused)?;
    j.manifest = manifest;
    j.phase = Phase::Staged;
    rs::write_journal(paths, j)?;
    rs::exchange(paths)?;
    j.phase = Phase::Swapped;
    rs::write_journal(paths, j)?;
    rs::discard(paths, j.kind, None)?;
    j.phase = match j.op {
        Op::Rotate => Phase::Done,
        Op::Rollback => Phase::RolledBack,
    };
    j.manifest.clear();
    rs::write_journal(paths, j)?;
    Ok(())
}

/// Whether an interrupted swap ended with the exchange carried out or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// The journal's new key is current and the leftovers are gone.
    Exchanged,
    /// The old key is current; the staging directory is gone; phase `abandoned`.
    NotExchanged,
}

/// Brings an interrupted swap (a rotation's or a rollback's) to a consistent end,
/// judging by the journal and checking it against the disk. `finish`: carry out an
/// exchange that was staged completely but not done (resume) instead of dropping it.
/// Every step is idempotent: killed anywhere, running it again continues.
fn settle(paths: &Paths, j: &mut Journal, finish: bool) -> Result<Settled, AppError> {
    rs::repair_missing_dir(paths)?;
    let kind = j.kind;
    let current = rs::fingerprint_in(&paths.dir, kind);
    let to = j.new_fingerprint.clone();
    if current.is_some() && current == to {
        if j.phase < Phase::Swapped {
            j.phase = Phase::Swapped;
            rs::write_journal(paths, j)?;
        }
        if !rs::keys_held(&paths.dir, kind)
            .archived
            .contains(&j.old_fingerprint)
        {
            return Err(AppError::Refused(format!(
                "{} holds the new key but its archive lacks the replaced key {}; not touching anything — inspect it with `capiscio-tui archive list {}`",
                paths.dir.display(),
                j.old_fingerprint,
                j.identity_id
            )));
        }
        rs::discard(paths, kind, None)?;
        return Ok(Settled::Exchanged);
    }
    if current.as_deref() != Some(j.old_fingerprint.as_str()) {
        return Err(AppError::Refused(format!(
            "{} holds neither the replaced key ({}) nor the new one; not touching it — inspect it with `capiscio-tui show {}`",
            paths.dir.display(),
            j.old_fingerprint,
            j.identity_id
        )));
    }
    if j.phase >= Phase::Swapped && j.phase != Phase::Abandoned {
        return Err(AppError::Refused(format!(
            "the journal of {} says the keys were swapped, but {} still holds the replaced key; not touching it — inspect it with `capiscio-tui show {}`",
            j.identity_id,
            paths.dir.display(),
            j.identity_id
        )));
    }
    if finish
        && j.phase == Phase::Staged
        && let Some(to) = to.as_deref()
        && rs::verify_staged(paths, kind, &j.manifest, to, &j.old_fingerprint, &j.archive).is_ok()
    {
        rs::exchange(paths)?;
        j.phase = Phase::Swapped;
        rs::write_journal(paths, j)?;
        rs::discard(paths, kind, None)?;
        return Ok(Settled::Exchanged);
    }
    // Recorded before anything is deleted: a half-deleted staging directory is never
    // mistaken for a staged one.
    if j.phase != Phase::Abandoned {
        j.phase = Phase::Abandoned;
        j.manifest.clear();
        rs::write_journal(paths, j)?;
    }
    rs::discard(paths, kind, to.as_deref())?;
    Ok(Settled::NotExchanged)
}

/// A swap that failed before its exchange (disk full, read-only, a refused file): drop
/// what was staged and leave no interrupted journal behind. When even the journal cannot
/// be written, remove it — the old key never moved, so there is nothing to resume.
fn abandon_unswapped(paths: &Paths, j: &mut Journal) {
    // A failed sync at the end (the disk is still full) does not undo the removal.
    if rs::discard(paths, j.kind, j.new_fingerprint.as_deref()).is_err()
        && (crate::store::fs::exists(&paths.staging)
            || crate::store::fs::exists(&rs::aside_path(paths)))
    {
        return; // doctor reports the leftover; the journal still explains it
    }
    j.phase = Phase::Abandoned;
    j.manifest.clear();
    if rs::write_journal(paths, j).is_err() {
        let _ = std::fs::remove_file(&paths.journal);
    }
}

/// The new key's files plus the archive record of the key it replaces.
fn rotation_files(
    paths: &Paths,
    j: &mut Journal,
    old: &crate::core::key::PublicKey,
    new: &KeyPair,
    now: i64,
) -> (Vec<NewFile>, ArchiveMeta) {
    let files = new_layout(&paths.dir, j.kind, old, new, j.mode, j.grace_until);
    j.archive = rs::unique_archive_name(&paths.dir, &j.archive);
    j.new_fingerprint = Some(new.public().fingerprint());
    j.new_did = Some(new.public().did_key());
    let meta = ArchiveMeta {
        fingerprint: j.old_fingerprint.clone(),
        did: j.old_did.clone(),
        archived_at: now,
        reason: format!("{} rotation", j.mode.as_str()),
        compromised: j.mode == Mode::Emergency,
        seq: 0,
    };
    (files, meta)
}

/// Runs the swap; on failure, leaves a clean state and says which one.
fn swap_or_explain(
    paths: &Paths,
    j: &mut Journal,
    files: &[NewFile],
    meta: &ArchiveMeta,
) -> Result<(), AppError> {
    let Err(e) = swap(paths, j, files, meta) else {
        return Ok(());
    };
    let current = rs::fingerprint_in(&paths.dir, j.kind);
    if current.is_some() && current == j.new_fingerprint {
        return Err(AppError::Refused(format!(
            "{e} — the new key is already in place and the old one archived; finish with `capiscio-tui rotate {} --resume`",
            j.identity_id
        )));
    }
    abandon_unswapped(paths, j);
    let what = match j.op {
        Op::Rotate => "the rotation",
        Op::Rollback => "the rollback",
    };
    Err(AppError::Refused(format!(
        "{e} — {what} stopped before any key was replaced: {} still holds key {}, nothing was lost",
        paths.dir.display(),
        j.old_fingerprint
    )))
}

/// The exact commands that finish or undo an unfinished swap.
fn unfinished(j: &Journal) -> String {
    let what = match j.op {
        Op::Rotate => "a rotation",
        Op::Rollback => "a rollback",
    };
    format!(
        "{what} of {0} was interrupted; finish it with `capiscio-tui rotate {0} --resume` or undo it with `capiscio-tui rotate {0} --rollback`",
        j.identity_id
    )
}

/// Runs a rotation end to end (the caller has shown the plan and got confirmation).
pub async fn execute(
    ctx: &Context,
    found: &Found,
    opts: &Options,
    client: Option<&RegistryClient>,
) -> Result<Journal, AppError> {
    let dir = identity_dir(found)?;
    let paths = Paths::for_dir(&dir);
    let _lock = rs::lock(&paths, &found.identity.id)?;
    if let Some(mut prev) = rs::read_journal(&paths)? {
        if prev.interrupted() {
            return Err(AppError::Refused(unfinished(&prev)));
        }
        // A finished journal with a leftover staging directory: tidy it (guarded).
        if sfs_exists(&paths.staging) {
            settle(&paths, &mut prev, false)?;
        }
    }
    let old = crate::app::export::load_key(ctx, found)?;
    let mut j = Journal::new(
        &found.identity.id,
        found.identity.kind,
        &dir.display().to_string(),
        opts.mode,
        ctx.now,
        old.public(),
        opts.grace_days,
        found
            .identity
            .badge
            .as_ref()
            .map(|b| b.jti.clone())
            .filter(|j| !j.is_empty()),
        opts.capture_format.as_str(),
    );
    j.registry_id.clone_from(&found.identity.registry_id);
    j.set(StepId::ReviewImpact, StepState::Done, ctx.now);
    let new = crate::app::generate::fresh_key()?;
    let (files, meta) = rotation_files(&paths, &mut j, old.public(), &new, ctx.now);
    // Nothing has changed yet if this first write fails (disk full): no journal, no trace.
    if let Err(e) = rs::write_journal(&paths, &j) {
        let _ = std::fs::remove_file(&paths.journal);
        return Err(AppError::Refused(format!(
            "{e} — the rotation did not start; {} still holds key {}",
            dir.display(),
            j.old_fingerprint
        )));
    }
    swap_or_explain(&paths, &mut j, &files, &meta)?;
    j.set(StepId::ArchiveAndGenerate, StepState::Done, ctx.now);
    rs::write_journal(&paths, &j)?;
    drop(old);
    continue_steps(ctx, &paths, &mut j, client, opts.new_agent).await?;
    Ok(j)
}

fn sfs_exists(p: &Path) -> bool {
    crate::store::fs::exists(p)
}

/// Finishes an interrupted swap (judging by what is on disk, not only the journal) and
/// then retries whatever walkthrough steps are still open.
pub async fn resume(
    ctx: &Context,
    found: &Found,
    client: Option<&RegistryClient>,
    new_agent: bool,
) -> Result<Journal, AppError> {
    let dir = identity_dir(found)?;
    let paths = Paths::for_dir(&dir);
    let lock = rs::lock(&paths, &found.identity.id)?;
    let mut j = rs::read_journal(&paths)?.ok_or_else(|| {
        AppError::Refused(format!("no rotation of {} to resume", found.identity.id))
    })?;
    if j.op == Op::Rollback {
        if j.interrupted() && settle(&paths, &mut j, true)? == Settled::Exchanged {
            j.phase = Phase::RolledBack;
            rs::write_journal(&paths, &j)?;
            return Ok(j);
        }
        if j.phase == Phase::Abandoned {
            // The rollback never swapped: carry it out now, as asked the first time.
            drop(lock);
            rollback(ctx, found)?;
            return rs::read_journal(&paths)?.ok_or_else(|| {
                AppError::Refused(format!("no rotation of {} to resume", found.identity.id))
            });
        }
        return Err(AppError::Refused(format!(
            "the last operation on {} was a finished rollback; there is nothing to resume — start a new rotation if you want one",
            j.identity_id
        )));
    }
    if j.phase == Phase::RolledBack {
        return Err(AppError::Refused(format!(
            "the last rotation of {} was rolled back; start a new one",
            j.identity_id
        )));
    }
    if j.interrupted() || j.phase == Phase::Abandoned {
        match settle(&paths, &mut j, true)? {
            Settled::Exchanged => {
                j.phase = Phase::Done;
                j.manifest.clear();
                j.set(StepId::ArchiveAndGenerate, StepState::Done, ctx.now);
                rs::write_journal(&paths, &j)?;
            }
            Settled::NotExchanged => {
                // Staging never completed: start it again with a fresh key.
                let old = disk::load_secret_file(&secret_ref(&paths.dir, j.kind))?;
                let new = crate::app::generate::fresh_key()?;
                j.phase = Phase::Started;
                let (files, meta) = rotation_files(&paths, &mut j, old.public(), &new, ctx.now);
                rs::write_journal(&paths, &j)?;
                swap_or_explain(&paths, &mut j, &files, &meta)?;
                j.set(StepId::ArchiveAndGenerate, StepState::Done, ctx.now);
                rs::write_journal(&paths, &j)?;
            }
        }
    } else if sfs_exists(&paths.staging) {
        settle(&paths, &mut j, false)?;
    }
    continue_steps(ctx, &paths, &mut j, client, new_agent).await?;
    Ok(j)
}

fn secret_ref(dir: &Path, kind: Kind) -> disk::SecretRef {
    match kind {
        Kind::Agent => disk::SecretRef::AgentJwk(dir.join(disk::AGENT_PRIVATE)),
        Kind::McpServer => disk::SecretRef::ServerPem(dir.join(disk::SERVER_PRIVATE)),
    }
}

/// The walkthrough after the swap: env, registry, badge, capture, verify.
async fn continue_steps(
    ctx: &Context,
    paths: &Paths,
    j: &mut Journal,
    client: Option<&RegistryClient>,
    new_agent: bool,
) -> Result<(), AppError> {
    let now = ctx.now;
    let mut paths = paths.clone();
    let new = disk::load_secret_file(&secret_ref(&paths.dir, j.kind))?;
    // Env: does anything here still inject the old key?
    let old_public = crate::core::did::parse_did_key(&j.old_did).ok();
    let env_old = old_public
        .map(|p| env_vars_with_key(ctx, &p))
        .unwrap_or_default();
    let env_state = match (env_old.is_empty(), j.step(StepId::ReplaceEnv)) {
        (false, _) => StepState::Pending(Some(format!(
            "{} injects the old key: unset it, or set it to the new key (`capiscio-tui export {} --format env`)",
            env_old.join(", "),
            j.identity_id
        ))),
        // It was injecting the old key earlier and no longer does.
        (true, StepState::Pending(Some(_))) => StepState::Done,
        (true, StepState::Pending(None)) => StepState::Skipped(
            "no env var here injects the old key (check your deployments' secrets too)".into(),
        ),
        (true, settled) => settled.clone(),
    };
    j.set(StepId::ReplaceEnv, env_state, now);
    rs::write_journal(&paths, j)?;

    let offline_reason = match client {
        None => Some("offline: run `rotate … --resume` when the registry is reachable".to_string()),
        Some(c) if c.api_key().is_none() => Some("needs CAPISCIO_API_KEY".to_string()),
        Some(_) => None,
    };
    if let (Some(c), None) = (client, &offline_reason) {
        if !j.step(StepId::Register).is_settled() {
            let state = register_new_key(c, &ctx.home, &paths, j, &new, new_agent).await;
            j.set(StepId::Register, state, now);
            // `--new-agent` may have moved the identity: follow it.
            paths = Paths::for_dir(Path::new(&j.dir));
            rs::write_journal(&paths, j)?;
        }
        if j.mode == Mode::Emergency
            && let Some(jti) = j.old_badge_jti.clone()
            && !j.notes.iter().any(|n| n.contains(&jti))
        {
            let note = match c
                .revoke_badge(&jti, "key compromise (emergency rotation)")
                .await
            {
                Ok(()) => format!("revoked the old badge {jti}"),
                Err(e) => format!(
                    "could not revoke the old badge {jti} ({e}); revoke it in the dashboard"
                ),
            };
            j.notes.push(note);
            rs::write_journal(&paths, j)?;
        }
        if j.step(StepId::Register).is_settled() && !j.step(StepId::NewBadge).is_settled() {
            let state = match j.kind {
                Kind::McpServer => StepState::Skipped(
                    "MCP servers get their badge (in memory) when they start".into(),
                ),
                Kind::Agent => match c.request_agent_badge(&j.identity_id).await {
                    Ok(b) => match crate::store::fs::write_atomic(
                        &paths.dir.join(disk::AGENT_BADGE),
                        b.token.as_bytes(),
                        0o600,
                        crate::store::fs::Overwrite::Allow,
                    ) {
                        Ok(()) => StepState::Done,
                        Err(e) => StepState::Failed(e.to_string()),
                    },
                    Err(e) => StepState::Failed(format!("badge request failed: {e}")),
                },
            };
            j.set(StepId::NewBadge, state, now);
            rs::write_journal(&paths, j)?;
        }
    } else if let Some(r) = &offline_reason {
        for s in [StepId::Register, StepId::NewBadge] {
            if !j.step(s).is_settled() {
                j.set(s, StepState::Pending(Some(r.clone())), now);
            }
        }
    }
    let facts = target_facts(ctx, j.kind, &j.identity_id);
    j.push_targets = facts.iter().map(|t| t.target.clone()).collect();
    if !facts.is_empty() {
        let stale: Vec<&str> = facts
            .iter()
            .filter(|t| j.new_fingerprint.as_deref() != Some(t.fingerprint.as_str()))
            .map(|t| t.target.as_str())
            .collect();
        let state = if stale.is_empty() {
            StepState::Done
        } else {
            StepState::Pending(Some(format!(
                "not pushed yet to {}: `capiscio-tui rotate {1} --resume --push` (or `capiscio-tui push {1}`)",
                stale.join(", "),
                j.identity_id
            )))
        };
        if *j.step(StepId::Capture) != state {
            j.set(StepId::Capture, state, now);
        }
    } else if !j.step(StepId::Capture).is_settled() {
        j.set(
            StepId::Capture,
            StepState::Pending(Some(format!(
                "store the new key in your secrets manager: `capiscio-tui export {} --format {}`",
                j.identity_id, j.capture_format
            ))),
            now,
        );
    }
    let verify = verify_step(ctx, j, client).await;
    j.set(StepId::Verify, verify, now);
    rs::write_journal(&paths, j)?;
    Ok(())
}

async fn register_new_key(
    c: &RegistryClient,
    home: &Path,
    paths: &Paths,
    j: &mut Journal,
    new: &KeyPair,
    new_agent: bool,
) -> StepState {
    let did = new.public().did_key();
    let outcome = match j.kind {
        Kind::Agent => {
            let public =
                serde_json::from_str::<serde_json::Value>(&jwk::to_go_public(new.public()))
                    .map(|v| v.to_string())
                    .unwrap_or_default();
            c.register_agent_identity(&j.identity_id, &did, &public)
                .await
        }
        Kind::McpServer => {
            c.put_server(
                j.registry_id.as_deref().unwrap_or(&j.identity_id),
                &did,
                &pem::encode_public(new.public()),
            )
            .await
        }
    };
    match outcome {
        Ok(WriteOutcome::Done(_)) => StepState::Done,
        Ok(WriteOutcome::AlreadySet(_)) if j.kind == Kind::Agent && new_agent => {
            match move_to_new_agent(c, home, paths, j, new).await {
                Ok(()) => StepState::Done,
                Err(e) => StepState::Failed(e),
            }
        }
        Ok(WriteOutcome::AlreadySet(_)) => StepState::Failed(match j.kind {
            Kind::Agent => format!(
                "the registry keeps the old key for agent {} (HTTP 409; an agent's identity is set once). Either run `capiscio-tui rotate {} --resume --new-agent` \
                 (creates a new agent record and moves this identity to its id) or update the agent's key in the CapiscIO dashboard, then `--resume`",
                j.identity_id, j.identity_id
            ),
            Kind::McpServer => format!(
                "the registry answered 409 for server {}: it keeps the old key; update it in the dashboard, then `--resume`",
                j.identity_id
            ),
        }),
        Ok(WriteOutcome::NotFound) => StepState::Failed(format!(
            "the registry has no {} {}{}",
            j.kind.label(),
            j.identity_id,
            if j.kind == Kind::Agent {
                format!(
                    ": `capiscio-tui register {}` creates one for the new key",
                    j.identity_id
                )
            } else {
                String::new()
            }
        )),
        Err(e) => StepState::Failed(format!("registry: {e}")),
    }
}

/// `--new-agent`: a new agent record for the new key; the identity moves to its id.
async fn move_to_new_agent(
    c: &RegistryClient,
    home: &Path,
    paths: &Paths,
    j: &mut Journal,
    new: &KeyPair,
) -> Result<(), String> {
    let name = crate::store::fs::read_small_text(&paths.dir.join(AGENT_CARD))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("{} (rotated)", j.identity_id));
    let rec = c
        .create_agent(&name)
        .await
        .map_err(|e| format!("creating the new agent failed: {e}"))?;
    let new_id = rec
        .id
        .ok_or("the registry created an agent but sent no id")?;
    let public = serde_json::from_str::<serde_json::Value>(&jwk::to_go_public(new.public()))
        .map(|v| v.to_string())
        .unwrap_or_default();
    match c
        .register_agent_identity(&new_id, &new.public().did_key(), &public)
        .await
    {
        Ok(WriteOutcome::Done(_)) => {}
        other => {
            return Err(format!(
                "registering the key for the new agent {new_id} failed: {other:?}"
            ));
        }
    }
    let valid = crate::core::ids::IdentityId::parse(&new_id)
        .map_err(|e| format!("the registry's new agent id is unusable as a directory: {e}"))?;
    let parent = paths.dir.parent().unwrap_or(Path::new("."));
    let target = crate::store::create::identity_path(parent, &valid);
    if crate::store::fs::exists(&target) {
        return Err(format!(
            "{} already exists; not replacing it",
            target.display()
        ));
    }
    std::fs::rename(&paths.dir, &target).map_err(|e| {
        format!(
            "moving {} to {}: {e}",
            paths.dir.display(),
            target.display()
        )
    })?;
    let new_paths = Paths::for_dir(&target);
    let old_id = std::mem::replace(&mut j.identity_id, new_id.clone());
    j.dir = target.display().to_string();
    j.notes.push(format!(
        "agent {old_id} keeps the old key in the registry; this identity is now agent {new_id}"
    ));
    rs::write_journal(&new_paths, j).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&paths.journal);
    // The recorded push targets belong to the identity, not to its old id.
    match crate::store::targets::move_records(home, j.kind, &old_id, &new_id) {
        Ok(0) => {}
        Ok(n) => j.notes.push(format!(
            "moved {n} recorded push target(s) from {old_id} to {new_id}"
        )),
        Err(e) => j.notes.push(format!(
            "could not move the recorded push targets of {old_id} to {new_id}: {e}"
        )),
    }
    rs::write_journal(&new_paths, j).map_err(|e| e.to_string())?;
    Ok(())
}

async fn verify_step(ctx: &Context, j: &Journal, client: Option<&RegistryClient>) -> StepState {
    let dir = PathBuf::from(&j.dir);
    let mut found = match j.kind {
        Kind::Agent => disk::inspect_agent(&dir, &j.identity_id, true, ctx.now),
        Kind::McpServer => disk::inspect_server(
            &dir,
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
                .as_str(),
        ),
    };
    if found.identity.key_did != j.new_did {
        return StepState::Failed("the identity does not hold the new key".into());
    }
    if !j.push_targets.is_empty() {
        match crate::app::push::deployed(ctx, &[&found], DEPLOYED_TIMEOUT) {
            Ok(rows) if rows.iter().any(|r| r.fails()) => {
                let states: Vec<String> = rows
                    .iter()
                    .map(|r| format!("{} {}", r.target, r.state.as_str()))
                    .collect();
                return StepState::Pending(Some(format!("deployed: {}", states.join(", "))));
            }
            Ok(_) => {}
            Err(e) => return StepState::Pending(Some(format!("deployed: {e}"))),
        }
    }
    let Some(c) = client else {
        return StepState::Pending(Some(
            "offline: the new key is in place; badge and registry not checked yet".into(),
        ));
    };
    crate::app::status::check_all(c, std::slice::from_mut(&mut found), &ctx.env, ctx.now).await;
    let i: &Identity = &found.identity;
    if let Some(p) = i
        .problems
        .iter()
        .find(|p| p.severity == crate::core::identity::Severity::Error)
    {
        return StepState::Pending(Some(format!("{}: {}", p.code.as_str(), p.message)));
    }
    match (j.kind, &i.badge) {
        (Kind::Agent, Some(b)) if b.state.is_good() => StepState::Done,
        (Kind::Agent, Some(b)) => {
            StepState::Pending(Some(format!("badge is {}", b.state.as_str())))
        }
        (Kind::Agent, None) => StepState::Pending(Some("no badge yet".into())),
        (Kind::McpServer, _) => StepState::Done,
    }
}

#[derive(Debug, Serialize)]
pub struct Rollback {
    pub id: String,
    pub restored_fingerprint: String,
    pub restored_did: String,
    pub archived_as: Option<String>,
    /// What the rollback means for badges and the registry.
    pub notes: Vec<String>,
}

/// Restores the key that was current before the newest rotation (archiving the
/// current one, so nothing is lost). An interrupted rotation that never swapped is
/// simply dropped; an interrupted rollback is finished.
pub fn rollback(ctx: &Context, found: &Found) -> Result<Rollback, AppError> {
    let dir = identity_dir(found)?;
    let paths = Paths::for_dir(&dir);
    let _lock = rs::lock(&paths, &found.identity.id)?;
    let kind = found.identity.kind;
    if let Some(mut j) = rs::read_journal(&paths)? {
        let pending =
            j.interrupted() || sfs_exists(&paths.staging) || sfs_exists(&rs::aside_path(&paths));
        match (j.op, pending) {
            (Op::Rotate, true) => {
                if settle(&paths, &mut j, false)? == Settled::NotExchanged {
                    j.phase = Phase::RolledBack;
                    rs::write_journal(&paths, &j)?;
                    return Ok(Rollback {
                        id: found.identity.id.clone(),
                        restored_fingerprint: j.old_fingerprint.clone(),
                        restored_did: j.old_did.clone(),
                        archived_as: None,
                        notes: vec![
                            "the interrupted rotation had not swapped keys yet; the old key was never replaced"
                                .into(),
                        ],
                    });
                }
                if j.phase < Phase::Done {
                    j.phase = Phase::Done;
                    j.manifest.clear();
                    rs::write_journal(&paths, &j)?;
                }
                // The rotation had swapped: undo it below like a finished one.
            }
            (Op::Rollback, true) if settle(&paths, &mut j, true)? == Settled::Exchanged => {
                j.phase = Phase::RolledBack;
                rs::write_journal(&paths, &j)?;
                return Ok(Rollback {
                    id: found.identity.id.clone(),
                    restored_fingerprint: j.new_fingerprint.clone().unwrap_or_default(),
                    restored_did: j.new_did.clone().unwrap_or_default(),
                    archived_as: Some(j.archive.clone()),
                    notes: vec!["finished the interrupted rollback".into()],
                });
            }
            // An interrupted rollback that never swapped is done now, below.
            _ => {}
        }
    }
    let current = disk::load_secret_file(&secret_ref(&dir, kind)).map_err(|e| {
        AppError::Refused(format!(
            "the current key of {} cannot be read ({e}); rolling back would archive nothing — fix it first (`capiscio-tui doctor`)",
            found.identity.id
        ))
    })?;
    let cur_fp = current.public().fingerprint();
    // The key before the newest rotation: a key archived by a rollback is the one that
    // was rolled away from, never the one to go back to.
    let entry = rs::list_archive(&dir, kind)
        .into_iter()
        .rev()
        .find(|e| {
            e.key_ok
                && e.meta.as_ref().is_none_or(|m| m.reason != "rollback")
                && e.meta.as_ref().map(|m| m.fingerprint.as_str()) != Some(cur_fp.as_str())
        })
        .ok_or_else(|| {
            AppError::Refused(format!(
                "{} has no archived key to roll back to",
                found.identity.id
            ))
        })?;
    let archived_dir = PathBuf::from(&entry.path);
    let restored = disk::load_secret_file(&secret_ref(&archived_dir, kind))?;
    let mut files = match kind {
        Kind::Agent => vec![
            NewFile {
                name: disk::AGENT_PRIVATE.into(),
                content: Zeroizing::new(jwk::to_go_private(&restored).as_bytes().to_vec()),
                mode: 0o600,
            },
            NewFile {
                name: disk::AGENT_PUBLIC.into(),
                content: Zeroizing::new(jwk::to_go_public(restored.public()).into_bytes()),
                mode: 0o644,
            },
        ],
        Kind::McpServer => vec![
            NewFile {
                name: disk::SERVER_PRIVATE.into(),
                content: Zeroizing::new(pem::encode_private(&restored).as_bytes().to_vec()),
                mode: 0o600,
            },
            NewFile {
                name: disk::SERVER_PUBLIC.into(),
                content: Zeroizing::new(pem::encode_public(restored.public()).into_bytes()),
                mode: 0o644,
            },
        ],
    };
    let mut notes = Vec::new();
    // The card and did.txt as they were with that key; its badge if it still has one.
    for name in [AGENT_CARD, DID_TXT, disk::AGENT_BADGE] {
        if let Ok(text) = crate::store::fs::read_small_text(&archived_dir.join(name)) {
            let bytes = text.as_bytes().to_vec();
            let mode = if name == disk::AGENT_BADGE {
                0o600
            } else {
                0o644
            };
            files.push(NewFile {
                name: name.into(),
                content: Zeroizing::new(bytes),
                mode,
            });
            if name == disk::AGENT_BADGE {
                notes.push("restored the old key's badge.jwt from the archive (it may have expired; `capiscio-tui badge request` gets a fresh one)".into());
            }
        }
    }
    if let Some(b) = &found.identity.badge {
        notes.push(format!(
            "badge {} belongs to the rolled-back key; it is archived with it",
            b.jti
        ));
    }
    notes.push(format!(
        "if the registry was given the rolled-back key, register the restored key again (`capiscio-tui register {}`) or fix it in the dashboard",
        found.identity.id
    ));
    let archive_name =
        rs::unique_archive_name(&dir, &rs::archive_name(ctx.now, &cur_fp, "-rolled-back"));
    let meta = ArchiveMeta {
        fingerprint: cur_fp.clone(),
        did: current.public().did_key(),
        archived_at: ctx.now,
        reason: "rollback".into(),
        compromised: false,
        seq: 0,
    };
    let mut j = Journal::new(
        &found.identity.id,
        kind,
        &dir.display().to_string(),
        Mode::Planned,
        ctx.now,
        current.public(),
        0,
        None,
        "env",
    );
    j.op = Op::Rollback;
    j.registry_id.clone_from(&found.identity.registry_id);
    j.grace_until = None;
    j.archive = archive_name.clone();
    j.new_fingerprint = Some(restored.public().fingerprint());
    j.new_did = Some(restored.public().did_key());
    for id in StepId::ALL.iter() {
        j.set(*id, StepState::Skipped("rollback".into()), ctx.now);
    }
    rs::write_journal(&paths, &j).map_err(|e| {
        AppError::Refused(format!("{e} — the rollback did not start; nothing changed"))
    })?;
    swap_or_explain(&paths, &mut j, &files, &meta)?;
    Ok(Rollback {
        id: found.identity.id.clone(),
        restored_fingerprint: restored.public().fingerprint(),
        restored_did: restored.public().did_key(),
        archived_as: Some(archive_name),
        notes,
    })
}

/// Marks the capture step done when the exported key is the one a rotation put in place.
/// With recorded push targets, capturing means pushing to all of them: it is done only
/// when every record holds the new key.
pub fn note_capture(home: &Path, found: &Found, exported: &crate::core::key::PublicKey, now: i64) {
    if found.identity.source != Source::Disk {
        return;
    }
    let paths = Paths::for_dir(Path::new(&found.identity.location));
    let Ok(_lock) = rs::lock_within(&paths, &found.identity.id, LOCK_PATIENCE) else {
        return;
    };
    if let Ok(Some(mut j)) = rs::read_journal(&paths)
        && j.phase == Phase::Done
        && j.new_fingerprint.as_deref() == Some(exported.fingerprint().as_str())
        && !j.step(StepId::Capture).is_settled()
        && crate::store::targets::load(home, found.identity.kind, &found.identity.id)
            .unwrap_or_default()
            .iter()
            .all(|r| r.fingerprint == exported.fingerprint())
    {
        j.set(StepId::Capture, StepState::Done, now);
        let _ = rs::write_journal(&paths, &j);
    }
}

/// The journal of an identity, if a rotation ever ran on it.
pub fn journal_of(found: &Found) -> Option<Journal> {
    (found.identity.source == Source::Disk)
        .then(|| {
            rs::read_journal(&Paths::for_dir(Path::new(&found.identity.location)))
                .ok()
                .flatten()
        })
        .flatten()
}

#[derive(Debug, Serialize)]
pub struct Purged {
    pub removed: Vec<String>,
    pub kept: usize,
}

/// Removes archive entries older than `older_than_days` (all when `None`).
pub fn purge_archive(
    ctx: &Context,
    found: &Found,
    older_than_days: Option<u32>,
) -> Result<Purged, AppError> {
    let dir = identity_dir(found)?;
    let paths = Paths::for_dir(&dir);
    let _lock = rs::lock_within(&paths, &found.identity.id, LOCK_PATIENCE)?;
    if rs::archive_is_symlink(&dir) {
        return Err(AppError::Refused(format!(
            "{}/archive is a symlink; capiscio-tui does not delete through links — replace it with the directory itself",
            dir.display()
        )));
    }
    let mut removed = Vec::new();
    let mut kept = 0;
    for e in rs::list_archive(&dir, found.identity.kind) {
        let age_ok = match (older_than_days, e.meta.as_ref()) {
            (None, _) => true,
            (Some(d), Some(m)) => {
                ctx.now.saturating_sub(m.archived_at) > i64::from(d).saturating_mul(86_400)
            }
            (Some(_), None) => false,
        };
        if age_ok {
            std::fs::remove_dir_all(&e.path)
                .map_err(|err| AppError::Refused(format!("cannot remove {}: {err}", e.path)))?;
            removed.push(e.name);
        } else {
            kept += 1;
        }
    }
    Ok(Purged { removed, kept })
}

#[derive(Debug, Serialize)]
pub struct GraceEnded {
    pub id: String,
    pub card: String,
    pub dropped: Vec<rotation::Retiring>,
}

/// Ends a planned rotation's grace period: the old key leaves the agent card, so
/// partners stop trusting it. Only the card changes; the archived key stays.
/// Before the deadline (or with none stated) it takes `early`: partners may still be
/// moving to the new key.
pub fn end_grace(found: &Found, now: i64, early: bool) -> Result<GraceEnded, AppError> {
    let id = &found.identity.id;
    if found.identity.kind != Kind::Agent || found.identity.source == Source::Env {
        return Err(AppError::Refused(format!(
            "{id} has no agent card on disk: only agents list retiring keys"
        )));
    }
    let dir = PathBuf::from(&found.identity.location);
    crate::store::create::refuse_symlinked_identity(&dir)?;
    let paths = Paths::for_dir(&dir);
    let _lock = rs::lock_within(&paths, id, LOCK_PATIENCE)?;
    let path = dir.join(AGENT_CARD);
    if crate::store::fs::is_symlink(&path) {
        return Err(AppError::Refused(format!(
            "{} is a symlink; not writing through it",
            path.display()
        )));
    }
    let card = crate::store::fs::read_small_text(&path)
        .map_err(|e| AppError::Refused(format!("{}: {e}", path.display())))?;
    let (text, dropped) = rotation::end_grace(&card).ok_or_else(|| {
        AppError::Refused(format!(
            "{} lists no retiring key: there is no grace period to end",
            path.display()
        ))
    })?;
    if !early
        && let Some(k) = dropped
            .iter()
            .find(|k| k.retire_after.is_none_or(|t| t > now))
    {
        return Err(AppError::Refused(format!(
            "the grace period of {} {}; add --yes to end it early",
            k.kid,
            match k.retire_after {
                Some(t) => format!("runs until {}", crate::core::ids::rfc3339(t)),
                None => "has no deadline we can read".into(),
            }
        )));
    }
    let mode = std::fs::metadata(&path)
        .ok()
        .and_then(|m| crate::store::fs::mode_of(&m))
        .unwrap_or(0o644)
        & 0o777;
    crate::store::fs::write_atomic(
        &path,
        text.as_bytes(),
        mode,
        crate::store::fs::Overwrite::Allow,
    )
    .map_err(|e| AppError::Refused(e.to_string()))?;
    Ok(GraceEnded {
        id: id.clone(),
        card: path.display().to_string(),
        dropped,
    })
}
