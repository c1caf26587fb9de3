//! Crash-safe key swap on disk. The new identity directory is built complete in a
//! staging directory next to it (new key, archive of the old key, links to everything
//! else), fsynced, and then exchanged with the real one in a single `renameat2
//! (RENAME_EXCHANGE)`: at every instant the identity directory holds one complete key
//! pair, old or new, and the old key is either still in place or in `archive/`.

use crate::core::identity::Kind;
use crate::core::rotation::{Journal, archive_stamp};
use crate::store::disk::{
    self, AGENT_BADGE, AGENT_CARD, AGENT_PRIVATE, AGENT_PUBLIC, DID_TXT, SERVER_PRIVATE,
    SERVER_PUBLIC,
};
use crate::store::fs::{self as sfs, Overwrite};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

pub const ARCHIVE_DIR: &str = "archive";
pub const ARCHIVE_META: &str = "meta.json";

#[derive(Debug, Error)]
pub enum RotateError {
    #[error(
        "another capiscio-tui is rotating {id} right now (lock {lock}); wait for it, or run `capiscio-tui rotate {id} --resume` once it has stopped"
    )]
    Busy { id: String, lock: String },
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error(transparent)]
    Write(#[from] sfs::WriteError),
    #[error("rotation journal {path} is unreadable: {message}")]
    Journal { path: String, message: String },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> RotateError {
    let what = what.into();
    move |source| RotateError::Io { what, source }
}

/// Where a rotation keeps its state for one identity directory.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
    pub staging: PathBuf,
    pub journal: PathBuf,
    pub lock: PathBuf,
}

impl Paths {
    pub fn for_dir(dir: &Path) -> Self {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            dir: dir.to_path_buf(),
            staging: parent.join(format!(".{name}.rotating")),
            journal: parent.join(format!(".{name}.rotation.json")),
            lock: parent.join(format!(".{name}.lock")),
        }
    }
}

/// An exclusive advisory lock per identity, released when dropped (or when the process dies).
pub struct Lock {
    _file: File,
}

pub fn lock(paths: &Paths, id: &str) -> Result<Lock, RotateError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
        .map_err(io_err(format!("cannot open lock {}", paths.lock.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(Lock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(RotateError::Busy {
            id: id.into(),
            lock: paths.lock.display().to_string(),
        }),
        Err(fs::TryLockError::Error(e)) => {
            Err(io_err(format!("cannot lock {}", paths.lock.display()))(e))
        }
    }
}

pub fn read_journal(paths: &Paths) -> Result<Option<Journal>, RotateError> {
    match sfs::read_small_text(&paths.journal) {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(RotateError::Journal {
            path: paths.journal.display().to_string(),
            message: e.to_string(),
        }),
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| RotateError::Journal {
                path: paths.journal.display().to_string(),
                message: e.to_string(),
            }),
    }
}

pub fn write_journal(paths: &Paths, j: &Journal) -> Result<(), RotateError> {
    let text = serde_json::to_string_pretty(j).map_err(|e| RotateError::Refused(e.to_string()))?;
    sfs::write_atomic(&paths.journal, text.as_bytes(), 0o600, Overwrite::Allow)?;
    Ok(())
}

/// Test hook: with `CAPISCIO_TUI_FAILPOINT=<name>` the process announces the point on
/// stderr and waits there to be killed; `CAPISCIO_TUI_STEP_DELAY_MS` slows every point
/// so that kills at random instants land inside the rotation. Inert otherwise.
pub fn failpoint(name: &str) {
    if let Ok(ms) = std::env::var("CAPISCIO_TUI_STEP_DELAY_MS")
        && let Ok(ms) = ms.parse::<u64>()
    {
        std::thread::sleep(std::time::Duration::from_millis(ms.min(10_000)));
    }
    if std::env::var("CAPISCIO_TUI_FAILPOINT").is_ok_and(|v| v.split(',').any(|p| p == name)) {
        eprintln!("failpoint reached: {name}");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Files that carry (or are bound to) the key: archived on rotation, never carried over.
pub fn is_key_material(kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Agent => matches!(name, AGENT_PRIVATE | AGENT_PUBLIC | AGENT_BADGE),
        Kind::McpServer => {
            name == SERVER_PRIVATE
                || name == SERVER_PUBLIC
                || (name.starts_with("key-") && name.ends_with(".pem"))
        }
    }
}

pub fn private_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Agent => AGENT_PRIVATE,
        Kind::McpServer => SERVER_PRIVATE,
    }
}

