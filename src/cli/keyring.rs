//! `keyring …`, `login`, `logout`, `generate --store keyring`.

use super::args::KeyringCommand;
use super::{json, print};
use crate::app::{self, Context};
use crate::core::ids;
use crate::core::key::KeyPair;
use crate::store::keyring as kr;
use anyhow::{Result, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

fn open(ctx: &Context) -> Result<kr::Keyring> {
    Ok(ctx.keyring()?)
}

fn volatile_note(k: &kr::Keyring) -> &'static str {
    if k.kind.volatile() {
        " (kernel keyutils is volatile: the key is lost on reboot — keep a copy in your secrets manager)"
    } else {
        ""
    }
}

pub fn generate(
    ctx: &Context,
    req: &app::generate::GenerateRequest,
    key: &KeyPair,
    as_json: bool,
) -> Result<ExitCode> {
    let k = open(ctx)?;
    let id = match &req.id {
        Some(i) => i.clone(),
        None => app::generate::fresh_uuid()?,
    };
    if let Err(e) = ids::IdentityId::parse(&id) {
        return Err(app::AppError::InvalidId(e.to_string()).into());
    }
    app::keyring::generate(ctx, &k, req.kind, &id, key)?;
    let did = key.public().did_key();
    if as_json {
        print(&json(
            &serde_json::json!({ "id": id, "kind": req.kind, "source": "keyring", "store": k.kind.as_str(), "key_did": did, "fingerprint": key.public().fingerprint() }),
        )?)?;
    } else {
        print(&format!("{did}\n"))?;
    }
    eprintln!(
        "Created {} {id} in the OS keyring ({}){}.\nThe SDKs read only files and env vars: before running one here, `capiscio-tui keyring export {id} --to-disk`;\nfor containers, `capiscio-tui export {id} --format env`.",
        req.kind.label(),
        k.kind.as_str(),
        volatile_note(&k)
    );
    Ok(ExitCode::SUCCESS)
}

fn confirm(id: &str, yes: bool, what: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!("refusing to {what} without confirmation: add --yes");
    }
    eprint!("Type the identity id to {what}: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if line.trim() != id {
        bail!("not confirmed; nothing was changed");
    }
    Ok(())
}

pub fn run(ctx: &Context, command: KeyringCommand) -> Result<ExitCode> {
    match command {
        KeyringCommand::Status { json: as_json } => {
            let (store, reason, write_problem) = match ctx.keyring() {
                Ok(k) => (
                    Some(k.kind),
                    None,
                    k.writable().err().map(|e| e.to_string()),
                ),
                Err(e) => (None, Some(e.to_string()), None),
            };
            let index = kr::read_index(&ctx.home).ok().flatten().unwrap_or_default();
            if as_json {
                print(&json(&serde_json::json!({
                    "store": store.map(|s| s.as_str()), "volatile": store.is_some_and(|s| s.volatile()),
                    "reason": reason, "writable": store.is_some() && write_problem.is_none(),
                    "write_problem": write_problem,
                    "identities": index.entries.len(), "api_key_stored": index.api_key_store.is_some(),
                }))?)?;
            } else {
                match store {
                    Some(s) => {
                        print(&format!(
                            "keyring: {}{} · {} identities in the index · API key {}\n",
                            s.as_str(),
                            if s.volatile() {
                                " (volatile: lost on reboot)"
                            } else {
                                ""
                            },
                            index.entries.len(),
                            if index.api_key_store.is_some() {
                                "stored"
                            } else {
                                "not stored"
                            }
                        ))?;
                        if let Some(problem) = &write_problem {
                            print(&format!("cannot store new secrets: {problem}\n"))?;
                        }
                    }
                    None => print(&format!("{}\n", reason.unwrap_or_default()))?,
                }
            }
            Ok(if store.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        KeyringCommand::Import { id } => {
            let k = open(ctx)?;
            let scan = ctx.scan();
            let found = app::resolve::resolve(&scan.found, &id)?;
            let r = app::keyring::import(ctx, &k, found)?;
            print(&format!(
                "Moved the private key of {} into the keyring ({}); removed {}.{}\nBefore an SDK on this machine can use it: `capiscio-tui keyring export {} --to-disk`.\n",
                r.id,
                r.store,
                r.removed.join(", "),
                volatile_note(&k),
                r.id
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        KeyringCommand::Export { id, .. } => {
            let k = open(ctx)?;
            let scan = ctx.scan();
            let found = app::resolve::resolve(&scan.found, &id)?;
            let dir = app::keyring::export_to_disk(ctx, &k, found)?;
            print(&format!(
                "Wrote {} back into the SDK layout at {} (the keyring copy stays).\n",
                found.identity.id,
                dir.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        KeyringCommand::Delete {
            id,
            yes,
            discard_key,
        } => {
            let k = open(ctx)?;
            let scan = ctx.scan();
            let found = app::resolve::resolve(&scan.found, &id)?;
            let dir = (!found.identity.location.starts_with("keyring:"))
                .then(|| std::path::PathBuf::from(&found.identity.location));
            confirm(&found.identity.id, yes, "delete its keyring entry")?;
            app::keyring::delete(
                ctx,
                &k,
                found.identity.kind,
                &found.identity.id,
                dir.as_deref(),
                discard_key,
            )?;
            print(&format!(
                "Deleted the keyring entry of {}.\n",
                found.identity.id
            ))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the key without echo on a terminal, or one line from a pipe — never from argv.
fn read_api_key() -> Result<String> {
    let key = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("CapiscIO API key (input hidden): ")?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        bail!("no API key given");
    }
    Ok(key)
}

pub fn login(ctx: &Context) -> Result<ExitCode> {
    let k = open(ctx)?;
    let key = zeroize::Zeroizing::new(read_api_key()?);
    app::keyring::login(ctx, &k, &key)?;
    let masked =
        crate::registry::client::ApiKey::new(&key, crate::registry::client::KeySource::Keyring)
            .masked();
    print(&format!(
        "Stored the API key {masked} in the keyring ({}). CAPISCIO_API_KEY, when set, still wins.\n",
        k.kind.as_str()
    ))?;
    Ok(ExitCode::SUCCESS)
}

pub fn logout(ctx: &Context) -> Result<ExitCode> {
    let k = open(ctx)?;
    let existed = app::keyring::logout(ctx, &k)?;
    print(if existed {
        "Removed the API key from the keyring.\n"
    } else {
        "No API key was stored in the keyring.\n"
    })?;
    Ok(ExitCode::SUCCESS)
}
