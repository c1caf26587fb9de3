//! Shared helpers for integration tests: a temporary HOME and the real binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const SEED1_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
pub const D1: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
pub const X1: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
pub const DID1: &str = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
pub const FP1: &str = "21fe31dfa154a261";
pub const D2: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
pub const X2: &str = "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg";
pub const DID2: &str = "did:key:z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd";
pub const PEM1: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n";
pub const PEM2: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n";
pub const PUB_PEM1: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n-----END PUBLIC KEY-----\n";

/// Every secret string the fixtures use, for "never printed" assertions.
pub const SECRETS: &[&str] = &[
    D1,
    D2,
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v",
    "MC4CAQAwBQYDK2VwBCIEIAABAgME",
];

pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn capiscio(&self) -> PathBuf {
        self.path().join(".capiscio")
    }

    pub fn agent_dir(&self, id: &str) -> PathBuf {
        self.capiscio().join("keys").join(id)
    }

    pub fn server_dir(&self, id: &str) -> PathBuf {
        self.capiscio().join("mcp-servers").join(id)
    }

    /// The binary with a clean environment: HOME is the temp dir, no CAPISCIO_* leaks in.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_capiscio-tui"));
        c.env_clear()
            .env("HOME", self.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// `generate` an agent with this id and name; panics with its stderr when it fails.
    pub fn generate_agent(&self, id: &str, name: &str) {
        let out = self.run(&["generate", "--kind", "agent", "--id", id, "--name", name]);
        assert!(out.status.success(), "generate: {}", stderr(&out));
    }

    /// `generate` an MCP server with this id; panics with its stderr when it fails.
    pub fn generate_server(&self, id: &str) {
        let out = self.run(&["generate", "--kind", "mcp-server", "--id", id]);
        assert!(out.status.success(), "generate: {}", stderr(&out));
    }

    /// How many old keys the agent's card still lists as retiring (a grace period runs).
    pub fn retiring_keys(&self, id: &str) -> usize {
        let card: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(self.agent_dir(id).join("agent-card.json")).unwrap(),
        )
        .unwrap();
        card["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["status"] == "retiring")
            .count()
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.cmd();
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    pub fn list_json(&self, env: &[(&str, &str)]) -> Vec<serde_json::Value> {
        let out = self.run_env(&["list", "--json"], env);
        assert!(out.status.success(), "list failed: {}", stderr(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn private_jwk(d: &str, x: &str, kid: &str) -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{d}","kid":"{kid}"}}"#)
}

pub fn public_jwk(x: &str, kid: &str) -> String {
    format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"{kid}"}}"#)
}

pub fn write(path: &Path, content: impl AsRef<[u8]>, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn seed_agent(home: &Home, id: &str, d: &str, x: &str, kid: &str) -> PathBuf {
    let dir = home.agent_dir(id);
    write(&dir.join("private.jwk"), private_jwk(d, x, kid), 0o600);
    write(&dir.join("public.jwk"), public_jwk(x, kid), 0o644);
    chmod(&dir, 0o700);
    dir
}

pub fn seed_server(home: &Home, id: &str, pem: &str) -> PathBuf {
    let dir = home.server_dir(id);
    write(&dir.join("private_key.pem"), pem, 0o600);
    chmod(&dir, 0o700);
    dir
}

pub fn find<'a>(list: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("identity {id} missing from {list:#?}"))
}

pub fn codes(v: &serde_json::Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_string())
        .collect()
}

pub fn assert_no_secrets(text: &str) {
    for s in SECRETS {
        assert!(
            !text.contains(s),
            "secret material {s} leaked into output:\n{text}"
        );
    }
}

/// A compact JWS signed with the given seed (for badges), via the library.
pub fn sign_badge(seed: &[u8; 32], payload: &str) -> String {
    let kp = capiscio_tui::core::key::KeyPair::from_seed(seed);
    capiscio_tui::core::badge::sign_compact(r#"{"alg":"EdDSA","typ":"JWT"}"#, payload, &kp)
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The real binary's `dev-registry` on a free loopback port; killed on drop.
pub struct DevReg {
    child: std::process::Child,
    pub url: String,
}

impl DevReg {
    pub fn start(args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_capiscio-tui"))
            .arg("dev-registry")
            .args(args)
            .env_clear()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_string();
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "dev-registry printed {line:?}"
        );
        Self { child, url }
    }

    pub fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// POST JSON with the given API key (or none) via a raw loopback HTTP/1.1 request.
    pub fn post(&self, path: &str, body: &str, key: Option<&str>) -> (u16, serde_json::Value) {
        self.call("POST", path, Some(body), key)
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("GET", path, None, None)
    }

    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        key: Option<&str>,
    ) -> (u16, serde_json::Value) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.host()).unwrap();
        let body = body.unwrap_or("");
        let key_header = key
            .map(|k| format!("X-Capiscio-Registry-Key: {k}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n{key_header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host(),
            body.len()
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status: u16 = resp.split(' ').nth(1).unwrap().parse().unwrap();
        let payload = resp.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
        (
            status,
            serde_json::from_str(payload).unwrap_or(serde_json::Value::Null),
        )
    }

    pub fn fault(&self, fault: serde_json::Value) {
        let (code, _) = self.post("/_dev/faults", &fault.to_string(), None);
        assert_eq!(code, 200);
    }

    pub fn clear_faults(&self) {
        self.call("DELETE", "/_dev/faults", None, None);
    }
}

impl Drop for DevReg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private tmux server running one command in a fixed-size pane.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn available() -> bool {
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    pub fn start(name: &str, width: u16, height: u16, shell_cmd: &str) -> Self {
        let socket = format!("capiscio-tui-test-{name}-{}", std::process::id());
        let t = Self { socket };
        // OSC 52 reaches tmux's buffer only with set-clipboard on; set in the config, it
        // is on before the command starts (a set-option after new-session can come late).
        let conf = std::env::temp_dir().join(format!("{}.conf", t.socket));
        fs::write(&conf, "set-option -s set-clipboard on\n").unwrap();
        let st = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                conf.to_str().unwrap(),
                "new-session",
                "-d",
                "-s",
                "main",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                shell_cmd,
            ])
            .status()
            .unwrap();
        assert!(st.success());
        t.tmux(&["set-option", "-s", "set-clipboard", "on"]);
        t
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .unwrap()
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "main"]).stdout)
            .into_owned()
    }

    pub fn send(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "main", k]);
            std::thread::sleep(std::time::Duration::from_millis(60));
        }
    }

    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "main", "-l", text]);
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    /// Waits until the screen contains `text`; panics with the screen otherwise.
    pub fn wait_for(&self, text: &str, secs: u64) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let screen = self.capture();
            if screen.contains(text) {
                return screen;
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; screen:\n{screen}");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        let _ = fs::remove_file(std::env::temp_dir().join(format!("{}.conf", self.socket)));
    }
}

