//! Badge times come from files, env vars and registry replies: any i64 at all. Every
//! function that does arithmetic on them must be total — no overflow panic (debug) and
//! no wrapped nonsense (release) — from the claims to the cells, the CLI text and the
//! UI's frame and auto-renew.

use capiscio_tui::cli::render;
use capiscio_tui::core::badge::{self, BadgeState};
use capiscio_tui::core::identity::{BadgeInfo, Identity, Kind, Source};
use capiscio_tui::core::{ids, rotation, status};
use capiscio_tui::display;
use capiscio_tui::tui::model::Model;
use capiscio_tui::tui::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const EXTREMES: [i64; 9] = [
    i64::MIN,
    i64::MIN + 1,
    -9_223_372_036_854_775_000,
    -1,
    0,
    1,
    1_733_788_800,
    i64::MAX - 1,
    i64::MAX,
];

fn time() -> impl Strategy<Value = i64> {
    prop_oneof![
        proptest::sample::select(EXTREMES.to_vec()),
        any::<i64>(),
        -10_000_000_000i64..10_000_000_000,
    ]
}

const STATES: [BadgeState; 5] = [
    BadgeState::Valid,
    BadgeState::Expiring,
    BadgeState::Unverified,
    BadgeState::Expired,
    BadgeState::SignatureInvalid,
];

fn identity(iat: i64, exp: i64, state: BadgeState) -> Identity {
    let mut i = Identity::new("aaa", Kind::Agent, Source::Disk, "/x/keys/aaa");
    i.name = Some("Extreme".into());
    i.badge = Some(BadgeInfo {
        jti: "j-1".into(),
        iss: "https://registry.example".into(),
        sub: "did:web:registry.example:agents:aaa".into(),
        trust_level: Some("1".into()),
        ial: None,
        issued_at: iat,
        expires_at: exp,
        state,
        reason: None,
    });
    i
}

/// Everything a badge's times reach, at one `now`.
fn exercise(iat: i64, exp: i64, now: i64, state: BadgeState) {
    let _ = ids::relative(exp, now);
    let _ = ids::relative(iat, now);
    let _ = ids::duration(exp);
    let _ = ids::rfc3339(exp);
    let _ = ids::rfc3339(iat);
    let _ = badge::is_expired(exp, now);
    let _ = badge::lifetime_state(iat, exp, now);

    let mut i = identity(iat, exp, state);
    let b = i.badge.clone().unwrap();
    let _ = display::badge_state(&b, now);
    let cell = display::badge_cell(&i, now);
    let _ = (cell.words(), cell.short(), cell.glyph(), cell.tone());
    let _ = status::retime(&mut i, now);
    let all = [i.clone()];
    let show = render::show(&i, now);
    assert!(show.contains("Extreme"), "{show}");
    let _ = render::list_table(&all, &[], now);
    let _ = render::status(&all, "none", now);
    let mut cons = vec![rotation::Consequence {
        severity: rotation::Impact::Warning,
        code: "badge-invalidated".into(),
        message: "x stops verifying for the new one.".into(),
    }];
    rotation::retime_consequences(&mut cons, &b, now);

    // The UI: auto-renew's choice, and a whole frame with the badge selected.
    let mut m = Model::new("/x".into(), "http://127.0.0.1:1".into(), None, false, now);
    m.identities = all.to_vec();
    m.session.auto_renew = true;
    let _ = capiscio_tui::tui::screens::actions::on_tick(&mut m);
    let mut term = Terminal::new(TestBackend::new(120, 35)).unwrap();
    term.draw(|f| capiscio_tui::tui::view::draw(f, &m, &Theme::new(None)))
        .unwrap();
}

#[test]
fn the_reported_claims_and_every_extreme_pair() {
    for iat in EXTREMES {
        for exp in EXTREMES {
            for now in EXTREMES {
                for s in STATES {
                    exercise(iat, exp, now, s);
                }
            }
        }
    }
}

#[test]
fn relative_says_the_right_thing_at_the_ends() {
    assert!(ids::relative(i64::MAX, i64::MIN).starts_with("in "));
    assert!(ids::relative(i64::MIN, i64::MAX).ends_with(" ago"));
    assert_eq!(ids::relative(i64::MIN, i64::MIN), "in 0s");
    // 2^64 - 1 seconds: about 213 billion days.
    assert_eq!(
        ids::relative(i64::MIN, i64::MAX),
        format!("{}d {}h ago", u64::MAX / 86_400, (u64::MAX / 3600) % 24)
    );
}

/// Auto-renew renews only badges that verified; one never checked (unverified) or
/// with a broken signature is left alone, however close its `exp`.
#[test]
fn auto_renew_skips_badges_that_did_not_verify() {
    let now = 1_000_000;
    for (state, wanted) in [
        (BadgeState::Valid, true),
        (BadgeState::Expiring, true),
        (BadgeState::Unverified, false),
        (BadgeState::SignatureInvalid, false),
        (BadgeState::Expired, false),
    ] {
        let mut m = Model::new("/x".into(), "http://127.0.0.1:1".into(), None, false, now);
        m.identities = vec![identity(i64::MIN, now + 10, state)];
        m.session.auto_renew = true;
        let fx = capiscio_tui::tui::screens::actions::on_tick(&mut m);
        assert_eq!(!fx.is_empty(), wanted, "{state:?}: {fx:?}");
    }
}

/// After an attempt (here failing), the same badge is not asked for again until the
/// back-off passes: 60 s, then 120 s, doubling up to 15 minutes.
#[test]
fn auto_renew_backs_off_after_failures() {
    use capiscio_tui::tui::model::Msg;
    use capiscio_tui::tui::screens::actions::{on_msg, on_tick};
    let t0 = 1_000_000;
    let mut m = Model::new("/x".into(), "http://127.0.0.1:1".into(), None, false, t0);
    m.identities = vec![identity(t0 - 100_000, t0 + 10_000, BadgeState::Expiring)];
    m.session.auto_renew = true;
    let mut attempts = Vec::new();
    for t in t0..t0 + 1000 {
        m.now = t;
        for _ in on_tick(&mut m) {
            attempts.push(t - t0);
            on_msg(
                &mut m,
                Msg::BadgeRenewed {
                    id: "aaa".into(),
                    auto: true,
                    result: Err("the registry's new badge expired".into()),
                },
            );
        }
    }
    assert_eq!(attempts, vec![0, 60, 180, 420, 900]);
    assert!(
        m.toast
            .as_deref()
            .unwrap_or("")
            .contains("tries again in 15m 0s"),
        "{:?}",
        m.toast
    );
}

proptest! {
    #[test]
    fn any_times_are_total(iat in time(), exp in time(), now in time(), s in 0usize..5) {
        exercise(iat, exp, now, STATES[s]);
    }
}
