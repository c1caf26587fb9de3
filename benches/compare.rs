//! Whole-process comparisons (`cargo bench --bench compare`), measured in the same run:
//! - discovery + DID derivation for 100 / 1,000 / 2,000 / 10,000 identities (half agents, half MCP
//!   servers): `list --json` vs the CapiscIO Python SDKs' own code doing the same reading
//!   and derivation (needs CAPISCIO_TUI_PYTHON with capiscio-sdk / capiscio-mcp);
//! - one identity's key generation + atomic write vs `openssl genpkey` and `ssh-keygen`.
//!
//! Medians; peak RSS from GNU time when available.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Median wall time and max peak RSS (KiB) over `runs` runs of `cmd`.
fn measure(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, Option<u64>) {
    let gnu_time = Path::new("/usr/bin/time").exists();
    let rss_file = std::env::temp_dir().join(format!("capiscio-rss-{}", std::process::id()));
    let mut times = Vec::new();
    let mut peak = None;
    for _ in 0..runs {
        let inner = make();
        let mut cmd = if gnu_time {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "%M", "-o", rss_file.to_str().unwrap()])
                .arg(inner.get_program())
                .args(inner.get_args());
            for (k, v) in inner.get_envs() {
                match v {
                    Some(v) => c.env(k, v),
                    None => c.env_remove(k),
                };
            }
            c
        } else {
            inner
        };
        let s = Instant::now();
        let out = cmd.output().unwrap();
        times.push(s.elapsed());
        assert!(
            out.status.success(),
            "{:?}: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr)
        );
        if gnu_time {
            let kib: Option<u64> = std::fs::read_to_string(&rss_file)
                .ok()
                .and_then(|t| t.trim().parse().ok());
            peak = peak.max(kib);
        }
    }
    times.sort();
    (times[times.len() / 2], peak)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mb(k: Option<u64>) -> String {
    k.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let python = std::env::var_os("CAPISCIO_TUI_PYTHON").filter(|p| !p.is_empty());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/py/sdk_discovery.py");
    println!(
        "| identities | capiscio-tui `list --json` | peak RSS | Python SDK code | peak RSS | ratio |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    // `CAPISCIO_TUI_COMPARE_SIZES=2000` (comma-separated) measures only those sizes.
    let sizes: Vec<usize> = std::env::var("CAPISCIO_TUI_COMPARE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![100, 1_000, 2_000, 10_000]);
    for n in sizes {
        let dir = tempfile::tempdir().unwrap();
        common::populate_mixed(&dir.path().join(".capiscio"), n);
        let runs = if n >= 10_000 { 5 } else { 11 };
        let (ours, our_rss) = measure(runs, || {
            let mut c = Command::new(bin);
            c.args(["list", "--json"])
                .env_clear()
                .env("HOME", dir.path());
            c
        });
        let py = python.as_ref().map(|py| {
            measure(if n >= 10_000 { 3 } else { 5 }, || {
                let mut c = Command::new(py);
                c.arg(&script).arg(dir.path().join(".capiscio"));
                c
            })
        });
        match py {
            Some((p, p_rss)) => println!(
                "| {n} | {:.1} ms | {} | {:.1} ms | {} | {:.1}× |",
                ms(ours),
                mb(our_rss),
                ms(p),
                mb(p_rss),
                p.as_secs_f64() / ours.as_secs_f64()
            ),
            None => println!(
                "| {n} | {:.1} ms | {} | (set CAPISCIO_TUI_PYTHON) | | |",
                ms(ours),
                mb(our_rss)
            ),
        }
    }
    println!();
    println!("| one new identity | median | peak RSS |");
    println!("| --- | --- | --- |");
    let dir = tempfile::tempdir().unwrap();
    let (g, g_rss) = measure(31, || {
        let mut c = Command::new(bin);
        c.args(["generate", "--kind", "mcp-server"])
            .env_clear()
            .env("HOME", dir.path());
        c
    });
    println!(
        "| capiscio-tui generate (Ed25519, PKCS#8 + SPKI + did.txt, atomic, fsync) | {:.2} ms | {} |",
        ms(g),
        mb(g_rss)
    );
    let mut n = 0;
    if Command::new("openssl").arg("version").output().is_ok() {
        let (o, o_rss) = measure(31, || {
            n += 1;
            let mut c = Command::new("openssl");
            c.args(["genpkey", "-algorithm", "ed25519", "-out"])
                .arg(dir.path().join(format!("o{n}.pem")));
            c
        });
        println!(
            "| openssl genpkey -algorithm ed25519 | {:.2} ms | {} |",
            ms(o),
            mb(o_rss)
        );
    }
    if Command::new("ssh-keygen").arg("-?").output().is_ok() {
        let (s, s_rss) = measure(31, || {
            n += 1;
            let mut c = Command::new("ssh-keygen");
            c.args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.path().join(format!("s{n}")));
            c
        });
        println!(
            "| ssh-keygen -t ed25519 | {:.2} ms | {} |",
            ms(s),
            mb(s_rss)
        );
    }
}
