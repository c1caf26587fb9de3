//! The scriptable shell over `app/`: argv in, text or JSON out.

pub mod args;
mod identify;
mod keyring;
mod push;
pub mod render;
mod rotate;

use crate::app::config::Settings;
use crate::app::context::RegistrySettings;
use crate::app::{self, AppError, Context};
use crate::core::identity::{Kind, Source, listing_order};
use crate::store::scan::Scan;
use anyhow::{Context as _, Result, bail};
use args::{BadgeCommand, Cli, Command, ConfigCommand, ExportOpts, IdentityCommand};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// The command line's settings, before the environment and the config file are consulted.
fn flags(cli: &Cli) -> crate::app::config::Flags {
    crate::app::config::Flags {
        server_url: cli.server_url.clone(),
        registry_timeout: cli.registry_timeout,
        concurrency: cli.concurrency,
        clear_after: cli.clear_after,
        theme: cli.theme,
        keyring: cli.keyring,
    }
}

/// Every configurable setting, resolved flag > env > config file > default. A config
/// file that cannot be read or has an unknown key or bad value is an error.
pub fn settings(cli: &Cli, env: &crate::store::env::EnvSnapshot) -> Result<Settings> {
    let file = crate::app::config::default_path();
    let config = match &file {
        Some(path) => crate::app::config::load(path)?,
        None => None,
    };
    Ok(Settings::resolve(&flags(cli), env, file, config))
}

pub fn context(cli: &Cli, settings: &Settings) -> Result<Context> {
    let home = match &cli.home {
        Some(h) => h.clone(),
        None => std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".capiscio"))
            .context("cannot find your home directory: HOME is not set; pass --home DIR")?,
    };
    let env = crate::store::env::EnvSnapshot::from_process();
    let mut registry = RegistrySettings::resolve(settings.server_url.value.as_deref(), &env);
    registry.explicit = settings.server_url.value.is_some();
    let keyring = settings.keyring.value;
    if registry.api_key.is_none() {
        registry.api_key = app::keyring::stored_api_key(&home, keyring);
    }
    registry.timeout = std::time::Duration::from_secs(settings.registry_timeout.value.max(1));
    registry.concurrency = usize::from(settings.concurrency.value);
    Ok(Context {
        home,
        env,
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        now: crate::cli_now(),
        offline: cli.offline,
        registry,
        keyring,
        keyring_explicit: settings.keyring.origin != crate::app::config::Origin::Default,
        clear_after: settings.clear_after.value,
    })
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Scans, and when `online`, checks every identity with the registry.
fn load(ctx: &Context, online: bool) -> Result<Scan> {
    let mut scan = ctx.scan();
    if online {
        let client = ctx.registry.client()?;
        runtime()?.block_on(app::status::check_all(
            &client,
            &mut scan.found,
            &ctx.env,
            ctx.now,
        ));
    }
    Ok(scan)
}

fn client(ctx: &Context) -> Result<crate::registry::client::RegistryClient> {
    if ctx.offline {
        bail!("this command needs the registry; drop --offline");
    }
    Ok(ctx.registry.client()?)
}

/// Human output; what came from files or the registry cannot drive the terminal.
pub(crate) fn print(text: &str) -> Result<()> {
    print_raw(&crate::core::text::printable(text))
}

/// Text we generated ourselves and that must reach stdout byte for byte: exported keys
/// (no copy of a secret made on the way) and the OSC 52 sequence, whose ESC and BEL
/// are the point.
pub(crate) fn print_raw(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not our failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// Streams pretty JSON to stdout: 10,000 identities need not sit in memory as one string.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let r = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

/// A `--home` the user named that cannot be the CapiscIO home. (The default home may
/// not exist yet: that is a first run, answered with the friendly empty list.)
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    #[error(
        "--home {0} does not exist; pass the directory that holds keys/ and mcp-servers/, or leave out --home for $HOME/.capiscio"
    )]
    Missing(PathBuf),
    #[error(
        "--home {0} is not a directory; pass the directory that holds keys/ and mcp-servers/, or leave out --home for $HOME/.capiscio"
    )]
    NotADirectory(PathBuf),
}

