//! Redaction of a CLI's output before it is shown: the key in every encoding a CLI
//! might echo (the env value, its JSON-escaped form, the JWK's `d`, the seed in
//! base64/base64url/hex, each PEM body line, the base64 of the whole value), and any
//! long base64-like run, which catches keys we do not know (a foreign key read back).

use crate::core::key::{KeyPair, hex};
use base64::Engine as _;
use zeroize::Zeroizing;

pub const MARK: &str = "[redacted]";

/// Runs of this many base64/hex characters are treated as key material whatever they
/// are: an Ed25519 seed is 43–44 in base64, 64 in hex; a PKCS#8 PEM line is 64.
const LONG_RUN: usize = 40;

pub struct Redactor {
    needles: Vec<Zeroizing<String>>,
}

impl Redactor {
    pub fn new(value: &str, key: &KeyPair) -> Self {
        let seed = key.seed();
        let b64 = base64::engine::general_purpose::STANDARD;
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut needles = vec![
            Zeroizing::new(value.to_string()),
            Zeroizing::new(value.trim().to_string()),
            Zeroizing::new(
                serde_json::Value::String(value.to_string())
                    .to_string()
                    .trim_matches('"')
                    .to_string(),
            ),
            Zeroizing::new(b64.encode(value.as_bytes())),
            Zeroizing::new(b64.encode(seed)),
            Zeroizing::new(b64url.encode(seed)),
            Zeroizing::new(hex(seed)),
        ];
        for line in value.lines().map(str::trim) {
            if line.len() >= 16 && !line.starts_with("-----") {
                needles.push(Zeroizing::new(line.to_string()));
            }
        }
        needles.retain(|n| n.len() >= 16);
        // Longest first, so a whole value goes before its parts.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Self { needles }
    }

    /// A redactor that knows no key: only the long-run rule applies.
    pub fn generic() -> Self {
        Self {
            needles: Vec::new(),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MARK);
            }
        }
        redact_long_runs(&out)
    }
}

fn is_keyish(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/=_-".contains(c)
}

fn redact_long_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // Hyphenated words (UUIDs, resource names) are not keys: count only the
        // characters of the run's longest hyphen-free stretch.
        let longest = run.split('-').map(str::len).max().unwrap_or(0);
        if longest >= LONG_RUN {
            out.push_str(MARK);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_keyish(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encoding_of_the_key_is_redacted() {
        let key = KeyPair::from_seed(&[7; 32]);
        let jwk = crate::core::jwk::to_env_compact(&key);
        let pem = crate::core::pem::encode_private(&key);
        let d = serde_json::from_str::<serde_json::Value>(&jwk).unwrap()["d"]
            .as_str()
            .unwrap()
            .to_string();
        for value in [jwk.as_str(), pem.as_str()] {
            let r = Redactor::new(value, &key);
            let b64 = base64::engine::general_purpose::STANDARD;
            for shown in [
                value.to_string(),
                format!("error: bad value {d} here"),
                format!("echo {}", b64.encode(value.as_bytes())),
                format!("seed {}", hex(key.seed())),
                serde_json::Value::String(value.to_string()).to_string(),
            ] {
                let out = r.redact(&shown);
                assert!(!out.contains(&d), "{out}");
                assert!(!out.contains(&hex(key.seed())), "{out}");
                for line in pem.lines().filter(|l| !l.starts_with("-----")) {
                    assert!(!out.contains(line), "{out}");
                }
            }
        }
    }

    #[test]
    fn ordinary_messages_survive() {
        let msg = "An error occurred (AccessDeniedException) when calling the PutSecretValue operation: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/agent-AbCdEf 6c0f9a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f";
        assert_eq!(Redactor::generic().redact(msg), msg);
    }
}
