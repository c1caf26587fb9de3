//! The binary against the development registry on loopback: every badge state, the
//! registry's failure modes, registration and badge requests.

mod support;

use capiscio_tui::core::{b64, badge, jwk, key::KeyPair};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::*;

const KEY: &str = "sk_test_0123456789abcdefSECRET";

fn uuid(n: u8) -> String {
    format!("{n:02x}{n:02x}{n:02x}{n:02x}-0000-4000-8000-0000000000{n:02x}")
}

struct World {
    home: Home,
    reg: DevReg,
}

impl World {
    fn new(reg_args: &[&str]) -> Self {
        let mut args = vec!["--api-key", KEY];
        args.extend_from_slice(reg_args);
        Self {
            home: Home::new(),
            reg: DevReg::start(&args),
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("CAPISCIO_SERVER_URL", self.reg.url.as_str()),
            ("CAPISCIO_API_KEY", KEY),
        ]
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let out = self.home.run_env(args, &self.env());
        assert_no_key(&out);
        out
    }

    /// A disk agent whose key is registered with the dev registry.
    fn agent(&self, n: u8, name: &str) -> (String, KeyPair) {
        let id = uuid(n);
        let key = KeyPair::from_seed(&[n; 32]);
        let dir = self.home.agent_dir(&id);
        capiscio_tui::store::disk::write_agent(
            &dir,
            &key,
            Some(&format!(r#"{{"name":"{name}"}}"#)),
        )
        .unwrap();
        let (code, _) = self.reg.post(
            "/v1/sdk/agents",
            &json!({"id": id, "name": name, "status": "active"}).to_string(),
            Some(KEY),
        );
        assert_eq!(code, 201);
        let out = self.run(&["register", &id]);
        assert!(out.status.success(), "register: {}", stderr(&out));
        (id, key)
    }

    fn request_badge(&self, id: &str) -> String {
        let out = self.run(&["badge", "request", id, "--json"]);
        assert!(out.status.success(), "badge request: {}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["jti"].as_str().unwrap().to_string()
    }

    fn dev_badge(&self, id: &str, iat: i64, exp: i64) {
        let (code, v) = self.reg.post(
            "/_dev/badges",
            &json!({"agent_id": id, "iat": iat, "exp": exp}).to_string(),
            None,
        );
        assert_eq!(code, 200, "{v}");
        write(
            &self.home.agent_dir(id).join("badge.jwt"),
            v["token"].as_str().unwrap(),
            0o600,
        );
    }

    fn status(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["status", "--json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        assert!(out.status.success(), "status: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn assert_no_key(out: &std::process::Output) {
    for text in [stdout(out), stderr(out)] {
        assert!(
            !text.contains("0123456789abcdefSECRET"),
            "API key leaked:\n{text}"
        );
    }
}

fn state(list: &[Value], id: &str) -> String {
    let v = find(list, id);
    match &v["badge"] {
        Value::Null => "no-badge".into(),
        b => b["state"].as_str().unwrap().to_string(),
    }
}

#[test]
fn every_badge_state_is_reported() {
    let w = World::new(&[]);
    let now = now();
    let (valid, _) = w.agent(1, "valid-agent");
    w.request_badge(&valid);
    let (expiring, _) = w.agent(2, "expiring-agent");
    w.dev_badge(&expiring, now - 280, now + 20);
    let (expired, _) = w.agent(3, "expired-agent");
    w.dev_badge(&expired, now - 900, now - 600);
    let (future, _) = w.agent(4, "future-agent");
    w.dev_badge(&future, now + 3600, now + 7200);
    let (revoked, _) = w.agent(5, "revoked-agent");
    let jti = w.request_badge(&revoked);
    assert_eq!(
        w.reg
            .post(&format!("/v1/badges/{jti}/revoke"), "{}", Some(KEY))
            .0,
        200
    );
    let (disabled, _) = w.agent(6, "disabled-agent");
    w.request_badge(&disabled);
    assert_eq!(
        w.reg
            .post(
                &format!("/v1/agents/{disabled}/disable"),
                r#"{"reason":"test"}"#,
                Some(KEY)
            )
            .0,
        200
    );
    let (forged, _) = w.agent(7, "forged-agent");
    let impostor = KeyPair::from_seed(&[99; 32]);
    let payload = json!({"jti": "forged-1", "iss": w.reg.url, "sub": format!("did:web:{}:agents:{forged}", w.reg.host().replace(':', "%3A")), "iat": now - 10, "exp": now + 290, "ial": "0",
        "key": {"kty": "OKP", "crv": "Ed25519", "x": b64::url_encode(KeyPair::from_seed(&[7; 32]).public().as_bytes())}});
    write(
        &w.home.agent_dir(&forged).join("badge.jwt"),
        badge::sign_compact(
            r#"{"alg":"EdDSA","typ":"JWT"}"#,
            &payload.to_string(),
            &impostor,
        ),
        0o600,
    );
    let (wrong, _) = w.agent(8, "wrong-subject-agent");
    std::fs::copy(
        w.home.agent_dir(&valid).join("badge.jwt"),
        w.home.agent_dir(&wrong).join("badge.jwt"),
    )
    .unwrap();
    let (none, _) = w.agent(9, "no-badge-agent");
    let (selfsigned, _) = w.agent(10, "dev-agent");
    let out = w.run(&["badge", "issue", "--self-sign", &selfsigned]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Disabled with a badge that has also expired: the agent's state is its own error,
    // not lost behind the badge's expiry.
    let (paused, _) = w.agent(12, "paused-agent");
    w.dev_badge(&paused, now - 900, now - 600);
    assert_eq!(
        w.reg
            .post(&format!("/v1/agents/{paused}/disable"), "{}", Some(KEY))
            .0,
        200
    );
    let (flaky, _) = w.agent(11, "flaky-agent");
    let flaky_jti = w.request_badge(&flaky);
    w.reg
        .fault(json!({"path_prefix": format!("/v1/badges/{flaky_jti}/status"), "status": 500}));

    let list = w.status(&[]);
    assert_eq!(state(&list, &valid), "valid");
    assert_eq!(state(&list, &expiring), "expiring");
    assert_eq!(state(&list, &expired), "expired");
    assert_eq!(state(&list, &future), "not-yet-valid");
    assert_eq!(state(&list, &revoked), "revoked");
    assert_eq!(state(&list, &disabled), "agent-disabled");
    assert_eq!(state(&list, &forged), "signature-invalid");
    assert_eq!(state(&list, &wrong), "wrong-subject");
    assert_eq!(state(&list, &none), "no-badge");
    assert_eq!(state(&list, &selfsigned), "valid");
    assert_eq!(state(&list, &flaky), "registry-error");
    assert_eq!(
        find(&list, &flaky)["badge"]["reason"],
        "revocation check: HTTP 500"
    );
    assert!(codes(find(&list, &revoked)).contains(&"badge-revoked".to_string()));
    assert!(codes(find(&list, &disabled)).contains(&"agent-disabled".to_string()));
    // A badge for a disabled agent is refused for that reason, not blamed on the key.
    let out = w.run(&["badge", "request", &disabled]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("agent disabled"), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("API key rejected"),
        "{}",
        stderr(&out)
    );
    assert_eq!(state(&list, &paused), "expired");
    let paused_codes = codes(find(&list, &paused));
    assert!(
        paused_codes.contains(&"agent-disabled".to_string())
            && paused_codes.contains(&"badge-expired".to_string()),
        "{paused_codes:?}"
    );
    assert_eq!(
        paused_codes
            .iter()
            .filter(|c| *c == "agent-disabled")
            .count(),
        1,
        "reported once"
    );
    assert_eq!(find(&list, &valid)["registry"]["status"], "active");
    assert_eq!(find(&list, &valid)["badge"]["trust_level"], "1");

    // Offline: registry badges are unverified, self-signed ones still verify.
    let offline = w.status(&["--offline"]);
    assert_eq!(state(&offline, &valid), "unverified");
    assert_eq!(find(&offline, &valid)["badge"]["reason"], "offline");
    assert_eq!(state(&offline, &selfsigned), "valid");
    assert!(find(&offline, &valid)["registry"].is_null());

    // The human table says the same.
    let text = stdout(&w.run(&["status"]));
    for s in [
        "valid",
        "expiring",
        "expired",
        "not-yet-valid",
        "revoked",
        "agent-disabled",
        "signature-invalid",
        "wrong-subject",
        "no-badge",
        "registry-error (revocation check: HTTP 500)",
    ] {
        assert!(text.contains(s), "status table lacks {s}:\n{text}");
    }
    // One identity by name.
    let one = w.status(&[&valid]);
    assert_eq!(one.len(), 1);
}

#[test]
fn many_badges_use_the_revocation_list() {
    let w = World::new(&[]);
    let mut revoked = Vec::new();
    for n in 1..=40u8 {
        let (id, _) = w.agent(n, &format!("agent-{n}"));
        let jti = w.request_badge(&id);
        if n % 10 == 0 {
            w.reg
                .post(&format!("/v1/badges/{jti}/revoke"), "{}", Some(KEY));
            revoked.push(id);
        }
    }
    w.reg.clear_faults();
    let before = w.reg.get("/_dev/requests").1["requests"]
        .as_array()
        .unwrap()
        .len();
    let list = w.status(&[]);
    let log = w.reg.get("/_dev/requests").1["requests"]
        .as_array()
        .unwrap()
        .clone();
    let per_badge = log[before..]
        .iter()
        .filter(|r| {
            r["path"].as_str().unwrap().ends_with("/status")
                && r["path"].as_str().unwrap().contains("/badges/")
        })
        .count();
    assert_eq!(
        per_badge, 0,
        "40 badges are checked through one revocation-list request"
    );
    assert_eq!(
        log[before..]
            .iter()
            .filter(|r| r["path"] == "/v1/revocations")
            .count(),
        1
    );
    for id in &revoked {
        assert_eq!(state(&list, id), "revoked");
    }
    assert_eq!(
        list.iter()
            .filter(|v| v["badge"]["state"] == "valid")
            .count(),
        36
    );
}

#[test]
fn registry_failures_are_per_identity_and_never_hang() {
    let w = World::new(&[]);
    let (a, _) = w.agent(1, "a");
    w.request_badge(&a);
    let (b, _) = w.agent(2, "b");
    w.request_badge(&b);
    // The agent record of `b` fails; `a` must be unaffected.
    w.reg.fault(
        json!({"path_prefix": format!("/v1/sdk/agents/{b}"), "method": "GET", "status": 500}),
    );
    let list = w.status(&[]);
    assert_eq!(state(&list, &a), "valid");
    assert_eq!(find(&list, &b)["registry"]["error"], "HTTP 500");
    assert_eq!(state(&list, &b), "registry-error");
    w.reg.clear_faults();

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"path_prefix": "/v1/sdk/agents", "raw": "{not json at all"}),
            "malformed reply",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "body_size": 20_000_000}),
            "reply too large",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "truncate": true}),
            "malformed reply",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "delay_ms": 4000}),
            "timeout",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "slow_body_ms": 400}),
            "timeout",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "status": 503}),
            "HTTP 503",
        ),
        // A 200 that names no agent is no answer (read as "active" it hid a disabled one).
        (
            json!({"path_prefix": "/v1/sdk/agents", "status": 200, "body": {}}),
            "malformed reply",
        ),
        (
            json!({"path_prefix": "/v1/sdk/agents", "status": 200, "body": {"data": {}}}),
            "malformed reply",
        ),
    ];
    for (fault, reason) in cases {
        w.reg.clear_faults();
        w.reg.fault(fault.clone());
        let t = Instant::now();
        let list = w.status(&["--registry-timeout", "2"]);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "{fault}: took {:?}",
            t.elapsed()
        );
        assert_eq!(find(&list, &a)["registry"]["error"], reason, "{fault}");
    }
}