/// Commands that only read an existing home refuse an explicit `--home` that is not a
/// directory; `generate` and `login` may create it, and the others do not use it.
fn check_home(cli: &Cli, command: Option<&Command>) -> Result<(), HomeError> {
    let Some(home) = cli.home.as_deref() else {
        return Ok(());
    };
    if matches!(
        command,
        Some(
            Command::Generate(_)
                | Command::Login
                | Command::Logout
                | Command::Demo { .. }
                | Command::DevRegistry(_)
                | Command::ClipboardHold { .. }
                | Command::Config { .. }
        )
    ) {
        return Ok(());
    }
    match std::fs::metadata(home) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(HomeError::NotADirectory(home.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(HomeError::Missing(home.to_path_buf()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            Err(HomeError::NotADirectory(home.to_path_buf()))
        }
        // A home we may not stat is reported by the scan itself, with its fix.
        Err(_) => Ok(()),
    }
}

pub fn run(mut cli: Cli) -> Result<ExitCode> {
    check_home(&cli, cli.command.as_ref())?;
    match cli.command.take() {
        // The development registry needs no CapiscIO home, so it runs even without HOME.
        Some(Command::DevRegistry(a)) => dev_registry(a),
        Some(Command::ClipboardHold { clear_after }) => Ok(clipboard_hold(clear_after)),
        // Documentation of the grammar itself: no home, no registry.
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Man) => man(),
        Some(Command::Config {
            command: ConfigCommand::Path,
        }) => config_path(),
        Some(Command::Config {
            command: ConfigCommand::Show { json },
        }) => {
            let s = settings(&cli, &crate::store::env::EnvSnapshot::from_process())?;
            config_show(&s, json)
        }
        None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
            let s = settings(&cli, &crate::store::env::EnvSnapshot::from_process())?;
            let clear_after = s.clear_after.value;
            let opts = crate::tui::Options {
                clear_after: (clear_after > 0).then_some(clear_after),
                mouse: !cli.no_mouse,
                theme: s.theme.value,
            };
            crate::tui::run(context(&cli, &s)?, opts)?;
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let s = settings(&cli, &crate::store::env::EnvSnapshot::from_process())?;
            run_in(context(&cli, &s)?, other)
        }
    }
}

