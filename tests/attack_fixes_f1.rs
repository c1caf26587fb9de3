//! The real binary against the adversarial findings on badge times (1, 2), renewals
//! that made things worse (6), untrusted names (13, 14) and an agent and an MCP server
//! sharing an id (12): CLI runs, the dev registry with an injected fault, and the UI
//! under tmux.

mod support;

use serde_json::json;
use support::RegWorld as World;
use support::tmux_enabled as enabled;
use support::*;

const KEY: &str = "sk_test_0123456789abcdefSECRET";

fn launch(h: &Home, name: &str, size: (u16, u16), extra_env: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {extra_env} {bin} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; sleep 30"
    );
    Tmux::start(name, size.0, size.1, &cmd)
}

fn quit(t: &Tmux, h: &Home) {
    t.send(&["q"]);
    assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
    let err = std::fs::read_to_string(h.path().join("stderr.txt")).unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
}

/// An unsigned badge with hand-written times and a junk signature, as anyone can write.
fn junk_badge(id: &str, iat: i64, exp: i64) -> String {
    let b64 = capiscio_tui::core::b64::url_encode;
    let payload = format!(
        r#"{{"jti":"j-x","iss":"https://registry.example","sub":"did:web:registry.example:agents:{id}","iat":{iat},"exp":{exp}}}"#
    );
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"EdDSA","typ":"JWT"}"#),
        b64(payload.as_bytes()),
        b64(b"junk-signature")
    )
}

const REPORTED: [(i64, i64); 4] = [
    (i64::MIN, -9_223_372_036_854_775_000),
    (i64::MIN, i64::MAX),
    (i64::MAX, i64::MIN),
    (0, -1),
];

/// Findings 1 and 2: `show`, `list` and `status` describe a badge with any times.
#[test]
fn extreme_badge_times_are_described_by_show_list_and_status() {
    let h = Home::new();
    h.generate_agent("aaa", "extreme");
    for (iat, exp) in REPORTED {
        write(
            &h.agent_dir("aaa").join("badge.jwt"),
            junk_badge("aaa", iat, exp),
            0o600,
        );
        for args in [
            &["show", "aaa", "--offline"][..],
            &["list", "--offline"],
            &["status", "--offline"],
            &["list", "--offline", "--json"],
        ] {
            let out = h.run(args);
            let (o, e) = (stdout(&out), stderr(&out));
            assert!(!e.contains("panicked"), "{args:?} {iat} {exp}: {e}");
            assert!(out.status.code().is_some_and(|c| c < 100), "{args:?}: {e}");
            assert!(o.contains("aaa") || o.contains("extreme"), "{args:?}: {o}");
        }
        let show = stdout(&h.run(&["show", "aaa", "--offline"]));
        assert!(show.contains("Badge"), "{show}");
        assert!(
            show.contains("expire") || show.contains("exp claim"),
            "{show}"
        );
    }
}

/// Findings 1 and 2 in the UI: the reported badges load, the details describe them, and
/// `a` (auto-renew) neither crashes nor renews a badge that never verified.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn extreme_badge_times_in_the_ui_and_auto_renew() {
    if !enabled() {
        return;
    }
    let reg = DevReg::start(&["--api-key", KEY]);
    for (n, (iat, exp)) in REPORTED.into_iter().enumerate() {
        let h = Home::new();
        h.generate_agent("aaa", "extreme");
        write(
            &h.agent_dir("aaa").join("badge.jwt"),
            junk_badge("aaa", iat, exp),
            0o600,
        );
        let env = format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url);
        let t = launch(&h, &format!("extreme{n}"), (120, 35), &env);
        t.wait_for("extreme", 10);
        t.send(&["Tab"]);
        t.wait_for("Badge", 5);
        t.send(&["a"]);
        t.wait_for("Auto-renew on", 5);
        // A few ticks of the running clock and auto-renew.
        std::thread::sleep(std::time::Duration::from_secs(3));
        let screen = t.capture();
        assert!(screen.contains("extreme"), "{screen}");
        quit(&t, &h);
    }
    let (_, log) = reg.get("/_dev/requests");
    let renewals = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"].as_str().unwrap().ends_with("/badge"))
        .count();
    assert_eq!(renewals, 0, "an unverified badge is never renewed: {log}");
}

