//! The interactive terminal UI: identities at a glance, export to the clipboard, new
//! identities, guided rotation. A thin shell over `app/`: it draws the same `Identity`
//! values `--json` prints. The draw loop never waits on disk, keyring, clipboard or
//! network: slow work runs on threads and comes back as messages.

pub mod clock;
pub mod input;
pub mod keymap;
pub mod layout;
pub mod live;
pub mod main_view;
pub mod model;
pub mod screens;
pub mod target;
pub mod theme;
pub mod update;
pub mod view;
pub mod watch;

use crate::app::{self, Context};
use crate::clipboard::Clipboard;
use crate::core::export::Format;
use clock::Clock;
use model::{Effect, Model, Msg};
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use ratatui::crossterm::execute;
use std::sync::Arc;
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

/// Runs the effects `update` asks for. Effects never touch the model: each one ends in
/// messages sent back to the loop. Background work shares one async runtime.
struct Runtime {
    ctx: Context,
    tx: Sender<Msg>,
    /// Always `Some` until dropped.
    rt: Option<tokio::runtime::Runtime>,
    clock: Arc<dyn Clock>,
    clear_after: Option<Duration>,
}

impl Drop for Runtime {
    /// However the UI ends, jobs still running (a slow registry) are not waited for.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

pub fn run(ctx: Context, opts: Options) -> anyhow::Result<()> {
    let theme = theme::Theme::new(opts.theme);
    let online = ctx.online_by_default();
    let registry = if online {
        ctx.registry.describe()
    } else {
        "not configured".into()
    };
    let clock: Arc<dyn Clock> = Arc::new(clock::SystemClock);
    let mut model = Model::new(
        ctx.home.display().to_string(),
        registry,
        opts.clear_after,
        opts.mouse,
        clock.now(),
    );
    model.online = online;
    // Local data first, synchronously: it is fast, and the first frame should not be empty.
    let scan = ctx.scan();
    model.identities = scan.found.iter().map(|f| f.identity.clone()).collect();
    model.notes = scan.notes.clone();
    let mut clipboard = Clipboard::new();
    let (tx, rx) = channel::<Msg>();
    let runtime = Runtime {
        rt: Some(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("capiscio-tui-jobs")
                .enable_all()
                .build()?,
        ),
        ctx,
        tx: tx.clone(),
        clock,
        clear_after: opts.clear_after.map(Duration::from_secs),
    };

    let mut terminal = ratatui::init();
    let _guard = Guard { mouse: opts.mouse };
    if opts.mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let size = terminal.size()?;
    update::update(&mut model, Msg::Resize(size.width, size.height));
    spawn_input(tx.clone());
    watch::spawn(runtime.ctx.home.clone(), tx);
    if online {
        let effect = live::ask(&mut model, Effect::CheckRegistry);
        runtime.run(effect, &mut clipboard);
    }
    view::render(&mut terminal, &mut model, &theme)?;
    // Test hook, compiled into debug (test) builds only.
    #[cfg(debug_assertions)]
    if std::env::var_os("CAPISCIO_TUI_TEST_PANIC").is_some() {
        panic!("forced panic (CAPISCIO_TUI_TEST_PANIC) to test terminal restoration");
    }
    event_loop(
        &runtime,
        &rx,
        &mut clipboard,
        &mut model,
        &mut terminal,
        &theme,
    )?;
    let unclearable = clipboard.abandon_osc52();
    clipboard.hand_off();
    drop(runtime);
    drop(_guard);
    if unclearable {
        eprintln!(
            "Note: the key copied over OSC 52 was not cleared: capiscio-tui ended before the deadline. Copy something else over it when done."
        );
    }
    Ok(())
}

/// At most this many queued messages are handled between two frames.
const BURST: usize = 256;

fn event_loop(
    runtime: &Runtime,
    rx: &Receiver<Msg>,
    clipboard: &mut Clipboard,
    model: &mut Model,
    terminal: &mut ratatui::DefaultTerminal,
    theme: &theme::Theme,
) -> anyhow::Result<()> {
    let mut last_tick = Instant::now();
    loop {
        // Once a second when idle; faster only while the spinner turns.
        let every = Duration::from_millis(if model.checking { 120 } else { 1000 });
        let msg = if last_tick.elapsed() >= every {
            last_tick = Instant::now();
            runtime.tick(clipboard)
        } else {
            match rx.recv_timeout(every.saturating_sub(last_tick.elapsed())) {
                Ok(m) => m,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        };
        for effect in update::update(model, msg) {
            runtime.run(effect, clipboard);
        }
        // Whatever else is already queued (a burst of registry answers) is taken in
        // before the next frame: one draw per burst, not one per answer.
        for _ in 0..BURST {
            if model.quit {
                break;
            }
            let Ok(msg) = rx.try_recv() else { break };
            for effect in update::update(model, msg) {
                runtime.run(effect, clipboard);
            }
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
    let found = app::resolve::resolve_target(&scan.found, id).map_err(|e| e.to_string())?;
    f(found)
}

impl Runtime {
    /// The context with a fresh `now`: whatever an effect stamps (archives, agent cards,
    /// journals) carries the time it ran, not the time the UI opened.
    fn ctx(&self) -> Context {
        let mut c = self.ctx.clone();
        c.now = self.clock.now();
        c
    }

    /// Runs `f` on the shared runtime's blocking pool and sends its message back.
    fn job(&self, f: impl FnOnce(&tokio::runtime::Handle, Context) -> Msg + Send + 'static) {
        let Some(rt) = self.rt.as_ref() else { return };
        let (tx, c, h) = (self.tx.clone(), self.ctx(), rt.handle().clone());
        rt.spawn_blocking(move || {
            let _ = tx.send(f(&h, c));
        });
    }

    /// The clock tick, after the clipboard's deadline was acted on.
    fn tick(&self, clipboard: &mut Clipboard) -> Msg {
        let now = Instant::now();
        if let Some(note) = clipboard.tick_osc52(now, &mut std::io::stdout()) {
            let _ = self.tx.send(Msg::ClipboardClearSent(note));
        }
        if let Some(cleared) = clipboard.tick(now) {
            let _ = self.tx.send(Msg::ClipboardCleared { cleared });
        }
        Msg::Tick {
            now: self.clock.now(),
            clipboard_left: clipboard.remaining(now).map(|d| d.as_secs()),
        }
    }

    /// Asks the registry about the identities `only` names (all when `None`); each answer
    /// comes back as its own `CheckedOne` as soon as it arrives, then `CheckFinished`.
    fn check(&self, only: Option<Vec<model::RowKey>>) {
        let tx = self.tx.clone();
        self.job(move |h, c| {
            if !c.online_by_default() {
                return Msg::CheckFinished {
                    error: Some(
                        "No registry configured: set CAPISCIO_SERVER_URL or CAPISCIO_API_KEY (or log in)"
                            .into(),
                    ),
                };
            }
            let client = match c.registry.client() {
                Ok(client) => client,
                Err(e) => {
                    return Msg::CheckFinished {
                        error: Some(format!("Cannot ask the registry: {e}")),
                    };
                }
            };
            let mut s = c.scan();
            if let Some(keys) = &only {
                s.found
                    .retain(|f| keys.contains(&model::row_key(&f.identity)));
            }
            // The client bounds requests in flight (the `concurrency` setting).
            h.block_on(app::status::check_each(
                &client,
                &mut s.found,
                &c.env,
                c.now,
                |_, i| {
                    let _ = tx.send(Msg::CheckedOne(Box::new(i.clone())));
                },
            ));
            Msg::CheckFinished { error: None }
        });
    }

    fn run(&self, effect: Effect, clipboard: &mut Clipboard) {
        match effect {
            Effect::Reload => self.job(|_, c| {
                let s = c.scan();
                Msg::Loaded {
                    identities: s.found.iter().map(|f| f.identity.clone()).collect(),
                    notes: s.notes,
                }
            }),
            Effect::CheckRegistry => self.check(None),
            Effect::CheckIdentities(keys) => self.check(Some(keys)),
            Effect::NoteCapture { id } => self.job(move |_, c| {
                let _ = found_and(&c, &id, |f| {
                    app::export::note_captured(&c, f);
                    Ok(())
                });
                // The journal changed: the rotation's step list shows it.
                Msg::HomeChanged
            }),
            Effect::LoadExport { id, format } => self.job(move |_, c| {
                // A preview is not a capture: `render`, not `export`. One scan, not two.
                let scan = c.scan();
                let text = app::export::render(&c, &scan, &id, format, None)
                    .map(|e| e.text)
                    .map_err(|e| e.to_string());
                Msg::ExportText { id, format, text }
            }),
            Effect::Copy { text, what } => {
                let mut term = std::io::stdout();
                let r = clipboard.copy(&text, self.clear_after, &mut term).map(|o| {
                    format!(
                        "Copied {what} — {}",
                        o.describe().trim_start_matches("copied — ")
                    )
                });
                let _ = self.tx.send(Msg::Copied(r));
            }
            Effect::Reveal { id } => self.job(move |_, c| {
                let text = found_and(&c, &id, |f| {
                    let key = app::keys::load_key(&c, f).map_err(|e| e.to_string())?;
                    Ok(crate::core::secret::encode(f.identity.kind, &key))
                });
                Msg::Revealed { id, text }
            }),
            Effect::Fix { id } => self.job(move |_, c| {
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
            } => self.job(move |h, c| {
                Msg::Generated(generate(h, &c, kind, id, name, keyring, register))
            }),
            Effect::PlanRotation { id, mode } => self.job(move |h, c| {
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
                    h.block_on(app::rotate::plan(
                        &c,
                        f,
                        &wizard_options(&c, mode),
                        client.as_ref(),
                    ))
                    .map_err(|e| e.to_string())
                }))
            }),
            Effect::ResumeRotation { id } => self.job(move |h, c| {
                Msg::Rotated(found_and(&c, &id, |f| {
                    let client = registry_client(&c);
                    h.block_on(app::rotate::resume(&c, f, client.as_ref(), false))
                        .map_err(|e| e.to_string())
                }))
            }),
            Effect::PlanAnew {
                id,
                mode,
                new_agent,
            } => self.job(move |h, c| {
                Msg::Planned(found_and(&c, &id, |f| {
                    let client = registry_client(&c);
                    let opts = app::rotate::Options {
                        new_agent,
                        ..wizard_options(&c, mode)
                    };
                    h.block_on(app::rotate::plan(&c, f, &opts, client.as_ref()))
                        .map_err(|e| e.to_string())
                }))
            }),
            Effect::RotateWith {
                id,
                mode,
                new_agent,
            } => self.job(move |h, c| {
                Msg::Rotated(found_and(&c, &id, |f| {
                    let client = registry_client(&c);
                    let opts = app::rotate::Options {
                        new_agent,
                        ..wizard_options(&c, mode)
                    };
                    h.block_on(app::rotate::execute(&c, f, &opts, client.as_ref()))
                        .map_err(|e| e.to_string())
                }))
            }),
            Effect::RenewBadge { id, auto } => self.job(move |h, c| {
                let result = found_and(&c, &id, |f| {
                    let client = registry_client(&c).ok_or(
                        "no registry configured: set CAPISCIO_SERVER_URL and CAPISCIO_API_KEY",
                    )?;
                    h.block_on(app::badge::request(&client, f, c.now))
                        .map(|o| o.expires_at)
                        .map_err(|e| e.to_string())
                });
                Msg::BadgeRenewed { id, auto, result }
            }),
            Effect::Rollback { id } => self.job(move |_, c| {
                Msg::RolledBack(found_and(&c, &id, |f| {
                    let rb = app::rotate::rollback(&c, f).map_err(|e| e.to_string())?;
                    Ok(screens::results::rolled_back(&f.identity, &rb))
                }))
            }),
            Effect::EndGrace { id } => self.job(move |_, c| {
                Msg::GraceEnded(found_and(&c, &id, |f| {
                    // The confirmation screen asked; it says the old key goes even early.
                    let ended =
                        app::rotate::end_grace(f, c.now, true).map_err(|e| e.to_string())?;
                    Ok(screens::results::grace_ended(&f.identity, &ended))
                }))
            }),
            Effect::SaveExport { path, text, what } => self.job(move |_, c| {
                Msg::Saved(screens::results::save_export(&c.cwd, &path, &text, &what))
            }),
        }
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

/// `n`: the keyring, or "create (and register)" as `generate --register` does it.
fn generate(
    h: &tokio::runtime::Handle,
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
    let client = if register {
        Some(ctx.registry.client().map_err(|e| e.to_string())?)
    } else {
        None
    };
    let created = h
        .block_on(app::generate::create(
            ctx,
            &req,
            &key,
            String::new(),
            client.as_ref(),
        ))
        .map_err(|e| e.to_string())?;
    let msg = format!(
        "Created {} {} — press c to capture it for your secrets manager",
        kind.label(),
        created.identity.id
    );
    Ok(match created.registered {
        Some(Ok(r)) => (format!("{msg}; {}", r.message), created.identity.id),
        Some(Err(e)) => (
            format!("{msg}; registering failed: {e}"),
            created.identity.id,
        ),
        None => (msg, created.identity.id),
    })
}
