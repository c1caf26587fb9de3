//! The interactive terminal UI: identities at a glance, export to the clipboard, new
//! identities, guided rotation. A thin shell over `app/`: it draws the same `Identity`
//! values `--json` prints. The draw loop never waits on disk, keyring, clipboard or
//! network: slow work runs on threads and comes back as messages.

pub mod input;
pub mod keymap;
pub mod layout;
pub mod main_view;
pub mod model;
pub mod screens;
pub mod theme;
pub mod update;
pub mod view;

use crate::app::{self, Context};
use crate::clipboard::Clipboard;
use crate::core::export::Format;
use model::{Effect, Model, Msg};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

pub struct Options {
    pub clear_after: Option<u64>,
    pub mouse: bool,
    pub theme: Option<theme::ThemeName>,
}

/// Restores the terminal however we leave (return, error or panic: ratatui's hook).
struct Guard {
    mouse: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.mouse {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
        }
        ratatui::restore();
    }
}

pub fn run(ctx: Context, opts: Options) -> anyhow::Result<()> {
    let theme = theme::Theme::new(opts.theme);
    let registry = if ctx.online_by_default() {
        ctx.registry.describe()
    } else {
        "not configured".into()
    };
    let mut model = Model::new(
        ctx.home.display().to_string(),
        registry,
        opts.clear_after,
        opts.mouse,
        ctx.now,
    );
    // Local data first, synchronously: it is fast, and the first frame should not be empty.
    let scan = ctx.scan();
    model.identities = scan.found.iter().map(|f| f.identity.clone()).collect();
    model.notes = scan.notes.clone();
    let mut clipboard = Clipboard::new();

    let mut terminal = ratatui::init();
    let _guard = Guard { mouse: opts.mouse };
    if opts.mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let size = terminal.size()?;
    model.size = (size.width, size.height);
    let (tx, rx) = channel::<Msg>();
    spawn_input(tx.clone());
    if ctx.online_by_default() {
        model.checking = true;
        run_effect(&ctx, &tx, &mut clipboard, &mut model, Effect::CheckRegistry);
    }
    view::render(&mut terminal, &mut model, &theme)?;
    // Test hook, compiled into debug (test) builds only.
    #[cfg(debug_assertions)]
    if std::env::var_os("CAPISCIO_TUI_TEST_PANIC").is_some() {
        panic!("forced panic (CAPISCIO_TUI_TEST_PANIC) to test terminal restoration");
    }
    event_loop(
        &ctx,
        &tx,
        &rx,
        &mut clipboard,
        &mut model,
        &mut terminal,
        &theme,
    )?;
    clipboard.hand_off();
    Ok(())
}

