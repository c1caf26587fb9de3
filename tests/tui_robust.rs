//! The UI against hostile or busy surroundings, in the real binary under tmux: pasted
//! text is text (never keys), a malformed mouse report or a dead keyboard reader does not
//! leave a UI without a keyboard, the export picker and a revealed key follow the key on
//! disk, registry checks and rescans never pile up, and a retargeted symlinked home is
//! noticed. Needs tmux; CI sets CAPISCIO_TUI_TEST_TUI=1.

mod support;

use std::time::{Duration, Instant};
use support::tmux_enabled as enabled;
use support::*;

/// The UI on `h` in a 120×32 pane. After it ends, the exit code goes to exit.txt and
/// `cat` copies what the terminal then delivers into after.txt (to see it was restored).
fn launch(h: &Home, name: &str, env: &str, args: &str) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = h.path().display();
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {env} {bin} {args} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; cat > {dir}/after.txt"
    );
    Tmux::start(name, 120, 32, &cmd)
}

fn exit_code(h: &Home) -> String {
    wait_file(&h.path().join("exit.txt"), 15).trim().to_string()
}

fn quit(t: &Tmux, h: &Home) {
    t.send(&["q"]);
    assert_eq!(exit_code(h), "exit=0");
}

/// A bracketed paste of `text` (tmux brackets it only if the application asked for it).
fn paste(t: &Tmux, text: &str) {
    // Through a file: a long text does not fit on tmux's command line.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let out = t.tmux(&["load-buffer", "-b", "p", &file.path().display().to_string()]);
    assert!(out.status.success(), "{out:?}");
    let out = t.tmux(&["paste-buffer", "-p", "-r", "-b", "p", "-t", "main"]);
    assert!(out.status.success(), "{out:?}");
}

/// The terminal after the UI ended: the normal screen, and a pasted line arrives at
/// `cat` as a plain line (cooked mode, no bracketed-paste markers).
fn assert_restored(t: &Tmux, h: &Home) {
    let alt = t.tmux(&["display-message", "-p", "-t", "main", "#{alternate_on}"]);
    assert_eq!(String::from_utf8_lossy(&alt.stdout).trim(), "0");
    // `cat` may not be reading yet: paste until the line arrives.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        paste(t, "hello\n");
        std::thread::sleep(Duration::from_millis(300));
        let after = std::fs::read_to_string(h.path().join("after.txt")).unwrap_or_default();
        if !after.is_empty() {
            assert!(after.starts_with("hello\n"), "{after:?}");
            assert!(!after.contains("\x1b[200~"), "bracketed paste left on");
            return;
        }
        assert!(Instant::now() < deadline, "cat never got the line");
    }
}

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

fn did_of(h: &Home, id: &str) -> String {
    find(&h.list_json(&[]), id)["did"]
        .as_str()
        .unwrap()
        .to_string()
}

const A: &str = "11111111-1111-4111-8111-111111111111";

/// Pasting "rb⏎uy" into the filter is the filter "rbuy": the pasted Enter does not end
/// the filter, so `u` (roll back) and `y` (confirm) never act.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_pasted_enter_in_the_filter_does_not_roll_back() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "rb-agent");
    let out = h.run(&["rotate", A, "--offline", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rotated = did_of(&h, A);
    let t = launch(&h, "paste", "", "");
    t.wait_for("rb-agent", 10);
    t.send(&["/"]);
    t.wait_for("[/ █]", 5);
    paste(&t, "rb\ruy");
    let screen = t.wait_for("rbuy", 5);
    assert!(!screen.contains("Roll back"), "{screen}");
    // Still typing the filter: more keys go into it.
    t.type_text("z");
    t.wait_for("rbuyz", 5);
    t.send(&["Escape"]);
    t.wait_for("rb-agent", 5);
    quit(&t, &h);
    assert_eq!(did_of(&h, A), rotated, "nothing was rolled back");
    let log = std::fs::read_to_string(h.path().join("stderr.txt")).unwrap_or_default();
    assert!(!log.contains("Rolled back"), "{log}");
}

/// A 50,000-character paste is one edit: the UI answers the next key at once (the
/// deadline is generous; before, each character re-filtered and Esc waited behind them).
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_long_paste_is_taken_in_one_step() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "long-agent");
    let t = launch(&h, "longpaste", "", "");
    t.wait_for("long-agent", 10);
    t.send(&["/"]);
    t.wait_for("[/ █]", 5);
    paste(&t, &"x".repeat(50_000));
    t.wait_for("Nothing matches the filter", 20);
    t.send(&["Escape"]);
    wait_until(&t, 10, "the filter cleared by Esc", |s| {
        s.contains("long-agent") && !s.contains("Nothing matches")
    });
    quit(&t, &h);
}

