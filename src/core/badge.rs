//! Trust badges (RFC-002): compact JWS decoding and the time / self-signature part of
//! classification. Registry signatures and online status are checked elsewhere.

use crate::core::b64;
use crate::core::did;
use crate::core::key::PublicKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Clock skew tolerated on `exp`, `nbf` and `iat` (RFC-002 §8).
pub const SKEW_SECS: i64 = 60;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BadgeError {
    #[error("badge file is empty")]
    Empty,
    #[error("not a compact JWS (expected three dot-separated parts, found {0})")]
    Parts(usize),
    #[error("JWS {0} is not valid base64url")]
    Base64(&'static str),
    #[error("JWS {0} is not a JSON object: {1}")]
    Json(&'static str, String),
    #[error("badge claim `{0}` is missing or has the wrong type")]
    Claim(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Badge {
    pub alg: String,
    pub header_kid: Option<String>,
    pub jti: String,
    pub iss: String,
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub nbf: Option<i64>,
    pub ial: Option<String>,
    /// `vc.credentialSubject.level`, a string ("0".."4").
    pub trust_level: Option<String>,
    pub domain: Option<String>,
    /// The subject key embedded in the `key` claim, when it is a decodable Ed25519 JWK.
    #[serde(skip)]
    pub key: Option<PublicKey>,
    /// `cnf.kid`, for IAL-1 badges.
    pub cnf_kid: Option<String>,
    #[serde(skip)]
    signing_input: String,
    #[serde(skip)]
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<serde_json::Value>,
    iss: Option<String>,
    sub: Option<String>,
    iat: Option<serde_json::Number>,
    exp: Option<serde_json::Number>,
    nbf: Option<serde_json::Number>,
    ial: Option<serde_json::Value>,
    key: Option<serde_json::Value>,
    cnf: Option<serde_json::Value>,
    vc: Option<serde_json::Value>,
}

fn seconds(n: &Option<serde_json::Number>) -> Option<i64> {
    let n = n.as_ref()?;
    n.as_i64()
        .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn json_part<T: for<'de> Deserialize<'de>>(
    part: &str,
    what: &'static str,
) -> Result<T, BadgeError> {
    let bytes = b64::url_decode(part).ok_or(BadgeError::Base64(what))?;
    // serde's text can quote the value it choked on: position and category only.
    serde_json::from_slice(&bytes).map_err(|e| {
        BadgeError::Json(
            what,
            crate::core::jwk::JsonFault::of(&e, &String::from_utf8_lossy(&bytes)).to_string(),
        )
    })
}

pub fn decode(token: &str) -> Result<Badge, BadgeError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(BadgeError::Empty);
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(BadgeError::Parts(parts.len()));
    }
    let header: Header = json_part(parts[0], "header")?;
    let claims: Claims = json_part(parts[1], "payload")?;
    // An undecodable signature still lets users read the claims; it just never verifies.
    let signature = b64::url_decode(parts[2])
        .map(|s| s.to_vec())
        .unwrap_or_default();
    let string_claim = |v: &Option<serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let subject = claims
        .vc
        .as_ref()
        .and_then(|vc| vc.get("credentialSubject"));
    let key = claims
        .key
        .as_ref()
        .and_then(|k| k.get("x"))
        .and_then(|x| x.as_str())
        .and_then(b64::url_decode)
        .and_then(|b| PublicKey::from_slice(&b));
    Ok(Badge {
        alg: header.alg.unwrap_or_default(),
        header_kid: header.kid,
        jti: string_claim(&claims.jti).unwrap_or_default(),
        iss: claims.iss.ok_or(BadgeError::Claim("iss"))?,
        sub: claims.sub.ok_or(BadgeError::Claim("sub"))?,
        iat: seconds(&claims.iat).ok_or(BadgeError::Claim("iat"))?,
        exp: seconds(&claims.exp).ok_or(BadgeError::Claim("exp"))?,
        nbf: seconds(&claims.nbf),
        ial: string_claim(&claims.ial),
        trust_level: subject.and_then(|s| s.get("level")).and_then(|l| match l {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        domain: subject
            .and_then(|s| s.get("domain"))
            .and_then(|d| d.as_str())
            .map(str::to_string),
        key,
        cnf_kid: claims
            .cnf
            .as_ref()
            .and_then(|c| c.get("kid"))
            .and_then(|k| k.as_str())
            .map(str::to_string),
        signing_input: format!("{}.{}", parts[0], parts[1]),
        signature,
    })
}

/// Where a badge stands. Online states (revoked, agent-disabled, …) are added by the
/// registry layer; here we decide what can be decided from the token and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BadgeState {
    Valid,
    Expiring,
    Expired,
    NotYetValid,
    SignatureInvalid,
    /// Inside its validity window, but the registry signature has not been checked (offline).
    Unverified,
    Revoked,
    AgentDisabled,
    WrongSubject,
    /// The registry could not be asked (reason alongside); fail-closed.
    RegistryError,
}

impl BadgeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring => "expiring",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::SignatureInvalid => "signature-invalid",
            Self::Unverified => "unverified",
            Self::Revoked => "revoked",
            Self::AgentDisabled => "agent-disabled",
            Self::WrongSubject => "wrong-subject",
            Self::RegistryError => "registry-error",
        }
    }

    /// Whether the badge can be presented right now.
    pub fn is_good(self) -> bool {
        matches!(self, Self::Valid | Self::Expiring)
    }
}

/// A registry signing key (from its JWKS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerKey {
    pub kid: Option<String>,
    pub key: PublicKey,
}

