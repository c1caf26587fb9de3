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
    lock_within(paths, id, std::time::Duration::ZERO)
}

/// Like [`lock`], but waits up to `patience` for another process to finish: short
/// operations (a fix, a purge, a capture note) queue behind each other instead of failing.
pub fn lock_within(
    paths: &Paths,
    id: &str,
    patience: std::time::Duration,
) -> Result<Lock, RotateError> {
    let file = open_lock_file(&paths.lock)?;
    let deadline = std::time::Instant::now() + patience;
    loop {
        match file.try_lock() {
            Ok(()) => {
                // Everything written into the identity directory, and its journal, is
                // written under this lock: temp files found now are a killed run's.
                sfs::remove_stale_temps_for(&paths.journal);
                if !sfs::is_symlink(&paths.dir) {
                    sfs::remove_stale_temps_in(&paths.dir);
                }
                return Ok(Lock { _file: file });
            }
            Err(fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(RotateError::Busy {
                    id: id.into(),
                    lock: paths.lock.display().to_string(),
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(format!("cannot lock {}", paths.lock.display()))(e));
            }
        }
    }
}

/// What `open(O_NOFOLLOW)` fails with at a symlink.
#[cfg(target_os = "linux")]
const ELOOP: i32 = rustix::io::Errno::LOOP.raw_os_error();
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 40;

/// Opens (creating) a lock file without following a symlink: a planted link must not
/// make us create a file somewhere else. `flock` dies with the process, so a crash
/// never leaves a stale lock behind; the empty file itself is harmless.
pub fn open_lock_file(path: &Path) -> Result<File, RotateError> {
    let mut opts = fs::OpenOptions::new();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
        #[cfg(target_os = "linux")]
        opts.custom_flags(
            (rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::NONBLOCK
                | rustix::fs::OFlags::CLOEXEC)
                .bits() as i32,
        );
    }
    #[cfg(not(target_os = "linux"))]
    if sfs::is_symlink(path) {
        return Err(RotateError::Refused(format!(
            "{} is a symlink; capiscio-tui does not follow links for its lock files",
            path.display()
        )));
    }
    let file = opts.open(path).map_err(|e| {
        if e.raw_os_error() == Some(ELOOP) {
            RotateError::Refused(format!(
                "{} is a symlink; capiscio-tui does not follow links for its lock files — remove the link",
                path.display()
            ))
        } else {
            io_err(format!("cannot open lock {}", path.display()))(e)
        }
    })?;
    // A FIFO or device planted at the lock path opens without blocking; refuse it.
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(RotateError::Refused(format!(
            "{} is not a regular file; remove it so capiscio-tui can lock the identity",
            path.display()
        )));
    }
    Ok(file)
}

pub fn read_journal(paths: &Paths) -> Result<Option<Journal>, RotateError> {
    match sfs::read_small_text(&paths.journal) {
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(RotateError::Journal {
            path: paths.journal.display().to_string(),
            message: e.to_string(),
        }),
        Ok(text) => {
            let mut j: Journal = serde_json::from_str(&text).map_err(|e| RotateError::Journal {
                path: paths.journal.display().to_string(),
                message: crate::core::jwk::JsonFault::of(&e, &text).to_string(),
            })?;
            check_journal(paths, &j).map_err(|message| RotateError::Journal {
                path: paths.journal.display().to_string(),
                message,
            })?;
            // Where it sits decides, not what it says: a home restored elsewhere still works.
            j.dir = paths.dir.display().to_string();
            Ok(Some(j))
        }
    }
}

/// A journal is data anyone with write access to the home could have edited: the paths
/// it names must be the ones it sits next to, and the archive name one path component.
fn check_journal(paths: &Paths, j: &Journal) -> Result<(), String> {
    if Path::new(&j.dir).file_name() != paths.dir.file_name() {
        return Err(
            "it names another identity directory than the one it sits next to; not trusting it (delete it if no rotation of this identity is unfinished)"
                .into(),
        );
    }
    if crate::core::ids::IdentityId::parse(&j.archive).is_err() {
        return Err("its archive name is not a plain directory name; not trusting it".into());
    }
    if crate::core::ids::IdentityId::parse(&j.identity_id).is_err() {
        return Err("its identity id is not a valid id; not trusting it".into());
    }
    if j.manifest.iter().any(|m| {
        m.split('/')
            .any(|c| c == ".." || c == "." || (c.is_empty() && !m.ends_with('/')))
            || m.starts_with('/')
    }) {
        return Err("its manifest names paths outside the staging directory".into());
    }
    Ok(())
}