/// Waits for a file to appear (a command run after the TUI exits writes it).
pub fn wait_file(path: &Path, secs: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if let Ok(s) = fs::read_to_string(path)
            && !s.is_empty()
        {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{} did not appear", path.display());
}

/// Whether `strace` (fault injection from outside the process) can run here. Where it is
/// required (CI, or CAPISCIO_TUI_REQUIRE_STRACE) its absence is a failure, not a skip.
pub fn strace_available() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok
        && (std::env::var_os("CI").is_some()
            || std::env::var_os("CAPISCIO_TUI_REQUIRE_STRACE").is_some())
    {
        panic!("strace is required for this test (apt-get install strace)");
    }
    if !ok {
        eprintln!("SKIPPED: strace is not installed");
    }
    ok
}

impl Home {
    /// The binary under `strace -f -qq -o /dev/null <strace_args>`, with the same clean
    /// environment as [`Home::cmd`].
    pub fn under_strace(&self, strace_args: &[&str]) -> Command {
        let mut c = Command::new("strace");
        c.args(["-f", "-qq", "-o", "/dev/null"])
            .args(strace_args)
            .arg(env!("CARGO_BIN_EXE_capiscio-tui"))
            .env_clear()
            .env("HOME", self.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .current_dir(self.path());
        c
    }
}

/// Replaces whatever is at `path` by a FIFO.
pub fn mkfifo(path: &Path) {
    let _ = fs::remove_file(path);
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

/// Runs `cmd` (stdin closed, output captured and drained as it comes) and returns its
/// output, or `None` after killing it when it has not exited within `deadline`.
pub fn output_within(mut cmd: Command, deadline: std::time::Duration) -> Option<Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    Some(Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    })
}

