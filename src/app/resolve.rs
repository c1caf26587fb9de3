//! Turns what a user typed (id, did:key, did:web, fingerprint or a unique prefix of
//! any of them) into exactly one identity, or an error that lists the candidates.

use crate::store::disk::Found;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("no identity matches `{query}`{}", candidates_hint(.candidates))]
    Unknown {
        query: String,
        candidates: Vec<String>,
    },
    #[error("`{query}` matches {} identities: {}; give more characters", .candidates.len(), .candidates.join(", "))]
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

pub fn resolve<'a>(found: &'a [Found], query: &str) -> Result<&'a Found, ResolveError> {
    let q = query.trim();
    let exact: Vec<&Found> = found
        .iter()
        .filter(|f| !q.is_empty() && f.identity.handles().any(|h| h.eq_ignore_ascii_case(q)))
        .collect();
    // An id typed in full beats the same string appearing as another identity's DID.
    let by_id: Vec<&Found> = exact
        .iter()
        .copied()
        .filter(|f| f.identity.id.eq_ignore_ascii_case(q))
        .collect();
    let exact = if by_id.len() == 1 { by_id } else { exact };
    let matches = if exact.is_empty() {
        found
            .iter()
            .filter(|f| {
                !q.is_empty()
                    && f.identity
                        .handles()
                        .any(|h| h.get(..q.len()).is_some_and(|p| p.eq_ignore_ascii_case(q)))
            })
            .collect()
    } else {
        exact
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ResolveError::Unknown {
            query: q.to_string(),
            candidates: found
                .iter()
                .take(10)
                .map(|f| f.identity.id.clone())
                .collect(),
        }),
        many => Err(ResolveError::Ambiguous {
            query: q.to_string(),
            candidates: many
                .iter()
                .map(|f| format!("{} ({})", f.identity.id, f.identity.location))
                .collect(),
        }),
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
