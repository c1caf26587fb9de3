//! Recorded push targets: per identity, where its key was pushed, which key
//! (fingerprint) and when. Non-secret only.
//!
//! They live in `<home>/capiscio-tui/targets/<kind>/<id>.json`, outside the identity
//! directory on purpose: a rotation rebuilds that directory in staging and verifies it
//! against a manifest taken before the swap (store/rotate.rs), so a record written into
//! it between staging and exchange would be lost in the swap — and the records must
//! survive rotations, which is the point of `deployed`. Outside it, rotation never
//! touches them. Writes are atomic, 0600, dirs 0700, under a lock of their own.

use crate::core::identity::Kind;
use crate::core::target::Target;
use crate::store::fs::{self as sfs, Overwrite, WriteError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub target: Target,
    /// Fingerprint of the key last pushed there.
    pub fingerprint: String,
    pub pushed_at: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    targets: Vec<Record>,
}

#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("{path} is unreadable: {message}")]
    Read { path: String, message: String },
    #[error("another capiscio-tui is updating {path}; try again")]
    Busy { path: String },
}

pub fn root(home: &Path) -> PathBuf {
    home.join("capiscio-tui").join("targets")
}

/// The record file's name for an identity id: ids are safe path components
/// (core::ids); env identities (`env:VAR`) become `env-VAR`.
fn file_name(id: &str) -> Option<String> {
    let name = id.replace(':', "-");
    crate::core::ids::is_safe_id(&name).then(|| format!("{name}.json"))
}

pub fn path(home: &Path, kind: Kind, id: &str) -> Option<PathBuf> {
    Some(root(home).join(kind.as_str()).join(file_name(id)?))
}

/// The targets recorded for an identity (none when there is no record).
pub fn load(home: &Path, kind: Kind, id: &str) -> Result<Vec<Record>, TargetsError> {
    let Some(p) = path(home, kind, id) else {
        return Ok(Vec::new());
    };
    match sfs::read_small_text(&p) {
        Ok(text) => serde_json::from_str::<File>(&text)
            .map(|f| f.targets)
            .map_err(|e| TargetsError::Read {
                path: p.display().to_string(),
                message: e.to_string(),
            }),
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        Err(e) => Err(TargetsError::Read {
            path: p.display().to_string(),
            message: e.to_string(),
        }),
    }
}

/// Every identity (kind, file stem) that has a record file.
pub fn recorded_ids(home: &Path) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    for kind in [Kind::Agent, Kind::McpServer] {
        let Ok(rd) = std::fs::read_dir(root(home).join(kind.as_str())) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".json").filter(|s| !s.starts_with('.')) {
                out.push((kind, stem.to_string()));
            }
        }
    }
    out.sort();
    out
}

/// Takes the lock of one identity's record file: (the record's path, the held lock).
fn lock(home: &Path, kind: Kind, id: &str) -> Result<(PathBuf, std::fs::File), TargetsError> {
    let Some(p) = path(home, kind, id) else {
        return Err(TargetsError::Read {
            path: id.to_string(),
            message: "this identity's id cannot name a record file".into(),
        });
    };
    let dir = p.parent().unwrap_or(Path::new("."));
    for d in [home.join("capiscio-tui"), root(home), dir.to_path_buf()] {
        sfs::create_private_dir(&d)?;
    }
    let lock_path = dir.join(format!(
        ".{}.lock",
        p.file_name().unwrap_or_default().to_string_lossy()
    ));
    let file =
        crate::store::rotate::open_lock_file(&lock_path).map_err(|e| TargetsError::Read {
            path: lock_path.display().to_string(),
            message: e.to_string(),
        })?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => {
                return Err(TargetsError::Busy {
                    path: p.display().to_string(),
                });
            }
        }
    }
    sfs::remove_stale_temps_for(&p);
    Ok((p, file))
}

fn store(p: &Path, targets: &[Record]) -> Result<(), TargetsError> {
    let body = serde_json::to_string_pretty(&File {
        version: 1,
        targets: targets.to_vec(),
    })
    .map_err(|e| TargetsError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    })?;
    sfs::refuse_symlinks(p)?;
    sfs::write_atomic(p, format!("{body}\n").as_bytes(), 0o600, Overwrite::Allow)?;
    Ok(())
}

