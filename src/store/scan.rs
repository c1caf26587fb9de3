//! Finds every identity (disk layouts and env vars) and decides, as the SDKs would,
//! which key each identity actually runs with.

use crate::core::export::{AGENT_VAR, SERVER_VAR};
use crate::core::identity::{Code, Kind, Problem, Severity, Source};
use crate::store::disk::{self, Found};
use crate::store::env::{self, AGENT_ID_VAR, EnvSnapshot, KEY_DIR_VAR, SERVER_ID_VAR};
use crate::store::fs::EntryKind;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What a scan looks at. `cwd` resolves a relative `CAPISCIO_KEY_DIR` the way the SDK does.
pub struct ScanInput<'a> {
    pub home: &'a Path,
    pub env: &'a EnvSnapshot,
    pub cwd: &'a Path,
    pub now: i64,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// Problems that belong to the setup rather than to one identity.
    pub notes: Vec<Problem>,
}

pub fn agents_dir(home: &Path) -> PathBuf {
    home.join("keys")
}

pub fn servers_dir(home: &Path) -> PathBuf {
    home.join("mcp-servers")
}

/// `CAPISCIO_KEY_DIR` as the SDK resolves it: `Path(value)`, no `~` expansion.
pub fn key_dir(env: &EnvSnapshot, cwd: &Path) -> Option<PathBuf> {
    env.get(KEY_DIR_VAR).map(|raw| cwd.join(raw))
}

/// Immediate subdirectories (following symlinks), sorted, hidden ones skipped. A
/// directory that exists but cannot be listed becomes a note: its identities would
/// otherwise vanish from the list without a word.
fn subdirs(dir: &Path, notes: &mut Vec<Problem>) -> Vec<(String, PathBuf)> {
    listing(dir, notes).0
}

type Listing = (Vec<(String, PathBuf)>, Option<disk::Parent>);

/// [`subdirs`], plus the hidden names beside them (rotation journals and staging
/// directories), so that inspection opens a journal only where the listing shows one.
/// The entry type comes from the listing itself; only links are stat'ed.
fn listing(dir: &Path, notes: &mut Vec<Problem>) -> Listing {
    let rd =
        match crate::store::fs::DirHandle::open(dir).and_then(|h| h.list().map(|l| (h, l))) {
            Ok(rd) => rd,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Default::default();
            }
            Err(e) => {
                notes.push(Problem::error(
                Code::Unreadable,
                format!("cannot list {}: {e}; the identities in it are not shown", dir.display()),
                format!(
                    "give your user access again (`ls -ld {0}`; e.g. `chmod 700 {0}` as its owner)",
                    dir.display()
                ),
            ));
                return Default::default();
            }
        };
    let (handle, entries) = rd;
    let mut siblings = disk::Siblings::new();
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for e in entries {
        if e.name.starts_with('.') {
            siblings.insert(e.name);
            continue;
        }
        let is_dir = match e.kind {
            EntryKind::Dir => true,
            // A link (or an unknown type): whatever it points to decides.
            EntryKind::Symlink | EntryKind::Unknown => handle.is_dir_at(&e.name),
            EntryKind::File | EntryKind::Special(_) => false,
        };
        if is_dir {
            out.push((e.name.clone(), dir.join(&e.name)));
        }
    }
    out.sort();
    (out, Some(disk::Parent { handle, siblings }))
}

/// What [`par_map`] returns: the results, and the directories whose inspection
/// panicked (their identities are missing from the results).
struct ParOut<R> {
    results: Vec<R>,
    failed: Vec<PathBuf>,
}

/// Test hook (debug builds only, so never in a release binary): inspecting the directory
/// named by `CAPISCIO_TUI_TEST_SCAN_PANIC` panics, as a bug in an inspector would.
#[cfg(debug_assertions)]
fn test_panic_hook(dir: &Path) {
    if let Some(name) = std::env::var_os("CAPISCIO_TUI_TEST_SCAN_PANIC")
        && dir.file_name() == Some(name.as_os_str())
    {
        panic!(
            "forced scan panic (CAPISCIO_TUI_TEST_SCAN_PANIC) in {}",
            dir.display()
        );
    }
}

