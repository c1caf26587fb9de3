//! Every screen and dialog rendered with ratatui's TestBackend (fixed clock, seeded keys)
//! and compared with the committed snapshots in tests/snapshots/. No real secret appears
//! in any of them: previews are masked, and a test checks it.

use capiscio_tui::core::badge::BadgeState;
use capiscio_tui::core::identity::*;
use capiscio_tui::core::key::KeyPair;
use capiscio_tui::core::rotation::{self, ImpactInput, Journal, Mode, StepId, StepState};
use capiscio_tui::tui::model::*;
use capiscio_tui::tui::theme::{Theme, ThemeName};
use capiscio_tui::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use zeroize::Zeroizing;

const NOW: i64 = 1_795_000_000;

fn key(n: u8) -> KeyPair {
    KeyPair::from_seed(&[n; 32])
}

fn identity(n: u8, id: &str, name: Option<&str>, kind: Kind, source: Source) -> Identity {
    let k = key(n);
    Identity {
        id: id.into(),
        kind,
        source,
        location: format!("/home/dev/.capiscio/keys/{id}"),
        name: name.map(str::to_string),
        registry_id: None,
        did: Some(k.public().did_key()),
        key_did: Some(k.public().did_key()),
        fingerprint: Some(k.public().fingerprint()),
        effective: true,
        badge: None,
        problems: vec![],
        files: vec![
            FileInfo {
                name: "private.jwk".into(),
                path: String::new(),
                mode: Some("0600".into()),
                symlink: false,
            },
            FileInfo {
                name: "public.jwk".into(),
                path: String::new(),
                mode: Some("0644".into()),
                symlink: false,
            },
        ],
        shadows: None,
        shadowed_by: None,
        registry: None,
    }
}

fn badge(state: BadgeState, expires_in: i64) -> BadgeInfo {
    BadgeInfo {
        jti: "550e8400-e29b-41d4-a716-446655440000".into(),
        iss: "https://registry.capisc.io".into(),
        sub: "did:web:registry.capisc.io:agents:4b7c7f4e".into(),
        trust_level: Some("1".into()),
        ial: Some("0".into()),
        issued_at: NOW - 60,
        expires_at: NOW + expires_in,
        state,
        reason: None,
    }
}

fn model() -> Model {
    let mut m = Model::new(
        "/home/dev/.capiscio".into(),
        "registry.capisc.io (API key sk_l…(32 chars) from keyring)".into(),
        Some(30),
        true,
        NOW,
    );
    let mut billing = identity(
        1,
        "4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f",
        Some("billing-agent"),
        Kind::Agent,
        Source::Disk,
    );
    billing.badge = Some(badge(BadgeState::Valid, 252));
    billing.registry = Some(RegistryInfo {
        url: "https://registry.capisc.io".into(),
        registered: Some(true),
        did: None,
        name: Some("billing-agent".into()),
        status: Some("active".into()),
        error: None,
    });
    let mut search = identity(
        2,
        "5c8d8a5f-2e7d-4b66-8b4f-2b3c4d5e6f70",
        Some("search-agent"),
        Kind::Agent,
        Source::Disk,
    );
    // Under a fifth of its lifetime left: expiring.
    search.badge = Some(BadgeInfo {
        issued_at: NOW - 3600,
        ..badge(BadgeState::Expiring, 40)
    });
    let mut old = identity(
        3,
        "6d9e9b60-3f8e-4c77-9c50-3c4d5e6f7081",
        Some("old-agent"),
        Kind::Agent,
        Source::Disk,
    );
    old.badge = Some(badge(BadgeState::Expired, -600));
    old.problems.push(Problem::warning(
        Code::BadgeExpired,
        "badge 550e8400… expired",
        "request a new badge",
    ));
    let mut mine = identity(4, "my-agent-001", None, Kind::Agent, Source::Disk);
    mine.effective = false;
    mine.problems.push(Problem::error(
        Code::InsecurePermissions,
        "private.jwk is readable by other users (mode 0644)",
        "chmod 600 /home/dev/.capiscio/keys/my-agent-001/private.jwk",
    ));
    mine.problems.push(Problem::warning(
        Code::NotDiscoverable,
        "directory name `my-agent-001` is not a UUID: the SDK's local discovery skips it",
        "pass agent_id explicitly",
    ));
    let files = identity(5, "files-mcp", None, Kind::McpServer, Source::Disk);
    let mut ci = identity(6, "ci-agent", None, Kind::Agent, Source::Keyring);
    ci.location = "keyring:secret-service".into();
    ci.effective = false;
    ci.problems.push(Problem::warning(
        Code::KeyringOnly,
        "the private key is only in the OS keyring",
        "keyring export --to-disk",
    ));
    let mut env = identity(
        7,
        "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK",
        None,
        Kind::Agent,
        Source::Env,
    );
    env.shadows = Some("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f".into());
    env.location = "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK".into();
    env.problems.push(Problem::error(
        Code::EnvShadowsDisk,
        "injects a different key than 4b7c7f4e… on disk",
        "unset it",
    ));
    m.identities = vec![billing, search, old, mine, files, ci, env];
    m
}

