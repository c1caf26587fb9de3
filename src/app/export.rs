//! `export`: one identity's private key in an env-ready format.

use crate::app::{AppError, Context};
use crate::core::export::{self, Format, Request, Target};
use crate::core::identity::{Identity, Kind};
use crate::store::scan::Scan;
use zeroize::Zeroizing;

pub struct Exported {
    pub identity: Identity,
    pub format: Format,
    pub target: Target,
    pub text: Zeroizing<String>,
    /// The fingerprint of the key the text holds (the one loaded, not the one scanned):
    /// the UI compares it with the key on disk before it copies or notes a capture.
    pub fingerprint: String,
}

pub fn default_target(kind: Kind) -> Target {
    match kind {
        Kind::Agent => Target::Agent,
        Kind::McpServer => Target::McpServer,
    }
}

pub use crate::app::keys::load_key;

/// "Export (and note the capture)", the one workflow behind `export` and the UI's picker
/// once it has copied: the key rendered, and a rotation waiting for this new key to be
/// captured marked as captured.
pub fn export(
    ctx: &Context,
    scan: &Scan,
    query: &str,
    format: Format,
    target: Option<Target>,
) -> Result<Exported, AppError> {
    let exported = render(ctx, scan, query, format, target)?;
    let found = crate::app::resolve::resolve_target(&scan.found, query)?;
    note_captured(ctx, found);
    Ok(exported)
}

/// Notes that `found`'s current key left this tool (copied or printed): the capture step
/// of a rotation that put this key in place is done.
pub fn note_captured(ctx: &Context, found: &crate::store::disk::Found) {
    if let Some(public) = found.public.as_ref() {
        crate::app::rotate::note_capture(&ctx.home, found, public, ctx.now);
    }
}

/// The key rendered in `format` without noting anything: a preview is not a capture.
pub fn render(
    ctx: &Context,
    scan: &Scan,
    query: &str,
    format: Format,
    target: Option<Target>,
) -> Result<Exported, AppError> {
    let found = crate::app::resolve::resolve_target(&scan.found, query)?;
    let key = load_key(ctx, found)?;
    let target = target.unwrap_or_else(|| default_target(found.identity.kind));
    let label = match (&found.identity.name, found.identity.source) {
        (Some(n), _) => n.clone(),
        (None, crate::core::identity::Source::Env) => {
            format!("capiscio-{}", found.identity.kind.as_str())
        }
        (None, _) => found.identity.id.clone(),
    };
    let text = export::render(
        format,
        &Request {
            key: &key,
            target,
            label: &label,
        },
    );
    Ok(Exported {
        fingerprint: key.public().fingerprint(),
        identity: found.identity.clone(),
        format,
        target,
        text,
    })
}
