//! File primitives: capped reads (a 10 MB "key" must not be slurped), permission
//! inspection, and atomic writes (temp file in the same dir, fsync, rename, fsync dir).
//!
//! Every read goes through one primitive: open without following a symlink at the last
//! component and without blocking (`O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY`, so a
//! FIFO cannot hang a scan), `fstat` the descriptor, read regular files only, up to a cap,
//! into memory that is zeroed on drop. [`DirHandle`] lists an identity directory once and
//! opens only the names its listing shows, relative to the directory's descriptor.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;
use zeroize::Zeroizing;

/// Key files, badges and cards are all far below this.
pub const MAX_SMALL_FILE: u64 = 64 * 1024;

#[derive(Debug, Error)]
pub enum ReadError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error("{path} is {size} bytes; files of this kind are read only up to {} KiB", max / 1024)]
    TooLarge { path: PathBuf, size: u64, max: u64 },
    #[error("{path} is not a regular file ({what}); capiscio-tui reads regular files only")]
    NotAFile { path: PathBuf, what: &'static str },
    #[error(
        "{path} is a symbolic link; capiscio-tui does not read through links (the SDK would follow it)"
    )]
    Symlink { path: PathBuf },
    #[error("{path} is not valid UTF-8 text")]
    NotText { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// The same error about `path` (errors are made with an empty path where building the
    /// full one up front would cost an allocation per file read).
    fn at(mut self, path: PathBuf) -> Self {
        match &mut self {
            Self::NotFound { path: p }
            | Self::TooLarge { path: p, .. }
            | Self::NotAFile { path: p, .. }
            | Self::Symlink { path: p }
            | Self::NotText { path: p }
            | Self::Io { path: p, .. } => *p = path,
        }
        self
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
    move |source| match source.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound {
            path: path.to_path_buf(),
        },
        // ELOOP from an O_NOFOLLOW open: the last component is a symlink.
        _ if source.raw_os_error() == Some(ELOOP) => ReadError::Symlink {
            path: path.to_path_buf(),
        },
        // ENXIO: opening a socket (or a FIFO for writing); never a regular file.
        _ if source.raw_os_error() == Some(ENXIO) => ReadError::NotAFile {
            path: path.to_path_buf(),
            what: "a socket or device",
        },
        _ => ReadError::Io {
            path: path.to_path_buf(),
            source,
        },
    }
}

#[cfg(unix)]
const ELOOP: i32 = if cfg!(target_os = "linux") { 40 } else { 62 };
#[cfg(unix)]
const ENXIO: i32 = 6;
#[cfg(not(unix))]
const ELOOP: i32 = -1;
#[cfg(not(unix))]
const ENXIO: i32 = -1;

/// What a directory entry or an open file is, as far as reading goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// FIFO, socket, character or block device.
    Special(&'static str),
    /// The file system did not say (`DT_UNKNOWN`): find out when opening.
    Unknown,
}

impl EntryKind {
    fn not_a_file(self, path: &Path) -> Option<ReadError> {
        match self {
            Self::File | Self::Unknown => None,
            Self::Symlink => Some(ReadError::Symlink {
                path: path.to_path_buf(),
            }),
            Self::Dir => Some(ReadError::NotAFile {
                path: path.to_path_buf(),
                what: "a directory",
            }),
            Self::Special(what) => Some(ReadError::NotAFile {
                path: path.to_path_buf(),
                what,
            }),
        }
    }
}

/// A small text file read through [`read_small_text`] or [`DirHandle::read`], with the
/// permission bits of the descriptor that was read (so nothing is stat'ed twice).
#[derive(Debug)]
pub struct SmallText {
    pub text: Zeroizing<String>,
    pub mode: Option<u32>,
}