fn event_loop(
    ctx: &Context,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    clipboard: &mut Clipboard,
    model: &mut Model,
    terminal: &mut ratatui::DefaultTerminal,
    theme: &theme::Theme,
) -> anyhow::Result<()> {
    let mut last_tick = Instant::now();
    loop {
        let wait = Duration::from_millis(if model.checking { 120 } else { 1000 });
        let msg = match rx.recv_timeout(wait.saturating_sub(last_tick.elapsed())) {
            Ok(m) => m,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                last_tick = Instant::now();
                if let Some(cleared) = clipboard.tick(Instant::now()) {
                    let _ = tx.send(Msg::ClipboardCleared { cleared });
                }
                Msg::Tick {
                    now: crate::cli_now(),
                    clipboard_left: clipboard.remaining(Instant::now()).map(|d| d.as_secs()),
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if matches!(msg, Msg::Key(_)) {
            model.toast = None;
            model.toast_age = 0;
        }
        for effect in update::update(model, msg) {
            run_effect(ctx, tx, clipboard, model, effect);
        }
        if model.quit {
            break;
        }
        view::render(terminal, model, theme)?;
    }
    Ok(())
}

fn spawn_input(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Mouse(m)) => Msg::Mouse(m),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
}

fn background(tx: &Sender<Msg>, f: impl FnOnce() -> Msg + Send + 'static) {
    let tx = tx.clone();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
}

/// The status-bar line after `f`: what was fixed, or the real reason nothing was.
fn fix_summary(i: &crate::core::identity::Identity, fixed: &[app::fix::Fixed]) -> String {
    screens::results::fix_summary(i, fixed)
}

fn found_and<T>(
    ctx: &Context,
    id: &str,
    f: impl FnOnce(&crate::store::disk::Found) -> Result<T, String>,
) -> Result<T, String> {
    let scan = ctx.scan();
    let found = app::resolve::resolve(&scan.found, id).map_err(|e| e.to_string())?;
    f(found)
}

fn run_effect(
    ctx: &Context,
    tx: &Sender<Msg>,
    clipboard: &mut Clipboard,
    model: &mut Model,
    effect: Effect,
) {
    let c = ctx.clone();
    match effect {
        Effect::Reload => background(tx, move || {
            let s = c.scan();
            Msg::Loaded {
                identities: s.found.iter().map(|f| f.identity.clone()).collect(),
                notes: s.notes,
            }
        }),
        Effect::CheckRegistry => {
            if !ctx.online_by_default() {
                model.checking = false;
                model.toast = Some("No registry configured: set CAPISCIO_SERVER_URL or CAPISCIO_API_KEY (or log in)".into());
                return;
            }
            background(tx, move || {
                let mut s = c.scan();
                if let (Ok(client), Ok(rt)) = (
                    c.registry.client(),
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build(),
                ) {
                    rt.block_on(app::status::check_all(&client, &mut s.found, &c.env, c.now));
                }
                Msg::Checked(s.found.into_iter().map(|f| f.identity).collect())
            })
        }
        Effect::LoadExport { id, format } => background(tx, move || {
            // `export` resolves the id itself: one scan, not two.
            let scan = c.scan();
            let text = app::export::export(&c, &scan, &id, format, None)
                .map(|e| e.text)
                .map_err(|e| e.to_string());
            Msg::ExportText { id, format, text }
        }),
        Effect::Copy { text, what } => {
            let mut term = std::io::stdout();
            let r = clipboard
                .copy(&text, model.clear_after.map(Duration::from_secs), &mut term)
                .map(|o| {
                    format!(
                        "Copied {what} — {}",
                        o.describe().trim_start_matches("copied — ")
                    )
                });
            let _ = tx.send(Msg::Copied(r));
        }
        Effect::Reveal { id } => background(tx, move || {
            let text = found_and(&c, &id, |f| {
                let key = app::keys::load_key(&c, f).map_err(|e| e.to_string())?;
                Ok(crate::core::secret::encode(f.identity.kind, &key))
            });
            Msg::Revealed { id, text }
        }),
        Effect::Fix { id } => background(tx, move || {
            Msg::Fixed(found_and(&c, &id, |f| {
                let fixed = app::fix::fix(f).map_err(|e| e.to_string())?;
                Ok(fix_summary(&f.identity, &fixed))
            }))
        }),
        Effect::Generate {
            kind,
            id,
            name,
            keyring,
            register,
        } => background(tx, move || {
            Msg::Generated(generate(&c, kind, id, name, keyring, register))
        }),
        Effect::PlanRotation { id, mode } => background(tx, move || {
            // An unfinished earlier rotation is offered for resuming first.
            let pending = found_and(&c, &id, |f| Ok(app::rotate::journal_of(f)))
                .ok()
                .flatten();
            if let Some(j) = pending.filter(|j| {
                j.phase != crate::core::rotation::Phase::RolledBack
                    && (j.interrupted() || !j.complete())
            }) {
                return Msg::Resumable(j);
            }
            Msg::Planned(found_and(&c, &id, |f| {
                let client = registry_client(&c);
                block_on(app::rotate::plan(
                    &c,
                    f,
                    &wizard_options(&c, mode),
                    client.as_ref(),
                ))?
                .map_err(|e| e.to_string())
            }))
        }),
        Effect::ResumeRotation { id } => background(tx, move || {
            Msg::Rotated(found_and(&c, &id, |f| {
                let client = registry_client(&c);
                block_on(app::rotate::resume(&c, f, client.as_ref(), false))?
                    .map_err(|e| e.to_string())
            }))
        }),
        Effect::Rotate { id, mode } => background(tx, move || {
            Msg::Rotated(found_and(&c, &id, |f| {
                let client = registry_client(&c);
                block_on(app::rotate::execute(
                    &c,
                    f,
                    &wizard_options(&c, mode),
                    client.as_ref(),
                ))?
                .map_err(|e| e.to_string())
            }))
        }),
        Effect::PlanAnew {
            id,
            mode,
            new_agent,
        } => background(tx, move || {
            Msg::Planned(found_and(&c, &id, |f| {
                let client = registry_client(&c);
                let opts = app::rotate::Options {
                    new_agent,
                    ..wizard_options(&c, mode)
                };
                block_on(app::rotate::plan(&c, f, &opts, client.as_ref()))?
                    .map_err(|e| e.to_string())
            }))
        }),
        Effect::RotateWith {
            id,
            mode,
            new_agent,
        } => background(tx, move || {
            Msg::Rotated(found_and(&c, &id, |f| {
                let client = registry_client(&c);
                let opts = app::rotate::Options {
                    new_agent,
                    ..wizard_options(&c, mode)
                };
                block_on(app::rotate::execute(&c, f, &opts, client.as_ref()))?
                    .map_err(|e| e.to_string())
            }))
        }),
        Effect::RenewBadge { id, auto } => background(tx, move || {
            let result = found_and(&c, &id, |f| {
                let client = registry_client(&c).ok_or(
                    "no registry configured: set CAPISCIO_SERVER_URL and CAPISCIO_API_KEY",
                )?;
                block_on(app::badge::request(&client, f))?
                    .map(|o| o.expires_at)
                    .map_err(|e| e.to_string())
            });
            Msg::BadgeRenewed { id, auto, result }
        }),
        Effect::Rollback { id } => background(tx, move || {
            Msg::RolledBack(found_and(&c, &id, |f| {
                let rb = app::rotate::rollback(&c, f).map_err(|e| e.to_string())?;
                Ok(screens::results::rolled_back(&f.identity, &rb))
            }))
        }),
        Effect::EndGrace { id } => background(tx, move || {
            Msg::GraceEnded(found_and(&c, &id, |f| {
                // The confirmation screen asked; it says the old key goes even early.
                let ended = app::rotate::end_grace(f, c.now, true).map_err(|e| e.to_string())?;
                Ok(screens::results::grace_ended(&f.identity, &ended))
            }))
        }),
        Effect::SaveExport { path, text, what } => background(tx, move || {
            Msg::Saved(screens::results::save_export(&c.cwd, &path, &text, &what))
        }),
    }
}

/// The wizard's rotation settings: the CLI's defaults, scanning the working directory.
fn wizard_options(c: &Context, mode: crate::core::rotation::Mode) -> app::rotate::Options {
    app::rotate::Options {
        mode,
        grace_days: 7,
        scan_dir: c.cwd.clone(),
        capture_format: Format::Env,
        new_agent: false,
    }
}

/// The registry, when one is configured on purpose (as for `list`).
fn registry_client(c: &Context) -> Option<crate::registry::client::RegistryClient> {
    c.online_by_default()
        .then(|| c.registry.client().ok())
        .flatten()
}

/// Runs async app code on this worker thread.
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(rt.block_on(f))
}

