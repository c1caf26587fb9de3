//! Crash-testing harness: run a state-changing command once under `strace` to learn every
//! state-changing system call it makes, then re-run it from the same starting state once per
//! such call with `strace -e inject=SYSCALL:signal=SIGKILL:when=N`, recover as a user would,
//! and check the invariants on the files left behind.
//!
//! It knows only the on-disk layout (`~/.capiscio/keys/<id>`, `~/.capiscio/mcp-servers/<id>`,
//! `<identity>/archive/*/`) and the CLI, never the binary's internals, so it can judge any
//! implementation of rotation and generation.

use base64::Engine;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every system call traced during enumeration (a superset of the ones that change state;
/// `close` is only there to keep the fd table right).
pub const TRACE_SET: &str = "openat,open,creat,write,pwrite64,writev,fsync,fdatasync,sync_file_range,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,chmod,fchmod,fchmodat,link,linkat,symlink,symlinkat,ftruncate,truncate,fallocate,flock,close";

/// Calls that commit or remove directory entries: always sampled in CI.
const STRUCTURAL: &[&str] = &[
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
];

const TIMEOUT: Duration = Duration::from_secs(60);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_capiscio-tui")
}

pub fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// ---------------------------------------------------------------------------------------
// Running commands

/// The result of one run: exit code, or the signal that ended it.
#[derive(Debug, Clone)]
pub struct Ran {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
    /// SIGKILL, as strace reports it: strace re-raises the tracee's signal on itself, or a
    /// shell in between turns it into 128 + 9.
    pub fn killed(&self) -> bool {
        self.signal == Some(9) || self.code == Some(137)
    }
    pub fn brief(&self) -> String {
        let status = match (self.code, self.signal) {
            _ if self.timed_out => "TIMED OUT".to_string(),
            (Some(c), _) => format!("exit {c}"),
            (_, Some(s)) => format!("signal {s}"),
            _ => "?".into(),
        };
        let err = self.stderr.trim();
        let err: String = err.lines().last().unwrap_or("").chars().take(200).collect();
        if err.is_empty() {
            status
        } else {
            format!("{status} ({err})")
        }
    }
}

fn base_cmd(home: &Path, program: &str) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn finish(mut c: Command, stdin: Option<&str>) -> Ran {
    let mut child = c.spawn().expect("spawn");
    if let (Some(t), Some(mut i)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        let _ = i.write_all(t.as_bytes());
    }
    let start = Instant::now();
    // Read pipes on threads so a chatty child cannot block.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut s).ok();
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut s).ok();
        s
    });
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > TIMEOUT {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = Output {
        status,
        stdout: to.join().unwrap_or_default(),
        stderr: te.join().unwrap_or_default(),
    };
    Ran {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        timed_out,
    }
}

/// Where the commands of a scenario run: directly (clean environment, HOME = the bench's
/// home), or inside one long-lived `keyctl session` (kernel keyring) — under
/// `dbus-run-session` with an unlocked private gnome-keyring for the Secret Service — whose
/// bash reads one command line at a time, so the killed command, its recovery and the
/// checks all see the same keyrings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Session {
    #[default]
    Plain,
    /// `keyctl session`; every command gets `--keyring keyutils`.
    Keyutils,
    /// `dbus-run-session` + gnome-keyring + `keyctl session`; `--keyring secret-service`.
    SecretService,
}

impl Session {
    pub fn label(self) -> &'static str {
        match self {
            Session::Plain => "plain",
            Session::Keyutils => "keyutils",
            Session::SecretService => "secret-service",
        }
    }
}

/// The daemon forks before its login collection is on the bus (as in tests/keyring.rs).
const WAIT_FOR_LOGIN: &str = "for _ in $(seq 100); do dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service.ReadAlias string:default 2>/dev/null | grep -q collection/login && break; sleep 0.1; done";

pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

struct Shell {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    seq: u64,
}

/// Runs the binary (and strace, keyctl, secret-tool) for one bench.
pub struct Runner {
    pub home: PathBuf,
    pub session: Session,
    scratch: PathBuf,
    env: Vec<(String, String)>,
    shell: Option<std::sync::Mutex<Shell>>,
}

impl Runner {
    pub fn new(home: &Path, scratch: &Path, session: Session, env: Vec<(String, String)>) -> Self {
        fs::create_dir_all(scratch).unwrap();
        let shell = (session != Session::Plain).then(|| {
            let data = scratch.join("xdg-data");
            let run = scratch.join("xdg-run");
            fs::create_dir_all(&data).unwrap();
            fs::create_dir_all(&run).unwrap();
            fs::set_permissions(&run, fs::Permissions::from_mode(0o700)).unwrap();
            let mut c = if session == Session::SecretService {
                let mut c = Command::new("dbus-run-session");
                c.args(["--", "keyctl", "session", "-", "bash", "-s"]);
                c
            } else {
                let mut c = Command::new("keyctl");
                c.args(["session", "-", "bash", "-s"]);
                c
            };
            c.env_clear()
                .env("HOME", home)
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("XDG_DATA_HOME", &data)
                .env("XDG_RUNTIME_DIR", &run)
                .current_dir(home)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(fs::File::create(scratch.join("shell.err")).unwrap());
            let mut child = c.spawn().expect("spawn the keyring session");
            let stdin = child.stdin.take().unwrap();
            let sh = std::sync::Mutex::new(Shell {
                child,
                stdin,
                seq: 0,
            });
            if session == Session::SecretService {
                let r = Self::shell_line(
                    &sh,
                    scratch,
                    &format!(
                        "eval \"$(printf %s test-password | gnome-keyring-daemon --unlock --components=secrets)\" >/dev/null; {WAIT_FOR_LOGIN}"
                    ),
                    None,
                );
                assert!(r.ok(), "gnome-keyring did not start: {}", r.brief());
            }
            sh
        });
        Self {
            home: home.to_path_buf(),
            session,
            scratch: scratch.to_path_buf(),
            env: env.clone(),
            shell,
        }
    }

