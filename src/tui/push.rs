//! The jobs behind `p` and `D`: `app::push`'s prepare → probe → write → record flow and
//! `deployed`, exactly as the CLI runs them, returning only targets, states and redacted
//! messages to the UI (the key stays in these functions).

use super::model::{Msg, PushOutcome, RecordKey};
use crate::app::push as ap;
use crate::app::{Context, resolve};
use crate::core::target::Target;
use crate::store::scan::Scan;
use crate::store::targets::{self, Record};
use std::time::Duration;

/// Every CLI call's bound, the CLI's default (`--timeout`).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Every identity's recorded targets (an unreadable record lists none).
pub fn records(ctx: &Context, scan: &Scan) -> Vec<(RecordKey, Vec<Record>)> {
    scan.found
        .iter()
        .map(|f| {
            let i = &f.identity;
            let rs = targets::load(&ctx.home, i.kind, &i.id).unwrap_or_default();
            ((i.kind, i.id.clone()), rs)
        })
        .collect()
}

pub fn check_deployed(c: &Context, id: &str, key: RecordKey) -> Msg {
    let scan = c.scan();
    let rows = resolve::resolve_target(&scan.found, id)
        .map_err(|e| e.to_string())
        .and_then(|f| ap::deployed(c, &[f], TIMEOUT).map_err(|e| e.to_string()));
    Msg::Deployed { key, rows }
}

/// The query `app::push` resolves: the bare id when the target is qualified.
fn query(scan: &Scan, id: &str) -> Result<String, String> {
    let f = resolve::resolve_target(&scan.found, id).map_err(|e| e.to_string())?;
    Ok(f.identity.id.clone())
}

pub fn probe(c: &Context, id: String, targets: Vec<Target>) -> Msg {
    let scan = c.scan();
    let prepared =
        query(&scan, &id).and_then(|q| ap::prepare(c, &scan, &q).map_err(|e| e.to_string()));
    let probes = match prepared {
        Err(e) => targets.into_iter().map(|t| (t, Err(e.clone()))).collect(),
        Ok(p) => {
            let results = ap::parallel(&targets, ap::PARALLEL, |t| {
                ap::probe(crate::push::backend(t).as_ref(), &p, TIMEOUT)
            });
            targets.into_iter().zip(results).collect()
        }
    };
    Msg::PushProbed { id, probes }
}

pub fn write(
    c: &Context,
    id: &str,
    writes: Vec<(Target, bool)>,
    mut settled: Vec<PushOutcome>,
) -> Msg {
    let scan = c.scan();
    let q = match query(&scan, id) {
        Ok(q) => q,
        Err(e) => return failed_all(writes, settled, e),
    };
    let p = match ap::prepare(c, &scan, &q) {
        Ok(p) => p,
        Err(e) => return failed_all(writes, settled, e.to_string()),
    };
    let results = ap::parallel(&writes, ap::PARALLEL, |(t, exists)| {
        ap::write(crate::push::backend(t).as_ref(), &p, *exists, TIMEOUT)
    });
    // Outcomes already settled (unchanged) count as holding the key: recorded, as the CLI does.
    for o in &mut settled {
        if o.outcome == "unchanged"
            && let Err(e) = ap::record_success(c, &scan, &q, &p, &o.target)
        {
            o.warnings.push(format!("not recorded: {e}"));
        }
    }
    for ((t, _), r) in writes.into_iter().zip(results) {
        settled.push(match r {
            Ok(mut warnings) => {
                if let Err(e) = ap::record_success(c, &scan, &q, &p, &t) {
                    warnings.push(format!("pushed, but not recorded: {e}"));
                }
                PushOutcome {
                    target: t,
                    outcome: "pushed",
                    message: None,
                    warnings,
                }
            }
            Err(e) => PushOutcome {
                target: t,
                outcome: "failed",
                message: Some(e),
                warnings: Vec::new(),
            },
        });
    }
    Msg::Pushed(settled)
}

fn failed_all(writes: Vec<(Target, bool)>, mut settled: Vec<PushOutcome>, why: String) -> Msg {
    settled.extend(writes.into_iter().map(|(t, _)| PushOutcome {
        target: t,
        outcome: "failed",
        message: Some(why.clone()),
        warnings: Vec::new(),
    }));
    Msg::Pushed(settled)
}
