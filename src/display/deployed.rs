//! What `deployed` says about one recorded target, after its state word: the CLI's table
//! and the UI's "Deployed" section show the same text.

use crate::app::push::{Deployed, State};
use crate::core::ids::{relative, rfc3339};

/// The words after the state (` — …`), empty for `current`.
pub fn deployed_detail(r: &Deployed, now: i64) -> String {
    match r.state {
        State::Current => String::new(),
        State::Previous => format!(
            " — an archived key of this identity ({}), rotated out {}",
            r.found_fingerprint.as_deref().unwrap_or("?"),
            r.archived_at.map(rfc3339).unwrap_or_default()
        ),
        State::Foreign => match (&r.found_fingerprint, &r.detail) {
            (Some(fp), _) => format!(" — a key this identity never had ({fp})"),
            (None, Some(d)) => format!(" — {d}"),
            _ => String::new(),
        },
        State::Missing => " — nothing there any more".into(),
        State::WriteOnly => format!(
            " — cannot be read back; last pushed {} {} ({})",
            r.pushed_fingerprint,
            relative(r.pushed_at, now),
            if r.pushed_current {
                "the current key"
            } else {
                "not the current key: push again"
            }
        ),
        State::Error => format!(" — {}", r.detail.as_deref().unwrap_or("failed")),
    }
}
