//! TUI figures (`cargo bench --bench tui`): first frame from process start with 1,000
//! identities (real binary in tmux, polled every 2 ms — an upper bound), frame draw time
//! with 1,000 rows while a registry check is in flight (spinners animating), and idle CPU.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::store::disk;
use capiscio_tui::tui::model::{Model, Msg};
use capiscio_tui::tui::{theme, update::update, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(sock: &str, args: &[&str]) -> String {
    if args.contains(&"new-session") {
        // The server forks off this client: it must not inherit pipes we close (SIGPIPE).
        let null = std::process::Stdio::null;
        let _ = Command::new("tmux")
            .args(["-L", sock])
            .args(args)
            .stdin(null())
            .stdout(null())
            .stderr(null())
            .status();
        return String::new();
    }
    let out = Command::new("tmux")
        .args(["-L", sock])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The UI on `home`, in a detached 120×40 tmux session named `b`.
fn start_ui(sock: &str, bin: &str, home: &std::path::Path) {
    let cmd = format!(
        "exec env -u DISPLAY HOME={} TERM=xterm-256color {bin}",
        home.display()
    );
    tmux(
        sock,
        &[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "120",
            "-y",
            "40",
            &cmd,
        ],
    );
}

fn ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|x| x.1)
        .unwrap_or("")
        .split(' ')
        .collect();
    fields
        .get(11)
        .and_then(|u| u.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join(".capiscio");
    for i in 0..1000u64 {
        let mut seed = [3u8; 32];
        seed[..8].copy_from_slice(&i.to_le_bytes());
        let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
        disk::write_agent(
            &home.join("keys").join(id),
            &KeyPair::from_seed(&seed),
            None,
        )
        .unwrap();
    }

    // Frame time with 1,000 rows and every badge cell spinning.
    let scan = capiscio_tui::store::scan::scan(&capiscio_tui::store::scan::ScanInput {
        home: &home,
        env: &Default::default(),
        cwd: dir.path(),
        now: 0,
    });
    let mut m = Model::new(
        home.display().to_string(),
        "bench".into(),
        Some(30),
        true,
        0,
    );
    m.identities = scan.found.into_iter().map(|f| f.identity).collect();
    m.checking = true;
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let t = theme::Theme::new(None);
    let mut frames: Vec<Duration> = (0..200)
        .map(|i| {
            m.spinner = i;
            m.selected = i % 1000;
            let s = Instant::now();
            term.draw(|f| view::draw(f, &m, &t)).unwrap();
            s.elapsed()
        })
        .collect();
    frames.sort();
    println!(
        "frame draw, 1,000 identities, registry check in flight   median {:6.2} ms   p99 {:6.2} ms   max {:6.2} ms   target < 16 ms",
        frames[100].as_secs_f64() * 1e3,
        frames[198].as_secs_f64() * 1e3,
        frames[199].as_secs_f64() * 1e3
    );

    // 1,000 registry answers streaming in, one message each: the time from a message's
    // arrival to its frame on screen (update + draw), as the event loop does it.
    let answers: Vec<_> = m
        .identities
        .iter()
        .map(|i| {
            let mut a = i.clone();
            a.registry = Some(capiscio_tui::core::identity::RegistryInfo {
                url: "http://127.0.0.1:1".into(),
                registered: Some(true),
                did: a.did.clone(),
                name: None,
                status: Some("active".into()),
                error: None,
            });
            a
        })
        .collect();
    let mut per_answer: Vec<Duration> = answers
        .into_iter()
        .map(|a| {
            let s = Instant::now();
            update(&mut m, Msg::CheckedOne(Box::new(a)));
            term.draw(|f| view::draw(f, &m, &t)).unwrap();
            s.elapsed()
        })
        .collect();
    let answered = m.identities.iter().filter(|i| i.registry.is_some()).count();
    assert_eq!(answered, 1000, "every answer reached its row");
    per_answer.sort();
    println!(
        "update + frame per streamed registry answer, 1,000 answers   median {:6.2} ms   p99 {:6.2} ms   max {:6.2} ms   target < 16 ms",
        per_answer[500].as_secs_f64() * 1e3,
        per_answer[990].as_secs_f64() * 1e3,
        per_answer[999].as_secs_f64() * 1e3
    );

    if Command::new("tmux").arg("-V").output().is_err() {
        println!("first frame / idle CPU: skipped (tmux not installed)");
        return;
    }
    let sock = format!("capiscio-bench-{}", std::process::id());
    let mut firsts = Vec::new();
    for round in 0..10 {
        // A socket per round: `kill-server` returns before the old server is gone, and a
        // new session on its socket would die with it.
        let sock = format!("{sock}-{round}");
        let start = Instant::now();
        start_ui(&sock, bin, dir.path());
        loop {
            if tmux(&sock, &["capture-pane", "-p", "-t", "b"]).contains("1000 identities") {
                break;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!(
                    "no first frame; pane:\n{}\nsessions: {}",
                    tmux(&sock, &["capture-pane", "-p", "-t", "b"]),
                    tmux(&sock, &["ls"])
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        firsts.push(start.elapsed());
        tmux(&sock, &["kill-server"]);
    }
    firsts.sort();
    println!(
        "first frame from process start, 1,000 identities (tmux, upper bound)   median {:6.1} ms   max {:6.1} ms   target < 150 ms",
        firsts[5].as_secs_f64() * 1e3,
        firsts[9].as_secs_f64() * 1e3
    );

    start_ui(&sock, bin, dir.path());
    std::thread::sleep(Duration::from_secs(1));
    let pid = tmux(&sock, &["list-panes", "-t", "b", "-F", "#{pane_pid}"])
        .trim()
        .to_string();
    let before = ticks(&pid);
    std::thread::sleep(Duration::from_secs(10));
    let used = ticks(&pid) - before;
    let hz = 100.0;
    println!(
        "idle CPU over 10 s: {:.2} % of one core ({used} clock ticks)",
        used as f64 / hz / 10.0 * 100.0
    );
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!(
        "peak RSS of the UI with 1,000 identities: {:.1} MB",
        hwm as f64 / 1024.0
    );
    tmux(&sock, &["kill-server"]);
}
