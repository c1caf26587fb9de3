//! `doctor --fix` and the UI's `f`: repairs that are safe without asking — tighten the
//! modes of a key file and its directory, write a missing public half from the private
//! key, rewrite an MCP server's `private_key.pem` with real newlines / as PKCS#8 v1.
//! Everything else keeps its one-line fix for the user to apply.

use crate::app::AppError;
use crate::core::identity::{Code, Kind, Source};
use crate::core::{jwk, pem};
use crate::store::disk::{self, Found};
use crate::store::fs::{self as sfs, Overwrite};
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a repair was not made. Never quotes file contents: they may be key material.
#[derive(Debug, Error)]
pub enum FixError {
    #[error("{path} changed since it was checked; run `capiscio-tui doctor` again")]
    Changed { path: PathBuf },
    #[error(
        "cannot rewrite {path}: the new PEM did not read back as the same key; the file was left as it was"
    )]
    Unverified { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fixed {
    pub id: String,
    pub code: Code,
    /// What was done, as a shell user would say it (`chmod 600 …/private.jwk`).
    pub action: String,
}

/// Whether `fix` can repair a problem with this code.
pub fn repairable(code: Code) -> bool {
    matches!(
        code,
        Code::InsecurePermissions
            | Code::MissingPublicJwk
            | Code::MissingPublicPem
            | Code::PemEscaped
            | Code::Pkcs8V2
    )
}

/// Repairs what it can of one identity. Symlinked paths are left alone: changing a
/// link's target is the user's call (`symlinked-key` says where it points).
pub fn fix(found: &Found) -> Result<Vec<Fixed>, AppError> {
    let i = &found.identity;
    let Some(dir) = found.dir.as_deref() else {
        return Ok(Vec::new());
    };
    // Nothing is changed through a link: not the directory's, nor keys/'s, nor the home's.
    if i.source == Source::Env || crate::store::create::refuse_symlinked_identity(dir).is_err() {
        return Ok(Vec::new());
    }
    // The same lock rotation holds: a fix never interleaves with a swap of this directory.
    let _lock = crate::store::rotate::lock_within(
        &crate::store::rotate::Paths::for_dir(dir),
        &i.id,
        crate::app::rotate::LOCK_PATIENCE,
    )?;
    let mut done = Vec::new();
    let mut record = |code: Code, action: String| {
        done.push(Fixed {
            id: i.id.clone(),
            code,
            action,
        })
    };
    let private = dir.join(match i.kind {
        Kind::Agent => disk::AGENT_PRIVATE,
        Kind::McpServer => disk::SERVER_PRIVATE,
    });
    if i.has_code(Code::InsecurePermissions) {
        for (path, mode) in [(private.as_path(), 0o600), (dir, 0o700)] {
            if tighten(path, mode)? {
                record(
                    Code::InsecurePermissions,
                    format!("chmod {mode:o} {}", path.display()),
                );
            }
        }
    }
    // Only a key we trust: with a mismatched or unreadable private key the public half
    // would be a guess.
    let sound = !i.has_code(Code::KeyMismatch) && !i.has_code(Code::MalformedKey);
    if let (true, Some(public)) = (sound, found.public.as_ref()) {
        let missing = match i.kind {
            Kind::Agent if i.has_code(Code::MissingPublicJwk) => Some((
                Code::MissingPublicJwk,
                disk::AGENT_PUBLIC,
                jwk::to_go_public(public),
            )),
            Kind::McpServer if i.has_code(Code::MissingPublicPem) => Some((
                Code::MissingPublicPem,
                disk::SERVER_PUBLIC,
                pem::encode_public(public),
            )),
            _ => None,
        };
        if let Some((code, name, text)) = missing {
            let path = dir.join(name);
            sfs::write_atomic(&path, text.as_bytes(), 0o644, Overwrite::Refuse)
                .map_err(|e| AppError::Refused(e.to_string()))?;
            record(code, format!("wrote {}", path.display()));
        }
    }
    if i.kind == Kind::McpServer
        && (i.has_code(Code::PemEscaped) || i.has_code(Code::Pkcs8V2))
        && !i.has_code(Code::SymlinkedKey)
        && let Some(public) = found.public.as_ref()
        && rewrite_pem(&private, public)?
    {
        let code = if i.has_code(Code::PemEscaped) {
            Code::PemEscaped
        } else {
            Code::Pkcs8V2
        };
        record(
            code,
            format!(
                "rewrote {} as a PKCS#8 v1 PEM with real newlines (same key)",
                private.display()
            ),
        );
    }
    Ok(done)
}

/// Rewrites an MCP server's private key as the canonical PEM (real newlines, PKCS#8 v1),
/// under the identity's lock. The key is read again (without following links) and must
/// still be the one the scan saw; the new text must parse back to that same key before
/// it replaces the old file, which stays in place until the atomic rename.
fn rewrite_pem(path: &Path, expected: &crate::core::key::PublicKey) -> Result<bool, AppError> {
    let text = sfs::read_small_text(path).map_err(crate::store::disk::LoadError::from)?;
    let Ok((key, shape)) = pem::parse_private(&text) else {
        return Err(FixError::Changed {
            path: path.to_path_buf(),
        }
        .into());
    };
    if key.public() != expected {
        return Err(FixError::Changed {
            path: path.to_path_buf(),
        }
        .into());
    }
    if !shape.escaped_newlines && !shape.pkcs8_v2 {
        return Ok(false);
    }
    let fresh = pem::encode_private(&key);
    let sound = pem::parse_private(&fresh)
        .is_ok_and(|(k, s)| k.public() == expected && !s.escaped_newlines && !s.pkcs8_v2);
    if !sound {
        return Err(FixError::Unverified {
            path: path.to_path_buf(),
        }
        .into());
    }
    // Keep the mode the file had when it was private enough; never loosen it.
    let mode = sfs::mode(path).map_or(0o600, |m| m & 0o600);
    sfs::write_atomic(path, fresh.as_bytes(), mode.max(0o400), Overwrite::Allow)?;
    Ok(true)
}

/// Removes group/other bits from a real (non-link) file or directory; true if it did.
fn tighten(path: &Path, mode: u32) -> Result<bool, AppError> {
    // Only what a key really lives in: not a link, not a FIFO or device posing as a key.
    let real = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() || m.is_dir());
    if !real {
        return Ok(false);
    }
    match sfs::mode(path) {
        Some(m) if m & 0o077 != 0 => {
            set_mode(path, mode).map_err(|e| {
                AppError::Refused(format!("cannot chmod {:o} {}: {e}", mode, path.display()))
            })?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}