/// RFC-002 §8.1: choose by header `kid`, else try the keys in turn, at most this many.
pub const MAX_KEYS_TRIED: usize = 5;

impl Badge {
    /// Verifies against a JWKS: the key named by the header `kid` when there is one,
    /// otherwise each key in turn (bounded).
    pub fn verify_with_keys(&self, keys: &[IssuerKey]) -> bool {
        if let Some(kid) = &self.header_kid
            && let Some(k) = keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str()))
        {
            return self.verify_with(&k.key);
        }
        keys.iter()
            .take(MAX_KEYS_TRIED)
            .any(|k| self.verify_with(&k.key))
    }

    /// A level-0 badge whose issuer is its own did:key subject.
    pub fn is_self_signed(&self) -> bool {
        self.iss == self.sub && did::method(&self.iss) == "key"
    }

    /// Verifies the signature with the given key (EdDSA only).
    pub fn verify_with(&self, key: &PublicKey) -> bool {
        self.alg == "EdDSA" && key.verify(self.signing_input.as_bytes(), &self.signature)
    }

    pub fn time_state(&self, now: i64) -> Option<BadgeState> {
        if is_expired(self.exp, now) {
            return Some(BadgeState::Expired);
        }
        let not_before = self.nbf.unwrap_or(self.iat);
        if now.saturating_add(SKEW_SECS) < not_before {
            return Some(BadgeState::NotYetValid);
        }
        None
    }

    /// Offline classification: time window first, then the self-signature when the
    /// badge is self-signed; registry badges stay `Unverified` until checked online.
    pub fn offline_state(&self, now: i64) -> BadgeState {
        if let Some(s) = self.time_state(now) {
            return s;
        }
        if self.is_self_signed() {
            let Ok(key) = did::parse_did_key(&self.iss) else {
                return BadgeState::SignatureInvalid;
            };
            if !self.verify_with(&key) {
                return BadgeState::SignatureInvalid;
            }
            return self.lifetime_state(now);
        }
        BadgeState::Unverified
    }

    /// `Expiring` when under 20 % of the lifetime is left, else `Valid`.
    pub fn lifetime_state(&self, now: i64) -> BadgeState {
        lifetime_state(self.iat, self.exp, now)
    }

    /// Whether the badge names this identity: its subject is one of the identity's DIDs
    /// (or the registry did:web of its id), and an embedded key, if any, is this key.
    /// A self-signed badge must name the did:key of `key` itself (the key held).
    pub fn is_for(&self, dids: &[&str], id: &str, key: Option<&PublicKey>) -> bool {
        let names_us = |d: &str| {
            dids.contains(&d)
                || did::parse_did_web(d)
                    .ok()
                    .and_then(|w| w.agent_id().map(|a| a.eq_ignore_ascii_case(id)))
                    .unwrap_or(false)
        };
        let key_ok = match (self.key.as_ref(), key) {
            (Some(embedded), Some(local)) => embedded == local,
            _ => true,
        };
        // IAL-1: `cnf.kid` is a DID URL (`<did>#…`) that must name this identity too,
        // and a did:key there must be this very key.
        let cnf_ok = self.cnf_kid.as_deref().is_none_or(|kid| {
            let d = kid.split_once('#').map_or(kid, |(d, _)| d);
            match (did::parse_did_key(d), key) {
                (Ok(k), Some(local)) => k == *local,
                _ => names_us(d),
            }
        });
        // A self-signed badge proves only possession of the key its subject names: it is
        // for us when that key is the one we hold (derived from `d`), whatever `kid` says.
        if self.is_self_signed() {
            let held = key.is_some_and(|k| did::parse_did_key(&self.sub).is_ok_and(|s| s == *k));
            return held && key_ok && cnf_ok;
        }
        names_us(&self.sub) && key_ok && cnf_ok
    }
}

