//! Loading private keys from wherever they live, and parsing keyring secrets.

use crate::app::{AppError, Context};
use crate::core::key::KeyPair;
use crate::store::disk::{self, Found, SecretRef};

pub fn load_key(ctx: &Context, found: &Found) -> Result<KeyPair, AppError> {
    Ok(match &found.secret {
        SecretRef::Env(var) => crate::store::env::load_secret(&ctx.env, var)?,
        SecretRef::Keyring(user) => {
            let kr = ctx
                .keyring()
                .map_err(|e| AppError::Refused(e.to_string()))?;
            let secret = kr.get(user).map_err(|e| AppError::Refused(e.to_string()))?;
            crate::core::secret::decode(found.identity.kind, &secret)
                .map_err(|e| AppError::Refused(format!("keyring entry {user}: {e}")))?
        }
        // No key was found to load: the identity's own error says why (a malformed or
        // unreadable file), which beats "no private key".
        SecretRef::Missing => {
            if let Some(p) = found
                .identity
                .problems
                .iter()
                .find(|p| p.severity == crate::core::identity::Severity::Error)
            {
                return Err(AppError::Refused(format!(
                    "the private key cannot be loaded: {}: {}",
                    p.code.as_str(),
                    p.message
                )));
            }
            disk::load_secret_file(&found.secret)?
        }
        other => disk::load_secret_file(other)?,
    })
}
