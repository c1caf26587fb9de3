//! `rotate` and `archive`: confirmation prompts and rendering around `app::rotate`.

use super::args::{ArchiveCommand, RotateArgs};
use super::{json, print, runtime};
use crate::app::rotate::{self as r, Options};
use crate::app::{self, Context};
use crate::core::rotation::{Journal, Mode, StepId};
use anyhow::{Result, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

fn ask(prompt: &str) -> Result<String> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Typed confirmation: the identity id, and for emergency mode a second word.
fn confirm(id: &str, mode: Mode, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to rotate {id} without confirmation: not on a terminal; add --yes");
    }
    if ask("Type the identity id to continue: ")? != id {
        bail!("the id did not match; nothing was changed");
    }
    if mode == Mode::Emergency
        && ask(
            "Emergency mode drops the old key at once and revokes its badge. Type EMERGENCY to confirm: ",
        )? != "EMERGENCY"
    {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

fn render_plan(p: &r::Plan) -> String {
    let mut out = format!(
        "Rotate {} ({})?   mode: {}\n",
        p.id,
        p.kind.as_str(),
        p.mode.as_str()
    );
    for c in &p.consequences {
        out.push_str(&format!(" {} {}\n", c.severity.glyph(), c.message));
    }
    out
}

pub fn render_journal(j: &Journal) -> String {
    let mut out = format!(
        "Rotation of {} ({}, {} mode): {} → {}\n",
        j.identity_id,
        j.kind.as_str(),
        j.mode.as_str(),
        j.old_did,
        j.new_did.as_deref().unwrap_or("(new)")
    );
    for s in &j.steps {
        let glyph = match s.state.label() {
            "done" => "✔",
            "skipped" => "–",
            "failed" => "✖",
            "running" => "…",
            _ => "○",
        };
        let why = s
            .state
            .reason()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {glyph} {:<55} {}{why}\n",
            j.title(s.id),
            s.state.label()
        ));
    }
    for n in &j.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    let open = j.steps.iter().filter(|s| !s.state.is_settled()).count();
    match j.next() {
        Some(StepId::Capture) if !j.push_targets.is_empty() && open <= 2 => {
            out.push_str(&format!(
                "Next: push the new key to its {} target(s) (`capiscio-tui rotate {} --resume --push`).\n",
                j.push_targets.len(),
                j.identity_id
            ))
        }
        Some(StepId::Capture) if j.steps.iter().filter(|s| !s.state.is_settled()).count() == 1 => {
            out.push_str(&format!(
                "Next: capture the new key (`capiscio-tui export {} --format {}`).\n",
                j.identity_id, j.capture_format
            ))
        }
        Some(_) => out.push_str(&format!(
            "Continue any time with `capiscio-tui rotate {} --resume`.\n",
            j.identity_id
        )),
        None => out.push_str("All steps done.\n"),
    }
    out
}

/// Like `list`, rotation talks to the registry only when one is configured on purpose.
fn client(ctx: &Context) -> Option<crate::registry::client::RegistryClient> {
    ctx.online_by_default()
        .then(|| ctx.registry.client().ok())
        .flatten()
}