/// Runs `f` over `items` on all cores; discovery is dominated by many small reads. An
/// item whose `f` panics is not silently dropped: its directory (`dir_of`) is returned in
/// `failed`, and every other item's result is kept.
fn par_map<T: Sync, R: Send>(
    items: &[T],
    dir_of: impl Fn(&T) -> PathBuf + Sync,
    f: impl Fn(&T) -> R + Sync,
) -> ParOut<R> {
    let one = |item: &T| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            #[cfg(debug_assertions)]
            test_panic_hook(&dir_of(item));
            f(item)
        }))
        .map_err(|_| dir_of(item))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let outcomes: Vec<Result<R, PathBuf>> = if items.len() < 64 || threads < 2 {
        items.iter().map(one).collect()
    } else {
        let chunk = items.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|c| (c, s.spawn(|| c.iter().map(one).collect::<Vec<_>>())))
                .collect();
            handles
                .into_iter()
                .flat_map(|(c, h)| {
                    // Each item is caught above; should the worker itself still die, its
                    // whole chunk counts as not inspected.
                    h.join()
                        .unwrap_or_else(|_| c.iter().map(|i| Err(dir_of(i))).collect())
                })
                .collect()
        })
    };
    let mut out = ParOut {
        results: Vec::with_capacity(outcomes.len()),
        failed: Vec::new(),
    };
    for o in outcomes {
        match o {
            Ok(r) => out.results.push(r),
            Err(dir) => out.failed.push(dir),
        }
    }
    out
}

/// The note for directories whose inspection failed: their identities are not shown.
fn scan_failed_note(failed: &[PathBuf]) -> Option<Problem> {
    const NAMED: usize = 10;
    if failed.is_empty() {
        return None;
    }
    let mut names: Vec<String> = failed
        .iter()
        .take(NAMED)
        .map(|d| d.display().to_string())
        .collect();
    if failed.len() > NAMED {
        names.push(format!("and {} more", failed.len() - NAMED));
    }
    Some(Problem::error(
        Code::ScanFailed,
        format!(
            "{} {} could not be inspected (internal error); the identities in {} are not shown: {}",
            failed.len(),
            if failed.len() == 1 {
                "directory"
            } else {
                "directories"
            },
            if failed.len() == 1 { "it" } else { "them" },
            names.join(", ")
        ),
        "this is a bug in capiscio-tui: please report it with the output above; `ls` the directories to see their files",
    ))
}

/// Whether `dir` holds an agent key file, from its listing (nothing is looked up by name);
/// a directory that can be searched but not listed is asked by name, as the SDK would.
fn has_agent_files(dir: &Path) -> bool {
    let is_key = |n: &str| n == disk::AGENT_PRIVATE || n == disk::AGENT_PUBLIC;
    match crate::store::fs::DirHandle::open(dir).and_then(|h| h.list()) {
        Ok(entries) => entries.iter().any(|e| is_key(&e.name)),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            dir.join(disk::AGENT_PRIVATE).exists() || dir.join(disk::AGENT_PUBLIC).exists()
        }
        Err(_) => false,
    }
}

