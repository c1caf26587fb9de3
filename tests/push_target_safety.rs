//! Push targets that could change a CLI's meaning are refused before anything runs; a
//! CLI that says "done" but stored something else fails the push; `--timeout` bounds a
//! call even when the CLI leaves a grandchild holding its output; and `push ID` (the
//! rotation's hint) replaces a target holding this identity's archived key off a
//! terminal. All through the real binary and recording stand-ins.

mod support;

use std::time::{Duration, Instant};
use support::push::{Recorder, value_and_needles};
use support::{Home, stderr, stdout};

fn setup() -> (Home, Recorder) {
    let home = Home::new();
    let out = home.run(&["--offline", "generate", "--kind", "agent", "--id", "a1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    (home, Recorder::new())
}

fn run(home: &Home, rec: &Recorder, args: &[&str]) -> std::process::Output {
    let path = rec.path(&[]);
    home.run_env(&[&["--offline"], args].concat(), &[("PATH", &path)])
}

fn recorded(home: &Home) -> Vec<String> {
    let p = home.capiscio().join("capiscio-tui/targets/agent/a1.json");
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

#[test]
fn targets_that_would_change_a_clis_arguments_are_refused_before_anything_runs() {
    let (home, rec) = setup();
    for prog in [
        "bao", "vault", "aws", "kubectl", "gcloud", "op", "doppler", "gh",
    ] {
        rec.stand_in(prog, "exit 0");
    }
    for (target, secret_part) in [
        ("vault:secret/a#x=y", "x=y"),
        ("vault:secret/b#x=@loot", "loot"),
        ("vault:secret/b#@loot", "loot"),
        ("vault:secret/b#-x", "#-x"),
        ("vault:secret/a/../../sys/b#f", "sys/b"),
        ("vault:secret/a/./b#f", "a/./b"),
        ("aws-sm:a/../b", "a/../b"),
        ("aws-ssm:/a/../b", "a/../b"),
        ("gcloud:..", "gcloud:.."),
        ("k8s:ns/s#k=v", "k=v"),
        ("k8s:ns/..#k", "ns/.."),
        ("op:v/i#f=x", "f=x"),
        ("doppler:p/c#A=B", "A=B"),
    ] {
        let out = run(&home, &rec, &["push", "a1", "--to", target, "--yes"]);
        assert_eq!(out.status.code(), Some(1), "{target}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("target"), "{target}: {err}");
        assert!(!err.contains(secret_part), "{target} quoted: {err}");
        assert!(!stdout(&out).contains("pushed"), "{target}");
    }
    assert!(rec.calls().is_empty(), "a CLI ran: {:?}", rec.calls());
    assert!(recorded(&home).is_empty());
}

#[test]
fn a_cli_that_reports_success_but_stores_something_else_fails_the_push() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    home.generate_agent("other-agent", "other");
    let (other, _) = value_and_needles(&home, "other-agent", false);
    let st = rec.state();
    // Says yes to `set`, keeps another key.
    std::fs::write(st.join("other"), &other).unwrap();
    rec.stand_in(
        "doppler",
        &format!(
            r#"f="{st}/doppler-$3"
case "$2" in
  get) if [ -f "$f" ]; then cat "$f"; else echo 'Doppler Error: Could not find requested secret: X' >&2; exit 1; fi;;
  set) cp "{st}/other" "$f";;
esac"#,
            st = st.display()
        ),
    );
    // Says yes to `set`, keeps nothing.
    rec.stand_in(
        "gcloud",
        r#"case "$2 $3" in "versions access") echo 'ERROR: NOT_FOUND: Secret [s] not found' >&2; exit 1;; esac; exit 0"#,
    );
    let out = run(
        &home,
        &rec,
        &["push", "a1", "--to", "doppler:p/c#K", "--to", "gcloud:g1"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert_eq!(
        text.matches("the CLI reported success but the target does not hold the key")
            .count(),
        2,
        "{text}"
    );
    assert!(!text.contains("✔"), "{text}");
    assert!(recorded(&home).is_empty());
    // The writes did happen: it is the read-back that caught them.
    assert_eq!(rec.calls_of("doppler", "set").len(), 1);
    assert_eq!(rec.calls_of("gcloud", "create").len(), 1);
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn the_timeout_bounds_a_call_whose_grandchild_escaped_with_its_output() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    // The CLI starts a grandchild in its own session (out of our process group) that
    // keeps stdout and stderr open, then hangs itself.
    rec.stand_in("doppler", "setsid sleep 60 &\nsleep 60");
    let started = Instant::now();
    let out = run(
        &home,
        &rec,
        &["push", "a1", "--to", "doppler:p/c#K", "--timeout", "2"],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("did not finish within 2 s"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("✔"), "{}", stdout(&out));
    assert!(recorded(&home).is_empty());
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn a_cli_that_exits_but_leaves_a_grandchild_holding_its_output_is_not_waited_for() {
    let (home, rec) = setup();
    let (_, needles) = value_and_needles(&home, "a1", false);
    rec.keeping_stand_ins();
    // The keeping doppler, but every call leaves an escaped grandchild on its pipes.
    let script = std::fs::read_to_string(rec.bin().join("doppler")).unwrap();
    let script = script.replacen("\n", "\nsetsid sleep 60 &\n", 1);
    std::fs::write(rec.bin().join("doppler"), script).unwrap();
    let started = Instant::now();
    let out = run(
        &home,
        &rec,
        &["push", "a1", "--to", "doppler:p/c#K", "--timeout", "30"],
    );
    let took = started.elapsed();
    // Three calls (read, write, read back), none waiting for the grandchild's 60 s.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("✔ pushed"), "{}", stdout(&out));
    assert_eq!(recorded(&home), vec!["doppler:p/c#K".to_string()]);
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn push_id_replaces_a_target_holding_this_identitys_archived_key_off_a_terminal() {
    let (home, rec) = setup();
    rec.keeping_stand_ins();
    rec.stand_in("gh", r#"case "$2" in list) echo '[{"name":"K"}]';; esac"#);
    let out = run(
        &home,
        &rec,
        &[
            "push",
            "a1",
            "--to",
            "doppler:p/c#K",
            "--to",
            "gh:o/r#K",
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    let out = run(&home, &rec, &["rotate", "a1", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hint = stdout(&out) + &stderr(&out);
    assert!(hint.contains("push a1"), "{hint}");
    // What the hint says, as written, off a terminal: no prompt, no --yes needed.
    let out = run(&home, &rec, &["push", "a1"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("✔ pushed    doppler:p/c#K"), "{text}");
    assert!(text.contains("✔ pushed    gh:o/r#K"), "{text}");
    let rows = stdout(&run(&home, &rec, &["deployed", "a1", "--json"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&rows).unwrap();
    assert!(rows.iter().any(|r| r["state"] == "current"), "{rows:?}");

    // A key this identity never had is still not overwritten without asking.
    home.generate_agent("other-agent", "other");
    let (other, _) = value_and_needles(&home, "other-agent", false);
    let stored = rec.state().join("doppler-p-c-K");
    std::fs::write(&stored, &other).unwrap();
    let out = run(&home, &rec, &["push", "a1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("add --yes"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), other);
}
