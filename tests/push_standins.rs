//! `push` and `deployed` through recording stand-ins on PATH for gh, doppler, op,
//! kubectl and gcloud (they need accounts or clusters a test machine lacks): every
//! call's argv, environment and stdin is recorded, and every test checks that the key
//! reached a child only on stdin. Also: dry runs, a missing CLI, a failing CLI that
//! echoes the key, and a CLI that hangs.

mod support;

use base64::Engine as _;
use support::push::{Recorder, value_and_needles};
use support::{Home, stderr, stdout};

fn setup() -> (Home, Recorder) {
    let home = Home::new();
    for (kind, id) in [("agent", "a1"), ("mcp-server", "s1")] {
        let out = home.run(&["--offline", "generate", "--kind", kind, "--id", id]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    (home, Recorder::new())
}

fn run(home: &Home, rec: &Recorder, args: &[&str]) -> std::process::Output {
    let path = rec.path(&[]);
    // A key in the caller's environment must not reach a child either.
    let (value, _) = value_and_needles(home, "a1", false);
    home.run_env(
        &[&["--offline"], args].concat(),
        &[
            ("PATH", &path),
            ("CAPISCIO_AGENT_PRIVATE_KEY_JWK_UNUSED", &value),
            ("GH_TOKEN", "t"),
        ],
    )
}

fn recorded(home: &Home, kind: &str, id: &str) -> Vec<String> {
    let p = home
        .capiscio()
        .join("capiscio-tui/targets")
        .join(kind)
        .join(format!("{id}.json"));
    let Ok(text) = std::fs::read_to_string(p) else {
        return Vec::new();
    };
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap().to_string())
        .collect()
}

fn stand_ins(rec: &Recorder) {
    rec.stand_in(
        "gh",
        r#"case "$2" in list) echo '[{"name":"OTHER"}]';; set) ;; esac"#,
    );
    rec.keeping_stand_ins();
}

#[test]
fn the_key_reaches_every_stand_in_on_stdin_only_and_successes_are_recorded() {
    let (home, rec) = setup();
    stand_ins(&rec);
    let (value, needles) = value_and_needles(&home, "a1", false);
    let targets = [
        "gh:acme/api@prod#CAPISCIO_AGENT_PRIVATE_KEY_JWK",
        "doppler:api/prd#CAPISCIO_AGENT_PRIVATE_KEY_JWK",
        "op:Private/capiscio-a1#credential",
        "k8s:kind-dev:prod/capiscio#agent-jwk",
        "gcloud:capiscio-a1",
    ];
    let mut args = vec!["push", "a1"];
    for t in &targets {
        args.extend(["--to", t]);
    }
    let out = run(&home, &rec, &args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("5 of 5"), "{}", stdout(&out));
    let mut want: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
    want.sort();
    let mut got = recorded(&home, "agent", "a1");
    got.sort();
    assert_eq!(got, want);

    // Each backend got the exact value on stdin (or a document carrying it).
    let stdin_of = |prog: &str, word: &str| {
        let calls = rec.calls_of(prog, word);
        assert_eq!(calls.len(), 1, "{prog} {word}: {:?}", rec.calls());
        calls[0].2.clone().unwrap_or_default()
    };
    assert_eq!(stdin_of("gh", "set"), value);
    assert_eq!(stdin_of("doppler", "set"), value);
    assert_eq!(stdin_of("gcloud", "create"), value);
    let gh = &rec.calls_of("gh", "set")[0].0;
    assert_eq!(
        gh[1..],
        [
            "secret",
            "set",
            "CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            "--repo",
            "acme/api",
            "--env",
            "prod"
        ]
    );
    let gc = &rec.calls_of("gcloud", "create")[0].0;
    assert!(gc.contains(&"--data-file=-".to_string()), "{gc:?}");
    assert!(
        gc.iter()
            .any(|a| a.starts_with("--labels=managed-by=capiscio-tui")),
        "{gc:?}"
    );
    // 1Password: an item template on stdin with the key in a concealed field.
    let tpl: serde_json::Value = serde_json::from_str(&stdin_of("op", "create")).unwrap();
    let field = tpl["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "credential")
        .unwrap();
    assert_eq!(field["value"], value.as_str());
    assert_eq!(field["type"], "CONCEALED");
    // Kubernetes: server-side apply of a Secret whose data is the key, with annotations.
    let apply = &rec.calls_of("kubectl", "apply")[0];
    assert!(apply.0.contains(&"--server-side".to_string()));
    assert!(apply.0.contains(&"--context=kind-dev".to_string()));
    let m: serde_json::Value = serde_json::from_str(apply.2.as_deref().unwrap()).unwrap();
    let data = base64::engine::general_purpose::STANDARD
        .decode(m["data"]["agent-jwk"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(data).unwrap(), value);
    assert_eq!(
        m["metadata"]["annotations"]["app.kubernetes.io/managed-by"],
        "capiscio-tui"
    );
    assert!(m.get("stringData").is_none());

    // The MCP server's PEM keeps its real newlines.
    let (pem, pem_needles) = value_and_needles(&home, "s1", true);
    let out = run(
        &home,
        &rec,
        &[
            "push",
            "s1",
            "--to",
            "doppler:api/prd#CAPISCIO_SERVER_PRIVATE_KEY_PEM",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // (The last call reads it back; the one before stored it.)
    let calls: Vec<_> = rec
        .calls_of("doppler", "CAPISCIO_SERVER_PRIVATE_KEY_PEM")
        .into_iter()
        .filter(|c| c.0.iter().any(|a| a == "set"))
        .collect();
    assert_eq!(calls.last().unwrap().2.as_deref(), Some(pem.as_str()));
    assert!(pem.contains('\n'));

    // `deployed`: gh is write-only (last push = current key: not a failure).
    let out = run(&home, &rec, &["deployed", "a1", "--json"]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    let gh = rows
        .iter()
        .find(|r| r["target"].as_str().unwrap().starts_with("gh:"))
        .unwrap();
    assert_eq!(gh["state"], "write-only");
    assert_eq!(gh["pushed_current"], true);
    // The stand-ins keep what they were given: the readable targets hold the key.
    let doppler = rows
        .iter()
        .find(|r| r["target"].as_str().unwrap().starts_with("doppler:"))
        .unwrap();
    assert_eq!(doppler["state"], "current");
    assert!(
        rows.iter()
            .all(|r| r["state"] == "current" || r["state"] == "write-only"),
        "{rows:?}"
    );
    assert_eq!(out.status.code(), Some(0));

    for o in [&stdout(&out), &stderr(&out)] {
        for n in needles.iter().chain(&pem_needles) {
            assert!(!o.contains(n.as_str()));
        }
    }
    let mut all = needles;
    all.extend(pem_needles);
    rec.assert_key_never_in_argv_or_env(&all);
}

#[test]
fn dry_run_prints_the_commands_runs_nothing_and_records_nothing() {
    let (home, rec) = setup();
    stand_ins(&rec);
    let (_, needles) = value_and_needles(&home, "a1", false);
    let out = run(
        &home,
        &rec,
        &[
            "push",
            "a1",
            "--to",
            "aws-sm:capiscio/a1?region=eu-west-1",
            "--to",
            "k8s:prod/capiscio#k",
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("aws --region eu-west-1 secretsmanager create-secret --name capiscio/a1"),
        "{text}"
    );
    assert!(
        text.contains("--secret-string file:///dev/stdin  < [the key, on stdin]"),
        "{text}"
    );
    assert!(
        text.contains("kubectl --namespace=prod apply --server-side"),
        "{text}"
    );
    for n in &needles {
        assert!(!text.contains(n.as_str()), "{text}");
    }
    assert!(rec.calls().is_empty(), "a dry run ran {:?}", rec.calls());
    assert!(recorded(&home, "agent", "a1").is_empty());
}

#[test]
fn a_missing_cli_is_a_clear_error_and_nothing_is_recorded() {
    let (home, rec) = setup();
    // An empty PATH but for the recorder: no `op` anywhere.
    let out = home.run_env(
        &["--offline", "push", "a1", "--to", "op:v/i#f"],
        &[("PATH", rec.bin().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("`op` is not installed"), "{text}");
    assert!(text.contains("1Password CLI"), "{text}");
    assert!(recorded(&home, "agent", "a1").is_empty());
}

#[test]
fn a_failing_cli_is_reported_redacted_and_not_recorded() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    // A CLI that echoes what it read (the key, and its `d` again) and fails.
    rec.stand_in(
        "doppler",
        r#"case "$2" in get) echo 'Could not find requested secret' >&2; exit 1;; esac
echo "Doppler Error: invalid value $(cat "$d/stdin")" >&2; exit 3"#,
    );
    rec.stand_in("gh", r#"case "$2" in list) echo '[]';; esac"#);
    let out = run(
        &home,
        &rec,
        &["push", "a1", "--to", "doppler:p/c#K", "--to", "gh:o/r#K"],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("✖ failed    doppler:p/c#K"), "{text}");
    assert!(text.contains("exit status 3"), "{text}");
    assert!(text.contains("[redacted]"), "{text}");
    assert!(text.contains("✔ pushed    gh:o/r#K"), "{text}");
    for n in &needles {
        assert!(
            !text.contains(n.as_str()) && !stderr(&out).contains(n.as_str()),
            "{text}"
        );
    }
    // Only the success is recorded.
    assert_eq!(recorded(&home, "agent", "a1"), vec!["gh:o/r#K".to_string()]);
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn a_hanging_cli_is_stopped_at_the_timeout() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    rec.stand_in("gh", "sleep 600");
    let out = run(
        &home,
        &rec,
        &["push", "a1", "--to", "gh:o/r#K", "--timeout", "1"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("did not finish within 1 s"),
        "{}",
        stdout(&out)
    );
    assert!(recorded(&home, "agent", "a1").is_empty());
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn an_existing_value_is_not_overwritten_off_a_terminal_without_yes_and_forget_drops_a_record() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    rec.stand_in("gh", r#"case "$2" in list) echo '[{"name":"K"}]';; esac"#);
    let out = run(&home, &rec, &["push", "a1", "--to", "gh:o/r#K"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("add --yes"), "{}", stdout(&out));
    assert!(rec.calls_of("gh", "set").is_empty());
    let out = run(&home, &rec, &["push", "a1", "--to", "gh:o/r#K", "--yes"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_eq!(rec.calls_of("gh", "set").len(), 1);
    // `push` without --to goes to the recorded targets; `show` lists them.
    let out = run(&home, &rec, &["push", "a1", "--yes"]);
    assert!(out.status.success());
    assert_eq!(rec.calls_of("gh", "set").len(), 2);
    let shown = stdout(&run(&home, &rec, &["show", "a1"]));
    assert!(
        shown.contains("Pushed to:") && shown.contains("gh:o/r#K"),
        "{shown}"
    );
    let out = run(&home, &rec, &["push", "a1", "--forget", "gh:o/r#K"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(recorded(&home, "agent", "a1").is_empty());
    // A bad target is described, never quoted.
    let out = run(
        &home,
        &rec,
        &[
            "push",
            "a1",
            "--to",
            "vault:{\"d\":\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZ\"}",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!stderr(&out).contains("nWGxne"), "{}", stderr(&out));
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn a_target_whose_cli_has_gone_is_an_error_in_deployed() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    rec.keeping_stand_ins();
    let out = run(&home, &rec, &["push", "a1", "--to", "doppler:p/c#K"]);
    assert!(out.status.success(), "{}", stdout(&out));
    std::fs::remove_file(rec.bin().join("doppler")).unwrap();
    let out = home.run_env(
        &["--offline", "deployed", "--json"],
        &[("PATH", rec.bin().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(1));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "error");
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .contains("`doppler` is not installed")
    );
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it or set CAPISCIO_TUI_TEST_TUI=1"
)]
fn on_a_terminal_overwriting_asks_first() {
    if !support::Tmux::available() {
        return;
    }
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    rec.stand_in("gh", r#"case "$2" in list) echo '[{"name":"K"}]';; esac"#);
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = home.path().display();
    let cmd = format!(
        "env -i HOME={dir} PATH={path} TERM=xterm-256color {bin} --offline push a1 --to gh:o/r#K --to gh:o/r#L; echo \"exit=$?\"; sleep 30",
        path = rec.path(&[])
    );
    let t = support::Tmux::start("push-ask", 150, 20, &cmd);
    t.wait_for("Overwrite it with a1's key? [y/N]", 10);
    assert!(
        rec.calls_of("gh", "set").is_empty(),
        "wrote before the answer"
    );
    t.type_text("n");
    t.send(&["Enter"]);
    let screen = t.wait_for("exit=", 10);
    assert!(screen.contains("not overwritten"), "{screen}");
    assert!(screen.contains("exit=1"), "{screen}");
    let sets_of = |name: &str| {
        rec.calls_of("gh", "set")
            .iter()
            .filter(|c| c.0.contains(&name.to_string()))
            .count()
    };
    assert_eq!(
        (sets_of("K"), sets_of("L")),
        (0, 1),
        "K refused, L (new) written"
    );
    drop(t);
    let t = support::Tmux::start("push-yes", 150, 20, &cmd);
    t.wait_for("[y/N]", 10);
    t.type_text("y");
    t.send(&["Enter"]);
    let screen = t.wait_for("exit=", 10);
    assert!(screen.contains("exit=0"), "{screen}");
    assert_eq!(
        (sets_of("K"), sets_of("L")),
        (1, 2),
        "K after the answer, L without asking"
    );
    rec.assert_key_never_in_argv_or_env(&needles);
}
