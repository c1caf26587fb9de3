//! Discovery against a temporary HOME seeded with every layout, healthy and broken.

mod support;

use std::fs;
use support::*;

const GOOD: &str = "11111111-1111-4111-8111-111111111111";
const EXPIRED: &str = "22222222-2222-4222-8222-222222222222";
const OTHER_BADGE: &str = "33333333-3333-4333-8333-333333333333";
const BAD_JSON: &str = "44444444-4444-4444-8444-444444444444";
const WRONG_KID: &str = "55555555-5555-4555-8555-555555555555";
const XD_MISMATCH: &str = "66666666-6666-4666-8666-666666666666";
const OPEN_PERMS: &str = "77777777-7777-4777-8777-777777777777";
const NO_PUBLIC: &str = "88888888-8888-4888-8888-888888888888";
const PUB_MISMATCH: &str = "99999999-9999-4999-8999-999999999999";
const GARBAGE: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const EMPTY: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const SYMLINKED: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
const HUGE: &str = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";
const DIR_AS_FILE: &str = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee";
const NON_UUID: &str = "my-agent-001";

fn seed1() -> [u8; 32] {
    let v: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&SEED1_HEX[i * 2..i * 2 + 2], 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn badge_payload(iss: &str, sub: &str, iat: i64, exp: i64) -> String {
    format!(
        r#"{{"jti":"550e8400-e29b-41d4-a716-446655440000","iss":"{iss}","sub":"{sub}","iat":{iat},"exp":{exp},"ial":"0","vc":{{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{{"level":"0"}}}}}}"#
    )
}

/// Builds the zoo and returns it.
fn zoo() -> Home {
    let h = Home::new();
    let now = now();
    let dir = seed_agent(&h, GOOD, D1, X1, DID1);
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed1(), &badge_payload(DID1, DID1, now - 10, now + 3600)),
        0o600,
    );
    write(
        &dir.join("agent-card.json"),
        r#"{"name":"billing-agent"}"#,
        0o644,
    );

    let dir = seed_agent(&h, EXPIRED, D2, X2, DID2);
    let sub = format!("did:web:registry.capisc.io:agents:{EXPIRED}");
    write(
        &dir.join("badge.jwt"),
        sign_badge(
            &[7; 32],
            &badge_payload("https://registry.capisc.io", &sub, now - 900, now - 600),
        ),
        0o600,
    );

    let other = capiscio_tui::core::key::KeyPair::from_seed(&[9; 32]);
    let ox = capiscio_tui::core::b64::url_encode(other.public().as_bytes());
    let od = capiscio_tui::core::b64::url_encode(other.seed());
    let dir = seed_agent(&h, OTHER_BADGE, &od, &ox, &other.public().did_key());
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed1(), &badge_payload(DID1, DID1, now - 10, now + 3600)),
        0o600,
    );

    let dir = h.agent_dir(BAD_JSON);
    write(
        &dir.join("private.jwk"),
        "{\"kty\": \"OKP\", \"crv\":",
        0o600,
    );
    write(&dir.join("public.jwk"), public_jwk(X1, DID1), 0o644);

    seed_agent(&h, WRONG_KID, D1, X1, DID2);
    seed_agent(&h, XD_MISMATCH, D1, X2, DID2);
    let dir = seed_agent(&h, OPEN_PERMS, D1, X1, DID1);
    chmod(&dir.join("private.jwk"), 0o644);
    chmod(&dir, 0o755);
    let dir = seed_agent(&h, NO_PUBLIC, D1, X1, DID1);
    fs::remove_file(dir.join("public.jwk")).unwrap();
    let dir = seed_agent(&h, PUB_MISMATCH, D1, X1, DID1);
    write(&dir.join("public.jwk"), public_jwk(X2, DID2), 0o644);
    let dir = seed_agent(&h, GARBAGE, D1, X1, DID1);
    write(
        &dir.join("private.jwk"),
        [0xff, 0xd8, 0x00, 0x13, 0x37, 0xfe],
        0o600,
    );
    let dir = seed_agent(&h, EMPTY, D1, X1, DID1);
    write(&dir.join("private.jwk"), "", 0o600);
    let dir = seed_agent(&h, SYMLINKED, D1, X1, DID1);
    let outside = h.path().join("elsewhere.jwk");
    write(&outside, private_jwk(D1, X1, DID1), 0o600);
    fs::remove_file(dir.join("private.jwk")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("private.jwk")).unwrap();
    let dir = seed_agent(&h, HUGE, D1, X1, DID1);
    write(
        &dir.join("private.jwk"),
        vec![b'{'; 10 * 1024 * 1024],
        0o600,
    );
    let dir = seed_agent(&h, DIR_AS_FILE, D1, X1, DID1);
    fs::remove_file(dir.join("private.jwk")).unwrap();
    fs::create_dir(dir.join("private.jwk")).unwrap();
    seed_agent(&h, NON_UUID, D2, X2, DID2);
    // Dangling symlinked identity directory, a stray file, and an empty dir.
    std::os::unix::fs::symlink(
        h.path().join("nowhere"),
        h.capiscio().join("keys").join("dangling"),
    )
    .unwrap();
    write(
        &h.capiscio().join("keys").join("README.txt"),
        "not an identity",
        0o644,
    );
    fs::create_dir_all(h.capiscio().join("keys").join("empty-dir")).unwrap();

    let dir = seed_server(&h, "srv-good", PEM1);
    write(&dir.join("public_key.pem"), PUB_PEM1, 0o644);
    write(
        &dir.join("did.txt"),
        "did:web:registry.capisc.io:agents:srv-good",
        0o644,
    );
    let dir = seed_server(&h, "_auto", PEM2);
    write(
        &dir.join(".resolved_server_id"),
        "12121212-1212-4212-8212-121212121212\n",
        0o644,
    );
    seed_server(&h, "srv-escaped", &PEM1.replace('\n', "\\n"));
    seed_server(&h, "srv-garbage", "\u{0}\u{1}garbage");
    fs::create_dir_all(h.server_dir("srv-empty")).unwrap();
    let dir = seed_server(&h, "srv-didtxt", PEM2);
    write(&dir.join("did.txt"), DID1, 0o644);
    h
}

