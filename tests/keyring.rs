//! The OS keyring against a real Secret Service (gnome-keyring on a private D-Bus
//! session per test) and real kernel keyutils. Enabled by CAPISCIO_TUI_TEST_KEYRING=1
//! (as `.ci/run` sets it); reported as skipped otherwise.

mod support;

use std::process::{Command, Output};
use support::*;

fn enabled() -> bool {
    if std::env::var_os("CAPISCIO_TUI_TEST_KEYRING").is_some() {
        return true;
    }
    eprintln!(
        "skipped: set CAPISCIO_TUI_TEST_KEYRING=1 (needs dbus-run-session, gnome-keyring, secret-tool, keyctl)"
    );
    false
}

/// The daemon forks before its login collection is on the bus; on a loaded machine a
/// script that runs at once can find no default collection yet.
const WAIT_FOR_LOGIN: &str = "for _ in $(seq 100); do dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | grep -q collection/login && break; sleep 0.1; done";

/// Runs `script` in its own D-Bus session with an unlocked gnome-keyring (its data in a
/// temp dir) and its own kernel session keyring. `$B` is the binary, `$HOME` the temp home.
fn session(h: &Home, script: &str) -> Output {
    session_with(
        h,
        &format!(
            "eval \"$(printf %s test-password | gnome-keyring-daemon --unlock --components=secrets)\" >/dev/null\n{WAIT_FOR_LOGIN}\n"
        ),
        script,
    )
}

/// As [`session`], with `start` bringing up the keyring daemon.
fn session_with(h: &Home, start: &str, script: &str) -> Output {
    let data = h.path().join("xdg-data");
    std::fs::create_dir_all(&data).unwrap();
    // With its control socket in a known place, a daemon the bus activates (when a call
    // beats the unlocked daemon to its bus name) joins that daemon instead of starting
    // a second one with a locked login keyring.
    let run = h.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let setup = format!(
        "set -u\nexport XDG_DATA_HOME='{}'\n{start}B='{}'\n",
        data.display(),
        env!("CARGO_BIN_EXE_capiscio-tui")
    );
    Command::new("dbus-run-session")
        .args([
            "--",
            "keyctl",
            "session",
            "-",
            "bash",
            "-c",
            &format!("{setup}{script}"),
        ])
        .env_clear()
        .env("HOME", h.path())
        // Also for a daemon the bus activates, so it opens the same keyrings.
        .env("XDG_DATA_HOME", &data)
        .env("XDG_RUNTIME_DIR", &run)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "CAPISCIO_TUI_PYTHON",
            std::env::var_os("CAPISCIO_TUI_PYTHON").unwrap_or_default(),
        )
        .current_dir(h.path())
        .output()
        .unwrap()
}

const A: &str = "11111111-1111-4111-8111-111111111111";

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn generate_into_secret_service_and_list_from_a_fresh_process() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let out = session(
        &h,
        &format!(
            "$B keyring status --json | grep -q '\"writable\": true' || echo NOT-WRITABLE\n\
             $B generate --kind agent --id {A} --store keyring --json && echo ---LIST && $B list --json && echo ---TOOL && secret-tool search --all service capiscio-tui 2>&1"
        ),
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        !text.contains("NOT-WRITABLE"),
        "status says writable: {text}"
    );
    let generated: serde_json::Value =
        serde_json::from_str(text.split("---LIST").next().unwrap()).unwrap();
    let list: Vec<serde_json::Value> = serde_json::from_str(
        text.split("---LIST")
            .nth(1)
            .unwrap()
            .split("---TOOL")
            .next()
            .unwrap(),
    )
    .unwrap();
    let v = find(&list, A);
    assert_eq!(v["source"], "keyring");
    assert_eq!(v["location"], "keyring:secret-service");
    assert_eq!(v["key_did"], generated["key_did"]);
    assert_eq!(codes(v), ["keyring-only"]);
    let tool = text.split("---TOOL").nth(1).unwrap();
    assert!(tool.contains(&format!("attribute.id = {A}")), "{tool}");
    assert!(
        tool.contains(&format!(
            "attribute.key_did = {}",
            generated["key_did"].as_str().unwrap()
        )),
        "{tool}"
    );
    assert!(!h.agent_dir(A).exists(), "nothing was written to disk");
    assert_no_secrets(&text);
}

