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
        other => disk::load_secret_file(other)?,
    })
}