    /// Runs one shell line in the session; waits for its exit status.
    fn shell_line(
        sh: &std::sync::Mutex<Shell>,
        scratch: &Path,
        line: &str,
        stdin: Option<&str>,
    ) -> Ran {
        use std::io::Write;
        let mut sh = sh.lock().unwrap();
        sh.seq += 1;
        let n = sh.seq;
        let out = scratch.join(format!("{n}.out"));
        let err = scratch.join(format!("{n}.err"));
        let rc = scratch.join(format!("{n}.rc"));
        let input = match stdin {
            Some(t) => {
                let p = scratch.join(format!("{n}.in"));
                fs::write(&p, t).unwrap();
                p
            }
            None => PathBuf::from("/dev/null"),
        };
        let script = format!(
            "( {line} ) <{} >{} 2>{}; echo $? >{}.tmp; mv {}.tmp {}\n",
            sh_quote(&input.display().to_string()),
            sh_quote(&out.display().to_string()),
            sh_quote(&err.display().to_string()),
            sh_quote(&rc.display().to_string()),
            sh_quote(&rc.display().to_string()),
            sh_quote(&rc.display().to_string()),
        );
        sh.stdin
            .write_all(script.as_bytes())
            .expect("keyring session shell died");
        sh.stdin.flush().unwrap();
        let start = Instant::now();
        let code = loop {
            if let Ok(t) = fs::read_to_string(&rc) {
                break t.trim().parse::<i32>().ok();
            }
            if let Ok(Some(st)) = sh.child.try_wait() {
                panic!("the keyring session shell exited: {st}");
            }
            if start.elapsed() > TIMEOUT + Duration::from_secs(30) {
                panic!("the keyring session shell hangs on: {line}");
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let read = |p: &Path| fs::read_to_string(p).unwrap_or_default();
        let r = Ran {
            code,
            signal: None,
            stdout: read(&out),
            stderr: read(&err),
            timed_out: code == Some(124),
        };
        for p in [&out, &err, &rc, &input] {
            if p.starts_with(scratch) {
                let _ = fs::remove_file(p);
            }
        }
        r
    }

    /// The global options every command of this session gets.
    fn global(&self) -> Vec<String> {
        match self.session {
            Session::Plain => vec![],
            Session::Keyutils => args(&["--keyring", "keyutils"]),
            Session::SecretService => args(&["--keyring", "secret-service"]),
        }
    }

    /// `program argv...` with HOME = the home, in this session.
    pub fn exec(&self, argv: &[String], stdin: Option<&str>) -> Ran {
        match &self.shell {
            None => {
                let mut c = base_cmd(&self.home, &argv[0]);
                c.args(&argv[1..]);
                for (k, v) in &self.env {
                    c.env(k, v);
                }
                if stdin.is_some() {
                    c.stdin(Stdio::piped());
                }
                finish(c, stdin)
            }
            Some(sh) => {
                let env: String = self
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={} ", sh_quote(v)))
                    .collect();
                let cmd: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
                let line = format!(
                    "cd {} && {env}timeout -k 5 {} {}",
                    sh_quote(&self.home.display().to_string()),
                    TIMEOUT.as_secs(),
                    cmd.join(" ")
                );
                Self::shell_line(sh, &self.scratch, &line, stdin)
            }
        }
    }

    /// A raw shell line in the session (keyctl, secret-tool); Plain runs it with `bash -c`.
    pub fn sh(&self, line: &str) -> Ran {
        match &self.shell {
            Some(sh) => Self::shell_line(sh, &self.scratch, line, None),
            None => {
                let mut c = base_cmd(&self.home, "bash");
                c.args(["-c", line]);
                finish(c, None)
            }
        }
    }

    fn bin_argv(&self, a: &[String]) -> Vec<String> {
        let mut v = vec![bin().to_string()];
        v.extend(self.global());
        v.extend(a.iter().cloned());
        v
    }

    /// The real binary.
    pub fn run(&self, a: &[String]) -> Ran {
        self.exec(&self.bin_argv(a), None)
    }

    pub fn run_in(&self, a: &[String], stdin: Option<&str>) -> Ran {
        self.exec(&self.bin_argv(a), stdin)
    }

    /// Under strace, recording every traced call of the whole process tree to `log`.
    pub fn run_traced(&self, a: &[String], log: &Path, stdin: Option<&str>) -> Ran {
        let mut v = args(&["strace", "-f", "-qq", "-o"]);
        v.push(log.display().to_string());
        v.extend(args(&["-e", &format!("trace={TRACE_SET}")]));
        v.extend(self.bin_argv(a));
        self.exec(&v, stdin)
    }

    /// Under strace, SIGKILLed at the `n`th call of `syscall` (counted per thread, as strace
    /// does). Only our process tree is traced: a keyring daemon is never ours to kill.
    pub fn run_killed(&self, a: &[String], p: &Point, stdin: Option<&str>) -> Ran {
        let mut v = args(&[
            "strace",
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            &format!("trace={}", p.syscall),
            "-e",
            &format!("inject={}:signal=SIGKILL:when={}", p.syscall, p.n),
        ]);
        v.extend(self.bin_argv(a));
        self.exec(&v, stdin)
    }

    /// Removes every capiscio-tui entry this session put into its keyring. Kernel keyutils
    /// also links them into the uid's persistent keyring, shared with other sessions: only
    /// the keys linked from our own session keyring are invalidated.
    pub fn reset_keyring(&self) {
        let line = match self.session {
            Session::Plain => return,
            Session::SecretService => "secret-tool clear service capiscio-tui; true",
            Session::Keyutils => {
                "keyctl list @s | awk '/ user: keyring:.*@capiscio-tui$/ {sub(\":\", \"\", $1); print $1}' | xargs -r -n1 keyctl invalidate; true"
            }
        };
        let r = self.sh(line);
        assert!(r.ok(), "resetting the keyring failed: {}", r.brief());
    }

    /// The keyring users (`agent:ID`, `mcp-server:ID`, `registry-api-key`) that hold an
    /// entry now.
    pub fn keyring_users(&self) -> BTreeSet<String> {
        match self.session {
            Session::Plain => BTreeSet::new(),
            Session::SecretService => self
                .sh("secret-tool search --all service capiscio-tui 2>&1")
                .stdout
                .lines()
                .filter_map(|l| l.trim().strip_prefix("attribute.username = "))
                .map(String::from)
                .collect(),
            Session::Keyutils => self
                .sh("keyctl list @s")
                .stdout
                .lines()
                .filter_map(|l| l.split("user: keyring:").nth(1))
                .filter_map(|d| d.trim().strip_suffix("@capiscio-tui"))
                .map(String::from)
                .collect(),
        }
    }

    /// The secret of one keyring user, read past the tool.
    pub fn keyring_secret(&self, user: &str) -> Option<String> {
        let r = match self.session {
            Session::Plain => return None,
            Session::SecretService => self.sh(&format!(
                "secret-tool lookup service capiscio-tui username {}",
                sh_quote(user)
            )),
            Session::Keyutils => self.sh(&format!(
                "keyctl print $(keyctl search @s user {})",
                sh_quote(&format!("keyring:{user}@capiscio-tui"))
            )),
        };
        r.ok().then_some(r.stdout)
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(sh) = self.shell.take() {
            let mut sh = sh.into_inner().unwrap_or_else(|e| e.into_inner());
            use std::io::Write;
            let _ = sh.stdin.write_all(b"exit 0\n");
            drop(sh.stdin);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = sh.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = sh.child.kill();
            let _ = sh.child.wait();
        }
    }
}

pub fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Parsing the strace log

/// One kill point: the `n`th call of `syscall` in some thread changes state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point {
    pub syscall: String,
    pub n: u32,
    /// The traced line of the enumeration run (for the report).
    pub line: String,
}

impl Point {
    pub fn label(&self) -> String {
        format!("{}:when={}", self.syscall, self.n)
    }
}

struct Call {
    tid: u32,
    name: String,
    ordinal: u32,
    args: String,
    ret: Option<i64>,
    line: String,
}

fn parse_ret(s: &str) -> Option<i64> {
    let r = s.rsplit_once(") = ")?.1.trim();
    let tok = r.split_whitespace().next()?;
    if let Some(h) = tok.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    tok.parse().ok()
}

fn first_int_arg(args: &str) -> Option<i64> {
    args.split([',', ')'])
        .next()
        .and_then(|a| a.trim().parse().ok())
}

fn parse_log(text: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let mut counters: HashMap<(u32, String), u32> = HashMap::new();
    let mut pending: HashMap<u32, usize> = HashMap::new();
    for line in text.lines() {
        let Some((tid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(tid) = tid.trim().parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("<...") {
            if let Some(i) = pending.remove(&tid) {
                calls[i].ret = parse_ret(rest);
                calls[i].line.push_str(rest);
            }
            continue;
        }
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let Some((name, a)) = rest.split_once('(') else {
            continue;
        };
        if name.contains(' ') {
            continue;
        }
        let c = counters.entry((tid, name.to_string())).or_insert(0);
        *c += 1;
        let unfinished = rest.ends_with("<unfinished ...>");
        calls.push(Call {
            tid,
            name: name.to_string(),
            ordinal: *c,
            args: a.to_string(),
            ret: if unfinished { None } else { parse_ret(rest) },
            line: rest.chars().take(400).collect(),
        });
        if unfinished {
            pending.insert(tid, calls.len() - 1);
        }
    }
    calls
}

/// The kill set of a traced run, in the order the calls happened.
pub fn kill_points(log_text: &str) -> Vec<Point> {
    let calls = parse_log(log_text);
    // fd -> opened for writing (the fd table is shared by the process's threads).
    let mut fds: HashMap<i64, bool> = HashMap::new();
    let mut seen = BTreeSet::new();
    let mut points = Vec::new();
    for c in &calls {
        let ok = c.ret.is_some_and(|r| r >= 0);
        let changes = match c.name.as_str() {
            "openat" | "open" | "creat" => {
                let w = c.name == "creat"
                    || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                        .iter()
                        .any(|f| c.args.contains(f));
                if let (true, Some(fd)) = (ok, c.ret) {
                    fds.insert(fd, w);
                }
                ok && w
            }
            "close" => {
                if let Some(fd) = first_int_arg(&c.args) {
                    fds.remove(&fd);
                }
                false
            }
            "write" | "pwrite64" | "writev" => {
                ok && first_int_arg(&c.args).is_some_and(|fd| fds.get(&fd) == Some(&true))
            }
            "flock" => false,
            _ => ok,
        };
        if changes && seen.insert((c.name.clone(), c.ordinal)) {
            let _ = c.tid;
            points.push(Point {
                syscall: c.name.clone(),
                n: c.ordinal,
                line: c.line.clone(),
            });
        }
    }
    points
}

/// Which kill points to run.
#[derive(Debug, Clone, Copy)]
pub enum Sample {
    All,
    /// Every rename, unlink and rmdir kill point plus every `every`th other one.
    Ci {
        every: usize,
    },
}

impl Sample {
    pub fn pick(self, points: &[Point]) -> Vec<Point> {
        match self {
            Sample::All => points.to_vec(),
            Sample::Ci { every } => points
                .iter()
                .enumerate()
                .filter(|(i, p)| STRUCTURAL.contains(&p.syscall.as_str()) || i % every == 0)
                .map(|(_, p)| p.clone())
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Homes: template copies

pub fn copy_tree(from: &Path, to: &Path) {
    let meta = fs::symlink_metadata(from).unwrap();
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(from).unwrap(), to).unwrap();
    } else if meta.is_dir() {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
        fs::set_permissions(to, meta.permissions()).unwrap();
    } else {
        fs::copy(from, to).unwrap();
        fs::set_permissions(to, meta.permissions()).unwrap();
    }
}

fn make_writable(p: &Path) {
    if let Ok(m) = fs::symlink_metadata(p)
        && m.is_dir()
    {
        let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o700));
        if let Ok(rd) = fs::read_dir(p) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    }
}

/// Empties `home` and fills it with a copy of `template` (same absolute path every run, so
/// paths recorded inside the files stay right).
pub fn restore(home: &Path, template: &Path) {
    make_writable(home);
    for e in fs::read_dir(home).unwrap() {
        let p = e.unwrap().path();
        if fs::symlink_metadata(&p).unwrap().is_dir() {
            fs::remove_dir_all(&p).unwrap();
        } else {
            fs::remove_file(&p).unwrap();
        }
    }
    for e in fs::read_dir(template).unwrap() {
        let e = e.unwrap();
        copy_tree(&e.path(), &home.join(e.file_name()));
    }
}

pub fn save(home: &Path, template: &Path) {
    if template.exists() {
        make_writable(template);
        fs::remove_dir_all(template).unwrap();
    }
    fs::create_dir_all(template).unwrap();
    for e in fs::read_dir(home).unwrap() {
        let e = e.unwrap();
        copy_tree(&e.path(), &template.join(e.file_name()));
    }
}

/// Every file under `root` (relative paths), following no symlinks.
pub fn walk(root: &Path) -> Vec<PathBuf> {
    fn go(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = fs::read_dir(root.join(rel)) else {
            return;
        };
        let mut es: Vec<_> = rd.flatten().collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let r = rel.join(e.file_name());
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            out.push(r.clone());
            if is_dir {
                go(root, &r, out);
            }
        }
    }
    let mut out = Vec::new();
    go(root, Path::new(""), &mut out);
    out
}

// ---------------------------------------------------------------------------------------
// Keys

pub type Seed = [u8; 32];

pub fn seed_from_jwk(text: &str) -> Option<Seed> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let d = v.get("d")?.as_str()?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(d.trim_end_matches('='))
        .ok()?
        .try_into()
        .ok()
}

