//! The TUI's state, the messages that change it and the effects it asks for (Elm style).

use crate::app::rotate::Plan;
use crate::core::export::Format;
use crate::core::identity::{Identity, Kind, Problem, Source};
use crate::core::rotation::{Journal, Mode};
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Details,
}

pub use super::screens::actions::Session;
pub use super::screens::confirm::ConfirmState;
pub use super::screens::export::{EXPORT_FORMATS, ExportState};
pub use super::screens::generate::GenerateState;
pub use super::screens::identify::IdentifyState;
pub use super::screens::log::LogState;
pub use super::screens::push::{Deployments, PushOutcome, PushState};
pub use super::screens::rotate::RotateState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Problems,
    Name,
    Expiry,
}

impl SortBy {
    pub fn next(self) -> Self {
        match self {
            Self::Problems => Self::Name,
            Self::Name => Self::Expiry,
            Self::Expiry => Self::Problems,
        }
    }

    /// The order within a group. Name: case-insensitive, then id. Badge expiry: soonest
    /// first, identities without a badge last; ties in the default order.
    pub fn order(self, a: &Identity, b: &Identity) -> std::cmp::Ordering {
        use crate::core::identity::listing_order;
        match self {
            Self::Problems => listing_order(a, b),
            Self::Name => a
                .label()
                .to_lowercase()
                .cmp(&b.label().to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
                .then_with(|| listing_order(a, b)),
            Self::Expiry => {
                let exp = |i: &Identity| i.badge.as_ref().map(|b| b.expires_at);
                match (exp(a), exp(b)) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                }
                .then_with(|| listing_order(a, b))
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Problems => "problems first",
            Self::Name => "name",
            Self::Expiry => "badge expiry",
        }
    }
}

pub enum Screen {
    Main,
    Help,
    Export(ExportState),
    Generate(GenerateState),
    Rotate(Box<RotateState>),
    Log(LogState),
    Confirm(ConfirmState),
    Push(Box<PushState>),
    Identify(IdentifyState),
}

pub struct Model {
    pub identities: Vec<Identity>,
    pub notes: Vec<Problem>,
    pub home: String,
    pub registry: String,
    pub filter: String,
    pub filtering: bool,
    pub sort: SortBy,
    pub selected: usize,
    /// An identity to highlight as soon as a reload lists it (one just created).
    pub follow: Option<String>,
    pub focus: Pane,
    pub screen: Screen,
    pub checking: bool,
    /// Registry checks asked for and not finished yet; the spinner runs while any is.
    pub checks_in_flight: u32,
    /// A registry is configured: identities a reload finds new (or with a new key) are
    /// checked with it.
    pub online: bool,
    pub spinner: usize,
    pub toast: Option<String>,
    /// Ticks the toast has been on screen; it fades after a few seconds.
    pub toast_age: u8,
    pub clipboard_left: Option<u64>,
    pub revealed: Option<(String, Zeroizing<String>)>,
    /// The fingerprint of the revealed key: hidden again when the key on disk changes.
    pub revealed_fingerprint: Option<String>,
    pub size: (u16, u16),
    pub quit: bool,
    /// The keyboard reader stopped: the UI ends as soon as no rotation is running.
    pub input_lost: bool,
    pub now: i64,
    pub clear_after: Option<u64>,
    pub mouse: bool,
    /// The main screen's scroll positions and where the last frame drew things.
    pub main: super::layout::MainView,
    /// The filter being typed (`filter` mirrors its text).
    pub filter_input: super::input::TextField,
    /// The message log, auto-renew and other state of the whole session.
    pub session: Session,
    /// Each identity's recorded push targets and what `D` last found there.
    pub deployments: Deployments,
}

pub enum Msg {
    Key(KeyEvent),
    /// Text the terminal pasted (bracketed paste): for the focused text field only.
    Paste(String),
    /// The keyboard reader stopped (the terminal sent input it could not read): quit
    /// with the terminal restored rather than run on without a keyboard.
    InputLost(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Clock tick: `now` in Unix seconds, and the clipboard's remaining seconds.
    Tick {
        now: i64,
        clipboard_left: Option<u64>,
    },
    Loaded {
        identities: Vec<Identity>,
        notes: Vec<Problem>,
    },
    /// One identity as the registry check finished it.
    CheckedOne(Box<Identity>),
    /// A registry check ended (each answer came as its own `CheckedOne`); `error` says
    /// why it could not run at all.
    CheckFinished {
        error: Option<String>,
    },
    /// The CapiscIO home changed on disk (another process, an SDK): rescan.
    HomeChanged,
    /// What clearing an OSC 52 copy did, for the status bar.
    ClipboardClearSent(String),
    /// The picker's text rendered from the key on disk, with that key's fingerprint;
    /// `copy` when it was rendered for Enter (copied only if the key is the previewed one).
    ExportText {
        id: String,
        format: Format,
        text: Result<Zeroizing<String>, String>,
        fingerprint: Option<String>,
        copy: bool,
    },
    Copied(Result<String, String>),
    ClipboardCleared {
        cleared: bool,
    },
    Revealed {
        id: String,
        text: Result<Zeroizing<String>, String>,
        /// The fingerprint of the key revealed: a reload showing another key hides it.
        fingerprint: Option<String>,
    },
    /// The message, and the id of the identity that was created (to highlight it).
    Generated(Result<(String, String), String>),
    /// What `f` repaired (a line for the status bar), or why it could not.
    Fixed(Result<String, String>),
    Planned(Result<Plan, String>),
    /// An unfinished earlier rotation found when the wizard opened.
    Resumable(Journal),
    Rotated(Result<Journal, String>),
    /// A badge request finished: the new badge's expiry, or why it failed.
    BadgeRenewed {
        id: String,
        auto: bool,
        result: Result<i64, String>,
    },
    /// What a rollback restored, or why it could not.
    RolledBack(Result<String, String>),
    /// What ending a grace period dropped, or why it could not.
    GraceEnded(Result<String, String>),
    /// Where the export was saved, or why it was not.
    Saved(Result<String, String>),
    /// Every identity's recorded push targets, read with each rescan.
    Targets(Vec<(RecordKey, Vec<crate::store::targets::Record>)>),
    /// What `deployed` found at each recorded target of one identity.
    Deployed {
        key: RecordKey,
        rows: Result<Vec<crate::app::push::Deployed>, String>,
    },
    /// A push's probes: what each target holds before anything is written.
    PushProbed {
        id: String,
        probes: Vec<(
            crate::core::target::Target,
            Result<crate::app::push::Existing, String>,
        )>,
    },
    /// A push ended: each target's outcome (successes are recorded).
    Pushed(Vec<PushOutcome>),
    /// What `identify` said about the clipboard (never its text), or why it could not read it.
    Identified(Result<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Reload,
    CheckRegistry,
    /// Check only these identities (new ones, or ones whose key changed).
    CheckIdentities(Vec<RowKey>),
    /// The key of `id` left this tool (copied): note a rotation's capture step.
    /// Only when `fingerprint` (the key copied) is the key on disk and the rotation's new key.
    NoteCapture {
        id: String,
        fingerprint: String,
    },
    LoadExport {
        id: String,
        format: Format,
    },
    /// Renders the picker's text anew from the key on disk for Enter: it is copied only
    /// when that key is still the one the preview (`fingerprint`) was made from.
    CopyExport {
        id: String,
        format: Format,
    },
    Copy {
        text: Zeroizing<String>,
        what: String,
    },
    Reveal {
        id: String,
    },
    Fix {
        id: String,
    },
    Generate {
        kind: Kind,
        id: Option<String>,
        name: Option<String>,
        keyring: bool,
        register: bool,
    },
    PlanRotation {
        id: String,
        mode: Mode,
    },
    ResumeRotation {
        id: String,
        new_agent: bool,
    },
    /// Plans a new rotation, not offering to resume an earlier one (the user chose a new one).
    PlanAnew {
        id: String,
        mode: Mode,
        new_agent: bool,
    },
    RotateWith {
        id: String,
        mode: Mode,
        new_agent: bool,
    },
    RenewBadge {
        id: String,
        auto: bool,
    },
    Rollback {
        id: String,
    },
    EndGrace {
        id: String,
    },
    /// Writes an export into a new 0600 file (never over an existing one or a symlink).
    /// Renders the export anew from the key on disk and saves it, only if that key is
    /// still the one previewed (`fingerprint`).
    SaveExport {
        path: String,
        id: String,
        format: Format,
        fingerprint: String,
        what: String,
    },
    /// Reads back every recorded target of `id` (`deployed`).
    CheckDeployed {
        id: String,
        key: RecordKey,
    },
    /// Reads what each target holds before a push (`app::push::probe`).
    ProbePush {
        id: String,
        targets: Vec<crate::core::target::Target>,
    },
    /// Writes the key to the targets decided on (`exists` for each), records successes.
    WritePush {
        id: String,
        writes: Vec<(crate::core::target::Target, bool)>,
        settled: Vec<PushOutcome>,
    },
    /// Reads the clipboard and identifies what is on it.
    IdentifyClipboard,
}

/// Which identity's push records: kind and bare id (records are kept per kind and id).
pub type RecordKey = (Kind, String);

/// Which identity a registry answer is for: kind, id and location.
pub type RowKey = (Kind, String, String);

pub fn row_key(i: &Identity) -> RowKey {
    (i.kind, i.id.clone(), i.location.clone())
}

/// One row of the identity list: a group header or an identity (index into `identities`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Header(&'static str),
    Item(usize),
}

fn group(i: &Identity) -> (u8, &'static str) {
    match (i.source, i.kind) {
        (Source::Disk, Kind::Agent) => (0, "AGENTS"),
        (Source::Disk, Kind::McpServer) => (1, "MCP SERVERS"),
        (Source::Keyring, _) => (2, "KEYRING"),
        (Source::Env, _) => (3, "ENV (this shell)"),
    }
}

impl Model {
    pub fn new(
        home: String,
        registry: String,
        clear_after: Option<u64>,
        mouse: bool,
        now: i64,
    ) -> Self {
        Self {
            identities: Vec::new(),
            notes: Vec::new(),
            home,
            registry,
            filter: String::new(),
            filtering: false,
            sort: SortBy::Problems,
            selected: 0,
            follow: None,
            focus: Pane::List,
            screen: Screen::Main,
            checking: false,
            checks_in_flight: 0,
            online: false,
            spinner: 0,
            toast: None,
            toast_age: 0,
            clipboard_left: None,
            revealed: None,
            revealed_fingerprint: None,
            size: (100, 30),
            quit: false,
            input_lost: false,
            now,
            clear_after,
            mouse,
            main: Default::default(),
            filter_input: Default::default(),
            session: Session::default(),
            deployments: Deployments::default(),
        }
    }

