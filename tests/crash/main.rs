//! Crash testing "the way SQLite does it" (issue 10): every state-changing command is re-run
//! from the same starting state once per state-changing system call, SIGKILLed exactly at
//! that call by `strace -e inject=SYSCALL:signal=SIGKILL:when=N`; then the harness recovers
//! as a user would and checks that no key was lost, the identity holds a complete pair, no
//! half identity is visible and every leftover is cleaned or reported by `doctor`.
//!
//! * `crash_sampled` (CI): every rename/unlink/rmdir kill point plus every 12th other one,
//!   in every scenario.
//!
//! `CAPISCIO_TUI_CRASH_ONLY=<substring>` runs only the scenarios whose name contains it;
//! `CAPISCIO_TUI_CRASH_JOBS=<n>` sets how many scenarios run at once (default: cores, max 4).
//! * `crash_exhaustive` (ignored): every kill point, and chains over all rename points.
//!   `cargo test --release --test crash -- --ignored --nocapture`
//!
//! Needs `strace`. Without it the tests fail when `CI` or `CAPISCIO_TUI_REQUIRE_STRACE` is
//! set and are skipped loudly otherwise.
//!
//! `register` and `generate --register` run against `capiscio-tui dev-registry` on
//! loopback. The keyring scenarios (`generate --store keyring`, `keyring import`,
//! `keyring export --to-disk`, `keyring delete`, `login`) need CAPISCIO_TUI_TEST_KEYRING=1
//! (as .ci/run sets): each runs all its commands in one `keyctl session` (kernel keyutils)
//! or `dbus-run-session` + unlocked gnome-keyring session; only the capiscio-tui process
//! tree is traced and killed, never the keyring daemon. CI runs every keyring command in
//! keyutils and a subset in the Secret Service; `crash_exhaustive` runs all of both.

#[path = "../support/mod.rs"]
mod support;

mod harness;

use harness::*;

const A: &str = "11111111-1111-4111-8111-111111111111";
const BY_A: &str = "22222222-2222-4222-8222-222222222222";
const S: &str = "srv";
const BY_S: &str = "by-srv";

fn gen_agent(id: &str) -> Step {
    Step::Run(args(&[
        "generate",
        "--kind",
        "agent",
        "--id",
        id,
        "--name",
        "agent",
        "--offline",
    ]))
}

fn gen_server(id: &str) -> Step {
    Step::Run(args(&[
        "generate",
        "--kind",
        "mcp-server",
        "--id",
        id,
        "--offline",
    ]))
}

fn rotate(id: &str) -> Vec<String> {
    args(&["rotate", id, "--yes", "--offline"])
}

fn rollback(id: &str) -> Vec<String> {
    args(&["rotate", id, "--rollback", "--yes", "--offline"])
}

/// Both identities of one kind's scenario plus a bystander of each kind; the subject has
/// four earlier (planned) rotations, so four archives.
fn rotated_home(subject: &Ident) -> Vec<Step> {
    let mut s = vec![
        gen_agent(A),
        gen_server(S),
        gen_agent(BY_A),
        gen_server(BY_S),
    ];
    for _ in 0..4 {
        s.push(Step::Run(rotate(&subject.id)));
    }
    s
}

fn bystanders(subject: &Ident) -> Vec<Ident> {
    let mut v = vec![Ident::agent(BY_A), Ident::server(BY_S)];
    v.push(match subject.kind {
        IdKind::Agent => Ident::server(S),
        IdKind::Server => Ident::agent(A),
    });
    v
}

fn rotation_scenario(name: &str, subject: Ident, setup: Vec<Step>, cmd: Vec<String>) -> Scenario {
    Scenario {
        name: name.into(),
        setup,
        cmd,
        bystanders: bystanders(&subject),
        subject: Some(subject),
        recovery: Recovery::Rotation,
        may_drop_archive: false,
        kind_for_generate: None,
        extra: Extra::default(),
    }
}

