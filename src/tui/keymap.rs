//! One key table feeds both dispatch and the `?` help overlay.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Home,
    End,
    Filter,
    Sort,
    SwitchPane,
    Details,
    Copy,
    Export,
    New,
    Rotate,
    Refresh,
    Reveal,
    Fix,
    Help,
    Back,
    Quit,
    PageUp,
    PageDown,
    Badge,
    AutoRenew,
    Rollback,
    EndGrace,
    Log,
    Push,
    Deployed,
    Identify,
}

pub struct Binding {
    pub keys: &'static str,
    pub action: Action,
    pub help: &'static str,
    matches: fn(&KeyEvent) -> bool,
}

fn plain(e: &KeyEvent) -> bool {
    !e.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "↑/k",
        action: Action::Up,
        help: "move up",
        matches: |e| matches!(e.code, KeyCode::Up) || (e.code == KeyCode::Char('k') && plain(e)),
    },
    Binding {
        keys: "↓/j",
        action: Action::Down,
        help: "move down",
        matches: |e| matches!(e.code, KeyCode::Down) || (e.code == KeyCode::Char('j') && plain(e)),
    },
    Binding {
        keys: "Home/g",
        action: Action::Home,
        help: "first identity",
        matches: |e| matches!(e.code, KeyCode::Home) || (e.code == KeyCode::Char('g') && plain(e)),
    },
    Binding {
        keys: "End/G",
        action: Action::End,
        help: "last identity",
        matches: |e| matches!(e.code, KeyCode::End | KeyCode::Char('G')),
    },
    Binding {
        keys: "/",
        action: Action::Filter,
        help: "filter by id, name, DID or fingerprint",
        matches: |e| e.code == KeyCode::Char('/'),
    },
    Binding {
        keys: "s",
        action: Action::Sort,
        help: "sort by problems / name / badge expiry",
        matches: |e| e.code == KeyCode::Char('s') && plain(e),
    },
    Binding {
        keys: "Tab",
        action: Action::SwitchPane,
        help: "switch pane",
        matches: |e| matches!(e.code, KeyCode::Tab | KeyCode::BackTab),
    },
    Binding {
        keys: "Enter",
        action: Action::Details,
        help: "details",
        matches: |e| e.code == KeyCode::Enter,
    },
    Binding {
        keys: "c",
        action: Action::Copy,
        help: "copy the key for a secrets manager",
        matches: |e| e.code == KeyCode::Char('c') && plain(e),
    },
    Binding {
        keys: "e",
        action: Action::Export,
        help: "export picker",
        matches: |e| e.code == KeyCode::Char('e') && plain(e),
    },
    Binding {
        keys: "n",
        action: Action::New,
        help: "new identity",
        matches: |e| e.code == KeyCode::Char('n') && plain(e),
    },
    Binding {
        keys: "R",
        action: Action::Rotate,
        help: "rotate the key",
        matches: |e| e.code == KeyCode::Char('R'),
    },
    Binding {
        keys: "r",
        action: Action::Refresh,
        help: "refresh (and ask the registry)",
        matches: |e| e.code == KeyCode::Char('r') && plain(e),
    },
    Binding {
        keys: "v",
        action: Action::Reveal,
        help: "reveal / mask the private key",
        matches: |e| e.code == KeyCode::Char('v') && plain(e),
    },
    Binding {
        keys: "f",
        action: Action::Fix,
        help: "fix file modes or a missing public key",
        matches: |e| e.code == KeyCode::Char('f') && plain(e),
    },
    Binding {
        keys: "?",
        action: Action::Help,
        help: "this help",
        matches: |e| e.code == KeyCode::Char('?'),
    },
    Binding {
        keys: "Esc",
        action: Action::Back,
        help: "back / close",
        matches: |e| e.code == KeyCode::Esc,
    },
    Binding {
        keys: "q",
        action: Action::Quit,
        help: "quit",
        matches: |e| {
            (e.code == KeyCode::Char('q') && plain(e))
                || (e.code == KeyCode::Char('c') && e.modifiers.contains(KeyModifiers::CONTROL))
        },
    },
    Binding {
        keys: "PgUp",
        action: Action::PageUp,
        help: "a page up (list or details)",
        matches: |e| e.code == KeyCode::PageUp,
    },
    Binding {
        keys: "PgDn",
        action: Action::PageDown,
        help: "a page down (list or details)",
        matches: |e| e.code == KeyCode::PageDown,
    },
    Binding {
        keys: "b",
        action: Action::Badge,
        help: "request / renew the badge (needs a registry)",
        matches: |e| e.code == KeyCode::Char('b') && plain(e),
    },
    Binding {
        keys: "a",
        action: Action::AutoRenew,
        help: "auto-renew expiring badges while open (on/off)",
        matches: |e| e.code == KeyCode::Char('a') && plain(e),
    },
    Binding {
        keys: "u",
        action: Action::Rollback,
        help: "roll back the last rotation (asks first)",
        matches: |e| e.code == KeyCode::Char('u') && plain(e),
    },
    Binding {
        keys: "E",
        action: Action::EndGrace,
        help: "end the grace period of the old key (asks)",
        matches: |e| e.code == KeyCode::Char('E'),
    },
    Binding {
        keys: "L",
        action: Action::Log,
        help: "message log of this session",
        matches: |e| e.code == KeyCode::Char('L'),
    },
    Binding {
        keys: "p",
        action: Action::Push,
        help: "push the key to a secrets manager (picker)",
        matches: |e| e.code == KeyCode::Char('p') && plain(e),
    },
    Binding {
        keys: "D",
        action: Action::Deployed,
        help: "check which key each push target holds",
        matches: |e| e.code == KeyCode::Char('D'),
    },
    Binding {
        keys: "i",
        action: Action::Identify,
        help: "identify the key on the clipboard",
        matches: |e| e.code == KeyCode::Char('i') && plain(e),
    },
];

/// Ctrl-C is checked before `c`: the table is searched for quit first.
pub fn action(e: &KeyEvent) -> Option<Action> {
    if e.code == KeyCode::Char('c') && e.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::Quit);
    }
    BINDINGS.iter().find(|b| (b.matches)(e)).map(|b| b.action)
}
