//! Pure core: formats, DIDs, badges and the identity model. No I/O, no clock reads.

pub mod b64;
pub mod badge;
pub mod did;
pub mod export;
pub mod identity;
pub mod ids;
pub mod jwk;
pub mod key;
pub mod pasted;
pub mod pem;
pub mod rotation;
pub mod secret;
pub mod status;
pub mod target;
pub mod text;
mod vectors;