/// Stands in, in the test list, for the SDK half of the test below when it cannot run.
#[test]
#[cfg(not(all(capiscio_test_keyring, capiscio_test_interop)))]
#[ignore = "needs a real keyring and the real Python SDKs: set CAPISCIO_TUI_TEST_KEYRING=1 and CAPISCIO_TUI_PYTHON"]
fn sdk_half_of_import_and_export_back() {}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn import_and_export_back_are_byte_identical_for_both_kinds() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    capiscio_tui::store::disk::write_server(
        &h.server_dir("srv"),
        &capiscio_tui::core::key::KeyPair::from_seed(&[2; 32]),
    )
    .unwrap();
    let agent_before = std::fs::read(h.agent_dir(A).join("private.jwk")).unwrap();
    let server_before = std::fs::read(h.server_dir("srv").join("private_key.pem")).unwrap();
    let out = session(
        &h,
        &format!(
            "$B keyring import {A} && $B keyring import srv && test ! -e .capiscio/keys/{A}/private.jwk && test -e .capiscio/keys/{A}/public.jwk && test -e .capiscio/keys/{A}/keyring.json && $B list --json > list.json && $B export {A} --format jwk > exported.jwk && $B keyring export {A} --to-disk && $B keyring export srv --to-disk"
        ),
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(h.path().join("list.json")).unwrap())
            .unwrap();
    let a = find(&list, A);
    assert_eq!(a["source"], "keyring");
    assert_eq!(a["key_did"], DID1);
    assert_eq!(
        a["location"],
        h.agent_dir(A).to_str().unwrap(),
        "it shows up in its place"
    );
    assert!(
        std::fs::read_to_string(h.path().join("exported.jwk"))
            .unwrap()
            .contains(D1),
        "export works from the keyring"
    );
    // the interim list (the agent in the keyring, no plaintext key) is the one written above
    assert_eq!(
        std::fs::read(h.agent_dir(A).join("private.jwk")).unwrap(),
        agent_before
    );
    assert_eq!(
        std::fs::read(h.server_dir("srv").join("private_key.pem")).unwrap(),
        server_before
    );
    assert!(!h.agent_dir(A).join("keyring.json").exists());
    // Real SDK: the materialised key loads and yields the same DID.
    if let Some(py) = std::env::var_os("CAPISCIO_TUI_PYTHON").filter(|p| !p.is_empty()) {
        let out = Command::new(py)
            .arg(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sdk_check.py"),
            )
            .args(["agent-dir", h.agent_dir(A).to_str().unwrap()])
            .env_clear()
            .env("HOME", h.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["derived_did"], DID1);
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn delete_refuses_the_only_copy_and_removes_the_entry() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let out = session(
        &h,
        &format!(
            "$B keyring import {A} >/dev/null\n\
         $B keyring delete {A} --yes; echo \"only-copy-exit=$?\"\n\
         $B keyring export {A} --to-disk >/dev/null\n\
         $B keyring delete {A} --yes; echo \"delete-exit=$?\"\n\
         secret-tool search --all service capiscio-tui 2>&1 | grep -c attribute.id || true\n\
         $B list --json"
        ),
    );
    let text = stdout(&out);
    assert!(text.contains("only-copy-exit=1"), "{text}");
    assert!(stderr(&out).contains("only copy"), "{}", stderr(&out));
    assert!(text.contains("delete-exit=0"), "{text}");
    assert!(
        text.contains("\n0\n"),
        "entry gone from the Secret Service: {text}"
    );
    assert!(h.agent_dir(A).join("private.jwk").exists());
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn locked_collection_is_a_clear_error_and_loses_nothing() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let before = std::fs::read(h.agent_dir(A).join("private.jwk")).unwrap();
    let out = session(
        &h,
        &format!(
            "dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null\ntimeout 60 $B keyring import {A}; echo \"exit=$?\"; $B keyring status"
        ),
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("exit=1"), "{text}");
    assert!(
        text.contains("cannot store new secrets: the keyring is locked"),
        "status tells before a write fails: {text}"
    );
    assert!(
        text.contains("locked") || text.contains("did not answer"),
        "a clear reason: {text}"
    );
    assert_eq!(
        std::fs::read(h.agent_dir(A).join("private.jwk")).unwrap(),
        before,
        "nothing lost"
    );
    assert!(!h.agent_dir(A).join("keyring.json").exists());
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn a_keyring_daemon_without_a_login_collection_is_named_as_such() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    let out = session_with(
        &h,
        "eval \"$(gnome-keyring-daemon --start --components=secrets)\" >/dev/null\n",
        &format!("timeout 60 $B keyring import {A}; echo \"exit=$?\"; $B keyring status --json"),
    );
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("exit=1"), "{text}");
    assert!(text.contains("no default collection"), "{text}");
    let status: serde_json::Value =
        serde_json::from_str(stdout(&out).split("exit=1").nth(1).unwrap()).unwrap();
    assert_eq!(status["store"], "secret-service", "{status}");
    assert_eq!(status["writable"], false, "{status}");
    assert!(
        status["write_problem"]
            .as_str()
            .unwrap()
            .contains("no default collection"),
        "{status}"
    );
    assert!(!h.agent_dir(A).join("keyring.json").exists());
    assert!(h.agent_dir(A).join("private.jwk").exists());
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn no_secret_service_falls_back_or_says_why() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    // A session bus that cannot start a keyring daemon (no service activation).
    let config = h.path().join("bus.conf");
    std::fs::write(&config, r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:tmpdir=/tmp</listen>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>"#).unwrap();
    let out = Command::new("dbus-run-session")
        .arg(format!("--config-file={}", config.display()))
        .args(["--", "keyctl", "session", "-", "bash", "-c", &format!(
            "B='{}'; $B keyring status; echo \"auto=$?\"; $B --keyring secret-service keyring status; echo \"ss=$?\"",
            env!("CARGO_BIN_EXE_capiscio-tui")
        )])
        .env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("XDG_DATA_HOME", h.path().join("nothing"))
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("keyring: keyutils (volatile: lost on reboot)") && text.contains("auto=0"),
        "falls back to keyutils: {text}"
    );
    assert!(text.contains("ss=1"), "{text}");
    assert!(text.contains("secret-service:"), "says why: {text}");
    // And with no bus at all, --keyring none, or a missing keyutils session, nothing hangs.
    let out = h.run_env(&["--keyring", "none", "keyring", "status"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("disabled"));
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn keyutils_store_survives_a_fresh_process_in_the_same_session() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let out = session(
        &h,
        "$B --keyring keyutils generate --kind mcp-server --id ku-srv --store keyring --json >/dev/null && $B --keyring keyutils list --json && keyctl show @s",
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(text.split("Keyring").next().unwrap().trim())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
    let v = find(&list, "ku-srv");
    assert_eq!(v["location"], "keyring:keyutils");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"].as_str().unwrap().contains("lost on reboot"))
    );
    assert!(
        text.contains("keyring:mcp-server:ku-srv@capiscio-tui") || text.contains("capiscio-tui"),
        "{text}"
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn interrupted_import_never_loses_the_key() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, A, D1, X1, DID1);
    std::fs::rename(h.capiscio(), h.path().join("template")).unwrap();
    // SIGKILL at each state-changing system call of the import in turn (strace counts per
    // syscall and thread; N runs until the import finishes without reaching call N).
    let out = session(
        &h,
        &format!(
            "kills=0\n\
             for sc in openat write fsync rename renameat renameat2 unlink unlinkat; do\n\
               n=1\n\
               while [ $n -le 60 ]; do\n\
                 rm -rf .capiscio; cp -a template .capiscio\n\
                 strace -f -qq -o /dev/null -e trace=$sc -e inject=$sc:signal=SIGKILL:when=$n $B keyring import {A} >/dev/null 2>&1\n\
                 rc=$?\n\
                 if [ $rc -ne 137 ] && [ $rc -ne 265 ]; then break; fi\n\
                 kills=$((kills+1))\n\
                 $B export {A} --format jwk 2>/dev/null | grep -q '{D1}' || echo \"LOST at $sc #$n\"\n\
                 n=$((n+1))\n\
               done\n\
             done\n\
             echo \"kills=$kills\""
        ),
    );
    let text = stdout(&out);
    assert!(!text.contains("LOST"), "{text}\n{}", stderr(&out));
    let kills: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("kills="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count: {text}\n{}", stderr(&out)));
    assert!(
        kills >= 10,
        "the import was killed only {kills} times: {text}"
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_keyring),
    ignore = "needs a real Secret Service and keyutils: set CAPISCIO_TUI_TEST_KEYRING=1 (see README, Development)"
)]
fn login_stores_the_api_key_and_env_still_wins() {
    if !enabled() {
        return;
    }
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", "sk_test_from_keyring"]);
    seed_agent(&h, A, D1, X1, DID1);
    let out = session(
        &h,
        &format!(
            "printf %s sk_test_from_keyring | $B login\n\
         CAPISCIO_SERVER_URL={url} $B status\n\
         echo ---ENV\n\
         CAPISCIO_SERVER_URL={url} CAPISCIO_API_KEY=sk_test_wrong_key $B status\n\
         echo ---LOGOUT\n\
         $B logout\n\
         CAPISCIO_SERVER_URL={url} $B status",
            url = reg.url
        ),
    );
    let text = stdout(&out);
    assert!(text.contains("Stored the API key sk_t…"), "{text}");
    let (with_keyring, rest) = text.split_once("---ENV").unwrap();
    assert!(with_keyring.contains("from keyring"), "{with_keyring}");
    assert!(!with_keyring.contains("error (HTTP 401)"), "{with_keyring}");
    let (with_env, after_logout) = rest.split_once("---LOGOUT").unwrap();
    assert!(
        with_env.contains("from env") && with_env.contains("HTTP 401"),
        "env wins: {with_env}"
    );
    assert!(
        after_logout.contains("Removed the API key") && after_logout.contains("no API key"),
        "{after_logout}"
    );
    assert!(
        !text.contains("sk_test_from_keyring"),
        "the key is never printed"
    );
}