impl World {
    fn badge_text(&self, id: &str) -> String {
        std::fs::read_to_string(self.home.agent_dir(id).join("badge.jwt")).unwrap()
    }

    fn badge_posts(&self, id: &str) -> usize {
        let (_, log) = self.reg.get("/_dev/requests");
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == "POST" && r["path"] == format!("/v1/agents/{id}/badge"))
            .count()
    }

    /// The registry answers every badge request for `id` with 200 and an expired badge.
    fn inject_expired_reply(&self, id: &str) {
        let t = now();
        let expired = self.dev_token(id, t - 1200, t - 623);
        self.reg.fault(json!({
            "path_prefix": format!("/v1/agents/{id}/badge"),
            "method": "POST",
            "status": 200,
            "body": {"success": true, "data": {
                "token": expired, "jti": "expired-jti",
                "subject": format!("did:web:{}:agents:{id}", self.reg.host()),
                "trustLevel": "1", "expiresAt": capiscio_tui::core::ids::rfc3339(t - 623)
            }}
        }));
    }
}

/// Finding 6 from the CLI: `badge request` keeps the valid badge when the registry hands
/// back an expired one, and says why.
#[test]
fn badge_request_keeps_a_valid_badge_when_the_registry_returns_an_expired_one() {
    let w = World::start(KEY);
    let id = w.agent(5, "agent-five");
    let t = now();
    // Valid, and running out before the registry's next badge would (300 s).
    let valid = w.dev_token(&id, t - 3000, t + 200);
    write(&w.home.agent_dir(&id).join("badge.jwt"), &valid, 0o600);
    w.inject_expired_reply(&id);
    let out = w.home.run_env(&["badge", "request", &id], &w.env());
    let e = stderr(&out);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(e.contains("expired"), "{e}");
    assert!(e.contains("the badge on disk is unchanged"), "{e}");
    assert_eq!(w.badge_text(&id), valid, "the valid badge stays");

    // A badge signed by some other key (not the registry's JWKS) is refused too.
    w.reg.clear_faults();
    let forged = sign_badge(
        &[9; 32],
        &format!(
            r#"{{"jti":"f","iss":"{}","sub":"did:web:{}:agents:{id}","iat":{},"exp":{}}}"#,
            w.reg.url,
            w.reg.host(),
            t - 10,
            t + 7200
        ),
    );
    w.reg.fault(json!({
        "path_prefix": format!("/v1/agents/{id}/badge"), "method": "POST", "status": 200,
        "body": {"success": true, "data": {"token": forged, "jti": "f"}}
    }));
    let out = w.home.run_env(&["badge", "request", &id], &w.env());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    assert_eq!(w.badge_text(&id), valid);

    // Without a fault the registry's real badge is stored: it outlasts the one on disk.
    w.reg.clear_faults();
    let out = w.home.run_env(&["badge", "request", &id], &w.env());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(w.badge_text(&id), valid);

    // A valid badge lasting longer than what the registry issues is not replaced.
    let long = w.dev_token(&id, t - 10, t + 7200);
    write(&w.home.agent_dir(&id).join("badge.jwt"), &long, 0o600);
    let out = w.home.run_env(&["badge", "request", &id], &w.env());
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("before the valid one on disk"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.badge_text(&id), long);
}