fn pem_body(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let b64: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

pub fn seed_from_pem(text: &str) -> Option<Seed> {
    let der = pem_body(text, "PRIVATE KEY")?;
    der.get(16..48)?.try_into().ok()
}

pub fn public_from_pem(text: &str) -> Option<[u8; 32]> {
    let der = pem_body(text, "PUBLIC KEY")?;
    der.get(der.len().checked_sub(32)?..)?.try_into().ok()
}

pub fn public_of(seed: &Seed) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// The fingerprint the tool prints: the first 16 hex digits of SHA-256 over the public key.
pub fn fp(seed: &Seed) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(public_of(seed));
    h.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn seed_from_file(path: &Path) -> Option<Seed> {
    let text = fs::read_to_string(path).ok()?;
    seed_from_jwk(&text).or_else(|| seed_from_pem(&text))
}

/// Does the file hold private key material (even a partial write of it)?
pub fn holds_secret(path: &Path) -> bool {
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    let t = String::from_utf8_lossy(&bytes);
    t.contains("PRIVATE KEY") || t.contains("\"d\"")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Agent,
    Server,
}

impl IdKind {
    pub fn parent(self) -> &'static str {
        match self {
            IdKind::Agent => ".capiscio/keys",
            IdKind::Server => ".capiscio/mcp-servers",
        }
    }
}

/// An identity this scenario is about.
#[derive(Debug, Clone)]
pub struct Ident {
    pub kind: IdKind,
    pub id: String,
}

impl Ident {
    pub fn agent(id: &str) -> Self {
        Self {
            kind: IdKind::Agent,
            id: id.into(),
        }
    }
    pub fn server(id: &str) -> Self {
        Self {
            kind: IdKind::Server,
            id: id.into(),
        }
    }
    pub fn rel(&self) -> PathBuf {
        Path::new(self.kind.parent()).join(&self.id)
    }
}

