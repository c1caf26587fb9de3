//! Interoperability with the real CapiscIO Python SDKs (capiscio-sdk 2.7.1 and
//! capiscio-mcp 2.7.1 from PyPI). `.ci/run` installs them and sets
//! CAPISCIO_TUI_PYTHON; without it these tests report themselves skipped, unless
//! CAPISCIO_TUI_REQUIRE_INTEROP=1 (as in CI), where a missing SDK is a failure.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;

fn python() -> Option<PathBuf> {
    match std::env::var_os("CAPISCIO_TUI_PYTHON") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            assert!(
                std::env::var_os("CAPISCIO_TUI_REQUIRE_INTEROP").is_none(),
                "CAPISCIO_TUI_REQUIRE_INTEROP is set but CAPISCIO_TUI_PYTHON is not"
            );
            eprintln!(
                "skipped: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk and capiscio-mcp 2.7.1"
            );
            None
        }
    }
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn sdk(py: &Path, home: &Home, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut c = Command::new(py);
    c.arg(interop_dir().join("sdk_check.py"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "sdk_check {args:?} failed:\n{}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

fn generate(home: &Home, kind: &str, id: &str) -> serde_json::Value {
    let out = home.run(&["generate", "--kind", kind, "--id", id, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

const AGENT: &str = "4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f";
const SERVER: &str = "9b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f";

#[test]
#[cfg_attr(
    not(capiscio_test_interop),
    ignore = "needs the real Python SDKs: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk==2.7.1 capiscio-mcp==2.7.1 pyyaml (see README, Development)"
)]
fn generated_keys_are_recognised_by_the_sdk_loaders() {
    let Some(py) = python() else { return };
    let h = Home::new();
    let agent = generate(&h, "agent", AGENT);
    let server = generate(&h, "mcp-server", SERVER);

    let a = sdk(
        &py,
        &h,
        &["agent-dir", h.agent_dir(AGENT).to_str().unwrap()],
        &[],
    );
    assert_eq!(
        a["sdk_did"], agent["key_did"],
        "public.jwk kid is the DID the SDK reads"
    );
    assert_eq!(a["derived_did"], agent["key_did"]);
    assert_eq!(a["fingerprint"], agent["fingerprint"]);
    assert_eq!(a["x_matches"], true);
    assert_eq!(
        a["private_unchanged"], true,
        "connect() recovered the key instead of regenerating"
    );
    let connect_did = a["connect_did"].as_str().unwrap();
    assert!(
        connect_did.starts_with("did:web:127.0.0.1:")
            && connect_did.ends_with(&format!(":agents:{AGENT}")),
        "{connect_did}"
    );

    let s = sdk(
        &py,
        &h,
        &["server-dir", h.server_dir(SERVER).to_str().unwrap(), SERVER],
        &[],
    );
    assert_eq!(s["sdk_did"], server["key_did"]);
    assert_eq!(
        s["private_unchanged"], true,
        "the MCP SDK normalises the PEM it loads; ours is already canonical"
    );
    assert!(
        s["identity_did"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":agents:{SERVER}"))
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_interop),
    ignore = "needs the real Python SDKs: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk==2.7.1 capiscio-mcp==2.7.1 pyyaml (see README, Development)"
)]
fn every_export_format_reaches_the_sdk_through_a_real_shell() {
    let Some(py) = python() else { return };
    let h = Home::new();
    let agent = generate(&h, "agent", AGENT);
    let server = generate(&h, "mcp-server", SERVER);
    let cases: Vec<(&str, &serde_json::Value, &str, &str)> = {
        let mut v = Vec::new();
        for f in [
            "env", "jwk", "compose", "k8s", "lambda", "cloudrun", "github",
        ] {
            v.push((AGENT, &agent, f, "agent"));
            v.push((SERVER, &server, f, "agent")); // a server key as a JWK with its did:key kid
        }
        for f in [
            "env", "pem", "compose", "k8s", "lambda", "cloudrun", "github",
        ] {
            v.push((SERVER, &server, f, "mcp-server"));
            v.push((AGENT, &agent, f, "mcp-server")); // an agent key as PEM
        }
        v
    };
    for (id, ident, format, target) in cases {
        let export_format = match (format, target) {
            ("jwk", _) | ("pem", _) => format,
            _ => format,
        };
        let out = h.run(&["export", id, "--format", export_format, "--as", target]);
        assert!(out.status.success(), "{}", stderr(&out));
        let snippet = h.path().join(format!("snippet-{id}-{format}-{target}"));
        std::fs::write(&snippet, &out.stdout).unwrap();
        let (var, cmd) = match target {
            "agent" => ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", "env-agent"),
            _ => ("CAPISCIO_SERVER_PRIVATE_KEY_PEM", "env-server"),
        };
        let keys = tempfile::tempdir().unwrap();
        let run = Command::new("sh")
            .arg(interop_dir().join("feed.sh"))
            .args([
                format,
                snippet.to_str().unwrap(),
                var,
                py.to_str().unwrap(),
                "--",
            ])
            .arg(&py)
            .arg(interop_dir().join("sdk_check.py"))
            .args([cmd, keys.path().to_str().unwrap(), AGENT])
            .env_clear()
            .env("HOME", h.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{format} as {target} for {id}: {}",
            stderr(&run)
        );
        let got: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let want = &ident["key_did"];
        assert_eq!(&got["sdk_did"], want, "{format} as {target} for {id}");
        if target == "agent" {
            assert_eq!(&got["derived_did"], want);
            assert_eq!(got["x_matches"], true);
        } else {
            assert_eq!(&got["persisted_did"], want);
        }
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_interop),
    ignore = "needs the real Python SDKs: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk==2.7.1 capiscio-mcp==2.7.1 pyyaml (see README, Development)"
)]
fn identities_written_by_the_sdks_are_listed_with_the_same_did() {
    let Some(py) = python() else { return };
    // Keys come from our exporter in a scratch home; the SDKs persist them into `h`.
    let scratch = Home::new();
    generate(&scratch, "agent", AGENT);
    generate(&scratch, "mcp-server", SERVER);
    let jwk = stdout(&scratch.run(&["export", AGENT, "--format", "jwk"]));
    let pem = stdout(&scratch.run(&["export", SERVER, "--format", "pem"]));
    let h = Home::new();
    let got = sdk(
        &py,
        &h,
        &["persist", AGENT, SERVER],
        &[
            ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", jwk.trim_end()),
            ("CAPISCIO_SERVER_PRIVATE_KEY_PEM", &pem),
        ],
    );
    let list = h.list_json(&[]);
    let a = find(&list, AGENT);
    assert_eq!(a["key_did"], got["agent"]["derived_did"]);
    assert_eq!(a["did"], got["agent"]["derived_did"]);
    assert_eq!(a["fingerprint"], got["agent"]["fingerprint"]);
    assert_eq!(a["source"], "disk");
    let s = find(&list, SERVER);
    assert_eq!(s["key_did"], got["server"]["key_did"]);
    assert_eq!(s["fingerprint"], got["server"]["fingerprint"]);
    assert_eq!(
        s["did"], got["server"]["identity_did"],
        "did.txt holds the SDK's did:web"
    );
    // The SDK writes private.jwk before chmod and leaves its directories 0755: only warnings.
    for v in [a, s] {
        assert!(
            v["problems"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["severity"] == "warning"),
            "{v:#}"
        );
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_interop),
    ignore = "needs the real Python SDKs: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk==2.7.1 capiscio-mcp==2.7.1 pyyaml (see README, Development)"
)]
fn the_real_sdks_connect_to_our_development_registry() {
    let Some(py) = python() else { return };
    const KEY: &str = "sk_test_interop_registry";
    let reg = DevReg::start(&["--api-key", KEY]);
    // Keys exported by our tool from a scratch home, injected the documented way.
    let scratch = Home::new();
    let agent = generate(&scratch, "agent", AGENT);
    let server = generate(&scratch, "mcp-server", SERVER);
    let jwk = stdout(&scratch.run(&["export", AGENT, "--format", "jwk"]));
    let pem = stdout(&scratch.run(&["export", SERVER, "--format", "env"]));
    let pem_value = pem
        .trim_end()
        .trim_start_matches("CAPISCIO_SERVER_PRIVATE_KEY_PEM='")
        .trim_end_matches('\'')
        .to_string();

    let h = Home::new();
    let a = sdk(
        &py,
        &h,
        &["connect-agent", &reg.url, KEY],
        &[("CAPISCIO_AGENT_PRIVATE_KEY_JWK", jwk.trim_end())],
    );
    let agent_id = a["agent_id"].as_str().unwrap().to_string();
    assert_eq!(
        a["did"], agent["key_did"],
        "the SDK reports the injected key's DID"
    );
    let s = sdk(
        &py,
        &h,
        &["connect-server", &reg.url, KEY, SERVER],
        &[("CAPISCIO_SERVER_PRIVATE_KEY_PEM", &pem_value)],
    );
    let server_id = s["server_id"].as_str().unwrap().to_string();
    assert_ne!(
        server_id, SERVER,
        "PUT 404 made the SDK create the server under a new id"
    );
    assert!(
        s["badge"]
            .as_str()
            .is_some_and(|b| b.split('.').count() == 3),
        "the MCP SDK got a badge: {s}"
    );

    // Our status shows both with the DIDs the SDKs report.
    let out = h.run_env(
        &["status", "--json"],
        &[("CAPISCIO_SERVER_URL", &reg.url), ("CAPISCIO_API_KEY", KEY)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ag = find(&list, &agent_id);
    assert_eq!(ag["did"], a["did"]);
    assert_eq!(ag["key_did"], agent["key_did"]);
    assert_eq!(
        ag["registry"]["status"], "active",
        "connect() activated the agent"
    );
    assert_eq!(ag["registry"]["did"], a["did"]);
    // The server keeps its folder id; the id the registry gave it is `registry_id`.
    let sv = find(&list, SERVER);
    assert_eq!(sv["registry_id"], server_id.as_str());
    assert_eq!(sv["did"], s["did"], "did.txt holds the SDK's did:web");
    assert_eq!(sv["key_did"], server["key_did"]);
    assert_eq!(sv["registry"]["status"], "active");
    assert!(
        !codes(sv).contains(&"registry-did-mismatch".to_string()),
        "{sv:#}"
    );
}

/// `generate --register` creates the agent record the way the SDK does and names the
/// directory by the registry's id; the real SDK's `connect()` against the same registry
/// and home then finds that identity: same DID, the key file untouched, no new key.
#[test]
#[cfg_attr(
    not(capiscio_test_interop),
    ignore = "needs the real Python SDKs: set CAPISCIO_TUI_PYTHON to a Python with capiscio-sdk==2.7.1 capiscio-mcp==2.7.1 pyyaml (see README, Development)"
)]
fn generate_register_then_the_real_sdk_connects_with_the_same_key() {
    let Some(py) = python() else { return };
    const KEY: &str = "sk_test_interop_register";
    let reg = DevReg::start(&["--api-key", KEY]);
    let h = Home::new();
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    let out = h.run_env(
        &[
            "generate",
            "--kind",
            "agent",
            "--name",
            "py-billing",
            "--register",
            "--json",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = g["id"].as_str().unwrap().to_string();
    assert!(h.agent_dir(&id).join("private.jwk").exists(), "{g:#}");
    let a = sdk(&py, &h, &["connect-agent-id", &reg.url, KEY, &id], &[]);
    assert_eq!(a["agent_id"], id.as_str());
    assert_eq!(a["did"], g["key_did"], "the SDK uses our key's DID: {a:#}");
    assert_eq!(a["key_unchanged"], true, "the SDK minted no new key");
    let keys = std::fs::read_dir(h.capiscio().join("keys"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(keys, 1, "one identity, not a second one made by the SDK");
}
