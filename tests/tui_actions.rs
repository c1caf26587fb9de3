//! The real binary under tmux doing what only the CLI could do before, and the text
//! input: Ctrl-U in the filter, a wrong and a right (name) confirmation in the rotation
//! wizard at 80×24, ending a grace period, rolling back, the message log, saving an
//! export to a new 0600 file, a broken key's picker and `f`, and badges renewed by hand
//! and automatically against the development registry. Needs tmux.

mod support;

use serde_json::json;
use support::RegWorld as World;
use support::tmux_enabled as enabled;
use support::*;

const KEY: &str = "sk_test_0123456789abcdefSECRET";
const BILLING: &str = "11111111-1111-4111-8111-111111111111";

fn launch(h: &Home, name: &str, size: (u16, u16), extra_env: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {extra_env} {bin} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; sleep 30"
    );
    Tmux::start(name, size.0, size.1, &cmd)
}

fn seed_billing(h: &Home) {
    let out = h.run(&[
        "generate",
        "--kind",
        "agent",
        "--name",
        "billing-agent",
        "--id",
        BILLING,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn did_of(h: &Home, id: &str) -> String {
    find(&h.list_json(&[]), id)["did"]
        .as_str()
        .unwrap()
        .to_string()
}

fn quit(t: &Tmux, h: &Home) {
    t.send(&["q"]);
    assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn filter_wizard_end_grace_rollback_and_the_log_at_80x24() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_billing(&h);
    let old_did = did_of(&h, BILLING);
    let t = launch(&h, "wizard", (80, 24), "");
    t.wait_for("billing-agent", 10);

    // Ctrl-U clears the filter (it used to type "u").
    t.send(&["/"]);
    t.type_text("zzz");
    let screen = t.wait_for("Nothing matches the filter", 5);
    assert!(!screen.contains("billing-agent"), "{screen}");
    t.send(&["C-u"]);
    let screen = t.wait_for("[/ █]", 5);
    assert!(screen.contains("billing-agent"), "{screen}");
    t.send(&["Enter"]);

    // The wizard's prompt is on screen at 80×24 and names what to type; a wrong
    // confirmation says so; the (unique) name confirms.
    // The help lists every key at 80×24: it scrolls to the last ones.
    t.send(&["?"]);
    let screen = t.wait_for("↓ more", 5);
    assert!(!screen.contains("message log of this session"), "{screen}");
    t.send(&["Down", "Down", "Down", "Down", "Down", "Down"]);
    t.wait_for("message log of this session", 5);
    t.send(&["Escape"]);

    t.send(&["R"]);
    t.wait_for("Type the name billing-agent or the id", 10);
    // --new-agent is an option of the wizard (Ctrl-N), shown as a checkbox.
    t.send(&["C-n"]);
    t.wait_for("new registry agent: [x]", 5);
    t.send(&["C-n"]);
    t.wait_for("new registry agent: [ ]", 5);
    t.wait_for("Type the name billing-agent or the id", 10);
    t.type_text("billing");
    t.send(&["Enter"]);
    t.wait_for("“billing” does not match", 5);
    assert!(
        h.agent_dir(BILLING).join("archive").read_dir().is_err() || {
            capiscio_tui::store::rotate::list_archive(
                &h.agent_dir(BILLING),
                capiscio_tui::core::identity::Kind::Agent,
            )
            .is_empty()
        }
    );
    t.send(&["C-u"]);
    t.type_text("billing-agent");
    t.send(&["Enter"]);
    t.wait_for("Enter: capture the new key now", 15);
    assert_eq!(
        capiscio_tui::store::rotate::list_archive(
            &h.agent_dir(BILLING),
            capiscio_tui::core::identity::Kind::Agent
        )
        .len(),
        1
    );
    let new_did = did_of(&h, BILLING);
    assert_ne!(new_did, old_did);
    assert_eq!(h.retiring_keys(BILLING), 1, "the old key is retiring");
    t.send(&["Escape"]);

    // End the grace period: asked first, then the card drops the old key.
    t.send(&["E"]);
    t.wait_for("End the grace period of billing-agent?", 5);
    t.send(&["y"]);
    t.wait_for("Ended the grace period of billing-agent", 10);
    assert_eq!(h.retiring_keys(BILLING), 0);

    // Roll back: asked first; n cancels, y restores the previous key.
    t.send(&["u"]);
    t.wait_for("Roll back billing-agent?", 5);
    t.send(&["n"]);
    t.wait_for("Cancelled: did not roll back", 5);
    assert_eq!(did_of(&h, BILLING), new_did);
    t.send(&["u"]);
    t.wait_for("Roll back billing-agent?", 5);
    t.send(&["y"]);
    t.wait_for("Rolled back billing-agent", 10);
    assert_eq!(
        did_of(&h, BILLING),
        old_did,
        "the DID on disk is the old one"
    );

    // The log keeps what the status line showed.
    t.send(&["L"]);
    let screen = t.wait_for("Messages this session", 5);
    for text in [
        "Ended the grace period of billing-agent",
        "Cancelled: did not roll back billing-agent",
        "Rolled back billing-agent",
    ] {
        assert!(
            screen.contains(text),
            "{text} missing from the log:\n{screen}"
        );
    }
    t.send(&["Escape"]);
    quit(&t, &h);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn save_to_file_and_a_broken_key() {
    use std::os::unix::fs::PermissionsExt;
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_billing(&h);
    let broken = h.agent_dir("broken-agent");
    write(
        &broken.join("private.jwk"),
        r#"{"kty":"OKP","crv":"Ed25519","d":"@@@","x":"zz"}"#,
        0o600,
    );
    chmod(&broken, 0o700);
    let t = launch(&h, "save", (120, 32), "");
    t.wait_for("billing-agent", 10);

    // Without a registry, b says so.
    t.send(&["/"]);
    t.type_text("billing");
    t.send(&["Enter", "b"]);
    t.wait_for("No registry configured", 5);

    // Save to file: a new file, 0600, exactly the export text.
    t.send(&["e"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK", 10);
    t.send(&["s"]);
    t.wait_for("Save to file:", 5);
    t.type_text("out.env");
    t.send(&["Enter"]);
    t.wait_for("Saved env for billing-agent", 10);
    let path = h.path().join("out.env");
    let expected = stdout(&h.run(&["export", BILLING, "--format", "env"]));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Never over an existing file, nor through a (dangling) symlink.
    std::os::unix::fs::symlink(h.path().join("target.env"), h.path().join("link.env")).unwrap();
    for name in ["out.env", "link.env"] {
        t.send(&["e"]);
        t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK", 10);
        t.send(&["s"]);
        t.wait_for("Save to file:", 5);
        t.type_text(name);
        t.send(&["Enter"]);
        t.wait_for("already exists; not overwritten", 10);
        t.send(&["Escape", "Escape"]);
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
    assert!(!h.path().join("target.env").exists());
    // Nor through a symlinked folder anywhere in the path, nor via `..`.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(elsewhere.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), h.path().join("linkdir")).unwrap();
    for (name, why) in [
        ("linkdir/sub/out.env", "is a symlink"),
        ("linkdir/../up.env", "has a `..` in it"),
    ] {
        t.send(&["e"]);
        t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK", 10);
        t.send(&["s"]);
        t.wait_for("Save to file:", 5);
        t.type_text(name);
        t.send(&["Enter"]);
        t.wait_for(why, 10);
        t.send(&["Escape", "Escape"]);
    }
    assert!(!elsewhere.path().join("sub/out.env").exists());
    assert!(!h.path().join("up.env").exists());

    // A key that cannot be loaded: the picker says why instead of offering formats.
    t.send(&["/", "C-u"]);
    t.type_text("broken");
    t.send(&["Enter", "e"]);
    let screen = t.wait_for("Cannot export broken-agent", 10);
    assert!(screen.contains("cannot be loaded"), "{screen}");
    assert!(!screen.contains("Docker Compose"), "{screen}");
    assert!(!screen.contains("Enter copies"), "{screen}");
    t.send(&["Escape"]);

    // f gives the real reason: the private key is malformed.
    t.send(&["f"]);
    t.wait_for("Nothing fixed for broken-agent: malformed-key", 10);
    // Nor is there anything to push: p says why instead of opening a form.
    t.send(&["p"]);
    t.wait_for(
        "Cannot push broken-agent: its private key cannot be loaded",
        5,
    );
    quit(&t, &h);
}

/// Registry world: a dev registry with an API key, and agents registered with it.

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn badges_renew_by_hand_and_automatically() {
    if !enabled() {
        return;
    }
    // New badges outlast agent-a's hour: a renewal never replaces a valid badge with
    // one that runs out sooner (see tests/attack_fixes_f1.rs).
    let w = World {
        home: Home::new(),
        reg: DevReg::start(&["--api-key", KEY, "--badge-ttl", "7200"]),
        key: KEY,
    };
    let a = w.agent(1, "agent-a");
    let b = w.agent(2, "agent-b");
    let now = now();
    w.dev_badge(&a, now - 10, now + 3600);
    // Under a fifth of its lifetime left: expiring.
    w.dev_badge(&b, now - 3000, now + 60);
    let before_a = w.badge(&a);
    let before_b = w.badge(&b);
    let env = format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", w.reg.url);
    let t = launch(&w.home, "badges", (120, 32), &env);
    t.wait_for("agent-b", 10);

    // b on agent-a requests a new badge and stores it.
    t.send(&["/"]);
    t.type_text("agent-a");
    t.send(&["Enter", "b"]);
    t.wait_for("New badge for agent-a", 15);
    let after_a = w.badge(&a);
    assert_ne!(after_a.jti, before_a.jti, "a new badge on disk");
    t.send(&["Escape"]);
    assert_eq!(w.badge(&b).jti, before_b.jti, "agent-b untouched so far");

    // Auto-renew (opt-in) renews agent-b's expiring badge while the UI is open, once.
    t.send(&["a"]);
    t.wait_for("auto-renew on", 5);
    t.wait_for("Auto-renewed for agent-b", 15);
    let after_b = w.badge(&b);
    assert_ne!(after_b.jti, before_b.jti);
    assert!(after_b.exp > before_b.exp, "the renewed badge lasts longer");
    assert_eq!(w.badge(&a).jti, after_a.jti, "a fresh badge is not renewed");
    t.send(&["L"]);
    let screen = t.wait_for("Messages this session", 5);
    assert!(screen.contains("Auto-renewed for agent-b"), "{screen}");
    t.send(&["Escape"]);
    quit(&t, &w.home);
}

/// The wizard's Ctrl-N is the CLI's `--new-agent`: the registry keeps the old key for
/// the agent, so the rotation gives the new key its own agent record and the identity
/// moves to that id.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_wizard_moves_to_a_new_registry_agent() {
    if !enabled() {
        return;
    }
    let w = World::start(KEY);
    let c = w.agent(3, "agent-c");
    let env = format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", w.reg.url);
    let t = launch(&w.home, "newagent", (120, 32), &env);
    t.wait_for("agent-c", 10);
    t.send(&["R"]);
    t.wait_for("Type the name agent-c or the id", 15);
    t.send(&["C-n"]);
    t.wait_for("new registry agent: [x]", 5);
    t.wait_for("Type the name agent-c or the id", 15);
    t.type_text("agent-c");
    t.send(&["Enter"]);
    t.wait_for("Register the new key with the registry", 20);
    let list = w.home.list_json(&w.env());
    assert!(
        list.iter().all(|v| v["id"] != c.as_str()),
        "the identity left its old id: {list:#?}"
    );
    let moved = list
        .iter()
        .find(|v| v["name"] == "agent-c")
        .unwrap_or_else(|| panic!("agent-c missing: {list:#?}"));
    let new_id = moved["id"].as_str().unwrap();
    let (code, agents) = w.reg.call("GET", "/v1/sdk/agents", None, Some(KEY));
    assert_eq!(code, 200, "{agents}");
    assert!(
        agents.to_string().contains(new_id),
        "the registry has a record for {new_id}: {agents}"
    );
    t.send(&["Escape"]);
    quit(&t, &w.home);
}

/// The log wraps long messages and still ends with the newest one, at 80×24 too.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_log_always_reaches_its_newest_message() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let name = "an-agent-whose-name-is-long-enough-to-wrap-every-message-it-appears-in";
    h.generate_agent(BILLING, name);
    let t = launch(&h, "log-wrap", (80, 24), "");
    t.wait_for("an-agent-whose", 10);
    for _ in 0..25 {
        t.send(&["f"]);
    }
    t.wait_for("Nothing to fix", 10);
    t.send(&["s"]);
    t.wait_for("Sorted by name", 5);
    t.send(&["L"]);
    let screen = t.wait_for("Messages this session", 5);
    assert!(screen.contains("Sorted by name"), "{screen}");
    // Scrolled all the way up and back down with the keys, the newest is there again.
    t.send(&["g"]);
    t.send(&["G"]);
    t.wait_for("Sorted by name", 5);
    t.send(&["Escape"]);
    quit(&t, &h);
}

/// The new-identity dialog shows the whole of a long error, indented under itself.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_new_identity_dialog_shows_a_long_error_whole() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent("taken-id", "taken");
    let t = launch(&h, "gen-error", (80, 24), "");
    t.wait_for("taken", 10);
    t.send(&["n"]);
    t.wait_for("New identity", 5);
    t.send(&["Tab"]);
    t.type_text("taken-id");
    t.send(&["Enter"]);
    let screen = t.wait_for("refusing to overwrite a key", 10);
    // Its continuation rows are indented like its first (not back at the border).
    let row = screen
        .lines()
        .find(|l| l.contains("overwrite a key"))
        .unwrap();
    let inside = row.split('│').nth(2).unwrap_or("");
    assert!(
        inside.starts_with("  ") && !inside.starts_with("   "),
        "{screen}"
    );
    t.send(&["Escape"]);
    quit(&t, &h);
}

/// On an empty home, the keys that act on an identity say there is none.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn identity_keys_on_an_empty_home_say_there_is_none() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let t = launch(&h, "empty", (80, 24), "");
    t.wait_for("No identities yet", 10);
    for key in ["c", "e", "R", "v", "f", "b", "u", "E"] {
        t.send(&["Escape"]);
        t.send(&[key]);
        t.wait_for("No identity yet — n creates one", 5);
    }
    quit(&t, &h);
}

/// A rotation whose register step the registry refused (409) is finished on a new registry
/// agent from the resume prompt: Ctrl-N, then Enter (the CLI's `--resume --new-agent`).
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_refused_register_step_resumes_on_a_new_registry_agent() {
    if !enabled() {
        return;
    }
    let w = World::start(KEY);
    let d = w.agent(4, "agent-d");
    w.reg
        .fault(json!({"path_prefix": format!("/v1/sdk/agents/{d}/identity"), "status": 409}));
    let out = w.home.run_env(&["rotate", &d, "--yes"], &w.env());
    assert!(
        stdout(&out).contains("409") || stderr(&out).contains("409"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    w.reg.clear_faults();
    let env = format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", w.reg.url);
    let t = launch(&w.home, "resume-new", (120, 32), &env);
    t.wait_for("agent-d", 10);
    t.send(&["R"]);
    t.wait_for("Enter resumes it", 15);
    t.send(&["C-n"]);
    let screen = t.wait_for("new registry agent: [x]", 5);
    assert!(
        screen.contains("An earlier rotation of agent-d"),
        "{screen}"
    );
    t.send(&["Enter"]);
    // The resume prompt already lists the steps: wait for the walkthrough's own end.
    t.wait_for("Esc close", 20);
    let moved = |w: &World| {
        w.home
            .list_json(&w.env())
            .iter()
            .all(|v| v["id"] != d.as_str())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !moved(&w) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        moved(&w),
        "the identity left its old id: {:#?}",
        w.home.list_json(&w.env())
    );
    t.send(&["Escape"]);
    quit(&t, &w.home);
}
