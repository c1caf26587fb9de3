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

/// Every message describes the input's shape (which member, its type or length, where
/// the JSON breaks), never its text: a mangled private JWK still holds the key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum JwkError {
    #[error("file is empty")]
    Empty,
    #[error("not valid JSON: {0}")]
    Json(JsonFault),
    #[error("JSON is not an object (found {0})")]
    NotAnObject(&'static str),
    #[error("`kty` is {0}, expected \"OKP\"")]
    Kty(ValueShape),
    #[error("`crv` is {0}, expected \"Ed25519\"")]
    Crv(ValueShape),
    #[error("`{member}` is {found}, expected a base64url string")]
    NotAString {
        member: &'static str,
        found: ValueShape,
    },
    #[error("`x` is missing")]
    MissingX,
    #[error("`d` is missing (this is a public key)")]
    MissingD,
    #[error(
        "`{member}` ({len} characters) is not valid base64url: {bad} character(s) outside the base64url alphabet"
    )]
    Base64 {
        member: &'static str,
        len: usize,
        bad: usize,
    },
    #[error("`{member}` decodes to {len} bytes, an Ed25519 key has 32")]
    Length { member: &'static str, len: usize },
    #[error("`x` is a small-order (weak) point: no one holds its private key")]
    WeakKey,
}

/// Where and how JSON failed to parse: serde's category and position only, because
/// serde's own text can quote the value it choked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonFault {
    pub category: JsonCategory,
    pub line: usize,
    pub column: usize,
    pub hint: JsonHint,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonCategory {
    Syntax,
    /// The text stops inside a value or object.
    Eof,
    /// Well-formed JSON of the wrong structure (e.g. a member given twice).
    Data,
    Io,
}

/// A guess at what the non-JSON text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonHint {
    None,
    /// A PEM where a JWK belongs.
    Pem,
    /// `{'kty': …}`: a Python dict's repr, not JSON.
    SingleQuotes,
}

impl JsonFault {
    pub fn of(err: &serde_json::Error, text: &str) -> Self {
        use serde_json::error::Category;
        let t = text.trim_start_matches('\u{feff}').trim_start();
        let hint = if t.starts_with("-----BEGIN") || t.contains("-----BEGIN ") {
            JsonHint::Pem
        } else if t.starts_with('{') && t[1..].trim_start().starts_with('\'') {
            JsonHint::SingleQuotes
        } else {
            JsonHint::None
        };
        Self {
            category: match err.classify() {
                Category::Syntax => JsonCategory::Syntax,
                Category::Eof => JsonCategory::Eof,
                Category::Data => JsonCategory::Data,
                Category::Io => JsonCategory::Io,
            },
            line: err.line(),
            column: err.column(),
            hint,
        }
    }
}

impl std::fmt::Display for JsonFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.category {
            JsonCategory::Syntax => "syntax error",
            JsonCategory::Eof => "the text ends too early (truncated?)",
            JsonCategory::Data => "a member is given twice or has an unexpected type",
            JsonCategory::Io => "read error",
        };
        write!(f, "{what} at line {} column {}", self.line, self.column)?;
        f.write_str(match self.hint {
            JsonHint::None => "",
            JsonHint::Pem => "; the value looks like a PEM key, not a JWK",
            JsonHint::SingleQuotes => {
                "; it uses single quotes (a Python dict?), JSON needs double quotes"
            }
        })
    }
}

/// The kind and size of a JSON value, for messages that must not quote it. Only the
/// handful of well-known JWK `kty`/`crv` names are ever named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueShape {
    Missing,
    Known(&'static str),
    String(usize),
    Number,
    Bool,
    Null,
    Array,
    Object,
}

const KNOWN_NAMES: &[&str] = &[
    "OKP",
    "EC",
    "RSA",
    "oct",
    "Ed25519",
    "Ed448",
    "X25519",
    "X448",
    "P-256",
    "P-384",
    "P-521",
    "secp256k1",
];

impl ValueShape {
    pub fn of(value: Option<&serde_json::Value>) -> Self {
        use serde_json::Value as V;
        match value {
            None => Self::Missing,
            Some(V::String(s)) => KNOWN_NAMES
                .iter()
                .find(|k| **k == s.as_str())
                .map_or(Self::String(s.chars().count()), |k| Self::Known(k)),
            Some(V::Number(_)) => Self::Number,
            Some(V::Bool(_)) => Self::Bool,
            Some(V::Null) => Self::Null,
            Some(V::Array(_)) => Self::Array,
            Some(V::Object(_)) => Self::Object,
        }
    }
}