/// Checks that `dir` holds a complete, matching key pair; returns its seed or what is wrong.
pub fn complete_pair(dir: &Path, kind: IdKind) -> Result<Seed, String> {
    match kind {
        IdKind::Agent => {
            let text = fs::read_to_string(dir.join("private.jwk"))
                .map_err(|e| format!("private.jwk unreadable: {e}"))?;
            let seed = seed_from_jwk(&text).ok_or("private.jwk has no valid d")?;
            let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public_of(&seed));
            let priv_x: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if priv_x["x"].as_str() != Some(&x) {
                return Err("private.jwk x does not match its d".into());
            }
            let pubt = fs::read_to_string(dir.join("public.jwk"))
                .map_err(|e| format!("public.jwk unreadable: {e}"))?;
            let pubv: serde_json::Value =
                serde_json::from_str(&pubt).map_err(|e| format!("public.jwk not JSON: {e}"))?;
            if pubv["x"].as_str() != Some(&x) {
                return Err(format!(
                    "public.jwk x does not match private.jwk (key {})",
                    fp(&seed)
                ));
            }
            if pubv.get("d").is_some() {
                return Err("public.jwk holds a private key".into());
            }
            if let Ok(card) = fs::read_to_string(dir.join("agent-card.json"))
                && serde_json::from_str::<serde_json::Value>(&card).is_err()
            {
                return Err("agent-card.json is not valid JSON".into());
            }
            Ok(seed)
        }
        IdKind::Server => {
            let text = fs::read_to_string(dir.join("private_key.pem"))
                .map_err(|e| format!("private_key.pem unreadable: {e}"))?;
            let seed = seed_from_pem(&text).ok_or("private_key.pem has no valid key")?;
            let pubt = fs::read_to_string(dir.join("public_key.pem"))
                .map_err(|e| format!("public_key.pem unreadable: {e}"))?;
            if public_from_pem(&pubt) != Some(public_of(&seed)) {
                return Err(format!(
                    "public_key.pem does not match private_key.pem (key {})",
                    fp(&seed)
                ));
            }
            Ok(seed)
        }
    }
}

/// The keys an identity holds: current (if its pair is complete) and archived.
#[derive(Debug, Clone, Default)]
pub struct Held {
    pub current: Option<Seed>,
    /// The identity's private key file, even when its pair is incomplete.
    pub current_private: Option<Seed>,
    pub current_err: Option<String>,
    pub archived: BTreeMap<Seed, String>,
}

impl Held {
    pub fn all(&self) -> BTreeSet<Seed> {
        self.archived
            .keys()
            .copied()
            .chain(self.current)
            .chain(self.current_private)
            .collect()
    }
}

pub fn held(home: &Path, who: &Ident) -> Held {
    let dir = home.join(who.rel());
    let mut h = Held::default();
    match complete_pair(&dir, who.kind) {
        Ok(s) => h.current = Some(s),
        Err(e) => h.current_err = Some(e),
    }
    let private = match who.kind {
        IdKind::Agent => "private.jwk",
        IdKind::Server => "private_key.pem",
    };
    h.current_private = seed_from_file(&dir.join(private));
    let arch = dir.join("archive");
    for rel in walk(&arch) {
        let p = arch.join(&rel);
        if p.is_file()
            && let Some(s) = seed_from_file(&p)
        {
            h.archived.insert(s, rel.display().to_string());
        }
    }
    h
}

/// Every private key anywhere under the home, with where it is.
pub fn keys_anywhere(home: &Path) -> BTreeMap<Seed, Vec<String>> {
    let mut m: BTreeMap<Seed, Vec<String>> = BTreeMap::new();
    for rel in walk(home) {
        let p = home.join(&rel);
        if p.is_file()
            && let Some(s) = seed_from_file(&p)
        {
            m.entry(s).or_default().push(rel.display().to_string());
        }
    }
    m
}

// ---------------------------------------------------------------------------------------
// Path normalisation (for "is this a leftover?")

fn is_stamp(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() >= 17
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
}

fn is_uuid(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, ch)| {
            if [8, 13, 18, 23].contains(&i) {
                *ch == b'-'
            } else {
                ch.is_ascii_hexdigit()
            }
        })
}

