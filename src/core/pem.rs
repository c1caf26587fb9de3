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

/// Every message describes the input's shape (length, line count, expected label),
/// never its text: a mangled private PEM is still a private key.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PemError {
    #[error("file is empty")]
    Empty,
    #[error("no PEM block found in {shape}{hint} (expected a line `-----BEGIN {want}-----`)")]
    NoBlock {
        want: &'static str,
        shape: TextShape,
        hint: NoBlockHint,
    },
    #[error(
        "the PEM's BEGIN line is not followed by a line break: its newlines seem to have been {sep} ({shape}); expected `-----BEGIN {want}-----` on its own line, the base64 body on the next, then `-----END {want}-----`. Python `cryptography` 48 tolerates this, Go's PEM decoder (capiscio-core) does not: restore the line breaks, or write them as literal \\n"
    )]
    OneLine {
        want: &'static str,
        sep: Separator,
        shape: TextShape,
    },
    #[error("the PEM's BEGIN line does not end in `-----` (expected `-----BEGIN {want}-----`)")]
    BeginUnclosed { want: &'static str },
    /// `found` is one of the labels we know, never the input's text.
    #[error("PEM block `{found}` is not supported: {hint}")]
    Label {
        found: &'static str,
        hint: &'static str,
    },
    #[error(
        "the PEM's BEGIN line names an unknown label ({len} characters{typo}); expected `-----BEGIN {want}-----`"
    )]
    UnknownLabel {
        want: &'static str,
        len: usize,
        typo: Typo,
    },
    #[error(
        "PEM block has RFC 1421 headers (Proc-Type/DEK-Info): an encrypted legacy key; encrypted keys are not supported, decrypt it first (openssl pkey)"
    )]
    Headers,
    #[error("PEM block has no matching END line (expected `-----END {want}-----`)")]
    Unterminated { want: &'static str },
    #[error(
        "the PEM's END line is not on a line of its own (expected `-----END {want}-----` after a line break)"
    )]
    EndNotOnOwnLine { want: &'static str },
    #[error("the PEM's END line does not match its BEGIN line (expected `-----END {want}-----`)")]
    EndMismatch { want: &'static str },
    #[error("PEM body ({chars} characters on {lines} line(s)) is not valid base64: {why}")]
    Base64 {
        chars: usize,
        lines: usize,
        why: Base64Flaw,
    },
    #[error("not an Ed25519 key (DER structure or algorithm is different)")]
    NotEd25519,
    #[error("PKCS#8 v2 public key does not belong to the private key")]
    EmbeddedPublicMismatch,
}

/// Size of a value, for messages that must not quote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextShape {
    pub lines: usize,
    pub chars: usize,
}

impl TextShape {
    pub fn of(text: &str) -> Self {
        Self {
            lines: text.trim_end_matches(['\r', '\n']).lines().count().max(1),
            chars: text.trim().chars().count(),
        }
    }
}

impl std::fmt::Display for TextShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a {}-line value of {} characters",
            self.lines, self.chars
        )
    }
}

/// What stood where the BEGIN line's line break should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    Spaces,
    Tabs,
    Nothing,
}

impl std::fmt::Display for Separator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Spaces => "replaced by spaces",
            Self::Tabs => "replaced by tabs",
            Self::Nothing => "removed",
        })
    }
}

/// A guess at what a value without a BEGIN line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoBlockHint {
    None,
    /// Starts with `{`: a JWK in the PEM variable or file.
    Json,
    /// Starts with a quote: shell quoting kept as part of the value.
    Quoted,
    /// `-----BEGIN` appears, but not at the start of a line.
    BeginInside,
}

impl std::fmt::Display for NoBlockHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::None => "",
            Self::Json => "; it starts with `{`: a JWK (JSON), not a PEM",
            Self::Quoted => {
                "; it starts with a quote character: the quotes became part of the value"
            }
            Self::BeginInside => "; `-----BEGIN` appears, but not at the start of a line",
        })
    }
}

/// Whether an unknown label is close to the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typo {
    No,
    /// Within two edits (or only letter case) of the expected label.
    Likely,
}

impl std::fmt::Display for Typo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::No => "",
            Self::Likely => ", probably a misspelling",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Flaw {
    /// How many characters are outside the standard base64 alphabet.
    Alphabet(usize),
    LengthOrPadding,
}

