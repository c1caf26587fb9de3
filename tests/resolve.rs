//! What a command's identity argument may be, through the real binary: ids, names
//! (agent card, registry record), DIDs, fingerprints and unique prefixes of any of them;
//! and an MCP server's folder name after the registry gave it an id of its own.

mod support;

use serde_json::Value;
use std::path::PathBuf;
use support::*;

const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
const KEY: &str = "sk_test_0123456789abcdefSECRET";

/// An agent with key 1 or 2 and an agent card carrying `name`.
fn agent(h: &Home, id: &str, which: u8, name: &str) -> PathBuf {
    let (d, x, did) = match which {
        1 => (D1, X1, DID1),
        _ => (D2, X2, DID2),
    };
    let dir = seed_agent(h, id, d, x, did);
    write(
        &dir.join("agent-card.json"),
        serde_json::json!({ "name": name, "id": did }).to_string(),
        0o644,
    );
    dir
}

/// `show <arg> --json`: the id it resolved to.
fn shown_id(h: &Home, arg: &str) -> String {
    let out = h.run(&["show", arg, "--json"]);
    assert!(
        out.status.success(),
        "show {arg}: {}",
        stderr(&out).trim_end()
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_string()
}

fn failure(h: &Home, args: &[&str]) -> String {
    let out = h.run(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
    let err = stderr(&out);
    assert_no_secrets(&err);
    assert_no_secrets(&stdout(&out));
    err
}

#[test]
fn show_by_card_name_and_by_a_prefix_of_it() {
    let h = Home::new();
    agent(&h, A, 1, "billing-agent");
    agent(&h, B, 2, "search-agent");
    assert_eq!(shown_id(&h, "billing-agent"), A);
    assert_eq!(
        shown_id(&h, "BILLING-AGENT"),
        A,
        "names match case-insensitively"
    );
    assert_eq!(shown_id(&h, "billing"), A);
    assert_eq!(shown_id(&h, "search-agent"), B);
    // The text output and the other commands resolve the same way.
    let out = h.run(&["show", "billing-agent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(A), "{}", stdout(&out));
    let out = h.run(&["export", "search-agent", "--format", "jwk"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn show_by_did_key_fingerprint_and_their_prefixes() {
    let h = Home::new();
    agent(&h, A, 1, "billing-agent");
    agent(&h, B, 2, "search-agent");
    assert_eq!(shown_id(&h, DID1), A);
    assert_eq!(shown_id(&h, DID2), B);
    assert_eq!(shown_id(&h, FP1), A);
    assert_eq!(shown_id(&h, &FP1[..6]), A);
    assert_eq!(shown_id(&h, &DID2[..20]), B);
}

#[test]
fn ambiguous_name_prefix_lists_the_candidates_by_name_and_id() {
    let h = Home::new();
    agent(&h, A, 1, "billing-agent");
    agent(&h, B, 2, "billing-reports");
    let err = failure(&h, &["show", "bill"]);
    assert!(err.contains("`bill` matches 2 identities"), "{err}");
    assert!(err.contains(&format!("billing-agent ({A})")), "{err}");
    assert!(err.contains(&format!("billing-reports ({B})")), "{err}");
    // The same name twice is ambiguous even when typed in full.
    let h = Home::new();
    agent(&h, A, 1, "twin");
    agent(&h, B, 2, "twin");
    let err = failure(&h, &["rotate", "twin", "--dry-run"]);
    assert!(err.contains("`twin` matches 2 identities"), "{err}");
    assert!(
        err.contains(&format!("twin ({A})")) && err.contains(&format!("twin ({B})")),
        "{err}"
    );
}

#[test]
fn exact_matches_beat_prefixes_and_an_exact_id_beats_a_name() {
    let h = Home::new();
    // A's card is named with B's id: typing that id means B, not A.
    agent(&h, A, 1, B);
    agent(&h, B, 2, "billing-agent");
    assert_eq!(shown_id(&h, B), B);
    // A's name is a prefix of B's name: the exact name wins over the prefix.
    let h = Home::new();
    agent(&h, A, 1, "billing");
    agent(&h, B, 2, "billing-agent");
    assert_eq!(shown_id(&h, "billing"), A);
    assert_eq!(shown_id(&h, "billing-"), B);
}

#[test]
fn unknown_argument_lists_known_identities_with_names() {
    let h = Home::new();
    agent(&h, A, 1, "billing-agent");
    seed_server(&h, "weather-mcp", PEM2);
    let err = failure(&h, &["show", "nope"]);
    assert!(err.contains("no identity matches `nope`"), "{err}");
    assert!(err.contains(&format!("billing-agent ({A})")), "{err}");
    assert!(err.contains("weather-mcp"), "{err}");
}

#[test]
fn an_argument_shaped_like_key_material_is_not_echoed() {
    let h = Home::new();
    agent(&h, A, 1, "billing-agent");
    for arg in [D2, "MC4CAQAwBQYDK2VwBCIEIAABAgME", PEM2] {
        let err = failure(&h, &["show", "--", arg]);
        assert!(err.contains("not shown"), "{err}");
        assert!(!err.contains(&arg[..16]), "{err}");
    }
}

#[test]
fn mcp_server_answers_to_its_folder_name_after_register() {
    let h = Home::new();
    let reg = DevReg::start(&["--api-key", KEY]);
    let env = [
        ("CAPISCIO_SERVER_URL", reg.url.as_str()),
        ("CAPISCIO_API_KEY", KEY),
    ];
    let out = h.run_env(
        &[
            "generate",
            "--kind",
            "mcp-server",
            "--id",
            "weather-mcp",
            "--register",
        ],
        &env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let hint = stderr(&out);
    assert!(
        hint.contains("capiscio-tui export weather-mcp --format env"),
        "{hint}"
    );
    let resolved = std::fs::read_to_string(h.server_dir("weather-mcp").join(".resolved_server_id"))
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(resolved, "weather-mcp");
    // The hint generate printed still works, online and offline.
    let out = h.run_env(&["export", "weather-mcp", "--format", "env"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = h.run(&["export", "weather-mcp", "--format", "env"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The registry's id names it too.
    let out = h.run_env(&["show", &resolved, "--json"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // `show` and `--json`: id is the folder, registry_id the registry's.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id"], "weather-mcp");
    assert_eq!(v["registry_id"], resolved);
    assert_eq!(v["registry"]["registered"], true, "{v:#}");
    let out = h.run_env(&["show", "weather-mcp"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Registry id"), "{text}");
    assert!(text.contains(&resolved), "{text}");
    let list = h.list_json(&env);
    let s = find(&list, "weather-mcp");
    assert_eq!(s["registry_id"], resolved);
    assert!(
        s["name"].is_null(),
        "the folder is not shown as a name: {s:#}"
    );
    // `list`: the row shows the folder id, not the folder as NAME beside the registry id.
    let out = h.run_env(&["list"], &env);
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.contains("weather-mcp"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(!row.contains(&resolved), "{row}");
    // Registry calls still use the registry's id: a badge for it is issued.
    let out = h.run_env(&["badge", "request", "weather-mcp"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    // Rotating it by its folder id re-registers the new key under the registry's id.
    let out = h.run_env(&["rotate", "weather-mcp", "--yes", "--json"], &env);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, rec) = reg.call(
        "GET",
        &format!("/v1/sdk/servers/{resolved}"),
        None,
        Some(KEY),
    );
    assert_eq!(code, 200, "{rec}");
    let v: Value =
        serde_json::from_slice(&h.run(&["show", "weather-mcp", "--json"]).stdout).unwrap();
    assert_eq!(rec["data"]["did"], v["key_did"], "{rec:#}");
}
