//! The status lines for results of the new actions. Plain functions of their inputs, so
//! each can be tested without a terminal.

use crate::app::fix::{self, Fixed};
use crate::app::rotate::{GraceEnded, Rollback};
use crate::core::identity::{Code, Identity};

pub fn rolled_back(i: &Identity, rb: &Rollback) -> String {
    let mut s = format!(
        "Rolled back {}: the key is {} again (fingerprint {})",
        i.label(),
        rb.restored_did,
        rb.restored_fingerprint
    );
    if let Some(a) = &rb.archived_as {
        s.push_str(&format!("; the rotated-out key is archived as archive/{a}"));
    }
    for n in &rb.notes {
        s.push_str(&format!("; {n}"));
    }
    s
}

pub fn grace_ended(i: &Identity, ended: &GraceEnded) -> String {
    let kids: Vec<&str> = ended.dropped.iter().map(|k| k.kid.as_str()).collect();
    format!(
        "Ended the grace period of {}: dropped {} from {}; partners now trust only the active key (the archived key is kept)",
        i.label(),
        kids.join(", "),
        ended.card
    )
}

/// The status-bar line after `f`: what was fixed, or the real reason nothing was.
pub fn fix_summary(i: &Identity, fixed: &[Fixed]) -> String {
    if !fixed.is_empty() {
        let actions: Vec<&str> = fixed.iter().map(|f| f.action.as_str()).collect();
        return format!("Fixed {}: {}", i.label(), actions.join("; "));
    }
    let first = |code: Code| i.problems.iter().find(|p| p.code == code);
    // A key that cannot be read (or does not match its public half) blocks the repairs
    // that would derive from it; that is the reason to give, with its own fix.
    for code in [Code::MalformedKey, Code::KeyMismatch] {
        if let Some(p) = first(code) {
            return format!(
                "Nothing fixed for {}: {} — {}. Fix: {}",
                i.label(),
                p.code.as_str(),
                p.message,
                p.fix
            );
        }
    }
    if let Some(p) = first(Code::SymlinkedKey) {
        return format!(
            "Nothing fixed for {}: its files are reached through a symlink, which f never changes ({}). Fix: {}",
            i.label(),
            p.message,
            p.fix
        );
    }
    if i.problems.iter().any(|p| fix::repairable(p.code)) {
        return format!(
            "Nothing fixed for {}: its directory is a symlink or is injected through the environment, so f leaves it alone",
            i.label()
        );
    }
    match i.problems.first() {
        None => format!("Nothing to fix for {}: it has no problems", i.label()),
        Some(p) => format!(
            "Nothing here can be fixed automatically for {}: {} — fix: {}",
            i.label(),
            p.code.as_str(),
            p.fix
        ),
    }
}
