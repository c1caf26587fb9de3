//! Turns what a user typed into exactly one identity, or an error that lists the
//! candidates. Accepted: an id, a name (agent card, registry record), the registry's id
//! for an MCP server, a did:key, did:web or fingerprint — exactly, else a unique prefix
//! of any of them. An exact match beats any prefix; an exact id beats the same string
//! as another identity's name or DID.

use crate::core::identity::Identity;
use crate::store::disk::Found;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("no identity matches {query}{}", candidates_hint(.candidates))]
    Unknown {
        /// The argument as typed, or its shape when it might be key material.
        query: String,
        candidates: Vec<String>,
    },
    #[error("{query} matches {} identities: {}; give the full id or more characters", .candidates.len(), .candidates.join(", "))]
    Ambiguous {
        query: String,
        candidates: Vec<String>,
    },
}

fn candidates_hint(c: &[String]) -> String {
    if c.is_empty() {
        "; run `capiscio-tui list` to see what there is".into()
    } else {
        format!("; known identities: {}", c.join(", "))
    }
}

/// How many identities an "unknown" error lists.
const LISTED: usize = 10;

/// The argument quoted when it looks like something a user names identities by; else
/// only its shape, since a pasted key must not end up in an error message.
fn shown(q: &str) -> String {
    let plain = q
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '%' | ' '));
    let did = q.starts_with("did:") && q.len() <= 256;
    // Base64 or hex of a key: long, with no separators a name or UUID would have.
    let opaque = q.len() >= 24 && !q.contains(['-', '.', ':', ' ']);
    if plain && (did || (q.len() <= 64 && !opaque)) {
        format!("`{q}`")
    } else {
        format!(
            "the given argument ({} characters, not shown: it does not look like an id)",
            q.chars().count()
        )
    }
}

/// `name (id)`, or the id alone when the identity has no name.
pub fn described(i: &Identity) -> String {
    match i.names().next() {
        Some(n) if n != i.id => format!("{n} ({})", i.id),
        _ => i.id.clone(),
    }
}

pub fn resolve<'a>(found: &'a [Found], query: &str) -> Result<&'a Found, ResolveError> {
    let q = query.trim();
    let pick = |pred: &dyn Fn(&Identity) -> bool| -> Vec<&'a Found> {
        if q.is_empty() {
            return Vec::new();
        }
        found.iter().filter(|f| pred(&f.identity)).collect()
    };
    let by_id = pick(&|i| i.id.eq_ignore_ascii_case(q));
    let matches = if by_id.len() == 1 {
        by_id
    } else {
        let exact = pick(&|i| i.handles().any(|h| h.eq_ignore_ascii_case(q)));
        if exact.is_empty() {
            pick(&|i| {
                i.handles()
                    .any(|h| h.get(..q.len()).is_some_and(|p| p.eq_ignore_ascii_case(q)))
            })
        } else {
            exact
        }
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ResolveError::Unknown {
            query: shown(q),
            candidates: found
                .iter()
                .take(LISTED)
                .map(|f| described(&f.identity))
                .chain((found.len() > LISTED).then(|| format!("… {} more", found.len() - LISTED)))
                .collect(),
        }),
        many => Err(ResolveError::Ambiguous {
            query: shown(q),
            candidates: many
                .iter()
                .map(|f| format!("{} at {}", described(&f.identity), f.identity.location))
                .collect(),
        }),
    }
}

/// The UI's exact name for one identity when its id alone is ambiguous: kind, id and
/// location (`mcp-server:dup@/home/u/.capiscio/mcp-servers/dup`). Ids never contain
/// `@` and start with no kind, so this never reads as an id; [`resolve_target`] matches it exactly.
pub fn qualified(i: &Identity) -> String {
    format!("{}:{}@{}", i.kind.as_str(), i.id, i.location)
}

/// A parsed [`qualified`] target.
pub struct Qualified<'q> {
    kind: &'q str,
    id: &'q str,
    location: &'q str,
}

impl<'q> Qualified<'q> {
    pub fn id(&self) -> &'q str {
        self.id
    }

    pub fn names(&self, i: &Identity) -> bool {
        i.kind.as_str() == self.kind && i.id == self.id && i.location == self.location
    }
}

pub fn parse_qualified(target: &str) -> Option<Qualified<'_>> {
    let (kind, rest) = target.split_once(':')?;
    let (id, location) = rest.split_once('@')?;
    matches!(kind, "agent" | "mcp-server").then_some(Qualified { kind, id, location })
}

/// What the UI's effects resolve: a [`qualified`] target exactly (never another
/// identity that shares its id), anything else as a typed query.
pub fn resolve_target<'a>(found: &'a [Found], target: &str) -> Result<&'a Found, ResolveError> {
    match parse_qualified(target) {
        Some(q) => {
            found
                .iter()
                .find(|f| q.names(&f.identity))
                .ok_or_else(|| ResolveError::Unknown {
                    query: shown(q.id),
                    candidates: Vec::new(),
                })
        }
        None => resolve(found, target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::{Identity, Kind, Source};
    use crate::store::disk::SecretRef;

    fn f(id: &str, did: &str) -> Found {
        Found {
            identity: Identity {
                did: Some(did.into()),
                key_did: Some(did.into()),
                effective: true,
                ..Identity::new(id, Kind::Agent, Source::Disk, format!("/x/{id}"))
            },
            public: None,
            secret: SecretRef::Missing,
            dir: None,
            loadable: true,
            badge: None,
        }
    }

    #[test]
    fn exact_prefix_ambiguous_unknown() {
        let all = vec![
            f("abc-1", "did:key:z6MkAAA"),
            f("abc-2", "did:key:z6MkBBB"),
            f("zzz", "did:key:z6MkCCC"),
        ];
        assert_eq!(resolve(&all, "abc-1").unwrap().identity.id, "abc-1");
        assert_eq!(resolve(&all, "ZZ").unwrap().identity.id, "zzz");
        assert_eq!(resolve(&all, "did:key:z6MkB").unwrap().identity.id, "abc-2");
        assert!(matches!(
            resolve(&all, "abc"),
            Err(ResolveError::Ambiguous { .. })
        ));
        assert!(matches!(
            resolve(&all, "nope"),
            Err(ResolveError::Unknown { .. })
        ));
        assert!(matches!(
            resolve(&all, ""),
            Err(ResolveError::Unknown { .. })
        ));
        assert!(matches!(
            resolve(&all, "é"),
            Err(ResolveError::Unknown { .. })
        ));
    }
}