#[test]
fn every_identity_is_listed_with_its_problems() {
    let h = zoo();
    let list = h.list_json(&[]);
    let agents = [
        GOOD,
        EXPIRED,
        OTHER_BADGE,
        BAD_JSON,
        WRONG_KID,
        XD_MISMATCH,
        OPEN_PERMS,
        NO_PUBLIC,
        PUB_MISMATCH,
        GARBAGE,
        EMPTY,
        SYMLINKED,
        HUGE,
        DIR_AS_FILE,
        NON_UUID,
        "empty-dir",
    ];
    let servers = [
        "srv-good",
        "_auto",
        "srv-escaped",
        "srv-garbage",
        "srv-empty",
        "srv-didtxt",
    ];
    assert_eq!(list.len(), agents.len() + servers.len(), "{list:#?}");
    for id in agents {
        assert_eq!(find(&list, id)["kind"], "agent");
    }
    for id in servers {
        assert_eq!(find(&list, id)["kind"], "mcp-server");
    }

    let good = find(&list, GOOD);
    assert_eq!(codes(good), Vec::<String>::new());
    assert_eq!(good["did"], DID1);
    assert_eq!(good["key_did"], DID1);
    assert_eq!(good["fingerprint"], FP1);
    assert_eq!(good["name"], "billing-agent");
    assert_eq!(good["effective"], true);
    assert_eq!(good["source"], "disk");
    assert_eq!(good["badge"]["state"], "valid");
    assert_eq!(good["badge"]["trust_level"], "0");
    assert_eq!(good["badge"]["jti"], "550e8400-e29b-41d4-a716-446655440000");

    let expired = find(&list, EXPIRED);
    assert_eq!(codes(expired), ["badge-expired"]);
    assert_eq!(expired["badge"]["state"], "expired");
    assert_eq!(codes(find(&list, OTHER_BADGE)), ["badge-subject-mismatch"]);

    let has = |id: &str, code: &str| {
        let c = codes(find(&list, id));
        assert!(
            c.iter().any(|x| x == code),
            "{id}: expected {code}, got {c:?}"
        );
    };
    has(BAD_JSON, "malformed-key");
    has(WRONG_KID, "kid-mismatch");
    has(XD_MISMATCH, "key-mismatch");
    has(OPEN_PERMS, "insecure-permissions");
    has(NO_PUBLIC, "missing-public-jwk");
    has(PUB_MISMATCH, "public-mismatch");
    has(GARBAGE, "malformed-key");
    has(EMPTY, "malformed-key");
    has(SYMLINKED, "symlinked-key");
    has(HUGE, "malformed-key");
    has(DIR_AS_FILE, "unreadable");
    has(NON_UUID, "not-discoverable");
    has("empty-dir", "missing-private-key");
    has("srv-escaped", "pem-escaped");
    has("srv-garbage", "malformed-key");
    has("srv-empty", "missing-private-key");
    has("srv-didtxt", "did-txt-mismatch");

    let perms = find(&list, OPEN_PERMS)["problems"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        perms
            .iter()
            .any(|p| p["severity"] == "error" && p["message"].as_str().unwrap().contains("0644"))
    );
    assert!(
        perms
            .iter()
            .any(|p| p["severity"] == "warning" && p["message"].as_str().unwrap().contains("0755"))
    );
    // capiscio-tui no longer reads a key through a link (the SDK would follow it): the
    // link is reported with its target, and the DID shown is public.jwk's.
    let linked = find(&list, SYMLINKED);
    let msg = linked["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "symlinked-key")
        .map(|p| p["message"].as_str().unwrap().to_string())
        .unwrap();
    assert!(
        msg.contains("elsewhere.jwk") && msg.contains("does not read keys through links"),
        "{msg}"
    );
    assert_eq!(
        linked["key_did"], DID1,
        "from public.jwk, not the linked key"
    );
    assert_eq!(linked["effective"], false, "the linked key was not checked");
    assert_eq!(find(&list, NON_UUID)["effective"], false);
    assert_eq!(
        find(&list, XD_MISMATCH)["key_did"],
        DID1,
        "key DID comes from d, not from the stated x"
    );

    let srv = find(&list, "srv-good");
    assert_eq!(codes(srv), Vec::<String>::new());
    assert_eq!(srv["did"], "did:web:registry.capisc.io:agents:srv-good");
    assert_eq!(srv["key_did"], DID1);
    assert_eq!(srv["fingerprint"], FP1);
    let auto = find(&list, "_auto");
    assert_eq!(auto["registry_id"], "12121212-1212-4212-8212-121212121212");
    assert_eq!(auto["key_did"], DID2);
    assert_eq!(find(&list, "srv-escaped")["effective"], false);
}

#[test]
fn broken_entries_never_fail_the_other_commands() {
    let h = zoo();
    let human = h.run(&["list"]);
    assert!(human.status.success(), "{}", stderr(&human));
    assert!(stdout(&human).contains("need attention"));
    let doctor = h.run(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1), "doctor exits 1 on errors");
    let text = stdout(&doctor);
    assert!(text.contains("chmod 600"), "{text}");
    assert!(text.contains("insecure-permissions"));
    for id in [GOOD, HUGE, GARBAGE, "srv-garbage"] {
        let show = h.run(&["show", id]);
        assert!(show.status.success(), "show {id}: {}", stderr(&show));
    }
    let doctor_json = h.run(&["doctor", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&doctor_json.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert!(report["errors"].as_u64().unwrap() >= 10);
    assert!(
        report["identities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"] != GOOD)
    );
}

#[test]
fn no_private_key_material_in_any_listing() {
    let h = zoo();
    let env_jwk = private_jwk(D2, X2, DID2);
    let env_pem = PEM1.replace('\n', "\\n");
    let env = [
        ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", env_jwk.as_str()),
        ("CAPISCIO_SERVER_PRIVATE_KEY_PEM", env_pem.as_str()),
    ];
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["show", GOOD],
        &["show", GOOD, "--json"],
        &["show", "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK"],
        &["show", "srv-good", "--json"],
    ] {
        let out = h.run_env(args, &env);
        assert_no_secrets(&stdout(&out));
        assert_no_secrets(&stderr(&out));
    }
}

