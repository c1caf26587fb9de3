//! How a private key is held as one string outside the SDK layout (OS keyring entries):
//! the content of the SDK's own key file — `private.jwk` for agents, `private_key.pem`
//! for MCP servers — so that writing it back reproduces the file byte for byte.

use crate::core::identity::Kind;
use crate::core::key::KeyPair;
use crate::core::{jwk, pem};
use zeroize::Zeroizing;

pub fn encode(kind: Kind, key: &KeyPair) -> Zeroizing<String> {
    match kind {
        Kind::Agent => jwk::to_go_private(key),
        Kind::McpServer => pem::encode_private(key),
    }
}

pub fn decode(kind: Kind, secret: &str) -> Result<KeyPair, String> {
    match kind {
        Kind::Agent => {
            let p = jwk::parse_private(secret).map_err(|e| e.to_string())?;
            if p.x_written.is_some() && !p.x_matches() {
                return Err("`x` does not belong to `d`".into());
            }
            Ok(p.key)
        }
        Kind::McpServer => pem::parse_private(secret)
            .map(|(k, _)| k)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_kinds() {
        let k = KeyPair::from_seed(&[9; 32]);
        for kind in [Kind::Agent, Kind::McpServer] {
            assert_eq!(decode(kind, &encode(kind, &k)).unwrap(), k);
        }
        assert!(decode(Kind::Agent, "nope").is_err());
    }
}
