//! Keyring operations: generate into it, import a disk key (write, read back, verify,
//! only then remove the plaintext), materialise back to disk, delete, and the registry
//! API key (`login` / `logout`).

use crate::app::{AppError, Context};
use crate::core::identity::{Kind, Source};
use crate::core::key::KeyPair;
use crate::core::secret;
use crate::registry::client::{ApiKey, KeySource};
use crate::store::disk::{self, Found, SecretRef};
use crate::store::fs::{self as sfs, Overwrite};
use crate::store::keyring::{self as kr, IndexEntry, Keyring, Marker};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where an identity of this kind and id lives on disk; the id must be a valid one.
fn identity_dir_for(ctx: &Context, kind: Kind, id: &str) -> Result<PathBuf, AppError> {
    let id =
        crate::core::ids::IdentityId::parse(id).map_err(|e| AppError::InvalidId(e.to_string()))?;
    let parent = match kind {
        Kind::Agent => crate::store::scan::agents_dir(&ctx.home),
        Kind::McpServer => crate::store::scan::servers_dir(&ctx.home),
    };
    Ok(crate::store::create::identity_path(&parent, &id))
}

fn refused(e: impl std::fmt::Display) -> AppError {
    AppError::Refused(e.to_string())
}

fn attributes(kind: Kind, id: &str, key: &KeyPair, now: i64) -> Vec<(&'static str, String)> {
    vec![
        ("kind", kind.as_str().to_string()),
        ("id", id.to_string()),
        ("key_did", key.public().did_key()),
        ("fingerprint", key.public().fingerprint()),
        ("created", now.to_string()),
    ]
}

/// Serialises read-modify-write of the keyring index between processes.
fn index_lock(home: &Path) -> Result<crate::store::rotate::Lock, AppError> {
    crate::store::fs::create_private_dir(home)?;
    let paths = crate::store::rotate::Paths::for_dir(&home.join("keyring-index"));
    let lock = crate::store::rotate::lock_within(
        &paths,
        "the keyring index",
        crate::app::rotate::LOCK_PATIENCE,
    )?;
    crate::store::fs::remove_stale_temps_for(&kr::index_path(home));
    Ok(lock)
}

/// The per-identity lock that rotation, fixes and imports share.
fn identity_lock(dir: &Path, id: &str) -> Result<crate::store::rotate::Lock, AppError> {
    crate::store::create::refuse_symlinked_identity(dir)?;
    Ok(crate::store::rotate::lock_within(
        &crate::store::rotate::Paths::for_dir(dir),
        id,
        crate::app::rotate::LOCK_PATIENCE,
    )?)
}

fn upsert_index(home: &Path, entry: IndexEntry) -> Result<(), AppError> {
    let _lock = index_lock(home)?;
    let mut index = kr::read_index(home).map_err(refused)?.unwrap_or_default();
    index.version = 1;
    index
        .entries
        .retain(|e| !(e.kind == entry.kind && e.id == entry.id));
    index.entries.push(entry);
    kr::write_index(home, &index).map_err(refused)
}

fn remove_from_index(home: &Path, kind: Kind, id: &str) -> Result<(), AppError> {
    let _lock = index_lock(home)?;
    if let Some(mut index) = kr::read_index(home).map_err(refused)? {
        index.entries.retain(|e| !(e.kind == kind && e.id == id));
        kr::write_index(home, &index).map_err(refused)?;
    }
    Ok(())
}

/// Stores `text` (the key file's exact content) for `key`, then indexes it.
fn store_key(
    ctx: &Context,
    k: &Keyring,
    kind: Kind,
    id: &str,
    key: &KeyPair,
    text: &str,
) -> Result<(), AppError> {
    let user = kr::user_for(kind, id);
    // The index first: a process killed between the two steps then leaves an index entry
    // that `list` and `doctor` report (`keyring-entry-missing`), never a secret in the
    // keyring that nothing names.
    upsert_index(
        &ctx.home,
        IndexEntry {
            kind,
            id: id.into(),
            key_did: key.public().did_key(),
            fingerprint: key.public().fingerprint(),
            created: ctx.now,
            store: k.kind,
        },
    )?;
    if let Err(e) = k.put(&user, text, &attributes(kind, id, key, ctx.now)) {
        let _ = remove_from_index(&ctx.home, kind, id);
        return Err(refused(e));
    }
    Ok(())
}