    fn matches(&self, i: &Identity) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let f = self.filter.to_lowercase();
        [
            Some(i.id.as_str()),
            i.name.as_deref(),
            i.registry_id.as_deref(),
            i.did.as_deref(),
            i.key_did.as_deref(),
            i.fingerprint.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|s| s.to_lowercase().contains(&f))
    }

    /// Identities in display order: by group, then within each group in the chosen order —
    /// by default the one listing order every command uses (problems first, then by name).
    pub fn visible(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.identities.len())
            .filter(|&n| self.matches(&self.identities[n]))
            .collect();
        let sort = self.sort;
        idx.sort_by(|&a, &b| {
            let (a, b) = (&self.identities[a], &self.identities[b]);
            group(a).0.cmp(&group(b).0).then_with(|| sort.order(a, b))
        });
        idx
    }

    /// The row of the identity `key` names (id, kind, source), if it is visible.
    /// The key of the highlighted identity, to find it again after the list changes.
    pub fn selection_key(&self) -> Option<(String, Kind, Source)> {
        self.current().map(|i| (i.id.clone(), i.kind, i.source))
    }

    /// Highlights `follow` when it is listed (a just-created identity), else the identity
    /// `kept` names, else keeps the row number within bounds.
    pub fn reselect(&mut self, kept: Option<(String, Kind, Source)>) {
        let visible = self.visible();
        let follow = self.follow.take();
        let pos = follow
            .as_ref()
            .and_then(|id| visible.iter().position(|&n| &self.identities[n].id == id))
            .or_else(|| kept.and_then(|k| self.position_of(&k)));
        match pos {
            Some(p) => self.selected = p,
            None => {
                if follow.is_some() {
                    // Not listed yet (a reload still to come): keep waiting for it.
                    self.follow = follow;
                }
                self.selected = self.selected.min(visible.len().saturating_sub(1));
            }
        }
    }

    pub fn position_of(&self, key: &(String, Kind, Source)) -> Option<usize> {
        self.visible().iter().position(|&n| {
            let i = &self.identities[n];
            i.id == key.0 && i.kind == key.1 && i.source == key.2
        })
    }

    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut last = None;
        for n in self.visible() {
            let g = group(&self.identities[n]);
            if last != Some(g.0) {
                rows.push(Row::Header(g.1));
                last = Some(g.0);
            }
            rows.push(Row::Item(n));
        }
        rows
    }

    pub fn current(&self) -> Option<&Identity> {
        self.visible()
            .get(self.selected)
            .map(|&n| &self.identities[n])
    }

    pub fn attention(&self) -> usize {
        crate::display::attention(&self.identities)
    }
}
