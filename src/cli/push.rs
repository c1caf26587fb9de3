//! `push`, `deployed` and the recorded targets in `show`: prompts and rendering around
//! `app::push`.

use super::args::{DeployedArgs, PushArgs};
use super::{json, print, print_json};
use crate::app::push::{self as ap, Existing};
use crate::app::{self, Context};
use crate::core::identity::Identity;
use crate::core::target::Target;
use crate::store::targets;
use anyhow::{Result, bail};
use serde::Serialize;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

fn parse_target(s: &str) -> Result<Target> {
    s.parse::<Target>()
        .map_err(|e| anyhow::anyhow!("not a push target: {e}"))
}

#[derive(Debug, Serialize)]
struct Outcome {
    target: Target,
    /// `pushed`, `unchanged` (it already held this key), or `failed`.
    outcome: &'static str,
    message: Option<String>,
    warnings: Vec<String>,
}

fn ask_yes(prompt: &str) -> bool {
    eprint!("{prompt} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim(), "y" | "Y" | "yes")
}

pub fn push(ctx: &Context, a: PushArgs) -> Result<ExitCode> {
    let scan = ctx.scan();
    let found = app::resolve::resolve(&scan.found, &a.id)?;
    let (kind, id) = (found.identity.kind, found.identity.id.clone());
    if let Some(t) = &a.forget {
        let t = parse_target(t)?;
        if targets::forget(&ctx.home, kind, &id, &t)? {
            print(&format!(
                "Forgot {t} for {id}; the secret itself is still there.\n"
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        bail!("{t} is not recorded for {id}");
    }
    let mut list: Vec<Target> = if a.to.is_empty() {
        targets::load(&ctx.home, kind, &id)?
            .into_iter()
            .map(|r| r.target)
            .collect()
    } else {
        a.to.iter()
            .map(|s| parse_target(s))
            .collect::<Result<_>>()?
    };
    list.dedup();
    if list.is_empty() {
        bail!(
            "no targets are recorded for {id}; name one with --to TARGET (e.g. --to aws-sm:capiscio/{id})"
        );
    }
    let p = ap::prepare(ctx, &scan, &a.id)?;
    let backends: Vec<_> = list.iter().map(crate::push::backend).collect();
    if a.dry_run {
        let mut out = String::new();
        for (t, b) in list.iter().zip(&backends) {
            out.push_str(&format!("# {t}\n"));
            if let Some(r) = b.read() {
                out.push_str(&format!("{}\n", r.display()));
            }
            let exists: Vec<String> = b
                .write(true, &p.meta, &p.value)
                .iter()
                .map(|c| c.display())
                .collect();
            let new: Vec<String> = b
                .write(false, &p.meta, &p.value)
                .iter()
                .map(|c| c.display())
                .collect();
            if exists == new {
                out.push_str(&format!("{}\n", exists.join("\n")));
            } else {
                out.push_str(&format!(
                    "# when it exists:\n{}\n# when it does not:\n{}\n",
                    exists.join("\n"),
                    new.join("\n")
                ));
            }
        }
        print(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let ours = ap::Ours::of(ctx, found);
    let (outcomes, failed) = write_all(ctx, &scan, &a, &list, &backends, &p, &ours)?;
    if a.json {
        print(&json(&outcomes)?)?;
    } else {
        let out = render_outcomes(&outcomes, failed, &id, &p.meta.fingerprint);
        print(&out)?;
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Probes, asks (on a terminal), writes and records: each target's outcome and how many
/// failed. Only successes are recorded.
fn write_all(
    ctx: &Context,
    scan: &crate::store::scan::Scan,
    a: &PushArgs,
    list: &[Target],
    backends: &[Box<dyn crate::push::Backend>],
    p: &ap::Prepared,
    ours: &ap::Ours,
) -> Result<(Vec<Outcome>, usize)> {
    let id = &p.identity.id;
    let timeout = Duration::from_secs(a.timeout);
    let idx: Vec<usize> = (0..list.len()).collect();
    let probes = ap::parallel(&idx, ap::PARALLEL, |&i| {
        ap::probe(backends[i].as_ref(), p, timeout)
    });
    // Decide, asking on a terminal: prompts are one at a time, the writes in parallel.
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let mut outcomes: Vec<Option<Outcome>> = Vec::new();
    let mut writes: Vec<(usize, bool)> = Vec::new();
    for (i, probe) in probes.into_iter().enumerate() {
        let t = &list[i];
        let settle = |outcome, message: Option<String>| Outcome {
            target: t.clone(),
            outcome,
            message,
            warnings: Vec::new(),
        };
        match probe {
            Err(e) => outcomes.push(Some(settle("failed", Some(e)))),
            Ok(Existing::Same) => outcomes.push(Some(settle(
                "unchanged",
                Some("it already holds this key".into()),
            ))),
            Ok(Existing::Missing) => {
                outcomes.push(None);
                writes.push((i, false));
            }
            Ok(Existing::NoField) => {
                outcomes.push(None);
                writes.push((i, true));
            }
            Ok(other) => {
                let what = match &other {
                    Existing::Other(Some(fp)) => format!("it holds another key ({fp})"),
                    Existing::Present => "it exists (its value cannot be read back)".to_string(),
                    _ => "it exists and holds something else".to_string(),
                };
                let replaceable = ours.replaceable(t, &other);
                if a.yes
                    || replaceable
                    || (interactive
                        && ask_yes(&format!("{t}: {what}. Overwrite it with {id}'s key?")))
                {
                    outcomes.push(None);
                    writes.push((i, true));
                } else if interactive {
                    outcomes.push(Some(settle(
                        "failed",
                        Some(format!("{what}; not overwritten")),
                    )));
                } else {
                    outcomes.push(Some(settle(
                        "failed",
                        Some(format!(
                            "{what}; not overwritten: not on a terminal to ask, add --yes to overwrite"
                        )),
                    )));
                }
            }
        }
    }
    let written = ap::parallel(&writes, ap::PARALLEL, |&(i, exists)| {
        ap::write(backends[i].as_ref(), p, exists, timeout)
    });
    for ((i, _), r) in writes.iter().zip(written) {
        outcomes[*i] = Some(match r {
            Ok(warnings) => Outcome {
                target: list[*i].clone(),
                outcome: "pushed",
                message: None,
                warnings,
            },
            Err(e) => Outcome {
                target: list[*i].clone(),
                outcome: "failed",
                message: Some(e),
                warnings: Vec::new(),
            },
        });
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    let mut failed = 0;
    for o in &outcomes {
        if o.outcome == "failed" {
            failed += 1;
        } else {
            ap::record_success(ctx, scan, &a.id, p, &o.target)?;
        }
    }
    Ok((outcomes, failed))
}

fn render_outcomes(outcomes: &[Outcome], failed: usize, id: &str, fingerprint: &str) -> String {
    let mut out = String::new();
    for o in outcomes {
        let glyph = match o.outcome {
            "pushed" => "✔",
            "unchanged" => "=",
            _ => "✖",
        };
        out.push_str(&format!("{glyph} {:<9} {}", o.outcome, o.target));
        if let Some(m) = &o.message {
            out.push_str(&format!(" — {m}"));
        }
        out.push('\n');
        for w in &o.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
    }
    out.push_str(&format!(
        "{} of {} target(s) hold {}'s current key ({}){}\n",
        outcomes.len() - failed,
        outcomes.len(),
        id,
        fingerprint,
        if failed > 0 {
            "; failed targets were not recorded"
        } else {
            ""
        }
    ));
    out
}

/// `rotate --push`: the new key to every recorded target of `query`. A target holding one
/// of this identity's archived keys (what a rotation leaves there) is replaced without a
/// prompt; one holding anything else is asked about on a terminal, and fails off one.
/// The rendered outcomes and whether every target holds the new key.
pub fn push_recorded(ctx: &Context, query: &str) -> Result<(String, bool)> {
    let scan = ctx.scan();
    let found = app::resolve::resolve(&scan.found, query)?;
    let list: Vec<Target> = targets::load(&ctx.home, found.identity.kind, &found.identity.id)?
        .into_iter()
        .map(|r| r.target)
        .collect();
    let p = ap::prepare(ctx, &scan, query)?;
    let backends: Vec<_> = list.iter().map(crate::push::backend).collect();
    let a = PushArgs {
        id: query.to_string(),
        to: Vec::new(),
        dry_run: false,
        yes: false,
        forget: None,
        timeout: 60,
        json: false,
    };
    let ours = ap::Ours::of(ctx, found);
    let (outcomes, failed) = write_all(ctx, &scan, &a, &list, &backends, &p, &ours)?;
    Ok((
        render_outcomes(&outcomes, failed, &p.identity.id, &p.meta.fingerprint),
        failed == 0,
    ))
}

pub fn deployed(ctx: &Context, a: DeployedArgs) -> Result<ExitCode> {
    let scan = ctx.scan();
    let found = ap::covered(&scan, ctx, a.id.as_deref())?;
    let rows = ap::deployed(ctx, &found, Duration::from_secs(a.timeout))?;
    if a.json {
        print_json(&rows)?;
    } else if rows.is_empty() {
        print("No recorded push targets; push with `capiscio-tui push ID --to TARGET`.\n")?;
    } else {
        let mut out = String::new();
        for r in &rows {
            out.push_str(&format!(
                "{:<38} {:<10} {}{}\n",
                r.id,
                r.state.as_str(),
                r.target,
                detail(r, ctx.now)
            ));
        }
        print(&out)?;
    }
    Ok(if rows.iter().any(|r| r.fails()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn detail(r: &ap::Deployed, now: i64) -> String {
    crate::display::deployed::deployed_detail(r, now)
}

/// The recorded targets under `show`'s text.
pub fn targets_section(ctx: &Context, i: &Identity) -> String {
    let Ok(rs) = targets::load(&ctx.home, i.kind, &i.id) else {
        return "Pushed to:   (the record is unreadable)\n".into();
    };
    if rs.is_empty() {
        return String::new();
    }
    let mut out = String::from("Pushed to:\n");
    for r in rs {
        let which = if i.fingerprint.as_deref() == Some(r.fingerprint.as_str()) {
            "current key"
        } else {
            "an older key"
        };
        out.push_str(&format!(
            "  {}  {} ({which}) {}\n",
            r.target,
            r.fingerprint,
            crate::core::ids::rfc3339(r.pushed_at)
        ));
    }
    out
}

/// `show --json`: the identity with its recorded targets.
pub fn with_targets(ctx: &Context, i: &Identity) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(i)?;
    let rs = targets::load(&ctx.home, i.kind, &i.id)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("push_targets".into(), serde_json::to_value(rs)?);
    }
    Ok(v)
}
