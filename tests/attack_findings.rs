//! Adversarial review of the issue-10 fixes: each test here failed against the tree it
//! was written for (branch wt-attack). They describe the behaviour the product should
//! have; none of them changes product code.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

const A: &str = "a1";

fn generate_agent(h: &Home, id: &str) {
    let out = h.run(&["generate", "--kind", "agent", "--id", id, "--offline"]);
    assert!(out.status.success(), "generate: {}", stderr(&out));
}

fn journal_path(h: &Home, id: &str) -> std::path::PathBuf {
    h.capiscio()
        .join("keys")
        .join(format!(".{id}.rotation.json"))
}

fn edit_journal(h: &Home, id: &str, f: impl FnOnce(&mut serde_json::Value)) {
    let p = journal_path(h, id);
    let mut j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(&mut j);
    std::fs::write(&p, serde_json::to_string_pretty(&j).unwrap()).unwrap();
}

/// Runs the binary; returns None when it is still running after `secs` (it is killed).
fn run_within(h: &Home, args: &[&str], secs: u64) -> Option<std::process::Output> {
    let mut cmd = h.cmd();
    cmd.args(args);
    output_within(cmd, Duration::from_secs(secs))
}

fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            out.push(e.path().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------
// Finding 1: the journal's `archive` field is joined onto the staging path unchecked.
// `rotate ID --resume` on an abandoned rotation re-stages with `j.archive` and copies the
// current PRIVATE KEY to wherever `archive/<j.archive>` resolves — outside the home.
// ---------------------------------------------------------------------------------------
#[test]
fn hostile_journal_archive_name_never_places_a_private_key_outside_the_home() {
    let h = Home::new();
    generate_agent(&h, A);
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A journal of an abandoned rotation whose old key is the current key, and whose
    // archive name climbs out: staging/archive/../../../../outside == $HOME/outside.
    edit_journal(&h, A, |j| {
        let cur_fp = j["new_fingerprint"].clone();
        let cur_did = j["new_did"].clone();
        j["old_fingerprint"] = cur_fp;
        j["old_did"] = cur_did;
        j["new_fingerprint"] = serde_json::Value::Null;
        j["new_did"] = serde_json::Value::Null;
        j["phase"] = "abandoned".into();
        j["archive"] = "../../../../outside-archive".into();
    });
    let _ = h.run(&["rotate", A, "--resume", "--offline", "--yes"]);
    let outside = h.path().join("outside-archive");
    assert!(
        !outside.exists(),
        "resume followed the journal's archive name out of ~/.capiscio and wrote {:?}",
        tree(&outside)
    );
}

// ---------------------------------------------------------------------------------------
// Finding 2: the journal's `dir` field is trusted after the register step: resume writes
// a rotation journal (and, when the badge step runs, badge.jwt) next to / inside any
// directory the journal names.
// ---------------------------------------------------------------------------------------
#[test]
fn hostile_journal_dir_never_redirects_writes_outside_the_home() {
    let reg = DevReg::start(&["--api-key", "k1"]);
    let h = Home::new();
    generate_agent(&h, A);
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let victim = h.path().join("victim");
    std::fs::create_dir_all(victim.join("x")).unwrap();
    edit_journal(&h, A, |j| {
        j["dir"] = victim.join("x").display().to_string().into();
    });
    let _ = h.run_env(
        &["rotate", A, "--resume", "--server-url", &reg.url, "--yes"],
        &[("CAPISCIO_API_KEY", "k1")],
    );
    assert!(
        tree(&victim).iter().all(|p| p.ends_with("/x")),
        "resume wrote outside the identity's directory, where the journal's `dir` pointed: {:?}",
        tree(&victim)
    );
}

// ---------------------------------------------------------------------------------------
// Finding 3: a FIFO in place of a lock file hangs every command that takes the lock
// (rotate, rollback, resume, doctor --fix, archive purge, export, generate): the lock is
// opened O_WRONLY without O_NONBLOCK and never fstat-checked.
// ---------------------------------------------------------------------------------------
#[test]
fn a_fifo_identity_lock_never_hangs() {
    let h = Home::new();
    generate_agent(&h, A);
    mkfifo(&h.capiscio().join("keys").join(format!(".{A}.lock")));
    for args in [
        vec!["rotate", A, "--offline", "--yes"],
        vec!["rotate", A, "--rollback", "--yes"],
        vec!["archive", "purge", A, "--all", "--yes"],
        vec!["export", A, "--format", "env"],
    ] {
        assert!(
            run_within(&h, &args, 10).is_some(),
            "{args:?} hung on a FIFO at keys/.{A}.lock"
        );
    }
}

#[test]
fn a_fifo_create_lock_never_hangs_generate() {
    let h = Home::new();
    std::fs::create_dir_all(h.capiscio().join("keys")).unwrap();
    mkfifo(&h.capiscio().join("keys").join(".capiscio-tui-create.lock"));
    assert!(
        run_within(
            &h,
            &["generate", "--kind", "agent", "--id", "g1", "--offline"],
            10
        )
        .is_some(),
        "generate hung on a FIFO at keys/.capiscio-tui-create.lock"
    );
}

// ---------------------------------------------------------------------------------------
// Finding 4: only `generate` refuses a symlinked ~/.capiscio/keys; rotate and doctor
// --fix write (staging dir, archive, journal, lock, public.jwk, chmod) through the link.
// ---------------------------------------------------------------------------------------
#[test]
fn rotate_and_fix_never_write_through_a_symlinked_keys_dir() {
    let h = Home::new();
    generate_agent(&h, A);
    let outside = h.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let keys = h.capiscio().join("keys");
    std::fs::rename(&keys, outside.join("keys")).unwrap();
    std::os::unix::fs::symlink(outside.join("keys"), &keys).unwrap();
    let before = tree(&outside);
    std::fs::remove_file(outside.join("keys").join(A).join("public.jwk")).unwrap();
    let before_fix = tree(&outside);
    let _ = h.run(&["doctor", "--fix"]);
    assert_eq!(
        tree(&outside),
        before_fix,
        "doctor --fix wrote through the symlinked keys/"
    );
    std::fs::write(
        outside.join("keys").join(A).join("public.jwk"),
        b"placeholder",
    )
    .unwrap();
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(
        !out.status.success() && stderr(&out).contains("symlink"),
        "rotate went through a symlinked keys/: {}",
        stdout(&out)
    );
    assert_eq!(
        tree(&outside),
        before,
        "rotate wrote through the symlinked keys/"
    );
}

// ---------------------------------------------------------------------------------------
// Finding 5: `keyring import` reads the key, stores it (a keyring round trip: D-Bus or
// keyctl, seconds with a prompt), then unlinks private.jwk without checking it still
// holds that key. An SDK rewriting private.jwk meanwhile (it does at every start when an
// env var injects a key) loses its key: it is in neither the keyring nor on disk.
// Needs `keyctl` (a fresh session keyring) and `strace` to widen the window.
// ---------------------------------------------------------------------------------------
#[test]
fn keyring_import_never_deletes_a_key_written_during_the_import() {
    let have = |c: &str| {
        Command::new(c)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if !have("strace") || !have("keyctl") {
        eprintln!("skipped: needs strace and keyctl");
        return;
    }
    let h = Home::new();
    generate_agent(&h, A);
    generate_agent(&h, "a2");
    let dir = h.agent_dir(A);
    let other = std::fs::read(h.agent_dir("a2").join("private.jwk")).unwrap();
    // Every add_key takes 1.5 s: two probes, then the store of the key.
    let child = Command::new("keyctl")
        .args(["session", "-", "strace", "-f", "-o", "/dev/null"])
        .args([
            "-e",
            "trace=add_key",
            "-e",
            "inject=add_key:delay_exit=1500000",
        ])
        .arg(env!("CARGO_BIN_EXE_capiscio-tui"))
        .args(["keyring", "import", A, "--keyring", "keyutils"])
        .env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the key is being stored: the SDK writes its key (temp file + rename).
    std::thread::sleep(Duration::from_millis(3800));
    let tmp = dir.join(".sdk-write.tmp");
    std::fs::write(&tmp, &other).unwrap();
    std::fs::rename(&tmp, dir.join("private.jwk")).unwrap();
    let out = child.wait_with_output().unwrap();
    if stderr(&out).contains("AccessDenied") || stderr(&out).contains("no keyring") {
        eprintln!("skipped: keyutils unusable here: {}", stderr(&out));
        return;
    }
    assert!(
        dir.join("private.jwk").exists(),
        "import deleted the key written during the import (it is not in the keyring either): {}{}",
        stdout(&out),
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------
// Finding 6 (low): rotate, rollback, rotate within one second fails: the new archive
// entry `<stamp>-<fp>` collides with the first rotation's entry for the same key.
// ---------------------------------------------------------------------------------------
#[test]
fn rotate_after_a_rollback_in_the_same_second_succeeds() {
    let h = Home::new();
    generate_agent(&h, A);
    // Start just after a second boundary so that the three commands share a second.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(since.subsec_nanos()) + 5_000_000,
    ));
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["rotate", A, "--rollback", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(
        out.status.success(),
        "third rotation failed: {}",
        stderr(&out)
    );
}
