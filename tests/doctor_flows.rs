//! Following doctor's own advice end to end: fixes that keep the key, fix texts that
//! are safe to paste, registry problems in doctor, one "needs attention" count, and
//! the messages for a wrong `--home` and a piped bare invocation.

mod support;

use serde_json::Value;
use std::fs;
use support::*;

const KEY: &str = "sk_test_0123456789abcdefDOCTOR";
const AGENT: &str = "0a0a0a0a-0000-4000-8000-00000000000a";
const OTHER_KID: &str = "1b1b1b1b-0000-4000-8000-00000000001b";
const NO_X: &str = "2c2c2c2c-0000-4000-8000-00000000002c";

fn doctor_json(h: &Home, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let out = h.run_env(&all, env);
    assert_no_secrets(&stdout(&out));
    assert_no_secrets(&stderr(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor --json: {e}\n{}", stderr(&out)))
}

fn problems_of<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["identities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"] == id)
        .flat_map(|e| e["problems"].as_array().unwrap().iter())
        .collect()
}

#[test]
fn doctor_fix_rewrites_an_escaped_pem_keeping_the_key() {
    let h = Home::new();
    let dir = seed_server(&h, "srv-escaped", &PEM1.replace('\n', "\\n"));
    let before = doctor_json(&h, &[], &[]);
    let p = problems_of(&before, "srv-escaped");
    let escaped = p
        .iter()
        .find(|p| p["code"] == "pem-escaped")
        .expect("pem-escaped reported");
    let fix = escaped["fix"].as_str().unwrap();
    assert!(fix.contains("capiscio-tui doctor --fix"), "{fix}");
    assert!(!fix.contains("--format pem`"), "{fix}");

    let out = h.run(&["doctor", "--fix", "--json"]);
    assert_no_secrets(&stdout(&out));
    let after: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixed: Vec<&str> = after["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(fixed.contains(&"pem-escaped"), "{after:#}");
    assert!(problems_of(&after, "srv-escaped").is_empty(), "{after:#}");
    assert!(out.status.success(), "{}", stderr(&out));
    // The same key, with real newlines, still private; no temp file left behind.
    assert_eq!(
        fs::read_to_string(dir.join("private_key.pem")).unwrap(),
        PEM1
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(dir.join("private_key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "leftover temp: {names:?}"
    );
    let list = h.list_json(&[]);
    assert_eq!(find(&list, "srv-escaped")["key_did"], DID1);
}

#[test]
fn doctor_fix_leaves_a_symlinked_escaped_pem_alone() {
    let h = Home::new();
    let dir = seed_server(&h, "srv-link", PEM1);
    let outside = h.path().join("outside.pem");
    let escaped = PEM1.replace('\n', "\\n");
    write(&outside, &escaped, 0o600);
    fs::remove_file(dir.join("private_key.pem")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("private_key.pem")).unwrap();
    let _ = h.run(&["doctor", "--fix"]);
    assert_eq!(fs::read_to_string(&outside).unwrap(), escaped);
    assert!(
        fs::symlink_metadata(dir.join("private_key.pem"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Whether `text` redirects output onto exactly `file` (not `file.new`).
fn redirects_onto(text: &str, file: &str) -> bool {
    text.split('>').skip(1).any(|after| {
        let target = after.split_whitespace().next().unwrap_or("");
        let target = target.trim_end_matches([')', '`', ';']);
        target == file || target.ends_with(&format!("/{file}"))
    })
}

/// Every backticked `capiscio-tui SUB …` in a fix text for a command that acts on one
/// identity must name that identity, and no fix may send a key export onto a key file.
#[test]
fn every_fix_text_is_a_safe_command_with_the_real_id() {
    let h = Home::new();
    seed_server(&h, "srv-escaped", &PEM1.replace('\n', "\\n"));
    seed_agent(&h, OTHER_KID, D1, X1, "did:web:example.com");
    let dir = h.agent_dir(NO_X);
    write(
        &dir.join("private.jwk"),
        format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{D1}","kid":"{DID1}"}}"#),
        0o600,
    );
    write(&dir.join("public.jwk"), public_jwk(X1, DID1), 0o644);
    let report = doctor_json(
        &h,
        &[],
        &[(
            "CAPISCIO_SERVER_PRIVATE_KEY_PEM",
            "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
        )],
    );
    let mut seen = 0;
    for entry in report["identities"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        for p in entry["problems"].as_array().unwrap() {
            let fix = p["fix"].as_str().unwrap();
            seen += 1;
            assert!(!fix.contains("<ID>") && !fix.contains("<id>"), "{fix}");
            assert!(!fix.contains(" ID "), "{fix}");
            for key_file in ["private_key.pem", "private.jwk"] {
                assert!(!redirects_onto(fix, key_file), "{fix}");
            }
            for cmd in fix.split('`').skip(1).step_by(2) {
                let Some(rest) = cmd.strip_prefix("capiscio-tui ") else {
                    continue;
                };
                let sub = rest.split_whitespace().next().unwrap_or_default();
                if ["show", "export", "register", "rotate", "keyring", "badge"].contains(&sub)
                    && !rest.contains("--keyring")
                {
                    assert!(
                        cmd.contains(id),
                        "{}: fix `{cmd}` does not name {id}",
                        p["code"]
                    );
                }
                // A key export may only go to a new file that is then moved over.
                if sub == "export" && cmd.contains('>') {
                    assert!(cmd.contains(".new"), "{cmd}");
                }
            }
        }
    }
    assert!(seen >= 4, "{report:#}");
    let codes: Vec<&str> = report["identities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["problems"].as_array().unwrap())
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    for c in [
        "pem-escaped",
        "kid-mismatch",
        "malformed-key",
        "env-invalid",
    ] {
        assert!(codes.contains(&c), "{c} missing from {codes:?}");
    }
}

#[test]
fn doctor_reports_registry_problems_and_counts_attention_like_list() {
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    // Healthy on disk, unknown to the registry.
    let key = capiscio_tui::core::key::KeyPair::from_seed(&[10; 32]);
    capiscio_tui::store::disk::write_agent(&h.agent_dir(AGENT), &key, None).unwrap();
    // Only a warning on disk: the UI once counted errors only.
    let open = seed_agent(&h, OTHER_KID, D1, X1, DID1);
    chmod(&open.join("private.jwk"), 0o644);

    let list = h.run_env(&["list"], &env);
    let listed = stdout(&list);
    assert!(listed.contains("2 need attention"), "{listed}");

    let report = doctor_json(&h, &[], &env);
    let codes: Vec<&str> = problems_of(&report, AGENT)
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"not-registered"), "{report:#}");
    let fix = problems_of(&report, AGENT)[0]["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("capiscio-tui register {AGENT}")),
        "{fix}"
    );
    assert_eq!(report["attention"], 2, "{report:#}");

    let text = stdout(&h.run_env(&["doctor"], &env));
    assert!(text.contains("2 need attention"), "{text}");
    let status = stdout(&h.run_env(&["status"], &env));
    assert!(status.contains("2 need attention"), "{status}");

    // --offline keeps doctor on the machine.
    let offline = doctor_json(&h, &["--offline"], &env);
    assert!(problems_of(&offline, AGENT).is_empty(), "{offline:#}");
}

#[test]
fn an_explicit_home_must_be_a_directory() {
    let h = Home::new();
    let missing = h.path().join("nonexistent");
    let out = h.run(&["--home", missing.to_str().unwrap(), "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("No CapiscIO identities found"));

    let file = h.path().join("a-file");
    write(&file, "x", 0o644);
    for args in [
        vec!["--home", file.to_str().unwrap()],
        vec!["doctor", "--home", file.to_str().unwrap()],
    ] {
        let out = h.run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("is not a directory"),
            "{}",
            stderr(&out)
        );
    }

    // The default home, not created yet: the friendly first run.
    let out = h.run(&["list"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("No CapiscIO identities found"));
    // generate may create an explicit home.
    let fresh = h.path().join("fresh-home");
    let out = h.run(&[
        "--home",
        fresh.to_str().unwrap(),
        "generate",
        "--kind",
        "agent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_piped_bare_invocation_does_not_deny_the_ui() {
    let h = Home::new();
    let out = h.run(&[]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(!err.contains("not built yet"), "{err}");
    assert!(err.contains("not a terminal"), "{err}");
}