impl std::fmt::Display for ValueShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => f.write_str("missing"),
            Self::Known(k) => write!(f, "\"{k}\""),
            Self::String(n) => write!(f, "a {n}-character string"),
            Self::Number => f.write_str("a number"),
            Self::Bool => f.write_str("a boolean"),
            Self::Null => f.write_str("null"),
            Self::Array => f.write_str("an array"),
            Self::Object => f.write_str("an object"),
        }
    }
}

/// How a JWK's `kid` relates to the key it sits in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KidStatus {
    /// `kid` is the did:key of `x`, as the SDKs expect.
    Matches,
    Missing,
    /// Present but not a DID; the agent SDK refuses it. Holds the kid's shape (e.g. "a
    /// 43-character string"), never its text: a key pasted into `kid` must not be shown.
    NotDid(String),
    /// A DID of another method (e.g. did:web); the SDK accepts it but it is not the key DID.
    /// Holds its shape ("a did:web DID (31 characters)"), never its text: a key pasted
    /// after `did:` must not be shown either.
    OtherMethod(String),
    /// A did:key of a different key, or an undecodable did:key. Holds a phrase naming only
    /// the did:key expected (derived from the real public key), never the kid's text:
    /// "did:key:" followed by a key's `d`, its hex, … would otherwise be printed.
    WrongKey(String),
}

/// Longest DID method name shown: real ones are short (key, web, peer, cheqd); a longer
/// one may be a secret pasted after `did:`, and 7 characters is below any leak window.
const MAX_METHOD_SHOWN: usize = 7;

/// A DID's shape for messages: its method when that is a plausible method name, and its
/// length — never the rest of its text.
fn did_shape(kid: &str) -> String {
    let n = kid.chars().count();
    let method = kid
        .strip_prefix("did:")
        .and_then(|r| r.split(':').next())
        .unwrap_or("");
    if (1..=MAX_METHOD_SHOWN).contains(&method.len())
        && method
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        format!("a did:{method} DID ({n} characters)")
    } else {
        format!("a DID ({n} characters)")
    }
}

impl KidStatus {
    pub fn of(kid: Option<&str>, public: &PublicKey) -> Self {
        match kid {
            None => Self::Missing,
            Some(k) if !k.starts_with("did:") => {
                Self::NotDid(ValueShape::String(k.chars().count()).to_string())
            }
            Some(k) if did::method(k) != "key" => Self::OtherMethod(did_shape(k)),
            Some(k) => match did::parse_did_key(k) {
                Ok(pk) if pk == *public => Self::Matches,
                Ok(_) => Self::WrongKey(format!(
                    "names another key, not this key's did:key ({} expected)",
                    public.did_key()
                )),
                Err(_) => Self::WrongKey(format!(
                    "is a did:key ({} characters) that does not decode, not this key's did:key ({} expected)",
                    k.chars().count(),
                    public.did_key()
                )),
            },
        }
    }