pub fn run(ctx: &Context, a: RotateArgs) -> Result<ExitCode> {
    let scan = ctx.scan();
    let found = app::resolve::resolve(&scan.found, &a.id)?;
    if a.end_grace {
        let ended = r::end_grace(found, ctx.now, a.yes)?;
        if a.json {
            print(&json(&ended)?)?;
        } else {
            let mut out = String::new();
            for k in &ended.dropped {
                out.push_str(&format!(
                    "Dropped the retiring key {} from {}{}.\n",
                    k.kid,
                    ended.card,
                    k.retire_after
                        .map(|t| format!(" (grace until {})", crate::core::ids::rfc3339(t)))
                        .unwrap_or_default()
                ));
            }
            out.push_str("Partners that read the card now trust only the active key. The archived private key is kept.\n");
            print(&out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if a.rollback {
        let rb = r::rollback(ctx, found)?;
        if a.json {
            print(&json(&rb)?)?;
        } else {
            let mut out = format!(
                "Rolled back {}: the key is {} again ({}).\n",
                rb.id, rb.restored_did, rb.restored_fingerprint
            );
            if let Some(a) = &rb.archived_as {
                out.push_str(&format!(
                    "The rotated-out key is archived as archive/{a}.\n"
                ));
            }
            for n in &rb.notes {
                out.push_str(&format!("  note: {n}\n"));
            }
            print(&out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let client = client(ctx);
    if a.resume {
        let j = runtime()?.block_on(r::resume(ctx, found, client.as_ref(), a.new_agent))?;
        let (j, pushed) = maybe_push(ctx, &a, j, client.as_ref())?;
        return finish(&a, &j, pushed);
    }
    let opts = Options {
        mode: a.mode,
        grace_days: a.grace_days,
        scan_dir: a.scan.clone().unwrap_or_else(|| ctx.cwd.clone()),
        capture_format: a.capture_format,
        new_agent: a.new_agent,
    };
    let plan = runtime()?.block_on(r::plan(ctx, found, &opts, client.as_ref()))?;
    if a.dry_run {
        print(&if a.json {
            json(&plan)?
        } else {
            render_plan(&plan)
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    if !a.json {
        eprint!("{}", crate::core::text::printable(&render_plan(&plan)));
    }
    confirm(&found.identity.id, a.mode, a.yes)?;
    let j = runtime()?.block_on(r::execute(ctx, found, &opts, client.as_ref()))?;
    let (j, pushed) = maybe_push(ctx, &a, j, client.as_ref())?;
    finish(&a, &j, pushed)
}

fn finish(a: &RotateArgs, j: &Journal, pushed: Option<bool>) -> Result<ExitCode> {
    print(&if a.json { json(j)? } else { render_journal(j) })?;
    Ok(if pushed == Some(false) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The capture step with recorded targets: pushing is its own decision — `--push`, or a
/// yes on a terminal without `--yes`; `--yes` alone never pushes. After a push the
/// walkthrough runs again so capture and verify reflect what the targets now hold.
/// `Some(all succeeded)` when it pushed.
fn maybe_push(
    ctx: &Context,
    a: &RotateArgs,
    j: Journal,
    client: Option<&crate::registry::client::RegistryClient>,
) -> Result<(Journal, Option<bool>)> {
    let n = j.push_targets.len();
    if n == 0
        || j.step(StepId::Capture).is_settled()
        || j.phase != crate::core::rotation::Phase::Done
    {
        return Ok((j, None));
    }
    let interactive = !a.yes && !a.json && std::io::stdin().is_terminal();
    let go = a.push
        || (interactive
            && matches!(
                ask(&format!(
                    "Push the new key to its {n} target{} now? [y/N] ",
                    if n == 1 { "" } else { "s" }
                ))?
                .as_str(),
                "y" | "Y" | "yes"
            ));
    if !go {
        return Ok((j, None));
    }
    let (text, ok) = super::push::push_recorded(ctx, &j.identity_id)?;
    if a.json {
        eprint!("{text}");
    } else {
        print(&text)?;
    }
    // `--new-agent` may have moved the identity: look it up by the journal's id.
    let scan = ctx.scan();
    let found = app::resolve::resolve(&scan.found, &j.identity_id)?;
    let j = runtime()?.block_on(r::resume(ctx, found, client, false))?;
    Ok((j, Some(ok)))
}

pub fn archive(ctx: &Context, command: ArchiveCommand) -> Result<ExitCode> {
    let scan = ctx.scan();
    match command {
        ArchiveCommand::List { id, json: as_json } => {
            let found = app::resolve::resolve(&scan.found, &id)?;
            let dir = std::path::PathBuf::from(&found.identity.location);
            let entries = crate::store::rotate::list_archive(&dir, found.identity.kind);
            if as_json {
                print(&json(&entries)?)?;
            } else if entries.is_empty() {
                print(&format!("{} has no archived keys.\n", found.identity.id))?;
            } else {
                let mut out = String::new();
                for e in &entries {
                    let (did, why, comp) = e
                        .meta
                        .as_ref()
                        .map(|m| {
                            (
                                m.did.clone(),
                                m.reason.clone(),
                                if m.compromised { " · COMPROMISED" } else { "" },
                            )
                        })
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "{}  {did}  {why}{comp}{}\n",
                        e.name,
                        if e.key_ok { "" } else { " · key unreadable!" }
                    ));
                }
                print(&out)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ArchiveCommand::Purge {
            id,
            older_than,
            all,
            yes,
        } => {
            let found = app::resolve::resolve(&scan.found, &id)?;
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!("refusing to delete archived keys without confirmation: add --yes");
                }
                let what = if all {
                    "ALL archived keys".to_string()
                } else {
                    format!("archived keys older than {} days", older_than.unwrap_or(0))
                };
                if ask(&format!(
                    "Delete {what} of {}? Type the identity id to confirm: ",
                    found.identity.id
                ))? != found.identity.id
                {
                    bail!("not confirmed; nothing was deleted");
                }
            }
            let purged = r::purge_archive(ctx, found, if all { None } else { older_than })?;
            print(&format!(
                "Deleted {} archived key(s); kept {}.\n",
                purged.removed.len(),
                purged.kept
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