/// The order in which the given names appear in the list pane (the left part of a UI
/// screen), top to bottom; names not on screen are left out.
pub fn row_order(screen: &str, names: &[&'static str]) -> Vec<&'static str> {
    let mut rows: Vec<(usize, &'static str)> = names
        .iter()
        .filter_map(|&name| {
            screen
                .lines()
                .position(|l| l.chars().take(60).collect::<String>().contains(name))
                .map(|row| (row, name))
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, n)| n).collect()
}

/// Push tests: CLI wrappers and stand-ins, loopback servers.
pub mod push;

/// Whether the tmux tests can run: tmux is there. With CAPISCIO_TUI_TEST_TUI set (CI), a
/// missing tmux is a failure, not a skip.
pub fn tmux_enabled() -> bool {
    if Tmux::available() {
        return true;
    }
    assert!(
        std::env::var_os("CAPISCIO_TUI_TEST_TUI").is_none(),
        "CAPISCIO_TUI_TEST_TUI is set but tmux is missing"
    );
    eprintln!("skipped: tmux is not installed");
    false
}

/// A home and a dev registry with an API key, and agents registered with it the way the
/// SDK creates them (for the registry, badge and renewal tests).
pub struct RegWorld {
    pub home: Home,
    pub reg: DevReg,
    pub key: &'static str,
}

impl RegWorld {
    pub fn start(key: &'static str) -> Self {
        Self {
            home: Home::new(),
            reg: DevReg::start(&["--api-key", key]),
            key,
        }
    }

    pub fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("CAPISCIO_SERVER_URL", self.reg.url.as_str()),
            ("CAPISCIO_API_KEY", self.key),
        ]
    }

    /// A disk agent (key seeded with `n`) created in the registry and registered.
    pub fn agent(&self, n: u8, name: &str) -> String {
        let id = format!("{n:02x}{n:02x}{n:02x}{n:02x}-0000-4000-8000-0000000000{n:02x}");
        let key = capiscio_tui::core::key::KeyPair::from_seed(&[n; 32]);
        capiscio_tui::store::disk::write_agent(
            &self.home.agent_dir(&id),
            &key,
            Some(&format!(r#"{{"name":"{name}"}}"#)),
        )
        .unwrap();
        let (code, _) = self.reg.post(
            "/v1/sdk/agents",
            &serde_json::json!({"id": id, "name": name, "status": "active"}).to_string(),
            Some(self.key),
        );
        assert_eq!(code, 201);
        let out = self.home.run_env(&["register", &id], &self.env());
        assert!(out.status.success(), "register: {}", stderr(&out));
        id
    }

    /// A badge the dev registry issues for `id` with these times.
    pub fn dev_token(&self, id: &str, iat: i64, exp: i64) -> String {
        let (code, v) = self.reg.post(
            "/_dev/badges",
            &serde_json::json!({"agent_id": id, "iat": iat, "exp": exp}).to_string(),
            None,
        );
        assert_eq!(code, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// As [`RegWorld::dev_token`], written as the agent's badge.jwt.
    pub fn dev_badge(&self, id: &str, iat: i64, exp: i64) {
        let token = self.dev_token(id, iat, exp);
        write(&self.home.agent_dir(id).join("badge.jwt"), token, 0o600);
    }

    pub fn badge(&self, id: &str) -> capiscio_tui::core::badge::Badge {
        let text = fs::read_to_string(self.home.agent_dir(id).join("badge.jwt")).unwrap();
        capiscio_tui::core::badge::decode(text.trim()).unwrap()
    }
}
