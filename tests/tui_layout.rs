//! The main screen's layout in the real binary under tmux: clicks hit the identity under
//! the pointer (after scrolling, and with setup notes above the list), the details pane
//! scrolls to its Problems at 80×24, the header keeps its counts, a long message never
//! covers the footer, and "need attention" is the same number in `list` and the UI.
//! Needs tmux; CI sets CAPISCIO_TUI_TEST_TUI=1.

mod support;

use std::path::Path;
use support::tmux_enabled as enabled;
use support::*;

/// The UI in a `w`×`h` tmux pane, HOME at `home` (the mouse is on by default).
fn launch_at(home: &Path, name: &str, w: u16, h: u16, extra_env: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = home.display();
    let cmd = format!(
        "cd '{dir}'; env -u DISPLAY -u WAYLAND_DISPLAY HOME='{dir}' TERM=xterm-256color {extra_env} {bin} 2>'{dir}/stderr.txt'; sleep 30"
    );
    Tmux::start(name, w, h, &cmd)
}

fn generate(home: &Path, args: &[&str], env: &[(&str, &str)]) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_capiscio-tui"));
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(home)
        .arg("generate")
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "generate failed: {}", stderr(&out));
}

/// `n` agents named agent-00 … with UUID ids (no problems: the order is by name).
fn seed_agents(h: &Home, n: usize, env: &[(&str, &str)]) {
    for k in 0..n {
        let id = format!("{k:08}-0000-4000-8000-000000000000");
        let name = format!("agent-{k:02}");
        generate(
            h.path(),
            &["--kind", "agent", "--id", &id, "--name", &name],
            env,
        );
    }
}

/// A left click at a 0-based screen cell, as an xterm SGR mouse report (1-based).
fn click(t: &Tmux, col: usize, row: usize) {
    t.type_text(&format!("\x1b[<0;{};{}M", col + 1, row + 1));
    t.type_text(&format!("\x1b[<0;{};{}m", col + 1, row + 1));
}

/// A wheel notch down at a 0-based screen cell.
fn wheel_down(t: &Tmux, col: usize, row: usize) {
    t.type_text(&format!("\x1b[<65;{};{}M", col + 1, row + 1));
}

/// The screen row of the list line showing `name` (not the details pane's title).
fn row_of(screen: &str, name: &str) -> usize {
    screen
        .lines()
        .position(|l| l.starts_with('│') && l.split('│').nth(1).is_some_and(|c| c.contains(name)))
        .unwrap_or_else(|| panic!("{name} is not in the list:\n{screen}"))
}