pub fn scan(input: &ScanInput) -> Scan {
    let mut scan = Scan::default();
    let agent_id = input.env.get(AGENT_ID_VAR);
    let explicit_key_dir = key_dir(input.env, input.cwd);
    if let Some(raw) = input.env.get(KEY_DIR_VAR)
        && raw.starts_with('~')
    {
        scan.notes.push(Problem::warning(
            Code::TildeInKeyDir,
            format!(
                "{KEY_DIR_VAR}={raw} starts with `~`: the SDK does not expand it and uses {}",
                input.cwd.join(raw).display()
            ),
            format!(
                "set {KEY_DIR_VAR} to an absolute path, e.g. {KEY_DIR_VAR}=\"$HOME{}\"",
                &raw[1..]
            ),
        ));
    }

    // One note for an unreadable home rather than one per directory under it.
    let home_err = disk::untraversable(input.home);
    if let Some(e) = &home_err {
        scan.notes.push(Problem::error(
            Code::Unreadable,
            format!(
                "cannot open {}: {e}; no identity stored in it is shown",
                input.home.display()
            ),
            format!(
                "give your user access again (`ls -ld {0}`; e.g. `chmod 700 {0}` as its owner)",
                input.home.display()
            ),
        ));
    }
    let home_subdirs = |dir: PathBuf, notes: &mut Vec<Problem>| {
        if home_err.is_some() {
            Default::default()
        } else {
            listing(&dir, notes)
        }
    };

    // Agent directories: keys/<id>/, then CAPISCIO_KEY_DIR (flat, plus its subdirs).
    let (home_agents, agent_parent) = home_subdirs(agents_dir(input.home), &mut scan.notes);
    let mut agent_dirs: Vec<(String, PathBuf, bool)> = home_agents
        .into_iter()
        .map(|(n, p)| (n, p, false))
        .collect();
    let home_agent_count = agent_dirs.len();
    if let Some(kd) = &explicit_key_dir {
        let name = kd
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if has_agent_files(kd) {
            agent_dirs.push((name, kd.clone(), true));
        }
        agent_dirs.extend(
            subdirs(kd, &mut scan.notes)
                .into_iter()
                .filter(|(_, p)| has_agent_files(p))
                .map(|(n, p)| (n, p, false)),
        );
    }
    let targeted = |name: &str, flat: bool| flat || agent_id.is_some_and(|a| a == name);
    let (server_dirs, server_parent) = home_subdirs(servers_dir(input.home), &mut scan.notes);
    // One pass over agents and servers together, so the threads share all the work
    // (two passes left one thread idle while the other finished its half of each).
    let work: Vec<(usize, bool)> = (0..agent_dirs.len())
        .map(|i| (i, true))
        .chain((0..server_dirs.len()).map(|i| (i, false)))
        .collect();
    let dir_of = |&(i, agent): &(usize, bool)| -> PathBuf {
        if agent {
            agent_dirs[i].1.clone()
        } else {
            server_dirs[i].1.clone()
        }
    };
    let out = par_map(&work, dir_of, |&(i, agent)| {
        if agent {
            let (name, path, flat) = &agent_dirs[i];
            let discoverable = disk::is_uuid(name) || targeted(name, *flat);
            // Journals of keys/<id> sit in keys/, which was listed; the other
            // directories' parents were not, so they are looked up by name.
            let parent = agent_parent.as_ref().filter(|_| i < home_agent_count);
            disk::inspect_agent_in(path, name, discoverable, input.now, parent)
        } else {
            let (name, path) = &server_dirs[i];
            disk::inspect_server_in(path, name, server_parent.as_ref())
        }
    });
    scan.notes.extend(scan_failed_note(&out.failed));
    let found = out.results;
    // Only CAPISCIO_KEY_DIR can make two paths name one directory; canonicalising every
    // directory otherwise would cost thousands of syscalls for nothing.
    // The results are kept where par_map put them (no copy of ~1 KB per identity into a
    // second vector: on 2,000 identities that copy was megabytes of fresh pages).
    let mut found = found;
    if explicit_key_dir.is_some() {
        let mut seen = HashSet::new();
        found.retain(|f| {
            f.dir
                .as_ref()
                .and_then(|d| std::fs::canonicalize(d).ok())
                .is_none_or(|d| seen.insert((f.identity.kind, d)))
        });
    }
    scan.found = found;
    for f in scan.found.iter_mut() {
        f.identity.effective = f.loadable && !f.identity.has_code(Code::NotDiscoverable);
    }

    let agent_target = explicit_key_dir.clone().or_else(|| {
        agent_id
            .and_then(|id| crate::core::ids::IdentityId::parse(id).ok())
            .map(|id| crate::store::create::identity_path(&agents_dir(input.home), &id))
    });
    if let Some(e) = env::inspect_agent(input.env) {
        apply_env(
            &mut scan.found,
            e,
            Kind::Agent,
            agent_target.as_deref(),
            AGENT_VAR,
        );
    }
    let server_target = input.env.get(SERVER_ID_VAR).map(|id| {
        let dir = if id.eq_ignore_ascii_case("auto") {
            "_auto"
        } else {
            id
        };
        servers_dir(input.home).join(dir)
    });
    if let Some(e) = env::inspect_server(input.env) {
        apply_env(
            &mut scan.found,
            e,
            Kind::McpServer,
            server_target.as_deref(),
            SERVER_VAR,
        );
    }
    scan.found.sort_by(|a, b| {
        (a.identity.kind, a.identity.source, &a.identity.id).cmp(&(
            b.identity.kind,
            b.identity.source,
            &b.identity.id,
        ))
    });
    scan
}