#[test]
fn env_var_that_would_overwrite_a_different_disk_key_is_flagged() {
    let h = Home::new();
    seed_agent(&h, GOOD, D1, X1, DID1);
    seed_agent(&h, EXPIRED, D2, X2, DID2);
    let env_jwk = private_jwk(D2, X2, DID2);
    let list = h.list_json(&[
        ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", &env_jwk),
        ("CAPISCIO_AGENT_ID", GOOD),
    ]);
    let disk = find(&list, GOOD);
    assert_eq!(codes(disk), ["env-shadows-disk"]);
    assert_eq!(disk["effective"], false);
    assert_eq!(disk["shadowed_by"], "CAPISCIO_AGENT_PRIVATE_KEY_JWK");
    let env = find(&list, "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK");
    assert_eq!(env["source"], "env");
    assert_eq!(env["effective"], true);
    assert_eq!(env["key_did"], DID2);
    assert_eq!(env["shadows"], GOOD);
    assert_eq!(codes(env), ["env-shadows-disk"]);
    assert_eq!(env["problems"][0]["severity"], "error");
    // the untouched agent stays effective
    assert_eq!(find(&list, EXPIRED)["effective"], true);

    // Same key injected: no problem, and the env identity is the one in use.
    let same = private_jwk(D1, X1, DID1);
    let list = h.list_json(&[
        ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", &same),
        ("CAPISCIO_AGENT_ID", GOOD),
    ]);
    assert_eq!(codes(find(&list, GOOD)), Vec::<String>::new());
    assert_eq!(find(&list, GOOD)["effective"], false);
    assert_eq!(
        codes(find(&list, "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK")),
        Vec::<String>::new()
    );

    // No agent id and two candidates: the target is unknown.
    let other = capiscio_tui::core::key::KeyPair::from_seed(&[5; 32]);
    let jwk = capiscio_tui::core::jwk::to_env_compact(&other);
    let list = h.list_json(&[("CAPISCIO_AGENT_PRIVATE_KEY_JWK", &jwk)]);
    assert_eq!(
        codes(find(&list, "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK")),
        ["env-target-unknown"]
    );
}