/// Replaces archive stamps and UUIDs so runs at different times compare equal.
pub fn normalize(rel: &Path) -> String {
    rel.components()
        .map(|c| {
            let s = c.as_os_str().to_string_lossy();
            if is_stamp(&s) {
                "<archive>".to_string()
            } else if is_uuid(&s) {
                "<uuid>".to_string()
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

// ---------------------------------------------------------------------------------------
// Scenarios

#[derive(Debug, Clone)]
pub enum Pick {
    /// This exact call.
    At(String, u32),
    /// The first state-changing call whose traced line contains this text (e.g.
    /// `RENAME_EXCHANGE`); falls back to the middle rename if none does.
    Containing(String),
    /// The state-changing call right after the one `Containing` picks: a crash just after
    /// that call completed.
    After(String),
}

#[derive(Debug, Clone)]
pub enum Step {
    Run(Vec<String>),
    /// Run with this stdin (`login`).
    Input(Vec<String>, String),
    /// Run, SIGKILLed at the picked call.
    Kill(Vec<String>, Pick),
    Chmod(String, u32),
    Remove(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// `rotate ID --resume --offline`, else `rotate ID --rollback --yes --offline`.
    Rotation,
    /// `list --json`, `doctor --json`, then the same `generate` again (the next run).
    Generate,
    /// Run the same command again (purge, doctor --fix).
    Retry,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub setup: Vec<Step>,
    pub cmd: Vec<String>,
    /// The identity the command works on (None for generate).
    pub subject: Option<Ident>,
    /// Identities that must come out byte-for-byte unchanged.
    pub bystanders: Vec<Ident>,
    pub recovery: Recovery,
    /// Archived keys may be deleted by this command (archive purge).
    pub may_drop_archive: bool,
    pub kind_for_generate: Option<IdKind>,
    /// Keyring session, registry, per-run setup (see [`Extra`]).
    pub extra: Extra,
}

/// What keyring and registry scenarios need beyond the files.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub session: Session,
    /// A dev registry on loopback (`--api-key`); CAPISCIO_SERVER_URL / CAPISCIO_API_KEY set.
    pub registry: bool,
    /// Agents the dev registry knows before the first run.
    pub registry_agents: Vec<String>,
    /// Run before every run, after the home is restored and the keyring emptied: keyring
    /// contents are not files, so they are rebuilt by running the tool.
    pub per_run: Vec<Step>,
    /// The command's stdin (`login` reads the API key from it).
    pub stdin: Option<String>,
    /// Identities whose private key (in the keyring or on disk) must stay recoverable with
    /// `export ID --format jwk`, the same key, right after the kill and after recovery.
    pub recoverable: Vec<Ident>,
    /// `login`: the stored API key before the command and the one it stores.
    pub api_keys: Option<(String, String)>,
    /// The command is refused by design (exit 1), e.g. `keyring delete` of the only copy.
    pub refused: bool,
    /// Only in `crash_exhaustive` (a Secret Service twin of a keyutils scenario CI runs).
    pub exhaustive_only: bool,
    /// CI samples every `ci_every`th non-structural kill point instead of the default.
    pub ci_every: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Violation {
    pub scenario: String,
    /// How the starting state was built (commands, and where the killed ones were killed).
    pub setup: String,
    pub point: String,
    pub call: String,
    pub what: String,
    pub recovery: String,
}

#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub points: usize,
    pub runs: usize,
    pub kills: usize,
    pub not_reached: usize,
    pub violations: usize,
    pub secs: f64,
}

pub struct Report {
    pub stats: Vec<(String, Stats)>,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn new() -> Self {
        Self {
            stats: Vec::new(),
            violations: Vec::new(),
        }
    }

    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<44} {:>6} {:>6} {:>6} {:>11} {:>10} {:>7}",
            "scenario", "points", "runs", "kills", "not-reached", "violations", "secs"
        );
        let mut tot = Stats::default();
        for (n, st) in &self.stats {
            let _ = writeln!(
                s,
                "{:<44} {:>6} {:>6} {:>6} {:>11} {:>10} {:>7.1}",
                n, st.points, st.runs, st.kills, st.not_reached, st.violations, st.secs
            );
            tot.points += st.points;
            tot.runs += st.runs;
            tot.kills += st.kills;
            tot.not_reached += st.not_reached;
            tot.violations += st.violations;
            tot.secs += st.secs;
        }
        let _ = writeln!(
            s,
            "{:<44} {:>6} {:>6} {:>6} {:>11} {:>10} {:>7.1}",
            "TOTAL", tot.points, tot.runs, tot.kills, tot.not_reached, tot.violations, tot.secs
        );
        s
    }

    /// One block per (scenario, kill point): the exact reproduction, then every violation.
    pub fn violations_text(&self, cmd_of: impl Fn(&str) -> String) -> String {
        let mut s = String::new();
        let mut last: Option<(&str, &str)> = None;
        for v in &self.violations {
            if last != Some((&v.scenario, &v.point)) {
                let _ = writeln!(
                    s,
                    "\n[{}] killed at {}\n  setup: {}\n  then:  strace -f -e inject={}:signal=SIGKILL:when={} capiscio-tui {}\n  call:  {}\n  recovery: {}",
                    v.scenario,
                    v.point,
                    v.setup,
                    v.point.split(':').next().unwrap_or(""),
                    v.point.rsplit('=').next().unwrap_or(""),
                    cmd_of(&v.scenario),
                    v.call,
                    v.recovery
                );
                last = Some((&v.scenario, &v.point));
            }
            let _ = writeln!(s, "  - {}", v.what);
        }
        s
    }

    /// Kill points with at least one violation.
    pub fn failing_points(&self) -> usize {
        let set: BTreeSet<(&str, &str)> = self
            .violations
            .iter()
            .map(|v| (v.scenario.as_str(), v.point.as_str()))
            .collect();
        set.len()
    }
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

/// One scenario's working state: a HOME, and the template it is restored from.
pub struct Bench {
    pub home: PathBuf,
    pub template: PathBuf,
    pub log: PathBuf,
    pub rt: Runner,
    _root: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Self {
        Self::with(Session::Plain, Vec::new())
    }

    pub fn with(session: Session, env: Vec<(String, String)>) -> Self {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let template = root.path().join("template");
        fs::create_dir_all(&home).unwrap();
        let log = root.path().join("strace.log");
        let rt = Runner::new(&home, &root.path().join("scratch"), session, env);
        Self {
            home,
            template,
            log,
            rt,
            _root: root,
        }
    }

    /// Traces `cmd` from the current home; returns its run and kill points.
    pub fn enumerate(&self, cmd: &[String]) -> (Ran, Vec<Point>) {
        self.enumerate_in(cmd, None)
    }

    pub fn enumerate_in(&self, cmd: &[String], stdin: Option<&str>) -> (Ran, Vec<Point>) {
        let r = self.rt.run_traced(cmd, &self.log, stdin);
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        (r, kill_points(&text))
    }

    /// Builds the starting state by running the steps (panics if setup fails); returns
    /// what was done, as shell-like lines.
    pub fn build(&self, steps: &[Step]) -> Vec<String> {
        let mut done = Vec::new();
        for st in steps {
            match st {
                Step::Run(a) => {
                    done.push(format!("capiscio-tui {}", a.join(" ")));
                    let r = self.rt.run(a);
                    assert!(r.ok(), "setup `{}` failed: {}", a.join(" "), r.brief());
                }
                Step::Input(a, input) => {
                    done.push(format!("echo … | capiscio-tui {}", a.join(" ")));
                    let r = self.rt.run_in(a, Some(input));
                    assert!(r.ok(), "setup `{}` failed: {}", a.join(" "), r.brief());
                }
                Step::Kill(a, pick) => {
                    let snapshot = self.home.with_extension("pre");
                    save(&self.home, &snapshot);
                    let (_, pts) = self.enumerate(a);
                    restore(&self.home, &snapshot);
                    let p = pick_point(&pts, pick).unwrap_or_else(|| {
                        panic!("setup `{}`: no kill point {pick:?}", a.join(" "))
                    });
                    done.push(format!(
                        "strace -f -e inject={}:signal=SIGKILL:when={} capiscio-tui {}",
                        p.syscall,
                        p.n,
                        a.join(" ")
                    ));
                    let r = self.rt.run_killed(a, &p, None);
                    assert!(
                        r.killed(),
                        "setup `{}` at {} was not killed: {}",
                        a.join(" "),
                        p.label(),
                        r.brief()
                    );
                }
                Step::Chmod(rel, mode) => {
                    done.push(format!("chmod {mode:o} ~/{rel}"));
                    fs::set_permissions(self.home.join(rel), fs::Permissions::from_mode(*mode))
                        .unwrap();
                }
                Step::Remove(rel) => {
                    done.push(format!("rm ~/{rel}"));
                    fs::remove_file(self.home.join(rel)).unwrap()
                }
            }
        }
        done
    }
}

impl Default for Bench {
    fn default() -> Self {
        Self::new()
    }
}

pub fn pick_point(pts: &[Point], pick: &Pick) -> Option<Point> {
    match pick {
        Pick::At(sc, n) => pts.iter().find(|p| &p.syscall == sc && p.n == *n).cloned(),
        Pick::Containing(text) => pts
            .iter()
            .find(|p| p.line.contains(text.as_str()))
            .or_else(|| {
                let renames: Vec<_> = pts
                    .iter()
                    .filter(|p| p.syscall.starts_with("rename"))
                    .collect();
                renames.get(renames.len() / 2).copied()
            })
            .cloned(),
        Pick::After(text) => {
            let at = pick_point(pts, &Pick::Containing(text.clone()))?;
            let i = pts.iter().position(|p| *p == at)?;
            pts.get(i + 1).cloned()
        }
    }
}

fn bytes_of(home: &Path, who: &Ident) -> BTreeMap<String, Vec<u8>> {
    let dir = home.join(who.rel());
    walk(&dir)
        .into_iter()
        .filter(|r| dir.join(r).is_file())
        .map(|r| (r.display().to_string(), fs::read(dir.join(&r)).unwrap()))
        .collect()
}

/// The registry API key the harness's dev registries require.
pub const REGISTRY_KEY: &str = "sk_test_crash0123456789SECRET";

/// The seed `export ID --format jwk` (or pem) yields, or why none.
pub fn exported_seed(rt: &Runner, who: &Ident) -> Result<Seed, String> {
    let r = rt.run(&args(&["export", &who.id, "--format", "jwk", "--offline"]));
    if !r.ok() {
        return Err(format!(
            "`export {} --format jwk` failed: {}",
            who.id,
            r.brief()
        ));
    }
    seed_from_jwk(&r.stdout)
        .or_else(|| seed_from_pem(&r.stdout))
        .ok_or_else(|| format!("`export {} --format jwk` printed no key", who.id))
}

/// Rebuilds a run's starting state: files from the template, keyring emptied, then the
/// per-run steps; returns the recoverable keys it starts with.
fn prepare(sc: &Scenario, b: &Bench) -> BTreeMap<String, Seed> {
    restore(&b.home, &b.template);
    b.rt.reset_keyring();
    b.build(&sc.extra.per_run);
    sc.extra
        .recoverable
        .iter()
        .map(|w| {
            let s = exported_seed(&b.rt, w)
                .unwrap_or_else(|e| panic!("[{}] starting state: {e}", sc.name));
            (w.id.clone(), s)
        })
        .collect()
}

/// Runs a scenario: baseline, then one SIGKILLed run per sampled kill point.
pub fn run_scenario(sc: &Scenario, sample: Sample) -> (Stats, Vec<Violation>) {
    let t0 = Instant::now();
    let mut st = Stats::default();
    let reg = sc
        .extra
        .registry
        .then(|| crate::support::DevReg::start(&["--api-key", REGISTRY_KEY]));
    let mut env = Vec::new();
    if let Some(reg) = &reg {
        for id in &sc.extra.registry_agents {
            let (code, v) = reg.post(
                "/v1/sdk/agents",
                &serde_json::json!({"id": id, "name": "agent", "status": "active"}).to_string(),
                Some(REGISTRY_KEY),
            );
            assert_eq!(code, 201, "dev registry: {v}");
        }
        env.push(("CAPISCIO_SERVER_URL".to_string(), reg.url.clone()));
        env.push(("CAPISCIO_API_KEY".to_string(), REGISTRY_KEY.to_string()));
    }
    let b = Bench::with(sc.extra.session, env);
    let mut setup_text = b.build(&sc.setup);
    save(&b.home, &b.template);
    let template_paths: BTreeSet<String> = walk(&b.home).iter().map(|p| normalize(p)).collect();
    let start_keys = prepare(sc, &b);
    setup_text.extend(sc.extra.per_run.iter().filter_map(|s| match s {
        Step::Run(a) => Some(format!("capiscio-tui {}", a.join(" "))),
        Step::Input(a, _) => Some(format!("echo <old key> | capiscio-tui {}", a.join(" "))),
        _ => None,
    }));
    if sc.extra.session != Session::Plain {
        setup_text.insert(
            0,
            format!(
                "(in one {} session; every command with --keyring {})",
                if sc.extra.session == Session::SecretService {
                    "dbus-run-session + unlocked gnome-keyring + keyctl"
                } else {
                    "keyctl"
                },
                sc.extra.session.label()
            ),
        );
    }
    if sc.extra.registry {
        setup_text.insert(
            0,
            format!(
                "capiscio-tui dev-registry --api-key {REGISTRY_KEY} (agents: {:?}); CAPISCIO_SERVER_URL + CAPISCIO_API_KEY set",
                sc.extra.registry_agents
            ),
        );
    }
    if let Some(i) = &sc.extra.stdin {
        setup_text.push(format!("(the command's stdin: {:?})", i.trim()));
    }
    let setup_text = setup_text.join("\n      ");

    let start_held = sc.subject.as_ref().map(|s| held(&b.home, s));
    let bystander_bytes: Vec<_> = sc
        .bystanders
        .iter()
        .map(|w| (w.clone(), bytes_of(&b.home, w)))
        .collect();
    let mut allowed = template_paths;
    allowed.extend(walk(&b.home).iter().map(|p| normalize(p)));
    let stdin = sc.extra.stdin.as_deref();

    // Baseline: the command, traced, from the starting state.
    let (base, points) = b.enumerate_in(&sc.cmd, stdin);
    st.runs += 1;
    // The harness's own `export` takes the identity's lock file: not the command's leftover.
    for w in &sc.extra.recoverable {
        let _ = exported_seed(&b.rt, w);
    }
    allowed.extend(walk(&b.home).iter().map(|p| normalize(p)));
    let ctx = Ctx {
        sc,
        setup: setup_text.clone(),
        start_held: start_held.as_ref(),
        bystander_bytes: &bystander_bytes,
        allowed: &allowed,
    };
    let mut vs = Vec::new();
    if base.ok() == sc.extra.refused {
        vs.push(Violation {
            scenario: sc.name.clone(),
            setup: setup_text.clone(),
            point: "baseline (no kill)".into(),
            call: "-".into(),
            what: if sc.extra.refused {
                format!("the command was not refused: {}", base.brief())
            } else {
                format!("the command failed without a crash: {}", base.brief())
            },
            recovery: "-".into(),
        });
    } else {
        // A clean run must itself satisfy the invariants (no recovery needed).
        let at_kill = sc.subject.as_ref().map(|s| held(&b.home, s));
        let mut add =
            |what: String| vs.push(violation(&ctx, "baseline (no kill)", "-", "none", what));
        check_keyring(&ctx, &b.rt, &start_keys, true, &mut add);
        check(
            &ctx,
            &b.rt,
            at_kill.as_ref(),
            "baseline (no kill)",
            "-",
            "none",
            &mut vs,
        );
    }

    let sample = match (sample, sc.extra.ci_every) {
        (Sample::Ci { .. }, Some(every)) => Sample::Ci { every },
        (s, _) => s,
    };
    let chosen = sample.pick(&points);
    st.points = points.len();
    for p in &chosen {
        let start_keys = prepare(sc, &b);
        let r = b.rt.run_killed(&sc.cmd, p, stdin);
        st.runs += 1;
        if !r.killed() {
            st.not_reached += 1;
            continue;
        }
        st.kills += 1;
        let at_kill = sc.subject.as_ref().map(|s| held(&b.home, s));
        let mut kill_vs = Vec::new();
        {
            let mut add = |what: String| {
                kill_vs.push(violation(
                    &ctx,
                    &p.label(),
                    &p.line,
                    "none (right after the kill)",
                    what,
                ))
            };
            check_keyring(&ctx, &b.rt, &start_keys, false, &mut add);
        }
        vs.extend(kill_vs);
        let rec = recover(sc, &b.rt);
        st.runs += rec.1;
        {
            let mut add =
                |what: String| vs.push(violation(&ctx, &p.label(), &p.line, &rec.0, what));
            check_keyring(&ctx, &b.rt, &start_keys, true, &mut add);
        }
        check(
            &ctx,
            &b.rt,
            at_kill.as_ref(),
            &p.label(),
            &p.line,
            &rec.0,
            &mut vs,
        );
    }
    b.rt.reset_keyring();
    st.violations = vs.len();
    st.secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "crash: {:<44} points {:>4} ran {:>4} kills {:>4} not-reached {:>3} violations {:>3} ({:.1}s)",
        sc.name,
        st.points,
        chosen.len(),
        st.kills,
        st.not_reached,
        st.violations,
        st.secs
    );
    (st, vs)
}

fn violation(ctx: &Ctx, point: &str, call: &str, recovery: &str, what: String) -> Violation {
    Violation {
        scenario: ctx.sc.name.clone(),
        setup: ctx.setup.clone(),
        point: point.to_string(),
        call: call.to_string(),
        what,
        recovery: recovery.to_string(),
    }
}

/// The keyring invariants: every recoverable key still exports as the same key; the index
/// is whole; `login` leaves the old or the new API key (the new one after recovery); after
/// recovery, no keyring entry is left that neither `list` nor `doctor` names.
fn check_keyring(
    ctx: &Ctx,
    rt: &Runner,
    start_keys: &BTreeMap<String, Seed>,
    recovered: bool,
    add: &mut dyn FnMut(String),
) {
    let sc = ctx.sc;
    for who in &sc.extra.recoverable {
        let want = start_keys[&who.id];
        match exported_seed(rt, who) {
            Ok(s) if s == want => {}
            Ok(s) => add(format!(
                "LOST KEY {}: {} now exports a different key {}",
                fp(&want),
                who.id,
                fp(&s)
            )),
            Err(e) => add(format!(
                "LOST KEY {} of {}: {e}; keyring holds {:?}; on disk: {}",
                fp(&want),
                who.id,
                rt.keyring_users(),
                match keys_anywhere(&rt.home).get(&want) {
                    Some(v) => v.join(", "),
                    None => "nowhere".into(),
                }
            )),
        }
    }
    let index = kr_index_path(&rt.home);
    let index_v = match fs::read_to_string(&index) {
        Ok(t) => match serde_json::from_str::<serde_json::Value>(&t) {
            Ok(v) => Some(v),
            Err(e) => {
                add(format!(
                    "HALF INDEX: ~/.capiscio/keyring-index.json is not JSON ({e}; {} bytes)",
                    t.len()
                ));
                None
            }
        },
        Err(_) => None,
    };
    if let Some((old, new)) = &sc.extra.api_keys {
        let stored = rt.keyring_secret("registry-api-key");
        let stored = stored.as_deref().map(str::trim);
        let ok = if recovered {
            stored == Some(new.as_str())
        } else {
            stored == Some(old.as_str()) || stored == Some(new.as_str())
        };
        if !ok {
            add(format!(
                "API KEY: the keyring holds {} (want {})",
                match stored {
                    Some(s) if s.len() > 12 => format!("a {}-byte key {}…", s.len(), &s[..12]),
                    Some(s) => format!("{s:?}"),
                    None => "no API key".into(),
                },
                if recovered {
                    "the new key"
                } else {
                    "the old or the new key"
                }
            ));
        }
        let marked = index_v
            .as_ref()
            .is_some_and(|v| !v["api_key_store"].is_null());
        if !marked {
            add("API KEY: keyring-index.json no longer records a stored API key (the tool would not use it)".into());
        }
    }
    if recovered && sc.extra.session != Session::Plain {
        let listed = rt.run(&args(&["list", "--json", "--offline"])).stdout;
        let doctor = rt.run(&args(&["doctor", "--offline"])).stdout;
        for user in rt.keyring_users() {
            let Some((_, id)) = user.split_once(':') else {
                continue;
            };
            if !listed.contains(&format!("\"{id}\"")) && !doctor.contains(id) {
                add(format!(
                    "ORPHAN KEYRING ENTRY {user}: in the keyring, but neither `list` nor `doctor` names it"
                ));
            }
        }
    }
}

fn kr_index_path(home: &Path) -> PathBuf {
    home.join(".capiscio/keyring-index.json")
}

/// Runs scenarios on `jobs` threads (each has its own HOME); results in list order.
pub fn run_scenarios(list: &[Scenario], sample: Sample, jobs: usize) -> Report {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(sc) = list.get(i) else { break };
                    let r = run_scenario(sc, sample);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);
    let mut report = Report::new();
    for (i, (st, vs)) in results {
        report.stats.push((list[i].name.clone(), st));
        report.violations.extend(vs);
    }
    report
}

