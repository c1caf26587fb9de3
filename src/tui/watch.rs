//! The live view: the CapiscIO home is watched (notify) while the UI is open, so an
//! identity an SDK or another process creates shows up without `r`. Bursts of events are
//! debounced into one `HomeChanged`; a home that does not exist yet is waited for by
//! watching its nearest existing ancestor, and a home that is replaced (or a symlinked
//! home retargeted) is watched anew.

use super::model::Msg;
use notify::{EventKind, RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

/// Quiet time before a burst of changes counts as one.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// What is being watched: the path, how, and which directory it was (to notice a
/// replaced home, whose old watch died with it).
#[derive(PartialEq, Eq)]
struct Target {
    path: PathBuf,
    recursive: bool,
    identity: Option<(u64, u64)>,
}

#[cfg(unix)]
fn dir_identity(p: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn dir_identity(_: &Path) -> Option<(u64, u64)> {
    None
}

fn target(home: &Path) -> Target {
    if home.is_dir() {
        return Target {
            path: home.to_path_buf(),
            recursive: true,
            identity: dir_identity(home),
        };
    }
    let mut up = home.parent();
    while let Some(p) = up {
        if p.is_dir() {
            return Target {
                path: p.to_path_buf(),
                recursive: false,
                identity: dir_identity(p),
            };
        }
        up = p.parent();
    }
    Target {
        path: PathBuf::from("/"),
        recursive: false,
        identity: None,
    }
}

/// Whether an event can change what a scan finds: reads (our own scans open files) never do.
fn relevant(kind: &EventKind, paths: &[PathBuf], home: &Path) -> bool {
    !matches!(kind, EventKind::Access(_))
        && (paths.is_empty() || paths.iter().any(|p| p.starts_with(home)))
}

/// Points the watcher at what `home` needs now, when that changed.
fn arm(watcher: &mut impl Watcher, current: &mut Option<Target>, home: &Path) {
    let want = target(home);
    if current.as_ref() == Some(&want) {
        return;
    }
    if let Some(old) = current.take() {
        let _ = watcher.unwatch(&old.path);
    }
    let mode = if want.recursive {
        RecursiveMode::Recursive
    } else {
        RecursiveMode::NonRecursive
    };
    if watcher.watch(&want.path, mode).is_ok() {
        *current = Some(want);
    }
    // The home's own name is watched in its parent too: a home that is a symlink
    // retargeted elsewhere (`ln -sfn other ~/.capiscio`) changes nothing inside the old
    // target, only that name. (Watched again after each change above: an unwatch of the
    // parent, when it was the target, dropped it.)
    if let Some(parent) = home.parent().filter(|p| p.is_dir())
        && current.as_ref().is_none_or(|c| c.path != parent)
    {
        let _ = watcher.watch(parent, RecursiveMode::NonRecursive);
    }
}

/// Watches `home` on a thread of its own until the UI goes away. Without a working
/// watcher (no inotify left, …) the UI still works: `r` rescans.
pub fn spawn(home: PathBuf, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let (etx, erx) = channel::<bool>();
        let home_cb = home.clone();
        let Ok(mut watcher) =
            notify::recommended_watcher(move |r: notify::Result<notify::Event>| {
                let hit = match r {
                    Ok(ev) => relevant(&ev.kind, &ev.paths, &home_cb),
                    // A lost or overflowed watch: rescan to be sure.
                    Err(_) => true,
                };
                if hit {
                    let _ = etx.send(true);
                }
            })
        else {
            return;
        };
        let mut current: Option<Target> = None;
        arm(&mut watcher, &mut current, &home);
        loop {
            // Blocks until something happens: an idle UI costs nothing here.
            if erx.recv().is_err() {
                return;
            }
            while erx.recv_timeout(DEBOUNCE).is_ok() {}
            // Re-arm first (the home may have appeared or been replaced), then rescan, so
            // nothing created in between is missed.
            arm(&mut watcher, &mut current, &home);
            if tx.send(Msg::HomeChanged).is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_home_is_waited_for_from_its_parent() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join(".capiscio");
        let t = target(&home);
        assert_eq!((t.path.as_path(), t.recursive), (d.path(), false));
        std::fs::create_dir(&home).unwrap();
        let t = target(&home);
        assert_eq!((t.path.as_path(), t.recursive), (home.as_path(), true));
        assert!(!relevant(
            &EventKind::Access(notify::event::AccessKind::Any),
            std::slice::from_ref(&home),
            &home
        ));
        assert!(!relevant(
            &EventKind::Any,
            &[d.path().join(".bash_history")],
            &home
        ));
        assert!(relevant(&EventKind::Any, &[home.join("keys")], &home));
    }
}