/// What an archive entry says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMeta {
    pub fingerprint: String,
    pub did: String,
    pub archived_at: i64,
    /// Why: `planned rotation`, `emergency rotation`, `rollback`.
    pub reason: String,
    pub compromised: bool,
    /// Order of archiving within this identity (names share a one-second stamp).
    #[serde(default)]
    pub seq: u64,
}

/// One file of the new layout.
pub struct NewFile {
    pub name: String,
    pub content: Zeroizing<Vec<u8>>,
    pub mode: u32,
}

/// Builds the complete new identity directory in `paths.staging`.
pub fn stage(
    paths: &Paths,
    kind: Kind,
    files: &[NewFile],
    archive_name: &str,
    meta: &ArchiveMeta,
) -> Result<(), RotateError> {
    if paths.staging.exists() {
        fs::remove_dir_all(&paths.staging)
            .map_err(io_err("cannot clear an old staging directory"))?;
    }
    sfs::create_private_dir(&paths.staging)?;
    failpoint("stage-begin");
    for f in files {
        sfs::write_atomic(
            &paths.staging.join(&f.name),
            &f.content,
            f.mode,
            Overwrite::Refuse,
        )?;
    }
    failpoint("stage-new-key-written");
    // Archive the old key material (and the card / did.txt as they were).
    let archive = paths.staging.join(ARCHIVE_DIR);
    sfs::create_private_dir(&archive)?;
    let entry = archive.join(archive_name);
    sfs::create_private_dir(&entry)?;
    for e in
        fs::read_dir(&paths.dir).map_err(io_err(format!("cannot read {}", paths.dir.display())))?
    {
        let e = e.map_err(io_err("cannot read the identity directory"))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if (is_key_material(kind, &name) || name == AGENT_CARD || name == DID_TXT)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            let bytes =
                Zeroizing::new(fs::read(e.path()).map_err(io_err(format!("cannot read {name}")))?);
            sfs::write_atomic(&entry.join(&name), &bytes, 0o600, Overwrite::Refuse)?;
        }
    }
    let mut meta = meta.clone();
    meta.seq = list_archive(&paths.dir, kind)
        .iter()
        .filter_map(|e| e.meta.as_ref().map(|m| m.seq))
        .max()
        .map_or(1, |s| s + 1);
    let meta_text =
        serde_json::to_string_pretty(&meta).map_err(|e| RotateError::Refused(e.to_string()))?;
    sfs::write_atomic(
        &entry.join(ARCHIVE_META),
        meta_text.as_bytes(),
        0o600,
        Overwrite::Refuse,
    )?;
    failpoint("stage-archived");
    // Everything else comes along by hard link: earlier archives, org_id.txt, ….
    let written: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    for e in
        fs::read_dir(&paths.dir).map_err(io_err(format!("cannot read {}", paths.dir.display())))?
    {
        let e = e.map_err(io_err("cannot read the identity directory"))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if is_key_material(kind, &name) || written.contains(&name.as_str()) {
            continue;
        }
        mirror(&e.path(), &paths.staging.join(&name))?;
    }
    sfs::sync_dir(&entry).map_err(io_err("cannot sync the archive"))?;
    sfs::sync_dir(&archive).map_err(io_err("cannot sync the archive"))?;
    sfs::sync_dir(&paths.staging).map_err(io_err("cannot sync the staging directory"))?;
    failpoint("stage-complete");
    Ok(())
}

/// Hard-links a file (or, recursively, a directory) into the staging tree.
fn mirror(src: &Path, dst: &Path) -> Result<(), RotateError> {
    let meta =
        fs::symlink_metadata(src).map_err(io_err(format!("cannot stat {}", src.display())))?;
    if meta.is_dir() {
        if !dst.exists() {
            fs::create_dir(dst).map_err(io_err(format!("cannot create {}", dst.display())))?;
            sfs::set_mode(dst, sfs::mode(src).unwrap_or(0o700))
                .map_err(io_err("cannot set mode"))?;
        }
        for e in fs::read_dir(src).map_err(io_err(format!("cannot read {}", src.display())))? {
            let e = e.map_err(io_err("cannot read a directory"))?;
            mirror(&e.path(), &dst.join(e.file_name()))?;
        }
        sfs::sync_dir(dst).map_err(io_err("cannot sync"))?;
        return Ok(());
    }
    if fs::hard_link(src, dst).is_err() {
        fs::copy(src, dst).map_err(io_err(format!("cannot copy {}", src.display())))?;
    }
    Ok(())
}