fn render(m: &Model, w: u16, h: u16) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::draw(f, m, &Theme::new(Some(ThemeName::Mono))))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let secret_seeds = (1..=7u8).map(|n| capiscio_tui::core::b64::url_encode(key(n).seed()));
    for s in secret_seeds {
        assert!(!out.contains(&s), "a private key leaked into a screen");
    }
    out
}

#[test]
fn main_screen() {
    insta::assert_snapshot!("main", render(&model(), 110, 30));
}

#[test]
fn setup_problems_show_under_the_header() {
    let mut m = model();
    m.identities.clear();
    m.notes = vec![
        Problem::error(
            Code::Unreadable,
            "cannot open /home/dev/.capiscio: Permission denied (os error 13); no identity stored in it is shown",
            "give your user access again (`ls -ld /home/dev/.capiscio`)",
        ),
        Problem::warning(
            Code::TildeInKeyDir,
            "CAPISCIO_KEY_DIR=~/keys starts with `~`: the SDK does not expand it",
            "set CAPISCIO_KEY_DIR to an absolute path",
        ),
    ];
    let screen = render(&m, 110, 24);
    assert!(screen.contains("No identities could be read"), "{screen}");
    assert!(!screen.contains("press n to create one"), "{screen}");
    insta::assert_snapshot!("setup_notes", screen);
}

#[test]
fn details_of_an_identity_with_problems() {
    let mut m = model();
    m.selected = m
        .visible()
        .iter()
        .position(|&n| m.identities[n].id == "my-agent-001")
        .unwrap();
    m.focus = Pane::Details;
    insta::assert_snapshot!("details_problems", render(&m, 110, 30));
}

#[test]
fn filtered_list() {
    let mut m = model();
    m.filter = "search".into();
    m.filter_input = capiscio_tui::tui::input::TextField::new("search");
    m.filtering = true;
    insta::assert_snapshot!("filtered", render(&m, 100, 24));
}

#[test]
fn help_overlay() {
    let mut m = model();
    m.screen = Screen::Help;
    insta::assert_snapshot!("help", render(&m, 100, 30));
}

#[test]
fn export_picker_is_masked() {
    let mut m = model();
    let k = key(1);
    let text = capiscio_tui::core::export::render(
        capiscio_tui::core::export::Format::Env,
        &capiscio_tui::core::export::Request {
            key: &k,
            target: capiscio_tui::core::export::Target::Agent,
            label: "billing-agent",
        },
    );
    m.screen = Screen::Export(ExportState {
        text: Some(Zeroizing::new(text.to_string())),
        ..ExportState::new("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f", "billing-agent")
    });
    insta::assert_snapshot!("export_picker", render(&m, 110, 30));
}

#[test]
fn generate_dialog() {
    let mut m = model();
    m.screen = Screen::Generate(GenerateState {
        kind: Kind::McpServer,
        id: capiscio_tui::tui::input::TextField::new("files-mcp-2"),
        keyring: true,
        field: 1,
        ..GenerateState::default()
    });
    insta::assert_snapshot!("generate", render(&m, 100, 30));
}

