//! No secret in any diagnostic: a corpus of malformed variants of a real key (one-line
//! PEMs, label typos, broken base64, truncated JWKs, `d` in the wrong member, …) goes
//! through the env vars and through files into every non-export command, `--json`
//! included, and into the UI's details pane. No 16-character window of any encoding of
//! the secret may appear in stdout, stderr or the rendered screen.

mod support;

use capiscio_tui::core::b64;
use capiscio_tui::store::env::EnvSnapshot;
use capiscio_tui::store::scan::{ScanInput, scan};
use capiscio_tui::tui::model::{Model, Pane};
use capiscio_tui::tui::theme::{Theme, ThemeName};
use capiscio_tui::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::*;

const AGENT_VAR: &str = "CAPISCIO_AGENT_PRIVATE_KEY_JWK";
const SERVER_VAR: &str = "CAPISCIO_SERVER_PRIVATE_KEY_PEM";
/// The PKCS#8 body of PEM1 (seed 1).
const BODY1: &str = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";

fn seed1() -> [u8; 32] {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&SEED1_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    seed
}

/// Every 16-character window of every encoding of seed 1: base64url `d`, standard
/// base64 of the seed, hex, the PKCS#8 body as one line and split by spaces or tabs.
fn secret_windows() -> Vec<String> {
    let seed = seed1();
    let chunks: Vec<&str> = (0..4).map(|i| &BODY1[16 * i..16 * i + 16]).collect();
    let encodings = [
        D1.to_string(),
        b64::std_encode(&seed),
        SEED1_HEX.to_string(),
        BODY1.to_string(),
        format!(" {BODY1} "),
        format!("\t{BODY1}\t"),
        chunks.join(" "),
        chunks.join("\t"),
    ];
    let mut windows: Vec<String> = encodings
        .iter()
        .flat_map(|e| {
            let c: Vec<char> = e.chars().collect();
            c.windows(16)
                .map(|w| w.iter().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect();
    windows.sort();
    windows.dedup();
    windows
}

fn assert_clean(windows: &[String], text: &str, what: &str) {
    if let Some(w) = windows.iter().find(|w| text.contains(w.as_str())) {
        panic!("secret window {w:?} leaked in {what}:\n{text}");
    }
}

fn jwk1() -> String {
    private_jwk(D1, X1, DID1)
}

/// Malformed JWKs built from the real key: (name, value).
fn jwk_corpus() -> Vec<(&'static str, String)> {
    let good = jwk1();
    let d_member = format!(r#""d":"{D1}""#);
    let d_cut = good.find(D1).unwrap() + 30;
    let pem_one_line = PEM1.trim_end().replace('\n', " ");
    vec![
        ("truncated in d", good[..d_cut].to_string()),
        ("truncated after d", good[..good.len() - 3].to_string()),
        (
            "d in kty",
            good.replace(r#""kty":"OKP""#, &format!(r#""kty":"{D1}""#)),
        ),
        (
            "d in crv",
            good.replace(r#""crv":"Ed25519""#, &format!(r#""crv":"{D1}""#)),
        ),
        ("d in kid", private_jwk(D1, X1, D1)),
        (
            "d in x, no d",
            good.replace(&format!(r#","{d_member}"#), "")
                .replace(X1, D1),
        ),
        ("d in another member", good.replace(r#""d":"#, r#""key":"#)),
        (
            "d with an invalid character",
            good.replace(D1, &format!("{}!{}", &D1[..20], &D1[21..])),
        ),
        (
            "d with a space",
            good.replace(D1, &format!("{} {}", &D1[..20], &D1[20..])),
        ),
        ("d too long", good.replace(D1, &format!("{D1}AAAA"))),
        ("d too short", good.replace(D1, &D1[..40])),
        (
            "d as an array",
            good.replace(&d_member, &format!(r#""d":["{D1}"]"#)),
        ),
        (
            "d as an object",
            good.replace(&d_member, &format!(r#""d":{{"v":"{D1}"}}"#)),
        ),
        (
            "d given twice",
            good.replace(&d_member, &format!("{d_member},{d_member}")),
        ),
        ("single-quoted JSON", good.replace('"', "'")),
        ("trailing garbage", format!("{good} {D1}")),
        (
            "missing comma",
            good.replace(&format!("{d_member},"), &d_member),
        ),
        ("bare d", D1.to_string()),
        ("PEM in the JWK variable", PEM1.to_string()),
        ("one-line PEM in the JWK variable", pem_one_line),
        ("escaped PEM in the JWK variable", PEM1.replace('\n', "\\n")),
    ]
}

/// Malformed PEMs built from the real key: (name, value).
fn pem_corpus() -> Vec<(&'static str, String)> {
    let one = PEM1.trim_end();
    let chunks: Vec<&str> = (0..4).map(|i| &BODY1[16 * i..16 * i + 16]).collect();
    vec![
        ("one line, spaces", one.replace('\n', " ")),
        ("one line, tabs", one.replace('\n', "\t")),
        ("one line, nothing", one.replace('\n', "")),
        ("one line, CRLF to spaces", one.replace('\n', "  ")),
        (
            "quoted escaped one line",
            format!("'{}'", one.replace('\n', "\\n")),
        ),
        (
            "escaped newlines then spaces",
            one.replacen('\n', "\\n", 1).replacen('\n', " ", 1),
        ),
        (
            "BEGIN label typo",
            PEM1.replace("BEGIN PRIVATE", "BEGIN PRIVTE"),
        ),
        ("END label typo", PEM1.replace("END PRIVATE", "END PRIVTE")),
        (
            "lower-case label",
            PEM1.replace("PRIVATE KEY", "private key"),
        ),
        (
            "BEGIN without closing dashes, body on it",
            PEM1.replacen("-----\n", " ", 1),
        ),
        (
            "body on the END line",
            PEM1.replace("9g\n-----END", "9g -----END"),
        ),
        ("broken base64", PEM1.replace("/Vpg", "/V%g")),
        ("truncated body", PEM1.replace("rn9g", "rn9")),
        (
            "body split by spaces",
            PEM1.replace(BODY1, &chunks.join(" ")),
        ),
        (
            "no END line",
            PEM1.replace("-----END PRIVATE KEY-----\n", ""),
        ),
        ("body only", BODY1.to_string()),
        ("JWK in the PEM variable", jwk1()),
        (
            "public label on the private key",
            PEM1.replace("PRIVATE KEY", "PUBLIC KEY"),
        ),
    ]
}

const AGENT_ENV_ID: &str = "env:CAPISCIO_AGENT_PRIVATE_KEY_JWK";
const SERVER_ENV_ID: &str = "env:CAPISCIO_SERVER_PRIVATE_KEY_PEM";

/// Every non-export command for one identity (`--offline`: nothing leaves the machine).
fn commands(id: &str) -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["show", id, "--offline"]),
        v(&["show", id, "--json", "--offline"]),
        v(&["rotate", id, "--dry-run", "--offline"]),
        v(&["rotate", id, "--dry-run", "--json", "--offline"]),
        v(&["archive", "list", id, "--offline"]),
    ]
}

fn global_commands() -> Vec<Vec<String>> {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        v(&["list", "--offline"]),
        v(&["list", "--json", "--offline"]),
        v(&["doctor", "--offline"]),
        v(&["doctor", "--json", "--offline"]),
        v(&["status", "--offline"]),
        v(&["status", "--json", "--offline"]),
    ]
}

/// One command run: which home, the arguments, the env vars.
struct Job<'a> {
    home: &'a Home,
    args: Vec<String>,
    env: Vec<(&'static str, &'a str)>,
}

/// Runs every job (a few at a time: each is a process start) and checks its output.
fn run_all(jobs: &[Job<'_>], windows: &[String]) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    check(job, windows);
                }
            });
        }
    });
}

fn check(job: &Job<'_>, windows: &[String]) {
    let args: Vec<&str> = job.args.iter().map(String::as_str).collect();
    let out = job.home.run_env(&args, &job.env);
    let vars: Vec<&str> = job.env.iter().map(|e| e.0).collect();
    let what = format!("`{}` with {vars:?}", args.join(" "));
    assert_clean(windows, &stdout(&out), &format!("stdout of {what}"));
    assert_clean(windows, &stderr(&out), &format!("stderr of {what}"));
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{what} crashed: {:?}\n{}",
        out.status,
        stderr(&out)
    );
}

/// Renders every identity of `home` (with `env`) with the details pane open, wide
/// enough that no problem text wraps, and returns the screens.
fn render_details(home: &Home, env: &[(&str, &str)]) -> Vec<String> {
    let snapshot = EnvSnapshot::from_pairs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let s = scan(&ScanInput {
        home: &home.capiscio(),
        env: &snapshot,
        cwd: home.path(),
        now: now(),
    });
    let mut m = Model::new(
        home.capiscio().display().to_string(),
        "not configured".into(),
        Some(30),
        false,
        now(),
    );
    m.identities = s.found.iter().map(|f| f.identity.clone()).collect();
    m.notes = s.notes.clone();
    let (w, h) = (400u16, 80u16);
    m.size = (w, h);
    m.focus = Pane::Details;
    let theme = Theme::new(Some(ThemeName::Mono));
    let mut screens = Vec::new();
    for i in 0..m.identities.len() {
        m.selected = i;
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| view::draw(f, &m, &theme)).unwrap();
        let buf = term.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..h {
            for x in 0..w {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        screens.push(out);
        // What the view draws from, in full (long problem texts may be cut on screen).
        screens.push(format!("{:?}", m.identities[i]));
    }
    screens.push(format!("{:?}", m.notes));
    screens
}

#[test]
fn no_secret_window_in_any_diagnostic() {
    let started = std::time::Instant::now();
    let windows = secret_windows();
    let mut ui_screens = 0;
    let jwks = jwk_corpus();
    let pems = pem_corpus();
    let mut jobs = Vec::new();

    // (a) Through the env vars, into an empty home: the i-th JWK variant and the i-th
    // PEM variant at once (each is its own identity), so each command run checks two.
    let empty = Home::new();
    for i in 0..jwks.len().max(pems.len()) {
        let mut env = Vec::new();
        let mut ids = Vec::new();
        if let Some((_, v)) = jwks.get(i) {
            env.push((AGENT_VAR, v.as_str()));
            ids.push(AGENT_ENV_ID);
        }
        if let Some((_, v)) = pems.get(i) {
            env.push((SERVER_VAR, v.as_str()));
            ids.push(SERVER_ENV_ID);
        }
        let per_id = ids.iter().flat_map(|id| commands(id));
        for args in global_commands().into_iter().chain(per_id) {
            jobs.push(Job {
                home: &empty,
                args,
                env: env.clone(),
            });
        }
        for screen in render_details(&empty, &env) {
            assert_clean(&windows, &screen, &format!("UI with env variant {i}"));
            ui_screens += 1;
        }
    }

    // (b) As files: one home holding every variant, each in its own identity directory:
    // as private.jwk (public.jwk good) and as public.jwk (no private key); a few as the
    // agent card next to a good key pair; as private_key.pem and as public_key.pem.
    let home = Home::new();
    let mut ids = Vec::new();
    for (i, (_, value)) in jwks.iter().enumerate() {
        let id = format!("00000000-0000-4000-8000-{:012}", 3 * i);
        let dir = home.agent_dir(&id);
        write(&dir.join("private.jwk"), value, 0o600);
        write(&dir.join("public.jwk"), public_jwk(X1, DID1), 0o644);
        ids.push(id);
        let id = format!("00000000-0000-4000-8000-{:012}", 3 * i + 1);
        write(&home.agent_dir(&id).join("public.jwk"), value, 0o644);
        ids.push(id);
        if i < 3 {
            let id = format!("00000000-0000-4000-8000-{:012}", 3 * i + 2);
            let dir = seed_agent(&home, &id, D2, X2, DID2);
            write(&dir.join("agent-card.json"), value, 0o644);
            ids.push(id);
        }
    }
    for (i, (_, value)) in pems.iter().enumerate() {
        let id = format!("srv-{i:02}");
        write(&home.server_dir(&id).join("private_key.pem"), value, 0o600);
        write(
            &home.server_dir(&id).join("public_key.pem"),
            PUB_PEM1,
            0o644,
        );
        ids.push(id);
        let id = format!("srv-pub-{i:02}");
        write(&home.server_dir(&id).join("public_key.pem"), value, 0o644);
        ids.push(id);
    }
    for args in global_commands() {
        jobs.push(Job {
            home: &home,
            args,
            env: vec![],
        });
    }
    for id in &ids {
        for args in commands(id) {
            jobs.push(Job {
                home: &home,
                args,
                env: vec![],
            });
        }
    }
    for screen in render_details(&home, &[]) {
        assert_clean(&windows, &screen, "UI of the file corpus");
        ui_screens += 1;
    }
    run_all(&jobs, &windows);

    eprintln!(
        "secret_echo: {} JWK + {} PEM variants, {} identity dirs, {} command runs, {} UI screens/models, {} windows, {:.1?}",
        jwks.len(),
        pems.len(),
        ids.len(),
        jobs.len(),
        ui_screens,
        windows.len(),
        started.elapsed()
    );
}

/// The windows really catch a leak: the pre-fix label message quoted the body.
#[test]
fn the_check_sees_a_quoted_key() {
    let windows = secret_windows();
    let old = format!("PEM block `PRIVATE KEY----- {BODY1} -----END PRIVATE KEY` is not supported");
    assert!(windows.iter().any(|w| old.contains(w.as_str())));
    assert!(windows.iter().any(|w| jwk1().contains(w.as_str())));
    assert!(!windows.iter().any(|w| PUB_PEM1.contains(w.as_str())));
    assert!(
        !windows
            .iter()
            .any(|w| public_jwk(X1, DID1).contains(w.as_str()))
    );
}

/// clap quotes a rejected argument in its usage error; a key pasted as an argument (a
/// PEM starts with `-`, so it is taken for an option) must not come back out.
#[test]
fn a_key_pasted_as_an_argument_is_not_echoed_by_the_usage_error() {
    let h = Home::new();
    for arg in [
        PEM1.to_string(),
        PEM1.replace('\n', " "),
        format!("--{D1}xx"),
    ] {
        let out = h.run(&["show", &arg]);
        assert_eq!(out.status.code(), Some(2));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        for s in SECRETS {
            assert!(!text.contains(s), "echoed: {text}");
        }
        assert!(text.contains("not shown"), "{text}");
        assert!(!text.contains('\u{1b}'), "colour codes on a pipe: {text:?}");
    }
}
