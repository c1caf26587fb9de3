//! The read path: every file discovery reads is opened without following a final symlink
//! and without blocking, fstat'ed, read only if it is a regular file, and capped. A FIFO
//! in place of any of them must not hang `list`, `doctor` or `show`; a symlinked key is
//! reported, never read; a huge sparse file is refused without being read.
//!
//! `CAPISCIO_TUI_READ_PATH_BIN` runs these against another build (e.g. an older release
//! binary, to see them fail there).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::*;

const AGENT: &str = "4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f";
const SERVER: &str = "files";
/// Far longer than a healthy run (tens of milliseconds), far shorter than a hang.
const DEADLINE: Duration = Duration::from_secs(20);

fn bin() -> PathBuf {
    std::env::var_os("CAPISCIO_TUI_READ_PATH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_capiscio-tui")))
}

/// Runs the binary in `home` and fails the test if it has not exited by the deadline
/// (killing it first, so a hang never outlives the test).
fn run(home: &Home, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(home.path());
    output_within(cmd, DEADLINE).unwrap_or_else(|| {
        panic!(
            "`capiscio-tui {}` hung (killed after {DEADLINE:?})",
            args.join(" ")
        )
    })
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// A healthy agent and a healthy MCP server.
fn home() -> Home {
    let h = Home::new();
    let a = seed_agent(&h, AGENT, D1, X1, DID1);
    write(&a.join("did.txt"), DID1, 0o644);
    write(&a.join("agent-card.json"), r#"{"name":"demo"}"#, 0o644);
    let s = seed_server(&h, SERVER, PEM1);
    write(&s.join("public_key.pem"), PUB_PEM1, 0o644);
    write(&s.join("did.txt"), DID1, 0o644);
    h
}

/// Replaces `file` (relative to the home's `.capiscio`) by a FIFO and checks that every
/// command finishes and names the file as not a regular file (in `must_name` outputs).
fn fifo_case(file: &str, show_id: &str, must_name: &[&str]) {
    let h = home();
    mkfifo(&h.capiscio().join(file));
    let name = Path::new(file).file_name().unwrap().to_str().unwrap();
    for args in [
        &["list", "--json"][..],
        &["doctor", "--json"][..],
        &["show", show_id][..],
    ] {
        let out = run(&h, args);
        let t = text(&out);
        if must_name.contains(&args[0]) {
            assert!(
                t.contains(name) && t.contains("not a regular file"),
                "{file}: `{}` does not say the file is not a regular file:\n{t}",
                args.join(" ")
            );
        }
    }
}

const ALL: &[&str] = &["list", "doctor", "show"];

#[test]
fn fifo_private_jwk() {
    fifo_case(&format!("keys/{AGENT}/private.jwk"), AGENT, ALL);
}

#[test]
fn fifo_public_jwk() {
    fifo_case(&format!("keys/{AGENT}/public.jwk"), AGENT, ALL);
}

#[test]
fn fifo_badge_jwt() {
    fifo_case(&format!("keys/{AGENT}/badge.jwt"), AGENT, ALL);
}

#[test]
fn fifo_agent_card() {
    fifo_case(&format!("keys/{AGENT}/agent-card.json"), AGENT, ALL);
}

#[test]
fn fifo_agent_did_txt() {
    fifo_case(&format!("keys/{AGENT}/did.txt"), AGENT, ALL);
}

#[test]
fn fifo_keyring_marker() {
    fifo_case(&format!("keys/{AGENT}/keyring.json"), AGENT, ALL);
}

#[test]
fn fifo_private_key_pem() {
    fifo_case(
        &format!("mcp-servers/{SERVER}/private_key.pem"),
        SERVER,
        ALL,
    );
}

#[test]
fn fifo_public_key_pem() {
    fifo_case(&format!("mcp-servers/{SERVER}/public_key.pem"), SERVER, ALL);
}

#[test]
fn fifo_server_did_txt() {
    fifo_case(&format!("mcp-servers/{SERVER}/did.txt"), SERVER, ALL);
}

#[test]
fn fifo_resolved_server_id() {
    fifo_case(
        &format!("mcp-servers/{SERVER}/.resolved_server_id"),
        SERVER,
        ALL,
    );
}

#[test]
fn fifo_agent_rotation_journal() {
    fifo_case(&format!("keys/.{AGENT}.rotation.json"), AGENT, ALL);
}

#[test]
fn fifo_server_rotation_journal() {
    fifo_case(&format!("mcp-servers/.{SERVER}.rotation.json"), SERVER, ALL);
}

#[test]
fn fifo_keyring_index() {
    // The index belongs to no identity: it is a note of `doctor`, and must not hang any.
    fifo_case("keyring-index.json", AGENT, &["doctor"]);
}

#[test]
fn symlinked_key_files_are_not_read() {
    let h = home();
    // The links point at a different key than the identities' public halves: had it been
    // read, DID2 would show up as the identity's key.
    let outside = h.path().join("outside");
    write(&outside.join("agent.jwk"), private_jwk(D2, X2, DID2), 0o600);
    write(&outside.join("server.pem"), PEM2, 0o600);
    let a = h.agent_dir(AGENT);
    std::fs::remove_file(a.join("private.jwk")).unwrap();
    std::os::unix::fs::symlink(outside.join("agent.jwk"), a.join("private.jwk")).unwrap();
    let s = h.server_dir(SERVER);
    std::fs::remove_file(s.join("private_key.pem")).unwrap();
    std::fs::remove_file(s.join("public_key.pem")).unwrap();
    std::fs::remove_file(s.join("did.txt")).unwrap();
    std::os::unix::fs::symlink(outside.join("server.pem"), s.join("private_key.pem")).unwrap();

    let out = run(&h, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    for id in [AGENT, SERVER] {
        let f = find(&list, id);
        assert!(codes(f).contains(&"symlinked-key".to_string()), "{f}");
        let msg = f["problems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"] == "symlinked-key")
            .unwrap()["message"]
            .to_string();
        assert!(msg.contains("outside"), "names the target: {msg}");
        assert!(msg.contains("does not read keys through links"), "{msg}");
    }
    assert_eq!(find(&list, AGENT)["key_did"], DID1, "from public.jwk");
    assert_eq!(find(&list, SERVER)["key_did"], serde_json::Value::Null);
    for args in [
        &["list", "--json"][..],
        &["show", AGENT][..],
        &["show", SERVER][..],
        &["doctor", "--json"][..],
    ] {
        let t = text(&run(&h, args));
        assert!(
            !t.contains(DID2),
            "`{}` shows the linked key's DID:\n{t}",
            args.join(" ")
        );
    }
}

#[test]
fn huge_sparse_agent_card_is_refused_fast() {
    let h = home();
    let card = h.agent_dir(AGENT).join("agent-card.json");
    std::fs::File::options()
        .write(true)
        .open(&card)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let start = Instant::now();
    let out = run(&h, &["list", "--json"]);
    let took = start.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let problems = find(&list, AGENT)["problems"].to_string();
    assert!(
        problems.contains("agent-card.json is 104857600 bytes"),
        "{problems}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Peak memory: the file is never read, so far below its 100 MiB.
    if Path::new("/usr/bin/time").exists() {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(bin())
            .args(["list", "--json"])
            .env_clear()
            .env("HOME", h.path())
            .output()
            .unwrap();
        let kib: u64 = stderr(&out)
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .unwrap();
        assert!(kib < 50 * 1024, "peak RSS {kib} KiB");
    }
}

#[test]
fn fifo_dev_registry_state_file() {
    // The development registry's state file is read through the same capped, non-blocking
    // primitive: a FIFO there is refused at start instead of blocking it forever.
    let h = Home::new();
    let state = h.path().join("state.json");
    mkfifo(&state);
    let out = run(&h, &["dev-registry", "--state", state.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn ui_opens_with_fifos_in_place_of_files() {
    // The UI scans on start like `list`: with FIFOs in place of a key and of did.txt it
    // must still come up and show the identities. Needs tmux (CI sets CAPISCIO_TUI_TEST_TUI=1).
    if !Tmux::available() {
        assert!(
            std::env::var_os("CAPISCIO_TUI_TEST_TUI").is_none(),
            "CAPISCIO_TUI_TEST_TUI is set but tmux is missing"
        );
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let h = home();
    mkfifo(&h.agent_dir(AGENT).join("private.jwk"));
    mkfifo(&h.server_dir(SERVER).join("did.txt"));
    let dir = h.path().display();
    let cmd = format!(
        "cd {dir}; env -u DISPLAY -u WAYLAND_DISPLAY HOME={dir} TERM=xterm-256color {} 2>{dir}/stderr.txt; echo \"exit=$?\" > {dir}/exit.txt; sleep 30",
        bin().display()
    );
    let t = Tmux::start("read-path-fifo", 120, 32, &cmd);
    t.wait_for(SERVER, 20);
    t.wait_for(&AGENT[..8], 5);
    t.send(&["q"]);
    let exit = wait_file(&h.path().join("exit.txt"), 10);
    assert!(exit.contains("exit=0"), "{exit}");
}

#[test]
fn nothing_absent_is_looked_up_in_identity_directories() {
    // `strace` shows every failed lookup; healthy identities must cost none (the old scan
    // probed badge.jwt, agent-card.json, did.txt, keyring.json and the journals by name).
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed");
        return;
    }
    let h = home();
    let log = h.path().join("strace.txt");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%file,%desc", "-o"])
        .arg(&log)
        .arg(bin())
        .args(["list", "--json"])
        .env_clear()
        .env("HOME", h.path())
        .output()
        .unwrap();
    if !out.status.success() && stderr(&out).contains("ptrace") {
        eprintln!("skipped: ptrace is not permitted here");
        return;
    }
    assert!(out.status.success(), "{}", text(&out));
    let trace = std::fs::read_to_string(&log).unwrap();
    let failed: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("ENOENT") && (l.contains("/keys") || l.contains("/mcp-servers")))
        .collect();
    assert!(
        failed.is_empty(),
        "looked up absent files:\n{}",
        failed.join("\n")
    );
    // And every identity file was opened without following links and without blocking.
    let opens: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("open") && (l.contains("private") || l.contains("public")))
        .collect();
    assert!(!opens.is_empty());
    for l in opens {
        assert!(
            l.contains("O_NOFOLLOW") && l.contains("O_NONBLOCK") && l.contains("O_CLOEXEC"),
            "{l}"
        );
    }
}