fn subjects() -> [(&'static str, Ident); 2] {
    [("agent", Ident::agent(A)), ("server", Ident::server(S))]
}

/// Every single-command scenario.
fn scenarios() -> Vec<Scenario> {
    let mut v = Vec::new();
    for (k, who) in subjects() {
        let id = who.id.clone();
        let home = rotated_home(&who);
        v.push(rotation_scenario(
            &format!("rotate-planned-{k}"),
            who.clone(),
            home.clone(),
            rotate(&id),
        ));
        v.push(rotation_scenario(
            &format!("rotate-emergency-{k}"),
            who.clone(),
            home.clone(),
            args(&["rotate", &id, "--mode", "emergency", "--yes", "--offline"]),
        ));
        v.push(rotation_scenario(
            &format!("rollback-{k}"),
            who.clone(),
            home.clone(),
            rollback(&id),
        ));
        let mut killed = home.clone();
        killed.push(Step::Kill(
            rotate(&id),
            Pick::After("RENAME_EXCHANGE".into()),
        ));
        v.push(rotation_scenario(
            &format!("resume-after-killed-rotate-{k}"),
            who.clone(),
            killed,
            args(&["rotate", &id, "--resume", "--offline"]),
        ));
        v.push(Scenario {
            name: format!("archive-purge-all-{k}"),
            setup: home.clone(),
            cmd: args(&["archive", "purge", &id, "--all", "--yes", "--offline"]),
            bystanders: bystanders(&who),
            subject: Some(who.clone()),
            recovery: Recovery::Retry,
            may_drop_archive: true,
            kind_for_generate: None,
            extra: Extra::default(),
        });
    }
    v.push(rotation_scenario(
        "end-grace-agent",
        Ident::agent(A),
        rotated_home(&Ident::agent(A)),
        args(&["rotate", A, "--end-grace", "--yes", "--offline"]),
    ));
    // doctor --fix: loose modes and a missing public half.
    let base = vec![
        gen_agent(A),
        gen_server(S),
        gen_agent(BY_A),
        gen_server(BY_S),
    ];
    let mut agent_fix = base.clone();
    agent_fix.push(Step::Run(rotate(A)));
    agent_fix.push(Step::Chmod(
        format!(".capiscio/keys/{A}/private.jwk"),
        0o644,
    ));
    agent_fix.push(Step::Chmod(format!(".capiscio/keys/{A}"), 0o755));
    agent_fix.push(Step::Remove(format!(".capiscio/keys/{A}/public.jwk")));
    let mut server_fix = base.clone();
    server_fix.push(Step::Run(rotate(S)));
    server_fix.push(Step::Chmod(
        format!(".capiscio/mcp-servers/{S}/private_key.pem"),
        0o640,
    ));
    server_fix.push(Step::Remove(format!(
        ".capiscio/mcp-servers/{S}/public_key.pem"
    )));
    for (name, who, setup) in [
        ("doctor-fix-agent", Ident::agent(A), agent_fix),
        ("doctor-fix-server", Ident::server(S), server_fix),
    ] {
        v.push(Scenario {
            name: name.into(),
            setup,
            cmd: args(&["doctor", "--fix", "--offline"]),
            bystanders: vec![Ident::agent(BY_A), Ident::server(BY_S)],
            subject: Some(who),
            recovery: Recovery::Retry,
            may_drop_archive: false,
            kind_for_generate: None,
            extra: Extra::default(),
        });
    }
    for (name, kind, cmd) in [
        (
            "generate-agent-disk",
            IdKind::Agent,
            args(&["generate", "--kind", "agent", "--name", "new", "--offline"]),
        ),
        (
            "generate-server-disk",
            IdKind::Server,
            args(&["generate", "--kind", "mcp-server", "--offline"]),
        ),
    ] {
        v.push(Scenario {
            name: name.into(),
            setup: base.clone(),
            cmd,
            bystanders: vec![
                Ident::agent(A),
                Ident::server(S),
                Ident::agent(BY_A),
                Ident::server(BY_S),
            ],
            subject: None,
            recovery: Recovery::Generate,
            may_drop_archive: false,
            kind_for_generate: Some(kind),
            extra: Extra::default(),
        });
    }
    v
}

fn keyring_enabled() -> bool {
    std::env::var_os("CAPISCIO_TUI_TEST_KEYRING").is_some()
}

fn kscenario(
    name: String,
    session: Session,
    setup: Vec<Step>,
    per_run: Vec<Step>,
    cmd: Vec<String>,
    recoverable: Vec<Ident>,
    bystanders: Vec<Ident>,
) -> Scenario {
    Scenario {
        name,
        setup,
        cmd,
        subject: None,
        bystanders,
        recovery: Recovery::Retry,
        may_drop_archive: false,
        kind_for_generate: None,
        extra: Extra {
            session,
            per_run,
            recoverable,
            ..Extra::default()
        },
    }
}

/// The keyring commands, in a kernel keyutils session (cheap: `keyctl session`) and in a
/// private Secret Service (gnome-keyring on its own D-Bus session). Kernel keyutils links
/// every entry into the uid's persistent keyring, which other sessions see too, so the
/// keyutils scenarios use ids unique to this process. Only with CAPISCIO_TUI_TEST_KEYRING.
fn keyring_scenarios() -> Vec<Scenario> {
    if !keyring_enabled() {
        eprintln!(
            "crash: keyring scenarios skipped: set CAPISCIO_TUI_TEST_KEYRING=1 (needs keyctl, dbus-run-session, gnome-keyring, secret-tool)"
        );
        return Vec::new();
    }
    let mut v = Vec::new();
    let pid = std::process::id();
    for session in [Session::Keyutils, Session::SecretService] {
        let tag = session.label();
        let (ka, ks, ko) = match session {
            Session::Keyutils => (
                format!("{pid:08x}-3333-4333-8333-000000000000"),
                format!("ku-srv-{pid}"),
                format!("ku-only-{pid}"),
            ),
            _ => (
                "33333333-3333-4333-8333-333333333333".to_string(),
                "ss-srv".to_string(),
                "ss-only".to_string(),
            ),
        };
        let base = vec![
            gen_agent(&ka),
            gen_server(&ks),
            gen_agent(BY_A),
            gen_server(BY_S),
        ];
        let all = vec![
            Ident::agent(&ka),
            Ident::server(&ks),
            Ident::agent(BY_A),
            Ident::server(BY_S),
        ];
        let others = |who: &Ident| -> Vec<Ident> {
            all.iter().filter(|w| w.id != who.id).cloned().collect()
        };
        // generate --store keyring: the key goes only into the keyring.
        for (k, kind, cmd) in [
            (
                "agent",
                IdKind::Agent,
                args(&[
                    "generate",
                    "--kind",
                    "agent",
                    "--name",
                    "new",
                    "--store",
                    "keyring",
                    "--offline",
                ]),
            ),
            (
                "server",
                IdKind::Server,
                args(&[
                    "generate",
                    "--kind",
                    "mcp-server",
                    "--store",
                    "keyring",
                    "--offline",
                ]),
            ),
        ] {
            let mut sc = kscenario(
                format!("generate-{k}-keyring-{tag}"),
                session,
                base.clone(),
                vec![],
                cmd,
                vec![],
                all.clone(),
            );
            sc.recovery = Recovery::Generate;
            sc.kind_for_generate = Some(kind);
            v.push(sc);
        }
        for (k, who) in [("agent", Ident::agent(&ka)), ("server", Ident::server(&ks))] {
            let id = who.id.clone();
            let import = Step::Run(args(&["keyring", "import", &id]));
            let to_disk = Step::Run(args(&["keyring", "export", &id, "--to-disk"]));
            v.push(kscenario(
                format!("keyring-import-{k}-{tag}"),
                session,
                base.clone(),
                vec![],
                args(&["keyring", "import", &id]),
                vec![who.clone()],
                others(&who),
            ));
            v.push(kscenario(
                format!("keyring-export-to-disk-{k}-{tag}"),
                session,
                base.clone(),
                vec![import.clone()],
                args(&["keyring", "export", &id, "--to-disk"]),
                vec![who.clone()],
                others(&who),
            ));
            v.push(kscenario(
                format!("keyring-delete-{k}-{tag}"),
                session,
                base.clone(),
                vec![import.clone(), to_disk],
                args(&["keyring", "delete", &id, "--yes"]),
                vec![who.clone()],
                others(&who),
            ));
            let mut only = kscenario(
                format!("keyring-delete-only-copy-{k}-{tag}"),
                session,
                base.clone(),
                vec![import],
                args(&["keyring", "delete", &id, "--yes"]),
                vec![who.clone()],
                others(&who),
            );
            only.extra.refused = true;
            v.push(only);
        }
        // A keyring-only identity (no directory) materialised.
        v.push(kscenario(
            format!("keyring-export-to-disk-keyring-only-server-{tag}"),
            session,
            base.clone(),
            vec![Step::Run(args(&[
                "generate",
                "--kind",
                "mcp-server",
                "--id",
                &ko,
                "--store",
                "keyring",
                "--offline",
            ]))],
            args(&["keyring", "export", &ko, "--to-disk"]),
            vec![Ident::server(&ko)],
            all.clone(),
        ));
        // login replaces a stored API key; the index also lists an imported identity. Not
        // with keyutils: its one `registry-api-key` entry is shared by every session of the
        // uid (persistent keyring).
        if session == Session::SecretService {
            let (old, new) = (
                "sk_test_old_0123456789abcdef",
                "sk_test_new_fedcba9876543210",
            );
            let mut sc = kscenario(
                format!("login-replaces-api-key-{tag}"),
                session,
                base.clone(),
                vec![
                    Step::Run(args(&["keyring", "import", &ka])),
                    Step::Input(args(&["login"]), format!("{old}\n")),
                ],
                args(&["login"]),
                vec![Ident::agent(&ka)],
                others(&Ident::agent(&ka)),
            );
            sc.extra.stdin = Some(format!("{new}\n"));
            sc.extra.api_keys = Some((old.into(), new.into()));
            v.push(sc);
        }
    }
    // CI: the Secret Service (about 0.4 s a command) only where its adapter differs in
    // what it does (search, attributes, the API key); the rest in keyutils only.
    for sc in v.iter_mut() {
        sc.extra.exhaustive_only = sc.extra.session == Session::SecretService
            && [
                "generate-server-",
                "keyring-import-server-",
                "keyring-export-to-disk-agent-",
                "keyring-delete-server-",
                "keyring-delete-only-copy-",
            ]
            .iter()
            .any(|p| sc.name.starts_with(p));
    }
    // Scenarios run concurrently and keyutils entries are visible across sessions: each
    // keyutils scenario gets ids of its own.
    for (n, sc) in v.iter_mut().enumerate() {
        if sc.extra.session == Session::Keyutils {
            let map = [
                (
                    format!("{pid:08x}-3333-4333-8333-000000000000"),
                    format!("{pid:08x}-3333-4333-8333-{n:012x}"),
                ),
                (format!("ku-srv-{pid}"), format!("ku-srv-{pid}-{n}")),
                (format!("ku-only-{pid}"), format!("ku-only-{pid}-{n}")),
            ];
            rename_ids(sc, &map);
        }
    }
    v
}

fn rename_ids(sc: &mut Scenario, map: &[(String, String)]) {
    let swap = |a: &mut String| {
        if let Some((_, to)) = map.iter().find(|(from, _)| from == a) {
            *a = to.clone();
        }
    };
    let steps = |st: &mut Vec<Step>| {
        for s in st.iter_mut() {
            match s {
                Step::Run(a) | Step::Input(a, _) | Step::Kill(a, _) => a.iter_mut().for_each(swap),
                Step::Chmod(..) | Step::Remove(_) => {}
            }
        }
    };
    steps(&mut sc.setup);
    steps(&mut sc.extra.per_run);
    sc.cmd.iter_mut().for_each(swap);
    for w in sc
        .extra
        .recoverable
        .iter_mut()
        .chain(sc.bystanders.iter_mut())
        .chain(sc.subject.iter_mut())
    {
        swap(&mut w.id);
    }
}

/// `register` and `generate --register` against the dev registry on loopback.
fn registry_scenarios() -> Vec<Scenario> {
    const NEW_A: &str = "44444444-4444-4444-8444-444444444444";
    let base = vec![
        gen_agent(A),
        gen_server(S),
        gen_agent(BY_A),
        gen_server(BY_S),
    ];
    let mut v = Vec::new();
    for (name, who, cmd) in [
        ("register-agent", Ident::agent(A), args(&["register", A])),
        // An id the registry does not know: it creates the server under a new id, which
        // is saved to .resolved_server_id.
        ("register-server", Ident::server(S), args(&["register", S])),
    ] {
        v.push(Scenario {
            name: name.into(),
            setup: base.clone(),
            cmd,
            bystanders: bystanders(&who),
            subject: Some(who),
            recovery: Recovery::Retry,
            may_drop_archive: false,
            kind_for_generate: None,
            extra: Extra {
                registry: true,
                registry_agents: vec![A.into()],
                ..Extra::default()
            },
        });
    }
    for (name, kind, cmd) in [
        (
            "generate-agent-register",
            IdKind::Agent,
            args(&[
                "generate",
                "--kind",
                "agent",
                "--id",
                NEW_A,
                "--name",
                "new",
                "--register",
            ]),
        ),
        (
            "generate-server-register",
            IdKind::Server,
            args(&["generate", "--kind", "mcp-server", "--register"]),
        ),
    ] {
        v.push(Scenario {
            name: name.into(),
            setup: base.clone(),
            cmd,
            bystanders: vec![
                Ident::agent(A),
                Ident::server(S),
                Ident::agent(BY_A),
                Ident::server(BY_S),
            ],
            subject: None,
            recovery: Recovery::Generate,
            may_drop_archive: false,
            kind_for_generate: Some(kind),
            extra: Extra {
                registry: true,
                registry_agents: vec![NEW_A.into()],
                ..Extra::default()
            },
        });
    }
    v
}

/// Chains. (1) A rotation killed at N (each rename kill point; in CI only at and just
/// after the directory exchange), then `--rollback` killed at every M, then recovery.
/// (2) A rotation killed just after its exchange, its rollback killed just after its
/// exchange, then the clean-up (`--rollback` again) killed at every K, then `--resume`.
fn chains(exhaustive: bool) -> Vec<Scenario> {
    let mut v = Vec::new();
    for (k, who) in subjects() {
        let id = who.id.clone();
        let home = rotated_home(&who);
        let ns: Vec<(String, Pick)> = if exhaustive {
            points_of(&home, &rotate(&id))
                .into_iter()
                .filter(|p| p.syscall.starts_with("rename"))
                .map(|p| (p.label(), Pick::At(p.syscall, p.n)))
                .collect()
        } else {
            vec![
                (
                    "at-exchange".into(),
                    Pick::Containing("RENAME_EXCHANGE".into()),
                ),
                (
                    "after-exchange".into(),
                    Pick::After("RENAME_EXCHANGE".into()),
                ),
            ]
        };
        for (label, pick) in ns {
            let mut setup = home.clone();
            setup.push(Step::Kill(rotate(&id), pick));
            v.push(rotation_scenario(
                &format!("chain rotate@{label} > rollback {k}"),
                who.clone(),
                setup,
                rollback(&id),
            ));
        }
        let mut setup = home.clone();
        setup.push(Step::Kill(
            rotate(&id),
            Pick::After("RENAME_EXCHANGE".into()),
        ));
        setup.push(Step::Kill(
            rollback(&id),
            Pick::After("RENAME_EXCHANGE".into()),
        ));
        v.push(rotation_scenario(
            &format!("chain rotate@after-exch > rollback@after-exch > rollback {k}"),
            who.clone(),
            setup,
            rollback(&id),
        ));
    }
    v
}

fn strace_or_skip() -> bool {
    if strace_available() {
        return true;
    }
    let required = std::env::var_os("CI").is_some()
        || std::env::var_os("CAPISCIO_TUI_REQUIRE_STRACE").is_some();
    assert!(
        !required,
        "strace is not installed but CI / CAPISCIO_TUI_REQUIRE_STRACE is set: the crash tests \
         need it (apt-get install strace; .ci/run installs it)"
    );
    eprintln!(
        "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
         SKIPPED: crash tests need `strace` (apt-get install strace); nothing was tested.\n\
         !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
    );
    false
}

fn run_all(list: Vec<Scenario>, sample: Sample) {
    let only = std::env::var("CAPISCIO_TUI_CRASH_ONLY").ok();
    let list: Vec<Scenario> = list
        .into_iter()
        .filter(|sc| only.as_deref().is_none_or(|o| sc.name.contains(o)))
        .collect();
    let jobs = std::env::var("CAPISCIO_TUI_CRASH_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().min(4)));
    let t0 = std::time::Instant::now();
    let report = run_scenarios(&list, sample, jobs);
    let table = report.table();
    eprintln!(
        "\n{table}total wall time {:.1}s",
        t0.elapsed().as_secs_f64()
    );
    if !report.violations.is_empty() {
        let cmd_of = |name: &str| {
            list.iter()
                .find(|s| s.name == name)
                .map(|s| s.cmd.join(" "))
                .unwrap_or_default()
        };
        panic!(
            "\n{} crash-consistency violation(s) at {} kill point(s).\n\
             Each block: how the starting state was built (HOME = a fresh directory), the \
             killed command, the recovery a user would run (resume, else rollback; for \
             generate: list, doctor, generate again) and what was wrong afterwards.\n{}\n{table}",
            report.violations.len(),
            report.failing_points(),
            report.violations_text(cmd_of)
        );
    }
}

/// Stands in, in the test list, for the keyring scenarios `crash_sampled` leaves out.
#[test]
#[cfg(not(capiscio_test_keyring))]
#[ignore = "crash scenarios of the keyring commands: set CAPISCIO_TUI_TEST_KEYRING=1"]
fn crash_sampled_keyring_scenarios() {}

#[test]
#[cfg_attr(
    not(capiscio_test_strace),
    ignore = "needs strace (apt-get install strace), then rebuild: touch build.rs"
)]
fn crash_sampled() {
    if !strace_or_skip() {
        return;
    }
    let mut list = scenarios();
    list.extend(registry_scenarios());
    list.extend(
        keyring_scenarios()
            .into_iter()
            .filter(|sc| !sc.extra.exhaustive_only),
    );
    list.extend(chains(false));
    run_all(list, Sample::Ci { every: 12 });
}

