//! Ed25519 JWKs (RFC 8037): tolerant, order-agnostic reading; writing in the exact
//! layouts the CapiscIO tools produce (capiscio-core's go-jose layout on disk, the
//! Python `json.dumps` layout for env values).

use crate::core::b64;
use crate::core::did;
use crate::core::key::{KEY_LEN, KeyPair, PublicKey};
use serde::{Deserialize, Deserializer};
use std::fmt::Write as _;
use thiserror::Error;
use zeroize::Zeroizing;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum JwkError {
    #[error("file is empty")]
    Empty,
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("JSON is not an object (found {0})")]
    NotAnObject(&'static str),
    #[error("`kty` is {0}, expected \"OKP\"")]
    Kty(String),
    #[error("`crv` is {0}, expected \"Ed25519\"")]
    Crv(String),
    #[error("`x` is missing")]
    MissingX,
    #[error("`d` is missing (this is a public key)")]
    MissingD,
    #[error("`{0}` is not valid base64url")]
    Base64(&'static str),
    #[error("`{member}` decodes to {len} bytes, an Ed25519 key has 32")]
    Length { member: &'static str, len: usize },
    #[error("`x` is a small-order (weak) point: no one holds its private key")]
    WeakKey,
}

/// How a JWK's `kid` relates to the key it sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KidStatus {
    /// `kid` is the did:key of `x`, as the SDKs expect.
    Matches,
    Missing,
    /// Present but not a DID; the agent SDK refuses it.
    NotDid(String),
    /// A DID of another method (e.g. did:web); the SDK accepts it but it is not the key DID.
    OtherMethod(String),
    /// A did:key of a different key, or an undecodable did:key.
    WrongKey(String),
}

impl KidStatus {
    pub fn of(kid: Option<&str>, public: &PublicKey) -> Self {
        match kid {
            None => Self::Missing,
            Some(k) if !k.starts_with("did:") => Self::NotDid(k.to_string()),
            Some(k) if did::method(k) != "key" => Self::OtherMethod(k.to_string()),
            Some(k) => match did::parse_did_key(k) {
                Ok(pk) if pk == *public => Self::Matches,
                _ => Self::WrongKey(k.to_string()),
            },
        }
    }
}

/// A private JWK as found. `x_written` is what the file says, which may disagree with `d`.
#[derive(Debug)]
pub struct PrivateJwk {
    pub key: KeyPair,
    pub x_written: Option<PublicKey>,
    pub kid: Option<String>,
}

impl PrivateJwk {
    /// `x` is present and belongs to `d` (Go assembles d‖x without this check).
    pub fn x_matches(&self) -> bool {
        self.x_written.as_ref() == Some(self.key.public())
    }

    pub fn kid_status(&self) -> KidStatus {
        KidStatus::of(self.kid.as_deref(), self.key.public())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub x: PublicKey,
    pub kid: Option<String>,
}

impl PublicJwk {
    pub fn kid_status(&self) -> KidStatus {
        KidStatus::of(self.kid.as_deref(), &self.x)
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<serde_json::Value>,
    crv: Option<serde_json::Value>,
    x: Option<String>,
    #[serde(default, deserialize_with = "secret_string")]
    d: Option<Zeroizing<String>>,
    kid: Option<serde_json::Value>,
}

fn secret_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Zeroizing<String>>, D::Error> {
    Option::<String>::deserialize(de).map(|o| o.map(Zeroizing::new))
}

fn parse_raw(text: &str) -> Result<RawJwk, JwkError> {
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    match trimmed.as_bytes().first() {
        None => return Err(JwkError::Empty),
        Some(b'{') => {}
        Some(b'[') => return Err(JwkError::NotAnObject("an array")),
        Some(b'"') => return Err(JwkError::NotAnObject("a string")),
        Some(_) => {
            // Either a scalar or not JSON at all; let serde say which.
            return match serde_json::from_str::<serde_json::Value>(trimmed) {
                Ok(_) => Err(JwkError::NotAnObject("a scalar")),
                Err(e) => Err(JwkError::Json(e.to_string())),
            };
        }
    }
    let raw: RawJwk = serde_json::from_str(trimmed).map_err(|e| JwkError::Json(e.to_string()))?;
    check_str(&raw.kty, "OKP").map_err(JwkError::Kty)?;
    check_str(&raw.crv, "Ed25519").map_err(JwkError::Crv)?;
    Ok(raw)
}

fn check_str(value: &Option<serde_json::Value>, want: &str) -> Result<(), String> {
    match value {
        Some(serde_json::Value::String(s)) if s == want => Ok(()),
        Some(v) => Err(v.to_string()),
        None => Err("missing".to_string()),
    }
}

fn kid_of(raw: &RawJwk) -> Option<String> {
    match &raw.kid {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    }
}

fn decode_key(member: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, JwkError> {
    let bytes = b64::url_decode(text).ok_or(JwkError::Base64(member))?;
    if bytes.len() != KEY_LEN {
        return Err(JwkError::Length {
            member,
            len: bytes.len(),
        });
    }
    Ok(bytes)
}

fn decode_public(text: &str) -> Result<PublicKey, JwkError> {
    let bytes = decode_key("x", text)?;
    PublicKey::from_slice(&bytes).ok_or(JwkError::Length {
        member: "x",
        len: bytes.len(),
    })
}

/// Reads a private JWK in any member order. A missing or wrong `x` is reported
/// through [`PrivateJwk::x_matches`], not as an error, so callers can explain it.
pub fn parse_private(text: &str) -> Result<PrivateJwk, JwkError> {
    let raw = parse_raw(text)?;
    let d = raw.d.as_ref().ok_or(JwkError::MissingD)?;
    let seed = decode_key("d", d)?;
    let mut arr = Zeroizing::new([0u8; KEY_LEN]);
    arr.copy_from_slice(&seed);
    let x_written = match &raw.x {
        Some(x) => Some(decode_public(x)?),
        None => None,
    };
    Ok(PrivateJwk {
        key: KeyPair::from_seed(&arr),
        x_written,
        kid: kid_of(&raw),
    })
}

/// Reads a public JWK; a `d` member, if any, is ignored here.
pub fn parse_public(text: &str) -> Result<PublicJwk, JwkError> {
    let raw = parse_raw(text)?;
    let x = decode_public(raw.x.as_ref().ok_or(JwkError::MissingX)?)?;
    if x.is_weak() {
        return Err(JwkError::WeakKey);
    }
    Ok(PublicJwk {
        x,
        kid: kid_of(&raw),
    })
}

/// Private JWK exactly as capiscio-core writes `private.jwk`: go-jose member order
/// (use, kty, kid, crv, alg, x, d), two-space indent, no trailing newline.
pub fn to_go_private(key: &KeyPair) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(256));
    s.push_str(&go_public_members(key.public()));
    let d = Zeroizing::new(b64::url_encode(key.seed()));
    // write! into a String cannot fail.
    let _ = write!(s, ",\n  \"d\": \"{}\"\n}}", d.as_str());
    s
}

/// Public JWK exactly as capiscio-core writes `public.jwk`.
pub fn to_go_public(public: &PublicKey) -> String {
    let mut s = go_public_members(public);
    s.push_str("\n}");
    s
}

fn go_public_members(public: &PublicKey) -> String {
    format!(
        "{{\n  \"use\": \"sig\",\n  \"kty\": \"OKP\",\n  \"kid\": \"{}\",\n  \"crv\": \"Ed25519\",\n  \"alg\": \"EdDSA\",\n  \"x\": \"{}\"",
        public.did_key(),
        b64::url_encode(public.as_bytes())
    )
}

/// One-line private JWK for `CAPISCIO_AGENT_PRIVATE_KEY_JWK`, in the layout Python's
/// `json.dumps` gives the seed guide's object (kty, crv, d, x, kid; `", "` and `": "`).
/// Contains no `'`, `$`, backslash or newline, so it is safe inside single quotes.
pub fn to_env_compact(key: &KeyPair) -> Zeroizing<String> {
    let d = Zeroizing::new(b64::url_encode(key.seed()));
    Zeroizing::new(format!(
        "{{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"d\": \"{}\", \"x\": \"{}\", \"kid\": \"{}\"}}",
        d.as_str(),
        b64::url_encode(key.public().as_bytes()),
        key.public().did_key()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const DID: &str = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";

    #[test]
    fn reads_any_member_order() {
        let a = format!(r#"{{"kid":"{DID}","d":"{D}","x":"{X}","crv":"Ed25519","kty":"OKP"}}"#);
        let p = parse_private(&a).unwrap();
        assert!(p.x_matches());
        assert_eq!(p.kid_status(), KidStatus::Matches);
        assert_eq!(p.key.public().did_key(), DID);
    }

    #[test]
    fn go_layout_round_trips() {
        let p = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{X}"}}"#
        ))
        .unwrap();
        let text = to_go_private(&p.key);
        assert!(text.starts_with("{\n  \"use\": \"sig\",\n  \"kty\": \"OKP\",\n"));
        assert!(!text.ends_with('\n'));
        let back = parse_private(&text).unwrap();
        assert_eq!(back.key, p.key);
        let public = parse_public(&to_go_public(p.key.public())).unwrap();
        assert_eq!(public.x, *p.key.public());
        assert_eq!(public.kid_status(), KidStatus::Matches);
    }

    #[test]
    fn validation_errors() {
        let err = |t: &str| {
            parse_private(t)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert_eq!(parse_private("  ").err(), Some(JwkError::Empty));
        assert_eq!(
            parse_private("[1,2]").err(),
            Some(JwkError::NotAnObject("an array"))
        );
        assert_eq!(
            parse_private("42").err(),
            Some(JwkError::NotAnObject("a scalar"))
        );
        assert!(err("{not json").starts_with("not valid JSON"));
        assert!(err("garbage").starts_with("not valid JSON"));
        assert_eq!(
            parse_private(&format!(r#"{{"kty":"EC","crv":"Ed25519","d":"{D}"}}"#)).err(),
            Some(JwkError::Kty("\"EC\"".into()))
        );
        assert_eq!(
            parse_private(&format!(r#"{{"kty":"OKP","crv":"X25519","d":"{D}"}}"#)).err(),
            Some(JwkError::Crv("\"X25519\"".into()))
        );
        assert_eq!(
            parse_private(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}"}}"#)).err(),
            Some(JwkError::MissingD)
        );
        assert_eq!(
            parse_private(r#"{"kty":"OKP","crv":"Ed25519","d":"AAAA"}"#).err(),
            Some(JwkError::Length {
                member: "d",
                len: 3
            })
        );
        assert_eq!(
            parse_private(r#"{"kty":"OKP","crv":"Ed25519","d":"!!"}"#).err(),
            Some(JwkError::Base64("d"))
        );
        assert_eq!(
            parse_public(r#"{"kty":"OKP","crv":"Ed25519"}"#).err(),
            Some(JwkError::MissingX)
        );
    }

    #[test]
    fn wrong_x_and_kid_are_reported_not_rejected() {
        let other_x = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
        let p = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{other_x}","kid":"did:key:z6MkEnvVar"}}"#
        ))
        .unwrap();
        assert!(!p.x_matches());
        assert_eq!(
            p.kid_status(),
            KidStatus::WrongKey("did:key:z6MkEnvVar".into())
        );
        let q = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","kid":"key-1"}}"#
        ))
        .unwrap();
        assert!(!q.x_matches());
        assert_eq!(q.kid_status(), KidStatus::NotDid("key-1".into()));
        let w = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{X}","kid":"did:web:a.b:agents:c"}}"#
        ))
        .unwrap();
        assert!(matches!(w.kid_status(), KidStatus::OtherMethod(_)));
    }

    #[test]
    fn env_compact_layout() {
        let p = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{X}"}}"#
        ))
        .unwrap();
        assert_eq!(
            to_env_compact(&p.key).as_str(),
            format!(
                r#"{{"kty": "OKP", "crv": "Ed25519", "d": "{D}", "x": "{X}", "kid": "{DID}"}}"#
            )
        );
    }
}
