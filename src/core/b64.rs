//! The two base64 dialects CapiscIO uses: base64url without padding (JWK) and
//! standard base64 with padding (PEM bodies, CLI agent cards).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

pub fn url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, tolerating trailing `=` padding as go-jose does.
pub fn url_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
        .map(Zeroizing::new)
}

pub fn std_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub fn std_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    STANDARD.decode(text).ok().map(Zeroizing::new)
}