#[test]
#[ignore = "exhaustive: every kill point of every scenario; minutes"]
fn crash_exhaustive() {
    if !strace_or_skip() {
        return;
    }
    let mut list = scenarios();
    list.extend(registry_scenarios());
    list.extend(keyring_scenarios());
    list.extend(chains(true));
    run_all(list, Sample::All);
}

/// The parser on a real-looking multi-threaded strace log.
#[test]
fn strace_log_parser_counts_per_thread_and_skips_reads() {
    let log = "\
100 openat(AT_FDCWD, \"/h/a\", O_RDONLY|O_CLOEXEC) = 3
100 openat(AT_FDCWD, \"/h/b.tmp\", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 4
101 write(7, \"\\1\\0\\0\\0\\0\\0\\0\\0\", 8) = 8
100 write(1, \"hello\", 5) = 5
100 write(4, \"key\", 3 <unfinished ...>
101 openat(AT_FDCWD, \"/h/c\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = 5
100 <... write resumed>) = 3
100 fsync(4) = 0
100 close(4) = 0
100 write(4, \"x\", 1) = -1 EBADF (Bad file descriptor)
100 renameat2(AT_FDCWD, \"/h/x\", AT_FDCWD, \"/h/y\", RENAME_EXCHANGE) = 0
100 unlinkat(AT_FDCWD, \"/h/z\", 0) = -1 ENOENT (No such file or directory)
100 unlinkat(AT_FDCWD, \"/h/b.tmp\", 0) = 0
";
    let pts: Vec<String> = kill_points(log).iter().map(|p| p.label()).collect();
    assert_eq!(
        pts,
        [
            "openat:when=2",
            "write:when=2",
            "openat:when=1",
            "fsync:when=1",
            "renameat2:when=1",
            "unlinkat:when=2"
        ]
    );
}