/// `base`, or `base-2`, `base-3`, … — the first name not yet used in `dir`'s archive (two
/// swaps of the same key within one second would otherwise collide).
pub fn unique_archive_name(dir: &Path, base: &str) -> String {
    let archive = dir.join(ARCHIVE_DIR);
    let mut name = base.to_string();
    let mut n = 1;
    while sfs::exists(&archive.join(&name)) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

pub fn write_journal(paths: &Paths, j: &Journal) -> Result<(), RotateError> {
    let text = serde_json::to_string_pretty(j).map_err(|e| RotateError::Refused(e.to_string()))?;
    sfs::write_atomic(&paths.journal, text.as_bytes(), 0o600, Overwrite::Allow)?;
    Ok(())
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

/// Builds the complete new identity directory in `paths.staging` and returns its
/// manifest: every path in it, relative to it. The caller records the manifest in the
/// journal before the exchange; [`verify_staged`] trusts a staging directory only when
/// all of it is there.
pub fn stage(
    paths: &Paths,
    kind: Kind,
    files: &[NewFile],
    archive_name: &str,
    meta: &ArchiveMeta,
) -> Result<Vec<String>, RotateError> {
    if sfs::exists(&paths.staging) {
        // A leftover that was never exchanged; refused if it holds a key kept nowhere else.
        discard(paths, kind, None)?;
    }
    sfs::create_private_dir(&paths.staging)?;
    for f in files {
        write_new(&paths.staging.join(&f.name), &f.content, f.mode)?;
    }
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
            // Capped: a 1 GiB "agent card" is refused here, not copied into the archive.
            let text = sfs::read_small_text(&e.path())
                .map_err(|err| RotateError::Refused(format!("cannot archive {name}: {err}")))?;
            write_new(&entry.join(&name), text.as_bytes(), 0o600)?;
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
    write_new(&entry.join(ARCHIVE_META), meta_text.as_bytes(), 0o600)?;
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
    let mut manifest = Vec::new();
    walk(&paths.staging, "", &mut manifest)?;
    Ok(manifest)
}

/// Creates a file that must not exist yet, durably. Inside a staging directory the
/// directory is the unit of atomicity, so no temp-and-rename per file is needed.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RotateError> {
    use std::io::Write;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    let wrap = |source| {
        RotateError::Write(sfs::WriteError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut f = opts.open(path).map_err(wrap)?;
    f.write_all(bytes).map_err(wrap)?;
    // The umask may have narrowed (or, never, widened) the mode asked for.
    sfs::set_mode(path, mode).map_err(wrap)?;
    f.sync_all().map_err(wrap)
}

/// Every path under `dir` (relative, `/`-separated; directories end in `/`).
fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), RotateError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io_err(format!("cannot read {}", dir.display())))?
        .collect::<Result<_, _>>()
        .map_err(io_err(format!("cannot read {}", dir.display())))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = format!("{prefix}{name}");
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(format!("{rel}/"));
            walk(&e.path(), &format!("{rel}/"), out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// A staging directory is trusted for an exchange only when it is complete: every path
/// of its manifest is there, it holds the key `to` and archives the key `from`, and
/// every archive entry of the identity directory came along.
pub fn verify_staged(
    paths: &Paths,
    kind: Kind,
    manifest: &[String],
    to: &str,
    from: &str,
    archive_name: &str,
) -> Result<(), String> {
    if manifest.is_empty() {
        return Err("the journal records no manifest of the staging directory".into());
    }
    let mut present = Vec::new();
    walk(&paths.staging, "", &mut present).map_err(|e| e.to_string())?;
    if let Some(missing) = manifest.iter().find(|m| !present.contains(m)) {
        return Err(format!("the staging directory lacks {missing}"));
    }
    if fingerprint_in(&paths.staging, kind).as_deref() != Some(to) {
        return Err("the staging directory does not hold the new key".into());
    }
    let entry = paths.staging.join(ARCHIVE_DIR).join(archive_name);
    if fingerprint_in(&entry, kind).as_deref() != Some(from) {
        return Err("the staging directory's archive does not hold the replaced key".into());
    }
    let staged = keys_held(&paths.staging, kind);
    for held in keys_held(&paths.dir, kind).all() {
        if !staged.all().contains(&held) {
            return Err(format!(
                "the staging directory lacks the key {held} that the identity directory holds"
            ));
        }
    }
    Ok(())
}

/// The keys a directory holds: its current key and each archived one (fingerprints).
#[derive(Debug, Default)]
pub struct KeysHeld {
    pub current: Option<String>,
    pub archived: Vec<String>,
}

impl KeysHeld {
    pub fn all(&self) -> Vec<String> {
        self.current
            .iter()
            .chain(self.archived.iter())
            .cloned()
            .collect()
    }
}

pub fn keys_held(dir: &Path, kind: Kind) -> KeysHeld {
    KeysHeld {
        current: fingerprint_in(dir, kind),
        archived: list_archive(dir, kind)
            .into_iter()
            .filter_map(|e| fingerprint_in(Path::new(&e.path), kind))
            .collect(),
    }
}

/// Removes the staging (and fallback "aside") directory — but only when every key in
/// it is also held by the identity directory. `unused` names a key that never became
/// current (the new key of a swap that did not happen) and may go. This check, not the
/// journal alone, is what keeps a half-deleted or unexpected directory from taking the
/// only copy of a key with it.
pub fn discard(paths: &Paths, kind: Kind, unused: Option<&str>) -> Result<(), RotateError> {
    let kept = keys_held(&paths.dir, kind).all();
    for p in [paths.staging.clone(), aside_path(paths)] {
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            adopt_orphans(paths, kind, &p, &kept, unused)?;
            let kept = keys_held(&paths.dir, kind).all();
            let held = keys_held(&p, kind);
            if let Some(only) = held
                .all()
                .into_iter()
                .find(|k| !kept.contains(k) && Some(k.as_str()) != unused)
            {
                return Err(RotateError::Refused(format!(
                    "{} holds the key {only}, which {} does not; not deleting it — copy it into {}/archive/ or inspect it with `capiscio-tui archive list`",
                    p.display(),
                    paths.dir.display(),
                    paths.dir.display()
                )));
            }
            fs::remove_dir_all(&p).map_err(io_err(format!("cannot remove {}", p.display())))?;
        } else {
            fs::remove_file(&p).map_err(io_err(format!("cannot remove {}", p.display())))?;
        }
    }
    let parent = paths.dir.parent().unwrap_or(Path::new("."));
    sfs::sync_dir(parent).map_err(io_err("cannot sync the parent directory"))?;
    Ok(())
}

/// Keys in `from` (a staging or parked directory) that the identity directory does not
/// hold — which happens only when something else changed the identity meanwhile, e.g.
/// an SDK rewrote `private.jwk` with an injected key while a rotation was staging — are
/// moved into the identity's archive (hard links) before `from` may be deleted: a key
/// that was current once is never lost, and recovery still converges.
fn adopt_orphans(
    paths: &Paths,
    kind: Kind,
    from: &Path,
    kept: &[String],
    unused: Option<&str>,
) -> Result<(), RotateError> {
    let orphan = |fp: &Option<String>| {
        fp.as_deref()
            .is_some_and(|f| !kept.iter().any(|k| k == f) && Some(f) != unused)
    };
    let mut entries: Vec<(PathBuf, String, bool)> = list_archive(from, kind)
        .into_iter()
        .filter_map(|e| {
            let fp = fingerprint_in(Path::new(&e.path), kind);
            orphan(&fp).then(|| (PathBuf::from(&e.path), e.name, true))
        })
        .collect();
    let top = fingerprint_in(from, kind);
    if orphan(&top) {
        let fp = top.unwrap_or_default();
        entries.push((from.to_path_buf(), format!("recovered-{fp}"), false));
    }
    if entries.is_empty() {
        return Ok(());
    }
    if archive_is_symlink(&paths.dir) {
        return Err(RotateError::Refused(format!(
            "{}/archive is a symlink; not moving keys through it",
            paths.dir.display()
        )));
    }
    let archive = paths.dir.join(ARCHIVE_DIR);
    sfs::create_private_dir(&archive)?;
    for (src, name, whole) in entries {
        let mut dst = archive.join(&name);
        let mut n = 1;
        while sfs::exists(&dst) {
            n += 1;
            dst = archive.join(format!("{name}-{n}"));
        }
        if whole {
            mirror(&src, &dst)?;
        } else {
            // Only the key files of a staging directory's top level, not its archive.
            sfs::create_private_dir(&dst)?;
            for e in fs::read_dir(&src).map_err(io_err(format!("cannot read {}", src.display())))? {
                let e = e.map_err(io_err("cannot read a directory"))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if is_key_material(kind, &name) && e.file_type().is_ok_and(|t| t.is_file()) {
                    mirror(&e.path(), &dst.join(&name))?;
                }
            }
            sfs::sync_dir(&dst).map_err(io_err("cannot sync the archive"))?;
        }
    }
    sfs::sync_dir(&archive).map_err(io_err("cannot sync the archive"))?;
    Ok(())
}

/// Hard-links a file (or, recursively, a directory) into the staging tree. Never a
/// copy: a link costs nothing whatever the file's size.
fn mirror(src: &Path, dst: &Path) -> Result<(), RotateError> {
    let meta =
        fs::symlink_metadata(src).map_err(io_err(format!("cannot stat {}", src.display())))?;
    if meta.is_dir() {
        if !sfs::exists(dst) {
            fs::create_dir(dst).map_err(io_err(format!("cannot create {}", dst.display())))?;
            sfs::set_mode(dst, sfs::mode_of(&meta).unwrap_or(0o700))
                .map_err(io_err("cannot set mode"))?;
        }
        for e in fs::read_dir(src).map_err(io_err(format!("cannot read {}", src.display())))? {
            let e = e.map_err(io_err("cannot read a directory"))?;
            mirror(&e.path(), &dst.join(e.file_name()))?;
        }
        sfs::sync_dir(dst).map_err(io_err("cannot sync"))?;
        return Ok(());
    }
    // linkat without AT_SYMLINK_FOLLOW: a symlink is linked as the link itself.
    fs::hard_link(src, dst).map_err(io_err(format!("cannot link {}", src.display())))
}

/// Swaps the staging directory and the identity directory in one atomic step.
pub fn exchange(paths: &Paths) -> Result<(), RotateError> {
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

pub fn archive_is_symlink(dir: &Path) -> bool {
    sfs::is_symlink(&dir.join(ARCHIVE_DIR))
}

/// Repairs the fallback's window: identity dir missing, the old one parked aside. Only
/// the fallback leaves that shape; anything else is not ours to guess at.
pub fn repair_missing_dir(paths: &Paths) -> Result<(), RotateError> {
    let aside = aside_path(paths);
    if sfs::exists(&paths.dir) || !sfs::exists(&aside) {
        return Ok(());
    }
    // The staging directory was verified complete before the first rename.
    let from = if sfs::exists(&paths.staging) {
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
    // A symlinked `archive/` points outside the identity: never list (or purge) through it.
    if archive_is_symlink(dir) {
        return Vec::new();
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::KeyPair;

    fn agent_dir(dir: &Path, seed: u8) -> String {
        let key = KeyPair::from_seed(&[seed; 32]);
        fs::create_dir_all(dir).unwrap();
        let jwk = crate::core::jwk::to_go_private(&key);
        fs::write(dir.join(AGENT_PRIVATE), jwk.as_bytes()).unwrap();
        fs::write(
            dir.join(AGENT_PUBLIC),
            crate::core::jwk::to_go_public(key.public()),
        )
        .unwrap();
        key.public().fingerprint()
    }

    /// A key found only in a staging directory (something replaced the identity's key
    /// while a rotation was staging) is moved into the identity's archive, never deleted.
    #[test]
    fn discard_adopts_keys_the_identity_does_not_hold() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("keys").join("a1");
        let current = agent_dir(&dir, 1);
        let paths = Paths::for_dir(&dir);
        // The staging directory: a never-used new key on top, an archived key 3 inside.
        let staged_new = agent_dir(&paths.staging, 2);
        let entry = paths.staging.join(ARCHIVE_DIR).join("20260101T000000Z-x");
        let orphan = agent_dir(&entry, 3);
        discard(&paths, Kind::Agent, Some(&staged_new)).unwrap();
        assert!(!paths.staging.exists());
        let held = keys_held(&dir, Kind::Agent);
        assert_eq!(held.current.as_deref(), Some(current.as_str()));
        assert_eq!(held.archived, vec![orphan.clone()]);
        // Without `unused`, the staging directory's own key is adopted too.
        agent_dir(&paths.staging, 4);
        discard(&paths, Kind::Agent, None).unwrap();
        assert_eq!(keys_held(&dir, Kind::Agent).archived.len(), 2);
    }
}
