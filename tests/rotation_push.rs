//! Rotation and push together, through the real binary: the impact lists the recorded
//! targets, `--yes` alone never pushes, `--push` (fresh or with `--resume`) does, the
//! capture step settles only after a successful push, the verify step reads the targets
//! back, and `--new-agent` moves the records with the identity. The secrets CLI is a
//! recording stand-in for gcloud that keeps what it is given (it needs no account).

mod support;

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::store::disk;
use serde_json::{Value, json};
use support::push::Recorder;
use support::*;

const A: &str = "22222222-2222-4222-8222-222222222222";
const T: &str = "gcloud:rot-s1";

/// A gcloud stand-in with a memory: `create` / `versions add` keep stdin, `versions
/// access` prints it back (NOT_FOUND before). A file named FAIL in its state dir makes
/// every write fail.
fn gcloud(rec: &Recorder) -> std::path::PathBuf {
    let state = rec.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    rec.stand_in(
        "gcloud",
        &format!(
            r#"st="{}"
sec=""
for x in "$@"; do case "$x" in --secret=*) sec="${{x#--secret=}}";; esac; done
case "$2 $3" in
  "versions access")
    if [ -f "$st/$sec" ]; then cat "$st/$sec"; else echo "ERROR: NOT_FOUND: Secret [$sec] not found" >&2; exit 1; fi;;
  "versions add")
    if [ -f "$st/FAIL" ]; then echo 'ERROR: PERMISSION_DENIED' >&2; exit 1; fi
    cp "$d/stdin" "$st/$4";;
esac
if [ "$2" = create ]; then
  if [ -f "$st/FAIL" ]; then echo 'ERROR: PERMISSION_DENIED' >&2; exit 1; fi
  cp "$d/stdin" "$st/$3"
fi
exit 0"#,
            state.display()
        ),
    );
    state
}

fn run(h: &Home, rec: &Recorder, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
    let path = rec.path(&[]);
    let mut env = vec![("PATH", path.as_str())];
    env.extend_from_slice(extra);
    h.run_env(args, &env)
}

/// Calls that stored a value (they carry the key on stdin).
fn writes(rec: &Recorder) -> usize {
    rec.calls()
        .iter()
        .filter(|(argv, _, _)| argv.iter().any(|a| a == "--data-file=-"))
        .count()
}

fn step(j: &Value, id: &str) -> Value {
    j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap()
        .clone()
}

fn deployed_state(h: &Home, rec: &Recorder, id: &str) -> (String, bool) {
    let out = run(h, rec, &["--offline", "deployed", id, "--json"], &[]);
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", stderr(&out)));
    (
        v[0]["state"].as_str().unwrap().to_string(),
        out.status.success(),
    )
}