/// Finding 6 in the UI: auto-renew meets the expired reply, keeps the valid badge, says
/// why, and backs off instead of asking every second.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn auto_renew_keeps_the_valid_badge_and_backs_off() {
    if !enabled() {
        return;
    }
    let w = World::start(KEY);
    let id = w.agent(6, "billing-agent");
    let t = now();
    // Under a fifth of its lifetime left, still valid for the whole test.
    let valid = w.dev_token(&id, t - 6000, t + 120);
    write(&w.home.agent_dir(&id).join("badge.jwt"), &valid, 0o600);
    w.inject_expired_reply(&id);
    let env = format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", w.reg.url);
    let tm = launch(&w.home, "backoff", (140, 35), &env);
    tm.wait_for("billing-agent", 10);
    tm.wait_for("⚠", 15);
    tm.send(&["a"]);
    tm.wait_for("Badge request for billing-agent failed", 15);
    std::thread::sleep(std::time::Duration::from_secs(10));
    assert_eq!(w.badge_text(&id), valid, "the valid badge stays on disk");
    let posts = w.badge_posts(&id);
    assert_eq!(posts, 1, "one attempt, then the back-off");
    tm.send(&["L"]);
    let log = tm.wait_for("Messages this session", 5);
    assert!(log.contains("expired"), "{log}");
    assert!(log.contains("not stored"), "{log}");
    assert!(log.contains("tries again in"), "{log}");
    assert!(!log.contains("Auto-renewed"), "{log}");
    tm.send(&["Escape"]);
    quit(&tm, &w.home);
}

fn write_named_agent(h: &Home, id: &str, n: u8, name: &str) {
    let key = capiscio_tui::core::key::KeyPair::from_seed(&[n; 32]);
    capiscio_tui::store::disk::write_agent(
        &h.agent_dir(id),
        &key,
        Some(&json!({ "name": name }).to_string()),
    )
    .unwrap();
}

const NEWLINE_NAME: &str = "evil\nFAKE  agent  spoofed  disk  did:key:z6Mk…xyz";
const RTL_NAME: &str = "\u{202E}gnp.exe";

/// Findings 13 and 14 from the CLI: a name cannot add a row, nor reorder the line, nor
/// move the badge column; `--json` keeps the exact strings.
#[test]
fn hostile_names_cannot_spoof_rows_or_columns() {
    let h = Home::new();
    write_named_agent(&h, "nl", 11, NEWLINE_NAME);
    write_named_agent(&h, "rtl", 12, RTL_NAME);
    write_named_agent(&h, "plain", 13, "plain-name");
    let list = stdout(&h.run(&["list", "--offline"]));
    assert!(!list.contains('\u{202E}'), "{list}");
    assert!(!list.lines().any(|l| l.starts_with("FAKE")), "{list}");
    let rows: Vec<&str> = list
        .lines()
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>();
    assert_eq!(rows.len(), 4, "a header and three identities:\n{list}");
    // Every row's badge cell starts in the header's BADGE column.
    let col = rows[0].chars().position(|c| c == 'B').unwrap();
    let badge_at = |l: &str| l.chars().skip(col).take(1).collect::<String>();
    for r in &rows[1..] {
        assert_eq!(badge_at(r), "–", "badge column moved in {r:?}\n{list}");
    }
    assert!(list.contains("evil␊FAKE"), "{list}");

    for id in ["nl", "rtl"] {
        let show = stdout(&h.run(&["show", id, "--offline"]));
        assert!(!show.contains('\u{202E}'), "{show}");
        assert!(!show.lines().any(|l| l.starts_with("FAKE")), "{show}");
        let status = stdout(&h.run(&["status", "--offline"]));
        assert!(!status.contains('\u{202E}'), "{status}");
        assert!(!status.lines().any(|l| l.starts_with("FAKE")), "{status}");
    }
    let json = h.list_json(&[]);
    assert_eq!(find(&json, "nl")["name"], NEWLINE_NAME);
    assert_eq!(find(&json, "rtl")["name"], RTL_NAME);
}