impl std::fmt::Display for Base64Flaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Alphabet(n) => write!(f, "{n} character(s) outside the base64 alphabet"),
            Self::LengthOrPadding => f.write_str("its length or `=` padding is wrong (truncated?)"),
        }
    }
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

/// Labels nothing in CapiscIO reads, with what to tell the user.
const KNOWN_LABELS: &[(&str, &str)] = &[
    (
        "ENCRYPTED PRIVATE KEY",
        "encrypted keys are not supported; decrypt it first (openssl pkey)",
    ),
    (
        "OPENSSH PRIVATE KEY",
        "OpenSSH keys are not supported; CapiscIO reads PKCS#8 only",
    ),
    (
        "EC PRIVATE KEY",
        "CapiscIO identities are Ed25519 keys only",
    ),
    (
        "RSA PRIVATE KEY",
        "CapiscIO identities are Ed25519 keys only",
    ),
    (
        "CERTIFICATE",
        "this is a certificate; CapiscIO reads PKCS#8 `PRIVATE KEY` and SPKI `PUBLIC KEY` blocks",
    ),
    (
        "PUBLIC KEY",
        "this is a public key, a private key was expected",
    ),
    (
        "PRIVATE KEY",
        "this is a private key, a public key was expected",
    ),
];

/// Extracts the DER of the first PEM block, refusing labels nothing in CapiscIO reads.
/// Errors describe where the text departs from the expected layout, never its content.
fn block(text: &str, want: &'static str) -> Result<Zeroizing<Vec<u8>>, PemError> {
    if text.trim().is_empty() {
        return Err(PemError::Empty);
    }
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r').trim());
    let rest = loop {
        let Some(line) = lines.next() else {
            return Err(no_block(text, want));
        };
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            break rest;
        }
    };
    let Some(close) = rest.find("-----") else {
        return Err(PemError::BeginUnclosed { want });
    };
    let label = &rest[..close];
    let after = &rest[close..];
    let after = after.trim_start_matches('-');
    if label != want {
        if let Some((found, hint)) = KNOWN_LABELS.iter().find(|(l, _)| *l == label) {
            return Err(PemError::Label { found, hint });
        }
        return Err(PemError::UnknownLabel {
            want,
            len: label.chars().count(),
            typo: if near(label, want) {
                Typo::Likely
            } else {
                Typo::No
            },
        });
    }
    if !after.trim().is_empty() {
        let sep = match after.chars().next() {
            Some('\t') => Separator::Tabs,
            Some(c) if c.is_whitespace() => Separator::Spaces,
            _ => Separator::Nothing,
        };
        return Err(PemError::OneLine {
            want,
            sep,
            shape: TextShape::of(text),
        });
    }
    let end = format!("-----END {want}-----");
    let mut body = Zeroizing::new(String::new());
    for (body_lines, line) in lines.enumerate() {
        if line == end {
            return b64::std_decode(&body).ok_or_else(|| PemError::Base64 {
                chars: body.chars().count(),
                lines: body_lines,
                why: base64_flaw(&body),
            });
        }
        if line.starts_with("-----END") {
            return Err(PemError::EndMismatch { want });
        }
        if line.contains("-----END") {
            return Err(PemError::EndNotOnOwnLine { want });
        }
        if line.contains(':') {
            // RFC 1421 headers (e.g. Proc-Type) mean an encrypted legacy key.
            return Err(PemError::Headers);
        }
        body.push_str(line);
    }
    Err(PemError::Unterminated { want })
}

fn no_block(text: &str, want: &'static str) -> PemError {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    let hint = if t.starts_with('{') {
        NoBlockHint::Json
    } else if t.starts_with(['\'', '"']) {
        NoBlockHint::Quoted
    } else if t.contains("-----BEGIN") {
        NoBlockHint::BeginInside
    } else {
        NoBlockHint::None
    };
    PemError::NoBlock {
        want,
        shape: TextShape::of(text),
        hint,
    }
}

fn base64_flaw(body: &str) -> Base64Flaw {
    let bad = body
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')))
        .count();
    if bad > 0 {
        Base64Flaw::Alphabet(bad)
    } else {
        Base64Flaw::LengthOrPadding
    }
}

