//! did:key (Ed25519, multicodec 0xed01, base58btc) and did:web parsing, following
//! capiscio-core `pkg/did` so that every DID we print matches what the SDKs print.

use crate::core::key::PublicKey;
use thiserror::Error;

const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DidError {
    #[error("not a DID (expected `did:<method>:<id>`)")]
    NotADid,
    #[error("unsupported DID method `{0}`")]
    UnsupportedMethod(String),
    #[error("did:key must have exactly three colon-separated parts")]
    KeyParts,
    #[error("did:key id must start with multibase prefix `z` (base58btc)")]
    KeyMultibase,
    #[error("did:key id is not valid base58btc")]
    KeyBase58,
    #[error("did:key is not an Ed25519 key (multicodec prefix is not 0xed01)")]
    KeyCodec,
    #[error("did:key holds {0} key bytes, an Ed25519 key has 32")]
    KeyLength(usize),
    #[error("did:web has an empty or malformed domain")]
    WebDomain,
}

pub fn did_key_from_public(key: &PublicKey) -> String {
    let mut bytes = [0u8; 34];
    bytes[..2].copy_from_slice(&ED25519_MULTICODEC);
    bytes[2..].copy_from_slice(key.as_bytes());
    let mut did = String::with_capacity(9 + MAX_B58_34);
    did.push_str("did:key:z");
    base58_34(&bytes, &mut did);
    did
}

const B58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Base58 digits of a 34-byte value at most: ceil(34 * 8 / log2(58)).
const MAX_B58_34: usize = 47;

/// Base58btc (Bitcoin alphabet) of a 34-byte value, appended to `out`; the same text as
/// `bs58::encode(bytes)`, computed five digits per pass (58^5 fits in a u32 limb) instead
/// of one byte at a time: every identity's did:key is encoded on each scan.
fn base58_34(bytes: &[u8; 34], out: &mut String) {
    const CHUNK: u64 = 58u64.pow(5);
    // Big-endian u32 limbs of the value (two zero bytes in front change nothing).
    let mut limbs = [0u32; 9];
    let mut padded = [0u8; 36];
    padded[2..].copy_from_slice(bytes);
    for (limb, quad) in limbs.iter_mut().zip(padded.chunks_exact(4)) {
        *limb = u32::from_be_bytes([quad[0], quad[1], quad[2], quad[3]]);
    }
    // Digits, least significant first.
    let mut digits = [0u8; MAX_B58_34 + 5];
    let mut n = 0;
    let mut first = 0; // limbs[..first] are zero
    while first < limbs.len() {
        let mut rem = 0u64;
        for limb in &mut limbs[first..] {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / CHUNK) as u32;
            rem = cur % CHUNK;
        }
        for _ in 0..5 {
            digits[n] = (rem % 58) as u8;
            rem /= 58;
            n += 1;
        }
        while first < limbs.len() && limbs[first] == 0 {
            first += 1;
        }
    }
    // The last pass may leave high zero digits; leading zero bytes are '1' each.
    while n > 0 && digits[n - 1] == 0 {
        n -= 1;
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    out.extend(std::iter::repeat_n('1', zeros));
    out.extend(
        digits[..n]
            .iter()
            .rev()
            .map(|d| B58_ALPHABET[*d as usize] as char),
    );
}

/// Parses a did:key (optionally with a `#fragment`, as in PoP `kid`s) into its public key.
pub fn parse_did_key(did: &str) -> Result<PublicKey, DidError> {
    let did = did.split_once('#').map_or(did, |(d, _)| d);
    let parts: Vec<&str> = did.split(':').collect();
    if parts.len() < 3 || parts[0] != "did" {
        return Err(DidError::NotADid);
    }
    if parts[1] != "key" {
        return Err(DidError::UnsupportedMethod(parts[1].to_string()));
    }
    if parts.len() != 3 {
        return Err(DidError::KeyParts);
    }
    let id = parts[2].strip_prefix('z').ok_or(DidError::KeyMultibase)?;
    let bytes = bs58::decode(id)
        .into_vec()
        .map_err(|_| DidError::KeyBase58)?;
    if bytes.len() < 2 || bytes[..2] != ED25519_MULTICODEC {
        return Err(DidError::KeyCodec);
    }
    PublicKey::from_slice(&bytes[2..]).ok_or(DidError::KeyLength(bytes.len() - 2))
}

/// A parsed did:web.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidWeb {
    /// Host with an optional `:port` (percent-decoded).
    pub domain: String,
    /// Path segments after the domain.
    pub path: Vec<String>,
}

impl DidWeb {
    /// The agent or server id when the DID has the `…:agents:<id>` (or `…:servers:<id>`) shape.
    pub fn agent_id(&self) -> Option<&str> {
        match self.path.as_slice() {
            [kind, id] if (kind == "agents" || kind == "servers") && !id.is_empty() => {
                Some(id.as_str())
            }
            _ => None,
        }
    }

    /// The URL of the DID document (http only for loopback hosts, as capiscio-core does).
    pub fn document_url(&self) -> String {
        let host = self.domain.split(':').next().unwrap_or_default();
        let scheme = if host == "localhost" || host == "127.0.0.1" {
            "http"
        } else {
            "https"
        };
        if self.path.is_empty() {
            format!("{scheme}://{}/.well-known/did.json", self.domain)
        } else {
            format!(
                "{scheme}://{}/{}/did.json",
                self.domain,
                self.path.join("/")
            )
        }
    }
}