/// Past `exp` by more than the tolerated skew. A free function so a verdict kept from a
/// scan can be re-timed from the stored claims alone (the UI's running clock).
pub fn is_expired(exp: i64, now: i64) -> bool {
    now >= exp.saturating_add(SKEW_SECS)
}

/// `Expiring` when under 20 % of the lifetime `iat..exp` is left at `now`, else `Valid`.
pub fn lifetime_state(iat: i64, exp: i64, now: i64) -> BadgeState {
    let lifetime = exp.saturating_sub(iat).max(1);
    let left = exp.saturating_sub(now);
    if left.saturating_mul(5) < lifetime {
        BadgeState::Expiring
    } else {
        BadgeState::Valid
    }
}

/// A level-0 self-signed badge as `capiscio badge issue --self-sign` makes it (with the
/// RFC's `typ` and `kid` added): `iss = sub = did:key`, `ial` "0", the key embedded.
pub fn self_signed(key: &crate::core::key::KeyPair, jti: &str, now: i64, ttl: i64) -> String {
    let did = key.public().did_key();
    let fragment = did.trim_start_matches("did:key:");
    let header =
        serde_json::json!({ "alg": "EdDSA", "typ": "JWT", "kid": format!("{did}#{fragment}") });
    let payload = serde_json::json!({
        "jti": jti, "iss": did, "sub": did, "iat": now, "exp": now.saturating_add(ttl), "ial": "0",
        "key": { "kty": "OKP", "crv": "Ed25519", "x": b64::url_encode(key.public().as_bytes()) },
        "vc": { "type": ["VerifiableCredential", "AgentIdentity"], "credentialSubject": { "level": "0" } },
    });
    sign_compact(&header.to_string(), &payload.to_string(), key)
}

