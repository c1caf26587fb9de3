//! Counts and their words: the same in the `list` footer, `status`, `doctor` and the UI header.

use crate::core::identity::Identity;

/// `1 identity`, `7 identities`.
pub fn identities(n: usize) -> String {
    match n {
        1 => "1 identity".into(),
        n => format!("{n} identities"),
    }
}

/// How many identities need attention: at least one problem of severity warning or error.
pub fn attention<'a>(ids: impl IntoIterator<Item = &'a Identity>) -> usize {
    crate::core::identity::attention(ids)
}

/// `3 need attention`.
pub fn need_attention(n: usize) -> String {
    format!("{n} need attention")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::{Code, Kind, Problem, Source};

    #[test]
    fn singular_and_plural() {
        assert_eq!(identities(0), "0 identities");
        assert_eq!(identities(1), "1 identity");
        assert_eq!(identities(2), "2 identities");
        assert_eq!(need_attention(1), "1 need attention");
    }

    #[test]
    fn a_warning_alone_needs_attention() {
        let ok = Identity::new("a", Kind::Agent, Source::Disk, "/a");
        let mut warned = Identity::new("b", Kind::Agent, Source::Disk, "/b");
        warned
            .problems
            .push(Problem::warning(Code::NotDiscoverable, "m", "f"));
        let mut broken = Identity::new("c", Kind::Agent, Source::Disk, "/c");
        broken
            .problems
            .push(Problem::error(Code::MalformedKey, "m", "f"));
        assert_eq!(attention([&ok]), 0);
        assert_eq!(attention([&ok, &warned]), 1);
        assert_eq!(attention([&ok, &warned, &broken]), 2);
    }
}