/// Mouse reports with a 0 coordinate (SGR and X10 forms) made crossterm's parser panic
/// and the keyboard die: now the UI reads on, and `q` quits.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_malformed_mouse_report_leaves_the_keyboard_working() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "mouse-agent");
    let t = launch(&h, "mouse", "", "");
    t.wait_for("mouse-agent", 10);
    t.type_text("\x1b[<0;0;0M");
    t.type_text("\x1b[M   ");
    t.send(&["?"]);
    t.wait_for("message log of this session", 5);
    t.send(&["Escape"]);
    quit(&t, &h);
    assert_restored(&t, &h);
    let log = std::fs::read_to_string(h.path().join("stderr.txt")).unwrap_or_default();
    assert!(!log.contains("panicked"), "{log}");
}

/// If the keyboard reader dies anyway (a test hook makes it panic on F12), the UI does
/// not run on without a keyboard: it ends, restores the terminal and says why.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_dead_keyboard_reader_ends_the_ui_with_the_terminal_restored() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "reader-agent");
    let t = launch(&h, "reader", "CAPISCIO_TUI_TEST_INPUT_PANIC=1", "");
    t.wait_for("reader-agent", 10);
    t.send(&["F12"]);
    let code = exit_code(&h);
    assert_ne!(code, "exit=0", "an error exit");
    assert_restored(&t, &h);
    let log = std::fs::read_to_string(h.path().join("stderr.txt")).unwrap();
    assert!(log.contains("the UI stopped"), "{log}");
    assert!(log.contains("forced input panic"), "{log}");
    // The panic hook stayed out of it: no second restore, no panic report mid-UI.
    assert!(!log.contains("panicked at"), "{log}");
}