/// Reads a small text file into zeroize-on-drop memory: opened without following a
/// symlink at the last component and without blocking (a FIFO cannot hang us), the
/// descriptor fstat'ed and read only if it is a regular file under [`MAX_SMALL_FILE`].
pub fn read_small_text(path: &Path) -> Result<Zeroizing<String>, ReadError> {
    read_small(path).map(|r| r.text)
}

/// [`read_small_text`], also returning the file's mode.
pub fn read_small(path: &Path) -> Result<SmallText, ReadError> {
    imp::read_path(path, MAX_SMALL_FILE)
}

/// [`read_small_text`] with another cap, for the few files that are not keys (the
/// development registry's state).
pub fn read_text_capped(path: &Path, max: u64) -> Result<Zeroizing<String>, ReadError> {
    imp::read_path(path, max).map(|r| r.text)
}

/// Reads at most `size`-as-announced bytes (or, for a file that reports size 0, up to
/// the cap) from a regular file, into memory that is zeroed when dropped or regrown.
fn read_capped(
    path: &Path,
    size: u64,
    max: u64,
    mut read: impl FnMut(&mut [u8]) -> io::Result<usize>,
) -> Result<Zeroizing<String>, ReadError> {
    if size > max {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size,
            max,
        });
    }
    // The size fstat reported is read in one call; a file reporting 0 (procfs-like) or
    // growing under us is read on, never past the cap.
    let mut buf = Zeroizing::new(vec![0u8; if size == 0 { 256 } else { size as usize + 1 }]);
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if buf.len() as u64 > max {
                return Err(ReadError::TooLarge {
                    path: path.to_path_buf(),
                    size: filled as u64,
                    max,
                });
            }
            let cap = usize::try_from(max).unwrap_or(usize::MAX).saturating_add(1);
            let mut bigger = Zeroizing::new(vec![0u8; buf.len().saturating_mul(4).min(cap)]);
            bigger[..filled].copy_from_slice(&buf[..filled]);
            buf = bigger;
        }
        match read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                // Everything fstat announced is in: a regular file is at its end.
                if size > 0 && filled as u64 == size {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    let mut bytes = std::mem::take(&mut *buf);
    bytes.truncate(filled);
    match String::from_utf8(bytes) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Err(ReadError::NotText {
                path: path.to_path_buf(),
            })
        }
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
}

/// An open identity directory: files in it are opened relative to it, and it is listed
/// once so that only names that exist are ever opened or stat'ed.
pub struct DirHandle {
    path: PathBuf,
    inner: imp::Dir,
    mode: Option<u32>,
}