/// Case-insensitively equal, or within two single-character edits (Levenshtein).
fn near(found: &str, want: &str) -> bool {
    let a: Vec<char> = found.to_ascii_uppercase().chars().collect();
    let b: Vec<char> = want.chars().collect();
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
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
        assert!(matches!(
            parse_private("hello"),
            Err(PemError::NoBlock {
                want: "PRIVATE KEY",
                hint: NoBlockHint::None,
                ..
            })
        ));
        assert!(matches!(
            parse_private(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
            ),
            Err(PemError::Label {
                found: "OPENSSH PRIVATE KEY",
                ..
            })
        ));
        assert!(matches!(parse_private(PUB), Err(PemError::Label { .. })));
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\nMC4C"),
            Err(PemError::Unterminated {
                want: "PRIVATE KEY"
            })
        );
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n"),
            Err(PemError::Base64 {
                chars: 4,
                lines: 1,
                why: Base64Flaw::Alphabet(4)
            })
        );
        assert_eq!(
            parse_private("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"),
            Err(PemError::NotEd25519)
        );
        assert_eq!(
            parse_public("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"),
            Err(PemError::NotEd25519)
        );
        assert_eq!(
            parse_private(
                "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END PRIVATE KEY-----\n"
            ),
            Err(PemError::Headers)
        );
    }

    /// Every 16-character window of `secret` that shows up in `text`, except windows
    /// of the PEM armour (which contain `-` or a space; base64 bodies never do).
    fn leaked(text: &str, secret: &str) -> Option<String> {
        let s: Vec<char> = secret.chars().collect();
        s.windows(16)
            .map(|w| w.iter().collect::<String>())
            .filter(|w| !w.contains(['-', ' ']))
            .find(|w| text.contains(w.as_str()))
    }

    const BODY: &str = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";

    /// Malformed variants of a real key: each error names the shape, never the text.
    #[test]
    fn errors_never_quote_the_key() {
        let spaced = PRIV.trim_end().replace('\n', " ");
        let cases: Vec<(String, &str)> = vec![
            (spaced.clone(), "replaced by spaces"),
            (PRIV.trim_end().replace('\n', "\t"), "replaced by tabs"),
            (PRIV.trim_end().replace('\n', ""), "removed"),
            (PRIV.replace("BEGIN PRIVATE", "BEGIN PRIVTE"), "misspelling"),
            (
                PRIV.replace("BEGIN PRIVATE KEY", "BEGIN MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v"),
                "unknown label",
            ),
            (PRIV.replace("END PRIVATE", "END PRIVTE"), "does not match"),
            (
                PRIV.replace("9g\n-----END", "9g -----END"),
                "not on a line of its own",
            ),
            (PRIV.replace("/Vpg", "/V%g"), "1 character(s) outside"),
            (PRIV.replace("rn9g", "rn9"), "length or `=` padding"),
            (
                PRIV.replace("-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE KEY"),
                "does not end in",
            ),
            (
                format!("'{}'", escape_newlines(&spaced).as_str()),
                "quote character",
            ),
            (BODY.to_string(), "1-line value of 64 characters"),
            (
                PRIV.replace("\n-----END PRIVATE KEY-----\n", ""),
                "no matching END",
            ),
            (format!(r#"{{"kty":"OKP","d":"{BODY}"}}"#), "a JWK"),
        ];
        for (input, expect) in &cases {
            let msg = parse_private(input).unwrap_err().to_string();
            assert!(msg.contains(expect), "{expect:?} not in {msg:?}");
            assert_eq!(leaked(&msg, BODY), None, "{msg}");
            assert_eq!(leaked(&msg, input), None, "{msg}");
        }
        let msg = parse_private(&spaced).unwrap_err().to_string();
        assert!(msg.starts_with("the PEM's BEGIN line is not followed by a line break: its newlines seem to have been replaced by spaces (a 1-line value of 118 characters); expected `-----BEGIN PRIVATE KEY-----` on its own line"), "{msg}");
        let public = parse_public(&PUB.replace("BEGIN PUBLIC", "BEGIN PUBLIK")).unwrap_err();
        assert!(public.to_string().contains("probably a misspelling"));
    }
}
