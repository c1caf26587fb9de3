//! Redaction of a CLI's output before it is shown — the one function every text from
//! a child goes through (push and deployed, errors and details, CLI and UI). It knows
//! every key of the identity (the current one and each archived one) in every encoding
//! a CLI might echo (the env value, its JSON-escaped form, the JWK's `d`, the seed in
//! base64/base64url/hex, each PEM body line, the base64 of the whole value); it also
//! removes any run of [`WINDOW`] characters found inside one of the secret encodings (a
//! CLI printing part of a key), and any long base64-like run, which catches keys we do
//! not know (a foreign key read back).

use crate::core::identity::Kind;
use crate::core::key::{KeyPair, hex};
use base64::Engine as _;
use zeroize::Zeroizing;

pub const MARK: &str = "[redacted]";

/// Runs of this many base64/hex characters are treated as key material whatever they
/// are: an Ed25519 seed is 43–44 in base64, 64 in hex; a PKCS#8 PEM line is 64.
const LONG_RUN: usize = 40;

/// Any run this long that occurs inside a secret encoding is removed: a prefix, a
/// suffix or a slice of `d` is as good as half a key to someone brute-forcing the rest.
pub const WINDOW: usize = 8;

type Window = [u8; WINDOW];

pub struct Redactor {
    /// Whole encodings, longest first (a whole value goes before its parts).
    needles: Vec<Zeroizing<String>>,
    /// Every WINDOW-byte slice of every secret encoding, sorted and deduplicated.
    windows: Zeroizing<Vec<Window>>,
}

impl Redactor {
    /// A redactor for one key and the env value it is pushed as.
    pub fn new(value: &str, key: &KeyPair) -> Self {
        let mut r = Self::generic();
        r.add_value(value);
        r.add_key(key);
        r.finish();
        r
    }

    /// A redactor for every key of an identity: `value` (the env value being pushed, if
    /// any), the current key, and the archived keys.
    pub fn for_keys(value: Option<&str>, keys: &[&KeyPair]) -> Self {
        let mut r = Self::generic();
        if let Some(v) = value {
            r.add_value(v);
        }
        for k in keys {
            r.add_key(k);
        }
        r.finish();
        r
    }

    /// A redactor that knows no key: only the long-run rule applies.
    pub fn generic() -> Self {
        Self {
            needles: Vec::new(),
            windows: Zeroizing::new(Vec::new()),
        }
    }

    /// A value as a CLI may echo it: whole, trimmed, JSON-escaped, base64, line by line.
    fn add_value(&mut self, value: &str) {
        let b64 = base64::engine::general_purpose::STANDARD;
        self.needles.push(Zeroizing::new(value.to_string()));
        self.needles.push(Zeroizing::new(value.trim().to_string()));
        self.needles.push(Zeroizing::new(
            serde_json::Value::String(value.to_string())
                .to_string()
                .trim_matches('"')
                .to_string(),
        ));
        let whole = Zeroizing::new(b64.encode(value.as_bytes()));
        self.add_windows(&whole);
        self.needles.push(whole);
        for line in value.lines().map(str::trim) {
            if line.len() >= 16 && !line.starts_with("-----") {
                let line = Zeroizing::new(line.to_string());
                self.add_windows(&line);
                self.needles.push(line);
            }
        }
    }

    /// A key in both env encodings (either kind's CLI user may have stored the other)
    /// and its seed in base64, base64url (the JWK's `d`) and hex.
    fn add_key(&mut self, key: &KeyPair) {
        for v in [
            crate::core::jwk::to_env_compact(key),
            crate::core::secret::encode(Kind::Agent, key),
            crate::core::secret::encode(Kind::McpServer, key),
        ] {
            self.add_value(v.trim_end());
        }
        let seed = key.seed();
        let b64 = base64::engine::general_purpose::STANDARD;
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let hex_lower = Zeroizing::new(hex(seed));
        let hex_upper = Zeroizing::new(hex_lower.to_ascii_uppercase());
        for enc in [
            Zeroizing::new(b64.encode(seed)),
            Zeroizing::new(b64url.encode(seed)),
            hex_lower,
            hex_upper,
        ] {
            self.add_windows(&enc);
            self.needles.push(enc);
        }
    }

    fn add_windows(&mut self, secret: &str) {
        for w in secret.as_bytes().windows(WINDOW) {
            let mut a = [0u8; WINDOW];
            a.copy_from_slice(w);
            self.windows.push(a);
        }
    }

    fn finish(&mut self) {
        self.needles.retain(|n| n.len() >= 16);
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        self.needles.dedup();
        self.windows.sort_unstable();
        self.windows.dedup();
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MARK);
            }
        }
        let out = self.redact_windows(&out);
        redact_long_runs(&out)
    }

    /// Replaces every stretch covered by a WINDOW-byte slice of a secret encoding. The
    /// encodings are ASCII, so a covered stretch starts and ends on character boundaries.
    fn redact_windows(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        if self.windows.is_empty() || bytes.len() < WINDOW {
            return text.to_string();
        }
        let mut covered_to = 0usize;
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (i, w) in bytes.windows(WINDOW).enumerate() {
            if self.windows.binary_search_by(|s| s[..].cmp(w)).is_ok() {
                match spans.last_mut() {
                    Some(last) if i <= covered_to => last.1 = i + WINDOW,
                    _ => spans.push((i, i + WINDOW)),
                }
                covered_to = i + WINDOW;
            }
        }
        if spans.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (a, b) in spans {
            out.push_str(&text[at..a]);
            out.push_str(MARK);
            at = b;
        }
        out.push_str(&text[at..]);
        out
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
    fn every_key_and_any_part_of_one_is_redacted() {
        let current = KeyPair::from_seed(&[7; 32]);
        let old = KeyPair::from_seed(&[9; 32]);
        let value = crate::core::jwk::to_env_compact(&current);
        let r = Redactor::for_keys(Some(&value), &[&current, &old]);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for k in [&current, &old] {
            let d = b64url.encode(k.seed());
            let h = hex(k.seed());
            let pem = crate::core::pem::encode_private(k);
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            for shown in [
                format!("d is {d}."),
                format!("prefix {}…", &d[..12]),
                format!("middle x{}y", &d[10..18]),
                format!("tail {}", &d[d.len() - 9..]),
                format!("hex {}", &h[20..40].to_uppercase()),
                format!("pem {body}"),
                crate::core::jwk::to_go_private(k).to_string(),
            ] {
                let out = r.redact(&shown);
                assert!(out.contains(MARK), "{out}");
                for secret in [d.as_str(), h.as_str(), body.as_str()] {
                    for w in secret.as_bytes().windows(WINDOW) {
                        let w = std::str::from_utf8(w).unwrap();
                        assert!(!out.contains(w), "{w} in {out}");
                    }
                }
            }
        }
        // Seven characters of `d`, and text around a match, are kept.
        let d = b64url.encode(current.seed());
        let seven = format!("é {} ü", &d[..7]);
        assert_eq!(r.redact(&seven), seven);
        assert_eq!(r.redact(&format!("é {} ü", &d[..9])), format!("é {MARK} ü"));
    }

    #[test]
    fn ordinary_messages_survive() {
        let msg = "An error occurred (AccessDeniedException) when calling the PutSecretValue operation: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/agent-AbCdEf 6c0f9a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f";
        assert_eq!(Redactor::generic().redact(msg), msg);
        let k = KeyPair::from_seed(&[7; 32]);
        assert_eq!(Redactor::for_keys(None, &[&k]).redact(msg), msg);
    }
}
