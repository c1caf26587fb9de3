//! File primitives: capped reads (a 10 MB "key" must not be slurped), permission
//! inspection, and atomic writes (temp file in the same dir, fsync, rename, fsync dir).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

/// Key files, badges and cards are all far below this.
pub const MAX_SMALL_FILE: u64 = 64 * 1024;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error("{path} is {size} bytes; a key or badge file is under 64 KiB")]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{path} is not a regular file")]
    NotAFile { path: PathBuf },
    #[error("{path} is not valid UTF-8 text")]
    NotText { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

#[derive(Debug, Error)]
pub enum WriteError {
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error(
        "{path} is a symlink; capiscio-tui does not write keys through links (symlinked-key) — replace the link with a real file or directory"
    )]
    Symlink { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ReadError + '_ {
    move |source| {
        if source.kind() == io::ErrorKind::NotFound {
            ReadError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            ReadError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Reads a small text file into zeroize-on-drop memory, refusing oversized or
/// non-regular files (FIFOs would block, directories would error obscurely).
pub fn read_small_text(path: &Path) -> Result<Zeroizing<String>, ReadError> {
    let file = File::open(path).map_err(io_err(path))?;
    let meta = file.metadata().map_err(io_err(path))?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_SMALL_FILE {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(MAX_SMALL_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    if buf.len() as u64 > MAX_SMALL_FILE {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
        });
    }
    match std::str::from_utf8(&buf) {
        Ok(s) => Ok(Zeroizing::new(s.to_string())),
        Err(_) => Err(ReadError::NotText {
            path: path.to_path_buf(),
        }),
    }
}

/// Permission bits of a path (following symlinks), or `None` where unsupported.
pub fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Permission bits from metadata already at hand.
pub fn mode_of(meta: &fs::Metadata) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Creates `dir` (and parents) and makes sure `dir` itself is 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), WriteError> {
    let wrap = |source| WriteError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(wrap)?;
    set_mode(dir, 0o700).map_err(wrap)
}

pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Refuses to write a key at `path` when the file or its directory is a symlink: a link
/// could point anywhere, and a key written through it would land outside the identity.
pub fn refuse_symlinks(path: &Path) -> Result<(), WriteError> {
    for p in [Some(path), path.parent()].into_iter().flatten() {
        if is_symlink(p) {
            return Err(WriteError::Symlink {
                path: p.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Whether an existing file may be replaced by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    Allow,
    Refuse,
}

/// Writes `bytes` to `path` atomically with the given mode: the data is complete and
/// on disk before the name appears, and a crash leaves either the old file or the new.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: Overwrite,
) -> Result<(), WriteError> {
    let wrap = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile creates the file 0600 regardless of umask, so secrets are never exposed.
    let prefix = temp_prefix(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(wrap)?;
    tmp.write_all(bytes).map_err(wrap)?;
    set_mode(tmp.path(), mode).map_err(wrap)?;
    tmp.as_file().sync_all().map_err(wrap)?;
    match overwrite {
        Overwrite::Allow => tmp.persist(path).map(drop).map_err(|e| wrap(e.error))?,
        Overwrite::Refuse => tmp.persist_noclobber(path).map(drop).map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                WriteError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                wrap(e.error)
            }
        })?,
    }
    sync_dir(dir).map_err(wrap)
}

const TEMP_MARK: &str = ".capiscio-tui-";
const TEMP_SUFFIX: &str = ".tmp";

/// Temp files are named after their target (`.<name>.capiscio-tui-XXXXXX.tmp`), so that a
/// process killed mid-write leaves a leftover that the next holder of the target's lock
/// can recognise and remove.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}{TEMP_MARK}")
}

fn is_temp_of(name: &str, prefix: Option<&str>) -> bool {
    name.ends_with(TEMP_SUFFIX)
        && match prefix {
            Some(p) => name.starts_with(p),
            None => name.starts_with('.') && name.contains(TEMP_MARK),
        }
}

/// Removes leftover temp files of [`write_atomic`] for `target`. Call only while holding
/// the lock every writer of `target` holds: then no such temp file is in use.
pub fn remove_stale_temps_for(target: &Path) {
    let dir = target.parent().unwrap_or(Path::new("."));
    remove_temps(dir, Some(&temp_prefix(target)));
}

/// Removes every leftover temp file of [`write_atomic`] directly in `dir` (under the
/// lock that all writers into `dir` hold).
pub fn remove_stale_temps_in(dir: &Path) {
    remove_temps(dir, None);
}

/// Leftover temp files directly in `dir`, for `doctor` to name.
pub fn stale_temps_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(Result::ok)
        .filter(|e| is_temp_of(&e.file_name().to_string_lossy(), None))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect()
}

fn remove_temps(dir: &Path, prefix: Option<&str>) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    let mut removed = false;
    for e in rd.filter_map(Result::ok) {
        // file_type() does not follow links: a planted symlink is not ours to remove.
        if is_temp_of(&e.file_name().to_string_lossy(), prefix)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            removed |= fs::remove_file(e.path()).is_ok();
        }
    }
    if removed {
        let _ = sync_dir(dir);
    }
}

/// Makes a rename durable. Directories cannot be opened for sync on every platform.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_refuses_clobber() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        write_atomic(&p, b"one", 0o600, Overwrite::Refuse).unwrap();
        assert_eq!(read_small_text(&p).unwrap().as_str(), "one");
        #[cfg(unix)]
        assert_eq!(mode(&p), Some(0o600));
        assert!(matches!(
            write_atomic(&p, b"two", 0o600, Overwrite::Refuse),
            Err(WriteError::Exists { .. })
        ));
        write_atomic(&p, b"two", 0o644, Overwrite::Allow).unwrap();
        assert_eq!(read_small_text(&p).unwrap().as_str(), "two");
        // no temp files left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn capped_reads() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        fs::write(&big, vec![b'a'; (MAX_SMALL_FILE + 1) as usize]).unwrap();
        assert!(matches!(
            read_small_text(&big),
            Err(ReadError::TooLarge { .. })
        ));
        let bin = dir.path().join("bin");
        fs::write(&bin, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            read_small_text(&bin),
            Err(ReadError::NotText { .. })
        ));
        assert!(
            read_small_text(&dir.path().join("none"))
                .unwrap_err()
                .is_not_found()
        );
        assert!(matches!(
            read_small_text(dir.path()),
            Err(ReadError::NotAFile { .. })
        ));
    }
}