/// Read-modify-write of one identity's record under its lock.
pub fn update(
    home: &Path,
    kind: Kind,
    id: &str,
    change: impl FnOnce(&mut Vec<Record>),
) -> Result<Vec<Record>, TargetsError> {
    let (p, _lock) = lock(home, kind, id)?;
    let mut targets = load(home, kind, id)?;
    change(&mut targets);
    store(&p, &targets)?;
    Ok(targets)
}

/// Moves an identity's records to its new id (`rotate --new-agent`), under both locks:
/// the targets still hold what was pushed there, and now belong to the new id. Records
/// the new id already has win. Returns how many records moved.
pub fn move_records(home: &Path, kind: Kind, from: &str, to: &str) -> Result<usize, TargetsError> {
    if from == to || load(home, kind, from)?.is_empty() {
        return Ok(0);
    }
    // Both locks, always in the same order, so two movers cannot wait on each other.
    let (first, second) = if from < to { (from, to) } else { (to, from) };
    let (p1, _l1) = lock(home, kind, first)?;
    let (p2, _l2) = lock(home, kind, second)?;
    let (src, dst) = if from < to { (p1, p2) } else { (p2, p1) };
    let moving = load(home, kind, from)?;
    let mut merged = load(home, kind, to)?;
    let mut moved = 0;
    for r in moving {
        if !merged.iter().any(|m| m.target == r.target) {
            merged.push(r);
            moved += 1;
        }
    }
    store(&dst, &merged)?;
    std::fs::remove_file(&src).map_err(|e| TargetsError::Read {
        path: src.display().to_string(),
        message: e.to_string(),
    })?;
    Ok(moved)
}

/// Records a successful push (replacing the target's earlier record).
pub fn record(home: &Path, kind: Kind, id: &str, rec: Record) -> Result<(), TargetsError> {
    update(home, kind, id, |ts| {
        match ts.iter_mut().find(|r| r.target == rec.target) {
            Some(r) => *r = rec,
            None => ts.push(rec),
        }
    })
    .map(drop)
}

/// Removes a target from the record; `false` when it was not recorded.
pub fn forget(home: &Path, kind: Kind, id: &str, target: &Target) -> Result<bool, TargetsError> {
    let mut removed = false;
    update(home, kind, id, |ts| {
        let before = ts.len();
        ts.retain(|r| &r.target != target);
        removed = ts.len() != before;
    })?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_private_and_replace_per_target() {
        let home = tempfile::tempdir().unwrap();
        let t: Target = "aws-sm:a".parse().unwrap();
        for (fp, at) in [("aa", 1), ("bb", 2)] {
            record(
                home.path(),
                Kind::Agent,
                "a1",
                Record {
                    target: t.clone(),
                    fingerprint: fp.into(),
                    pushed_at: at,
                },
            )
            .unwrap();
        }
        let got = load(home.path(), Kind::Agent, "a1").unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fingerprint, "bb");
        let p = path(home.path(), Kind::Agent, "a1").unwrap();
        assert_eq!(sfs::mode(&p), Some(0o600));
        assert_eq!(sfs::mode(p.parent().unwrap()), Some(0o700));
        assert_eq!(
            recorded_ids(home.path()),
            vec![(Kind::Agent, "a1".to_string())]
        );
        assert!(forget(home.path(), Kind::Agent, "a1", &t).unwrap());
        assert!(load(home.path(), Kind::Agent, "a1").unwrap().is_empty());
        // Records follow an identity to a new id.
        record(
            home.path(),
            Kind::Agent,
            "a1",
            Record {
                target: t.clone(),
                fingerprint: "cc".into(),
                pushed_at: 3,
            },
        )
        .unwrap();
        assert_eq!(
            move_records(home.path(), Kind::Agent, "a1", "b2").unwrap(),
            1
        );
        assert!(load(home.path(), Kind::Agent, "a1").unwrap().is_empty());
        assert!(!path(home.path(), Kind::Agent, "a1").unwrap().exists());
        assert_eq!(
            load(home.path(), Kind::Agent, "b2").unwrap()[0].fingerprint,
            "cc"
        );
        assert_eq!(
            move_records(home.path(), Kind::Agent, "a1", "b2").unwrap(),
            0
        );
        // Env identities get a file name of their own.
        assert!(
            path(
                home.path(),
                Kind::Agent,
                "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK"
            )
            .is_some()
        );
    }
}