fn generate(
    ctx: &Context,
    kind: crate::core::identity::Kind,
    id: Option<String>,
    name: Option<String>,
    keyring: bool,
    register: bool,
) -> Result<(String, String), String> {
    let key = app::generate::fresh_key().map_err(|e| e.to_string())?;
    let id = match id {
        Some(i) => i,
        None => app::generate::fresh_uuid().map_err(|e| e.to_string())?,
    };
    if keyring {
        if let Err(e) = crate::core::ids::IdentityId::parse(&id) {
            return Err(app::AppError::InvalidId(e.to_string()).to_string());
        }
        let k = ctx.keyring().map_err(|e| e.to_string())?;
        app::keyring::generate(ctx, &k, kind, &id, &key).map_err(|e| e.to_string())?;
        return Ok((
            format!(
                "Created {} {id} in the OS keyring ({}) — press c to capture it",
                kind.label(),
                k.kind.as_str()
            ),
            id,
        ));
    }
    let req = app::generate::GenerateRequest {
        kind,
        id: Some(id),
        name,
    };
    let g = app::generate::generate(ctx, &req, &key, String::new()).map_err(|e| e.to_string())?;
    let mut msg = format!(
        "Created {} {} — press c to capture it for your secrets manager",
        kind.label(),
        g.identity.id
    );
    if register {
        let scan = ctx.scan();
        let found =
            app::resolve::resolve(&scan.found, &g.identity.id).map_err(|e| e.to_string())?;
        let client = ctx.registry.client().map_err(|e| e.to_string())?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        match rt.block_on(app::register::register(&client, found)) {
            Ok(r) => {
                msg = format!("{msg}; {}", r.message);
                // Registering can rename an agent to the id the registry assigned.
                return Ok((msg, r.id));
            }
            Err(e) => msg = format!("{msg}; registering failed: {e}"),
        }
    }
    Ok((msg, g.identity.id))
}
