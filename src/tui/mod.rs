//! The interactive terminal UI: identities at a glance, export to the clipboard, new
//! identities, guided rotation. A thin shell over `app/`: it draws the same `Identity`
//! values `--json` prints. The draw loop never waits on disk, keyring, clipboard or
//! network: slow work runs on threads and comes back as messages.

pub mod clock;
pub mod input;
mod jobs;
pub mod keymap;
pub mod layout;
pub mod live;
pub mod main_view;
pub mod model;
pub mod paste;
mod push;
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
use ratatui::crossterm::event::{
    self, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event,
};
use ratatui::crossterm::execute;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
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
        let _ = execute!(std::io::stdout(), DisableBracketedPaste);
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
    /// Registry checks run one at a time (each bounded by `concurrency`); asks arriving
    /// meanwhile are merged into one that runs next.
    checks: Arc<Mutex<jobs::Queue<jobs::Wanted>>>,
    /// Rescans run one at a time; changes arriving meanwhile cause exactly one more.
    reloads: Arc<Mutex<jobs::Queue<()>>>,
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
    model.deployments.records = push::records(&ctx, &scan).into_iter().collect();
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
        checks: Default::default(),
        reloads: Default::default(),
    };

    let mut terminal = ratatui::init();
    let _guard = Guard { mouse: opts.mouse };
    quiet_input_panics();
    // Pasted text arrives as one `Paste`, never as keys that could act.
    let _ = execute!(std::io::stdout(), EnableBracketedPaste);
    if opts.mouse {
        let _ = execute!(std::io::stdout(), EnableMouseCapture);
    }
    let size = terminal.size()?;
    update::update(&mut model, Msg::Resize(size.width, size.height));
    let input_lost = spawn_input(tx.clone());
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
    // The UI ended because the keyboard could not be read: an error, said after the
    // terminal was restored.
    if let Some(why) = input_lost.lock().ok().and_then(|mut w| w.take()) {
        anyhow::bail!("the UI stopped: {why}");
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
        let busy = model.checking || screens::push::working(model);
        let every = Duration::from_millis(if busy { 120 } else { 1000 });
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

/// The keyboard reader's thread: its panics are caught and reported (below), so the
/// panic hook must not restore the terminal under the running UI for them.
const INPUT_THREAD: &str = "capiscio-tui-input";

/// ratatui's hook restores the terminal on any panic. A panic of the input thread is
/// caught there and ends the UI in order (`InputLost`), so the hook stays out of it.
fn quiet_input_panics() {
    let inner = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some(INPUT_THREAD) {
            inner(info);
        }
    }));
}

