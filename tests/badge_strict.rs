//! Self-signed badges through the real binary: a badge is valid only when signed, under a
//! strict Ed25519 check, by the key the identity actually holds (derived from `d`), never
//! because `kid` names the signer.

mod support;

use capiscio_tui::core::{b64, key::PublicKey};
use serde_json::Value;
use support::*;

const ID: &str = "0a0a0a0a-0000-4000-8000-00000000000a";

fn seed(d: &str) -> [u8; 32] {
    b64::url_decode(d).unwrap().as_slice().try_into().unwrap()
}

fn payload(did: &str, now: i64) -> String {
    format!(
        r#"{{"jti":"11111111-2222-4333-8444-555555555555","iss":"{did}","sub":"{did}","iat":{},"exp":{},"ial":"0","vc":{{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{{"level":"0"}}}}}}"#,
        now - 10,
        now + 3600
    )
}

/// The identity point (y = 1): a small-order public key nobody holds a secret for.
fn identity_point() -> [u8; 32] {
    let mut p = [0u8; 32];
    p[0] = 1;
    p
}

/// The badge state `list --json` and `show --json` report for `ID`; both must agree.
fn badge_states(h: &Home) -> (String, String) {
    let out = h.run(&["list", "--json"]);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("list --json: {e}\n{}", stderr(&out)));
    let listed = find(&list, ID)["badge"]["state"]
        .as_str()
        .unwrap_or("none")
        .to_string();
    let out = h.run(&["show", ID, "--json"]);
    let shown: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("show --json: {e}\n{}", stderr(&out)));
    let shown = shown["badge"]["state"]
        .as_str()
        .unwrap_or("none")
        .to_string();
    (listed, shown)
}

fn assert_not_good(h: &Home) {
    let (listed, shown) = badge_states(h);
    for s in [&listed, &shown] {
        assert!(
            s != "valid" && s != "expiring",
            "badge reported {s} (list {listed}, show {shown})"
        );
    }
}

#[test]
fn self_signed_badge_of_the_key_kid_names_is_not_valid() {
    let h = Home::new();
    // d and x are key 1; kid (in both JWKs) claims key 2's did:key.
    let dir = seed_agent(&h, ID, D1, X1, DID2);
    // A genuine self-signature, but by key 2.
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed(D2), &payload(DID2, now())),
        0o600,
    );
    assert_not_good(&h);
    let list = h.list_json(&[]);
    assert!(codes(find(&list, ID)).contains(&"kid-mismatch".to_string()));
}

#[test]
fn own_self_signed_badge_stays_valid() {
    let h = Home::new();
    let dir = seed_agent(&h, ID, D1, X1, DID1);
    write(
        &dir.join("badge.jwt"),
        sign_badge(&seed(D1), &payload(DID1, now())),
        0o600,
    );
    assert_eq!(badge_states(&h), ("valid".to_string(), "valid".to_string()));
}

#[test]
fn forged_badge_with_r_identity_s_zero_is_not_valid() {
    let h = Home::new();
    let weak = identity_point();
    let weak_did = PublicKey::from_bytes(weak).did_key();
    let dir = seed_agent(&h, ID, D1, X1, &weak_did);
    // R = the identity point (= the claimed public key), S = 0: no private key involved.
    let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{weak_did}"}}"#);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&weak);
    let token = format!(
        "{}.{}.{}",
        b64::url_encode(header.as_bytes()),
        b64::url_encode(payload(&weak_did, now()).as_bytes()),
        b64::url_encode(&sig)
    );
    write(&dir.join("badge.jwt"), token, 0o600);
    assert_not_good(&h);
}

#[test]
fn weak_public_jwk_is_a_problem_not_a_panic() {
    let h = Home::new();
    let weak = identity_point();
    let weak_did = PublicKey::from_bytes(weak).did_key();
    let dir = seed_agent(&h, ID, D1, X1, DID1);
    write(
        &dir.join("public.jwk"),
        public_jwk(&b64::url_encode(&weak), &weak_did),
        0o644,
    );
    let out = h.run(&["list", "--json"]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let v = find(&list, ID);
    assert!(codes(v).contains(&"malformed-key".to_string()), "{v:#}");
    let text = serde_json::to_string(v).unwrap();
    assert!(text.contains("small-order"), "{text}");
}
