//! Every entry of the UI's key table, pressed in the real binary under tmux, with its
//! observable effect asserted on screen or on disk. The table is read from the binary's own
//! key map: a key that is advertised (in `?` help and the footer) without a case here fails
//! this test, so no key can be advertised without working.

mod support;

use capiscio_tui::tui::keymap::{Action, BINDINGS};
use support::*;

const BILLING: &str = "11111111-1111-4111-8111-111111111111";
const ZETA: &str = "21111111-1111-4111-8111-111111111111";
const KEY: &str = "sk_test_tui_keys";

/// One home per case: billing-agent (healthy), zeta-agent (its public.jwk is missing, so
/// "problems first" lists it first) and files-mcp.
fn seeded() -> Home {
    let h = Home::new();
    h.generate_agent(BILLING, "billing-agent");
    h.generate_agent(ZETA, "zeta-agent");
    h.generate_server("files-mcp");
    std::fs::remove_file(h.agent_dir(ZETA).join("public.jwk")).unwrap();
    h
}

fn open(h: &Home, name: &str, env: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let t = Tmux::start(
        name,
        120,
        40,
        &format!(
            "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {env} {bin}; echo \"exit=$?\" > {dir}/exit.txt; sleep 30"
        ),
    );
    t.wait_for("files-mcp", 10);
    t
}

/// The identity the details pane shows (its title), i.e. the highlighted one.
fn highlighted(t: &Tmux, label: &str) {
    t.wait_for(&format!("┌ {label}"), 5);
}

fn osc52_buffer(t: &Tmux) -> String {
    String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned()
}