/// Signs a badge payload with an EdDSA key; used for level-0 self-signed badges and tests.
pub fn sign_compact(
    header_json: &str,
    payload_json: &str,
    key: &crate::core::key::KeyPair,
) -> String {
    let input = format!(
        "{}.{}",
        b64::url_encode(header_json.as_bytes()),
        b64::url_encode(payload_json.as_bytes())
    );
    let sig = key.sign(input.as_bytes());
    format!("{input}.{}", b64::url_encode(&sig))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::KeyPair;

    fn self_signed(key: &KeyPair, iat: i64, exp: i64) -> String {
        let d = key.public().did_key();
        let payload = format!(
            r#"{{"jti":"j-1","iss":"{d}","sub":"{d}","iat":{iat},"exp":{exp},"ial":"0","vc":{{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{{"level":"0"}}}}}}"#
        );
        sign_compact(r#"{"alg":"EdDSA","typ":"JWT"}"#, &payload, key)
    }

    #[test]
    fn rfc_example_decodes() {
        let payload = r#"{"jti":"550e8400-e29b-41d4-a716-446655440000","iss":"https://registry.capisc.io","sub":"did:web:registry.capisc.io:agents:my-agent-001","iat":1733788800,"exp":1733789100,"key":{"kty":"OKP","crv":"Ed25519","x":"..."},"vc":{"type":["VerifiableCredential","AgentIdentity"],"credentialSubject":{"domain":"finance.example.com","level":"1"}}}"#;
        let token = format!(
            "{}.{}.SIGNATURE",
            b64::url_encode(br#"{"alg":"EdDSA","typ":"JWT"}"#),
            b64::url_encode(payload.as_bytes())
        );
        let b = decode(&token).unwrap();
        assert_eq!(b.jti, "550e8400-e29b-41d4-a716-446655440000");
        assert_eq!(b.trust_level.as_deref(), Some("1"));
        assert_eq!(b.domain.as_deref(), Some("finance.example.com"));
        assert_eq!(b.ial, None);
        assert_eq!(b.key, None);
        assert_eq!(b.offline_state(1733788900), BadgeState::Unverified);
        assert_eq!(b.offline_state(1733789100 + 60), BadgeState::Expired);
        assert_eq!(b.offline_state(1733788800 - 61), BadgeState::NotYetValid);
        assert!(b.is_for(&[], "my-agent-001", None));
        assert!(!b.is_for(&[], "other", None));
    }

    #[test]
    fn self_signed_verifies_offline() {
        let key = KeyPair::generate().unwrap();
        let tok = self_signed(&key, 1000, 1300);
        let b = decode(&tok).unwrap();
        assert!(b.is_self_signed());
        assert_eq!(b.offline_state(1100), BadgeState::Valid);
        assert_eq!(b.offline_state(1250), BadgeState::Expiring);
        // Same claims, signed by a different key: the self-signature must fail.
        let impostor = KeyPair::generate().unwrap();
        let d = key.public().did_key();
        let forged = sign_compact(
            r#"{"alg":"EdDSA"}"#,
            &format!(r#"{{"jti":"j","iss":"{d}","sub":"{d}","iat":1000,"exp":1300}}"#),
            &impostor,
        );
        assert_eq!(
            decode(&forged).unwrap().offline_state(1100),
            BadgeState::SignatureInvalid
        );
        let other = KeyPair::generate().unwrap();
        assert!(!b.verify_with(other.public()));
    }

    #[test]
    fn self_signed_builder_verifies_and_binds_the_key() {
        let key = KeyPair::from_seed(&[4; 32]);
        let b = decode(&super::self_signed(&key, "j-9", 1000, 300)).unwrap();
        assert_eq!(b.offline_state(1010), BadgeState::Valid);
        assert_eq!(b.trust_level.as_deref(), Some("0"));
        assert_eq!(b.key, Some(*key.public()));
        assert!(b.is_for(&[&key.public().did_key()], "x", Some(key.public())));
        assert!(!b.is_for(
            &[&key.public().did_key()],
            "x",
            Some(KeyPair::from_seed(&[5; 32]).public())
        ));
    }

    #[test]
    fn cnf_must_name_this_key() {
        let key = KeyPair::from_seed(&[6; 32]);
        let d = key.public().did_key();
        let other = KeyPair::from_seed(&[8; 32]).public().did_key();
        let mk = |cnf: &str| {
            let p = format!(
                r#"{{"jti":"j","iss":"https://r","sub":"did:web:r:agents:a1","iat":1,"exp":2,"ial":"1","cnf":{{"kid":"{cnf}#k"}}}}"#
            );
            decode(&sign_compact(r#"{"alg":"EdDSA"}"#, &p, &key)).unwrap()
        };
        assert!(mk(&d).is_for(&[&d], "a1", Some(key.public())));
        assert!(!mk(&other).is_for(&[&d], "a1", Some(key.public())));
        assert!(mk("did:web:r:agents:a1").is_for(&[&d], "a1", Some(key.public())));
    }

    /// A self-signed badge claiming `did` with a made-up signature (R = the claimed
    /// point, S = 0), as anyone can write it without a private key.
    fn forged_r_is_a_s_is_zero(point: &[u8; 32], iat: i64, exp: i64) -> String {
        let d = PublicKey::from_bytes(*point).did_key();
        let header = format!(r#"{{"alg":"EdDSA","typ":"JWT","kid":"{d}"}}"#);
        let payload =
            format!(r#"{{"jti":"j-f","iss":"{d}","sub":"{d}","iat":{iat},"exp":{exp},"ial":"0"}}"#);
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(point);
        format!(
            "{}.{}.{}",
            b64::url_encode(header.as_bytes()),
            b64::url_encode(payload.as_bytes()),
            b64::url_encode(&sig)
        )
    }

    #[test]
    fn forged_self_signature_on_a_small_order_key_is_invalid() {
        let mut identity_point = [0u8; 32];
        identity_point[0] = 1;
        let weak = PublicKey::from_bytes(identity_point);
        let held = KeyPair::from_seed(&[7; 32]);
        let b = decode(&forged_r_is_a_s_is_zero(&identity_point, 1000, 1300)).unwrap();
        assert!(b.is_self_signed());
        assert!(!b.verify_with(&weak));
        assert_eq!(b.offline_state(1100), BadgeState::SignatureInvalid);
        // The identity's kid names the weak point; the key actually held is another one.
        let kid = weak.did_key();
        let dids = [kid.as_str(), &held.public().did_key()];
        assert!(!b.is_for(&dids, "a1", Some(held.public())));
        let v = crate::core::status::classify(
            &b,
            b.is_for(&dids, "a1", Some(held.public())),
            None,
            1100,
        );
        assert!(!v.state.is_good(), "{v:?}");
    }

    #[test]
    fn self_signed_badge_is_bound_to_the_held_key_not_the_kid() {
        let held = KeyPair::from_seed(&[1; 32]);
        let other = KeyPair::from_seed(&[2; 32]);
        // Self-signed by the other key (a genuine signature), with the identity's kid
        // pointing at the other key's did:key.
        let b = decode(&self_signed(&other, 1000, 1300)).unwrap();
        assert_eq!(b.offline_state(1100), BadgeState::Valid);
        let kid = other.public().did_key();
        let dids = [kid.as_str(), &held.public().did_key()];
        assert!(!b.is_for(&dids, "a1", Some(held.public())));
        assert!(
            !b.is_for(&dids, "a1", None),
            "no held key: nothing to bind to"
        );
        let v = crate::core::status::classify(
            &b,
            b.is_for(&dids, "a1", Some(held.public())),
            None,
            1100,
        );
        assert!(!v.state.is_good(), "{v:?}");
        // The held key's own self-signed badge still is for it.
        let mine = decode(&self_signed(&held, 1000, 1300)).unwrap();
        assert!(mine.is_for(&dids, "a1", Some(held.public())));
    }

    #[test]
    fn malformed_tokens() {
        assert_eq!(decode(""), Err(BadgeError::Empty));
        assert_eq!(decode("a.b"), Err(BadgeError::Parts(2)));
        assert_eq!(decode("!.b.c"), Err(BadgeError::Base64("header")));
        let h = b64::url_encode(b"{}");
        let p = b64::url_encode(b"[]");
        assert!(matches!(
            decode(&format!("{h}.{p}.")),
            Err(BadgeError::Json("payload", _))
        ));
        let p2 = b64::url_encode(br#"{"sub":"x","iat":1,"exp":2}"#);
        assert_eq!(decode(&format!("{h}.{p2}.")), Err(BadgeError::Claim("iss")));
    }
}
