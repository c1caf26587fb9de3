//! Saving an export to a new file, as the UI's export picker does: mode 0600, never over an
//! existing file, never through a symlink anywhere in the typed path.

use crate::store::fs::{self as sfs, Overwrite, WriteError};
use std::path::{Path, PathBuf};

/// `~` and `~/x` are under $HOME; a relative path is under the working directory.
/// Returns the path and the folder its typed part starts from: every component below
/// that folder must be a real directory (see [`symlinked_component`]).
fn resolve(cwd: &Path, typed: &str) -> (PathBuf, PathBuf) {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (typed, typed.strip_prefix("~/"), home) {
        ("~", _, Some(home)) => (home.clone(), home),
        (_, Some(rest), Some(home)) => (home.join(rest), home),
        _ if Path::new(typed).is_absolute() => (PathBuf::from(typed), PathBuf::from("/")),
        _ => (cwd.join(typed), cwd.to_path_buf()),
    }
}

/// The first folder of `path` below `base` that is a symlink, if any: the file must
/// land where the typed path says, not where a link points.
fn symlinked_component(base: &Path, path: &Path) -> Option<PathBuf> {
    // The file itself is checked apart (an existing name is never replaced).
    let rel = path.parent()?.strip_prefix(base).ok()?;
    let mut at = base.to_path_buf();
    for c in rel.components() {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return Some(at),
            _ => {}
        }
    }
    None
}

/// Writes the export text into a NEW file, mode 0600: an existing file (or a symlink,
/// even a dangling one) is never replaced, and nothing is written through a symlinked
/// directory.
pub fn save_export(cwd: &Path, typed: &str, text: &str, what: &str) -> Result<String, String> {
    let (path, base) = resolve(cwd, typed);
    if Path::new(typed)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(
            "the path has a `..` in it: type the folder itself, so the file lands where the path says"
                .into(),
        );
    }
    if path.file_name().is_none() || typed.ends_with('/') || path.is_dir() {
        return Err(format!("{} names a directory, not a file", path.display()));
    }
    if let Some(link) = symlinked_component(&base, &path) {
        return Err(format!(
            "{} is a symlink: the key is never written through one — type the real folder",
            link.display()
        ));
    }
    match path.parent() {
        Some(dir) if !dir.is_dir() => {
            return Err(format!(
                "the folder {} does not exist (it is not created for you)",
                dir.display()
            ));
        }
        _ => {}
    }
    if std::fs::symlink_metadata(&path).is_ok() {
        return Err(format!(
            "{} already exists; not overwritten — choose a new file name",
            path.display()
        ));
    }
    sfs::refuse_symlinks(&path).map_err(|e| e.to_string())?;
    match sfs::write_atomic(&path, text.as_bytes(), 0o600, Overwrite::Refuse) {
        Ok(()) => Ok(format!(
            "Saved {what} to {} (new file, mode 0600) — it holds the private key",
            path.display()
        )),
        Err(WriteError::Exists { .. }) => Err(format!(
            "{} already exists; not overwritten — choose a new file name",
            path.display()
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_creates_0600_and_never_overwrites_or_follows_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ok = save_export(dir.path(), "a.env", "X=1\n", "env for a").unwrap();
        assert!(ok.contains("a.env"), "{ok}");
        let p = dir.path().join("a.env");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "X=1\n");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = save_export(dir.path(), "a.env", "Y=2\n", "env").unwrap_err();
        assert!(e.contains("already exists"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "X=1\n");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("l")).unwrap();
        assert!(save_export(dir.path(), "l", "Z", "env").is_err());
        assert!(
            !dir.path().join("nowhere").exists(),
            "not written through the link"
        );
        std::os::unix::fs::symlink(dir.path(), dir.path().join("d")).unwrap();
        assert!(save_export(dir.path(), "d/b.env", "Z", "env").is_err());
    }

    /// A symlinked folder anywhere in the typed path (not only the last one), and `..`,
    /// are refused; nothing lands outside where the path says.
    #[test]
    fn save_never_goes_through_a_linked_folder_or_dot_dot() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::create_dir(elsewhere.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("link")).unwrap();
        let e = save_export(dir.path(), "link/sub/out.env", "Z", "env").unwrap_err();
        assert!(e.contains("is a symlink"), "{e}");
        assert!(!elsewhere.path().join("sub/out.env").exists());
        let e = save_export(dir.path(), "link/../via.env", "Z", "env").unwrap_err();
        assert!(e.contains(".."), "{e}");
        let e = save_export(dir.path(), "missing/x.env", "Z", "env").unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::create_dir(dir.path().join("real")).unwrap();
        assert!(save_export(dir.path(), "real/x.env", "Z", "env").is_ok());
        assert!(dir.path().join("real/x.env").exists());
    }
}
