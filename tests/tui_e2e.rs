//! The real binary in a pseudo-terminal (tmux): open, filter, details, generate, rotate
//! through the wizard, export and copy (OSC 52), quit — and the terminal is restored
//! after a quit and after a panic. Needs tmux; CI sets CAPISCIO_TUI_TEST_TUI=1.

mod support;

use support::tmux_enabled as enabled;
use support::*;

fn launch(h: &Home, name: &str, extra_env: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    // After the UI exits, record the terminal mode so the test can see it was restored.
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {extra_env} {bin} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; stty -a > {dir}/stty.txt; sleep 30"
    );
    Tmux::start(name, 120, 32, &cmd)
}

fn seed(h: &Home) {
    h.generate_agent("11111111-1111-4111-8111-111111111111", "billing-agent");
    h.generate_server("files-mcp");
}

fn assert_restored(h: &Home) {
    let stty = wait_file(&h.path().join("stty.txt"), 10);
    let flags: Vec<&str> = stty
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    assert!(
        flags.contains(&"icanon") && flags.contains(&"echo"),
        "terminal left in raw mode:\n{stty}"
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_session_from_open_to_quit() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed(&h);
    let t = launch(&h, "session", "");
    t.wait_for("billing-agent", 10);
    t.wait_for("files-mcp", 2);

    // filter
    t.send(&["/"]);
    t.type_text("files");
    let screen = t.wait_for("[/ files", 5);
    assert!(!screen.contains("▶ ● billing-agent"), "{screen}");
    t.send(&["Enter", "Escape"]);

    // details
    t.send(&["Home", "Enter"]);
    t.wait_for("Fingerprint", 5);

    // generate through the dialog
    t.send(&["n"]);
    t.wait_for("New identity", 5);
    t.send(&["Tab"]);
    t.type_text("tmux-agent");
    t.send(&["Enter"]);
    t.wait_for("Created agent tmux-agent", 10);
    assert!(h.agent_dir("tmux-agent").join("private.jwk").exists());

    // rotate it through the wizard
    t.send(&["/"]);
    t.type_text("tmux-agent");
    t.send(&["Enter"]);
    t.send(&["R"]);
    t.wait_for("Type the id tmux-agent to continue", 10);
    t.type_text("tmux-agent");
    t.send(&["Enter"]);
    t.wait_for("Archive the old key and generate the new one", 15);
    let screen = t.capture();
    assert!(screen.contains("done"), "{screen}");
    assert_eq!(
        capiscio_tui::store::rotate::list_archive(
            &h.agent_dir("tmux-agent"),
            capiscio_tui::core::identity::Kind::Agent
        )
        .len(),
        1
    );
    // Enter at the end of the walkthrough goes to the capture step: the export picker.
    t.send(&["Enter"]);

    // export and copy: no display here, so OSC 52 into tmux's buffer
    t.wait_for("↑↓ choose", 5);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    let masked = t.capture();
    assert_no_secrets(&masked);
    t.send(&["Enter"]);
    t.wait_for("sent to terminal", 5);
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    let expected = stdout(&h.run(&["export", "tmux-agent", "--format", "env"]));
    assert_eq!(buffer, expected, "OSC 52 carried the exact env line");

    // help, then quit
    t.send(&["?"]);
    t.wait_for("┌ Keys — ", 5);
    t.send(&["Escape", "q"]);
    assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
    assert_restored(&h);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn too_small_then_resized() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed(&h);
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let t = Tmux::start(
        "small",
        70,
        20,
        &format!("env -u DISPLAY HOME={dir} TERM=xterm-256color {bin}; sleep 30"),
    );
    t.wait_for("Terminal too small", 10);
    // Keys do nothing unseen while the screen is too small: n then Enter creates nothing.
    t.send(&["n", "Enter", "j"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(h.list_json(&[]).len(), 2, "nothing was created");
    t.tmux(&["resize-window", "-t", "main", "-x", "100", "-y", "30"]);
    let screen = t.wait_for("billing-agent", 10);
    assert!(!screen.contains("New identity"), "{screen}");
    t.send(&["q"]);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_panic_restores_the_terminal() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed(&h);
    let _t = launch(&h, "panic", "CAPISCIO_TUI_TEST_PANIC=1");
    let code = wait_file(&h.path().join("exit.txt"), 10);
    assert_ne!(code.trim(), "exit=0");
    assert_restored(&h);
    assert!(
        std::fs::read_to_string(h.path().join("stderr.txt"))
            .unwrap()
            .contains("forced panic")
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn registry_status_streams_in_from_the_development_registry() {
    if !enabled() {
        return;
    }
    const KEY: &str = "sk_test_tui_e2e";
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    let id = "11111111-1111-4111-8111-111111111111";
    assert!(
        h.run(&[
            "generate",
            "--kind",
            "agent",
            "--id",
            id,
            "--name",
            "billing-agent"
        ])
        .status
        .success()
    );
    reg.post(
        "/v1/sdk/agents",
        &format!(r#"{{"id":"{id}","name":"billing-agent","status":"active"}}"#),
        Some(KEY),
    );
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    assert!(h.run_env(&["register", id], &env).status.success());
    assert!(h.run_env(&["badge", "request", id], &env).status.success());
    // Slow the registry down so the spinner is visible before the answer arrives.
    reg.fault(serde_json::json!({"path_prefix": "/v1/sdk/agents", "delay_ms": 1500, "times": 1}));
    let t = launch(
        &h,
        "registry",
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
    );
    t.wait_for("asking the registry", 5);
    let screen = t.wait_for("✔ 4m", 10);
    assert!(screen.contains("registry:"), "{screen}");
    assert_no_secrets(&screen);
    assert!(!screen.contains(KEY), "the API key is never shown");
    t.send(&["Enter"]);
    t.wait_for("Registry", 5);
    t.send(&["q"]);
    assert_restored(&h);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn f_repairs_the_selected_identity() {
    if !enabled() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let h = Home::new();
    seed(&h);
    let dir = h.agent_dir("11111111-1111-4111-8111-111111111111");
    std::fs::set_permissions(
        dir.join("private.jwk"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::remove_file(dir.join("public.jwk")).unwrap();
    let t = launch(&h, "fix", "");
    // Attention first: the broken agent is the selected row.
    t.wait_for("missing-public-jwk", 10);
    t.send(&["f"]);
    let screen = t.wait_for("Fixed billing-agent", 10);
    assert!(screen.contains("chmod 600"), "{screen}");
    let mode = std::fs::metadata(dir.join("private.jwk"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(dir.join("public.jwk").exists());
    // The reload shows it healthy.
    for _ in 0..50 {
        if !t.capture().contains("missing-public-jwk") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !t.capture().contains("missing-public-jwk"),
        "{}",
        t.capture()
    );
    t.send(&["q"]);
    assert_restored(&h);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn export_copy_from_the_cli_sends_osc52_intact() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed(&h);
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    // No display: the CLI falls back to OSC 52 on its terminal (tmux's pane).
    let t = Tmux::start(
        "osc52",
        120,
        32,
        &format!(
            "env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {bin} export files-mcp --format env --copy; sleep 30"
        ),
    );
    t.wait_for("Sent env for", 10);
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    let expected = stdout(&h.run(&["export", "files-mcp", "--format", "env"]));
    assert_eq!(buffer, expected, "OSC 52 carried the exact env line");
}

/// `s` reorders the list on screen (problems first → name → badge expiry), and `v`-style
/// actions keep working on the identity that was highlighted before the reorder.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn s_reorders_the_list_and_the_highlight_stays() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    for (n, name) in ["zeta-agent", "alpha-agent", "mid-agent"]
        .iter()
        .enumerate()
    {
        let id = format!("{n}1111111-1111-4111-8111-111111111111");
        assert!(
            h.run(&["generate", "--kind", "agent", "--name", name, "--id", &id])
                .status
                .success()
        );
    }
    // zeta has a problem, so "problems first" puts it on top.
    std::fs::remove_file(
        h.agent_dir("01111111-1111-4111-8111-111111111111")
            .join("public.jwk"),
    )
    .unwrap();
    let t = launch(&h, "sort", "");
    t.wait_for("mid-agent", 10);
    let names = ["zeta-agent", "alpha-agent", "mid-agent"];
    let order = |screen: &str| row_order(screen, &names);
    let screen = t.capture();
    assert_eq!(
        order(&screen),
        ["zeta-agent", "alpha-agent", "mid-agent"],
        "{screen}"
    );
    // Highlight mid-agent (third row), then sort by name.
    t.send(&["j", "j"]);
    t.send(&["s"]);
    let screen = t.wait_for("Sorted by name", 10);
    assert_eq!(
        order(&screen),
        ["alpha-agent", "mid-agent", "zeta-agent"],
        "{screen}"
    );
    // The details pane still shows the identity that was highlighted.
    assert!(
        screen.contains("21111111-1111-4111-8111-111111111111"),
        "the highlight moved away from mid-agent:\n{screen}"
    );
    t.send(&["q"]);
    assert_restored(&h);
}

/// After `n` creates an identity, the highlight is on it (not on whatever row number was
/// highlighted before), so the "press c to capture it" hint copies the new key.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn n_then_c_captures_the_new_identity() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed(&h);
    let t = launch(&h, "follow", "");
    t.wait_for("files-mcp", 10);
    // Highlight the last row (files-mcp); the new agent will push it down by one.
    t.send(&["End"]);
    t.wait_for("┌ files-mcp", 5);
    t.send(&["n"]);
    t.wait_for("New identity", 5);
    t.send(&["Tab"]);
    t.type_text("aaa-new-agent");
    t.send(&["Enter"]);
    t.wait_for("Created agent aaa-new-agent", 10);
    // The reload lists it; the highlight (the details pane's title) must be on it.
    t.wait_for("┌ aaa-new-agent", 10);
    t.send(&["c"]);
    t.wait_for("↑↓ choose", 5);
    let screen = t.capture();
    assert!(
        screen.contains("Export aaa-new-agent"),
        "the picker is for another identity:\n{screen}"
    );
    t.send(&["Escape", "q"]);
    assert_restored(&h);
}

/// Esc backs out but never ends the session (q does); the header counts "1 identity".
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn esc_never_quits_and_one_identity_is_singular() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "solo-mcp"])
            .status
            .success()
    );
    let t = launch(&h, "esc", "");
    let screen = t.wait_for("solo-mcp", 10);
    assert!(screen.contains("─ 1 identity ─"), "{screen}");
    t.send(&["Escape", "Escape"]);
    t.wait_for("q quits", 5);
    assert!(!h.path().join("exit.txt").exists(), "Esc ended the session");
    t.send(&["q"]);
    assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
    assert_restored(&h);
}