/// `generate --store keyring`: the key goes only into the keyring.
pub fn generate(
    ctx: &Context,
    k: &Keyring,
    kind: Kind,
    id: &str,
    key: &KeyPair,
) -> Result<(), AppError> {
    let dir = identity_dir_for(ctx, kind, id)?;
    if dir.exists()
        || kr::read_index(&ctx.home)
            .map_err(refused)?
            .unwrap_or_default()
            .entries
            .iter()
            .any(|e| e.kind == kind && e.id == id)
    {
        return Err(refused(format!(
            "{} {id} exists already; refusing to overwrite a key",
            kind.label()
        )));
    }
    store_key(ctx, k, kind, id, key, &secret::encode(kind, key))
}

#[derive(Debug, Serialize)]
pub struct Imported {
    pub id: String,
    pub store: &'static str,
    pub removed: Vec<String>,
    pub volatile: bool,
}

/// Moves a disk identity's private key into the keyring. Order matters: write and
/// verify, index, marker, and only then delete the plaintext — an interruption at any
/// point leaves the key in at least one place.
pub fn import(ctx: &Context, k: &Keyring, found: &Found) -> Result<Imported, AppError> {
    let (private_path, kind) = match &found.secret {
        SecretRef::AgentJwk(p) => (p.clone(), Kind::Agent),
        SecretRef::ServerPem(p) => (p.clone(), Kind::McpServer),
        SecretRef::Keyring(_) => {
            return Err(refused(format!(
                "{} is already in the keyring",
                found.identity.id
            )));
        }
        _ => {
            return Err(refused(format!(
                "{} has no private key file to import",
                found.identity.id
            )));
        }
    };
    if found.identity.source != Source::Disk || sfs::is_symlink(&private_path) {
        return Err(refused(
            "only a real private key file on disk can be imported (not an env var or a symlink)",
        ));
    }
    let dir = private_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let _lock = identity_lock(&dir, &found.identity.id)?;
    let key = disk::load_secret_file(&found.secret)?;
    // The file as it is, so that exporting it back is byte-identical.
    let text = sfs::read_small_text(&private_path).map_err(refused)?;
    let id = &found.identity.id;
    store_key(ctx, k, kind, id, &key, &text)?;
    // Read back once more through a fresh lookup before anything is deleted.
    let back = k.get(&kr::user_for(kind, id)).map_err(refused)?;
    if secret::decode(kind, &back).map_err(refused)? != key {
        return Err(refused(
            "the keyring returned a different key; nothing was removed",
        ));
    }
    let stored = text;
    let marker = Marker {
        store: k.kind,
        service: kr::SERVICE.into(),
        user: kr::user_for(kind, id),
        fingerprint: key.public().fingerprint(),
    };
    let text = serde_json::to_string_pretty(&marker).map_err(refused)?;
    sfs::write_atomic(
        &dir.join(kr::MARKER_FILE),
        text.as_bytes(),
        0o600,
        Overwrite::Allow,
    )?;
    let mut removed = Vec::new();
    let mut doomed = vec![private_path.clone()];
    if kind == Kind::McpServer
        && let Ok(rd) = std::fs::read_dir(&dir)
    {
        doomed.extend(rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
            p.file_name().is_some_and(|n| {
                n.to_string_lossy().starts_with("key-") && n.to_string_lossy().ends_with(".pem")
            }) && disk::load_secret_file(&SecretRef::ServerPem(p.clone())).is_ok_and(|k2| k2 == key)
        }));
    }
    // An SDK may have rewritten the file while the keyring answered (it does at every
    // start while an env var injects a key): delete only the bytes that were stored.
    if sfs::read_small_text(&private_path)
        .map_err(refused)?
        .as_str()
        != stored.as_str()
    {
        let _ = std::fs::remove_file(dir.join(kr::MARKER_FILE));
        return Err(refused(format!(
            "{} changed while it was being imported; nothing was removed — run the import again",
            private_path.display()
        )));
    }
    for p in doomed {
        std::fs::remove_file(&p)
            .map_err(|e| refused(format!("cannot remove {}: {e}", p.display())))?;
        removed.push(p.display().to_string());
    }
    sfs::sync_dir(&dir).map_err(refused)?;
    Ok(Imported {
        id: id.clone(),
        store: k.kind.as_str(),
        removed,
        volatile: k.kind.volatile(),
    })
}

