//! The UI tells the truth while it stays open, in the real binary under tmux: its clock
//! runs (a badge expires on screen), registry answers fill rows in one by one, a reload
//! keeps what the registry said, identities other processes create appear without `r`,
//! and an OSC 52 copy is cleared at its deadline with a countdown on the way. Needs tmux;
//! CI sets CAPISCIO_TUI_TEST_TUI=1.

mod support;

use std::time::{Duration, Instant};
use support::tmux_enabled as enabled;
use support::*;

/// The UI on `h` in a 120×32 pane, no display (so copies go over OSC 52).
fn launch(h: &Home, name: &str, env: &str, args: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {env} {bin} {args} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; sleep 30"
    );
    Tmux::start(name, 120, 32, &cmd)
}

fn quit(t: &Tmux, h: &Home) {
    t.send(&["q"]);
    assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
}

/// Polls the screen until `ok` holds; panics with the last screen otherwise.
fn wait_until(t: &Tmux, secs: u64, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let screen = t.capture();
        if ok(&screen) {
            return screen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn seed1() -> [u8; 32] {
    let v: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&SEED1_HEX[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

/// The badge column of the list pane (left of the details pane) for `name`'s row.
fn row<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.chars().take(60).collect::<String>().contains(name))
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// The list pane: 55 % of the 120 columns.
fn left_pane(line: &str) -> String {
    line.chars().take(66).collect()
}

/// A self-signed badge seeded to expire (past the 60 s clock-skew allowance) a few seconds
/// after launch turns from ⚠ to ✖ on screen, and the header's attention count follows —
/// nothing pressed.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_badge_expires_while_the_ui_is_open() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let id = "11111111-1111-4111-8111-111111111111";
    let dir = seed_agent(&h, id, D1, X1, DID1);
    write(
        &dir.join("agent-card.json"),
        r#"{"name":"clock-agent"}"#,
        0o644,
    );
    // Expired by the clock 45 s ago, inside the 60 s skew allowance for 15 s more.
    let now = now();
    let payload = format!(
        r#"{{"jti":"550e8400-e29b-41d4-a716-446655440000","iss":"{DID1}","sub":"{DID1}","iat":{},"exp":{},"ial":"0","vc":{{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{{"level":"0"}}}}}}"#,
        now - 3600,
        now - 45
    );
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed1(), &payload),
        0o600,
    );
    let listed = h.list_json(&[]);
    assert_eq!(
        find(&listed, id)["badge"]["state"],
        "expiring",
        "seeded inside the skew allowance"
    );
    let t = launch(&h, "clock", "", "");
    let screen = t.wait_for("clock-agent", 10);
    assert!(screen.contains("─ 0 need attention"), "{screen}");
    assert!(
        row(&screen, "clock-agent").is_some_and(|l| l.contains("⚠ exp")),
        "{screen}"
    );
    // The clock runs: within the next ~15 s the badge is expired, with no key pressed.
    let screen = t.wait_for("─ 1 need attention", 30);
    assert!(
        row(&screen, "clock-agent").is_some_and(|l| l.contains("✖ exp")),
        "{screen}"
    );
    assert!(screen.contains("expired"), "the details say why:\n{screen}");
    quit(&t, &h);
}

