//! PKCS#8 (private) and SPKI (public) PEM for Ed25519, byte-identical to what Python
//! `cryptography` and capiscio-core write. We always write PKCS#8 v1: v2 (with the
//! public key) is refused by `cryptography` and OpenSSL 3.0. We read both.

use crate::core::b64;
use crate::core::key::{KEY_LEN, KeyPair, PublicKey};
use ed25519_dalek::pkcs8::KeypairBytes;
use thiserror::Error;
use zeroize::Zeroizing;

const PKCS8_V1_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PemError {
    #[error("file is empty")]
    Empty,
    #[error("no PEM block found (expected `-----BEGIN {0}-----`)")]
    NoBlock(&'static str),
    #[error("PEM block `{found}` is not supported: {hint}")]
    Label { found: String, hint: &'static str },
    #[error("PEM block has no matching END line")]
    Unterminated,
    #[error("PEM body is not valid base64")]
    Base64,
    #[error("not an Ed25519 key (DER structure or algorithm is different)")]
    NotEd25519,
    #[error("PKCS#8 v2 public key does not belong to the private key")]
    EmbeddedPublicMismatch,
}

/// How a private PEM was encoded, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PemShape {
    /// Newlines were given as the two characters `\n` (the env-var form).
    pub escaped_newlines: bool,
    /// PKCS#8 v2 (OneAsymmetricKey with the public key embedded).
    pub pkcs8_v2: bool,
}

pub fn encode_private(key: &KeyPair) -> Zeroizing<String> {
    let mut der = Zeroizing::new([0u8; 48]);
    der[..16].copy_from_slice(&PKCS8_V1_PREFIX);
    der[16..].copy_from_slice(key.seed());
    let body = Zeroizing::new(b64::std_encode(der.as_ref()));
    Zeroizing::new(format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        body.as_str()
    ))
}

pub fn encode_public(public: &PublicKey) -> String {
    let mut der = [0u8; 44];
    der[..12].copy_from_slice(&SPKI_PREFIX);
    der[12..].copy_from_slice(public.as_bytes());
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64::std_encode(&der)
    )
}

/// The one-line env form: real newlines replaced by the two characters `\n`.
pub fn escape_newlines(pem: &str) -> Zeroizing<String> {
    Zeroizing::new(pem.replace('\n', "\\n"))
}

pub fn parse_private(text: &str) -> Result<(KeyPair, PemShape), PemError> {
    let escaped = text.contains("\\n");
    let unescaped = Zeroizing::new(if escaped {
        text.replace("\\n", "\n")
    } else {
        text.to_string()
    });
    let der = block(&unescaped, "PRIVATE KEY")?;
    let parsed = KeypairBytes::try_from(der.as_slice()).map_err(|_| PemError::NotEd25519)?;
    let key = KeyPair::from_seed(&parsed.secret_key);
    let v2 = parsed.public_key.is_some();
    if let Some(public) = &parsed.public_key
        && public.to_bytes() != *key.public().as_bytes()
    {
        return Err(PemError::EmbeddedPublicMismatch);
    }
    Ok((
        key,
        PemShape {
            escaped_newlines: escaped,
            pkcs8_v2: v2,
        },
    ))
}

pub fn parse_public(text: &str) -> Result<PublicKey, PemError> {
    let unescaped = text.replace("\\n", "\n");
    let der = block(&unescaped, "PUBLIC KEY")?;
    if der.len() != SPKI_PREFIX.len() + KEY_LEN || der[..SPKI_PREFIX.len()] != SPKI_PREFIX {
        return Err(PemError::NotEd25519);
    }
    PublicKey::from_slice(&der[SPKI_PREFIX.len()..]).ok_or(PemError::NotEd25519)
}

/// Extracts the DER of the first PEM block, refusing labels nothing in CapiscIO reads.
fn block(text: &str, want: &'static str) -> Result<Zeroizing<Vec<u8>>, PemError> {
    if text.trim().is_empty() {
        return Err(PemError::Empty);
    }
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r').trim());
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(PemError::NoBlock(want));
        };
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            break rest.strip_suffix("-----").unwrap_or(rest).to_string();
        }
    };
    if label != want {
        let hint = match label.as_str() {
            "ENCRYPTED PRIVATE KEY" => {
                "encrypted keys are not supported; decrypt it first (openssl pkey)"
            }
            "OPENSSH PRIVATE KEY" => "OpenSSH keys are not supported; CapiscIO reads PKCS#8 only",
            "EC PRIVATE KEY" | "RSA PRIVATE KEY" => "CapiscIO identities are Ed25519 keys only",
            "PUBLIC KEY" => "this is a public key, a private key was expected",
            "PRIVATE KEY" => "this is a private key, a public key was expected",
            _ => "CapiscIO reads only PKCS#8 `PRIVATE KEY` and SPKI `PUBLIC KEY` blocks",
        };
        return Err(PemError::Label { found: label, hint });
    }
    let end = format!("-----END {want}-----");
    let mut body = Zeroizing::new(String::new());
    for line in lines {
        if line == end {
            return b64::std_decode(&body).ok_or(PemError::Base64);
        }
        if line.contains(':') {
            // RFC 1421 headers (e.g. Proc-Type) mean an encrypted legacy key.
            return Err(PemError::Label {
                found: format!("{want} with headers"),
                hint: "encrypted keys are not supported; decrypt it first (openssl pkey)",
            });
        }
        body.push_str(line);
    }
    Err(PemError::Unterminated)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIV: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
    const PUB: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";

    #[test]
    fn vector_round_trip() {
        let (key, shape) = parse_private(PRIV).unwrap();
        assert!(!shape.escaped_newlines && !shape.pkcs8_v2);
        assert_eq!(encode_private(&key).as_str(), PRIV);
        assert_eq!(encode_public(key.public()), PUB);
        assert_eq!(parse_public(PUB).unwrap(), *key.public());
    }

    #[test]
    fn escaped_newlines_and_crlf() {
        let esc = escape_newlines(PRIV);
        let (key, shape) = parse_private(&esc).unwrap();
        assert!(shape.escaped_newlines);
        assert_eq!(encode_private(&key).as_str(), PRIV);
        let (k2, _) = parse_private(&PRIV.replace('\n', "\r\n")).unwrap();
        assert_eq!(k2, key);
    }

    #[test]
    fn reads_pkcs8_v2() {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let (key, _) = parse_private(PRIV).unwrap();
        let kb = KeypairBytes {
            secret_key: *key.seed(),
            public_key: Some(ed25519_dalek::pkcs8::PublicKeyBytes(
                *key.public().as_bytes(),
            )),
        };
        let doc = kb.to_pkcs8_der().unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            b64::std_encode(doc.as_bytes())
        );
        let (k2, shape) = parse_private(&pem).unwrap();
        assert!(shape.pkcs8_v2);
        assert_eq!(k2, key);
    }

    #[test]
    fn rejects_what_capiscio_cannot_read() {
        assert_eq!(parse_private(""), Err(PemError::Empty));
        assert_eq!(
            parse_private("hello"),
            Err(PemError::NoBlock("PRIVATE KEY"))
        );
        assert!(matches!(
            parse_private(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
            ),
            Err(PemError::Label { .. })
        ));
        assert!(matches!(parse_private(PUB), Err(PemError::Label { .. })));
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\nMC4C"),
            Err(PemError::Unterminated)
        );
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"),
            Err(PemError::Base64)
        );
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"),
            Err(PemError::NotEd25519)
        );
        assert_eq!(
            parse_public("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"),
            Err(PemError::NotEd25519)
        );
    }
}