/// The tester's reproduction: the picker is open, another process rotates the key, Enter
/// → the copy is the new key's text or a refusal, never the old key; and `rotate
/// --resume` does not claim the old key's copy as the new key's capture.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_picker_never_copies_a_key_rotated_away() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "stale");
    let old_line = stdout(&h.run(&["export", A, "--format", "env"]));
    let t = launch(&h, "picker", "", "");
    t.wait_for("stale", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    let out = h.run(&["--offline", "rotate", A, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    t.send(&["Enter"]);
    // A copy of the new key, a refusal, or (a loaded machine: the live view was first)
    // the picker re-rendered from the new key before Enter was read.
    let screen = wait_until(&t, 10, "a copy or a refusal", |s| {
        s.contains("sent to terminal")
            || s.contains("nothing was copied")
            || s.contains("The key changed on disk (rotated elsewhere)")
    });
    let copied = screen.contains("sent to terminal");
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    assert_ne!(buffer, old_line, "the old key was copied");
    if !copied {
        // Refused (or re-rendered): the picker shows the new key; Enter now copies it.
        t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 10);
        t.send(&["Enter"]);
        t.wait_for("sent to terminal", 10);
    }
    let buffer = String::from_utf8_lossy(&t.tmux(&["show-buffer"]).stdout).into_owned();
    quit(&t, &h);
    let resume = h.run(&["--offline", "rotate", A, "--resume", "--yes"]);
    let said = format!("{}{}", stdout(&resume), stderr(&resume));
    let new_line = stdout(&h.run(&["export", A, "--format", "env"]));
    assert_ne!(new_line, old_line);
    assert_eq!(buffer, new_line, "the new key's exact env line was copied");
    // The new key was copied (after the refusal, or at once): that is its capture.
    assert!(said.contains("✔ Capture the new key"), "{said}");
}

/// The picker re-renders when the key changes under it, and says so.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn the_picker_shows_the_new_key_when_it_changes_under_it() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "stale");
    let t = launch(&h, "picker2", "", "");
    t.wait_for("stale", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    let out = h.run(&["--offline", "rotate", A, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The live view sees the new key: the preview is made again and says why.
    t.wait_for("The key changed on disk", 10);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 10);
    t.send(&["Escape"]);
    quit(&t, &h);
    // Nothing was copied: the capture step is still open.
    let resume = h.run(&["--offline", "rotate", A, "--resume", "--yes"]);
    let said = format!("{}{}", stdout(&resume), stderr(&resume));
    assert!(!said.contains("✔ Capture"), "{said}");
}

/// A revealed key leaves the screen when another process rotates it.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_revealed_key_is_hidden_when_rotated_elsewhere() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let dir = seed_agent(&h, A, D1, X1, DID1);
    write(&dir.join("agent-card.json"), r#"{"name":"alt"}"#, 0o644);
    let t = launch(&h, "reveal", "", "");
    t.wait_for("alt", 10);
    t.send(&["v"]);
    let d = &D1[..16];
    let screen = t.wait_for(d, 10);
    assert!(screen.contains(d), "{screen}");
    let out = h.run(&["--offline", "rotate", A, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until(&t, 10, "the old key gone from the screen", |s| {
        !s.contains(d)
    });
    t.wait_for("changed on disk", 10);
    quit(&t, &h);
}

fn pane_pid(t: &Tmux) -> u32 {
    let out = t.tmux(&["display-message", "-p", "-t", "main", "#{pane_pid}"]);
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The UI's process: the pane shell's child.
fn ui_pid(t: &Tmux) -> u32 {
    let shell = pane_pid(t);
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    children.split_whitespace().next().unwrap().parse().unwrap()
}

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count()
}

/// `r` pressed forty times against a registry that does not answer: one check runs,
/// the presses wait merged into one; requests and threads stay bounded.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn registry_checks_do_not_stack() {
    if !enabled() {
        return;
    }
    const KEY: &str = "sk_test_tui_stack";
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    h.generate_agent(A, "stack-agent");
    reg.fault(serde_json::json!({"path_prefix": "/v1/sdk/agents", "delay_ms": 100000}));
    let t = launch(
        &h,
        "stack",
        &format!("CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={KEY}", reg.url),
        "--concurrency 4",
    );
    t.wait_for("stack-agent", 10);
    let pid = ui_pid(&t);
    let before = threads(pid);
    for _ in 0..40 {
        t.tmux(&["send-keys", "-t", "main", "r"]);
    }
    // Every press has been read once `?` shows (keys are handled in order).
    t.send(&["?"]);
    t.wait_for("message log of this session", 10);
    let asked = |reg: &DevReg| {
        let (_, log) = reg.get("/_dev/requests");
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/sdk/agents"))
            })
            .count()
    };
    // Give stacked checks (if any) the time to reach the registry.
    std::thread::sleep(Duration::from_secs(2));
    let n = asked(&reg);
    assert!(n <= 2, "{n} requests for one identity");
    let after = threads(pid);
    assert!(after <= before + 4, "threads grew from {before} to {after}");
    t.send(&["Escape"]);
    // The first check still waits for its answer: another `r` says so.
    t.send(&["r"]);
    t.wait_for("Already asking the registry", 10);
    quit(&t, &h);
}

/// A symlinked home retargeted to another directory (`ln -sfn`) is noticed: the other
/// home's identities appear without `r`.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn a_retargeted_symlinked_home_is_noticed() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let one = Home::new();
    let two = Home::new();
    one.generate_agent(A, "first-agent");
    two.generate_agent("22222222-2222-4222-8222-222222222222", "second-agent");
    std::os::unix::fs::symlink(one.capiscio(), h.capiscio()).unwrap();
    let t = launch(&h, "retarget", "", "");
    t.wait_for("first-agent", 10);
    // As `ln -sfn` does it: a new link renamed over the old one.
    let tmp = h.path().join(".capiscio.new");
    std::os::unix::fs::symlink(two.capiscio(), &tmp).unwrap();
    std::fs::rename(&tmp, h.capiscio()).unwrap();
    let screen = wait_until(&t, 10, "the second home", |s| {
        s.contains("second-agent") && !s.contains("first-agent")
    });
    assert!(screen.contains("second-agent"));
    // And changes inside the new target are seen too.
    two.generate_agent("33333333-3333-4333-8333-333333333333", "third-agent");
    t.wait_for("third-agent", 10);
    quit(&t, &h);
}