/// Findings 13 and 14 in the UI: the names are shown inert, no raw bidi control reaches
/// the terminal and no name starts a line of its own.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn hostile_names_in_the_ui() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    write_named_agent(&h, "nl", 11, NEWLINE_NAME);
    write_named_agent(&h, "rtl", 12, RTL_NAME);
    let t = launch(&h, "names", (120, 35), "");
    let screen = t.wait_for("gnp.exe", 10);
    assert!(screen.contains("evil␊FAKE"), "{screen}");
    for key in ["Home", "Tab", "Escape", "j", "Tab"] {
        t.send(&[key]);
        let screen = t.capture();
        assert!(!screen.contains('\u{202E}'), "{screen}");
        assert!(
            !screen.lines().any(|l| l.trim_start().starts_with("FAKE")),
            "{screen}"
        );
    }
    t.send(&["Escape"]);
    quit(&t, &h);
}

/// Finding 12: with an agent and an MCP server both `dup`, the selected server is what
/// `c` exports and Enter copies (compared with the CLI's export of the server, named by
/// its DID since the id is ambiguous), and what `R` offers to rotate.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_shared_id_acts_on_the_selected_identity() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent("dup", "dup-agent");
    h.generate_server("dup");
    let json = h.list_json(&[]);
    let server = json
        .iter()
        .find(|v| v["id"] == "dup" && v["kind"] == "mcp-server")
        .unwrap();
    let server_did = server["did"].as_str().unwrap();
    let expected = stdout(&h.run(&["export", server_did, "--format", "env"]));
    assert!(expected.starts_with("CAPISCIO_SERVER"), "{expected}");

    let t = launch(&h, "dup", (120, 35), "");
    t.wait_for("MCP SERVERS", 10);
    t.send(&["End"]);
    t.send(&["c"]);
    let screen = t.wait_for("Export dup", 5);
    assert!(
        !screen.contains("Export dup-agent"),
        "the agent is not named:\n{screen}"
    );
    t.wait_for("CAPISCIO_SERVER", 5);
    t.send(&["Enter"]);
    t.wait_for("sent to terminal", 5);
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    assert_eq!(buffer, expected, "the server's key was copied");

    t.send(&["R"]);
    let screen = t.wait_for("Type the id dup", 10);
    assert!(!screen.contains("Rotate dup-agent"), "{screen}");
    assert!(
        !screen.contains("ambiguous") && !screen.contains("matches 2"),
        "{screen}"
    );
    t.send(&["Escape"]);
    // Apart, so the terminal does not read Esc v as Alt-v.
    std::thread::sleep(std::time::Duration::from_millis(600));
    t.send(&["v"]);
    let screen = t.wait_for("revealed", 10);
    assert!(!screen.contains("Cannot reveal"), "{screen}");
    // The server's key is a PEM; the agent's would be a JWK.
    assert!(screen.contains("BEGIN PRIVATE KEY"), "{screen}");
    t.send(&["v"]);
    quit(&t, &h);
}

/// Finding 15: the message log keeps the last 1,000 messages and says how many older
/// ones it dropped. Each `s` shows a new toast (the next sort order), logged once.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_message_log_is_bounded() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent("aaa", "log-agent");
    let t = launch(&h, "log", (120, 35), "");
    t.wait_for("log-agent", 10);
    let presses = 1_050;
    for _ in 0..presses / 50 {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend(std::iter::repeat_n("s", 50));
        t.tmux(&args);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // 1,050 toasts (plus none before): 50 dropped once the UI has read every key.
    t.send(&["L"]);
    t.wait_for("Messages this session", 20);
    // The note heads the log: scroll to the top (10 lines a PageUp).
    let mut args = vec!["send-keys", "-t", "main"];
    args.extend(std::iter::repeat_n("PageUp", 110));
    t.tmux(&args);
    let screen = t.wait_for("50 older message(s) dropped", 20);
    assert!(screen.contains("the log keeps the last 1000"), "{screen}");
    t.send(&["Escape"]);
    quit(&t, &h);
}
