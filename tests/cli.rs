//! The real binary's commands: show, export, generate, exit codes and help.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use support::*;

const A: &str = "11111111-1111-4111-8111-111111111111";

fn mode(p: &std::path::Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn show_by_every_handle_and_clear_errors() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    seed_server(&h, "files-mcp", PEM2);
    for handle in [
        A,
        "1111",
        DID1,
        "did:key:z6Mkt",
        FP1,
        "files",
        "did:key:z6Mke",
    ] {
        let out = h.run(&["show", handle, "--json"]);
        assert!(out.status.success(), "show {handle}: {}", stderr(&out));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&h.run(&["show", FP1, "--json"]).stdout).unwrap();
    assert_eq!(v["id"], A);
    let human = stdout(&h.run(&["show", A]));
    assert!(
        human.contains("Key DID       did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"),
        "{human}"
    );
    assert!(human.contains("private.jwk 0600"));

    let unknown = h.run(&["show", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    let e = stderr(&unknown);
    assert!(
        e.contains("no identity matches `nope`") && e.contains(A),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "one clear line: {e}");
    let ambiguous = h.run(&["show", "did:key:z6Mk"]);
    assert_eq!(ambiguous.status.code(), Some(1));
    assert!(stderr(&ambiguous).contains("matches 2 identities"));
}

#[test]
fn usage_errors_exit_2_and_help_everywhere() {
    let h = Home::new();
    assert_eq!(h.run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        h.run(&["export", A]).status.code(),
        Some(2),
        "--format is required"
    );
    assert_eq!(
        h.run(&["export", A, "--format", "toml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        h.run(&["generate", "--kind", "robot"]).status.code(),
        Some(2)
    );
    for cmd in [
        &["--help"][..],
        &["list", "--help"],
        &["show", "--help"],
        &["export", "--help"],
        &["generate", "--help"],
        &["doctor", "--help"],
        &["identity", "export", "--help"],
    ] {
        let out = h.run(cmd);
        assert_eq!(out.status.code(), Some(0), "{cmd:?}");
        assert!(stdout(&out).contains("Usage:"), "{cmd:?}");
    }
}

#[test]
fn export_every_format_for_agents_and_servers() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    seed_server(&h, "files-mcp", PEM2);
    let out = h.run(&["export", A, "--format", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "CAPISCIO_AGENT_PRIVATE_KEY_JWK='{{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"d\": \"{D1}\", \"x\": \"{X1}\", \"kid\": \"{DID1}\"}}'\n"
        )
    );
    assert_eq!(
        stdout(&h.run(&["export", "files-mcp", "--format", "pem"])),
        PEM2
    );
    assert_eq!(
        stdout(&h.run(&["export", A, "--format", "pem"])),
        PEM1,
        "an agent key exported as PEM"
    );
    let server_as_jwk = stdout(&h.run(&["export", "files-mcp", "--format", "jwk"]));
    assert!(
        server_as_jwk.contains(&format!("\"kid\": \"{DID2}\"")),
        "{server_as_jwk}"
    );
    let server_env = stdout(&h.run(&["export", "files-mcp", "--format", "env"]));
    assert!(
        server_env
            .starts_with("CAPISCIO_SERVER_PRIVATE_KEY_PEM='-----BEGIN PRIVATE KEY-----\\nMC4C")
    );
    let as_agent = stdout(&h.run(&["export", "files-mcp", "--format", "env", "--as", "agent"]));
    assert!(as_agent.starts_with("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{"));
    for f in ["compose", "k8s", "lambda", "cloudrun", "github"] {
        for id in [A, "files-mcp"] {
            let out = h.run(&["export", id, "--format", f]);
            assert!(out.status.success(), "{f} {id}: {}", stderr(&out));
            assert!(!stdout(&out).is_empty());
        }
    }
}

#[test]
fn export_refuses_what_it_should() {
    let h = Home::new();
    seed_agent(&h, A, D1, X2, DID1); // x does not belong to d
    let out = h.run(&["export", A, "--format", "env"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not belong to"));
    assert_no_secrets(&stderr(&out));
    let copy = h.run(&["export", A, "--format", "env", "--copy"]);
    assert_eq!(copy.status.code(), Some(1));
    // No display and no terminal on stdout: nowhere to copy to, and it says so.
    assert!(
        stderr(&copy).contains("does not belong to"),
        "the bad key is refused before any copy: {}",
        stderr(&copy)
    );
    seed_agent(&h, "22222222-2222-4222-8222-222222222222", D2, X2, DID2);
    let copy = h.run(&["export", "2222", "--format", "env", "--copy"]);
    assert_eq!(copy.status.code(), Some(1));
    assert!(
        stderr(&copy).contains("no clipboard here"),
        "{}",
        stderr(&copy)
    );
    assert_no_secrets(&stdout(&copy));
}

#[test]
fn export_to_a_terminal_needs_reveal() {
    // `script` gives the binary a real pseudo-terminal as stdout.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let run = |extra: &str| {
        let out = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("{bin} export {A} --format env {extra}"),
                "/dev/null",
            ])
            .env_clear()
            .env("HOME", h.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap();
        (out.status.code(), stdout(&out))
    };
    let (code, text) = run("");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("--reveal"), "{text}");
    assert_no_secrets(&text);
    let (code, text) = run("--reveal");
    assert_eq!(code, Some(0));
    assert!(text.contains(D1));
}

#[test]
fn identity_export_alias_from_the_sdk_hint() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let out = h.run(&["identity", "export", "--format", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("CAPISCIO_AGENT_PRIVATE_KEY_JWK="));
    seed_agent(&h, "22222222-2222-4222-8222-222222222222", D2, X2, DID2);
    let out = h.run(&["identity", "export", "--format", "env"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("2 agent identities found"));
    let out = h.run(&["identity", "export", A, "--format", "env"]);
    assert!(out.status.success());
}

#[test]
fn export_env_injected_identity() {
    let h = Home::new();
    let out = h.run_env(
        &[
            "export",
            "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            "--format",
            "pem",
        ],
        &[("CAPISCIO_AGENT_PRIVATE_KEY_JWK", &private_jwk(D1, X1, DID1))],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), PEM1);
}

#[test]
fn generate_writes_the_sdk_layout() {
    let h = Home::new();
    let out = h.run(&[
        "generate",
        "--kind",
        "agent",
        "--name",
        "billing agent",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap();
    assert!(capiscio_tui::store::disk::is_uuid(id));
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    let dir = h.agent_dir(id);
    let private = fs::read_to_string(dir.join("private.jwk")).unwrap();
    let public = fs::read_to_string(dir.join("public.jwk")).unwrap();
    assert!(
        private
            .starts_with("{\n  \"use\": \"sig\",\n  \"kty\": \"OKP\",\n  \"kid\": \"did:key:z6Mk")
    );
    assert!(private.ends_with("\"\n}"), "no trailing newline");
    let kp = capiscio_tui::core::jwk::parse_private(&private).unwrap();
    assert_eq!(
        public,
        capiscio_tui::core::jwk::to_go_public(kp.key.public())
    );
    assert_eq!(v["key_did"], kp.key.public().did_key());
    assert_eq!(mode(&dir.join("private.jwk")), 0o600);
    assert_eq!(mode(&dir.join("public.jwk")), 0o644);
    assert_eq!(mode(&dir), 0o700);
    let card: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("agent-card.json")).unwrap()).unwrap();
    assert_eq!(card["name"], "billing agent");
    assert_eq!(card["id"], v["key_did"]);
    let err = stderr(&out);
    assert!(
        err.contains("capiscio-tui export") && err.contains("--format env"),
        "capture hint: {err}"
    );
    assert_no_secrets(&err);
    assert!(!err.contains(&*capiscio_tui::core::b64::url_encode(kp.key.seed())));
    assert!(!stdout(&out).contains(&*capiscio_tui::core::b64::url_encode(kp.key.seed())));

    let srv = h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"]);
    assert!(srv.status.success(), "{}", stderr(&srv));
    let sdir = h.server_dir("files-mcp");
    let pem = fs::read_to_string(sdir.join("private_key.pem")).unwrap();
    assert!(
        pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI")
            && pem.ends_with("-----END PRIVATE KEY-----\n")
    );
    let did = fs::read_to_string(sdir.join("did.txt")).unwrap();
    assert_eq!(format!("{did}\n"), stdout(&srv));
    assert!(!did.ends_with('\n'));
    assert_eq!(mode(&sdir.join("private_key.pem")), 0o600);
}

#[test]
fn generate_refuses_to_overwrite_and_bad_ids() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let before = fs::read(h.agent_dir(A).join("private.jwk")).unwrap();
    let out = h.run(&["generate", "--kind", "agent", "--id", A]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read(h.agent_dir(A).join("private.jwk")).unwrap(),
        before
    );
    for bad in ["../escape", "a/b", ".hidden", ""] {
        let out = h.run(&["generate", "--kind", "agent", "--id", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
    }
    assert!(!h.path().join(".capiscio/escape").exists());
}

#[test]
fn generate_ignores_a_permissive_umask() {
    let h = Home::new();
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            &format!("umask 000; exec {bin} generate --kind agent --id {A}"),
        ])
        .env("HOME", h.path())
        .output()
        .unwrap();
    assert!(status.status.success());
    assert_eq!(mode(&h.agent_dir(A).join("private.jwk")), 0o600);
    assert_eq!(mode(&h.agent_dir(A)), 0o700);
    assert_eq!(mode(&h.capiscio()), 0o700);
}

#[test]
fn doctor_is_clean_on_a_healthy_home() {
    let h = Home::new();
    assert!(h.run(&["generate", "--kind", "agent"]).status.success());
    assert!(
        h.run(&["generate", "--kind", "mcp-server"])
            .status
            .success()
    );
    let out = h.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("No problems in 2 identities"));
}