/// A badge whose window opens while the UI is open (issued a little in the future, beyond
/// the skew allowance) turns from ✖ not-yet-valid to ✔ valid without a key pressed.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_badge_becomes_valid_while_the_ui_is_open() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let id = "11111111-1111-4111-8111-111111111111";
    let dir = seed_agent(&h, id, D1, X1, DID1);
    write(
        &dir.join("agent-card.json"),
        r#"{"name":"early-agent"}"#,
        0o644,
    );
    let now = now();
    let payload = format!(
        r#"{{"jti":"550e8400-e29b-41d4-a716-446655440001","iss":"{DID1}","sub":"{DID1}","iat":{},"exp":{},"ial":"0","vc":{{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{{"level":"0"}}}}}}"#,
        now + 70,
        now + 7200
    );
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed1(), &payload),
        0o600,
    );
    let t = launch(&h, "early", "", "");
    let screen = t.wait_for("early-agent", 10);
    assert!(
        row(&screen, "early-agent").is_some_and(|l| l.contains("✖ not-yet-valid")),
        "{screen}"
    );
    let screen = wait_until(&t, 30, "the badge to become valid", |s| {
        row(s, "early-agent").is_some_and(|l| l.contains("✔"))
    });
    assert!(screen.contains("─ 0 need attention"), "{screen}");
    quit(&t, &h);
}

/// With `--concurrency 1` and a registry that takes 1.5 s per answer, the screen shows
/// some rows answered while others still wait — answers are not held back to the end.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn registry_rows_fill_in_one_by_one() {
    if !enabled() {
        return;
    }
    const KEY: &str = "sk_test_tui_live";
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    let names = ["one-agent", "two-agent", "three-agent"];
    for (n, name) in names.iter().enumerate() {
        let id = format!("{n}1111111-1111-4111-8111-111111111111");
        assert!(
            h.run(&["generate", "--kind", "agent", "--name", name, "--id", &id])
                .status
                .success()
        );
    }
    reg.fault(serde_json::json!({"path_prefix": "/v1/sdk/agents", "delay_ms": 1500}));
    let t = launch(
        &h,
        "stream",
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
        "--concurrency 1",
    );
    let counts = |screen: &str| {
        let rows: Vec<String> = names
            .iter()
            .filter_map(|n| row(screen, n).map(left_pane))
            .collect();
        let pending = rows
            .iter()
            .filter(|l| l.contains(" …") && l.contains(SPINNER))
            .count();
        let answered = rows.iter().filter(|l| l.contains("· –")).count();
        (rows.len(), pending, answered)
    };
    // A screen with rows answered and rows still waiting: answers are not held back.
    wait_until(&t, 15, "some rows answered, others pending", |s| {
        let (rows, pending, answered) = counts(s);
        rows == 3 && pending >= 1 && answered >= 1
    });
    let done = wait_until(&t, 20, "every row answered", |s| counts(s) == (3, 0, 3));
    assert!(!done.contains("asking the registry"), "{done}");
    quit(&t, &h);
}

fn agent_requests(reg: &DevReg, id: &str) -> usize {
    let (_, log) = reg.get("/_dev/requests");
    log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["method"] == "GET" && r["path"].as_str() == Some(&format!("/v1/sdk/agents/{id}"))
        })
        .count()
}

/// `f` (and the reload after it) keeps the registry's ✖ revoked, and does not ask the
/// registry again about an identity whose key did not change.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn f_keeps_a_revoked_badge_revoked() {
    if !enabled() {
        return;
    }
    const KEY: &str = "sk_test_tui_revoked";
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
            "revoked-agent"
        ])
        .status
        .success()
    );
    reg.post(
        "/v1/sdk/agents",
        &format!(r#"{{"id":"{id}","name":"revoked-agent","status":"active"}}"#),
        Some(KEY),
    );
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    assert!(h.run_env(&["register", id], &env).status.success());
    assert!(h.run_env(&["badge", "request", id], &env).status.success());
    let token = std::fs::read_to_string(h.agent_dir(id).join("badge.jwt")).unwrap();
    let jti = capiscio_tui::core::badge::decode(&token).unwrap().jti;
    let (code, _) = reg.post(&format!("/v1/badges/{jti}/revoke"), "{}", Some(KEY));
    assert_eq!(code, 200);
    // Something `f` repairs.
    chmod(&h.agent_dir(id).join("private.jwk"), 0o644);
    let t = launch(
        &h,
        "revoked",
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
        "",
    );
    let screen = t.wait_for("✖ revoked", 15);
    assert!(screen.contains("insecure-permissions"), "{screen}");
    wait_until(&t, 10, "the check to finish", |s| {
        !s.contains("asking the registry")
    });
    let asked = agent_requests(&reg, id);
    assert!(asked >= 1);
    t.send(&["f"]);
    t.wait_for("Fixed revoked-agent", 10);
    // The reload (and the watcher's) has come and gone: still revoked, never "?".
    wait_until(&t, 10, "the repaired row", |s| {
        !s.contains("insecure-permissions")
    });
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let screen = t.capture();
        let line = row(&screen, "revoked-agent")
            .map(left_pane)
            .unwrap_or_default();
        assert!(
            line.contains("✖ revoked"),
            "the registry's answer was thrown away:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        agent_requests(&reg, id),
        asked,
        "the same key was asked about again"
    );
    quit(&t, &h);
}