impl DirHandle {
    /// Opens `path` (following a symlink to the directory itself, as the SDKs do). A
    /// directory that can be searched but not listed opens too; [`Self::list`] then fails.
    pub fn open(path: &Path) -> io::Result<Self> {
        let (inner, mode) = imp::Dir::open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            mode,
        })
    }

    /// Opens the directory `name` inside `self` (following a link there, like [`Self::open`]):
    /// a scan opens a thousand identity directories without walking their full paths.
    pub fn open_child(&self, name: &str) -> io::Result<Self> {
        let path = self.path.join(name);
        let (inner, mode) = self.inner.open_child(name, &path)?;
        Ok(Self { path, inner, mode })
    }

    /// Whether `name` is a directory, following a link (for entries whose listed type is
    /// a link or unknown).
    pub fn is_dir_at(&self, name: &str) -> bool {
        self.inner.is_dir_at(name)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Permission bits of the directory, from the descriptor.
    pub fn mode(&self) -> Option<u32> {
        self.mode
    }

    /// Every entry but `.` and `..` whose name is UTF-8, in directory order.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        self.inner.list()
    }

    /// [`read_small`] for `name` in this directory; `kind` from the listing lets a FIFO,
    /// device or link be refused without opening it at all.
    pub fn read(&self, name: &str, kind: EntryKind) -> Result<SmallText, ReadError> {
        // The full path is only for error messages: built when one is needed.
        let at = |e: ReadError| e.at(self.path.join(name));
        if let Some(e) = kind.not_a_file(Path::new("")) {
            return Err(at(e));
        }
        self.inner.read(name, Path::new("")).map_err(at)
    }

    /// `lstat` of `name`: (mode, is a symlink).
    pub fn lstat(&self, name: &str) -> Option<(Option<u32>, bool)> {
        self.inner.lstat(name)
    }

    /// Mode of what `name` points to (for links), if it resolves.
    pub fn stat_follow(&self, name: &str) -> Option<u32> {
        self.inner.stat_follow(name)
    }

    pub fn read_link(&self, name: &str) -> Option<PathBuf> {
        std::fs::read_link(self.path.join(name)).ok()
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::{EntryKind, ReadError, SmallText, io_err, read_capped};
    use rustix::fd::OwnedFd;
    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
    use std::io;
    use std::mem::MaybeUninit;
    use std::path::Path;

    const READ_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::NOFOLLOW)
        .union(OFlags::NONBLOCK)
        .union(OFlags::CLOEXEC)
        .union(OFlags::NOCTTY);

    fn kind_of(t: FileType) -> EntryKind {
        match t {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            FileType::Fifo => EntryKind::Special("a FIFO"),
            FileType::Socket => EntryKind::Special("a socket"),
            FileType::CharacterDevice => EntryKind::Special("a character device"),
            FileType::BlockDevice => EntryKind::Special("a block device"),
            FileType::Unknown => EntryKind::Unknown,
        }
    }

    fn read_fd(fd: OwnedFd, path: &Path, max: u64) -> Result<SmallText, ReadError> {
        let st = rfs::fstat(&fd).map_err(|e| io_err(path)(e.into()))?;
        match kind_of(FileType::from_raw_mode(st.st_mode)) {
            EntryKind::File => {}
            EntryKind::Special(what) => {
                return Err(ReadError::NotAFile {
                    path: path.to_path_buf(),
                    what,
                });
            }
            EntryKind::Dir => {
                return Err(ReadError::NotAFile {
                    path: path.to_path_buf(),
                    what: "a directory",
                });
            }
            _ => {
                return Err(ReadError::NotAFile {
                    path: path.to_path_buf(),
                    what: "not a regular file",
                });
            }
        }
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let text = read_capped(path, size, max, |buf| {
            rustix::io::read(&fd, buf).map_err(io::Error::from)
        })?;
        Ok(SmallText {
            text,
            mode: Some(st.st_mode & 0o7777),
        })
    }

    pub fn read_path(path: &Path, max: u64) -> Result<SmallText, ReadError> {
        let fd = rfs::open(path, READ_FLAGS, Mode::empty()).map_err(|e| io_err(path)(e.into()))?;
        read_fd(fd, path, max)
    }

    pub struct Dir {
        fd: OwnedFd,
        /// Opened `O_PATH` because the directory is searchable but not readable.
        listable: bool,
    }

    impl Dir {
        pub fn open(path: &Path) -> io::Result<(Self, Option<u32>)> {
            Self::open_in(rfs::CWD, path)
        }

        pub fn open_child(&self, name: &str, _path: &Path) -> io::Result<(Self, Option<u32>)> {
            Self::open_in(&self.fd, name)
        }

        fn open_in<Fd: rustix::fd::AsFd, P: rustix::path::Arg + Copy>(
            at: Fd,
            path: P,
        ) -> io::Result<(Self, Option<u32>)> {
            // O_DIRECTORY fails a FIFO or device before it is opened; O_NONBLOCK too, so
            // that nothing swapped in for a directory can block us.
            let flags = OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK;
            let (fd, listable) = match rfs::openat(&at, path, flags | OFlags::RDONLY, Mode::empty())
            {
                Ok(fd) => (fd, true),
                Err(rustix::io::Errno::ACCESS) => (
                    rfs::openat(&at, path, flags | OFlags::PATH, Mode::empty())?,
                    false,
                ),
                Err(e) => return Err(e.into()),
            };
            let mode = rfs::fstat(&fd).ok().map(|st| st.st_mode & 0o7777);
            Ok((Self { fd, listable }, mode))
        }

        pub fn is_dir_at(&self, name: &str) -> bool {
            rfs::statat(&self.fd, name, AtFlags::empty())
                .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
        }

        pub fn list(&self) -> io::Result<Vec<super::Entry>> {
            if !self.listable {
                return Err(io::Error::from(io::ErrorKind::PermissionDenied));
            }
            let mut out = Vec::new();
            let mut buf = [MaybeUninit::<u8>::uninit(); 4096];
            let mut iter = rfs::RawDir::new(&self.fd, &mut buf);
            while let Some(entry) = iter.next() {
                let entry = entry?;
                let Ok(name) = entry.file_name().to_str() else {
                    continue;
                };
                if name == "." || name == ".." {
                    continue;
                }
                out.push(super::Entry {
                    name: name.to_string(),
                    kind: kind_of(entry.file_type()),
                });
            }
            Ok(out)
        }

        pub fn read(&self, name: &str, path: &Path) -> Result<SmallText, ReadError> {
            let fd = rfs::openat(&self.fd, name, READ_FLAGS, Mode::empty())
                .map_err(|e| io_err(path)(e.into()))?;
            read_fd(fd, path, super::MAX_SMALL_FILE)
        }

        pub fn lstat(&self, name: &str) -> Option<(Option<u32>, bool)> {
            let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
            Some((
                Some(st.st_mode & 0o7777),
                FileType::from_raw_mode(st.st_mode) == FileType::Symlink,
            ))
        }

        pub fn stat_follow(&self, name: &str) -> Option<u32> {
            rfs::statat(&self.fd, name, AtFlags::empty())
                .ok()
                .map(|st| st.st_mode & 0o7777)
        }
    }
}