#[test]
fn home_flag_overrides_home() {
    let h = Home::new();
    let other = tempfile::tempdir().unwrap();
    let out = h.run(&[
        "--home",
        other.path().to_str().unwrap(),
        "generate",
        "--kind",
        "agent",
        "--id",
        A,
    ]);
    assert!(out.status.success());
    assert!(
        other
            .path()
            .join("keys")
            .join(A)
            .join("private.jwk")
            .exists()
    );
    assert_eq!(h.list_json(&[]).len(), 0);
    let out = h.run(&["list", "--json", "--home", other.path().to_str().unwrap()]);
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.len(), 1);
}

#[test]
fn doctor_fix_repairs_modes_and_missing_public_halves_only() {
    let h = Home::new();
    let set = |p: &std::path::Path, m: u32| {
        fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
    };
    // An agent the SDK would have left open, without its public.jwk.
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", A])
            .status
            .success()
    );
    let agent = h.agent_dir(A);
    let public_before = fs::read(agent.join("public.jwk")).unwrap();
    fs::remove_file(agent.join("public.jwk")).unwrap();
    set(&agent.join("private.jwk"), 0o644);
    set(&agent, 0o755);
    // A server without public_key.pem.
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files"])
            .status
            .success()
    );
    let server = h.server_dir("files");
    let pem_before = fs::read(server.join("public_key.pem")).unwrap();
    fs::remove_file(server.join("public_key.pem")).unwrap();
    // A key that does not match its x: its public half must not be guessed.
    let bad = "22222222-2222-4222-8222-222222222222";
    seed_agent(&h, bad, D1, X2, DID1);
    fs::remove_file(h.agent_dir(bad).join("public.jwk")).unwrap();
    // A symlinked private key: the link's target is not ours to chmod.
    let linked = "33333333-3333-4333-8333-333333333333";
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", linked])
            .status
            .success()
    );
    let outside = h.path().join("outside.jwk");
    fs::rename(h.agent_dir(linked).join("private.jwk"), &outside).unwrap();
    set(&outside, 0o644);
    std::os::unix::fs::symlink(&outside, h.agent_dir(linked).join("private.jwk")).unwrap();

    let out = h.run(&["doctor"]);
    assert!(
        stdout(&out).contains("(or `capiscio-tui doctor --fix`)"),
        "{}",
        stdout(&out)
    );
    let out = h.run(&["doctor", "--fix", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixed: Vec<(String, String)> = report["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().into(),
                f["code"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        fixed,
        [
            (A.to_string(), "insecure-permissions".to_string()),
            (A.to_string(), "insecure-permissions".to_string()),
            (A.to_string(), "missing-public-jwk".to_string()),
            ("files".to_string(), "missing-public-pem".to_string()),
        ],
        "{report}"
    );
    assert_eq!(mode(&agent.join("private.jwk")), 0o600);
    assert_eq!(mode(&agent), 0o700);
    assert_eq!(
        fs::read(agent.join("public.jwk")).unwrap(),
        public_before,
        "the SDK layout, byte for byte"
    );
    assert_eq!(mode(&agent.join("public.jwk")), 0o644);
    assert_eq!(fs::read(server.join("public_key.pem")).unwrap(), pem_before);
    assert!(!h.agent_dir(bad).join("public.jwk").exists());
    assert_eq!(mode(&outside), 0o644, "a link's target is left alone");
    // What remains is reported after the repair, and the repaired ones are clean.
    let entries = report["identities"].as_array().unwrap();
    assert!(
        !entries.iter().any(|e| e["id"] == A || e["id"] == "files"),
        "{report}"
    );
    assert!(entries.iter().any(|e| e["id"] == bad));
    assert_eq!(out.status.code(), Some(1), "errors remain");
    // Nothing left to do: a second run fixes nothing and prints no "fixed" list.
    let again: serde_json::Value =
        serde_json::from_slice(&h.run(&["doctor", "--fix", "--json"]).stdout).unwrap();
    assert!(again.get("fixed").is_none(), "{again}");
    let text = stdout(&h.run(&["doctor", "--fix"]));
    assert!(!text.contains("✔ fixed"), "{text}");
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let h = Home::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = h.run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in ["rotate", "doctor", "completions", "man"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    assert_eq!(h.run(&["completions", "tcsh"]).status.code(), Some(2));
    // Needs no CapiscIO home, like `man`.
    assert!(!h.capiscio().exists());

    // Where bash exists, the script parses and completes the first word.
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_ok()
    {
        let script = h.path().join("capiscio-tui.bash");
        fs::write(&script, h.run(&["completions", "bash"]).stdout).unwrap();
        let out = std::process::Command::new("bash")
            .arg("--norc")
            .arg("-c")
            .arg(
                r#"set -e; source "$1"; complete -p capiscio-tui >/dev/null
                COMP_WORDS=(capiscio-tui ro); COMP_CWORD=1
                _capiscio__tui capiscio-tui ro capiscio-tui
                printf '%s\n' "${COMPREPLY[@]}""#,
            )
            .arg("bash")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "bash: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "rotate", "{}", stderr(&out));
    }
}

#[test]
fn man_page_is_roff_naming_every_subcommand() {
    let h = Home::new();
    let out = h.run(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.starts_with(".TH capiscio-tui 1"), "{page}");
    assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
    for sub in [
        "list",
        "show",
        "export",
        "generate",
        "status",
        "register",
        "rotate",
        "doctor",
        "demo",
        "completions",
        "man",
    ] {
        assert!(
            page.contains(&format!("capiscio\\-tui\\-{sub}(1)")),
            "man page lacks {sub}"
        );
    }
    assert!(!page.contains("__clipboard"), "hidden commands stay hidden");
    assert!(!h.capiscio().exists());
}

/// Every command of the grammar, depth first, with its full name.
fn all_commands(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Command)>) {
    out.push((path.clone(), cmd.clone()));
    for sub in cmd.get_subcommands() {
        all_commands(sub, format!("{path} {}", sub.get_name()), out);
    }
}

fn grammar() -> Vec<(String, clap::Command)> {
    use clap::CommandFactory;
    let mut root = capiscio_tui::cli::args::Cli::command();
    root.build();
    let mut out = Vec::new();
    all_commands(&root, "capiscio-tui".into(), &mut out);
    out
}

#[test]
fn every_argument_of_every_command_has_help() {
    let mut missing = Vec::new();
    for (path, cmd) in grammar() {
        if cmd.get_about().is_none() && path != "capiscio-tui" {
            missing.push(format!("{path} (the command itself)"));
        }
        for arg in cmd.get_arguments() {
            let empty = |h: Option<&clap::builder::StyledStr>| {
                h.is_none_or(|h| h.to_string().trim().is_empty())
            };
            if empty(arg.get_help()) && empty(arg.get_long_help()) {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "arguments without help: {missing:#?}");
}

#[test]
fn global_options_are_grouped_under_one_heading_and_accepted_on_either_side() {
    let globals = [
        "home",
        "offline",
        "server_url",
        "registry_timeout",
        "concurrency",
        "clear_after",
        "keyring",
    ];
    for (path, cmd) in grammar() {
        for arg in cmd.get_arguments().filter(|a| a.is_global_set()) {
            assert_eq!(
                arg.get_help_heading(),
                Some("Global options"),
                "{path} --{}",
                arg.get_id()
            );
        }
        // clap's own `help` subcommand takes command names, not options.
        // …nor does the hidden internal clipboard holder (its own --clear-after).
        let under_help = path.split(' ').any(|w| w == "help") || cmd.is_hide_set();
        for id in globals.iter().filter(|_| !under_help) {
            assert!(
                cmd.get_arguments()
                    .any(|a| a.get_id() == id && a.is_global_set()),
                "{path} lacks global --{id}"
            );
        }
    }
    let h = Home::new();
    let help = stdout(&h.run(&["rotate", "--help"]));
    let (own, global) = help.split_once("Global options:").expect(&help);
    assert!(
        own.contains("--dry-run") && !own.contains("--home"),
        "{help}"
    );
    assert!(
        global.contains("--home") && global.contains("--keyring"),
        "{help}"
    );
    assert_eq!(help.matches("--server-url").count(), 1, "{help}");

    seed_agent(&h, A, D1, X1, DID1);
    let other = tempfile::tempdir().unwrap();
    let home = other.path().to_str().unwrap();
    for args in [
        &["--home", home, "list", "--json"][..],
        &["list", "--json", "--home", home][..],
        &["--offline", "status", "--home", home, "--json"][..],
    ] {
        let out = h.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), "[]", "{args:?} used --home");
    }
}

#[test]
fn badge_issue_self_signs_without_the_flag_and_still_accepts_it() {
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    for args in [
        &["badge", "issue", A][..],
        &["badge", "issue", "--self-sign", A, "--ttl", "60"][..],
    ] {
        let out = h.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn list_and_status_share_one_order_problems_first_then_name() {
    let h = Home::new();
    for (id, name) in [
        ("00000001-1111-4111-8111-111111111111", "zeta"),
        ("00000002-1111-4111-8111-111111111111", "alpha"),
        ("00000003-1111-4111-8111-111111111111", "mike"),
        ("00000004-1111-4111-8111-111111111111", "bravo"),
    ] {
        let out = h.run(&["generate", "--kind", "agent", "--id", id, "--name", name]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = h.run(&["generate", "--kind", "mcp-server", "--id", "kilo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    chmod(&h.agent_dir("00000003-1111-4111-8111-111111111111"), 0o755); // warning: directory open to others
    chmod(
        &h.agent_dir("00000004-1111-4111-8111-111111111111")
            .join("private.jwk"),
        0o644,
    ); // error: key readable
    let expected = ["bravo", "mike", "alpha", "kilo", "zeta"];
    let order = |out: &std::process::Output| -> Vec<&'static str> {
        assert!(out.status.success(), "{}", stderr(out));
        let text = stdout(out);
        let mut seen: Vec<(usize, &'static str)> = expected
            .iter()
            .map(|n| {
                let line = text.lines().position(|l| l.contains(n));
                (line.unwrap_or_else(|| panic!("{n} missing: {text}")), *n)
            })
            .collect();
        seen.sort();
        seen.into_iter().map(|(_, n)| n).collect()
    };
    assert_eq!(order(&h.run(&["list"])), expected);
    assert_eq!(order(&h.run(&["status", "--offline"])), expected);
    // JSON lists in the same order.
    let names: Vec<String> = h
        .list_json(&[])
        .iter()
        .map(|i| {
            i["name"]
                .as_str()
                .unwrap_or(i["id"].as_str().unwrap())
                .to_string()
        })
        .collect();
    assert_eq!(names, expected);
}

/// Exporting a key that cannot be loaded says why (the identity's own error), not that
/// there is no key.
#[test]
fn export_of_a_malformed_key_says_why() {
    let h = Home::new();
    let dir = h.agent_dir("bad-agent");
    std::fs::create_dir_all(&dir).unwrap();
    chmod(&dir, 0o700);
    write(&dir.join("private.jwk"), "garbage", 0o600);
    let out = h.run(&["export", "bad-agent", "--format", "env"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("malformed-key"), "{err}");
    assert!(!err.contains("no private key"), "{err}");
}