    /// [`KidStatus::of`] when `public`'s did:key (`key_did`) is already at hand: a kid
    /// spelled exactly like it is that key's DID without decoding its base58 again; any
    /// other kid is judged by [`KidStatus::of`].
    pub fn of_known(kid: Option<&str>, public: &PublicKey, key_did: &str) -> Self {
        match kid {
            Some(k) if k == key_did => Self::Matches,
            _ => Self::of(kid, public),
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

    /// [`Self::kid_status`] given the did:key of `d`'s public key.
    pub fn kid_status_known(&self, key_did: &str) -> KidStatus {
        KidStatus::of_known(self.kid.as_deref(), self.key.public(), key_did)
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

    /// [`Self::kid_status`] given the did:key of `x`.
    pub fn kid_status_known(&self, key_did: &str) -> KidStatus {
        KidStatus::of_known(self.kid.as_deref(), &self.x, key_did)
    }
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<serde_json::Value>,
    crv: Option<serde_json::Value>,
    x: Option<serde_json::Value>,
    #[serde(default)]
    d: Option<SecretMember>,
    kid: Option<serde_json::Value>,
}

/// `d` as found: the string goes straight into wiped memory; any other JSON type is
/// consumed without being kept, and only its kind is remembered.
enum SecretMember {
    Str(Zeroizing<String>),
    Other(ValueShape),
}

impl<'de> Deserialize<'de> for SecretMember {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(SecretVisitor)
    }
}

struct SecretVisitor;

impl<'de> serde::de::Visitor<'de> for SecretVisitor {
    type Value = SecretMember;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretMember, E> {
        Ok(SecretMember::Str(Zeroizing::new(v.to_owned())))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<SecretMember, E> {
        Ok(SecretMember::Str(Zeroizing::new(v)))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretMember, E> {
        Ok(SecretMember::Other(ValueShape::Bool))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretMember, E> {
        Ok(SecretMember::Other(ValueShape::Number))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretMember, E> {
        Ok(SecretMember::Other(ValueShape::Number))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretMember, E> {
        Ok(SecretMember::Other(ValueShape::Number))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<SecretMember, E> {
        Ok(SecretMember::Other(ValueShape::Null))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SecretMember, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(SecretMember::Other(ValueShape::Array))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretMember, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(SecretMember::Other(ValueShape::Object))
    }
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
                Err(e) => Err(JwkError::Json(JsonFault::of(&e, trimmed))),
            };
        }
    }
    let raw: RawJwk =
        serde_json::from_str(trimmed).map_err(|e| JwkError::Json(JsonFault::of(&e, trimmed)))?;
    check_str(&raw.kty, "OKP").map_err(JwkError::Kty)?;
    check_str(&raw.crv, "Ed25519").map_err(JwkError::Crv)?;
    Ok(raw)
}

fn check_str(value: &Option<serde_json::Value>, want: &str) -> Result<(), ValueShape> {
    match value {
        Some(serde_json::Value::String(s)) if s == want => Ok(()),
        other => Err(ValueShape::of(other.as_ref())),
    }
}

/// `x` as a string, or which type it is instead.
fn x_str(raw: &RawJwk) -> Result<Option<&str>, JwkError> {
    match &raw.x {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        other => Err(JwkError::NotAString {
            member: "x",
            found: ValueShape::of(other.as_ref()),
        }),
    }
}

fn kid_of(raw: &RawJwk) -> Option<String> {
    match &raw.kid {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
            Some(v.to_string())
        }
        // An array or object may hold anything: keep only its kind (shown as "not a DID").
        Some(other) => Some(ValueShape::of(Some(other)).to_string()),
    }
}

fn decode_key(member: &'static str, text: &str) -> Result<Zeroizing<Vec<u8>>, JwkError> {
    let bytes = b64::url_decode(text).ok_or_else(|| JwkError::Base64 {
        member,
        len: text.chars().count(),
        bad: text
            .chars()
            .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '=')))
            .count(),
    })?;
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
    let d = match &raw.d {
        None => return Err(JwkError::MissingD),
        Some(SecretMember::Other(found)) => {
            return Err(JwkError::NotAString {
                member: "d",
                found: *found,
            });
        }
        Some(SecretMember::Str(d)) => d,
    };
    let seed = decode_key("d", d)?;
    let mut arr = Zeroizing::new([0u8; KEY_LEN]);
    arr.copy_from_slice(&seed);
    let x_written = match x_str(&raw)? {
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
    parse_public_beside(text, None)
}

/// [`parse_public`] next to a key derived from its private seed: an `x` equal to that
/// key is not decompressed to be checked for small order, because a public key derived
/// from a seed never is one (the clamped scalar times the prime-order base point). Any
/// other `x` is checked as [`parse_public`] checks it.
pub fn parse_public_beside(text: &str, derived: Option<&PublicKey>) -> Result<PublicJwk, JwkError> {
    let raw = parse_raw(text)?;
    let x = decode_public(x_str(&raw)?.ok_or(JwkError::MissingX)?)?;
    if derived != Some(&x) && x.is_weak() {
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
    fn shortcuts_agree_with_the_full_checks() {
        let p = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{X}","kid":"{DID}"}}"#
        ))
        .unwrap();
        let public = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{X}","kid":"{DID}"}}"#);
        assert_eq!(
            parse_public_beside(&public, Some(p.key.public())),
            parse_public(&public)
        );
        // The identity point (y = 1) is small-order: refused whatever key sits beside it.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
            b64::url_encode(&identity)
        );
        assert_eq!(parse_public(&weak), Err(JwkError::WeakKey));
        assert_eq!(
            parse_public_beside(&weak, Some(p.key.public())),
            Err(JwkError::WeakKey)
        );
        let key = *p.key.public();
        for kid in [
            None,
            Some(DID),
            Some(&DID[..DID.len() - 1]),
            Some("did:web:example.com"),
            Some("abc"),
            Some("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
        ] {
            assert_eq!(
                KidStatus::of_known(kid, &key, DID),
                KidStatus::of(kid, &key),
                "{kid:?}"
            );
        }
        assert_eq!(p.kid_status_known(DID), KidStatus::Matches);
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
            Some(JwkError::Kty(ValueShape::Known("EC")))
        );
        assert_eq!(
            parse_private(&format!(r#"{{"kty":"OKP","crv":"X25519","d":"{D}"}}"#)).err(),
            Some(JwkError::Crv(ValueShape::Known("X25519")))
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
            Some(JwkError::Base64 {
                member: "d",
                len: 2,
                bad: 2
            })
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
        // The kid's text is never kept: only the did:key expected, derived from `d`.
        match p.kid_status() {
            KidStatus::WrongKey(w) => {
                assert!(!w.contains("z6MkEnvVar"), "{w}");
                assert!(w.contains(&p.key.public().did_key()), "{w}");
            }
            other => panic!("{other:?}"),
        }
        let q = parse_private(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","kid":"key-1"}}"#
        ))
        .unwrap();
        assert!(!q.x_matches());
        assert_eq!(
            q.kid_status(),
            KidStatus::NotDid("a 5-character string".into())
        );
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

    /// Every 16-character window of `secret` that shows up in `text`.
    fn leaked(text: &str, secret: &str) -> Option<String> {
        let s: Vec<char> = secret.chars().collect();
        s.windows(16)
            .map(|w| w.iter().collect::<String>())
            .find(|w| text.contains(w.as_str()))
    }

    /// Malformed variants of a real key: each error names the member and the shape,
    /// never the value.
    #[test]
    fn errors_never_quote_the_key() {
        let good = format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}","x":"{X}","kid":"{DID}"}}"#);
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
        let cases: Vec<(String, &str)> = vec![
            (good[..good.len() / 2].to_string(), "ends too early"),
            (good.replace('"', "'"), "single quotes"),
            (
                good.replace(r#""kty":"OKP""#, &format!(r#""kty":"{D}""#)),
                "`kty` is a 43-character string",
            ),
            (
                good.replace(r#""crv":"Ed25519""#, &format!(r#""crv":"{D}""#)),
                "`crv` is a 43-character string",
            ),
            (
                good.replace(&format!(r#""d":"{D}""#), &format!(r#""d":["{D}"]"#)),
                "`d` is an array",
            ),
            (
                good.replace(&format!(r#""x":"{X}""#), &format!(r#""x":{{"v":"{D}"}}"#)),
                "`x` is an object",
            ),
            (
                good.replace(D, &format!("{}!{}", &D[..20], &D[21..])),
                "1 character(s) outside",
            ),
            (good.replace(D, &format!("{D}AAAA")), "decodes to 35 bytes"),
            (good.replace(D, &D[..40]), "decodes to 30 bytes"),
            (
                good.replace(
                    &format!(r#""d":"{D}","#),
                    &format!(r#""d":"{D}","d":"{D}","#),
                ),
                "given twice",
            ),
            (format!("{good} {D}"), "syntax error at line 1"),
            (format!(r#"{{"kty":"OKP","d":"{D}"#), "ends too early"),
            (
                format!(r#"{{"kty":"OKP","crv":"Ed25519","d":"{D}" "x":"{X}"}}"#),
                "syntax error",
            ),
            (pem.to_string(), "looks like a PEM"),
            (D.to_string(), "syntax error"),
        ];
        for (input, expect) in &cases {
            let msg = parse_private(input).unwrap_err().to_string();
            assert!(msg.contains(expect), "{expect:?} not in {msg:?}");
            assert_eq!(leaked(&msg, D), None, "{msg}");
            assert_eq!(
                leaked(
                    &msg,
                    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g"
                ),
                None,
                "{msg}"
            );
        }
        // `d` pasted into `kid`: reported by shape only.
        let p = parse_private(&good.replace(DID, D)).unwrap();
        let status = format!("{:?}", p.kid_status());
        assert_eq!(leaked(&status, D), None, "{status}");
        let public = parse_public(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":{{"d":"{D}"}}}}"#
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(public, "`x` is an object, expected a base64url string");
    }
}