/// Writes a keyring identity back into the SDK layout (the keyring copy stays).
pub fn export_to_disk(ctx: &Context, k: &Keyring, found: &Found) -> Result<PathBuf, AppError> {
    let SecretRef::Keyring(user) = &found.secret else {
        return Err(refused(format!(
            "{} is not kept in the keyring",
            found.identity.id
        )));
    };
    let kind = found.identity.kind;
    let text = k.get(user).map_err(refused)?;
    let key = secret::decode(kind, &text).map_err(refused)?;
    let id = &found.identity.id;
    if found.identity.location.starts_with("keyring:") {
        // The id comes from keyring attributes: anything could be stored there.
        let dir = identity_dir_for(ctx, kind, id)?;
        match kind {
            Kind::Agent => disk::write_agent(&dir, &key, None)?,
            Kind::McpServer => disk::write_server(&dir, &key)?,
        }
        return Ok(dir);
    }
    let dir = PathBuf::from(&found.identity.location);
    let _lock = identity_lock(&dir, id)?;
    let name = match kind {
        Kind::Agent => disk::AGENT_PRIVATE,
        Kind::McpServer => disk::SERVER_PRIVATE,
    };
    sfs::refuse_symlinks(&dir.join(name))?;
    sfs::write_atomic(&dir.join(name), text.as_bytes(), 0o600, Overwrite::Refuse)?;
    std::fs::remove_file(dir.join(kr::MARKER_FILE))
        .map_err(|e| refused(format!("cannot remove the keyring marker: {e}")))?;
    Ok(dir)
}

/// Deletes the keyring entry. Refuses to destroy the only copy of a key unless told to.
pub fn delete(
    ctx: &Context,
    k: &Keyring,
    kind: Kind,
    id: &str,
    dir: Option<&Path>,
    discard_only_copy: bool,
) -> Result<(), AppError> {
    let _lock = match dir {
        Some(d) => Some(identity_lock(d, id)?),
        None => None,
    };
    let on_disk = dir.is_some_and(|d| {
        let name = match kind {
            Kind::Agent => disk::AGENT_PRIVATE,
            Kind::McpServer => disk::SERVER_PRIVATE,
        };
        d.join(name).exists()
    });
    if !on_disk && !discard_only_copy {
        return Err(refused(format!(
            "the keyring holds the only copy of {id}'s private key; export it first (`capiscio-tui keyring export {id} --to-disk`) or pass --discard-key to destroy it"
        )));
    }
    match k.delete(&kr::user_for(kind, id)) {
        Ok(()) | Err(kr::KeyringError::NoEntry(_)) => {}
        Err(e) => return Err(refused(e)),
    }
    remove_from_index(&ctx.home, kind, id)?;
    if let Some(d) = dir {
        let _ = std::fs::remove_file(d.join(kr::MARKER_FILE));
    }
    Ok(())
}

/// `login`: the registry API key goes into the keyring; the index remembers (not the key).
pub fn login(ctx: &Context, k: &Keyring, key: &str) -> Result<(), AppError> {
    k.put(
        kr::API_KEY_USER,
        key.trim(),
        &[("kind", "registry-api-key".into())],
    )
    .map_err(refused)?;
    let _lock = index_lock(&ctx.home)?;
    let mut index = kr::read_index(&ctx.home)
        .map_err(refused)?
        .unwrap_or_default();
    index.version = 1;
    index.api_key_store = Some(k.kind);
    kr::write_index(&ctx.home, &index).map_err(refused)
}

pub fn logout(ctx: &Context, k: &Keyring) -> Result<bool, AppError> {
    let existed = match k.delete(kr::API_KEY_USER) {
        Ok(()) => true,
        Err(kr::KeyringError::NoEntry(_)) => false,
        Err(e) => return Err(refused(e)),
    };
    let _lock = index_lock(&ctx.home)?;
    if let Some(mut index) = kr::read_index(&ctx.home).map_err(refused)? {
        index.api_key_store = None;
        kr::write_index(&ctx.home, &index).map_err(refused)?;
    }
    Ok(existed)
}

/// The API key stored by `login`, when no `CAPISCIO_API_KEY` is set. Asks the keyring
/// only if the index says a key was stored there.
pub fn stored_api_key(home: &Path, choice: kr::Choice) -> Option<ApiKey> {
    let store = kr::read_index(home).ok().flatten()?.api_key_store?;
    let choice = match (choice, store) {
        (kr::Choice::None, _) => return None,
        (kr::Choice::Auto, kr::StoreKind::SecretService) => kr::Choice::SecretService,
        (kr::Choice::Auto, kr::StoreKind::Keyutils) => kr::Choice::Keyutils,
        (c, _) => c,
    };
    let k = kr::open(choice).ok()?;
    let v = k.get(kr::API_KEY_USER).ok()?;
    Some(ApiKey::new(&v, KeySource::Keyring))
}