#[test]
fn registry_down_is_reported_not_fatal() {
    let h = Home::new();
    let key = KeyPair::from_seed(&[1; 32]);
    capiscio_tui::store::disk::write_agent(&h.agent_dir(&uuid(1)), &key, None).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let t = Instant::now();
    let out = h.run_env(
        &["status", "--json"],
        &[("CAPISCIO_SERVER_URL", &url), ("CAPISCIO_API_KEY", KEY)],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(t.elapsed() < Duration::from_secs(10));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(find(&list, &uuid(1))["registry"]["error"], "unreachable");
    assert_no_key(&out);
    // plain http to a non-loopback host is refused before any request
    let out = h.run_env(
        &["status"],
        &[("CAPISCIO_SERVER_URL", "http://registry.example.com")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("must use https"), "{}", stderr(&out));
}

#[test]
fn cross_host_redirects_never_carry_the_key() {
    use std::io::{Read, Write};
    let w = World::new(&[]);
    let (a, _) = w.agent(1, "a");
    // A second "host" (localhost instead of 127.0.0.1) that records what it receives.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen2 = seen.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let thief = std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let n = s.read(&mut buf).unwrap_or(0);
                seen2
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    w.reg.fault(json!({"path_prefix": format!("/v1/sdk/agents/{a}"), "redirect": format!("http://localhost:{port}/v1/sdk/agents/{a}")}));
    let list = w.status(&[]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    thief.join().unwrap();
    assert_eq!(
        find(&list, &a)["registry"]["error"],
        "cross-host redirect refused"
    );
    let got = seen.lock().unwrap().clone();
    assert!(
        !got.contains("0123456789abcdefSECRET"),
        "key sent to the other host: {got}"
    );
}

#[test]
fn key_goes_only_where_it_is_needed() {
    let w = World::new(&[]);
    let (a, _) = w.agent(1, "a");
    w.request_badge(&a);
    w.status(&[]);
    let log = w.reg.get("/_dev/requests").1["requests"]
        .as_array()
        .unwrap()
        .clone();
    for r in &log {
        let p = r["path"].as_str().unwrap();
        if p.starts_with("/_dev/") {
            continue;
        }
        let expect =
            p.starts_with("/v1/sdk/") || (r["method"] == "POST" && p.starts_with("/v1/agents/"));
        assert_eq!(r["had_api_key"].as_bool().unwrap(), expect, "{r}");
    }
    // Without a key the public routes still answer and nothing needs one.
    let out = w.home.run_env(
        &["status", "--json"],
        &[("CAPISCIO_SERVER_URL", &w.reg.url)],
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state(&list, &a), "valid");
    assert_eq!(find(&list, &a)["registry"]["status"], "active");
}

#[test]
fn registry_did_mismatch_after_an_unregistered_rotation() {
    let w = World::new(&[]);
    let (a, _) = w.agent(1, "rotated");
    // rotate locally: new key in place of the registered one
    let dir = w.home.agent_dir(&a);
    std::fs::remove_dir_all(&dir).unwrap();
    capiscio_tui::store::disk::write_agent(&dir, &KeyPair::from_seed(&[42; 32]), None).unwrap();
    let list = w.status(&[]);
    let v = find(&list, &a);
    assert!(
        codes(v).contains(&"registry-did-mismatch".to_string()),
        "{v:#}"
    );
    assert_eq!(
        v["registry"]["did"],
        KeyPair::from_seed(&[1; 32]).public().did_key()
    );
}

#[test]
fn both_reply_shapes_are_understood() {
    for variant in ["envelope", "bare"] {
        let w = World::new(&["--variant", variant]);
        let (a, _) = w.agent(1, "a");
        w.request_badge(&a);
        let list = w.status(&[]);
        assert_eq!(state(&list, &a), "valid", "{variant}");
        assert_eq!(find(&list, &a)["registry"]["name"], "a", "{variant}");
    }
}

#[test]
fn register_explains_every_answer() {
    let w = World::new(&[]);
    // Registering the key the registry already holds changes nothing, and says so.
    let (a, _) = w.agent(1, "a");
    let out = w.run(&["register", &a]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("already holds"), "{}", stdout(&out));
    // 409 for another key: success for the SDKs, explained for the user, with the way out.
    let other = KeyPair::from_seed(&[9; 32]);
    w.reg.post(
        "/v1/sdk/agents",
        &json!({"id": uuid(4), "name": "d", "did": other.public().did_key()}).to_string(),
        Some(KEY),
    );
    let out = w.run(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        &uuid(4),
        "--register",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("409")
            && stderr(&out).contains("dashboard")
            && stderr(&out).contains(&format!("rotate {} --new-agent", uuid(4))),
        "{}",
        stderr(&out)
    );
    // generate --register for an agent created first
    w.reg.post(
        "/v1/sdk/agents",
        &json!({"id": uuid(3), "name": "c"}).to_string(),
        Some(KEY),
    );
    let out = w.run(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        &uuid(3),
        "--register",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, rec) = w.reg.call(
        "GET",
        &format!("/v1/sdk/agents/{}", uuid(3)),
        None,
        Some(KEY),
    );
    let did = rec["data"]["did"].as_str().unwrap().to_string();
    assert_eq!(format!("{did}\n"), stdout(&out));
    let public: Value = serde_json::from_str(rec["data"]["publicKey"].as_str().unwrap()).unwrap();
    assert_eq!(
        jwk::parse_public(&public.to_string()).unwrap().x.did_key(),
        did
    );
    // servers: PUT → 404 → POST, new id remembered like the MCP SDK does
    let out = w.run(&[
        "generate",
        "--kind",
        "mcp-server",
        "--id",
        "files-mcp",
        "--register",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let resolved =
        std::fs::read_to_string(w.home.server_dir("files-mcp").join(".resolved_server_id"))
            .unwrap();
    let list = w.status(&[]);
    // The folder name stays the id; the registry's id is shown as such.
    let s = find(&list, "files-mcp");
    assert_eq!(s["registry"]["status"], "active");
    assert_eq!(s["registry_id"], resolved.trim());
    // without an API key, a clear refusal
    let out = w
        .home
        .run_env(&["register", &a], &[("CAPISCIO_SERVER_URL", &w.reg.url)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("CAPISCIO_API_KEY"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn badge_request_stores_atomically_and_server_badges_are_printed() {
    let w = World::new(&[]);
    let (a, key) = w.agent(1, "a");
    w.request_badge(&a);
    let path = w.home.agent_dir(&a).join("badge.jwt");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let b = badge::decode(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(b.key, Some(*key.public()));
    let out = w.run(&[
        "generate",
        "--kind",
        "mcp-server",
        "--id",
        "srv",
        "--register",
    ]);
    assert!(out.status.success());
    let resolved =
        std::fs::read_to_string(w.home.server_dir("srv").join(".resolved_server_id")).unwrap();
    let out = w.run(&["badge", "request", &resolved]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(badge::decode(stdout(&out).trim()).is_ok());
    assert!(stderr(&out).contains("in memory"));
}

#[test]
fn list_and_show_gain_registry_columns_when_configured() {
    let w = World::new(&[]);
    let (a, _) = w.agent(1, "a");
    let out = w.run(&["list"]);
    assert!(stdout(&out).contains("REGISTRY"), "{}", stdout(&out));
    let out = w.run(&["show", &a]);
    assert!(stdout(&out).contains("Registry"), "{}", stdout(&out));
    let out = w.run(&["list", "--offline"]);
    assert!(!stdout(&out).contains("REGISTRY"));
    // Not configured: list never leaves the machine.
    assert!(!stdout(&w.home.run(&["list"])).contains("REGISTRY"));
    // No command, piped: the very `list` table (the README says so), registry included.
    let piped = w.run(&[]);
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(stdout(&piped), stdout(&w.run(&["list"])));
    assert!(stderr(&piped).contains("this is `capiscio-tui list`"));
}

#[test]
fn demo_shows_every_feature() {
    let h = Home::new();
    let out = h.run(&["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for s in [
        "valid",
        "expiring",
        "revoked",
        "agent-disabled",
        "registry-did-mismatch",
        "malformed-key",
        "files-mcp",
    ] {
        assert!(text.contains(s), "demo lacks {s}:\n{text}");
    }
}

#[test]
fn dev_registry_state_file_survives_restarts() {
    let h = Home::new();
    let state_file = h.path().join("registry.json");
    let s = state_file.to_str().unwrap();
    let reg = DevReg::start(&["--state", s]);
    reg.post("/v1/sdk/agents", r#"{"id":"persist-me","name":"p"}"#, None);
    let jwks1 = reg.get("/.well-known/jwks.json").1;
    drop(reg);
    let reg = DevReg::start(&["--state", s]);
    assert_eq!(reg.get("/v1/agents/persist-me/status").0, 200);
    assert_eq!(
        reg.get("/.well-known/jwks.json").1,
        jwks1,
        "same CA key after restart"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&state_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// A disk agent known to the dev registry (created directly, without `register`), holding
/// a registry badge valid for an hour.
fn quick_agent_with_badge(w: &World, n: u8) -> String {
    let id = uuid(n);
    let key = KeyPair::from_seed(&[n; 32]);
    capiscio_tui::store::disk::write_agent(&w.home.agent_dir(&id), &key, None).unwrap();
    let public = jwk::to_go_public(key.public());
    let (code, v) = w.reg.post(
        "/v1/sdk/agents",
        &json!({"id": id, "name": format!("agent-{n}"), "status": "active",
                "did": key.public().did_key(), "publicKey": public})
        .to_string(),
        Some(KEY),
    );
    assert_eq!(code, 201, "{v}");
    let now = now();
    w.dev_badge(&id, now - 10, now + 3600);
    id
}

#[test]
fn an_incomplete_revocation_list_fails_closed() {
    let w = World::new(&[]);
    // More badges than the bulk threshold, so the list (not per-badge status) is used.
    let ids: Vec<String> = (1..=34u8).map(|n| quick_agent_with_badge(&w, n)).collect();
    // 60 revoked badges elsewhere, served one a page: more pages than the client reads.
    let now = now();
    for _ in 0..60 {
        let (code, v) = w.reg.post(
            "/_dev/badges",
            &json!({"agent_id": ids[0], "iat": now - 10, "exp": now + 3600}).to_string(),
            None,
        );
        assert_eq!(code, 200, "{v}");
        let jti = v["jti"].as_str().unwrap();
        let (code, _) = w
            .reg
            .post(&format!("/v1/badges/{jti}/revoke"), "{}", Some(KEY));
        assert_eq!(code, 200);
    }
    let list = w.status(&[]);
    assert_eq!(
        state(&list, &ids[1]),
        "valid",
        "sanity: the full list is read"
    );

    w.reg
        .fault(json!({"path_prefix": "/v1/revocations", "page_size": 1}));
    let list = w.status(&[]);
    for id in &ids {
        assert_eq!(
            state(&list, id),
            "registry-error",
            "a revocation list cut off after the page cap must not vouch for {id}: {:#}",
            find(&list, id)
        );
    }
    let reason = find(&list, &ids[1])["badge"]["reason"].to_string();
    assert!(reason.contains("revocation"), "{reason}");

    // A registry that hands back the same cursor forever.
    w.reg.clear_faults();
    w.reg
        .fault(json!({"path_prefix": "/v1/revocations", "status": 200,
                       "body": {"revocations": [], "nextCursor": "7"}}));
    let list = w.status(&[]);
    for id in &ids {
        assert_eq!(state(&list, id), "registry-error", "{id}");
    }
}

/// The agent records the dev registry holds, by id.
fn registry_agents(w: &World) -> Vec<Value> {
    let (code, v) = w.reg.call("GET", "/v1/sdk/agents", None, Some(KEY));
    assert_eq!(code, 200, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

fn agent_dirs(w: &World) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(w.home.capiscio().join("keys"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    names
}

#[test]
fn generate_register_creates_the_agent_as_the_sdk_does_and_takes_its_id() {
    let w = World::new(&[]);
    let out = w.run(&[
        "generate",
        "--kind",
        "agent",
        "--name",
        "billing-agent",
        "--register",
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap();
    // The registry assigned the id; the record holds this key under that id.
    let agents = registry_agents(&w);
    assert_eq!(agents.len(), 1, "{agents:?}");
    assert_eq!(agents[0]["id"], id);
    assert_eq!(agents[0]["name"], "billing-agent");
    assert_eq!(agents[0]["did"], v["key_did"]);
    // The directory is named by it (the SDK discovers agents by their registry id).
    assert_eq!(agent_dirs(&w), vec![id.to_string()]);
    let card: Value = serde_json::from_str(
        &std::fs::read_to_string(w.home.agent_dir(id).join("agent-card.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(card["capiscio:agentId"], id);
    assert!(
        stderr(&out).contains(&format!("capiscio-tui export {id} --format env")),
        "{}",
        stderr(&out)
    );
    // The POST had the SDK's shape.
    let (_, log) = w.reg.get("/_dev/requests");
    assert!(
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/v1/sdk/agents"),
        "{log}"
    );
    // A badge for it, by the final id.
    let out = w.run(&["badge", "request", id, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.run(&["register", id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("already holds"), "{}", stdout(&out));
    assert_eq!(registry_agents(&w).len(), 1, "no second agent");
}

#[test]
fn register_finds_the_agent_by_name_or_creates_it() {
    let w = World::new(&[]);
    // An agent created in the registry (dashboard, or the SDK) without an identity yet.
    let (code, made) = w.reg.post(
        "/v1/sdk/agents",
        &json!({"name": "ops-agent", "protocol": "a2a"}).to_string(),
        Some(KEY),
    );
    assert_eq!(code, 201, "{made}");
    let ops = made["data"]["id"].as_str().unwrap().to_string();
    // An existing local agent of that name, in a folder the registry never heard of.
    let out = w.run(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        "ops-local",
        "--name",
        "ops-agent",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.run(&["register", "ops-local", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["id"], ops.as_str(), "{r}");
    assert_eq!(r["outcome"], "registered");
    assert_eq!(agent_dirs(&w), vec![ops.clone()]);
    let out = w.run(&["show", &ops, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A local agent with no registry record and no name match: created.
    let out = w.run(&["generate", "--kind", "agent", "--id", &uuid(7)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = w.run(&["register", &uuid(7), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let created = r["id"].as_str().unwrap().to_string();
    assert_ne!(created, uuid(7));
    assert_eq!(registry_agents(&w).len(), 2);
    assert_eq!(agent_dirs(&w).len(), 2);
    assert!(w.home.agent_dir(&created).join("private.jwk").exists());
    assert!(!w.home.agent_dir(&uuid(7)).exists());
}

#[test]
fn register_never_moves_an_agent_onto_an_existing_directory() {
    let w = World::new(&[]);
    let (code, made) = w.reg.post(
        "/v1/sdk/agents",
        &json!({"name": "taken"}).to_string(),
        Some(KEY),
    );
    assert_eq!(code, 201);
    let taken = made["data"]["id"].as_str().unwrap().to_string();
    // Something already sits where the registry's id would go.
    std::fs::create_dir_all(w.home.agent_dir(&taken)).unwrap();
    std::fs::write(w.home.agent_dir(&taken).join("keep.txt"), "mine").unwrap();
    let out = w.run(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        "local-a",
        "--name",
        "taken",
        "--register",
    ]);
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("could not be moved"),
        "{}",
        stderr(&out)
    );
    assert!(w.home.agent_dir("local-a").join("private.jwk").exists());
    assert_eq!(
        std::fs::read_to_string(w.home.agent_dir(&taken).join("keep.txt")).unwrap(),
        "mine"
    );
}
