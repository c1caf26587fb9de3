//! The on-disk layouts the SDKs use (`keys/<agent>/`, a flat `CAPISCIO_KEY_DIR`,
//! `mcp-servers/<server>/`): inspecting an identity directory and writing a new one.

use crate::core::badge;
use crate::core::export::{AGENT_VAR, SERVER_VAR};
use crate::core::identity::{BadgeInfo, Code, FileInfo, Identity, Kind, Problem, Source};
use crate::core::ids::IdentityId;
use crate::core::jwk::{self, KidStatus};
use crate::core::key::{KeyPair, PublicKey};
use crate::core::pem;
use crate::core::status;
use crate::store::create;
use crate::store::fs::{self as sfs, ReadError, WriteError};
use std::path::{Path, PathBuf};

pub const AGENT_PRIVATE: &str = "private.jwk";
pub const AGENT_PUBLIC: &str = "public.jwk";
pub const AGENT_BADGE: &str = "badge.jwt";
pub const AGENT_CARD: &str = "agent-card.json";
pub const DID_TXT: &str = "did.txt";
pub const SERVER_PRIVATE: &str = "private_key.pem";
pub const SERVER_PUBLIC: &str = "public_key.pem";
pub const RESOLVED_ID: &str = ".resolved_server_id";

/// Where the secret half of an identity lives, so that `export` can read it on demand
/// instead of every listing holding private keys in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    AgentJwk(PathBuf),
    ServerPem(PathBuf),
    Env(&'static str),
    /// In the OS keyring under this user name (service `capiscio-tui`).
    Keyring(String),
    Missing,
}

/// One discovered identity plus what the scanner needs but users never see.
#[derive(Debug, Clone)]
pub struct Found {
    pub identity: Identity,
    pub public: Option<PublicKey>,
    pub secret: SecretRef,
    /// The identity directory (as found; canonicalised only where paths are compared).
    pub dir: Option<PathBuf>,
    /// The SDK could load this key (before env-var shadowing is considered).
    pub loadable: bool,
    /// The decoded local badge, kept for online verification.
    pub badge: Option<crate::core::badge::Badge>,
}

/// The agent SDK's local discovery only considers directories named like a UUID.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One identity directory, listed once: only names the listing shows are opened or
/// stat'ed (a healthy identity costs one open, one fstat and one read per file), and
/// every read goes through the no-follow, non-blocking, capped [`sfs::DirHandle::read`].
struct Files {
    handle: sfs::DirHandle,
    /// `None` when the directory can be searched but not listed: names are then probed.
    listing: Option<Vec<sfs::Entry>>,
    /// Modes of the files already read, so that `info` stats nothing twice.
    modes: Vec<(&'static str, Option<u32>)>,
}

impl Files {
    fn open(dir: &Path, parent: Option<&Parent>) -> std::io::Result<Self> {
        let child = parent.zip(dir.file_name().and_then(|n| n.to_str()));
        let handle = match child {
            Some((p, name)) if p.handle.path().join(name) == dir => p.handle.open_child(name)?,
            _ => sfs::DirHandle::open(dir)?,
        };
        let listing = handle.list().ok();
        Ok(Self {
            handle,
            listing,
            modes: Vec::new(),
        })
    }

    /// What the listing says `name` is; `None` when it is not there.
    fn kind(&self, name: &str) -> Option<sfs::EntryKind> {
        match &self.listing {
            Some(l) => l.iter().find(|e| e.name == name).map(|e| e.kind),
            None => Some(sfs::EntryKind::Unknown),
        }
    }