/// Swaps the staging directory and the identity directory in one atomic step.
pub fn exchange(paths: &Paths) -> Result<(), RotateError> {
    failpoint("before-exchange");
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, &paths.staging, CWD, &paths.dir, RenameFlags::EXCHANGE) {
            Ok(()) => {}
            Err(e)
                if e == rustix::io::Errno::INVAL
                    || e == rustix::io::Errno::NOSYS
                    || e == rustix::io::Errno::OPNOTSUPP =>
            {
                exchange_by_renames(paths)?;
            }
            Err(e) => return Err(io_err("cannot swap in the new key")(io::Error::from(e))),
        }
    }
    #[cfg(not(target_os = "linux"))]
    exchange_by_renames(paths)?;
    let parent = paths.dir.parent().unwrap_or(Path::new("."));
    sfs::sync_dir(parent).map_err(io_err("cannot sync the parent directory"))?;
    failpoint("after-exchange");
    Ok(())
}

/// Fallback where RENAME_EXCHANGE is unavailable: three renames. `resume` repairs the
/// short window in which the identity directory is absent.
fn exchange_by_renames(paths: &Paths) -> Result<(), RotateError> {
    let aside = aside_path(paths);
    fs::rename(&paths.dir, &aside).map_err(io_err("cannot move the old directory aside"))?;
    fs::rename(&paths.staging, &paths.dir).map_err(io_err("cannot move the new directory in"))?;
    fs::rename(&aside, &paths.staging).map_err(io_err("cannot park the old directory"))?;
    Ok(())
}

pub fn aside_path(paths: &Paths) -> PathBuf {
    let mut p = paths.staging.clone().into_os_string();
    p.push(".aside");
    PathBuf::from(p)
}

/// Removes what is left of the staging directory.
pub fn cleanup(paths: &Paths) -> Result<(), RotateError> {
    for p in [paths.staging.clone(), aside_path(paths)] {
        if fs::symlink_metadata(&p).is_ok() {
            fs::remove_dir_all(&p).map_err(io_err(format!("cannot remove {}", p.display())))?;
        }
    }
    let parent = paths.dir.parent().unwrap_or(Path::new("."));
    sfs::sync_dir(parent).map_err(io_err("cannot sync the parent directory"))?;
    failpoint("after-cleanup");
    Ok(())
}

/// Repairs the fallback's window: identity dir missing but a complete one parked.
pub fn repair_missing_dir(paths: &Paths) -> Result<(), RotateError> {
    if paths.dir.exists() {
        return Ok(());
    }
    let aside = aside_path(paths);
    let from = if paths.staging.exists() {
        &paths.staging
    } else {
        &aside
    };
    fs::rename(from, &paths.dir).map_err(io_err("cannot restore the identity directory"))?;
    Ok(())
}

/// Fingerprint of the private key in a directory, if it holds a valid one.
pub fn fingerprint_in(dir: &Path, kind: Kind) -> Option<String> {
    let secret = match kind {
        Kind::Agent => disk::SecretRef::AgentJwk(dir.join(AGENT_PRIVATE)),
        Kind::McpServer => disk::SecretRef::ServerPem(dir.join(SERVER_PRIVATE)),
    };
    disk::load_secret_file(&secret)
        .ok()
        .map(|k| k.public().fingerprint())
}

/// An archive entry as listed by `archive list`.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveEntry {
    pub name: String,
    pub path: String,
    pub meta: Option<ArchiveMeta>,
    /// The archived private key loads and matches its recorded fingerprint.
    pub key_ok: bool,
}

pub fn list_archive(dir: &Path, kind: Kind) -> Vec<ArchiveEntry> {
    let Ok(rd) = fs::read_dir(dir.join(ARCHIVE_DIR)) else {
        return Vec::new();
    };
    let mut out: Vec<ArchiveEntry> = rd
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| {
            let path = e.path();
            let meta: Option<ArchiveMeta> = sfs::read_small_text(&path.join(ARCHIVE_META))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            let fp = fingerprint_in(&path, kind);
            ArchiveEntry {
                name: e.file_name().to_string_lossy().into_owned(),
                path: path.display().to_string(),
                key_ok: fp.is_some()
                    && meta
                        .as_ref()
                        .is_none_or(|m| Some(&m.fingerprint) == fp.as_ref()),
                meta,
            }
        })
        .collect();
    // Oldest first: by when (and in which order) they were archived, then by name.
    out.sort_by_key(|e| {
        (
            e.meta.as_ref().map(|m| (m.archived_at, m.seq)),
            e.name.clone(),
        )
    });
    out
}

/// The archive name for the key being replaced now.
pub fn archive_name(now: i64, fingerprint: &str, suffix: &str) -> String {
    format!("{}-{fingerprint}{suffix}", archive_stamp(now))
}