/// `config path`: where the config file is read from, whether or not it exists.
fn config_path() -> Result<ExitCode> {
    let path = crate::app::config::default_path()
        .context("cannot locate the config file: neither XDG_CONFIG_HOME nor HOME is set")?;
    print(&format!("{}\n", path.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// `config show`: each setting, its value and where the value came from.
fn config_show(s: &Settings, as_json: bool) -> Result<ExitCode> {
    let rows = s.rows();
    if as_json {
        print_json(&serde_json::json!({
            "file": s.file,
            "file_found": s.file_found,
            "settings": rows,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = match &s.file {
        Some(p) if s.file_found => format!("Config file: {}\n\n", p.display()),
        Some(p) => format!(
            "Config file: {} (not present; defaults apply)\n\n",
            p.display()
        ),
        None => "Config file: none (neither XDG_CONFIG_HOME nor HOME is set)\n\n".to_string(),
    };
    let kw = rows.iter().map(|r| r.key.len()).max().unwrap_or(0).max(3);
    let vw = rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0)
        .max(5);
    out.push_str(&format!("{:kw$}  {:vw$}  SOURCE\n", "KEY", "VALUE"));
    for r in &rows {
        out.push_str(&format!(
            "{:kw$}  {:vw$}  {} ({})\n",
            r.key,
            crate::core::text::printable(&r.value),
            r.source.as_str(),
            r.from
        ));
    }
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// The shell completion script for `shell`, generated from the argument grammar.
fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "capiscio-tui", &mut script);
    print_raw(&String::from_utf8(script).context("completion script is not UTF-8")?)?;
    Ok(ExitCode::SUCCESS)
}

/// The manual page (roff), generated from the argument grammar.
fn man() -> Result<ExitCode> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .context("cannot render the manual page")?;
    let page = String::from_utf8(page).context("manual page is not UTF-8")?;
    print_raw(&title_first(&page))?;
    Ok(ExitCode::SUCCESS)
}

/// Moves the `.TH` line ahead of roff's apostrophe-string preamble, so the page starts
/// with its title as man pages conventionally do (the string is defined before any use).
fn title_first(page: &str) -> String {
    let Some(start) = page.find("\n.TH ").map(|i| i + 1) else {
        return page.to_string();
    };
    let end = page[start..]
        .find('\n')
        .map_or(page.len(), |i| start + i + 1);
    let mut out = String::with_capacity(page.len() + 1);
    out.push_str(&page[start..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&page[..start]);
    out.push_str(&page[end..]);
    out
}

fn run_in(ctx: Context, command: Option<Command>) -> Result<ExitCode> {
    match command {
        None => {
            // Exactly `list` (registry columns included when one is configured).
            let code = run_in(ctx, Some(Command::List { json: false }))?;
            eprintln!(
                "(Standard input or output is not a terminal, so this is `capiscio-tui list` instead of the interactive UI; run `capiscio-tui` in a terminal for the UI, or see --help for all commands.)"
            );
            Ok(code)
        }
        Some(Command::List { json: as_json }) => {
            let scan = load(&ctx, ctx.online_by_default())?;
            let mut ids: Vec<_> = scan.found.iter().map(|f| &f.identity).collect();
            ids.sort_by(|a, b| listing_order(a, b));
            if as_json {
                print_json(&ids)?;
            } else {
                let owned: Vec<_> = ids.into_iter().cloned().collect();
                print(&render::list_table(&owned, &scan.notes, ctx.now))?;
            }
            // An incomplete list must not look complete (JSON has no notes: say it on stderr).
            let mut incomplete = false;
            for n in scan
                .notes
                .iter()
                .filter(|n| n.code == crate::core::identity::Code::ScanFailed)
            {
                incomplete = true;
                if as_json {
                    eprintln!("error: {}", n.message);
                }
            }
            Ok(if incomplete {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Show { id, json: as_json }) => {
            let scan = load(&ctx, ctx.online_by_default())?;
            let found = app::resolve::resolve(&scan.found, &id)?;
            if as_json {
                print(&json(&push::with_targets(&ctx, &found.identity)?)?)?;
            } else {
                print(&render::show(&found.identity, ctx.now))?;
                print(&push::targets_section(&ctx, &found.identity))?;
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
        Some(Command::Status { id, json: as_json }) => {
            let scan = load(&ctx, !ctx.offline)?;
            let mut shown: Vec<_> = match &id {
                Some(q) => vec![app::resolve::resolve(&scan.found, q)?.identity.clone()],
                None => scan.found.iter().map(|f| f.identity.clone()).collect(),
            };
            shown.sort_by(listing_order);
            if as_json {
                print_json(&shown)?;
            } else {
                let where_ = if ctx.offline {
                    "offline".to_string()
                } else {
                    ctx.registry.describe()
                };
                print(&render::status(&shown, &where_, ctx.now))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Register { id, json: as_json }) => {
            let client = client(&ctx)?;
            let scan = ctx.scan();
            let found = app::resolve::resolve(&scan.found, &id)?;
            let report = runtime()?.block_on(app::register::register(&client, found))?;
            if as_json {
                print(&json(&report)?)?;
            } else {
                print(&format!("{}\n", report.message))?;
            }
            Ok(if report.outcome == app::register::Outcome::UnknownAgent {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Some(Command::Badge { command }) => badge(&ctx, command),
        Some(Command::Rotate(a)) => rotate::run(&ctx, a),
        Some(Command::Push(a)) => push::push(&ctx, a),
        Some(Command::Deployed(a)) => push::deployed(&ctx, a),
        Some(Command::Keyring { command }) => keyring::run(&ctx, command),
        Some(Command::Identify(a)) => identify::run(&ctx, a),
        Some(Command::Login) => keyring::login(&ctx),
        Some(Command::Logout) => keyring::logout(&ctx),
        Some(Command::Archive { command }) => rotate::archive(&ctx, command),
        Some(Command::DevRegistry(a)) => dev_registry(a),
        Some(Command::ClipboardHold { clear_after }) => Ok(clipboard_hold(clear_after)),
        Some(Command::Completions { shell }) => completions(shell),
        Some(Command::Man) => man(),
        Some(Command::Config { .. }) => bail!("`config` is handled before a context is built"),
        Some(Command::Demo { dir, serve }) => demo(&ctx, dir, serve),
        Some(Command::Doctor { json: as_json, fix }) => {
            // Like `list` and `status`: the registry's problems count when it is configured.
            let online = ctx.online_by_default();
            let fixed = if fix {
                app::doctor::fix_all(&ctx.scan())?
            } else {
                Vec::new()
            };
            let mut report = app::doctor::doctor(&load(&ctx, online)?);
            report.fixed = fixed;
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
                .map(|f| app::resolve::described(&f.identity))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn export(ctx: &Context, id: &str, opts: &ExportOpts) -> Result<ExitCode> {
    let scan = ctx.scan();
    let exported = app::export::export(ctx, &scan, id, opts.format, opts.target)?;
    if opts.copy {
        return copy(ctx, &exported, opts.format);
    }
    if std::io::stdout().is_terminal() && !opts.reveal {
        bail!(
            "refusing to print the private key of {} to the terminal; add --reveal, or pipe/redirect the output",
            exported.identity.label()
        );
    }
    print_raw(&exported.text)?;
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
    if g.store == args::StoreArg::Keyring {
        return keyring::generate(ctx, &req, &key, g.json);
    }
    let client = if g.register { Some(client(ctx)?) } else { None };
    let created = runtime()?.block_on(app::generate::create(
        ctx,
        &req,
        &key,
        app::generate::fresh_uuid()?,
        client.as_ref(),
    ))?;
    drop(key);
    let (i, dir) = (created.identity, created.dir);
    // Registration comes first: an agent ends up named by the id the registry assigns,
    // and everything printed below names the identity as it finally is.
    let mut failed = false;
    match created.registered {
        Some(Ok(report)) => {
            eprintln!("{}", crate::core::text::printable(&report.message));
            failed = report.outcome == app::register::Outcome::UnknownAgent;
        }
        Some(Err(e)) => bail!(
            "the identity was created, but registering it failed: {e}; retry with `capiscio-tui register {}`",
            i.id
        ),
        None => {}
    }
    if g.json {
        print(&json(&i)?)?;
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
        dir.display(),
        i.key_did.as_deref().unwrap_or("–"),
        i.fingerprint.as_deref().unwrap_or("–"),
        ctx.home.display(),
        i.id,
    );
    for p in &i.problems {
        eprintln!(
            "note: {}: {}",
            p.code.as_str(),
            crate::core::text::printable(&p.message)
        );
    }
    if failed {
        return Ok(ExitCode::FAILURE);
    }
    if ctx.env.get(var).is_some() {
        eprintln!(
            "warning: {var} is set in this shell; the SDK will use that key instead of the new one"
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn badge(ctx: &Context, command: BadgeCommand) -> Result<ExitCode> {
    let scan = ctx.scan();
    let (outcome, as_json) = match command {
        BadgeCommand::Request { id, json } => {
            let client = client(ctx)?;
            let found = app::resolve::resolve(&scan.found, &id)?;
            (
                runtime()?.block_on(app::badge::request(&client, found, ctx.now))?,
                json,
            )
        }
        BadgeCommand::Issue { id, ttl, .. } => {
            let found = app::resolve::resolve(&scan.found, &id)?;
            (app::badge::self_sign(ctx, found, i64::from(ttl))?, false)
        }
    };
    if as_json {
        print(&json(&outcome)?)?;
    } else {
        let level = outcome.trust_level.as_deref().unwrap_or("?");
        let summary = format!(
            "Badge {} for {} · level {level} · expires {} ({})\n  sub {}\n  iss {}\n",
            outcome.jti,
            outcome.id,
            crate::core::ids::relative(outcome.expires_at, ctx.now),
            crate::core::ids::rfc3339(outcome.expires_at),
            outcome.sub,
            outcome.iss
        );
        match &outcome.stored_at {
            Some(p) => print(&format!("{summary}  stored in {p}\n"))?,
            None => {
                // MCP servers keep badges in memory: hand the token over on stdout.
                eprintln!(
                    "{}  (MCP servers keep badges in memory; the token follows on stdout)",
                    crate::core::text::printable(&summary)
                );
                print(&format!("{}\n", outcome.token))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn clipboard_hold(clear_after: Option<u64>) -> ExitCode {
    let clear = clear_after
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs);
    if crate::clipboard::hold(clear) == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn dev_registry(a: args::DevRegistryArgs) -> Result<ExitCode> {
    let rt = runtime()?;
    rt.block_on(async move {
        let cfg = crate::registry::dev::DevConfig {
            port: a.port,
            state_file: a.state,
            api_key: a.api_key,
            variant: a.variant,
            latency: std::time::Duration::from_millis(a.latency_ms),
            badge_ttl: a.badge_ttl.max(1),
        };
        let reg = crate::registry::dev::start(cfg).await.context("cannot start the development registry")?;
        print(&format!("{}\n", reg.url))?;
        eprintln!("Development registry on {} — point the tools at it with CAPISCIO_SERVER_URL={} (Ctrl-C stops it)", reg.url, reg.url);
        shutdown_signal().await;
        reg.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn demo(ctx: &Context, dir: Option<PathBuf>, serve: bool) -> Result<ExitCode> {
    let rt = runtime()?;
    // The development registry keeps running on the runtime's workers while we use it.
    let sandbox = rt.block_on(app::demo::build(dir))?;
    let mut dctx = ctx.clone();
    dctx.home = sandbox.home();
    dctx.env = crate::store::env::EnvSnapshot::default();
    dctx.offline = false;
    dctx.registry = RegistrySettings::resolve(Some(&sandbox.registry.url), &dctx.env);
    dctx.registry.api_key = Some(crate::registry::client::ApiKey::new(
        app::demo::DEMO_API_KEY,
        crate::registry::client::KeySource::Flag,
    ));
    let interactive = !serve && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let result = if interactive {
        // On a terminal the demo is the normal UI, pointed at the sandbox.
        let opts = crate::tui::Options {
            clear_after: (ctx.clear_after > 0).then_some(ctx.clear_after),
            mouse: true,
            theme: None,
        };
        crate::tui::run(dctx, opts)
    } else {
        rt.block_on(async {
            let mut scan = dctx.scan();
            let client = dctx.registry.client()?;
            app::status::check_all(&client, &mut scan.found, &dctx.env, dctx.now).await;
            let mut ids: Vec<_> = scan.found.iter().map(|f| f.identity.clone()).collect();
            ids.sort_by(listing_order);
            print(&format!("{}\n\n", app::demo::describe(&sandbox)))?;
            print(&render::status(&ids, &dctx.registry.describe(), dctx.now))?;
            if serve {
                eprintln!(
                    "\nTry it: export HOME={} CAPISCIO_SERVER_URL={} CAPISCIO_API_KEY={}; capiscio-tui\nCtrl-C ends the demo.",
                    sandbox.root.display(),
                    sandbox.registry.url,
                    app::demo::DEMO_API_KEY
                );
                shutdown_signal().await;
            }
            anyhow::Ok(())
        })
    };
    rt.block_on(sandbox.registry.shutdown());
    result.map(|_| ExitCode::SUCCESS)
}

/// `export --copy`: OSC 52 over SSH / without a display, else a short-lived holder process
/// that serves the text until the clear deadline (a CLI call exits at once).
fn copy(
    ctx: &Context,
    exported: &app::export::Exported,
    format: crate::core::export::Format,
) -> Result<ExitCode> {
    // Only the format and the identity's label are ever printed; the key goes to the
    // clipboard (or the OSC 52 sequence) alone. The label is file data: made inert.
    let what = format!(
        "{} for {}",
        format.as_str(),
        crate::core::text::printable(exported.identity.label())
    );
    if crate::clipboard::should_use_osc52() {
        if !std::io::stdout().is_terminal() {
            bail!(
                "no clipboard here (SSH or no display) and standard output is not a terminal for OSC 52; pipe the output instead"
            );
        }
        print_raw(&crate::clipboard::osc52_sequence(&exported.text))?;
        // Clearing an OSC 52 copy takes another OSC 52 at the deadline, and this command
        // exits now: say so rather than promise a clear that never comes.
        eprintln!(
            "Sent {what} to the terminal (OSC 52); whether it reached your clipboard depends on your terminal. It is not cleared automatically: copy something else over it when done (the interactive UI clears its OSC 52 copies)."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let clear = (ctx.clear_after > 0).then(|| std::time::Duration::from_secs(ctx.clear_after));
    crate::clipboard::spawn_holder(&exported.text, clear)
        .map_err(|e| anyhow::anyhow!("cannot copy: {e}; pipe the output instead"))?;
    match clear {
        Some(d) => eprintln!("Copied {what} — clears in {}s.", d.as_secs()),
        None => eprintln!("Copied {what} (not cleared automatically)."),
    }
    Ok(ExitCode::SUCCESS)
}

/// Maps an error to the message users see; app errors already carry their fix.
/// The one-line error the user sees (control characters made inert).
pub fn describe(err: &anyhow::Error) -> String {
    let text = match err.downcast_ref::<AppError>() {
        Some(app) => app.to_string(),
        None => format!("{err:#}"),
    };
    crate::core::text::printable(&text).into_owned()
}

/// Replaces, in a message that quotes command-line arguments, every argument that could be
/// key material (long, or spanning lines or spaces) by a description of its shape.
pub fn redact_args(message: &str, argv: &[String]) -> String {
    let mut out = message.to_string();
    let mut risky: Vec<&String> = argv
        .iter()
        .filter(|a| a.chars().count() > 40 || a.contains(char::is_whitespace))
        .collect();
    // Longest first, so that an argument containing another is replaced whole.
    risky.sort_by_key(|a| std::cmp::Reverse(a.len()));
    for a in risky {
        let shape = format!(
            "<an argument of {} characters, {} line(s), not shown>",
            a.chars().count(),
            a.lines().count().max(1)
        );
        out = out.replace(a.as_str(), &shape);
        // clap may quote just the first line or the part before `=`.
        if let Some(first) = a.lines().next().filter(|l| l.len() > 16) {
            out = out.replace(first, &shape);
        }
    }
    out
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn key_shaped_arguments_are_described_not_quoted() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
        let msg = format!("error: unexpected argument '{pem}' found");
        let out = redact_args(&msg, &["show".into(), pem.into()]);
        assert!(!out.contains("MC4CAQAw"), "{out}");
        assert!(out.contains("not shown"), "{out}");
        assert_eq!(
            redact_args("error: x 'ab'", &["ab".into()]),
            "error: x 'ab'"
        );
    }
}
