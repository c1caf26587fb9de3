//! Secret hygiene and fault tolerance: no key material in any non-export output, no core
//! dumps, 0600/0700 whatever the umask, no writes through symlinks, and a full disk or a
//! read-only home loses nothing and says so.

mod support;

use capiscio_tui::core::key::KeyPair;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

/// Every private-key encoding of every key found under `home` (JWK `d`, PEM bodies).
fn secrets_under(home: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let key = capiscio_tui::core::jwk::parse_private(&text)
                .map(|k| k.key)
                .ok()
                .or_else(|| {
                    capiscio_tui::core::pem::parse_private(&text)
                        .ok()
                        .map(|(k, _)| k)
                });
            if let Some(k) = key {
                out.push(capiscio_tui::core::b64::url_encode(k.seed()));
                let pem = capiscio_tui::core::pem::encode_private(&k);
                out.push(pem.lines().nth(1).unwrap_or_default().to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn no_key_material_in_any_non_export_output() {
    const KEY: &str = "sk_test_hygiene_key_value";
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    let a = "11111111-1111-4111-8111-111111111111";
    assert!(
        h.run(&[
            "generate",
            "--kind",
            "agent",
            "--id",
            a,
            "--name",
            "billing-agent"
        ])
        .status
        .success()
    );
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"])
            .status
            .success()
    );
    reg.post(
        "/v1/sdk/agents",
        &json!({"id": a, "name": "billing-agent", "status": "active"}).to_string(),
        Some(KEY),
    );
    let other = KeyPair::from_seed(&[77; 32]);
    let injected = capiscio_tui::core::jwk::to_env_compact(&other);
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
        ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", injected.as_str()),
        ("CAPISCIO_AGENT_ID", a),
    ];
    let mut outputs = String::new();
    let commands: &[&[&str]] = &[
        &["register", a],
        &["badge", "request", a],
        &["badge", "issue", "--self-sign", "files-mcp"],
        &["list"],
        &["list", "--json"],
        &["show", a],
        &["show", a, "--json"],
        &["show", "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK", "--json"],
        &["status"],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["doctor", "--fix"],
        &["rotate", a, "--dry-run"],
        &["rotate", a, "--dry-run", "--json"],
        &["rotate", a, "--yes"],
        &["rotate", a, "--resume"],
        &["rotate", a, "--resume", "--json"],
        &["archive", "list", a],
        &["archive", "list", a, "--json"],
        &["rotate", "files-mcp", "--yes", "--mode", "emergency"],
        &["rotate", "files-mcp", "--rollback"],
        &["generate", "--kind", "agent", "--json"],
        &["generate", "--kind", "mcp-server"],
        &["keyring", "status"],
        &["--help"],
    ];
    for args in commands {
        let out = h.run_env(args, &env);
        outputs.push_str(&stdout(&out));
        outputs.push_str(&stderr(&out));
    }
    let mut secrets = secrets_under(h.path());
    secrets.push(capiscio_tui::core::b64::url_encode(other.seed()));
    assert!(
        secrets.len() >= 6,
        "found only {} keys to look for",
        secrets.len()
    );
    for s in &secrets {
        assert!(
            !outputs.contains(s.as_str()),
            "private key material leaked into output"
        );
    }
    assert!(!outputs.contains(KEY), "the API key leaked into output");
    // …while the export command, asked explicitly, does print it.
    let exported = stdout(&h.run_env(&["export", "files-mcp", "--format", "pem"], &env));
    assert!(secrets.iter().any(|s| exported.contains(s.as_str())));
}

#[test]
fn core_dumps_are_disabled() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let reg = DevReg::start(&[]);
    let pid = reg.pid();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    let fields: Vec<&str> = core.split_whitespace().collect();
    assert_eq!(&fields[4..6], ["0", "0"], "{core}");
}

#[test]
fn rotation_ignores_a_permissive_umask() {
    let h = Home::new();
    let a = "11111111-1111-4111-8111-111111111111";
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", a])
            .status
            .success()
    );
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let out = Command::new("sh")
        .args(["-c", &format!("umask 000; exec {bin} rotate {a} --yes")])
        .env("HOME", h.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(h.agent_dir(a).join("private.jwk")), 0o600);
    assert_eq!(mode(h.agent_dir(a)), 0o700);
    let archive = &capiscio_tui::store::rotate::list_archive(
        &h.agent_dir(a),
        capiscio_tui::core::identity::Kind::Agent,
    )[0];
    assert_eq!(mode(PathBuf::from(&archive.path)), 0o700);
    assert_eq!(
        mode(PathBuf::from(&archive.path).join("private.jwk")),
        0o600
    );
    assert_eq!(
        mode(
            h.capiscio()
                .join("keys")
                .join(format!(".{a}.rotation.json"))
        ),
        0o600
    );
}

