//! The bodies of the `cargo fuzz` targets (`fuzz/fuzz_targets/`), here so the committed
//! corpora also replay on stable in `cargo test` (tests/fuzz_corpus.rs): every input the
//! fuzzer kept is a regression test. Each function panics only on a broken invariant.

use crate::core::{badge, did, jwk, key::KeyPair, pem, rotation, status};
use crate::registry::model;
use crate::store::env::{EnvSnapshot, inspect_agent, inspect_server, load_secret};

/// One fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by its `cargo fuzz` name.
pub const TARGETS: [(&str, Target); 8] = [
    ("jwk", jwk_target),
    ("pem", pem_target),
    ("did", did_target),
    ("badge", badge_target),
    ("agent_card", agent_card_target),
    ("registry_reply", registry_reply_target),
    ("env_value", env_value_target),
    ("pasted", pasted_target),
];

pub fn jwk_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = jwk::parse_private(s) {
            let _ = p.x_matches();
            let _ = p.kid_status();
            // Whatever parses must round-trip through our own writers.
            let again = jwk::parse_private(&jwk::to_go_private(&p.key)).unwrap();
            assert!(again.key == p.key);
        }
        let _ = jwk::parse_public(s);
    }
}

pub fn pem_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok((k, _)) = pem::parse_private(s) {
            let text = pem::encode_private(&k);
            assert!(pem::parse_private(&text).unwrap().0 == k);
            // and the env form with literal \n
            let esc = pem::escape_newlines(&text);
            assert!(pem::parse_private(&esc).unwrap().0 == k);
        }
        let _ = pem::parse_public(s);
    }
}

pub fn did_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(pk) = did::parse_did_key(s) {
            assert!(did::parse_did_key(&pk.did_key()).unwrap() == pk);
        }
        if let Ok(w) = did::parse_did_web(s) {
            let _ = w.agent_id();
            let _ = w.document_url();
        }
        let _ = did::method(s);
    }
}

pub fn badge_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(b) = badge::decode(s)
    {
        let key = KeyPair::from_seed(&[7; 32]);
        let _ = b.offline_state(1_800_000_000);
        let _ = b.is_for(&[&key.public().did_key()], "a", Some(key.public()));
        let keys = [badge::IssuerKey {
            kid: b.header_kid.clone(),
            key: *key.public(),
        }];
        let _ = b.verify_with_keys(&keys);
        let ev = status::Evidence {
            issuer_keys: Some(Ok(&keys)),
            revoked: Some(Ok(false)),
            agent_status: Some(Ok(Some("active".into()))),
        };
        let v = status::classify(&b, true, Some(&ev), 1_800_000_000);
        let _ = status::problems_for(&v, &b, "a");
    }
}

pub fn agent_card_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let old = KeyPair::from_seed(&[1; 32]);
        let new = KeyPair::from_seed(&[2; 32]);
        for mode in [rotation::Mode::Planned, rotation::Mode::Emergency] {
            if let Some(out) = rotation::rotate_card(s, old.public(), new.public(), mode, Some(0)) {
                // A rotated card is always valid JSON naming the new key.
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert!(v["public_keys"][0]["kid"] == new.public().did_key());
                // Past its deadline the old key is due, and ending grace drops it.
                if mode == rotation::Mode::Planned {
                    assert!(!rotation::retiring_past_grace(&out, 0).is_empty());
                    let (ended, _) = rotation::end_grace(&out).unwrap();
                    assert!(rotation::retiring_past_grace(&ended, 0).is_empty());
                }
            }
        }
        let _ = rotation::retiring_past_grace(s, 1_800_000_000);
        let _ = rotation::end_grace(s);
    }
}

pub fn registry_reply_target(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = model::agent_record(&v);
        let _ = model::agent_list(&v);
        let _ = model::entity_status(&v);
        let _ = model::badge_status(&v);
        let _ = model::revocations(&v);
        let _ = model::jwks(&v);
        let _ = model::issued_badge(&v);
        let _ = model::server_record(&v);
        let _ = model::error_message(&v);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = model::parse_rfc3339(s);
    }
}

pub fn env_value_target(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let env = EnvSnapshot::from_pairs([
            ("CAPISCIO_AGENT_PRIVATE_KEY_JWK".to_string(), s.to_string()),
            ("CAPISCIO_SERVER_PRIVATE_KEY_PEM".to_string(), s.to_string()),
        ]);
        let a = inspect_agent(&env);
        let b = inspect_server(&env);
        // The classifier never says "usable" about a value our loader rejects as a key.
        if let Some(a) = a
            && a.public.is_some()
        {
            assert!(
                load_secret(&env, "CAPISCIO_AGENT_PRIVATE_KEY_JWK").is_ok()
                    || !a.identity.problems.is_empty()
            );
        }
        if let Some(b) = b {
            assert_eq!(
                b.loadable,
                load_secret(&env, "CAPISCIO_SERVER_PRIVATE_KEY_PEM").is_ok()
            );
        }
    }
}

/// `identify`'s finder: any bytes, no panic, a bounded result, and no description, note
/// or error of a candidate quotes the private key read from it.
pub fn pasted_target(data: &[u8]) {
    use crate::core::pasted::{self, Material};
    let text = String::from_utf8_lossy(data);
    let found = pasted::find(&text);
    assert!(found.candidates.len() <= pasted::MAX_FINDINGS);
    for c in &found.candidates {
        let mut said = vec![c.describe()];
        said.extend(c.notes.iter().cloned());
        match &c.key {
            Ok(Material::Private(k)) => {
                let d = crate::core::b64::url_encode(k.seed());
                for s in &said {
                    assert!(!s.contains(&d[..16]) && !s.contains(&d[27..]));
                }
            }
            Ok(Material::Public(_)) => {}
            Err(e) => said.push(e.clone()),
        }
    }
}
