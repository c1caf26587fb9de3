//! Whole-process benchmarks of the real binary (`cargo bench --bench cli`):
//! - `list --json` over 1,000 agent + 1,000 MCP-server identities (target < 100 ms);
//! - `generate` of one identity, key generation plus atomic writes (target < 20 ms).
//!
//! Prints median / p90 / min wall time; BENCHMARKS.md records the figures.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::store::disk;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn populate(home: &Path, agents: usize, servers: usize) {
    for i in 0..agents {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = KeyPair::from_seed(&seed);
        let id = format!("{:08x}-0000-4000-8000-{:012x}", i, i);
        disk::write_agent(&home.join("keys").join(id), &key, None).unwrap();
    }
    for i in 0..servers {
        let mut seed = [1u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = KeyPair::from_seed(&seed);
        disk::write_server(
            &home.join("mcp-servers").join(format!("server-{i:05}")),
            &key,
        )
        .unwrap();
    }
}

fn stats(label: &str, mut samples: Vec<Duration>, target_ms: f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = ms(samples[samples.len() / 2]);
    let p90 = ms(samples[samples.len() * 9 / 10]);
    println!(
        "{label:<48} median {median:7.2} ms   p90 {p90:7.2} ms   min {:7.2} ms   n={}   target < {target_ms} ms: {}",
        ms(samples[0]),
        samples.len(),
        if median < target_ms { "met" } else { "MISSED" }
    );
}

fn run(bin: &str, home: &Path, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .output()
        .unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    populate(&home.join(".capiscio"), 1000, 1000);

    // Warm the page cache as a developer's laptop would have it, then measure.
    for _ in 0..3 {
        run(bin, home, &["list", "--json"]);
    }
    let samples: Vec<Duration> = (0..30)
        .map(|_| run(bin, home, &["list", "--json"]))
        .collect();
    stats("list --json, 1,000 agents + 1,000 servers", samples, 100.0);

    let out = Command::new(bin)
        .args(["list", "--json"])
        .env_clear()
        .env("HOME", home)
        .output()
        .unwrap();
    let n: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(n.len(), 2000);

    let gen_dir = tempfile::tempdir().unwrap();
    let samples: Vec<Duration> = (0..50)
        .map(|_| run(bin, gen_dir.path(), &["generate", "--kind", "agent"]))
        .collect();
    stats("generate --kind agent (key + atomic writes)", samples, 20.0);
    let samples: Vec<Duration> = (0..50)
        .map(|_| run(bin, gen_dir.path(), &["generate", "--kind", "mcp-server"]))
        .collect();
    stats("generate --kind mcp-server", samples, 20.0);

    // In-process scan, to separate process start-up from discovery itself.
    let ctx = capiscio_tui::app::Context {
        home: home.join(".capiscio"),
        env: Default::default(),
        cwd: home.to_path_buf(),
        now: 0,
        offline: true,
        registry: capiscio_tui::app::context::RegistrySettings::resolve(None, &Default::default()),
        keyring: capiscio_tui::store::keyring::Choice::None,
        keyring_explicit: false,
        clear_after: 30,
    };
    let samples: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            let s = ctx.scan();
            assert_eq!(s.found.len(), 2000);
            t.elapsed()
        })
        .collect();
    stats(
        "in-process scan of the same 2,000 identities",
        samples,
        100.0,
    );
}