#[test]
fn only_candidate_is_flagged_as_a_likely_overwrite() {
    let h = Home::new();
    seed_agent(&h, GOOD, D1, X1, DID1);
    let list = h.list_json(&[("CAPISCIO_AGENT_PRIVATE_KEY_JWK", &private_jwk(D2, X2, DID2))]);
    let disk = find(&list, GOOD);
    assert_eq!(codes(disk), ["env-shadows-disk"]);
    assert_eq!(disk["problems"][0]["severity"], "warning");
}

#[test]
fn invalid_env_values_are_explained_and_ignored() {
    let h = Home::new();
    seed_agent(&h, GOOD, D1, X1, DID1);
    seed_server(&h, "srv", PEM1);
    let list = h.list_json(&[
        ("CAPISCIO_AGENT_PRIVATE_KEY_JWK", "{not json"),
        (
            "CAPISCIO_SERVER_PRIVATE_KEY_PEM",
            "-----BEGIN PRIVATE KEY-----\\nnope\\n-----END PRIVATE KEY-----",
        ),
        ("CAPISCIO_SERVER_ID", "srv"),
    ]);
    let env_agent = find(&list, "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK");
    assert_eq!(codes(env_agent), ["env-invalid"]);
    assert_eq!(env_agent["effective"], false);
    assert!(
        env_agent["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NEW identity")
    );
    assert_eq!(
        find(&list, GOOD)["effective"],
        true,
        "the SDK falls back to the disk key"
    );
    let env_server = find(&list, "env:CAPISCIO_SERVER_PRIVATE_KEY_PEM");
    assert_eq!(codes(env_server), ["env-invalid"]);
    // The SDK's own test value: accepted by the SDK, flagged by us.
    let list = h.list_json(&[
        (
            "CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            &private_jwk(D1, X1, "did:key:z6MkEnvVar"),
        ),
        ("CAPISCIO_AGENT_ID", GOOD),
    ]);
    let env_agent = find(&list, "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK");
    assert_eq!(env_agent["effective"], true);
    // The kid is never shown (it may be the key after did:key:): the DID listed is the
    // key's own did:key, and the mismatch is reported.
    assert_eq!(env_agent["did"], DID1);
    assert!(
        !serde_json::to_string(env_agent)
            .unwrap()
            .contains("z6MkEnvVar")
    );
    assert_eq!(codes(env_agent), ["kid-mismatch"]);
}