/// Identities another process creates while the UI is open appear without `r` — also
/// when the CapiscIO home did not exist at launch, and after it is replaced.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn identities_created_elsewhere_appear_without_r() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(!h.capiscio().exists());
    let t = launch(&h, "watch", "", "");
    t.wait_for("0 identities", 10);
    // Another process (an SDK, a second capiscio-tui) creates the home and an agent.
    let create = |name: &str, id: &str| {
        assert!(
            h.run(&["generate", "--kind", "agent", "--name", name, "--id", id])
                .status
                .success()
        );
    };
    create("first-elsewhere", "a1111111-1111-4111-8111-111111111111");
    t.wait_for("first-elsewhere", 10);
    create("second-elsewhere", "b1111111-1111-4111-8111-111111111111");
    let screen = t.wait_for("second-elsewhere", 10);
    assert!(screen.contains("2 identities"), "{screen}");
    // The home is replaced (deleted and made again): the watch follows it.
    std::fs::remove_dir_all(h.capiscio()).unwrap();
    t.wait_for("0 identities", 10);
    create("third-elsewhere", "c1111111-1111-4111-8111-111111111111");
    let screen = t.wait_for("third-elsewhere", 10);
    assert!(screen.contains("1 identity "), "{screen}");
    quit(&t, &h);
}

/// An OSC 52 copy shows its countdown and is cleared at the deadline: the terminal is sent
/// an empty OSC 52 set, and tmux — which ignores that and keeps its own paste buffer — has
/// that buffer deleted. Observed in the pane's raw output and in tmux's buffers.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn an_osc52_copy_is_cleared_at_the_deadline() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"])
            .status
            .success()
    );
    let expected = stdout(&h.run(&["export", "files-mcp", "--format", "env"]));
    let t = launch(&h, "osc52clear", "", "--clear-after 6");
    t.wait_for("files-mcp", 10);
    let raw = h.path().join("pane.raw");
    let out = t.tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        "main",
        &format!("cat >> {}", raw.display()),
    ]);
    assert!(out.status.success());
    t.send(&["c"]);
    t.wait_for("Export files-mcp", 5);
    t.wait_for("CAPISCIO_SERVER_PRIVATE_KEY", 5);
    t.send(&["Enter"]);
    t.wait_for("sent to terminal (OSC 52)", 5);
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    assert_eq!(buffer, expected, "OSC 52 carried the exact env line");
    // The countdown runs in the status bar.
    let first = wait_until(&t, 5, "a countdown", |s| s.contains("— clears in"));
    let secs = |s: &str| -> Option<u64> {
        let tail = s.split("— clears in ").nth(1)?;
        tail.split('s').next()?.trim().parse().ok()
    };
    let start = secs(&first).expect("a number of seconds");
    wait_until(&t, 5, "the countdown to go down", |s| {
        secs(s).is_some_and(|n| n < start)
    });
    let screen = t.wait_for("Clipboard cleared", 10);
    assert!(screen.contains("OSC 52"), "{screen}");
    let buffers = String::from_utf8_lossy(&t.tmux(&["list-buffers"]).stdout).into_owned();
    assert!(
        !buffers.contains("CAPISCIO"),
        "tmux still holds the key: {buffers}"
    );
    let show = t.tmux(&["show-buffer"]);
    assert_ne!(String::from_utf8_lossy(&show.stdout), expected);
    let raw = std::fs::read(&raw).unwrap();
    let raw = String::from_utf8_lossy(&raw);
    let set = raw.find("\x1b]52;c;").expect("the copy went out as OSC 52");
    assert!(
        raw[set + 1..].contains("\x1b]52;c;\x07"),
        "no empty OSC 52 set followed the copy"
    );
    quit(&t, &h);
}