/// Decides what an injected key does to the disk identity the SDK would write it over.
fn apply_env(
    found: &mut Vec<Found>,
    mut env_found: Found,
    kind: Kind,
    target_dir: Option<&Path>,
    var: &'static str,
) {
    env_found.identity.effective = env_found.loadable;
    let canonical = target_dir.and_then(|d| std::fs::canonicalize(d).ok());
    let same_kind_disk = |f: &Found| f.identity.kind == kind && f.identity.source == Source::Disk;
    // Which disk identity receives the env key: the configured one, else the one holding
    // the same key, else — when there is exactly one candidate — that one, as a guess.
    let explicit = canonical.as_ref().and_then(|c| {
        found
            .iter()
            .position(|f| same_kind_disk(f) && f.dir.as_ref() == Some(c))
    });
    let by_key = env_found.public.and_then(|p| {
        found
            .iter()
            .position(|f| same_kind_disk(f) && f.public == Some(p))
    });
    let candidates: Vec<usize> = found
        .iter()
        .enumerate()
        .filter(|(_, f)| same_kind_disk(f) && f.identity.effective)
        .map(|(i, _)| i)
        .collect();
    let (target, certain, unknown) = match (target_dir, explicit, by_key) {
        (Some(_), Some(i), _) => (Some(i), true, false),
        // Configured target not on disk yet: the SDK creates it; nothing is overwritten.
        (Some(_), None, _) => (None, true, false),
        (None, _, Some(i)) => (Some(i), true, false),
        (None, _, None) if candidates.len() == 1 => (Some(candidates[0]), false, false),
        (None, _, None) => (None, false, !candidates.is_empty()),
    };
    if !env_found.loadable {
        // The SDK ignores (agent) or dies on (server) this value; disk keys stay as they are.
        found.push(env_found);
        return;
    }
    match target {
        Some(i) => {
            let disk_f = &mut found[i];
            let same_key = env_found.public.is_some() && env_found.public == disk_f.public;
            disk_f.identity.effective = false;
            disk_f.identity.shadowed_by = Some(var.to_string());
            env_found.identity.shadows = Some(disk_f.identity.id.clone());
            if !same_key {
                let (severity, likely) = if certain {
                    (Severity::Error, "")
                } else {
                    (
                        Severity::Warning,
                        " (the only candidate; set the id variable to be sure)",
                    )
                };
                let at = disk_f.identity.location.clone();
                let fix = format!(
                    "unset {var} in this shell, or replace it with this identity's key: `capiscio-tui export {} --format env`",
                    disk_f.identity.id
                );
                disk_f.identity.problems.push(Problem {
                    severity,
                    code: Code::EnvShadowsDisk,
                    message: format!("{var} in this environment injects a different key: the SDK uses it and overwrites {at}{likely}"),
                    fix: fix.clone(),
                });
                env_found.identity.problems.push(Problem {
                    severity,
                    code: Code::EnvShadowsDisk,
                    message: format!("injects a different key than {} on disk: the SDK overwrites {at} with it on next start{likely}", disk_f.identity.id),
                    fix,
                });
            }
        }
        None if unknown => {
            env_found.identity.problems.push(Problem::warning(
                Code::EnvTargetUnknown,
                format!("cannot tell which {} this key belongs to: the SDK writes it over the keys of whichever one it resolves", kind.label()),
                match kind {
                    Kind::Agent => format!("set {AGENT_ID_VAR} (or {KEY_DIR_VAR}) next to {var}"),
                    Kind::McpServer => format!("set {SERVER_ID_VAR} next to {var}"),
                },
            ));
        }
        None => {}
    }
    found.push(env_found);
}