fn setup() -> (Home, Recorder) {
    let h = Home::new();
    disk::write_agent(
        &h.agent_dir(A),
        &KeyPair::from_seed(&[7; 32]),
        Some(r#"{"name":"rot-agent"}"#),
    )
    .unwrap();
    let rec = Recorder::new();
    gcloud(&rec);
    let out = run(&h, &rec, &["--offline", "push", A, "--to", T], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    (h, rec)
}

#[test]
fn impact_lists_targets_yes_never_pushes_and_resume_push_does() {
    let (h, rec) = setup();
    let fp = KeyPair::from_seed(&[7; 32]).public().fingerprint();
    // The impact: one warning per recorded target, with its key and push time.
    let out = run(&h, &rec, &["--offline", "rotate", A, "--dry-run"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains(T))
        .unwrap_or_else(|| panic!("no line for {T} in:\n{text}"));
    assert!(line.starts_with(" ⚠"), "{line}");
    assert!(
        line.contains("will still hold the old key") && line.contains(&fp),
        "{line}"
    );
    assert!(line.contains("pushed"), "{line}");
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--dry-run", "--json"],
        &[],
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hits: Vec<&Value> = plan["consequences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["code"] == "target-holds-old-key")
        .collect();
    assert_eq!(hits.len(), 1, "{plan:#}");
    assert_eq!(hits[0]["severity"], "warning");

    // `--yes` alone rotates and never pushes.
    let before = writes(&rec);
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--yes", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(writes(&rec), before, "rotate --yes pushed");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["push_targets"], json!([T]));
    let capture = step(&j, "capture");
    assert_eq!(capture["state"], "pending");
    assert!(
        capture["reason"].as_str().unwrap().contains("--push"),
        "{capture}"
    );
    let verify = step(&j, "verify");
    assert!(
        verify["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("{T} previous")),
        "{verify}"
    );
    assert_eq!(deployed_state(&h, &rec, A), ("previous".into(), false));
    // The walkthrough names the push.
    let out = run(&h, &rec, &["--offline", "rotate", A, "--resume"], &[]);
    let text = stdout(&out);
    assert!(
        text.contains("Push the new key to its 1 target") && text.contains("--resume --push"),
        "{text}"
    );
    assert_eq!(writes(&rec), before, "rotate --resume pushed");

    // `--resume --push` pushes, and then the target holds the new key.
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--resume", "--push"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("✔ pushed    {T}")), "{text}");
    assert_eq!(writes(&rec), before + 1);
    assert!(
        text.lines()
            .any(|l| l.contains("Push the new key to its 1 target") && l.contains("done")),
        "{text}"
    );
    assert_eq!(deployed_state(&h, &rec, A), ("current".into(), true));
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--resume", "--json"],
        &[],
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&j, "capture")["state"], "done");
    // Offline, verify waits for the registry, but no longer for the target.
    assert!(
        !step(&j, "verify")["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("previous"),
        "{j:#}"
    );
    let (_, needles) = support::push::value_and_needles(&h, A, false);
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn rotate_push_pushes_and_capture_settles_only_after_a_successful_push() {
    let (h, rec) = setup();
    let state = rec.dir.path().join("state");
    // A push that fails: exit non-zero, the capture step stays open, the target is previous.
    std::fs::write(state.join("FAIL"), "").unwrap();
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--yes", "--push", "--json"],
        &[],
    );
    assert!(!out.status.success(), "a failed push exited 0");
    assert!(
        stderr(&out).contains("PERMISSION_DENIED"),
        "{}",
        stderr(&out)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&j, "archive-and-generate")["state"], "done");
    assert_eq!(step(&j, "capture")["state"], "pending", "{j:#}");
    assert_eq!(deployed_state(&h, &rec, A), ("previous".into(), false));
    // An export does not settle it either: the targets still hold the old key.
    assert!(h.run(&["export", A, "--format", "env"]).status.success());
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--resume", "--json"],
        &[],
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&j, "capture")["state"], "pending", "{j:#}");
    // The CLI works again: --resume --push settles it.
    std::fs::remove_file(state.join("FAIL")).unwrap();
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--resume", "--push", "--json"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&j, "capture")["state"], "done", "{j:#}");
    assert_eq!(deployed_state(&h, &rec, A), ("current".into(), true));

    // A fresh rotation with --push pushes right after the swap.
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--yes", "--push"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("✔ pushed    {T}")), "{text}");
    assert_eq!(deployed_state(&h, &rec, A), ("current".into(), true));
    let (_, needles) = support::push::value_and_needles(&h, A, false);
    rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
fn new_agent_moves_the_recorded_targets_with_the_identity() {
    const KEY: &str = "sk_test_rotation_push";
    let (h, rec) = setup();
    let reg = DevReg::start(&["--api-key", KEY]);
    reg.post(
        "/v1/sdk/agents",
        &json!({"id": A, "name": "rot-agent", "status": "active"}).to_string(),
        Some(KEY),
    );
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    // The registry holds the old key, so re-keying in place gets a 409.
    assert!(h.run_env(&["register", A], &env).status.success());
    let out = run(&h, &rec, &["rotate", A, "--yes", "--json"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(
        &h,
        &rec,
        &["rotate", A, "--resume", "--new-agent", "--json"],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new_id = j["identity_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, A);
    let records = h.capiscio().join("capiscio-tui/targets/agent");
    assert!(!records.join(format!("{A}.json")).exists());
    let moved: Value = serde_json::from_str(
        &std::fs::read_to_string(records.join(format!("{new_id}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(moved["targets"][0]["target"], T);
    assert!(
        j["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("moved 1 recorded push target")),
        "{j:#}"
    );
    // Under its new id the target is this identity's previous key, and a push fixes it.
    assert_eq!(
        deployed_state(&h, &rec, &new_id),
        ("previous".into(), false)
    );
    let out = run(
        &h,
        &rec,
        &["rotate", &new_id, "--resume", "--push", "--json"],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(step(&j, "capture")["state"], "done", "{j:#}");
    assert_eq!(deployed_state(&h, &rec, &new_id), ("current".into(), true));
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it or set CAPISCIO_TUI_TEST_TUI=1"
)]
fn on_a_terminal_the_capture_step_asks_whether_to_push() {
    if !support::Tmux::available() {
        return;
    }
    let (h, rec) = setup();
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let cmd = |extra: &str| {
        format!(
            "env -i HOME={dir} PATH={path} TERM=xterm-256color {bin} --offline rotate {A}{extra}; echo \"exit=$?\"; sleep 30",
            dir = h.path().display(),
            path = rec.path(&[])
        )
    };
    // Declining: rotated, nothing pushed, the capture step still open.
    let t = support::Tmux::start("rot-push-no", 160, 40, &cmd(""));
    t.wait_for("Type the identity id", 10);
    t.type_text(A);
    t.send(&["Enter"]);
    t.wait_for("Push the new key to its 1 target now? [y/N]", 20);
    assert_eq!(writes(&rec), 1, "pushed before the answer");
    t.type_text("n");
    t.send(&["Enter"]);
    let screen = t.wait_for("exit=", 20);
    assert!(screen.contains("exit=0"), "{screen}");
    assert_eq!(writes(&rec), 1, "pushed after a no");
    assert_eq!(deployed_state(&h, &rec, A), ("previous".into(), false));
    drop(t);
    // `--yes` on a terminal does not ask and does not push.
    let t = support::Tmux::start("rot-push-yes-flag", 160, 40, &cmd(" --yes"));
    let screen = t.wait_for("exit=", 20);
    assert!(!screen.contains("[y/N]"), "{screen}");
    assert_eq!(writes(&rec), 1, "--yes pushed");
    drop(t);
    // Accepting pushes and settles the capture step.
    let t = support::Tmux::start("rot-push-y", 160, 40, &cmd(""));
    t.wait_for("Type the identity id", 10);
    t.type_text(A);
    t.send(&["Enter"]);
    t.wait_for("[y/N]", 20);
    t.type_text("y");
    t.send(&["Enter"]);
    let screen = t.wait_for("exit=", 20);
    assert!(screen.contains("exit=0"), "{screen}");
    assert!(screen.contains("✔ pushed"), "{screen}");
    assert_eq!(writes(&rec), 2);
    assert_eq!(deployed_state(&h, &rec, A), ("current".into(), true));
}

#[test]
fn rotate_push_never_overwrites_a_key_this_identity_never_had_off_a_terminal() {
    let (h, rec) = setup();
    let out = run(&h, &rec, &["--offline", "rotate", A, "--yes"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Someone stored another identity's key there meanwhile.
    h.generate_agent("other-agent", "other");
    let (foreign, _) = support::push::value_and_needles(&h, "other-agent", false);
    let stored = rec.dir.path().join("state").join("rot-s1");
    std::fs::write(&stored, &foreign).unwrap();
    assert_eq!(deployed_state(&h, &rec, A).0, "foreign");
    let before = writes(&rec);
    let out = run(
        &h,
        &rec,
        &["--offline", "rotate", A, "--resume", "--push"],
        &[],
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("not overwritten"), "{text}");
    assert_eq!(writes(&rec), before, "overwrote a foreign key");
    assert_eq!(std::fs::read_to_string(&stored).unwrap(), foreign);
}
