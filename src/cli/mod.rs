//! The scriptable shell over `app/`: argv in, text or JSON out.

pub mod args;
pub mod render;

use crate::app::{self, AppError, Context};
use crate::core::identity::{Kind, Source};
use anyhow::{Context as _, Result, bail};
use args::{Cli, Command, ExportOpts, IdentityCommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn context(cli: &Cli) -> Result<Context> {
    let home = match &cli.home {
        Some(h) => h.clone(),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".capiscio"))
            .context("cannot find your home directory: HOME is not set; pass --home DIR")?,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    Ok(Context {
        home,
        env: crate::store::env::EnvSnapshot::from_process(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        now,
        offline: cli.offline,
    })
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = context(&cli)?;
    match cli.command {
        None => {
            let scan = ctx.scan();
            let ids: Vec<_> = scan.found.iter().map(|f| f.identity.clone()).collect();
            print(&render::list_table(&ids, &scan.notes, ctx.now))?;
            eprintln!(
                "(The interactive UI is not built yet; this is `capiscio-tui list`. See --help for all commands.)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::List { json: as_json }) => {
            let scan = ctx.scan();
            let ids: Vec<_> = scan.found.iter().map(|f| &f.identity).collect();
            if as_json {
                print(&json(&ids)?)?;
            } else {
                let owned: Vec<_> = ids.into_iter().cloned().collect();
                print(&render::list_table(&owned, &scan.notes, ctx.now))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Show { id, json: as_json }) => {
            let scan = ctx.scan();
            let found = app::resolve::resolve(&scan.found, &id)?;
            if as_json {
                print(&json(&found.identity)?)?;
            } else {
                print(&render::show(&found.identity, ctx.now))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Export(a)) => export(&ctx, &a.id, &a.opts),
        Some(Command::Identity {
            command: IdentityCommand::Export { id, opts },
        }) => {
            let id = match id {
                Some(id) => id,
                None => only_agent(&ctx)?,
            };
            export(&ctx, &id, &opts)
        }
        Some(Command::Generate(g)) => generate(&ctx, g),
        Some(Command::Doctor { json: as_json }) => {
            let report = app::doctor::doctor(&ctx.scan());
            if as_json {
                print(&json(&report)?)?;
            } else {
                print(&render::doctor(&report))?;
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The one agent `identity export` means when no id is given (what the SDK hint implies).
fn only_agent(ctx: &Context) -> Result<String> {
    let scan = ctx.scan();
    let agents: Vec<_> = scan
        .found
        .iter()
        .filter(|f| f.identity.kind == Kind::Agent && f.identity.effective)
        .collect();
    match agents.as_slice() {
        [one] => Ok(one.identity.id.clone()),
        [] => {
            bail!("no agent identity found; create one with `capiscio-tui generate --kind agent`")
        }
        many => bail!(
            "{} agent identities found; name one: {}",
            many.len(),
            many.iter()
                .map(|f| f.identity.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn export(ctx: &Context, id: &str, opts: &ExportOpts) -> Result<ExitCode> {
    if opts.copy {
        bail!(
            "--copy is not available yet (clipboard support comes with the interactive UI); pipe the output instead, e.g. `capiscio-tui export {id} --format {} | xclip -selection clipboard`",
            opts.format.as_str()
        );
    }
    let scan = ctx.scan();
    let exported = app::export::export(ctx, &scan, id, opts.format, opts.target)?;
    if std::io::stdout().is_terminal() && !opts.reveal {
        bail!(
            "refusing to print the private key of {} to the terminal; add --reveal, or pipe/redirect the output",
            exported.identity.label()
        );
    }
    print(&exported.text)?;
    if exported.identity.source == Source::Env {
        eprintln!(
            "note: exported the key injected through {}",
            exported.identity.location.trim_start_matches("env:")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn generate(ctx: &Context, g: args::GenerateArgs) -> Result<ExitCode> {
    let req = app::generate::GenerateRequest {
        kind: g.kind.into(),
        id: g.id,
        name: g.name,
    };
    let key = app::generate::fresh_key()?;
    let generated = app::generate::generate(ctx, &req, &key, app::generate::fresh_uuid()?)?;
    drop(key);
    let i = &generated.identity;
    if g.json {
        print(&json(i)?)?;
    } else {
        print(&format!("{}\n", i.did.as_deref().unwrap_or_default()))?;
    }
    let var = crate::store::disk::env_var_for(i.kind);
    eprintln!(
        "Created {} {} in {}\n  DID          {}\n  Fingerprint  {}\n\n\
         To keep this identity where {} does not persist (containers, serverless, CI),\n\
         store the key in your secrets manager and inject it as {var}:\n\
         \n    capiscio-tui export {} --format env     (or compose, k8s, lambda, cloudrun, github)\n",
        i.kind.label(),
        i.id,
        generated.dir.display(),
        i.key_did.as_deref().unwrap_or("–"),
        i.fingerprint.as_deref().unwrap_or("–"),
        ctx.home.display(),
        i.id,
    );
    for p in &i.problems {
        eprintln!("note: {}: {}", p.code.as_str(), p.message);
    }
    if ctx.env.get(var).is_some() {
        eprintln!(
            "warning: {var} is set in this shell; the SDK will use that key instead of the new one"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Maps an error to the message users see; app errors already carry their fix.
pub fn describe(err: &anyhow::Error) -> String {
    if let Some(app) = err.downcast_ref::<AppError>() {
        return app.to_string();
    }
    format!("{err:#}")
}