fn details_title(screen: &str) -> String {
    // The second box's title, on the first border line (below any setup notes).
    let line = screen
        .lines()
        .find(|l| l.starts_with('┌'))
        .unwrap_or_default();
    line.split('┐').nth(1).unwrap_or_default().to_string()
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_click_after_scrolling_selects_the_identity_under_the_pointer() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agents(&h, 40, &[]);
    let t = launch_at(h.path(), "scrolled", 80, 24, "");
    t.wait_for("agent-00", 10);
    // End scrolls the list: the first rows are gone, the last one is highlighted.
    t.send(&["End"]);
    let screen = t.wait_for("▶ ● agent-39", 5);
    assert!(
        !screen.contains("agent-00"),
        "the list did not scroll:\n{screen}"
    );
    assert!(details_title(&screen).contains("agent-39"), "{screen}");
    // Click the row showing agent-30: exactly that identity is selected.
    let row = row_of(&screen, "agent-30");
    click(&t, 8, row);
    let screen = t.wait_for("▶ ● agent-30", 5);
    assert!(details_title(&screen).contains("agent-30"), "{screen}");
    assert!(
        screen.contains("00000030-0000-4000-800"),
        "the details show agent-30's id:\n{screen}"
    );
    // The wheel over the list moves the highlight.
    wheel_down(&t, 8, row);
    let screen = t.wait_for("▶ ● agent-31", 5);
    assert!(details_title(&screen).contains("agent-31"), "{screen}");
    // Back at the top (the list scrolls up again), a click still hits its row.
    t.send(&["Home"]);
    let screen = t.wait_for("▶ ● agent-00", 5);
    let row = row_of(&screen, "agent-05");
    click(&t, 8, row);
    let screen = t.wait_for("▶ ● agent-05", 5);
    assert!(details_title(&screen).contains("agent-05"), "{screen}");
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_click_with_setup_notes_above_the_list_hits_the_right_row() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    // `~` in CAPISCIO_KEY_DIR is a setup note: one line between the header and the list.
    let env = [("CAPISCIO_KEY_DIR", "~/keys")];
    seed_agents(&h, 6, &env);
    let t = launch_at(h.path(), "notes", 80, 24, "CAPISCIO_KEY_DIR='~/keys'");
    let screen = t.wait_for("tilde-in-key-dir", 10);
    assert!(screen.contains("agent-05"), "{screen}");
    for name in ["agent-03", "agent-01", "agent-04"] {
        let row = row_of(&screen, name);
        click(&t, 10, row);
        let now = t.wait_for(&format!("▶ ● {name}"), 5);
        assert!(details_title(&now).contains(name), "{now}");
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_details_pane_scrolls_to_the_problems_at_80x24() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    // An agent with many problems: open modes, a wrong kid, no public.jwk, a non-UUID id.
    let dir = h.agent_dir("many-problems-agent");
    write(
        &dir.join("private.jwk"),
        private_jwk(D1, X1, "did:key:not-this-key"),
        0o644,
    );
    chmod(&dir, 0o755);
    let listed = h.list_json(&[]);
    let problems = listed[0]["problems"].as_array().unwrap();
    assert!(problems.len() >= 4, "{problems:#?}");
    let last = problems.last().unwrap();
    let last_text = format!("{}:", last["code"].as_str().unwrap());
    let last_fix = last["fix"].as_str().unwrap().split(' ').next().unwrap();

    let t = launch_at(h.path(), "details", 80, 24, "");
    let screen = t.wait_for("many-problems", 10);
    assert!(
        !screen.contains(&last_text),
        "the last problem should start off-screen at 80×24:\n{screen}"
    );
    assert!(screen.contains("↓ more"), "{screen}");
    // Tab focuses the details; End scrolls to their end.
    t.send(&["Tab", "End"]);
    let screen = t.wait_for(&last_text, 5);
    assert!(screen.contains(&format!("fix: {last_fix}")), "{screen}");
    assert_no_secrets(&screen);
    // Home scrolls back; the wheel over the details scrolls them too.
    t.send(&["Home"]);
    let screen = t.wait_for("Fingerprint", 5);
    assert!(!screen.contains(&last_text), "{screen}");
    for _ in 0..10 {
        wheel_down(&t, 60, 10);
    }
    t.wait_for(&last_text, 5);
    // Continuation lines of a wrapped value hang under it, not at the pane's edge:
    // every details line starts with a key, a glyph, a space or a border.
    let screen = t.capture();
    for line in screen.lines().skip(2).take(20) {
        let pane: String = line.chars().skip(45).collect();
        let first = pane.chars().next().unwrap_or(' ');
        assert!(
            first == ' ' || first == '✖' || first == '▲' || first.is_ascii_uppercase(),
            "a wrapped line starts at column 0 of the pane: {line:?}\n{screen}"
        );
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_header_keeps_its_counts_at_140_and_80_columns() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    // A long home path: the old header lost its counts to it.
    let home = h
        .path()
        .join("home-directory-with-a-long-name-0123456789")
        .join("and-another-rather-long-segment-abcdefghij");
    std::fs::create_dir_all(&home).unwrap();
    generate(&home, &["--kind", "agent", "--id", "warn-agent"], &[]);
    generate(&home, &["--kind", "mcp-server", "--id", "files-mcp"], &[]);
    for (w, name) in [(140u16, "wide"), (80, "narrow")] {
        let t = launch_at(&home, name, w, 24, "");
        let screen = t.wait_for("need attention", 10);
        let header = screen.lines().next().unwrap();
        assert!(
            header
                .trim_end()
                .ends_with("2 identities ─ 1 need attention"),
            "at {w} columns the header lost its counts: {header:?}"
        );
        assert!(
            header.contains("…"),
            "the elided part is marked: {header:?}"
        );
        if w == 140 {
            assert!(header.contains("capiscio-tui ─ "), "{header:?}");
            assert!(header.contains("registry: not configured"), "{header:?}");
        }
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_long_message_is_cut_and_never_covers_the_footer() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let name = "an-agent-with-a-remarkably-long-name-that-makes-the-message-long";
    generate(
        h.path(),
        &[
            "--kind",
            "agent",
            "--id",
            "11111111-1111-4111-8111-111111111111",
            "--name",
            name,
        ],
        &[],
    );
    let t = launch_at(h.path(), "toast", 80, 24, "");
    let screen = t.wait_for("an-agent-wit", 10);
    // Names cut at 80 columns end with an ellipsis.
    let row = row_of(&screen, "an-agent-wit");
    assert!(screen.lines().nth(row).unwrap().contains('…'), "{screen}");
    // `f` on a healthy identity: a long "nothing to fix" message.
    t.send(&["f"]);
    let screen = t.wait_for("Nothing to fix for an-agent", 10);
    let footer = screen.lines().nth(23).unwrap();
    assert!(
        footer.contains("? help  q quit"),
        "footer covered: {footer:?}"
    );
    assert!(
        footer.trim_end().ends_with("… (L: all of it)"),
        "not cut, or no pointer to the log: {footer:?}"
    );
    assert!(
        footer.chars().count() <= 80,
        "the message ran past the screen: {footer:?}"
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn need_attention_agrees_between_list_and_the_ui_for_a_warning_alone() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    // A non-UUID id: the SDK's discovery skips it — a warning, and the only problem.
    generate(h.path(), &["--kind", "agent", "--id", "warn-agent"], &[]);
    let listed = h.list_json(&[]);
    assert_eq!(codes(&listed[0]), ["not-discoverable"]);
    assert_eq!(listed[0]["problems"][0]["severity"], "warning");
    let list = stdout(&h.run(&["list"]));
    assert!(list.contains("1 identity · 1 need attention"), "{list}");
    let t = launch_at(h.path(), "attention", 120, 30, "");
    let screen = t.wait_for("need attention", 10);
    let header = screen.lines().next().unwrap();
    assert!(header.contains("1 identity ─ 1 need attention"), "{header}");
}

/// The CLI side of the same rule (no tmux needed): one warning is "1 need attention" in
/// `list`, `status`, `doctor` and `doctor --json`, and one identity is never "1 identities".
#[test]
fn need_attention_and_identity_counts_in_the_cli() {
    let h = Home::new();
    generate(h.path(), &["--kind", "agent", "--id", "warn-agent"], &[]);
    let list = stdout(&h.run(&["list"]));
    assert!(list.contains("\n1 identity · 1 need attention"), "{list}");
    let status = stdout(&h.run_env(
        &["status"],
        &[("CAPISCIO_SERVER_URL", "http://127.0.0.1:9")],
    ));
    assert!(status.contains("1 identity · 1 need attention"), "{status}");
    let doctor = stdout(&h.run(&["doctor"]));
    assert!(
        doctor.contains("0 error(s), 1 warning(s) in 1 identity · 1 need attention."),
        "{doctor}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&h.run(&["doctor", "--json"]).stdout).unwrap();
    assert_eq!(json["attention"], 1, "{json:#}");
    for text in [&list, &status, &doctor] {
        assert!(!text.contains("1 identities"), "{text}");
    }
    // Healthy: singular, and nothing needs attention.
    std::fs::remove_dir_all(h.agent_dir("warn-agent")).unwrap();
    generate(
        h.path(),
        &[
            "--kind",
            "agent",
            "--id",
            "11111111-1111-4111-8111-111111111111",
        ],
        &[],
    );
    let doctor = stdout(&h.run(&["doctor"]));
    assert!(doctor.contains("✔ No problems in 1 identity."), "{doctor}");
    let list = stdout(&h.run(&["list"]));
    assert!(list.contains("\n1 identity · 0 need attention"), "{list}");
}

const REG_KEY: &str = "sk_test_0123456789abcdefSECRET";

/// A registered disk agent with a badge from the development registry; returns the jti.
fn badged_agent(h: &Home, reg: &DevReg, n: u8, name: &str) -> (String, String) {
    let id = format!("{n:02x}{n:02x}{n:02x}{n:02x}-0000-4000-8000-0000000000{n:02x}");
    let key = capiscio_tui::core::key::KeyPair::from_seed(&[n; 32]);
    capiscio_tui::store::disk::write_agent(
        &h.agent_dir(&id),
        &key,
        Some(&format!(r#"{{"name":"{name}"}}"#)),
    )
    .unwrap();
    let (code, _) = reg.post(
        "/v1/sdk/agents",
        &serde_json::json!({"id": id, "name": name, "status": "active"}).to_string(),
        Some(REG_KEY),
    );
    assert_eq!(code, 201);
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", REG_KEY),
    ];
    let out = h.run_env(&["register", &id], &env);
    assert!(out.status.success(), "register: {}", stderr(&out));
    let out = h.run_env(&["badge", "request", &id, "--json"], &env);
    assert!(out.status.success(), "badge request: {}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (id, v["jti"].as_str().unwrap().to_string())
}

/// A revoked or disabled badge is over, whatever its expiry says: `list` and the UI show
/// the state without a countdown (a valid badge keeps its countdown).
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn revoked_and_disabled_badges_show_no_countdown() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", REG_KEY]);
    let (_valid, _) = badged_agent(&h, &reg, 1, "valid-agent");
    let (_revoked, jti) = badged_agent(&h, &reg, 2, "revoked-agent");
    assert_eq!(
        reg.post(&format!("/v1/badges/{jti}/revoke"), "{}", Some(REG_KEY))
            .0,
        200
    );
    let (disabled, _) = badged_agent(&h, &reg, 3, "disabled-agent");
    assert_eq!(
        reg.post(
            &format!("/v1/agents/{disabled}/disable"),
            r#"{"reason":"test"}"#,
            Some(REG_KEY)
        )
        .0,
        200
    );
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", REG_KEY),
    ];
    let list = stdout(&h.run_env(&["list"], &env));
    let line = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{list}"))
            .to_string()
    };
    // The word after the state is the next column (the registry's), not a countdown.
    let after = |name: &str, state: &str| -> String {
        let l = line(name);
        let words: Vec<&str> = l.split_whitespace().collect();
        let at = words
            .iter()
            .position(|w| *w == state)
            .unwrap_or_else(|| panic!("{l}"));
        words.get(at + 1).copied().unwrap_or_default().to_string()
    };
    assert_eq!(after("revoked-agent", "revoked"), "active", "{list}");
    assert_eq!(
        after("disabled-agent", "agent-disabled"),
        "disabled",
        "{list}"
    );
    assert!(
        after("valid-agent", "valid").starts_with(|c: char| c.is_ascii_digit()),
        "a valid badge counts down: {list}"
    );
    let show = stdout(&h.run_env(&["show", "revoked-agent"], &env));
    assert!(!show.contains("expires in"), "{show}");
    assert!(show.contains("exp claim"), "{show}");

    let t = launch_at(
        h.path(),
        "ended",
        120,
        40,
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={REG_KEY}", reg.url),
    );
    let screen = t.wait_for("✖ revoked", 15);
    t.wait_for("✖ agent-disabled", 5);
    assert!(
        screen.contains("✔ 4m") || screen.contains("✔ 5m"),
        "{screen}"
    );
    // The details of the revoked badge: its state, no "expires in" countdown.
    let row = row_of(&screen, "revoked-agent");
    click(&t, 8, row);
    let screen = t.wait_for("▶ ✖ revoked-agent", 5);
    assert!(screen.contains("✖ revoked"), "{screen}");
    assert!(!screen.contains("expires in"), "{screen}");
    assert!(screen.contains("exp claim"), "{screen}");
}