fn rotate_state(m: &Model) -> RotateState {
    let id = &m.identities[0];
    let consequences = rotation::analyze(&ImpactInput {
        identity: id,
        old: *key(1).public(),
        mode: Mode::Planned,
        grace_days: 7,
        env_old: vec!["CAPISCIO_AGENT_PRIVATE_KEY_JWK".into()],
        file_hits: vec![rotation::FileHit {
            path: "./deploy/.env".into(),
            line: 3,
            what: "private key (JWK d)".into(),
            private: true,
        }],
        card_lists_old: true,
        card_exists: true,
        registry: rotation::RegistryFact::HoldsOld,
        new_agent: false,
        can_reach_registry: true,
        has_api_key: true,
        archive_dir: "archive/20261126T000000Z-21fe31dfa154a261".into(),
        now: NOW,
    });
    RotateState {
        plan: Some(capiscio_tui::app::rotate::Plan {
            id: id.id.clone(),
            kind: Kind::Agent,
            mode: Mode::Planned,
            old_did: key(1).public().did_key(),
            consequences,
            file_hits: vec![],
        }),
        typed: capiscio_tui::tui::input::TextField::new("4b7c"),
        ..RotateState::new(&id.id, id.label(), id.kind, vec![id.id.clone()])
    }
}

#[test]
fn rotation_impact() {
    let mut m = model();
    m.screen = Screen::Rotate(Box::new(rotate_state(&m)));
    insta::assert_snapshot!("rotate_impact", render(&m, 120, 30));
}

#[test]
fn rotation_walkthrough() {
    let mut m = model();
    let mut st = rotate_state(&m);
    let mut j = Journal::new(
        &st.id,
        Kind::Agent,
        "/home/dev/.capiscio/keys/x",
        Mode::Planned,
        NOW,
        key(1).public(),
        7,
        None,
        "env",
    );
    j.new_did = Some(key(9).public().did_key());
    for (s, state) in [
        (StepId::ReviewImpact, StepState::Done),
        (
            StepId::ReplaceEnv,
            StepState::Pending(Some(
                "CAPISCIO_AGENT_PRIVATE_KEY_JWK injects the old key".into(),
            )),
        ),
        (StepId::ArchiveAndGenerate, StepState::Done),
        (
            StepId::Register,
            StepState::Failed("HTTP 409: the registry keeps the old key".into()),
        ),
        (
            StepId::NewBadge,
            StepState::Pending(Some("after register".into())),
        ),
        (StepId::Capture, StepState::Pending(None)),
        (StepId::Verify, StepState::Skipped("offline".into())),
    ] {
        j.set(s, state, NOW);
    }
    st.journal = Some(j);
    m.screen = Screen::Rotate(Box::new(st));
    insta::assert_snapshot!("rotate_steps", render(&m, 120, 30));
}

#[test]
fn too_small_terminal() {
    insta::assert_snapshot!("too_small", render(&model(), 60, 20));
}

#[test]
fn status_bar_countdown_and_toast() {
    let mut m = model();
    m.clipboard_left = Some(23);
    let counting = render(&m, 100, 24);
    assert!(counting.contains("clipboard clears in 23s"), "{counting}");
    m.toast = Some("Copied env for billing-agent — clears in 30s".into());
    assert!(render(&m, 100, 24).contains("Copied env for billing-agent — clears in 23s"));
}

/// README screenshots: `CAPISCIO_TUI_WRITE_ASSETS=1 cargo test --test tui_snapshots` renders
/// the real screens (colour theme) into assets/*.svg.
#[test]
fn screenshots_for_the_readme() {
    let write = std::env::var_os("CAPISCIO_TUI_WRITE_ASSETS").is_some();
    let mut shots: Vec<(&str, Model)> = vec![("screen-main", model())];
    let mut m = model();
    let k = key(1);
    let text = capiscio_tui::core::export::render(
        capiscio_tui::core::export::Format::K8s,
        &capiscio_tui::core::export::Request {
            key: &k,
            target: capiscio_tui::core::export::Target::Agent,
            label: "billing-agent",
        },
    );
    m.selected = 2;
    m.screen = Screen::Export(ExportState {
        selected: 2,
        text: Some(Zeroizing::new(text.to_string())),
        ..ExportState::new("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f", "billing-agent")
    });
    shots.push(("screen-export", m));
    let mut m = model();
    m.screen = Screen::Rotate(Box::new(rotate_state(&m)));
    shots.push(("screen-rotate", m));
    for (name, m) in shots {
        let svg = svg(&m, 120, 30);
        assert!(svg.starts_with("<svg"));
        for n in 1..=7u8 {
            assert!(!svg.contains(&capiscio_tui::core::b64::url_encode(key(n).seed())));
        }
        if write {
            std::fs::create_dir_all("assets").unwrap();
            std::fs::write(format!("assets/{name}.svg"), svg).unwrap();
        }
    }
}