/// Brings keyring identities into a scan: disk identities whose key moved to the keyring
/// become `source: keyring`, keyring-only ones are added, and index drift is reported.
pub fn merge_keyring(
    scan: &mut Scan,
    home: &Path,
    keyring: Result<&crate::store::keyring::Keyring, &crate::store::keyring::KeyringError>,
) {
    use crate::core::identity::{Identity, Source};
    use crate::store::keyring::{self as kr, KeyringError};
    let index = match kr::read_index(home) {
        Ok(i) => i.unwrap_or_default(),
        Err(e) => {
            scan.notes.push(Problem::warning(
                Code::KeyringIndexStale,
                e.to_string(),
                "delete it; `capiscio-tui list --keyring secret-service` rebuilds what it can",
            ));
            kr::Index::default()
        }
    };
    let kr = match keyring {
        Ok(k) => k,
        Err(e) => {
            if !index.entries.is_empty() {
                scan.notes.push(Problem::warning(
                    Code::KeyringUnavailable,
                    format!(
                        "{} identities are kept in the OS keyring, which cannot be reached: {e}",
                        index.entries.len()
                    ),
                    "start or unlock the keyring (or pass --keyring keyutils / secret-service)",
                ));
            }
            return;
        }
    };
    let searched = match kr.search() {
        Ok(s) => s,
        Err(e) => {
            scan.notes.push(Problem::warning(
                Code::KeyringUnavailable,
                format!("keyring search failed: {e}"),
                "check the keyring daemon",
            ));
            None
        }
    };
    let mut seen: Vec<(Kind, String)> = Vec::new();
    let mut wanted: Vec<(Kind, String, Option<String>, Vec<Problem>)> = index
        .entries
        .iter()
        .filter(|e| e.store == kr.kind)
        .map(|e| {
            (
                e.kind,
                e.id.clone(),
                Some(e.fingerprint.clone()),
                Vec::new(),
            )
        })
        .collect();
    for attrs in searched.unwrap_or_default() {
        let (Some(kind), Some(id)) = (attrs.get("kind"), attrs.get("id")) else {
            continue;
        };
        let kind = if kind == "agent" {
            Kind::Agent
        } else {
            Kind::McpServer
        };
        if !wanted.iter().any(|(k, i, _, _)| *k == kind && i == id) {
            wanted.push((
                kind,
                id.clone(),
                attrs.get("fingerprint").cloned(),
                vec![Problem::warning(Code::KeyringIndexStale, format!("the keyring holds this identity but {} does not list it", kr::INDEX_FILE), "`capiscio-tui keyring export --to-disk` or `keyring delete` it; imports rewrite the index")],
            ));
        }
    }
    for (kind, id, index_fp, mut problems) in wanted {
        seen.push((kind, id.clone()));
        let user = kr::user_for(kind, &id);
        let public = match kr.get(&user) {
            Ok(secret) => match crate::core::secret::decode(kind, &secret) {
                Ok(k) => Some(*k.public()),
                Err(e) => {
                    problems.push(Problem::error(
                        Code::MalformedKey,
                        format!("the keyring entry {user}: {e}"),
                        "restore the key from a backup",
                    ));
                    None
                }
            },
            Err(KeyringError::NoEntry(_)) => {
                problems.push(Problem::error(
                    Code::KeyringEntryMissing,
                    format!("{} lists {user}, but the keyring has no such entry (a volatile keyring loses keys on reboot)", kr::INDEX_FILE),
                    "restore the key from your secrets manager; `capiscio-tui keyring delete` removes the stale index entry",
                ));
                None
            }
            Err(e) => {
                problems.push(Problem::warning(
                    Code::KeyringUnavailable,
                    e.to_string(),
                    "check the keyring daemon",
                ));
                None
            }
        };
        if let (Some(p), Some(fp)) = (public, index_fp.as_ref())
            && p.fingerprint() != *fp
        {
            problems.push(Problem::warning(
                Code::KeyringIndexStale,
                format!(
                    "the index says key {fp}, the keyring holds {}",
                    p.fingerprint()
                ),
                "re-import or re-export the identity to refresh the index",
            ));
        }
        if kr.kind.volatile() {
            problems.push(Problem::warning(
                Code::KeyringOnly,
                "kept in kernel keyutils, which is volatile: the key is lost on reboot".to_string(),
                "keep a copy in your secrets manager (`capiscio-tui export`)",
            ));
        }
        if let Some(f) = scan.found.iter_mut().find(|f| {
            f.identity.kind == kind
                && f.identity.id == id
                && f.identity.source == Source::Disk
                && matches!(f.secret, crate::store::disk::SecretRef::Keyring(_))
        }) {
            f.identity.source = Source::Keyring;
            f.identity.problems.extend(problems);
            if f.public.is_none() {
                f.public = public;
            }
            continue;
        }
        // Exported back to disk earlier: the disk identity is the one to show.
        if scan.found.iter().any(|f| {
            f.identity.kind == kind && f.identity.id == id && f.identity.source == Source::Disk
        }) {
            continue;
        }
        let key_did = public.map(|p| p.did_key());
        let mut all = vec![Problem::warning(
            Code::KeyringOnly,
            "the private key is only in the OS keyring; the SDKs read only files and env vars"
                .to_string(),
            format!(
                "`capiscio-tui keyring export {id} --to-disk` before starting an SDK here, or inject it with `capiscio-tui export {id} --format env`"
            ),
        )];
        all.extend(problems);
        scan.found.push(Found {
            identity: Identity {
                id: id.clone(),
                kind,
                source: Source::Keyring,
                location: format!("keyring:{}", kr.kind.as_str()),
                name: None,
                did: key_did.clone(),
                key_did,
                fingerprint: public.map(|p| p.fingerprint()),
                effective: false,
                badge: None,
                problems: all,
                files: Vec::new(),
                shadows: None,
                shadowed_by: None,
                registry: None,
            },
            public,
            secret: crate::store::disk::SecretRef::Keyring(user),
            dir: None,
            loadable: false,
            badge: None,
        });
    }
    // Disk identities whose marker points at a keyring entry the index forgot.
    for f in scan.found.iter_mut().filter(|f| {
        matches!(f.secret, crate::store::disk::SecretRef::Keyring(_))
            && f.identity.source == Source::Disk
    }) {
        if !seen.contains(&(f.identity.kind, f.identity.id.clone())) {
            f.identity.source = Source::Keyring;
            f.identity.problems.push(Problem::warning(
                Code::KeyringIndexStale,
                format!("{} does not list this identity", kr::INDEX_FILE),
                "re-import it to refresh the index",
            ));
        }
    }
    scan.found.sort_by(|a, b| {
        (a.identity.kind, a.identity.source, &a.identity.id).cmp(&(
            b.identity.kind,
            b.identity.source,
            &b.identity.id,
        ))
    });
}