    /// `None` when the file does not exist.
    fn read(
        &mut self,
        name: &'static str,
    ) -> Option<Result<zeroize::Zeroizing<String>, ReadError>> {
        let kind = self.kind(name)?;
        match self.handle.read(name, kind) {
            Ok(t) => {
                self.modes.push((name, t.mode));
                Some(Ok(t.text))
            }
            Err(e) if e.is_not_found() => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// Names in the listing matching `pred`, sorted.
    fn names(&self, pred: impl Fn(&str) -> bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .listing
            .iter()
            .flatten()
            .filter(|e| pred(&e.name))
            .map(|e| e.name.clone())
            .collect();
        v.sort();
        v
    }

    fn info(&self, name: &str) -> Option<FileInfo> {
        self.kind(name)?;
        let path = self.handle.path().join(name);
        let (mode, symlink) = match self.modes.iter().find(|(n, _)| *n == name) {
            Some((_, m)) => (*m, false),
            None => match self.handle.lstat(name)? {
                (_, true) => (self.handle.stat_follow(name), true),
                (m, false) => (m, false),
            },
        };
        Some(FileInfo {
            name: name.to_string(),
            path: path.display().to_string(),
            mode: mode.map(sfs::mode_string),
            symlink,
        })
    }

    fn link_target(&self, name: &str) -> String {
        self.handle
            .read_link(name)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|| "?".into())
    }
}

/// Hidden names next to the identity directories (`.<id>.rotation.json`, `.<id>.rotating`),
/// from the listing of their parent, so that no journal is looked for where none is.
pub type Siblings = std::collections::HashSet<String>;

/// The directory holding identity directories, as a scan listed it: identity directories
/// are opened relative to it, and journals looked for only where its listing shows them.
pub struct Parent {
    pub handle: sfs::DirHandle,
    pub siblings: Siblings,
    /// Identity directories that are symlinks (from the listing's entry types).
    pub links: Siblings,
}

/// A symlinked identity directory, `keys/` or home: shown (the SDK follows links too), but
/// never written, rotated, fixed or deleted through — say so instead of failing later.
pub fn symlinked_dir_problem(path: &Path) -> Problem {
    let target = std::fs::read_link(path)
        .map(|t| format!(" (→ {})", t.display()))
        .unwrap_or_default();
    Problem::warning(
        Code::SymlinkedKey,
        format!(
            "{} is a symlink{target}: capiscio-tui shows what is behind it but never writes, rotates, fixes or deletes through a link",
            path.display()
        ),
        "replace the link with the directory itself (e.g. `mv` the target into place) to manage it here"
            .to_string(),
    )
}

/// Temp files of an interrupted write inside the identity directory: removed by the next
/// locked operation on it; until then named here.
fn check_leftover_temps(fs: &Files, dir: &Path, problems: &mut Vec<Problem>) {
    let Some(listing) = fs.listing.as_ref() else {
        return;
    };
    for e in listing {
        if e.name.starts_with('.')
            && e.name.contains(".capiscio-tui-")
            && e.name.ends_with(".tmp")
            && matches!(e.kind, sfs::EntryKind::File)
        {
            let path = dir.join(&e.name);
            problems.push(Problem::warning(
                Code::Leftover,
                format!("{} is a temp file left by an interrupted write", path.display()),
                format!(
                    "the next rotation, fix or registration of this identity removes it; or `rm {}`",
                    path.display()
                ),
            ));
        }
    }
}

/// A symlinked `archive/` is neither listed, rolled back to nor purged.
fn check_archive_link(fs: &Files, dir: &Path, problems: &mut Vec<Problem>) {
    let linked = fs.listing.as_ref().is_some_and(|l| {
        l.iter()
            .any(|e| e.name == "archive" && matches!(e.kind, sfs::EntryKind::Symlink))
    });
    if linked {
        let path = dir.join("archive");
        let target = std::fs::read_link(&path)
            .map(|t| format!(" (→ {})", t.display()))
            .unwrap_or_default();
        problems.push(Problem::warning(
            Code::SymlinkedKey,
            format!(
                "{} is a symlink{target}: its keys are not listed, rolled back to or purged, and rotation refuses to archive through it",
                path.display()
            ),
            "replace the link with the directory itself".to_string(),
        ));
    }
}

fn quoted(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn keyring_only_problem(id: &str) -> Problem {
    Problem::warning(
        Code::KeyringOnly,
        "the private key is in the OS keyring; the SDKs read only files and env vars, so an SDK started here would mint a NEW key".to_string(),
        format!("before starting an SDK on this machine: `capiscio-tui keyring export {id} --to-disk` (or inject it with `capiscio-tui export {id} --format env`)"),
    )
}

/// A rotation journal next to the directory: interrupted swaps and open walkthrough steps.
fn check_rotation(dir: &Path, id: &str, parent: Option<&Parent>, problems: &mut Vec<Problem>) {
    let siblings = parent.map(|p| &p.siblings);
    // The common case, decided before any path is built: the parent's listing shows
    // neither this directory's journal nor its staging directory.
    if let (Some(s), Some(name)) = (siblings, dir.file_name().and_then(|n| n.to_str()))
        && (s.is_empty()
            || !(s.contains(&format!(".{name}.rotation.json"))
                || s.contains(&format!(".{name}.rotating"))))
    {
        return;
    }
    let paths = crate::store::rotate::Paths::for_dir(dir);
    let listed = |p: &Path| {
        siblings.is_none_or(|s| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| s.contains(n))
        })
    };
    let journal = if listed(&paths.journal) {
        crate::store::rotate::read_journal(&paths)
    } else {
        Ok(None)
    };
    let staging = listed(&paths.staging) && paths.staging.exists();
    match journal {
        Ok(Some(j))
            if j.interrupted()
                || (staging && j.phase != crate::core::rotation::Phase::RolledBack) =>
        {
            problems.push(Problem::error(
                Code::RotationInterrupted,
                "a key rotation was interrupted before it finished (the directory still holds one complete key pair)".to_string(),
                format!("finish it with `capiscio-tui rotate {id} --resume`, or undo it with `capiscio-tui rotate {id} --rollback`"),
            ));
        }
        Ok(Some(j)) if j.phase == crate::core::rotation::Phase::Done => {
            if let Some(step) = j.next() {
                problems.push(Problem::warning(
                    Code::RotationPending,
                    format!(
                        "the rotation walkthrough has open steps; next: {}",
                        step.title().to_lowercase()
                    ),
                    format!("`capiscio-tui rotate {id} --resume` shows where it stands"),
                ));
            }
        }
        Err(e) => problems.push(Problem::warning(
            Code::RotationInterrupted,
            e.to_string(),
            format!("inspect {} by hand", paths.journal.display()),
        )),
        _ if staging => problems.push(Problem::error(
            Code::RotationInterrupted,
            "a staging directory from an interrupted rotation is left next to this identity"
                .to_string(),
            format!("`capiscio-tui rotate {id} --rollback` removes it"),
        )),
        _ => {}
    }
}

/// Permission and symlink checks shared by both layouts.
/// `files` is what `file_info` already found, so no file is stat'ed twice.
fn check_files(
    dir: &Path,
    fs: &Files,
    private: &str,
    files: &[FileInfo],
    problems: &mut Vec<Problem>,
) {
    let key_path = dir.join(private);
    let info = files.iter().find(|f| f.name == private);
    if let Some(m) = info
        .and_then(|f| f.mode.as_deref())
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        && m & 0o077 != 0
    {
        problems.push(Problem::error(
            Code::InsecurePermissions,
            format!(
                "{private} is readable by other users (mode {})",
                sfs::mode_string(m)
            ),
            format!("chmod 600 {}", quoted(&key_path)),
        ));
    }
    if let Some(m) = fs.handle.mode()
        && m & 0o077 != 0
    {
        problems.push(Problem::warning(
            Code::InsecurePermissions,
            format!(
                "identity directory is open to other users (mode {}; the SDK creates it that way)",
                sfs::mode_string(m)
            ),
            format!("chmod 700 {}", quoted(dir)),
        ));
    }
    if info.is_some_and(|f| f.symlink) {
        problems.push(symlink_problem(
            private,
            &fs.link_target(private),
            &key_path,
        ));
    }
}

fn read_problem(name: &str, err: &ReadError, id_hint: &str) -> Problem {
    if matches!(err, ReadError::NotText { .. } | ReadError::TooLarge { .. }) {
        // Readable, but what it holds cannot be a key.
        return Problem::error(
            Code::MalformedKey,
            format!("{name}: {err}"),
            "restore the file from your secrets manager or a backup",
        );
    }
    Problem::error(
        Code::Unreadable,
        format!("{name}: {err}"),
        format!(
            "fix the file's ownership or restore it from a backup, then run `capiscio-tui show {id_hint}`"
        ),
    )
}

/// A key file that is a link: the SDK would follow it, capiscio-tui does not read through it.
fn symlink_problem(name: &str, target: &str, path: &Path) -> Problem {
    Problem::warning(
        Code::SymlinkedKey,
        format!(
            "{name} is a symlink to {target}; capiscio-tui does not read keys through links (the SDK would follow it), so this key is not checked"
        ),
        format!(
            "replace the link with the file itself: `cp --remove-destination \"$(readlink -f {0})\" {0}`",
            quoted(path)
        ),
    )
}

/// A read failure of a file that only adds information (did.txt, the card, the marker,
/// `.resolved_server_id`): what it would have said is not shown, so say why.
fn optional_problem(err: &ReadError) -> Problem {
    Problem::warning(
        Code::Unreadable,
        err.to_string(),
        "replace it with a regular file (or remove it)",
    )
}

fn card_name(card: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(card).ok()?;
    v.get("name")?
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// A planned rotation leaves the old key in the card as `retiring` until a deadline;
/// past it, nothing removes the key unless the user is told.
fn check_grace(card: &str, id: &str, now: i64, problems: &mut Vec<Problem>) {
    for r in crate::core::rotation::retiring_past_grace(card, now) {
        problems.push(Problem::warning(
            Code::RetiringKeyPastGrace,
            format!(
                "{AGENT_CARD} still lists the old key {} as retiring; its grace period ended {}",
                // The card is free text: name the kid only when it is a DID; anything
                // else (a pasted key, say) is described, never quoted.
                if r.kid.starts_with("did:")
                    && r.kid.len() <= 200
                    && r.kid
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b":._%#-".contains(&b))
                {
                    r.kid.clone()
                } else {
                    format!(
                        "(a kid of {} characters that is not a DID)",
                        r.kid.chars().count()
                    )
                },
                r.retire_after
                    .map(crate::core::ids::rfc3339)
                    .unwrap_or_default()
            ),
            format!("once partners use the new key: `capiscio-tui rotate {id} --end-grace`"),
        ));
    }
}

/// Whether a read failed for lack of permission: the first sign that the directory
/// itself may be shut (asked only then, so healthy directories cost no extra syscall).
fn denied<T>(read: &Result<T, ReadError>) -> bool {
    matches!(read, Err(ReadError::Io { source, .. }) if source.kind() == std::io::ErrorKind::PermissionDenied)
}

/// Why the files in `dir` cannot be reached by name (no search permission), if so,
/// so an unreadable directory is one clear problem rather than a "cannot read" for
/// every file that may or may not be in it.
pub fn untraversable(dir: &Path) -> Option<std::io::Error> {
    std::fs::symlink_metadata(dir.join("."))
        .err()
        .filter(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

/// Opens an identity directory and reads its private key file (absent = `NotFound`). A
/// directory that cannot be opened, or is shut (the key read was denied and the
/// directory cannot be traversed), is the one `unreadable` identity instead.
#[allow(clippy::type_complexity)]
fn open_with_private(
    dir: &Path,
    id: &str,
    kind: Kind,
    parent: Option<&Parent>,
) -> Result<(Files, Result<zeroize::Zeroizing<String>, ReadError>), Box<Found>> {
    let private = match kind {
        Kind::Agent => AGENT_PRIVATE,
        Kind::McpServer => SERVER_PRIVATE,
    };
    let mut fs =
        Files::open(dir, parent).map_err(|e| Box::new(unreadable_dir(dir, id, kind, &e)))?;
    let private_text = fs.read(private).unwrap_or_else(|| {
        Err(ReadError::NotFound {
            path: dir.join(private),
        })
    });
    if let Some(err) = denied(&private_text).then(|| untraversable(dir)).flatten() {
        return Err(Box::new(unreadable_dir(dir, id, kind, &err)));
    }
    Ok((fs, private_text))
}

fn unreadable_dir(dir: &Path, id: &str, kind: Kind, err: &std::io::Error) -> Found {
    Found {
        identity: Identity {
            problems: vec![Problem::error(
                Code::Unreadable,
                format!(
                    "cannot open the identity directory {}: {err}",
                    dir.display()
                ),
                format!(
                    "give your user access again (`ls -ld {0}`; e.g. `chmod 700 {0}` as its owner), then run `capiscio-tui show {id}`",
                    dir.display()
                ),
            )],
            ..Identity::new(id, kind, Source::Disk, dir.display().to_string())
        },
        public: None,
        secret: SecretRef::Missing,
        dir: Some(dir.to_path_buf()),
        loadable: false,
        badge: None,
    }
}

/// Inspects an agent identity directory (`private.jwk`, `public.jwk`, `badge.jwt`, …).
pub fn inspect_agent(dir: &Path, id: &str, discoverable: bool, now: i64) -> Found {
    inspect_agent_in(dir, id, discoverable, now, None)
}

/// The keyring marker, if present; a marker that cannot be read is a problem.
fn read_marker(
    fs: &mut Files,
    problems: &mut Vec<Problem>,
) -> Option<crate::store::keyring::Marker> {
    match fs.read(crate::store::keyring::MARKER_FILE)? {
        Ok(t) => serde_json::from_str(&t).ok(),
        Err(e) => {
            problems.push(optional_problem(&e));
            None
        }
    }
}

/// [`inspect_agent`] with the hidden names of the parent directory at hand.
pub fn inspect_agent_in(
    dir: &Path,
    id: &str,
    discoverable: bool,
    now: i64,
    parent: Option<&Parent>,
) -> Found {
    let (mut fs, private_text) = match open_with_private(dir, id, Kind::Agent, parent) {
        Ok(opened) => opened,
        Err(found) => return *found,
    };
    let mut problems = Vec::new();
    let keyring_marker = read_marker(&mut fs, &mut problems);
    let private = match private_text {
        Ok(text) => match jwk::parse_private(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(Problem::error(
                    Code::MalformedKey,
                    format!("{AGENT_PRIVATE}: {e}"),
                    "restore private.jwk from your secrets manager or a backup",
                ));
                None
            }
        },
        Err(e) if e.is_not_found() && keyring_marker.is_some() => {
            problems.push(keyring_only_problem(id));
            None
        }
        // Reported by check_files, with where the link points.
        Err(ReadError::Symlink { .. }) => None,
        Err(e) if e.is_not_found() => {
            problems.push(Problem::error(
                Code::MissingPrivateKey,
                format!("{AGENT_PRIVATE} is missing: the SDK cannot sign with this identity"),
                "restore private.jwk from your secrets manager, or inject it with CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            ));
            None
        }
        Err(e) => {
            problems.push(read_problem(AGENT_PRIVATE, &e, id));
            None
        }
    };
    // The did:key of `d`'s public key, encoded once: it is the key DID below and what
    // both kids are compared with.
    let private_did = private.as_ref().map(|p| p.key.public().did_key());
    if let (Some(p), Some(private_did)) = (&private, &private_did) {
        if p.x_written.is_none() {
            problems.push(Problem::error(
                Code::MalformedKey,
                format!("{AGENT_PRIVATE} has no `x`: capiscio-core refuses keys without it"),
                format!("write a complete copy beside it, then move it over, in {}: `(umask 077 && capiscio-tui export {id} --format jwk > private.jwk.new) && mv private.jwk.new private.jwk` (redirecting straight onto private.jwk empties it before it is read)", dir.display()),
            ));
        } else if !p.x_matches() {
            problems.push(Problem::error(
                Code::KeyMismatch,
                format!("`x` in {AGENT_PRIVATE} is not the public key of `d`: every signature made with it fails"),
                "restore the key from a good copy; capiscio-core does not check this and signs garbage",
            ));
        }
        match p.kid_status_known(private_did) {
            KidStatus::Matches => {}
            KidStatus::OtherMethod(k) => problems.push(Problem::warning(
                Code::KidMismatch,
                format!("{AGENT_PRIVATE} kid is {k}, not the key's did:key"),
                format!("set kid to the key DID shown by `capiscio-tui show {id}`"),
            )),
            other => problems.push(Problem::warning(
                Code::KidMismatch,
                format!("{AGENT_PRIVATE} kid {}", describe_kid(&other)),
                format!("set kid to the key DID shown by `capiscio-tui show {id}`"),
            )),
        }
    }
    let public_read = fs.read(AGENT_PUBLIC).unwrap_or_else(|| {
        Err(ReadError::NotFound {
            path: dir.join(AGENT_PUBLIC),
        })
    });
    let public_jwk = match public_read {
        Ok(text) => match jwk::parse_public_beside(&text, private.as_ref().map(|p| p.key.public()))
        {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(Problem::error(
                    Code::MalformedKey,
                    format!("{AGENT_PUBLIC}: {e}; connect() cannot recover the DID and fails"),
                    format!("rewrite public.jwk: the private JWK without `d`, kid = the key DID (`capiscio-tui show {id}`)"),
                ));
                None
            }
        },
        Err(e) if e.is_not_found() => {
            problems.push(Problem::error(
                Code::MissingPublicJwk,
                format!("{AGENT_PUBLIC} is missing: connect() tries to re-initialise, is refused, and fails"),
                "`capiscio-tui doctor --fix` writes it from private.jwk",
            ));
            None
        }
        Err(ReadError::Symlink { path }) => {
            problems.push(symlink_problem(
                AGENT_PUBLIC,
                &fs.link_target(AGENT_PUBLIC),
                &path,
            ));
            None
        }
        Err(e) => {
            problems.push(read_problem(AGENT_PUBLIC, &e, id));
            None
        }
    };
    let public = private
        .as_ref()
        .map(|p| *p.key.public())
        .or(public_jwk.as_ref().map(|p| p.x));
    let key_did = private_did.or_else(|| public.map(|p| p.did_key()));
    if let Some(pj) = &public_jwk {
        if let Some(p) = &private
            && pj.x != *p.key.public()
        {
            problems.push(Problem::error(
                Code::PublicMismatch,
                format!("{AGENT_PUBLIC} holds a different key than {AGENT_PRIVATE}"),
                "delete public.jwk, then `capiscio-tui doctor --fix` writes it from private.jwk",
            ));
        }
        // `key_did` is `x`'s did:key only when `x` is the key in use.
        let pj_status = match &key_did {
            Some(d) if public == Some(pj.x) => pj.kid_status_known(d),
            _ => pj.kid_status(),
        };
        match &pj_status {
            KidStatus::Matches => {}
            KidStatus::OtherMethod(k) => problems.push(Problem::warning(
                Code::KidMismatch,
                format!("{AGENT_PUBLIC} kid is {k}; the SDK reports it as this agent's DID, but it is not the key's did:key"),
                format!("set kid to the key DID shown by `capiscio-tui show {id}`"),
            )),
            KidStatus::Missing | KidStatus::NotDid(_) => problems.push(Problem::error(
                Code::KidMismatch,
                format!("{AGENT_PUBLIC} kid {}: connect() cannot recover the DID and fails", describe_kid(&pj_status)),
                format!("set kid in public.jwk to the key DID shown by `capiscio-tui show {id}`"),
            )),
            KidStatus::WrongKey(k) => problems.push(Problem::error(
                Code::KidMismatch,
                format!("{AGENT_PUBLIC} kid {k}: the SDK would announce the wrong DID"),
                format!("set kid in public.jwk to the key DID shown by `capiscio-tui show {id}`"),
            )),
        }
    }
    let did_txt = match fs.read(DID_TXT) {
        Some(Ok(t)) => Some(t.trim().to_string()),
        Some(Err(e)) => {
            problems.push(optional_problem(&e));
            None
        }
        None => None,
    };
    check_did_txt(did_txt.as_deref(), key_did.as_deref(), &mut problems);
    let did = public_jwk
        .as_ref()
        .and_then(|p| p.kid.clone())
        .filter(|k| k.starts_with("did:"))
        .or_else(|| did_txt.clone().filter(|d| d.starts_with("did:")))
        .or_else(|| key_did.clone());
    let card = match fs.read(AGENT_CARD) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            problems.push(optional_problem(&e));
            None
        }
        None => None,
    };
    let badge_read = fs.read(AGENT_BADGE);
    let files: Vec<FileInfo> = [
        AGENT_PRIVATE,
        AGENT_PUBLIC,
        AGENT_BADGE,
        AGENT_CARD,
        DID_TXT,
        crate::store::keyring::MARKER_FILE,
    ]
    .iter()
    .filter_map(|n| fs.info(n))
    .collect();
    check_files(dir, &fs, AGENT_PRIVATE, &files, &mut problems);
    check_archive_link(&fs, dir, &mut problems);
    check_leftover_temps(&fs, dir, &mut problems);
    check_rotation(dir, id, parent, &mut problems);
    if !discoverable {
        problems.push(Problem::warning(
            Code::NotDiscoverable,
            format!("directory name `{id}` is not a UUID: the SDK's local discovery skips it"),
            format!("pass agent_id=\"{id}\" (or CAPISCIO_AGENT_ID) explicitly, or move it to a directory named by the agent's UUID"),
        ));
    }
    if let Some(card) = &card {
        check_grace(card, id, now, &mut problems);
    }
    let (badge, badge_token) = inspect_badge(
        badge_read,
        id,
        did.as_deref(),
        key_did.as_deref(),
        public.as_ref(),
        now,
        &mut problems,
    );
    let loadable = private.as_ref().is_some_and(|p| p.x_written.is_some())
        && public_jwk
            .as_ref()
            .is_some_and(|p| p.kid.as_deref().is_some_and(|k| k.starts_with("did:")));

    Found {
        identity: Identity {
            name: card.as_deref().and_then(|c| card_name(c)),
            did,
            key_did,
            fingerprint: public.map(|p| p.fingerprint()),
            badge,
            problems,
            files,
            ..Identity::new(id, Kind::Agent, Source::Disk, dir.display().to_string())
        },
        public,
        secret: match (&private, &keyring_marker) {
            (Some(_), _) => SecretRef::AgentJwk(dir.join(AGENT_PRIVATE)),
            (None, Some(m)) => SecretRef::Keyring(m.user.clone()),
            (None, None) => SecretRef::Missing,
        },
        dir: Some(dir.to_path_buf()),
        loadable,
        badge: badge_token,
    }
}

pub fn describe_kid(status: &KidStatus) -> String {
    match status {
        KidStatus::Matches => "matches the key".into(),
        KidStatus::Missing => "is missing".into(),
        KidStatus::NotDid(shape) => format!("is {shape}, not a DID"),
        // Both hold a description, never the kid's text (see KidStatus).
        KidStatus::OtherMethod(k) => format!("is {k}, not a did:key"),
        KidStatus::WrongKey(k) => k.clone(),
    }
}

fn check_did_txt(did_txt: Option<&str>, key_did: Option<&str>, problems: &mut Vec<Problem>) {
    if let (Some(t), Some(k)) = (did_txt, key_did)
        && crate::core::did::method(t) == "key"
        && t != k
    {
        problems.push(Problem::warning(
            Code::DidTxtMismatch,
            format!("{DID_TXT} names {t}, which is not this key's DID"),
            format!("update did.txt to {k}"),
        ));
    }
}

#[allow(clippy::too_many_arguments)]
fn inspect_badge(
    read: Option<Result<zeroize::Zeroizing<String>, ReadError>>,
    id: &str,
    did: Option<&str>,
    key_did: Option<&str>,
    public: Option<&PublicKey>,
    now: i64,
    problems: &mut Vec<Problem>,
) -> (Option<BadgeInfo>, Option<badge::Badge>) {
    let decoded = match read {
        None => return (None, None),
        Some(Ok(text)) => badge::decode(&text).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.to_string()),
    };
    let b = match decoded {
        Ok(b) => b,
        Err(e) => {
            problems.push(Problem::warning(
                Code::BadgeMalformed,
                format!("{AGENT_BADGE}: {e}"),
                "delete badge.jwt; the SDK requests a fresh badge on start",
            ));
            return (None, None);
        }
    };
    let dids: Vec<&str> = [did, key_did].into_iter().flatten().collect();
    let verdict = status::classify(&b, b.is_for(&dids, id, public), None, now);
    problems.extend(status::problems_for(&verdict, &b, id));
    let mut info = BadgeInfo::from_badge(&b, verdict.state);
    info.reason = verdict.reason;
    (Some(info), Some(b))
}

