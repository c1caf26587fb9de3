//! `push` then `deployed` for 50 agents × 2 targets (aws-sm, aws-ssm) against moto on
//! loopback through the real aws CLI (`cargo bench --bench push`, with `moto_server` and
//! `aws` on PATH: `pip install awscli 'moto[server]'`). Reports wall time, the aws CLI's
//! own share (every call timed by a wrapper), and our overhead per target, measured by
//! running the same workload against an instant stand-in `aws` (a bash script: its own
//! fork/exec is counted as ours). Target: under 20 ms of overhead per target.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::store::disk;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const AGENTS: usize = 50;
/// `push` processes in flight at once (each pushes its 2 targets in parallel).
const PUSHERS: usize = 4;

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn populate(home: &Path) -> Vec<String> {
    (0..AGENTS)
        .map(|i| {
            let mut seed = [9u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
            disk::write_agent(
                &home.join("keys").join(&id),
                &KeyPair::from_seed(&seed),
                None,
            )
            .unwrap();
            id
        })
        .collect()
}

struct Run {
    push: Duration,
    deployed: Duration,
    cli_push: Duration,
    cli_deployed: Duration,
    calls: usize,
}

/// Sum of the durations the wrapper logged (`start end` in ns per line), and their count.
fn cli_time(log: &Path) -> (Duration, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut total = 0u64;
    let mut n = 0;
    for l in text.lines() {
        let mut it = l.split_whitespace().map(|x| x.parse::<u64>().unwrap_or(0));
        if let (Some(s), Some(e)) = (it.next(), it.next()) {
            total += e.saturating_sub(s);
            n += 1;
        }
    }
    (Duration::from_nanos(total), n)
}

fn workload(bin_dir: &Path, log: &Path, env: &[(&str, String)], pushers: usize) -> Run {
    let home = tempfile::tempdir().unwrap();
    let ids = populate(home.path());
    let exe = env!("CARGO_BIN_EXE_capiscio-tui");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cmd = |args: &[&str]| {
        let mut c = Command::new(exe);
        c.arg("--home").arg(home.path()).arg("--offline").args(args);
        c.env_clear().env("PATH", &path).env("HOME", home.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let _ = std::fs::remove_file(log);
    let next = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..pushers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(id) = ids.get(i) else { break };
                    let sm = format!("aws-sm:bench/{id}");
                    let ssm = format!("aws-ssm:/bench/{id}");
                    let out = cmd(&["push", id, "--to", &sm, "--to", &ssm, "--yes"])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let push = t.elapsed();
    let (cli_push, n1) = cli_time(log);
    let _ = std::fs::remove_file(log);
    let t = Instant::now();
    let out = cmd(&["deployed"]).output().unwrap();
    let deployed = t.elapsed();
    // Against moto every target is current (exit 0); the stand-in says missing (exit 1).
    assert!(
        out.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (cli_deployed, n2) = cli_time(log);
    Run {
        push,
        deployed,
        cli_push,
        cli_deployed,
        calls: n1 + n2,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let (Some(moto), Some(aws)) = (which("moto_server"), which("aws")) else {
        eprintln!("skipped: needs moto_server and aws on PATH (pip install awscli 'moto[server]')");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let dir = tempfile::tempdir().unwrap();
    let (real_bin, null_bin) = (dir.path().join("real"), dir.path().join("null"));
    std::fs::create_dir_all(&real_bin).unwrap();
    std::fs::create_dir_all(&null_bin).unwrap();
    let log = dir.path().join("calls.log");
    let timed = |inner: &str| {
        format!(
            "s=$(date +%s%N)\n{inner}\nrc=$?\necho \"$s $(date +%s%N)\" >> {}\nexit $rc",
            log.display()
        )
    };
    script(
        &real_bin.join("aws"),
        &timed(&format!("{} \"$@\"", aws.display())),
    );
    // The instant stand-in: reads find nothing, writes succeed.
    script(
        &null_bin.join("aws"),
        &timed(
            "case \"$2\" in get-secret-value|get-parameter) echo 'ResourceNotFoundException ParameterNotFound' >&2; false;; *) cat >/dev/null; echo '{}';; esac",
        ),
    );
    let env = vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ACCESS_KEY_ID", "bench".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_string()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
    ];
    let real = workload(&real_bin, &log, &env, PUSHERS);
    // Serial pushes for the overhead: nothing overlaps, each target's cost is its own.
    let null = workload(&null_bin, &log, &env, 1);
    let _ = server.kill();
    let _ = server.wait();
    let targets = (AGENTS * 2) as f64;
    println!(
        "push then deployed, {AGENTS} agents x 2 targets (aws-sm + aws-ssm), moto on loopback"
    );
    println!(
        "real aws CLI: push {:.1} s wall ({PUSHERS} push processes at once), deployed {:.1} s wall (8 reads at once); {} aws calls",
        real.push.as_secs_f64(),
        real.deployed.as_secs_f64(),
        real.calls
    );
    println!(
        "  aws CLI time (sum over calls): push {:.1} s, deployed {:.1} s; mean {:.0} ms a call",
        real.cli_push.as_secs_f64(),
        real.cli_deployed.as_secs_f64(),
        ms(real.cli_push + real.cli_deployed) / real.calls.max(1) as f64
    );
    let ours_push = null.push.saturating_sub(null.cli_push);
    println!(
        "instant stand-in: push {:.0} ms wall serial ({:.1} ms per target, stand-in calls included; {:.1} ms per target without them), deployed {:.0} ms wall",
        ms(null.push),
        ms(null.push) / targets,
        ms(ours_push) / targets,
        ms(null.deployed),
    );
    println!(
        "  overhead per target: push {:.1} ms (process start, scan and key load are per identity, shared by its 2 targets), deployed {:.1} ms (wall / targets, 8 reads at once)",
        ms(ours_push) / targets,
        ms(null.deployed) / targets,
    );
}