/// Reads the terminal on a thread of its own. If the reader fails or panics (crossterm
/// 0.29's mouse parser panics on some malformed reports in builds with overflow checks),
/// it cannot be trusted to read on: the UI is told to quit, and why is kept for stderr.
fn spawn_input(tx: Sender<Msg>) -> Arc<Mutex<Option<String>>> {
    let lost = Arc::new(Mutex::new(None));
    let lost_in = lost.clone();
    let tx_in = tx.clone();
    let spawned = std::thread::Builder::new()
        .name(INPUT_THREAD.into())
        .spawn(move || {
            let tx = tx_in;
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                loop {
                    let msg = match event::read() {
                        // Test hook (debug builds): F12 makes the reader panic, as
                        // crossterm's parser can on a malformed report.
                        #[cfg(debug_assertions)]
                        Ok(Event::Key(k))
                            if k.code == event::KeyCode::F(12)
                                && std::env::var_os("CAPISCIO_TUI_TEST_INPUT_PANIC").is_some() =>
                        {
                            panic!("forced input panic (CAPISCIO_TUI_TEST_INPUT_PANIC)")
                        }
                        Ok(Event::Key(k)) => Msg::Key(k),
                        Ok(Event::Mouse(m)) => Msg::Mouse(m),
                        Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                        Ok(Event::Paste(text)) => Msg::Paste(text),
                        Ok(_) => continue,
                        Err(e) => return Some(format!("cannot read the terminal: {e}")),
                    };
                    if tx.send(msg).is_err() {
                        return None;
                    }
                }
            }));
            let why = match read {
                Ok(why) => why,
                Err(p) => Some(format!(
                    "the terminal sent input that could not be read ({}); the keyboard would no longer work",
                    p.downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".into())
                )),
            };
            if let Some(why) = why {
                if let Ok(mut l) = lost_in.lock() {
                    *l = Some(why.clone());
                }
                let _ = tx.send(Msg::InputLost(why));
            }
        });
    if let Err(e) = spawned {
        let why = format!("cannot start the keyboard reader: {e}");
        if let Ok(mut l) = lost.lock() {
            *l = Some(why.clone());
        }
        let _ = tx.send(Msg::InputLost(why));
    }
    lost
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
    /// comes back as its own `CheckedOne` as soon as it arrives, then `CheckFinished`
    /// (one per ask, also for asks merged into one check).
    fn check(&self, only: Option<Vec<model::RowKey>>) {
        let wanted = jobs::Wanted::from(only);
        let Some(first) = jobs::start(&self.checks, wanted) else {
            return;
        };
        let Some(rt) = self.rt.as_ref() else { return };
        let (tx, ctx, clock, h) = (
            self.tx.clone(),
            self.ctx.clone(),
            self.clock.clone(),
            rt.handle().clone(),
        );
        let queue = self.checks.clone();
        rt.spawn_blocking(move || {
            let _turn = jobs::Turn(queue.clone());
            let mut next = Some(first);
            while let Some((wanted, asks)) = next {
                let mut c = ctx.clone();
                c.now = clock.now();
                let error = check_once(&h, &c, wanted.keys(), &tx);
                for _ in 0..asks {
                    let _ = tx.send(Msg::CheckFinished {
                        error: error.clone(),
                    });
                }
                next = jobs::next(&queue);
            }
        });
    }

    /// Rescans the home, one rescan at a time: a reload asked for while one runs makes
    /// that one run once more when it ends (with whatever changed meanwhile).
    fn reload(&self) {
        if jobs::start(&self.reloads, ()).is_none() {
            return;
        }
        let Some(rt) = self.rt.as_ref() else { return };
        let (tx, ctx, clock) = (self.tx.clone(), self.ctx.clone(), self.clock.clone());
        let queue = self.reloads.clone();
        rt.spawn_blocking(move || {
            let _turn = jobs::Turn(queue.clone());
            let mut next = Some(((), 1));
            while next.is_some() {
                let mut c = ctx.clone();
                c.now = clock.now();
                #[cfg(debug_assertions)]
                jobs::trace_scan("start");
                let s = c.scan();
                #[cfg(debug_assertions)]
                jobs::trace_scan("end");
                let _ = tx.send(Msg::Targets(push::records(&c, &s)));
                let _ = tx.send(Msg::Loaded {
                    identities: s.found.iter().map(|f| f.identity.clone()).collect(),
                    notes: s.notes,
                });
                next = jobs::next(&queue);
            }
        });
    }

    fn run(&self, effect: Effect, clipboard: &mut Clipboard) {
        match effect {
            Effect::Reload => self.reload(),
            Effect::CheckRegistry => self.check(None),
            Effect::CheckIdentities(keys) => self.check(Some(keys)),
            Effect::NoteCapture { id, fingerprint } => self.job(move |_, c| {
                let _ = found_and(&c, &id, |f| {
                    // The copied key must be the key on disk (and, checked there, the
                    // rotation's new key): an old key copied is no capture of the new one.
                    if f.public.as_ref().map(|p| p.fingerprint()) == Some(fingerprint) {
                        app::export::note_captured(&c, f);
                    }
                    Ok(())
                });
                // The journal changed: the rotation's step list shows it.
                Msg::HomeChanged
            }),
            Effect::LoadExport { id, format } => self.export_text(id, format, false),
            Effect::CopyExport { id, format } => self.export_text(id, format, true),
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
                let mut fingerprint = None;
                let text = found_and(&c, &id, |f| {
                    let key = app::keys::load_key(&c, f).map_err(|e| e.to_string())?;
                    fingerprint = Some(key.public().fingerprint());
                    Ok(crate::core::secret::encode(f.identity.kind, &key))
                });
                Msg::Revealed {
                    id,
                    text,
                    fingerprint,
                }
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
            Effect::ResumeRotation { id, new_agent } => self.job(move |h, c| {
                Msg::Rotated(found_and(&c, &id, |f| {
                    let client = registry_client(&c);
                    h.block_on(app::rotate::resume(&c, f, client.as_ref(), new_agent))
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
            Effect::SaveExport {
                path,
                id,
                format,
                fingerprint,
                what,
            } => self.job(move |_, c| {
                let scan = c.scan();
                Msg::Saved(match app::export::render(&c, &scan, &id, format, None) {
                    Err(e) => Err(e.to_string()),
                    // The key was rotated since the preview: never save the old one.
                    Ok(e) if e.fingerprint != fingerprint => Err(
                        "the key changed on disk since the preview (rotated?): nothing saved — the picker shows the new key; save again"
                            .into(),
                    ),
                    Ok(e) => app::save::save_export(&c.cwd, &path, &e.text, &what),
                })
            }),
            Effect::CheckDeployed { id, key } => {
                self.job(move |_, c| push::check_deployed(&c, &id, key))
            }
            Effect::ProbePush { id, targets } => {
                self.job(move |_, c| push::probe(&c, id, targets))
            }
            Effect::WritePush {
                id,
                writes,
                settled,
            } => self.job(move |_, c| push::write(&c, &id, writes, settled)),
            Effect::IdentifyClipboard => self.job(move |_, c| {
                // The same cap as `identify` on stdin.
                Msg::Identified(crate::clipboard::read_text().and_then(|text| {
                    if text.len() > crate::core::pasted::MAX_INPUT {
                        return Err(format!(
                            "the clipboard holds {} bytes, more than identify reads ({} bytes): not a key",
                            text.len(),
                            crate::core::pasted::MAX_INPUT
                        ));
                    }
                    let report = app::identify::identify(&c, text.as_bytes());
                    Ok(crate::display::identify::describe(&report))
                }))
            }),
        }
    }
}

impl Runtime {
    /// The picker's text from the key on disk now, with that key's fingerprint. A preview
    /// is not a capture: `render`, not `export`. One scan, not two.
    fn export_text(&self, id: String, format: Format, copy: bool) {
        self.job(move |_, c| {
            let scan = c.scan();
            let (text, fingerprint) = match app::export::render(&c, &scan, &id, format, None) {
                Ok(e) => (Ok(e.text), Some(e.fingerprint)),
                Err(e) => (Err(e.to_string()), None),
            };
            Msg::ExportText {
                id,
                format,
                text,
                fingerprint,
                copy,
            }
        })
    }
}

/// One registry check; `Some(why)` when it could not run at all.
fn check_once(
    h: &tokio::runtime::Handle,
    c: &Context,
    only: Option<&[model::RowKey]>,
    tx: &Sender<Msg>,
) -> Option<String> {
    if !c.online_by_default() {
        return Some(
            "No registry configured: set CAPISCIO_SERVER_URL or CAPISCIO_API_KEY (or log in)"
                .into(),
        );
    }
    let client = match c.registry.client() {
        Ok(client) => client,
        Err(e) => return Some(format!("Cannot ask the registry: {e}")),
    };
    let mut s = c.scan();
    if let Some(keys) = only {
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
    None
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
