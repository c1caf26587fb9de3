//! `status` for 1,000 agents (each with a registry badge) against the development
//! registry with 0 ms and 20 ms injected latency per request (`cargo bench --bench
//! status`). Target: under 2 s and under 50 MB peak RSS at 20 ms. Peak RSS comes from
//! GNU time (`/usr/bin/time -f %M`) when it is installed.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::registry::client::{ApiKey, ClientConfig, KeySource, RegistryClient};
use capiscio_tui::registry::dev::{self, DevConfig};
use capiscio_tui::store::disk;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KEY: &str = "sk_test_bench";
const AGENTS: usize = 1000;

/// Fills the CapiscIO home and a registry state file: every agent registered, with a badge.
fn populate(home: &Path, state: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let reg = dev::start(DevConfig { state_file: Some(state.to_path_buf()), api_key: Some(KEY.into()), ..DevConfig::default() }).await.unwrap();
        let client = RegistryClient::new(ClientConfig::new(&reg.url, Some(ApiKey::new(KEY, KeySource::Flag)))).unwrap();
        let http = reqwest::Client::new();
        for i in 0..AGENTS {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let key = KeyPair::from_seed(&seed);
            let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
            let dir = home.join("keys").join(&id);
            disk::write_agent(&dir, &key, None).unwrap();
            http.post(format!("{}/v1/sdk/agents", reg.url))
                .header("X-Capiscio-Registry-Key", KEY)
                .json(&serde_json::json!({ "id": id, "name": format!("agent-{i}"), "status": "active" }))
                .send()
                .await
                .unwrap();
            let public = serde_json::from_str::<serde_json::Value>(&capiscio_tui::core::jwk::to_go_public(key.public())).unwrap().to_string();
            client.register_agent_identity(&id, &key.public().did_key(), &public).await.unwrap();
            let badge = client.request_agent_badge(&id).await.unwrap();
            std::fs::write(dir.join("badge.jwt"), badge.token).unwrap();
        }
        reg.shutdown().await;
    });
}

struct Registry(std::process::Child, String);

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn registry(bin: &str, state: &Path, latency_ms: u64) -> Registry {
    let mut child = Command::new(bin)
        .args([
            "dev-registry",
            "--api-key",
            KEY,
            "--badge-ttl",
            "86400",
            "--latency-ms",
            &latency_ms.to_string(),
            "--state",
            state.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    Registry(child, line.trim().to_string())
}

/// Wall time and peak RSS (KiB, when GNU time is available) of one `status --json`.
fn status_once(bin: &str, home: &Path, url: &str) -> (Duration, Option<u64>) {
    let gnu_time = Path::new("/usr/bin/time").exists();
    let rss_file = home.join("rss.txt");
    let mut cmd = if gnu_time {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "%M", "-o", rss_file.to_str().unwrap(), bin]);
        c
    } else {
        Command::new(bin)
    };
    cmd.args(["status", "--json"])
        .env_clear()
        .env("HOME", home)
        .env("CAPISCIO_SERVER_URL", url)
        .env("CAPISCIO_API_KEY", KEY);
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), AGENTS);
    let valid = list
        .iter()
        .filter(|v| v["badge"]["state"] == "valid")
        .count();
    assert_eq!(valid, AGENTS, "every badge verified and checked");
    let rss = gnu_time
        .then(|| std::fs::read_to_string(&rss_file).ok())
        .flatten()
        .and_then(|s| s.trim().parse().ok());
    (took, rss)
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let state = home.join("registry.json");
    populate(&home.join(".capiscio"), &state);
    for latency in [0u64, 20] {
        let reg = registry(bin, &state, latency);
        status_once(bin, home, &reg.1); // warm-up
        let mut runs: Vec<(Duration, Option<u64>)> =
            (0..5).map(|_| status_once(bin, home, &reg.1)).collect();
        runs.sort_by_key(|r| r.0);
        let (median, _) = runs[runs.len() / 2];
        let peak = runs.iter().filter_map(|r| r.1).max();
        println!(
            "status, {AGENTS} agents with badges, {latency:>2} ms latency   median {:7.1} ms   max {:7.1} ms   peak RSS {}   target < 2000 ms{}: {}",
            median.as_secs_f64() * 1e3,
            runs.last().unwrap().0.as_secs_f64() * 1e3,
            peak.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
                .unwrap_or_else(|| "n/a".into()),
            if latency == 20 { ", < 50 MB" } else { "" },
            if median < Duration::from_secs(2) && peak.is_none_or(|k| k < 50 * 1024) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
}
