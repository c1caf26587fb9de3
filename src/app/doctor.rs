//! `doctor`: every problem of every identity, with its fix.

use crate::core::identity::{Identity, Kind, Problem, Severity, Source};
use crate::store::scan::Scan;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Entry {
    pub id: String,
    pub kind: Kind,
    pub source: Source,
    pub location: String,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub ok: bool,
    pub identities_checked: usize,
    pub errors: usize,
    pub warnings: usize,
    /// Identities with at least one warning or error (the count `list` shows).
    pub attention: usize,
    pub notes: Vec<Problem>,
    pub identities: Vec<Entry>,
    /// What `--fix` repaired before this report was taken.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<crate::app::fix::Fixed>,
}

pub fn doctor(scan: &Scan) -> Report {
    let all = scan
        .found
        .iter()
        .flat_map(|f| f.identity.problems.iter())
        .chain(scan.notes.iter());
    let (errors, warnings) = all.fold((0, 0), |(e, w), p| match p.severity {
        Severity::Error => (e + 1, w),
        Severity::Warning => (e, w + 1),
    });
    Report {
        ok: errors == 0,
        identities_checked: scan.found.len(),
        errors,
        warnings,
        attention: crate::core::identity::attention(scan.found.iter().map(|f| &f.identity)),
        notes: scan.notes.clone(),
        identities: scan
            .found
            .iter()
            .map(|f| &f.identity)
            .filter(|i| !i.problems.is_empty())
            .map(entry)
            .collect(),
        fixed: Vec::new(),
    }
}

/// Repairs every identity `fix` can, then reports on a fresh scan.
pub fn fix_then_doctor(
    scan: &Scan,
    rescan: impl FnOnce() -> Scan,
) -> Result<Report, crate::app::AppError> {
    let fixed = fix_all(scan)?;
    let mut report = doctor(&rescan());
    report.fixed = fixed;
    Ok(report)
}

/// Repairs every identity `fix` can; what was done, in scan order.
pub fn fix_all(scan: &Scan) -> Result<Vec<crate::app::fix::Fixed>, crate::app::AppError> {
    let mut fixed = Vec::new();
    for f in &scan.found {
        fixed.extend(crate::app::fix::fix(f)?);
    }
    Ok(fixed)
}

fn entry(i: &Identity) -> Entry {
    let mut problems = i.problems.clone();
    problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
    Entry {
        id: i.id.clone(),
        kind: i.kind,
        source: i.source,
        location: i.location.clone(),
        problems,
    }
}
