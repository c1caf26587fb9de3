//! The UI's push picker, Deployed section and clipboard identify, in the real binary
//! under tmux. The secrets CLI is a recording stand-in on PATH (`doppler`, which keeps
//! what it is given in a file and reads it back), so every call's argv, environment and
//! stdin is checked: the key reaches it on stdin only.

mod support;

use support::push::{Recorder, value_and_needles};
use support::*;

const ID: &str = "31111111-1111-4111-8111-111111111111";
const TARGET: &str = "doppler:proj/dev#AGENT_KEY";

/// A `doppler` that stores `secrets set`'s stdin per name and prints it on `secrets get`.
fn doppler(rec: &Recorder) -> std::path::PathBuf {
    let store = rec.dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    rec.stand_in(
        "doppler",
        &format!(
            r#"s="{store}/$3"
case "$2" in
  get) if [ -f "$s" ]; then cat "$s"; else echo 'Doppler Error: Could not find requested secret: X' >&2; exit 1; fi;;
  set) cp "$d/stdin" "$s";;
esac"#,
            store = store.display()
        ),
    );
    store
}

fn open(h: &Home, rec: &Recorder, name: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let t = Tmux::start(
        name,
        140,
        40,
        &format!(
            "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} PATH={path} TERM=xterm-256color {bin} --offline; sleep 30",
            path = rec.path(&[])
        ),
    );
    t.wait_for("push-agent", 10);
    t
}