/// Parses a did:web, decoding `%3A` in the domain. The agent SDK 2.7.1 writes a
/// bare `host:port`, which (like Go) reads as domain `host` plus an extra segment;
/// we additionally recognise the bare-port form when the next segment is numeric.
pub fn parse_did_web(did: &str) -> Result<DidWeb, DidError> {
    let did = did.split_once('#').map_or(did, |(d, _)| d);
    let rest = did.strip_prefix("did:").ok_or(DidError::NotADid)?;
    let (method, id) = rest.split_once(':').ok_or(DidError::NotADid)?;
    if method != "web" {
        return Err(DidError::UnsupportedMethod(method.to_string()));
    }
    let mut segments: Vec<String> = id.split(':').map(percent_decode).collect();
    if segments.is_empty() || segments[0].is_empty() {
        return Err(DidError::WebDomain);
    }
    let mut domain = segments.remove(0);
    if !domain.contains(':')
        && segments
            .first()
            .is_some_and(|s| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit()))
    {
        domain = format!("{domain}:{}", segments.remove(0));
    }
    if domain.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(DidError::WebDomain);
    }
    Ok(DidWeb {
        domain,
        path: segments,
    })
}

/// `did:web:<host[%3Aport]>:agents:<id>` as capiscio-core and the MCP SDK build it.
pub fn agent_did_web(domain: &str, id: &str) -> String {
    format!("did:web:{}:agents:{id}", domain.replace(':', "%3A"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (hi, lo) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// DID method name (`key`, `web`, …) or `""` when the string is not a DID.
pub fn method(did: &str) -> &str {
    let mut parts = did.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("did"), Some(m), Some(_)) => m,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base58_matches_bs58() {
        let check = |bytes: [u8; 34]| {
            let mut ours = String::new();
            super::base58_34(&bytes, &mut ours);
            assert_eq!(ours, bs58::encode(bytes).into_string(), "{bytes:?}");
        };
        check([0; 34]);
        check([0xff; 34]);
        let mut one = [0u8; 34];
        one[33] = 1;
        check(one);
        let mut lead = [0xed; 34];
        lead[..3].fill(0);
        check(lead);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut b = [0u8; 34];
            for v in &mut b {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = x as u8;
            }
            // Some with leading zeros, some with the did:key multicodec prefix.
            match x % 4 {
                0 => b[..(x as usize >> 8) % 34].fill(0),
                1 => b[..2].copy_from_slice(&super::ED25519_MULTICODEC),
                _ => {}
            }
            check(b);
        }
    }

    use super::*;
    use crate::core::key::hex;

    #[test]
    fn w3c_vector_decodes() {
        let pk = parse_did_key("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK").unwrap();
        assert_eq!(
            hex(pk.as_bytes()),
            "2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6"
        );
        assert_eq!(
            pk.did_key(),
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
        );
    }

    #[test]
    fn fragment_is_ignored() {
        let d = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
        assert_eq!(
            parse_did_key(&format!(
                "{d}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
            )),
            parse_did_key(d)
        );
    }

    #[test]
    fn invalid_did_keys_are_rejected() {
        assert_eq!(
            parse_did_key("did:key:m6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
            Err(DidError::KeyMultibase)
        );
        assert_eq!(parse_did_key("did:key:"), Err(DidError::KeyMultibase));
        assert_eq!(parse_did_key("did:key:z6Mk:extra"), Err(DidError::KeyParts));
        assert_eq!(parse_did_key("did:key:z0OIl"), Err(DidError::KeyBase58));
        assert!(parse_did_key("did:key:z6MkEnvVar").is_err());
        assert!(parse_did_key("did:web:example.com").is_err());
        assert_eq!(parse_did_key("hello"), Err(DidError::NotADid));
    }

    #[test]
    fn did_web_forms() {
        let w = parse_did_web("did:web:registry.capisc.io:agents:my-agent-001").unwrap();
        assert_eq!(w.domain, "registry.capisc.io");
        assert_eq!(w.agent_id(), Some("my-agent-001"));
        assert_eq!(
            w.document_url(),
            "https://registry.capisc.io/agents/my-agent-001/did.json"
        );
        let p =
            parse_did_web("did:web:localhost%3A8080:agents:4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f")
                .unwrap();
        assert_eq!(p.domain, "localhost:8080");
        assert_eq!(p.agent_id(), Some("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f"));
        assert_eq!(
            p.document_url(),
            "http://localhost:8080/agents/4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f/did.json"
        );
        // agent SDK 2.7.1 bare port form
        let bare = parse_did_web("did:web:localhost:8080:agents:abc").unwrap();
        assert_eq!(bare.domain, "localhost:8080");
        assert_eq!(bare.agent_id(), Some("abc"));
        assert_eq!(
            parse_did_web("did:web:example.com").unwrap().agent_id(),
            None
        );
        assert_eq!(
            parse_did_web("did:web:example.com:users:alice")
                .unwrap()
                .agent_id(),
            None
        );
        assert!(matches!(
            parse_did_web("did:ethr:0x123"),
            Err(DidError::UnsupportedMethod(_))
        ));
        assert_eq!(parse_did_web("did:web:"), Err(DidError::WebDomain));
        assert_eq!(
            agent_did_web("localhost:8080", "x"),
            "did:web:localhost%3A8080:agents:x"
        );
    }

    #[test]
    fn percent_decoding_edge_cases() {
        assert_eq!(percent_decode("a%3Ab"), "a:b");
        assert_eq!(percent_decode("a%3ab"), "a:b");
        assert_eq!(percent_decode("a%"), "a%");
        assert_eq!(percent_decode("a%3"), "a%3");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn method_names() {
        assert_eq!(method("did:key:z6Mk"), "key");
        assert_eq!(method("did:web:x"), "web");
        assert_eq!(method("nope"), "");
    }
}