/// Elsewhere: std only. The type is checked with `lstat` before the open, so only a
/// file swapped in between the two calls could still be a FIFO.
#[cfg(not(target_os = "linux"))]
mod imp {
    use super::{EntryKind, ReadError, SmallText, io_err, read_capped};
    use std::fs;
    use std::io::{self, Read};
    use std::path::{Path, PathBuf};

    fn kind_of(t: fs::FileType) -> EntryKind {
        if t.is_symlink() {
            EntryKind::Symlink
        } else if t.is_file() {
            EntryKind::File
        } else if t.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::Special("a FIFO, socket or device")
        }
    }

    pub fn read_path(path: &Path, max: u64) -> Result<SmallText, ReadError> {
        let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
        if let Some(e) = kind_of(meta.file_type()).not_a_file(path) {
            return Err(e);
        }
        let mut file = fs::File::open(path).map_err(io_err(path))?;
        let meta = file.metadata().map_err(io_err(path))?;
        if !meta.is_file() {
            return Err(ReadError::NotAFile {
                path: path.to_path_buf(),
                what: "not a regular file",
            });
        }
        let text = read_capped(path, meta.len(), max, |buf| file.read(buf))?;
        Ok(SmallText {
            text,
            mode: super::mode_of(&meta),
        })
    }

    pub struct Dir {
        path: PathBuf,
    }

    impl Dir {
        pub fn open(path: &Path) -> io::Result<(Self, Option<u32>)> {
            let meta = fs::metadata(path)?;
            if !meta.is_dir() {
                return Err(io::Error::from(io::ErrorKind::NotADirectory));
            }
            Ok((
                Self {
                    path: path.to_path_buf(),
                },
                super::mode_of(&meta),
            ))
        }

        pub fn open_child(&self, _name: &str, path: &Path) -> io::Result<(Self, Option<u32>)> {
            Self::open(path)
        }

        pub fn is_dir_at(&self, name: &str) -> bool {
            self.path.join(name).is_dir()
        }

        pub fn list(&self) -> io::Result<Vec<super::Entry>> {
            let mut out = Vec::new();
            for e in fs::read_dir(&self.path)? {
                let e = e?;
                let Ok(name) = e.file_name().into_string() else {
                    continue;
                };
                let kind = e.file_type().map_or(EntryKind::Unknown, kind_of);
                out.push(super::Entry { name, kind });
            }
            Ok(out)
        }

        pub fn read(&self, _name: &str, path: &Path) -> Result<SmallText, ReadError> {
            read_path(path, super::MAX_SMALL_FILE)
        }

        pub fn lstat(&self, name: &str) -> Option<(Option<u32>, bool)> {
            let m = fs::symlink_metadata(self.path.join(name)).ok()?;
            Some((super::mode_of(&m), m.file_type().is_symlink()))
        }

        pub fn stat_follow(&self, name: &str) -> Option<u32> {
            fs::metadata(self.path.join(name))
                .ok()
                .and_then(|m| super::mode_of(&m))
        }
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
        let mut opts = fs::OpenOptions::new();
        opts.read(true);
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::OFlags;
            use std::os::unix::fs::OpenOptionsExt;
            // Only ever a directory, never through a link: a planted FIFO or link at the
            // path cannot block us or make us sync something else.
            opts.custom_flags(
                (OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC).bits()
                    as i32,
            );
        }
        opts.open(dir)?.sync_all()
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

    #[cfg(unix)]
    #[test]
    fn fifo_symlink_and_sparse_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // A blocking open would wait here forever for a writer.
        assert!(matches!(
            read_small_text(&fifo),
            Err(ReadError::NotAFile { what: "a FIFO", .. })
        ));
        let real = dir.path().join("real");
        fs::write(&real, "secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            read_small_text(&link),
            Err(ReadError::Symlink { .. })
        ));
        let sparse = dir.path().join("sparse");
        fs::File::create(&sparse)
            .unwrap()
            .set_len(100 * 1024 * 1024)
            .unwrap();
        assert!(matches!(
            read_small_text(&sparse),
            Err(ReadError::TooLarge {
                size: 104_857_600,
                ..
            })
        ));
        // Through a directory handle: the listing's type refuses without opening, and an
        // unknown type is found out from the descriptor.
        let h = DirHandle::open(dir.path()).unwrap();
        let listed = h.list().unwrap();
        let kind = |n: &str| listed.iter().find(|e| e.name == n).unwrap().kind;
        assert_eq!(kind("real"), EntryKind::File);
        let r = h.read("real", kind("real")).unwrap();
        assert_eq!(r.text.as_str(), "secret");
        assert_eq!(r.mode, mode(&real));
        for (name, want) in [("fifo", "a FIFO"), ("link", "")] {
            for k in [kind(name), EntryKind::Unknown] {
                match h.read(name, k) {
                    Err(ReadError::NotAFile { what, .. }) => assert_eq!(what, want),
                    Err(ReadError::Symlink { .. }) => assert_eq!(want, ""),
                    other => panic!("{name}: {other:?}"),
                }
            }
        }
        assert_eq!(h.lstat("link").map(|(_, l)| l), Some(true));
    }

    #[test]
    fn reads_up_to_the_cap_when_the_size_is_not_announced() {
        let path = Path::new("x");
        let mut left = b"abc".to_vec();
        let text = read_capped(path, 0, MAX_SMALL_FILE, |buf| {
            let n = left.len().min(buf.len()).min(2);
            buf[..n].copy_from_slice(&left[..n]);
            left.drain(..n);
            Ok(n)
        })
        .unwrap();
        assert_eq!(text.as_str(), "abc");
        // An endless source reporting size 0 stops at the cap.
        assert!(matches!(
            read_capped(path, 0, MAX_SMALL_FILE, |buf| {
                buf.fill(b'a');
                Ok(buf.len())
            }),
            Err(ReadError::TooLarge { .. })
        ));
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