fn svg(m: &Model, w: u16, h: u16) -> String {
    use ratatui::style::{Color, Modifier};
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::draw(f, m, &Theme::new(Some(ThemeName::Dark))))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let hex = |c: Color, default: &str| -> String {
        match c {
            Color::Red => "#ff6b6b".into(),
            Color::Green => "#69d08b".into(),
            Color::Yellow => "#f2c94c".into(),
            Color::Cyan => "#56c7e0".into(),
            Color::Blue => "#6aa5ff".into(),
            Color::DarkGray => "#7c8591".into(),
            Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
            _ => default.into(),
        }
    };
    let (cw, ch) = (8.4_f64, 17.0_f64);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"DejaVu Sans Mono, Menlo, monospace\" font-size=\"14\">\n<rect width=\"100%\" height=\"100%\" fill=\"#1e2127\"/>\n",
        (f64::from(w) * cw) as u32 + 16,
        (f64::from(h) * ch) as u32 + 16
    );
    for y in 0..h {
        for x in 0..w {
            let cell = &buf[(x, y)];
            let sym = cell.symbol();
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let fg = hex(cell.fg, "#d7dae0");
            let (px, py) = (8.0 + f64::from(x) * cw, 8.0 + f64::from(y) * ch);
            if reversed {
                // A little wider than a cell, so neighbours overlap instead of leaving
                // hairline gaps in a highlighted row.
                let w = cw + 0.6;
                out.push_str(&format!("<rect x=\"{px:.1}\" y=\"{py:.1}\" width=\"{w:.1}\" height=\"{ch:.1}\" fill=\"{fg}\"/>"));
            }
            if sym.trim().is_empty() {
                continue;
            }
            let esc = sym
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            let color = if reversed { "#1e2127".to_string() } else { fg };
            let weight = if cell.modifier.contains(Modifier::BOLD) {
                " font-weight=\"bold\""
            } else {
                ""
            };
            out.push_str(&format!(
                "<text x=\"{px:.1}\" y=\"{:.1}\" fill=\"{color}\"{weight}>{esc}</text>",
                py + ch * 0.78
            ));
        }
        out.push('\n');
    }
    out.push_str("</svg>\n");
    out
}

/// The sizes the issue asks every main screen and dialog to be checked at.
const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

/// An identity with many problems (and a key that cannot be loaded): details must scroll.
fn troubled(m: &mut Model) {
    let mut bad = identity(
        8,
        "7e0f0c71-4a9f-4d88-8d61-4d5e6f708192",
        Some("a-rather-long-agent-name-that-does-not-fit-at-eighty-columns"),
        Kind::Agent,
        Source::Disk,
    );
    bad.badge = Some(badge(BadgeState::Revoked, 3600));
    bad.problems = vec![
        Problem::error(
            Code::MalformedKey,
            "private.jwk: expected value at line 1 column 1",
            "restore private.jwk from your secrets manager or a backup",
        ),
        Problem::error(
            Code::InsecurePermissions,
            "private.jwk is readable by other users (mode 0644)",
            "chmod 600 /home/dev/.capiscio/keys/7e0f0c71-4a9f-4d88-8d61-4d5e6f708192/private.jwk",
        ),
        Problem::error(
            Code::BadgeRevoked,
            "the registry revoked badge 550e8400…",
            "request a new badge: capiscio-tui badge request",
        ),
        Problem::warning(
            Code::KidMismatch,
            "private.jwk kid is missing",
            "set kid to the key DID shown by `capiscio-tui show 7e0f0c71`",
        ),
        Problem::warning(
            Code::Leftover,
            "private.jwk.tmp-1234 is left over from an interrupted write",
            "remove it once you have checked it holds nothing you need",
        ),
    ];
    m.identities.push(bad);
    m.selected = m
        .visible()
        .iter()
        .position(|&n| m.identities[n].id.starts_with("7e0f0c71"))
        .unwrap();
    m.focus = Pane::Details;
}

