//! Problem and fix texts, and what the problems say about the key itself.

use crate::core::identity::{Code, Identity, Problem, Severity};
use crate::store::disk::{AGENT_PRIVATE, SERVER_PRIVATE};

/// `✖ insecure-permissions: private.jwk is readable by other users`.
pub fn problem_text(p: &Problem) -> String {
    format!(
        "{} {}: {}",
        super::severity_glyph(p.severity),
        p.code.as_str(),
        p.message
    )
}

/// `fix: chmod 600 …`.
pub fn fix_text(p: &Problem) -> String {
    format!("fix: {}", p.fix)
}

/// `insecure-permissions,not-discoverable`, or `–`.
pub fn problem_codes(i: &Identity) -> String {
    let mut codes: Vec<&str> = i.problems.iter().map(|p| p.code.as_str()).collect();
    codes.dedup();
    if codes.is_empty() {
        "–".into()
    } else {
        codes.join(",")
    }
}

/// Whether the private key can be loaded (revealed, exported), as far as the scan found:
/// no problem says it is missing, unreadable, malformed, inconsistent, behind a link or
/// in a keyring that cannot be reached.
pub fn key_loadable(i: &Identity) -> bool {
    !i.problems.iter().any(blocks_loading)
}

fn blocks_loading(p: &Problem) -> bool {
    // Problems of the private key file name it first; the same codes on public files
    // (a malformed public.jwk) leave the key itself usable.
    let about_private = p.message.starts_with(AGENT_PRIVATE)
        || p.message.starts_with(SERVER_PRIVATE)
        || p.message.starts_with("`x` in ")
        || p.message.starts_with("the keyring entry");
    match p.code {
        Code::MissingPrivateKey
        | Code::KeyMismatch
        | Code::KeyringEntryMissing
        | Code::KeyringUnavailable
        | Code::EnvInvalid => true,
        Code::MalformedKey | Code::SymlinkedKey => about_private,
        Code::Unreadable => p.severity == Severity::Error && about_private,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::identity::{Kind, Source};

    fn with(p: Problem) -> Identity {
        let mut i = Identity::new("a", Kind::Agent, Source::Disk, "/a");
        i.problems.push(p);
        i
    }

    #[test]
    fn texts() {
        let p = Problem::error(
            Code::InsecurePermissions,
            "private.jwk is 0644",
            "chmod 600 x",
        );
        assert_eq!(
            problem_text(&p),
            "✖ insecure-permissions: private.jwk is 0644"
        );
        assert_eq!(fix_text(&p), "fix: chmod 600 x");
        assert_eq!(problem_codes(&with(p)), "insecure-permissions");
    }

    #[test]
    fn which_problems_make_the_key_unloadable() {
        let ok = Identity::new("a", Kind::Agent, Source::Disk, "/a");
        assert!(key_loadable(&ok));
        assert!(!key_loadable(&with(Problem::error(
            Code::MalformedKey,
            "private.jwk: not JSON",
            "restore"
        ))));
        assert!(!key_loadable(&with(Problem::error(
            Code::MalformedKey,
            "private_key.pem: bad",
            "restore"
        ))));
        assert!(key_loadable(&with(Problem::error(
            Code::MalformedKey,
            "public.jwk: not JSON",
            "rewrite"
        ))));
        assert!(!key_loadable(&with(Problem::error(
            Code::MissingPrivateKey,
            "private.jwk is missing",
            "restore"
        ))));
        assert!(!key_loadable(&with(Problem::error(
            Code::Unreadable,
            "private.jwk: Permission denied",
            "fix"
        ))));
        assert!(key_loadable(&with(Problem::warning(
            Code::Unreadable,
            "did.txt: not a regular file",
            "fix"
        ))));
        assert!(key_loadable(&with(Problem::error(
            Code::InsecurePermissions,
            "private.jwk is readable by other users",
            "chmod"
        ))));
    }
}