/// `export --copy` over OSC 52 exits at once, so it cannot clear: it says so.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn cli_osc52_copy_says_it_is_not_cleared() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"])
            .status
            .success()
    );
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let t = Tmux::start(
        "osc52cli",
        200,
        20,
        &format!(
            "env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {bin} export files-mcp --format env --copy; sleep 30"
        ),
    );
    let screen = t.wait_for("Sent env for", 10);
    assert!(
        screen.contains("It is not cleared automatically"),
        "{screen}"
    );
}

/// What an action stamps carries the time it ran, not the time the UI opened: a new agent
/// card's `created`, made a few seconds after launch.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_new_agent_card_carries_the_time_it_was_made() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"])
            .status
            .success()
    );
    let launched = now();
    let t = launch(&h, "stamp", "", "");
    t.wait_for("files-mcp", 10);
    std::thread::sleep(Duration::from_secs(4));
    t.send(&["n"]);
    t.wait_for("New identity", 5);
    t.send(&["Tab"]);
    t.type_text("stamp-agent");
    t.send(&["Tab"]);
    t.type_text("Stamp");
    t.send(&["Enter"]);
    t.wait_for("Created agent stamp-agent", 10);
    let card: serde_json::Value = serde_json::from_str(&wait_file(
        &h.agent_dir("stamp-agent").join("agent-card.json"),
        5,
    ))
    .unwrap();
    let created = card["created"].as_str().unwrap().to_string();
    let earliest = capiscio_tui::core::ids::rfc3339(launched + 3);
    assert!(
        created >= earliest,
        "created {created} is the launch time, not when the card was made (≥ {earliest})"
    );
    quit(&t, &h);
}

/// Quitting before an OSC 52 copy's deadline cannot clear it later: the user is told so
/// once the terminal is back, rather than promised a clear that never comes.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn quitting_before_an_osc52_deadline_says_the_copy_stays() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "mcp-server", "--id", "files-mcp"])
            .status
            .success()
    );
    let t = launch(&h, "osc52quit", "", "--clear-after 60");
    t.wait_for("files-mcp", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_SERVER_PRIVATE_KEY", 5);
    t.send(&["Enter"]);
    t.wait_for("clears in", 5);
    quit(&t, &h);
    let stderr = std::fs::read_to_string(h.path().join("stderr.txt")).unwrap();
    assert!(stderr.contains("was not cleared"), "{stderr}");
    assert_no_secrets(&stderr);
}

/// Registry errors show on their rows and, once the check is over, in the status bar.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn registry_errors_reach_the_status_bar() {
    if !enabled() {
        return;
    }
    const KEY: &str = "sk_test_tui_errors";
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    h.generate_agent("11111111-1111-4111-8111-111111111111", "one-agent");
    h.generate_agent("21111111-1111-4111-8111-111111111111", "two-agent");
    reg.fault(serde_json::json!({"path_prefix": "/v1/", "status": 500}));
    let t = launch(
        &h,
        "errors",
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
        "",
    );
    let screen = t.wait_for("The registry could not answer for 2 identities", 15);
    assert!(screen.contains("registry-error"), "{screen}");
    quit(&t, &h);
}
