//! Key safety through the real binary: a disk that fills at every write of a rotation,
//! deletion and creation through symlinks, lock-file links, and concurrent writers.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use support::*;

const A: &str = "11111111-1111-4111-8111-111111111111";

/// Runs the binary under strace with one fault injection rule.
fn run_injected(h: &Home, syscall: &str, rule: &str, args: &[&str]) -> Output {
    h.under_strace(&[
        "-e",
        &format!("trace={syscall}"),
        "-e",
        &format!("inject={syscall}:{rule}"),
    ])
    .args(args)
    .output()
    .unwrap()
}

/// How many calls of `syscall` the command makes, counted by `strace -c`.
fn count_calls(h: &Home, syscall: &str, args: &[&str]) -> usize {
    let log = h.path().join("count.log");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-c", "-o"])
        .arg(&log)
        .arg("-e")
        .arg(format!("trace={syscall}"))
        .arg(env!("CARGO_BIN_EXE_capiscio-tui"))
        .args(args)
        .env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.lines()
        .find(|l| l.split_whitespace().last() == Some(syscall))
        .and_then(|l| l.split_whitespace().nth(3)?.parse().ok())
        .unwrap_or(0)
}

/// Every private key (by its `d`) under `dir`, archive included.
fn agent_keys(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if e.file_name() == "private.jwk" {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
                out.push(v["d"].as_str().unwrap().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
#[cfg_attr(
    not(capiscio_test_strace),
    ignore = "needs strace (apt-get install strace), then rebuild: touch build.rs"
)]
fn a_disk_that_fills_at_any_write_leaves_a_clean_explained_state() {
    if !strace_available() {
        return;
    }
    let template = Home::new();
    seed_agent(&template, A, D1, X1, DID1);
    // Two earlier rotations: archives that must survive whatever happens.
    for _ in 0..2 {
        let out = template.run(&["rotate", A, "--yes", "--offline"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let keys_before = agent_keys(&template.agent_dir(A));
    assert_eq!(keys_before.len(), 3);
    let mut failures = 0;
    // Not `write`: tokio wakes its threads by writing to an eventfd, and an injected error
    // there is no full disk but a lost wake-up. Real ENOSPC on writes: the tmpfs test below.
    for syscall in ["fsync", "mkdir", "linkat", "renameat2", "rename"] {
        // How many such calls an undisturbed rotation makes (per strace, all threads).
        let total = {
            let h = Home::new();
            std::fs::remove_dir(h.path()).ok();
            copy_tree(template.path(), h.path());
            count_calls(&h, syscall, &["rotate", A, "--yes", "--offline"])
        };
        // Every one of the first 12, then a sample: a full disk at ~30 points per call.
        let step = (total / 20).max(1);
        let mut n = 1;
        loop {
            let h = Home::new();
            std::fs::remove_dir(h.path()).ok();
            copy_tree(template.path(), h.path());
            // From the Nth call on, every such call fails as on a full disk.
            let out = run_injected(
                &h,
                syscall,
                &format!("error=ENOSPC:when={n}+"),
                &["rotate", A, "--yes", "--offline"],
            );
            let label = format!("{syscall} from #{n}");
            let keys_after = agent_keys(&h.agent_dir(A));
            for k in &keys_before {
                assert!(keys_after.contains(k), "{label}: a key was lost");
            }
            if out.status.success() {
                break;
            }
            failures += 1;
            assert!(
                !stderr(&out).contains("panicked"),
                "{label}: {}",
                stderr(&out)
            );
            // With space again: either nothing is pending, or resume finishes it.
            let list = h.list_json(&[]);
            let pending = codes(find(&list, A)).contains(&"rotation-interrupted".to_string());
            // (Writes to stderr fail too; where they did, the state speaks for itself.)
            let said = !stderr(&out).trim().is_empty();
            if pending {
                assert!(
                    !said || stderr(&out).contains("--resume"),
                    "{label}: an interrupted state must be explained: {}",
                    stderr(&out)
                );
                let out = h.run(&["rotate", A, "--resume", "--offline"]);
                assert!(out.status.success(), "{label}: {}", stderr(&out));
                let list = h.list_json(&[]);
                assert!(
                    !codes(find(&list, A)).contains(&"rotation-interrupted".to_string()),
                    "{label}: still interrupted after resume"
                );
            } else {
                assert!(
                    !said
                        || stderr(&out).contains("nothing was lost")
                        || stderr(&out).contains("did not start")
                        || stderr(&out).contains("No space left"),
                    "{label}: {}",
                    stderr(&out)
                );
            }
            // And the identity still loads with one complete pair.
            let f = find(&h.list_json(&[]), A).clone();
            assert_eq!(f["source"], "disk", "{label}");
            assert!(
                !codes(&f)
                    .iter()
                    .any(|c| c.contains("mismatch") || c.starts_with("missing")),
                "{label}: {:?}",
                codes(&f)
            );
            n += if n < 12 { 1 } else { step };
            assert!(n < 2000, "{syscall}: the rotation never completed");
        }
    }
    assert!(failures > 20, "only {failures} injected failures");
}

#[test]
fn purge_never_deletes_through_a_symlinked_archive() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let out = h.run(&["rotate", A, "--yes", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let elsewhere = h.path().join("elsewhere");
    std::fs::create_dir_all(elsewhere.join("precious")).unwrap();
    std::fs::write(elsewhere.join("precious/data"), "keep me").unwrap();
    let archive = h.agent_dir(A).join("archive");
    std::fs::rename(&archive, h.path().join("real-archive")).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &archive).unwrap();
    let out = h.run(&["archive", "purge", A, "--all", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("precious/data")).unwrap(),
        "keep me"
    );
}

#[test]
fn generate_never_writes_through_a_symlinked_home_or_keys_dir() {
    for linked in [".capiscio", ".capiscio/keys", ".capiscio/mcp-servers"] {
        let h = Home::new();
        let outside = h.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let link = h.path().join(linked);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let kinds: &[&str] = match linked {
            ".capiscio" => &["agent", "mcp-server"],
            ".capiscio/keys" => &["agent"],
            _ => &["mcp-server"],
        };
        for kind in kinds {
            let out = h.run(&["generate", "--kind", kind, "--id", "x1"]);
            assert_eq!(out.status.code(), Some(1), "{linked} {kind}");
            assert!(
                stderr(&out).contains("symlink"),
                "{linked} {kind}: {}",
                stderr(&out)
            );
        }
        let mut stack = vec![outside.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                assert!(
                    e.file_type().unwrap().is_dir(),
                    "{linked}: wrote {} through the link",
                    e.path().display()
                );
                stack.push(e.path());
            }
        }
    }
}

#[test]
fn a_dangling_lock_symlink_creates_nothing_outside() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let target = h.path().join("outside-file");
    std::os::unix::fs::symlink(
        &target,
        h.capiscio().join("keys").join(format!(".{A}.lock")),
    )
    .unwrap();
    for args in [
        vec!["rotate", A, "--yes", "--offline"],
        vec!["archive", "purge", A, "--all", "--yes"],
        vec!["doctor", "--fix"],
    ] {
        let _ = h.run(&args);
        assert!(!target.exists(), "{args:?} created a file through the link");
    }
    let out = h.run(&["rotate", A, "--yes", "--offline"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
}

#[test]
fn invalid_ids_never_become_paths_and_are_not_quoted() {
    let h = Home::new();
    for bad in [
        "../escape",
        ".hidden",
        "a/b",
        "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK",
    ] {
        let out = h.run(&["generate", "--kind", "agent", "--id", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&out).contains("not a valid identity id"),
            "{bad}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(bad), "{bad} was echoed");
    }
    assert!(!h.path().join("escape").exists());
}

/// Two processes rotating and rolling back the same identity at once, with fixes and
/// purges of old archives mixed in: every key that was ever current stays recoverable.
#[test]
fn concurrent_writers_lose_nothing() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let worker = |ops: &'static [&'static str]| {
        let home = h.path().to_path_buf();
        std::thread::spawn(move || {
            let mut ok = 0;
            for round in 0..6 {
                for op in ops {
                    let args: Vec<&str> = match *op {
                        "rotate" => vec!["rotate", A, "--yes", "--offline", "--json"],
                        "rollback" => vec!["rotate", A, "--rollback", "--yes", "--offline"],
                        "fix" => vec!["doctor", "--fix"],
                        "list" => vec!["list", "--json"],
                        _ => unreachable!(),
                    };
                    let out = Command::new(bin)
                        .args(&args)
                        .env_clear()
                        .env("HOME", &home)
                        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                        .output()
                        .unwrap();
                    let err = String::from_utf8_lossy(&out.stderr).to_string();
                    assert!(!err.contains("panicked"), "round {round} {op}: {err}");
                    if out.status.success() && *op == "rotate" {
                        ok += 1;
                    }
                }
            }
            ok
        })
    };
    let a = worker(&["rotate", "rollback", "list"]);
    let b = worker(&["rotate", "fix", "rotate", "rollback"]);
    let rotations = a.join().unwrap() + b.join().unwrap();
    assert!(rotations > 0, "no rotation got through");
    // One fresh key per successful rotation, plus the first: all still there.
    let keys = agent_keys(&h.agent_dir(A));
    assert_eq!(
        keys.len(),
        rotations + 1,
        "{rotations} rotations, {} keys",
        keys.len()
    );
    assert!(keys.contains(&D1.to_string()));
    let list = h.list_json(&[]);
    let c = codes(find(&list, A));
    assert!(
        !c.iter()
            .any(|c| c == "rotation-interrupted" || c.contains("mismatch")),
        "{c:?}"
    );
}

/// A 1 GiB (sparse) agent card: rotation refuses it at once instead of reading and
/// copying it into the archive; the key stays where it was.
#[test]
fn a_huge_agent_card_is_refused_not_copied() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let card = h.agent_dir(A).join("agent-card.json");
    std::fs::File::create(&card)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let started = std::time::Instant::now();
    let out = h.run(&["rotate", A, "--yes", "--offline"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr(&out).contains("agent-card.json"), "{}", stderr(&out));
    assert_eq!(agent_keys(&h.agent_dir(A)), vec![D1.to_string()]);
    let du = Command::new("du")
        .args(["-s", "--block-size=1M"])
        .arg(h.capiscio())
        .output()
        .unwrap();
    let used: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(used < 16, "{used} MiB used: the card was copied");
    let list = h.list_json(&[]);
    assert!(
        !codes(find(&list, A)).contains(&"rotation-interrupted".to_string()),
        "{:?}",
        codes(find(&list, A))
    );
}

/// The agent SDK rewrites `private.jwk` at every start while an env var injects a key
/// (spec §1.4). A rotation that is preparing its swap at that moment must not swap the
/// SDK's key away: it stops, and the SDK's key stays current.
#[test]
#[cfg_attr(
    not(capiscio_test_strace),
    ignore = "needs strace (apt-get install strace), then rebuild: touch build.rs"
)]
fn a_key_rewritten_during_a_rotation_is_not_swapped_away() {
    if !strace_available() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    // Hold the rotation for a second when it creates its staging directory.
    let child = h
        .under_strace(&[
            "-e",
            "trace=mkdir,mkdirat",
            "-e",
            "inject=mkdir,mkdirat:delay_enter=1000000",
        ])
        .args(["rotate", A, "--yes", "--offline"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let journal = h
        .capiscio()
        .join("keys")
        .join(format!(".{A}.rotation.json"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !journal.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // What the SDK does: write the injected key over the file in place.
    std::fs::write(
        h.agent_dir(A).join("private.jwk"),
        private_jwk(D2, X2, DID2),
    )
    .unwrap();
    std::fs::write(h.agent_dir(A).join("public.jwk"), public_jwk(X2, DID2)).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("changed"), "{}", stderr(&out));
    let list = h.list_json(&[]);
    assert_eq!(find(&list, A)["key_did"], DID2, "the SDK's key is current");
    // Nothing of the abandoned rotation is left: no staging directory, no new key.
    assert_eq!(agent_keys(&h.agent_dir(A)), vec![D2.to_string()]);
    assert!(
        !h.capiscio()
            .join("keys")
            .join(format!(".{A}.rotating"))
            .exists()
    );
    assert!(
        !codes(find(&list, A)).contains(&"rotation-interrupted".to_string()),
        "{:?}",
        codes(find(&list, A))
    );
}

/// A real full disk at every point of a rotation: a small tmpfs filled up to leave
/// 0, 1, 2, … pages free, until the rotation fits. Needs root (mount); skipped elsewhere.
#[test]
fn a_real_full_disk_at_every_page_loses_nothing() {
    let template = Home::new();
    seed_agent(&template, A, D1, X1, DID1);
    let out = template.run(&["rotate", A, "--yes", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys_before = agent_keys(&template.agent_dir(A));
    for free_pages in 0..64u64 {
        let h = Home::new();
        let mnt = h.capiscio();
        std::fs::create_dir_all(&mnt).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            if std::env::var_os("CI").is_some() {
                panic!("cannot mount a tmpfs in CI (needs root)");
            }
            eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
            return;
        }
        let _umount = Unmount(mnt.clone());
        let st = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", template.capiscio().display()))
            .arg(&mnt)
            .status()
            .unwrap();
        assert!(st.success());
        // Fill to the last page, then give back `free_pages` pages.
        let filler = h.path().join(".capiscio/filler");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&filler).unwrap();
            let page = vec![0u8; 4096];
            while f.write_all(&page).is_ok() {}
            f.sync_all().ok();
        }
        let len = std::fs::metadata(&filler).unwrap().len();
        std::fs::File::options()
            .write(true)
            .open(&filler)
            .unwrap()
            .set_len(len.saturating_sub(free_pages * 4096))
            .unwrap();
        let out = h.run(&["rotate", A, "--yes", "--offline"]);
        let label = format!("{free_pages} pages free");
        assert!(
            !stderr(&out).contains("panicked"),
            "{label}: {}",
            stderr(&out)
        );
        let keys_after = agent_keys(&h.agent_dir(A));
        for k in &keys_before {
            assert!(keys_after.contains(k), "{label}: a key was lost");
        }
        // Room again: a clean state, or one that resume finishes.
        std::fs::remove_file(&filler).unwrap();
        let list = h.list_json(&[]);
        if codes(find(&list, A)).contains(&"rotation-interrupted".to_string()) {
            assert!(
                stderr(&out).contains("--resume"),
                "{label}: {}",
                stderr(&out)
            );
            let r = h.run(&["rotate", A, "--resume", "--offline"]);
            assert!(r.status.success(), "{label}: {}", stderr(&r));
        }
        let list = h.list_json(&[]);
        let c = codes(find(&list, A));
        assert!(
            !c.iter().any(|c| c == "rotation-interrupted"
                || c.contains("mismatch")
                || c.starts_with("missing")),
            "{label}: {c:?}"
        );
        if out.status.success() {
            assert!(free_pages > 3, "the disk was full only {free_pages} times");
            return;
        }
        assert!(
            stderr(&out).contains("No space left"),
            "{label}: {}",
            stderr(&out)
        );
    }
    panic!("the rotation never fitted into 64 free pages");
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Links are reported where they are, not discovered by a failing command later.
#[test]
fn symlinked_directories_are_reported_and_never_managed_through() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    // A linked identity directory.
    let real = h.path().join("real-agent");
    let b = "22222222-2222-4222-8222-222222222222";
    seed_agent(&h, b, D2, X2, DID2);
    std::fs::rename(h.agent_dir(b), &real).unwrap();
    std::os::unix::fs::symlink(&real, h.agent_dir(b)).unwrap();
    // A linked archive/.
    let out = h.run(&["rotate", A, "--yes", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let archive = h.agent_dir(A).join("archive");
    let moved = h.path().join("moved-archive");
    std::fs::rename(&archive, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &archive).unwrap();
    let list = h.list_json(&[]);
    assert!(codes(find(&list, b)).contains(&"symlinked-key".to_string()));
    assert!(codes(find(&list, A)).contains(&"symlinked-key".to_string()));
    for args in [
        vec!["rotate", A, "--yes", "--offline"],
        vec!["rotate", A, "--rollback", "--yes", "--offline"],
    ] {
        let out = h.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("archive is a symlink"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // doctor --fix changes nothing behind the linked identity directory.
    chmod(&real.join("private.jwk"), 0o644);
    let _ = h.run(&["doctor", "--fix"]);
    let mode = std::fs::metadata(real.join("private.jwk"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o644
    );
}

#[test]
fn doctor_fix_never_chmods_a_fifo_posing_as_a_key() {
    let h = Home::new();
    let out = h.run(&["generate", "--kind", "mcp-server", "--id", "m1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pem = h.server_dir("m1").join("private_key.pem");
    std::fs::remove_file(&pem).unwrap();
    let st = Command::new("mkfifo")
        .args(["-m", "644"])
        .arg(&pem)
        .status()
        .unwrap();
    assert!(st.success());
    let out = h.run(&["doctor", "--fix"]);
    assert!(!stdout(&out).contains("fixed m1"), "{}", stdout(&out));
    let mode = std::fs::symlink_metadata(&pem).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o644
    );
}

#[test]
fn an_unusable_agent_id_is_reported_without_being_quoted() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let out = h.run_env(&["doctor", "--json"], &[("CAPISCIO_AGENT_ID", "../../etc")]);
    let text = stdout(&out);
    assert!(
        text.contains("CAPISCIO_AGENT_ID is not a usable identity id"),
        "{text}"
    );
    assert!(!text.contains("../../etc"), "{text}");
}

/// A home restored under another path: the journal's recorded path is not trusted, its
/// place is — resume and verify look at the identity where it is now.
#[test]
fn a_journal_from_a_moved_home_follows_the_home() {
    let a = Home::new();
    seed_agent(&a, A, D1, X1, DID1);
    let out = a.run(&["rotate", A, "--yes", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let b = Home::new();
    std::fs::remove_dir(b.path()).unwrap();
    copy_tree(a.path(), b.path());
    drop(a);
    let out = b.run(&["rotate", A, "--resume", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("does not hold the new key"),
        "{}",
        stdout(&out)
    );
}