#[test]
fn symlinked_key_locations_are_refused_for_writes() {
    let h = Home::new();
    let outside = h.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::create_dir_all(h.capiscio().join("keys")).unwrap();
    std::os::unix::fs::symlink(&outside, h.agent_dir("linked")).unwrap();
    let out = h.run(&["generate", "--kind", "agent", "--id", "linked"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symlinked-key"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing written through the link"
    );
    // A symlinked private key is reported, and rotation refuses to write through it.
    let a = "11111111-1111-4111-8111-111111111111";
    seed_agent(&h, a, D1, X1, DID1);
    let target = outside.join("key.jwk");
    std::fs::rename(h.agent_dir(a).join("private.jwk"), &target).unwrap();
    std::os::unix::fs::symlink(&target, h.agent_dir(a).join("private.jwk")).unwrap();
    let list = h.list_json(&[]);
    assert!(codes(find(&list, a)).contains(&"symlinked-key".to_string()));
    let out = h.run(&["rotate", a, "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symlink"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        private_jwk(D1, X1, DID1),
        "untouched"
    );
}

/// A tmpfs (or read-only bind) mount under a temp dir, unmounted on drop. Needs root and
/// mount permission; tests report themselves skipped where mounting is not allowed.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }

    fn read_only(at: &Path) -> Option<Self> {
        let ok = Command::new("mount")
            .args(["-o", "bind,ro"])
            .arg(at)
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn fill(dir: &Path) {
    // Fill the filesystem to the last byte.
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let chunk = vec![0u8; 4096];
    use std::io::Write;
    while f.write_all(&chunk).is_ok() {}
    let _ = f.write_all(&[0u8]);
}

#[test]
fn a_full_disk_loses_nothing_and_says_so() {
    let h = Home::new();
    let Some(_m) = Mount::tmpfs(&h.capiscio(), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let a = "11111111-1111-4111-8111-111111111111";
    seed_agent(&h, a, D1, X1, DID1);
    fill(&h.capiscio());
    let out = h.run(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        "22222222-2222-4222-8222-222222222222",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert!(
        !h.agent_dir("22222222-2222-4222-8222-222222222222").exists(),
        "no half identity left behind"
    );
    let out = h.run(&["rotate", a, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(h.agent_dir(a).join("private.jwk")).unwrap(),
        private_jwk(D1, X1, DID1),
        "the old key is untouched"
    );
    // Once there is room again, the identity is intact and rotation works.
    std::fs::remove_file(h.capiscio().join("filler")).unwrap();
    let list = h.list_json(&[]);
    assert_eq!(find(&list, a)["key_did"], DID1);
    assert!(
        !codes(find(&list, a)).contains(&"rotation-interrupted".to_string()),
        "{:?}",
        codes(find(&list, a))
    );
    let out = h.run(&["rotate", a, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_read_only_home_is_read_and_writes_fail_clearly() {
    let h = Home::new();
    let a = "11111111-1111-4111-8111-111111111111";
    seed_agent(&h, a, D1, X1, DID1);
    let Some(_m) = Mount::read_only(&h.capiscio()) else {
        eprintln!("skipped: cannot bind-mount read-only here (needs root)");
        return;
    };
    let list = h.list_json(&[]);
    assert_eq!(find(&list, a)["key_did"], DID1);
    for args in [
        &["generate", "--kind", "agent"][..],
        &["rotate", a, "--yes"],
    ] {
        let out = h.run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("Read-only file system"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(
        std::fs::read_to_string(h.agent_dir(a).join("private.jwk")).unwrap(),
        private_jwk(D1, X1, DID1)
    );
}

/// Runs the binary as a user that file permissions apply to. Root bypasses them, so
/// as root the permission-overriding capabilities are dropped with `setpriv`.
fn unprivileged(h: &Home, args: &[&str]) -> Option<std::process::Output> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let mut c = if root {
        let drops = Command::new("setpriv")
            .args([
                "--bounding-set=-dac_override,-dac_read_search",
                "--",
                "true",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if !drops {
            eprintln!("skipped: running as root and cannot drop CAP_DAC_OVERRIDE with setpriv");
            return None;
        }
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set=-dac_override,-dac_read_search", "--", bin]);
        c
    } else {
        Command::new(bin)
    };
    c.args(args)
        .env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(h.path());
    Some(c.output().unwrap())
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_directories_and_files_are_reported_not_skipped() {
    let h = Home::new();
    let ok = "22222222-2222-4222-8222-222222222222";
    let shut = "11111111-1111-4111-8111-111111111111";
    for (kind, id) in [
        ("agent", ok),
        ("agent", shut),
        ("mcp-server", "srv"),
        ("mcp-server", "locked-srv"),
    ] {
        let out = h.run(&["generate", "--kind", kind, "--id", id]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    chmod(&h.agent_dir(shut), 0o000);
    chmod(&h.server_dir("srv").join("private_key.pem"), 0o000);
    chmod(&h.server_dir("locked-srv"), 0o000);

    let Some(out) = unprivileged(&h, &["list", "--json"]) else {
        return;
    };
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 4, "nothing vanishes: {list:?}");
    assert!(codes(find(&list, ok)).is_empty());
    for (id, what) in [
        (shut, "cannot open the identity directory"),
        ("locked-srv", "cannot open the identity directory"),
        ("srv", "private_key.pem: cannot read"),
    ] {
        let v = find(&list, id);
        assert_eq!(
            codes(v),
            ["unreadable"],
            "{id}: one clear problem, not one per file: {v}"
        );
        assert!(
            v["problems"][0]["message"].as_str().unwrap().contains(what),
            "{v}"
        );
    }
    let out = unprivileged(&h, &["doctor"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = unprivileged(&h, &["export", shut, "--format", "env"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));

    // An unreadable keys/ directory: its agents are announced as unseen, servers still listed.
    chmod(&h.capiscio().join("keys"), 0o000);
    let out = unprivileged(&h, &["list"]).unwrap();
    let text = stdout(&out);
    assert!(text.contains("srv"), "{text}");
    assert!(
        text.contains("cannot list") && text.contains("keys"),
        "{text}"
    );
    let out = unprivileged(&h, &["doctor", "--json"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["notes"][0]["code"], "unreadable", "{report}");
    let out = unprivileged(&h, &["generate", "--kind", "agent"]).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    chmod(&h.capiscio().join("keys"), 0o700);

    // An unreadable home: not "no identities, create one".
    chmod(&h.capiscio(), 0o000);
    let out = unprivileged(&h, &["list"]).unwrap();
    let text = stdout(&out);
    chmod(&h.capiscio(), 0o700);
    assert!(text.contains("identities could be read"), "{text}");
    assert!(!text.contains("Create one"), "{text}");
    assert!(text.contains("cannot open"), "{text}");
    chmod(&h.agent_dir(shut), 0o700);
    chmod(&h.server_dir("locked-srv"), 0o700);
}

#[test]
fn control_characters_from_files_never_reach_the_terminal() {
    let h = Home::new();
    let id = "11111111-1111-4111-8111-111111111111";
    let out = h.run(&["generate", "--kind", "agent", "--id", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A card's name is free text: ESC sequences, BEL, CR and a C1 CSI in it.
    std::fs::write(
        h.agent_dir(id).join("agent-card.json"),
        r#"{"name":"evil\u001b]0;pwned\u0007\u001b[2J\r\u009b31m"}"#,
    )
    .unwrap();
    std::fs::write(h.agent_dir(id).join("did.txt"), "did:key:\u{1b}[5mblink\n").unwrap();
    let controls = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .count()
    };
    for args in [
        vec!["list"],
        vec!["show", id],
        vec!["doctor"],
        vec!["show", "\u{1b}[2Jno-such-id"],
    ] {
        let out = h.run(&args);
        assert_eq!(
            controls(&out.stdout),
            0,
            "{args:?} stdout: {:?}",
            stdout(&out)
        );
        assert_eq!(
            controls(&out.stderr),
            0,
            "{args:?} stderr: {:?}",
            stderr(&out)
        );
    }
    let out = h.run(&["show", id]);
    assert!(
        // One line of inert text: each control shown as its control picture.
        stdout(&out).contains("evil\u{241b}]0;pwned\u{2407}"),
        "{}",
        stdout(&out)
    );
    // Machine output keeps the exact value, escaped as JSON does.
    let out = h.run(&["show", id, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["name"]
            .as_str()
            .unwrap()
            .starts_with("evil\u{1b}]0;pwned")
    );
}