/// Enumerates `op` from a scenario's starting state; used to build chains.
pub fn points_of(setup: &[Step], op: &[String]) -> Vec<Point> {
    let b = Bench::new();
    b.build(setup);
    b.enumerate(op).1
}

fn recover(sc: &Scenario, rt: &Runner) -> (String, usize) {
    let run = |_: &Path, a: &[String]| {
        rt.run_in(
            a,
            (a == sc.cmd.as_slice())
                .then_some(())
                .and(sc.extra.stdin.as_deref()),
        )
    };
    let home = rt.home.as_path();
    let mut log = Vec::new();
    let mut runs = 0;
    match sc.recovery {
        Recovery::Rotation => {
            let id = &sc.subject.as_ref().unwrap().id;
            let r = run(home, &args(&["rotate", id, "--resume", "--offline"]));
            runs += 1;
            log.push(format!("resume: {}", r.brief()));
            if !r.ok() {
                let r = run(
                    home,
                    &args(&["rotate", id, "--rollback", "--yes", "--offline"]),
                );
                runs += 1;
                log.push(format!("rollback: {}", r.brief()));
            }
        }
        Recovery::Generate => {
            for a in [
                args(&["list", "--json", "--offline"]),
                args(&["doctor", "--json", "--offline"]),
                sc.cmd.clone(),
            ] {
                let r = run(home, &a);
                runs += 1;
                log.push(format!("{}: {}", a[0], r.brief()));
            }
        }
        Recovery::Retry => {
            let r = run(home, &sc.cmd);
            runs += 1;
            log.push(format!("again: {}", r.brief()));
        }
    }
    (log.join("; "), runs)
}