/// billing-agent as an agent of the dev registry, under its own id.
fn register_billing(h: &Home, reg: &DevReg) {
    let (code, _) = reg.post(
        "/v1/sdk/agents",
        &format!(r#"{{"id":"{BILLING}","name":"billing-agent","status":"active"}}"#),
        Some(KEY),
    );
    assert_eq!(code, 201);
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    let out = h.run_env(&["register", BILLING], &env);
    assert!(out.status.success(), "{}", stderr(&out));
}

type Case = fn(&Home);

fn case(action: Action) -> Option<Case> {
    Some(match action {
        Action::Up => |h| {
            let t = open(h, "up", "");
            t.send(&["End"]);
            highlighted(&t, "files-mcp");
            t.send(&["Up"]);
            highlighted(&t, "billing-agent");
            t.send(&["k"]);
            highlighted(&t, "zeta-agent");
        },
        Action::Down => |h| {
            let t = open(h, "down", "");
            highlighted(&t, "zeta-agent");
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.send(&["j"]);
            highlighted(&t, "files-mcp");
        },
        Action::Home => |h| {
            let t = open(h, "home", "");
            t.send(&["End"]);
            highlighted(&t, "files-mcp");
            t.send(&["Home"]);
            highlighted(&t, "zeta-agent");
            t.send(&["End", "g"]);
            highlighted(&t, "zeta-agent");
        },
        Action::End => |h| {
            let t = open(h, "end", "");
            t.send(&["G"]);
            highlighted(&t, "files-mcp");
        },
        Action::Filter => |h| {
            let t = open(h, "filter", "");
            t.send(&["/"]);
            t.type_text("files");
            let screen = t.wait_for("[/ files", 5);
            assert_eq!(
                row_order(&screen, &["zeta-agent", "billing-agent", "files-mcp"]),
                ["files-mcp"],
                "{screen}"
            );
        },
        Action::Sort => |h| {
            let t = open(h, "sort", "");
            let names = ["zeta-agent", "billing-agent", "files-mcp"];
            assert_eq!(row_order(&t.capture(), &names), names, "problems first");
            t.send(&["s"]);
            let screen = t.wait_for("Sorted by name", 5);
            assert_eq!(
                row_order(&screen, &names),
                ["billing-agent", "zeta-agent", "files-mcp"],
                "{screen}"
            );
            highlighted(&t, "zeta-agent");
        },
        // Focus on the details pane: Esc then backs out to the list instead of answering
        // that there is nothing to close.
        Action::SwitchPane => |h| {
            let t = open(h, "pane", "");
            t.send(&["Tab", "j"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            highlighted(&t, "zeta-agent");
            t.send(&["Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("Nothing to close"), "{}", t.capture());
            t.send(&["Escape"]);
            t.wait_for("Nothing to close", 5);
        },
        Action::Details => |h| {
            let t = open(h, "details", "");
            t.send(&["Enter", "Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("Nothing to close"), "{}", t.capture());
            t.send(&["Escape"]);
            t.wait_for("Nothing to close", 5);
        },
        Action::Copy => |h| {
            let t = open(h, "copy", "");
            t.send(&["c"]);
            t.wait_for("Export zeta-agent", 5);
            t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
            assert_no_secrets(&t.capture());
            t.send(&["Enter"]);
            t.wait_for("sent to terminal", 5);
            let expected = stdout(&h.run(&["export", ZETA, "--format", "env"]));
            assert_eq!(osc52_buffer(&t), expected);
        },
        Action::Export => |h| {
            let t = open(h, "export", "");
            t.send(&["End", "e"]);
            t.wait_for("Export files-mcp", 5);
            t.send(&["Down"]);
            t.wait_for("▶ Docker Compose", 5);
            t.send(&["Enter"]);
            t.wait_for("sent to terminal", 5);
            let expected = stdout(&h.run(&["export", "files-mcp", "--format", "compose"]));
            assert_eq!(osc52_buffer(&t), expected);
        },
        Action::New => |h| {
            let t = open(h, "new", "");
            t.send(&["n"]);
            t.wait_for("New identity", 5);
            t.send(&["Tab"]);
            t.type_text("keys-new-agent");
            t.send(&["Enter"]);
            t.wait_for("Created agent keys-new-agent", 10);
            assert!(h.agent_dir("keys-new-agent").join("private.jwk").exists());
            highlighted(&t, "keys-new-agent");
        },
        Action::Rotate => |h| {
            let t = open(h, "rotate", "");
            t.send(&["Down", "R"]);
            t.wait_for("Type the name billing-agent or the id", 10);
            t.type_text("billing-agent");
            t.send(&["Enter"]);
            t.wait_for("Archive the old key and generate the new one", 15);
            let archived = capiscio_tui::store::rotate::list_archive(
                &h.agent_dir(BILLING),
                capiscio_tui::core::identity::Kind::Agent,
            );
            assert_eq!(archived.len(), 1);
        },
        // r asks the registry again: an agent disabled after launch shows as disabled.
        Action::Refresh => |h| {
            let reg = DevReg::start(&["--api-key", KEY]);
            register_billing(h, &reg);
            let t = open(
                h,
                "refresh",
                &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
            );
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.wait_for("active", 10);
            let (code, _) = reg.post(&format!("/v1/agents/{BILLING}/disable"), "{}", Some(KEY));
            assert_eq!(code, 200);
            std::thread::sleep(std::time::Duration::from_millis(500));
            assert!(!t.capture().contains("disabled"), "{}", t.capture());
            t.send(&["r"]);
            t.wait_for("disabled", 10);
        },
        Action::Reveal => |h| {
            let t = open(h, "reveal", "");
            let jwk = std::fs::read_to_string(h.agent_dir(ZETA).join("private.jwk")).unwrap();
            let v: serde_json::Value = serde_json::from_str(&jwk).unwrap();
            let d = v["d"].as_str().unwrap().to_string();
            t.send(&["Enter"]);
            assert!(!t.capture().contains(&d[..20]));
            t.send(&["v"]);
            t.wait_for(&d[..20], 5);
            t.send(&["v"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains(&d[..20]), "masked again");
        },
        Action::Fix => |h| {
            let t = open(h, "fix", "");
            highlighted(&t, "zeta-agent");
            t.send(&["f"]);
            t.wait_for("Fixed zeta-agent", 10);
            assert!(h.agent_dir(ZETA).join("public.jwk").exists());
        },
        Action::Help => |h| {
            let t = open(h, "help", "");
            t.send(&["?"]);
            let screen = t.wait_for("Keys —", 5);
            for b in BINDINGS {
                assert!(
                    screen.contains(b.help),
                    "help lacks {:?}:\n{screen}",
                    b.help
                );
            }
        },
        Action::Back => |h| {
            let t = open(h, "back", "");
            t.send(&["?"]);
            t.wait_for("Keys —", 5);
            t.send(&["Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("Keys —"), "{}", t.capture());
            t.send(&["Escape"]);
            t.wait_for("Nothing to close", 5);
        },
        Action::Quit => |h| {
            let _t = open(h, "quit", "");
            _t.send(&["q"]);
            assert_eq!(wait_file(&h.path().join("exit.txt"), 10).trim(), "exit=0");
        },
        // With the list focused a page key moves the highlight by a page (here: to the end
        // and back); the details pane's scrolling is tests/tui_layout.rs's subject.
        Action::PageDown => |h| {
            let t = open(h, "pgdn", "");
            highlighted(&t, "zeta-agent");
            t.send(&["PageDown"]);
            highlighted(&t, "files-mcp");
        },
        Action::PageUp => |h| {
            let t = open(h, "pgup", "");
            t.send(&["End"]);
            highlighted(&t, "files-mcp");
            t.send(&["PageUp"]);
            highlighted(&t, "zeta-agent");
        },
        // b asks the registry for a badge and writes it next to the key.
        Action::Badge => |h| {
            let reg = DevReg::start(&["--api-key", KEY]);
            register_billing(h, &reg);
            let badge = h.agent_dir(BILLING).join("badge.jwt");
            assert!(!badge.exists());
            let t = open(
                h,
                "badge",
                &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
            );
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.send(&["b"]);
            t.wait_for("New badge for billing-agent", 15);
            let text = std::fs::read_to_string(&badge).unwrap();
            let b = capiscio_tui::core::badge::decode(text.trim()).unwrap();
            assert!(b.exp > now(), "a badge that is still valid");
        },
        // a switches auto-renew on and off; the footer says which (the renewal itself is
        // tests/tui_actions.rs's badges_renew_by_hand_and_automatically).
        Action::AutoRenew => |h| {
            let reg = DevReg::start(&["--api-key", KEY]);
            let t = open(
                h,
                "autorenew",
                &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
            );
            assert!(!t.capture().contains("auto-renew on"));
            t.send(&["a"]);
            t.wait_for("⟳ auto-renew on", 5);
            t.send(&["a"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("⟳ auto-renew on"), "{}", t.capture());
        },
        // u rolls the last rotation back (after a y): the DID on disk is the old one again.
        Action::Rollback => |h| {
            let did = |h: &Home| find(&h.list_json(&[]), BILLING)["did"].to_string();
            let before = did(h);
            assert!(h.run(&["rotate", BILLING, "--yes"]).status.success());
            assert_ne!(did(h), before);
            let t = open(h, "rollback", "");
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.send(&["u"]);
            t.wait_for("Roll back billing-agent?", 5);
            t.send(&["y"]);
            t.wait_for("Rolled back billing-agent", 10);
            assert_eq!(did(h), before);
        },
        // E ends the grace period (after a y): the old key leaves the agent card.
        Action::EndGrace => |h| {
            assert!(h.run(&["rotate", BILLING, "--yes"]).status.success());
            assert_eq!(h.retiring_keys(BILLING), 1);
            let t = open(h, "endgrace", "");
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.send(&["E"]);
            t.wait_for("End the grace period of billing-agent?", 5);
            t.send(&["y"]);
            t.wait_for("Ended the grace period of billing-agent", 10);
            assert_eq!(h.retiring_keys(BILLING), 0);
        },
        Action::Log => |h| {
            let t = open(h, "log", "");
            t.send(&["s"]);
            t.wait_for("Sorted by name", 5);
            t.send(&["L"]);
            let screen = t.wait_for("Messages this session", 5);
            assert!(screen.contains("Sorted by name"), "{screen}");
        },
        // p opens the push picker; a new target is checked as it is typed (the parse
        // error's shape, then the backend it names). Pushing itself: tests/tui_push.rs.
        Action::Push => |h| {
            let t = open(h, "push", "");
            // The footer names it.
            let footer = t.capture().lines().last().unwrap_or("").to_string();
            assert!(footer.contains("p push"), "{footer:?}");
            t.send(&["p"]);
            t.wait_for("Push zeta-agent", 5);
            t.wait_for("new target…", 5);
            t.send(&["Enter"]);
            t.type_text("doppler:proj");
            t.wait_for("✖ a doppler target looks like", 5);
            t.type_text("/dev#AGENT_KEY");
            t.wait_for("✔ a doppler target", 5);
            t.send(&["Escape"]);
            t.wait_for("new target…", 5);
            t.send(&["Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("new target…"), "{}", t.capture());
        },
        // D with nothing recorded says how to record a target (reading back: tui_push.rs).
        Action::Deployed => |h| {
            let t = open(h, "deployed", "");
            t.send(&["Down"]);
            highlighted(&t, "billing-agent");
            t.send(&["D"]);
            t.wait_for("billing-agent has no recorded push targets", 5);
        },
        // i without a readable clipboard (no display here) says so plainly.
        Action::Identify => |h| {
            let t = open(h, "identify", "");
            t.send(&["i"]);
            t.wait_for("What is on the clipboard", 5);
            t.wait_for("cannot read the clipboard", 5);
            t.send(&["Escape"]);
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(!t.capture().contains("What is on the clipboard"));
        },
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn every_advertised_key_works_in_the_real_binary() {
    let missing: Vec<String> = BINDINGS
        .iter()
        .filter(|b| case(b.action).is_none())
        .map(|b| format!("{} ({:?})", b.keys, b.action))
        .collect();
    assert!(
        missing.is_empty(),
        "keys advertised without an end-to-end check: {missing:?}"
    );
    let mut seen = Vec::new();
    for b in BINDINGS {
        if seen.contains(&b.action) {
            continue;
        }
        seen.push(b.action);
        eprintln!("key {} ({:?})", b.keys, b.action);
        let run = case(b.action).unwrap();
        run(&seeded());
    }
}

/// The README's key table is the key map: every key the UI binds is in it, and it lists no
/// key the UI does not bind.
#[test]
fn the_readme_key_table_matches_the_key_map() {
    let readme = include_str!("../README.md");
    let table = readme
        .split("| Key | Action |")
        .nth(1)
        .expect("README has a key table");
    let documented: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            let first = l.split('|').nth(1).unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let tokens = |keys: &'static str| -> Vec<&'static str> {
        if keys == "/" {
            vec!["/"]
        } else {
            keys.split('/').collect()
        }
    };
    let bound: Vec<&str> = BINDINGS.iter().flat_map(|b| tokens(b.keys)).collect();
    for b in BINDINGS {
        for k in tokens(b.keys) {
            assert!(
                documented.iter().any(|d| d == k),
                "the README's key table lacks {k} ({})",
                b.help
            );
        }
    }
    for d in &documented {
        assert!(
            bound.contains(&d.as_str()),
            "the README's key table lists {d}, which the UI does not bind"
        );
    }
}