fn recorded(h: &Home) -> Vec<String> {
    let out = h.run(&["show", ID, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["push_targets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["target"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn sets(rec: &Recorder) -> Vec<Option<String>> {
    rec.calls_of("doppler", "set")
        .into_iter()
        .map(|(_, _, stdin)| stdin)
        .collect()
}

/// p → new target → push: the stand-in got the key on stdin only, the record exists and
/// the picker lists it. D reads it back as current; after `rotate --yes` from the CLI it
/// is previous; pushing again asks before overwriting (y), and D says current again.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn push_from_the_picker_then_deployed_follows_a_rotation() {
    if !Tmux::available() {
        return;
    }
    let h = Home::new();
    h.generate_agent(ID, "push-agent");
    let rec = Recorder::new();
    let store = doppler(&rec);
    let (value, needles) = value_and_needles(&h, ID, false);
    let t = open(&h, &rec, "push");

    t.send(&["p"]);
    t.wait_for("Push push-agent", 5);
    t.wait_for("new target…", 5);
    t.send(&["Enter"]);
    t.type_text(TARGET);
    t.wait_for("✔ a doppler target", 5);
    t.send(&["Enter"]);
    let screen = t.wait_for("✔ pushed", 20);
    assert!(screen.contains(TARGET), "{screen}");
    assert_eq!(sets(&rec), [Some(value.clone())]);
    assert_eq!(
        std::fs::read_to_string(store.join("AGENT_KEY")).unwrap(),
        value
    );
    rec.assert_key_never_in_argv_or_env(&needles);
    assert_eq!(recorded(&h), [TARGET]);
    // Back in the picker, the new target is listed with its last push.
    t.send(&["Escape"]);
    t.wait_for(&format!("{TARGET}  last pushed"), 5);
    t.send(&["Escape"]);

    // The details pane's Deployed section: D reads the target back.
    t.wait_for("Deployed (1)", 10);
    t.send(&["D"]);
    t.wait_for(&format!("{TARGET}  current"), 20);

    let out = h.run(&["rotate", ID, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The rotation never pushes by itself.
    assert_eq!(sets(&rec).len(), 1);
    t.send(&["D"]);
    let screen = t.wait_for(&format!("{TARGET}  previous"), 20);
    assert!(screen.contains("— an archived key of"), "{screen}");

    // Push the new key: the target holds another key, so the UI asks first.
    t.send(&["p"]);
    t.wait_for(&format!("{TARGET}  last pushed"), 5);
    t.send(&["Enter"]);
    t.wait_for("Overwrite it with push-agent's key?", 20);
    assert_eq!(sets(&rec).len(), 1, "nothing is written before the answer");
    t.send(&["y"]);
    t.wait_for("✔ pushed", 20);
    let (new_value, new_needles) = value_and_needles(&h, ID, false);
    assert_ne!(new_value, value);
    assert_eq!(sets(&rec).last().cloned().flatten(), Some(new_value));
    rec.assert_key_never_in_argv_or_env(&[needles, new_needles].concat());
    t.send(&["Escape", "Escape", "D"]);
    t.wait_for(&format!("{TARGET}  current"), 20);
    let screen = t.capture();
    for n in value_and_needles(&h, ID, false).1 {
        assert!(!screen.contains(&n), "key material on screen:\n{screen}");
    }
}

/// Answering N keeps the value there: nothing written, nothing recorded.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn declining_the_overwrite_writes_and_records_nothing() {
    if !Tmux::available() {
        return;
    }
    let h = Home::new();
    h.generate_agent(ID, "push-agent");
    let rec = Recorder::new();
    let store = doppler(&rec);
    std::fs::write(store.join("AGENT_KEY"), "not a key").unwrap();
    let t = open(&h, &rec, "decline");
    t.send(&["p", "Enter"]);
    t.type_text(TARGET);
    t.wait_for("✔ a doppler target", 5);
    t.send(&["Enter"]);
    t.wait_for("it exists and holds something else", 20);
    t.send(&["n"]);
    t.wait_for("✖ failed", 5);
    t.wait_for("not overwritten", 5);
    assert!(sets(&rec).is_empty());
    assert_eq!(
        std::fs::read_to_string(store.join("AGENT_KEY")).unwrap(),
        "not a key"
    );
    assert!(recorded(&h).is_empty());
}

fn x_enabled() -> bool {
    let display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty());
    let xclip = std::process::Command::new("xclip")
        .arg("-version")
        .output()
        .is_ok();
    if display && xclip && Tmux::available() {
        return true;
    }
    assert!(
        std::env::var_os("CAPISCIO_TUI_TEST_X").is_none(),
        "CAPISCIO_TUI_TEST_X is set but there is no DISPLAY, xclip or tmux"
    );
    eprintln!("skipped: needs an X display (DISPLAY), xclip and tmux");
    false
}

fn set_clipboard(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("xclip")
        .args(["-i", "-selection", "clipboard"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait().unwrap();
}

/// i reads the X clipboard: a copied export is this identity's current key, and the SDK
/// accepts it; the key is never on screen.
#[test]
#[cfg_attr(
    not(capiscio_test_x),
    ignore = "needs an X display, xclip and tmux: set CAPISCIO_TUI_TEST_X=1 and run under xvfb-run"
)]
fn i_identifies_a_copied_export_as_current() {
    if !x_enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(ID, "push-agent");
    let out = h.run(&["export", ID, "--format", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    set_clipboard(&stdout(&out));
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let display = std::env::var("DISPLAY").unwrap();
    let xauth = std::env::var("XAUTHORITY")
        .map(|x| format!("XAUTHORITY={x}"))
        .unwrap_or_default();
    let dir = h.path().display();
    let t = Tmux::start(
        "identify-x",
        140,
        40,
        &format!(
            "cd {dir}; env -u WAYLAND_DISPLAY DISPLAY={display} {xauth} HOME={dir} TERM=xterm-256color {bin} --offline; sleep 30"
        ),
    );
    t.wait_for("push-agent", 10);
    t.send(&["i"]);
    t.wait_for("What is on the clipboard", 5);
    let screen = t.wait_for("its CURRENT key", 10);
    assert!(screen.contains(ID), "{screen}");
    assert!(screen.contains("State        current"), "{screen}");
    assert!(
        screen.contains("as CAPISCIO_AGENT_PRIVATE_KEY_JWK: the SDK accepts it"),
        "{screen}"
    );
    for n in value_and_needles(&h, ID, false).1 {
        assert!(!screen.contains(&n), "key material on screen:\n{screen}");
    }
    // Text that holds no key is said to, without being echoed.
    t.send(&["Escape"]);
    set_clipboard("hello clipboard words");
    t.send(&["i"]);
    let screen = t.wait_for("No readable key on the clipboard", 10);
    assert!(!screen.contains("hello clipboard"), "{screen}");
}