#[test]
fn server_env_pem_with_escapes_matches_its_disk_identity() {
    let h = Home::new();
    seed_server(&h, "srv", PEM1);
    let list = h.list_json(&[
        (
            "CAPISCIO_SERVER_PRIVATE_KEY_PEM",
            &PEM1.replace('\n', "\\n"),
        ),
        ("CAPISCIO_SERVER_ID", "srv"),
    ]);
    let env = find(&list, "env:CAPISCIO_SERVER_PRIVATE_KEY_PEM");
    assert_eq!(env["key_did"], DID1);
    assert_eq!(env["shadows"], "srv");
    assert_eq!(codes(env), Vec::<String>::new());
    let list = h.list_json(&[
        ("CAPISCIO_SERVER_PRIVATE_KEY_PEM", PEM2),
        ("CAPISCIO_SERVER_ID", "srv"),
    ]);
    assert_eq!(
        codes(find(&list, "srv")),
        ["missing-public-pem", "env-shadows-disk"]
    );
}

#[test]
fn flat_key_dir_and_tilde() {
    let h = Home::new();
    let flat = h.path().join("flat").join(GOOD);
    write(&flat.join("private.jwk"), private_jwk(D1, X1, DID1), 0o600);
    write(&flat.join("public.jwk"), public_jwk(X1, DID1), 0o644);
    chmod(&flat, 0o700);
    let list = h.list_json(&[("CAPISCIO_KEY_DIR", flat.to_str().unwrap())]);
    assert_eq!(list.len(), 1);
    assert_eq!(find(&list, GOOD)["location"], flat.to_str().unwrap());
    // relative path resolved from the working directory, as Path() does
    let list = h.list_json(&[("CAPISCIO_KEY_DIR", &format!("flat/{GOOD}"))]);
    assert_eq!(list.len(), 1);
    // CAPISCIO_KEY_DIR pointing at keys/ itself lists nothing twice
    seed_agent(&h, EXPIRED, D2, X2, DID2);
    let keys = h.capiscio().join("keys");
    assert_eq!(
        h.list_json(&[("CAPISCIO_KEY_DIR", keys.to_str().unwrap())])
            .len(),
        1
    );
    let doctor = h.run_env(&["doctor"], &[("CAPISCIO_KEY_DIR", "~/.capiscio/keys")]);
    assert!(
        stdout(&doctor).contains("tilde-in-key-dir"),
        "{}",
        stdout(&doctor)
    );
    let json: serde_json::Value = serde_json::from_slice(
        &h.run_env(&["doctor", "--json"], &[("CAPISCIO_KEY_DIR", "~/x")])
            .stdout,
    )
    .unwrap();
    assert_eq!(json["notes"][0]["code"], "tilde-in-key-dir");
}

#[test]
fn sdk_written_layouts_are_read() {
    // Python json.dumps(indent=2) of the env object (member order kept, no alg/use).
    let h = Home::new();
    let dir = h.agent_dir(GOOD);
    let py = format!(
        "{{\n  \"kty\": \"OKP\",\n  \"crv\": \"Ed25519\",\n  \"d\": \"{D1}\",\n  \"x\": \"{X1}\",\n  \"kid\": \"{DID1}\"\n}}"
    );
    write(&dir.join("private.jwk"), &py, 0o600);
    write(
        &dir.join("public.jwk"),
        format!(
            "{{\n  \"kty\": \"OKP\",\n  \"crv\": \"Ed25519\",\n  \"x\": \"{X1}\",\n  \"kid\": \"{DID1}\"\n}}"
        ),
        0o644,
    );
    chmod(&dir, 0o755);
    let list = h.list_json(&[]);
    let a = find(&list, GOOD);
    assert_eq!(a["key_did"], DID1);
    assert_eq!(
        codes(a),
        ["insecure-permissions"],
        "only the SDK's 0755 dir is worth a warning"
    );
    assert_eq!(a["problems"][0]["severity"], "warning");
}

#[test]
fn missing_home_is_an_empty_list_not_an_error() {
    let h = Home::new();
    assert_eq!(h.list_json(&[]).len(), 0);
    let out = h.run(&["list"]);
    assert!(stdout(&out).contains("No CapiscIO identities found"));
    let out = h.run(&["doctor"]);
    assert!(out.status.success());
}