#[test]
fn main_screen_at_three_sizes() {
    for (w, h) in SIZES {
        let screen = render(&model(), w, h);
        assert!(
            screen.contains("7 identities ─ 4 need attention"),
            "{screen}"
        );
        insta::assert_snapshot!(format!("main_{w}x{h}"), screen);
    }
}

#[test]
fn details_with_many_problems_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model();
        troubled(&mut m);
        let screen = render(&m, w, h);
        assert!(
            !screen.contains("(v reveal)"),
            "a key that cannot load: {screen}"
        );
        insta::assert_snapshot!(format!("details_problems_{w}x{h}"), screen);
    }
}

/// At 80×24 the Problems section is below the pane; scrolling brings it into view, and
/// continuation lines hang under their value instead of starting at column 0.
#[test]
fn details_scroll_to_the_problems_at_80x24() {
    let mut m = model();
    troubled(&mut m);
    let top = render(&m, 80, 24);
    assert!(!top.contains("leftover"), "{top}");
    assert!(top.contains("↓ more"), "{top}");
    m.main.details_scroll = u16::MAX;
    m.main.details_for = m.current().map(|i| i.id.clone());
    let bottom = render(&m, 80, 24);
    assert!(bottom.contains("leftover"), "{bottom}");
    assert!(bottom.contains("fix: remove it"), "{bottom}");
    // Continuation lines hang under their text: every line of the Problems section at
    // the pane's edge starts a problem (a glyph), never the middle of a sentence.
    // Scrolled to the end, the whole pane is the Problems section.
    let section: Vec<&str> = bottom
        .lines()
        .skip(2)
        .take_while(|l| !l.contains('└'))
        .collect();
    assert!(section.len() > 5, "{bottom}");
    for line in &section {
        let pane: String = line.chars().skip(45).collect();
        let first = pane.chars().next().unwrap_or(' ');
        assert!(
            matches!(first, ' ' | '✖' | '▲'),
            "a wrapped line starts at the pane's edge: {line}\n{bottom}"
        );
    }
    insta::assert_snapshot!("details_scrolled_80x24", bottom);
}

#[test]
fn export_picker_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model();
        let k = key(1);
        let text = capiscio_tui::core::export::render(
            capiscio_tui::core::export::Format::Env,
            &capiscio_tui::core::export::Request {
                key: &k,
                target: capiscio_tui::core::export::Target::Agent,
                label: "billing-agent",
            },
        );
        m.screen = Screen::Export(ExportState {
            text: Some(Zeroizing::new(text.to_string())),
            ..ExportState::new("4b7c7f4e-1d6c-4a55-9a3e-1a2b3c4d5e6f", "billing-agent")
        });
        insta::assert_snapshot!(format!("export_picker_{w}x{h}"), render(&m, w, h));
    }
}

#[test]
fn wizard_at_three_sizes() {
    for (w, h) in SIZES {
        let mut m = model();
        m.screen = Screen::Rotate(Box::new(rotate_state(&m)));
        insta::assert_snapshot!(format!("rotate_impact_{w}x{h}"), render(&m, w, h));
    }
}

/// Every list row stays in its column: names are cut with `…`, nothing runs into the
/// details pane, at every size.
#[test]
fn list_rows_never_spill_into_the_details() {
    for (w, h) in SIZES {
        let mut m = model();
        troubled(&mut m);
        m.focus = Pane::List;
        let screen = render(&m, w, h);
        let list_w = (w as usize * 55) / 100;
        for line in screen.lines().skip(1) {
            let chars: Vec<char> = line.chars().collect();
            if chars.len() > list_w && chars.first() == Some(&'│') {
                assert_eq!(chars[list_w - 1], '│', "row spills at {w}×{h}: {line}");
            }
        }
        if w == 80 {
            assert!(
                screen.contains("a-rather-long-agent-name…") || screen.contains("…"),
                "{screen}"
            );
        }
    }
}
