//! Which identity an effect acts on. An agent and an MCP server (or a disk key and the
//! env var overriding it) may share an id; the bare id would then resolve ambiguously,
//! or name the wrong one. The UI hands effects the id when it alone names the selected
//! identity, else the id qualified by kind and location, which the runtime resolves
//! exactly ([`crate::app::resolve::resolve_target`]).

use crate::app::resolve;
use crate::core::identity::Identity;

/// What an effect carries to name `i` among `all`.
pub fn of(all: &[Identity], i: &Identity) -> String {
    if all.iter().filter(|o| o.id == i.id).count() <= 1 {
        i.id.clone()
    } else {
        resolve::qualified(i)
    }
}

/// The listed identity a target names (as the runtime would resolve it).
pub fn find<'a>(all: &'a [Identity], target: &str) -> Option<&'a Identity> {
    match resolve::parse_qualified(target) {
        Some(q) => all.iter().find(|i| q.names(i)),
        None => all.iter().find(|i| i.id == target),
    }
}

/// The bare id a target names.
pub fn id_of(target: &str) -> &str {
    resolve::parse_qualified(target).map_or(target, |q| q.id())
}