struct Ctx<'a> {
    sc: &'a Scenario,
    setup: String,
    start_held: Option<&'a Held>,
    bystander_bytes: &'a [(Ident, BTreeMap<String, Vec<u8>>)],
    allowed: &'a BTreeSet<String>,
}

fn doctor_json(rt: &Runner) -> (String, serde_json::Value) {
    let r = rt.run(&args(&["doctor", "--json", "--offline"]));
    let v = serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null);
    (r.stdout, v)
}

fn interrupted(v: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in v["identities"].as_array().into_iter().flatten() {
        for p in i["problems"].as_array().into_iter().flatten() {
            if p["code"] == "rotation-interrupted" {
                out.push((
                    i["id"].as_str().unwrap_or("?").to_string(),
                    p["fix"].as_str().unwrap_or("").to_string(),
                ));
            }
        }
    }
    out
}

fn check(
    ctx: &Ctx,
    rt: &Runner,
    at_kill: Option<&Held>,
    point: &str,
    call: &str,
    recovery: &str,
    vs: &mut Vec<Violation>,
) {
    let sc = ctx.sc;
    let mut add = |what: String| {
        vs.push(Violation {
            scenario: sc.name.clone(),
            setup: ctx.setup.clone(),
            point: point.to_string(),
            call: call.to_string(),
            what,
            recovery: recovery.to_string(),
        })
    };

    // (d) doctor must not report an interrupted rotation; if it names a command, that
    // command must finish it.
    let home = rt.home.as_path();
    let (mut doctor_text, dv) = doctor_json(rt);
    if dv.is_null() {
        add("`doctor --json --offline` printed no JSON".into());
    }
    for (id, fix) in interrupted(&dv) {
        let cmd = fix.split('`').nth(1).map(|c| {
            c.split_whitespace()
                .skip(1)
                .map(String::from)
                .collect::<Vec<_>>()
        });
        let fixed = cmd.as_ref().is_some_and(|c| {
            let mut c = c.clone();
            if !c.iter().any(|a| a == "--offline") {
                c.push("--offline".into());
            }
            let r = rt.run(&c);
            r.ok() && interrupted(&doctor_json(rt).1).is_empty()
        });
        if fixed {
            doctor_text = doctor_json(rt).0;
        } else {
            add(format!(
                "doctor still reports rotation-interrupted for {id} after recovery (fix: {fix:?}; running it did not clear it)"
            ));
        }
    }

    let anywhere = keys_anywhere(home);
    let where_is = |s: &Seed| match anywhere.get(s) {
        Some(v) => format!("only left in {}", v.join(", ")),
        None => "GONE from the whole home".to_string(),
    };

    // (a) + (b) for the subject identity.
    if let Some(who) = &sc.subject {
        let now = held(home, who);
        if let Some(e) = &now.current_err {
            add(format!(
                "{} holds no complete key pair: {e}",
                who.rel().display()
            ));
        }
        let mut required: BTreeMap<Seed, String> = BTreeMap::new();
        let mut need = |h: &Held, when: &str| {
            if let Some(c) = h.current.or(h.current_private) {
                required
                    .entry(c)
                    .or_insert_with(|| format!("current key {when}"));
            }
            if !sc.may_drop_archive {
                for (s, path) in &h.archived {
                    required
                        .entry(*s)
                        .or_insert_with(|| format!("archived key {when} (archive/{path})"));
                }
            }
        };
        if let Some(h) = ctx.start_held {
            need(h, "at the start");
        }
        if let Some(h) = at_kill {
            need(h, "at the kill");
        }
        let have = now.all();
        for (s, what) in &required {
            if !have.contains(s) {
                add(format!(
                    "LOST KEY {}: the {what} is neither current nor archived in {}; {}",
                    fp(s),
                    who.rel().display(),
                    where_is(s)
                ));
            }
        }
    }

    // Bystanders: untouched.
    for (who, before) in ctx.bystander_bytes {
        if &bytes_of(home, who) != before {
            add(format!(
                "bystander identity {} was changed",
                who.rel().display()
            ));
        }
    }

    // (c) no half identity visible; no stray key material or leftovers that neither the
    // next run cleaned nor doctor reports.
    for kind in [IdKind::Agent, IdKind::Server] {
        let parent = home.join(kind.parent());
        let Ok(rd) = fs::read_dir(&parent) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !e.path().is_dir() {
                continue;
            }
            let private = match kind {
                IdKind::Agent => "private.jwk",
                IdKind::Server => "private_key.pem",
            };
            if e.path().join("keyring.json").is_file() && !e.path().join(private).exists() {
                // Its private key is in the keyring: the public half must match it.
                let who = Ident {
                    kind,
                    id: name.clone(),
                };
                let public = match kind {
                    IdKind::Agent => fs::read_to_string(e.path().join("public.jwk"))
                        .ok()
                        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                        .and_then(|v| v["x"].as_str().map(String::from))
                        .and_then(|x| {
                            base64::engine::general_purpose::URL_SAFE_NO_PAD
                                .decode(x)
                                .ok()
                        })
                        .and_then(|b| <[u8; 32]>::try_from(b).ok()),
                    IdKind::Server => fs::read_to_string(e.path().join("public_key.pem"))
                        .ok()
                        .and_then(|t| public_from_pem(&t)),
                };
                match exported_seed(rt, &who) {
                    Ok(s) if public == Some(public_of(&s)) => {}
                    Ok(s) => add(format!(
                        "HALF IDENTITY visible: {}/{name}: keyring key {} does not match its public key file",
                        kind.parent(),
                        fp(&s)
                    )),
                    Err(err) => add(format!(
                        "HALF IDENTITY visible: {}/{name}: a keyring marker but {err} (contents: {})",
                        kind.parent(),
                        list_dir(&e.path())
                    )),
                }
            } else if let Err(err) = complete_pair(&e.path(), kind) {
                add(format!(
                    "HALF IDENTITY visible: {}/{name}: {err} (contents: {})",
                    kind.parent(),
                    list_dir(&e.path())
                ));
            } else if kind == IdKind::Agent
                && sc.kind_for_generate == Some(IdKind::Agent)
                && !e.path().join("agent-card.json").is_file()
            {
                add(format!(
                    "HALF IDENTITY visible: {}/{name}: no agent-card.json",
                    kind.parent()
                ));
            }
        }
    }
    let legit = |rel: &Path| -> bool {
        let comps: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let is_parent = |i: usize| {
            comps.len() > i + 1
                && comps[0] == ".capiscio"
                && (comps[1] == "keys" || comps[1] == "mcp-servers")
                && !comps[2].starts_with('.')
        };
        // <parent>/<id>/private file, or <parent>/<id>/archive/<entry>/private file.
        (is_parent(2) && comps.len() == 4 && comps[3].starts_with("private"))
            || (is_parent(2)
                && comps.len() == 6
                && comps[3] == "archive"
                && comps[5].starts_with("private"))
    };
    for rel in walk(home) {
        let p = home.join(&rel);
        let name = rel.display().to_string();
        let reported = rel.components().any(|c| {
            let c = c.as_os_str().to_string_lossy();
            c.starts_with('.') && c != ".capiscio" && doctor_text.contains(c.as_ref())
        }) || doctor_text.contains(&name);
        if p.is_file() && !legit(&rel) && holds_secret(&p) && !reported {
            add(format!(
                "STRAY PRIVATE KEY file ~/{name} (mode {:o}){}: not cleaned by the next run, not reported by doctor",
                fs::metadata(&p)
                    .map(|m| m.permissions().mode() & 0o777)
                    .unwrap_or(0),
                seed_from_file(&p)
                    .map(|s| format!(", key {}", fp(&s)))
                    .unwrap_or_default()
            ));
            continue;
        }
        // An empty lock file is the normal state of a flock()-locked path, not a crash's
        // leftover: it holds nothing and is never "stale" (the lock dies with its holder).
        let empty_lock =
            name.ends_with(".lock") && p.is_file() && fs::metadata(&p).is_ok_and(|m| m.len() == 0);
        let norm = normalize(&rel);
        if !ctx.allowed.contains(&norm) && !reported && !empty_lock {
            // Report each leftover once: skip entries inside an already-reported dir.
            let parent_reported = rel
                .parent()
                .is_some_and(|par| !ctx.allowed.contains(&normalize(par)));
            if !parent_reported {
                add(format!(
                    "LEFTOVER ~/{name} ({}): not cleaned by the next run, not reported by doctor",
                    if p.is_dir() {
                        format!("dir: {}", list_dir(&p))
                    } else {
                        format!("{} bytes", fs::metadata(&p).map(|m| m.len()).unwrap_or(0))
                    }
                ));
            }
        }
    }
}

fn list_dir(p: &Path) -> String {
    let v: Vec<String> = walk(p).iter().map(|r| r.display().to_string()).collect();
    if v.is_empty() {
        "empty".into()
    } else {
        v.join(" ")
    }
}