/// Inspects an MCP server identity directory (`private_key.pem`, `public_key.pem`, `did.txt`).
pub fn inspect_server(dir: &Path, dir_name: &str) -> Found {
    inspect_server_in(dir, dir_name, None)
}

/// [`inspect_server`] with the hidden names of the parent directory at hand.
pub fn inspect_server_in(dir: &Path, dir_name: &str, parent: Option<&Parent>) -> Found {
    let (mut fs, private_text) = match open_with_private(dir, dir_name, Kind::McpServer, parent) {
        Ok(opened) => opened,
        Err(found) => return *found,
    };
    let mut problems = Vec::new();
    let keyring_marker = read_marker(&mut fs, &mut problems);
    let resolved = match fs.read(RESOLVED_ID) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            problems.push(optional_problem(&e));
            None
        }
        None => None,
    }
    .map(|t| t.trim().to_string())
    .filter(|t| {
        !t.is_empty()
            && t.len() <= 128
            && !t.contains(['/', '\\'])
            && !t.chars().any(char::is_whitespace)
    });
    // The folder name stays the id users type (`generate` printed it); the id the
    // registry assigned is kept beside it.
    let id = dir_name.to_string();
    let registry_id = resolved.filter(|r| r != dir_name);
    let mut loadable = false;
    let key = match private_text {
        Ok(text) => {
            match pem::parse_private(&text) {
                Ok((key, shape)) => {
                    loadable = !shape.escaped_newlines;
                    if shape.escaped_newlines {
                        problems.push(Problem::error(
                        Code::PemEscaped,
                        format!("{SERVER_PRIVATE} holds literal \\n sequences: the MCP SDK unescapes only the env var and fails to load this file"),
                        "rewrite it with real newlines, same key: `capiscio-tui doctor --fix` (never redirect `export` onto the file it reads)",
                    ));
                    }
                    if shape.pkcs8_v2 {
                        problems.push(Problem::warning(
                        Code::Pkcs8V2,
                        format!("{SERVER_PRIVATE} is PKCS#8 v2 (public key embedded); OpenSSL 3.0 and some Python builds refuse it"),
                        "rewrite it as PKCS#8 v1, same key: `capiscio-tui doctor --fix`",
                    ));
                    }
                    Some(key)
                }
                Err(e) => {
                    problems.push(Problem::error(
                    Code::MalformedKey,
                    match e {
                        pem::PemError::OneLine { .. } => format!("{SERVER_PRIVATE}: {e}"),
                        _ => format!("{SERVER_PRIVATE}: {e}; MCPServerIdentity.connect() fails at start-up"),
                    },
                    "restore private_key.pem from your secrets manager or a backup",
                ));
                    None
                }
            }
        }
        // Reported by check_files, with where the link points.
        Err(ReadError::Symlink { .. }) => None,
        Err(e) if e.is_not_found() => {
            problems.push(Problem::error(
                Code::MissingPrivateKey,
                format!(
                    "{SERVER_PRIVATE} is missing: the SDK would generate a new key and a new DID"
                ),
                "restore private_key.pem, or inject it with CAPISCIO_SERVER_PRIVATE_KEY_PEM",
            ));
            None
        }
        Err(e) => {
            problems.push(read_problem(SERVER_PRIVATE, &e, &id));
            None
        }
    };
    let public_pem = match fs.read(SERVER_PUBLIC) {
        None => {
            if key.is_some() {
                problems.push(Problem::warning(
                    Code::MissingPublicPem,
                    format!("{SERVER_PUBLIC} is missing (the SDK rewrites it on next start)"),
                    "nothing to do, or start the server once",
                ));
            }
            None
        }
        Some(Ok(text)) => match pem::parse_public(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(Problem::warning(
                    Code::MalformedKey,
                    format!("{SERVER_PUBLIC}: {e} (the SDK rewrites it on next start)"),
                    "delete public_key.pem or start the server once",
                ));
                None
            }
        },
        Some(Err(ReadError::Symlink { path })) => {
            problems.push(symlink_problem(
                SERVER_PUBLIC,
                &fs.link_target(SERVER_PUBLIC),
                &path,
            ));
            None
        }
        Some(Err(e)) => {
            problems.push(read_problem(SERVER_PUBLIC, &e, &id));
            None
        }
    };
    if let (Some(k), Some(p)) = (&key, &public_pem)
        && k.public() != p
    {
        problems.push(Problem::warning(
            Code::PublicMismatch,
            format!("{SERVER_PUBLIC} holds a different key than {SERVER_PRIVATE} (the SDK rewrites it on next start)"),
            "start the server once, or delete public_key.pem",
        ));
    }
    let public = key.as_ref().map(|k| *k.public()).or(public_pem);
    let key_did = public.map(|p| p.did_key());
    let did_txt = match fs.read(DID_TXT) {
        Some(Ok(t)) => Some(t.trim().to_string()),
        Some(Err(e)) => {
            problems.push(optional_problem(&e));
            None
        }
        None => None,
    };
    check_did_txt(did_txt.as_deref(), key_did.as_deref(), &mut problems);
    let did = did_txt
        .filter(|d| crate::core::did::method(d) == "web")
        .or_else(|| key_did.clone());
    check_rotation(dir, &id, parent, &mut problems);
    let mut files: Vec<FileInfo> = [
        SERVER_PRIVATE,
        SERVER_PUBLIC,
        DID_TXT,
        "org_id.txt",
        RESOLVED_ID,
        crate::store::keyring::MARKER_FILE,
    ]
    .iter()
    .filter_map(|n| fs.info(n))
    .collect();
    let extra = fs.names(|n| n.starts_with("key-") && n.ends_with(".pem"));
    files.extend(extra.iter().filter_map(|n| fs.info(n)));
    check_files(dir, &fs, SERVER_PRIVATE, &files, &mut problems);
    check_archive_link(&fs, dir, &mut problems);
    check_leftover_temps(&fs, dir, &mut problems);
    Found {
        identity: Identity {
            registry_id,
            did,
            key_did,
            fingerprint: public.map(|p| p.fingerprint()),
            problems,
            files,
            ..Identity::new(id, Kind::McpServer, Source::Disk, dir.display().to_string())
        },
        public,
        secret: match (&key, &keyring_marker) {
            (Some(_), _) => SecretRef::ServerPem(dir.join(SERVER_PRIVATE)),
            (None, Some(m)) => SecretRef::Keyring(m.user.clone()),
            (None, None) => SecretRef::Missing,
        },
        dir: Some(dir.to_path_buf()),
        loadable,
        badge: None,
    }
}

