//! Ed25519 key material. The seed never leaves a zeroize-on-drop buffer and no
//! type here prints it: `Debug` shows only the public half.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

pub const KEY_LEN: usize = 32;

/// A raw 32-byte Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; KEY_LEN]);

impl PublicKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; KEY_LEN]>::try_from(bytes).ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// First 16 hex chars of SHA-256 over the raw key: the fingerprint the MCP SDK prints.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.0);
        hex(&digest[..8])
    }

    pub fn did_key(&self) -> String {
        crate::core::did::did_key_from_public(self)
    }

    /// Whether this is a small-order ("weak") point: a key nobody holds a secret for,
    /// under which forged signatures verify with a lax check. Such keys are refused for
    /// verification. Bytes that are not a curve point at all are not "weak" (they
    /// simply never verify).
    pub fn is_weak(&self) -> bool {
        VerifyingKey::from_bytes(&self.0).is_ok_and(|vk| vk.is_weak())
    }

    /// Verifies an Ed25519 signature strictly (`verify_strict`: canonical S, no
    /// small-order R or A). Weak keys and points that are not on the curve simply fail.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let Ok(vk) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        if vk.is_weak() {
            return false;
        }
        vk.verify_strict(message, &Signature::from_bytes(&sig))
            .is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex(&self.0))
    }
}

/// An Ed25519 key pair. The seed is wiped from memory when the value is dropped.
#[derive(Clone)]
pub struct KeyPair {
    seed: Zeroizing<[u8; KEY_LEN]>,
    public: PublicKey,
}

impl KeyPair {
    pub fn from_seed(seed: &[u8; KEY_LEN]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let public = PublicKey(signing.verifying_key().to_bytes());
        Self {
            seed: Zeroizing::new(*seed),
            public,
        }
    }

    pub fn from_seed_slice(seed: &[u8]) -> Option<Self> {
        let arr: Zeroizing<[u8; KEY_LEN]> = Zeroizing::new(seed.try_into().ok()?);
        Some(Self::from_seed(&arr))
    }

    /// Draws a fresh seed from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(seed.as_mut())?;
        Ok(Self::from_seed(&seed))
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub fn seed(&self) -> &[u8; KEY_LEN] {
        &self.seed
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        SigningKey::from_bytes(&self.seed).sign(message).to_bytes()
    }
}

impl PartialEq for KeyPair {
    fn eq(&self, other: &Self) -> bool {
        // The public key is a function of the seed, so comparing seeds suffices.
        self.seed.as_ref() == other.seed.as_ref()
    }
}

impl Eq for KeyPair {}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("public", &self.public)
            .field("seed", &"<redacted>")
            .finish()
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];

    #[test]
    fn rfc8032_public_key_and_fingerprint() {
        let kp = KeyPair::from_seed(&SEED);
        assert_eq!(
            hex(kp.public().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(kp.public().fingerprint(), "21fe31dfa154a261");
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let kp = KeyPair::from_seed(&SEED);
        let dbg = format!("{kp:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("9d61b1"));
    }

    #[test]
    fn sign_then_verify() {
        let kp = KeyPair::generate().unwrap();
        let sig = kp.sign(b"hello");
        assert!(kp.public().verify(b"hello", &sig));
        assert!(!kp.public().verify(b"hellO", &sig));
        assert!(!kp.public().verify(b"hello", &sig[..10]));
    }

    /// The encoding of the identity point (y = 1): small order, so any message "verifies"
    /// under a lax check with R = the identity and S = 0.
    const IDENTITY_POINT: [u8; 32] = {
        let mut b = [0u8; 32];
        b[0] = 1;
        b
    };

    /// R = A (the encoded public point), S = 0: needs no private key.
    fn r_is_a_s_is_zero(public: &[u8; 32]) -> [u8; 64] {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(public);
        sig
    }

    #[test]
    fn small_order_public_key_is_weak_and_never_verifies() {
        let weak = PublicKey::from_bytes(IDENTITY_POINT);
        assert!(weak.is_weak());
        assert!(!weak.verify(b"anything", &r_is_a_s_is_zero(&IDENTITY_POINT)));
        assert!(!weak.verify(b"", &r_is_a_s_is_zero(&IDENTITY_POINT)));
        // A JWK whose `x` is that point is refused with an error, not a panic.
        let x = crate::core::b64::url_encode(&IDENTITY_POINT);
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#);
        assert_eq!(
            crate::core::jwk::parse_public(&jwk),
            Err(crate::core::jwk::JwkError::WeakKey)
        );
        let good = KeyPair::from_seed(&SEED);
        assert!(!good.public().is_weak());
        // The same shape of forgery against a real key fails too.
        assert!(
            !good
                .public()
                .verify(b"anything", &r_is_a_s_is_zero(good.public().as_bytes()))
        );
    }
}