/// A home changing again and again while rescans run: rescans never overlap (each
/// starts after the last ended), and there are no more of them than changes.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn rescans_never_overlap() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    for n in 0..400 {
        let id = format!("{n:08}-1111-4111-8111-111111111111");
        let dir = seed_agent(&h, &id, D1, X1, DID1);
        write(
            &dir.join("agent-card.json"),
            format!(r#"{{"name":"agent-{n}"}}"#),
            0o644,
        );
    }
    let trace = h.path().join("scans.txt");
    let t = launch(
        &h,
        "rescans",
        &format!("CAPISCIO_TUI_TEST_SCANS={}", trace.display()),
        "",
    );
    t.wait_for("agent-", 20);
    let changes = 20;
    for n in 0..changes {
        let dir = h.agent_dir(&format!("{:08}-1111-4111-8111-111111111111", n));
        write(
            &dir.join("agent-card.json"),
            format!(r#"{{"name":"renamed-{n}"}}"#),
            0o644,
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The last change is seen (its rescan ran after it): the name is on screen twice,
    // in the filter and on its row.
    let last = format!("renamed-{}", changes - 1);
    t.send(&["/"]);
    t.type_text(&last);
    wait_until(&t, 30, "the last change listed", |s| {
        s.matches(last.as_str()).count() >= 2
    });
    t.send(&["Escape", "Escape"]);
    quit(&t, &h);
    let lines: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(!lines.is_empty(), "no rescan traced");
    for (n, l) in lines.iter().enumerate() {
        let want = if n % 2 == 0 { "start" } else { "end" };
        assert_eq!(l, want, "rescans overlapped: {lines:?}");
    }
    let scans = lines.len() / 2;
    assert!(
        scans <= changes + 2,
        "{scans} rescans for {changes} changes"
    );
}

/// Save to file, like the copy, never writes a key rotated away after the preview: the
/// file holds the new key or is not written, and a save of the new key is its capture.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn save_to_file_never_writes_a_key_rotated_away() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    h.generate_agent(A, "stale");
    let old_line = stdout(&h.run(&["export", A, "--format", "env"]));
    let t = launch(&h, "save-stale", "", "");
    t.wait_for("stale", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["s"]);
    t.wait_for("Save to file:", 5);
    t.type_text("saved.env");
    let out = h.run(&["--offline", "rotate", A, "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    t.send(&["Enter"]);
    let path = h.path().join("saved.env");
    let screen = wait_until(&t, 10, "saved or refused", |s| {
        s.contains("Saved env for") || s.contains("nothing saved") || s.contains("key changed")
    });
    if !path.exists() {
        assert!(!screen.contains("Saved env for"), "{screen}");
        // Refused: the picker shows the new key; saving again writes that one.
        t.send(&["Escape"]);
        t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 10);
        t.send(&["s"]);
        t.wait_for("Save to file:", 5);
        t.type_text("saved.env");
        t.send(&["Enter"]);
        t.wait_for("Saved env for", 10);
    }
    let saved = std::fs::read_to_string(&path).unwrap();
    quit(&t, &h);
    let new_line = stdout(&h.run(&["export", A, "--format", "env"]));
    assert_ne!(saved, old_line, "the old key was saved");
    assert_eq!(saved, new_line);
    let resume = h.run(&["--offline", "rotate", A, "--resume", "--yes"]);
    let said = format!("{}{}", stdout(&resume), stderr(&resume));
    assert!(said.contains("✔ Capture the new key"), "{said}");
}