/// Errors while loading a private key for export.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0} is not set")]
    EnvUnset(&'static str),
    #[error("{var}: {message}")]
    EnvInvalid { var: &'static str, message: String },
    #[error("this identity has no private key to export")]
    Missing,
    #[error("the private key ({0}) is in the OS keyring")]
    InKeyring(String),
}

/// Loads and validates a private key from disk (env keys are loaded by `store::env`).
pub fn load_secret_file(secret: &SecretRef) -> Result<KeyPair, LoadError> {
    match secret {
        SecretRef::AgentJwk(path) => {
            let text = sfs::read_small_text(path)?;
            let p = jwk::parse_private(&text).map_err(|e| LoadError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?;
            if p.x_written.is_some() && !p.x_matches() {
                return Err(LoadError::Invalid {
                    path: path.clone(),
                    message: "`x` does not belong to `d`; refusing to export an inconsistent key"
                        .into(),
                });
            }
            Ok(p.key)
        }
        SecretRef::ServerPem(path) => {
            let text = sfs::read_small_text(path)?;
            pem::parse_private(&text)
                .map(|(k, _)| k)
                .map_err(|e| LoadError::Invalid {
                    path: path.clone(),
                    message: e.to_string(),
                })
        }
        SecretRef::Env(var) => Err(LoadError::EnvUnset(var)),
        SecretRef::Keyring(user) => Err(LoadError::InKeyring(user.clone())),
        SecretRef::Missing => Err(LoadError::Missing),
    }
}

/// Writes a new agent identity in the layout capiscio-core's Init writes: dir 0700,
/// `private.jwk` 0600, `public.jwk` 0644 (both go-jose layout), optional agent card —
/// all at once (see [`crate::store::create`]), refusing to replace an existing key.
pub fn write_agent(dir: &Path, key: &KeyPair, card: Option<&str>) -> Result<(), WriteError> {
    let mut files = vec![
        new_file(AGENT_PRIVATE, jwk::to_go_private(key).as_bytes(), 0o600),
        new_file(
            AGENT_PUBLIC,
            jwk::to_go_public(key.public()).as_bytes(),
            0o644,
        ),
    ];
    if let Some(card) = card {
        files.push(new_file(AGENT_CARD, card.as_bytes(), 0o644));
    }
    write_identity(dir, &files)
}

/// Writes a new MCP server identity as the MCP SDK does: `private_key.pem` (PKCS#8 v1,
/// 0600), `public_key.pem` (SPKI), `did.txt` (the did:key, no trailing newline).
pub fn write_server(dir: &Path, key: &KeyPair) -> Result<(), WriteError> {
    let files = [
        new_file(SERVER_PRIVATE, pem::encode_private(key).as_bytes(), 0o600),
        new_file(
            SERVER_PUBLIC,
            pem::encode_public(key.public()).as_bytes(),
            0o644,
        ),
        new_file(DID_TXT, key.public().did_key().as_bytes(), 0o644),
    ];
    write_identity(dir, &files)
}

fn new_file(name: &'static str, content: &[u8], mode: u32) -> create::File {
    create::File {
        name,
        content: zeroize::Zeroizing::new(content.to_vec()),
        mode,
    }
}

/// A new directory is created whole; an existing one (a keyring identity's, which holds
/// only a marker) gets the files added one by one, the private key first refused if present.
fn write_identity(dir: &Path, files: &[create::File]) -> Result<(), WriteError> {
    let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
        return Err(WriteError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other("not an identity directory path"),
        });
    };
    let id = IdentityId::parse(&name.to_string_lossy()).map_err(|e| WriteError::Io {
        path: parent.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    if sfs::is_symlink(dir) {
        return Err(WriteError::Symlink {
            path: dir.to_path_buf(),
        });
    }
    if sfs::exists(dir) {
        create::add_to_existing(dir, files)
    } else {
        create::create_identity(parent, &id, files).map(drop)
    }
}

/// Env var that overrides a disk identity of this kind.
pub fn env_var_for(kind: Kind) -> &'static str {
    match kind {
        Kind::Agent => AGENT_VAR,
        Kind::McpServer => SERVER_VAR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f"));
        assert!(is_uuid("4B7C7F4E-1D6C-4A55-9A3E-1A2B3C4D5E6F"));
        assert!(!is_uuid("my-agent-001"));
        assert!(!is_uuid("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6"));
        assert!(!is_uuid("4b7c7f4e_1d6c-4a55-9a3e-1a2b3c4d5e6f"));
    }

    #[test]
    fn written_agent_inspects_clean() {
        let dir = tempfile::tempdir().unwrap();
        let id = "4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f";
        let agent_dir = dir.path().join(id);
        let key = KeyPair::generate().unwrap();
        write_agent(&agent_dir, &key, None).unwrap();
        let f = inspect_agent(&agent_dir, id, true, 0);
        assert!(f.identity.problems.is_empty(), "{:?}", f.identity.problems);
        assert_eq!(f.identity.key_did, Some(key.public().did_key()));
        assert!(f.loadable);
        assert_eq!(load_secret_file(&f.secret).unwrap(), key);
        assert!(matches!(
            write_agent(&agent_dir, &key, None),
            Err(WriteError::Exists { .. })
        ));
    }

    #[test]
    fn written_server_inspects_clean() {
        let dir = tempfile::tempdir().unwrap();
        let sdir = dir.path().join("srv");
        let key = KeyPair::generate().unwrap();
        write_server(&sdir, &key).unwrap();
        let f = inspect_server(&sdir, "srv");
        assert!(f.identity.problems.is_empty(), "{:?}", f.identity.problems);
        assert_eq!(f.identity.did, Some(key.public().did_key()));
        assert_eq!(load_secret_file(&f.secret).unwrap(), key);
    }
}
