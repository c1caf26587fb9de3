//! Creating a new identity directory all at once: its files are written into a hidden
//! directory next to it, fsynced, and renamed into place with `RENAME_NOREPLACE`. A
//! crash at any instant leaves either nothing visible or a complete identity — never a
//! directory with only `private.jwk`, which makes the SDK's `connect()` fail.

use crate::core::ids::IdentityId;
use crate::store::fs::{self as sfs, Overwrite, WriteError};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Hidden directories being built carry this suffix; only a process holding the
/// parent's creation lock touches them, so any found while holding it are leftovers.
pub const CREATING_SUFFIX: &str = ".creating";
const CREATE_LOCK: &str = ".capiscio-tui-create.lock";

/// One file of a new identity.
pub struct File {
    pub name: &'static str,
    pub content: Zeroizing<Vec<u8>>,
    pub mode: u32,
}

/// The path of identity `id` under `parent` (`keys/`, `mcp-servers/`, a key dir): the
/// only way the store turns an id into a path.
pub fn identity_path(parent: &Path, id: &IdentityId) -> PathBuf {
    parent.join(id.as_str())
}

fn wrap(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses when `path` or any directory between `root` and it is a symlink: a linked
/// `~/.capiscio` or `keys/` would put new keys wherever the link points.
pub fn refuse_symlinked_path(root: &Path, path: &Path) -> Result<(), WriteError> {
    let mut p = path.to_path_buf();
    loop {
        if sfs::is_symlink(&p) {
            return Err(WriteError::Symlink { path: p });
        }
        if p == root || !p.pop() || p.as_os_str().is_empty() {
            return Ok(());
        }
    }
}

/// Refuses an identity directory that is, or sits in, a symlink: the directory, the one
/// holding it (where locks, journals and staging go) and, for `keys/<id>` and
/// `mcp-servers/<id>`, the CapiscIO home above them.
pub fn refuse_symlinked_identity(dir: &Path) -> Result<(), WriteError> {
    let mut check = vec![dir.to_path_buf()];
    if let Some(parent) = dir.parent() {
        check.push(parent.to_path_buf());
        if parent
            .file_name()
            .is_some_and(|n| n == "keys" || n == "mcp-servers")
            && let Some(home) = parent.parent()
        {
            check.push(home.to_path_buf());
        }
    }
    match check.into_iter().find(|p| sfs::is_symlink(p)) {
        Some(path) => Err(WriteError::Symlink { path }),
        None => Ok(()),
    }
}

/// Creates `parent/<id>` holding exactly `files`, atomically. Fails with
/// [`WriteError::Exists`] when the directory exists.
pub fn create_identity(
    parent: &Path,
    id: &IdentityId,
    files: &[File],
) -> Result<PathBuf, WriteError> {
    let target = identity_path(parent, id);
    // An existing keys/ keeps its mode: tightening or loosening it is not ours to do here.
    if !sfs::exists(parent) {
        sfs::create_private_dir(parent)?;
    }
    if sfs::is_symlink(parent) {
        return Err(WriteError::Symlink {
            path: parent.to_path_buf(),
        });
    }
    let _lock = lock(parent)?;
    sweep_leftovers(parent);
    if sfs::exists(&target) {
        return Err(WriteError::Exists { path: target });
    }
    let staging = parent.join(format!(".{id}{CREATING_SUFFIX}"));
    let built = build(&staging, files).and_then(|()| publish(&staging, &target, parent));
    if built.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    built.map(|()| target)
}

/// Adds files to an identity directory that already exists (a keyring identity written
/// back to disk keeps its directory): each file atomically, the private key last.
pub fn add_to_existing(dir: &Path, files: &[File]) -> Result<(), WriteError> {
    for f in files {
        sfs::refuse_symlinks(&dir.join(f.name))?;
        if sfs::exists(&dir.join(f.name)) {
            return Err(WriteError::Exists {
                path: dir.join(f.name),
            });
        }
    }
    for f in files {
        sfs::write_atomic(&dir.join(f.name), &f.content, f.mode, Overwrite::Refuse)?;
    }
    Ok(())
}

fn build(staging: &Path, files: &[File]) -> Result<(), WriteError> {
    let mut b = fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(staging).map_err(wrap(staging))?;
    sfs::set_mode(staging, 0o700).map_err(wrap(staging))?;
    for f in files {
        let path = staging.join(f.name);
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(f.mode);
        }
        let mut file = opts.open(&path).map_err(wrap(&path))?;
        file.write_all(&f.content).map_err(wrap(&path))?;
        sfs::set_mode(&path, f.mode).map_err(wrap(&path))?;
        file.sync_all().map_err(wrap(&path))?;
    }
    sfs::sync_dir(staging).map_err(wrap(staging))
}

fn publish(staging: &Path, target: &Path, parent: &Path) -> Result<(), WriteError> {
    rename_noreplace(staging, target).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            WriteError::Exists {
                path: target.to_path_buf(),
            }
        } else {
            wrap(target)(e)
        }
    })?;
    sfs::sync_dir(parent).map_err(wrap(parent))
}

/// Moves the identity directory `dir` to `<its parent>/<id>` (the id the registry
/// assigned), never replacing what is there: `RENAME_NOREPLACE` where the kernel has
/// it, the creation lock otherwise. The caller holds the identity's own lock.
pub fn move_identity(dir: &Path, id: &IdentityId) -> Result<PathBuf, WriteError> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let target = identity_path(parent, id);
    refuse_symlinked_identity(dir)?;
    let _create = lock(parent)?;
    publish(dir, &target, parent)?;
    Ok(target)
}

fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(e)
                if e != rustix::io::Errno::INVAL
                    && e != rustix::io::Errno::NOSYS
                    && e != rustix::io::Errno::OPNOTSUPP =>
            {
                return Err(io::Error::from(e));
            }
            Err(_) => {}
        }
    }
    // Without RENAME_NOREPLACE the creation lock keeps our own processes apart.
    if sfs::exists(to) {
        return Err(io::Error::from(io::ErrorKind::AlreadyExists));
    }
    fs::rename(from, to)
}

fn lock(parent: &Path) -> Result<fs::File, WriteError> {
    let path = parent.join(CREATE_LOCK);
    let file = crate::store::rotate::open_lock_file(&path).map_err(|e| WriteError::Io {
        path: path.clone(),
        source: io::Error::other(e.to_string()),
    })?;
    file.lock().map_err(wrap(&path))?;
    Ok(file)
}

/// Removes hidden half-built directories left by a killed run. Their keys were never
/// visible to anyone, so nothing is lost; called only under the creation lock.
fn sweep_leftovers(parent: &Path) {
    for e in leftovers(parent) {
        let _ = fs::remove_dir_all(e);
    }
}

/// Half-built identity directories in `parent` (for `doctor` to report).
pub fn leftovers(parent: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(parent) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with('.')
                && n.ends_with(CREATING_SUFFIX)
                && e.file_type().is_ok_and(|t| t.is_dir())
        })
        .map(|e| e.path())
        .collect()
}
