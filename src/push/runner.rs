//! Runs one planned [`Call`]: the program found on PATH, a filtered environment (what
//! the CLIs need for their logins, nothing of ours), the key on stdin only, output
//! captured (capped) and redacted, and a deadline after which the whole process group
//! is killed.

use super::redact::Redactor;
use super::{Call, Finished, Input};
use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Output kept per stream; the rest is read and dropped so the child never blocks.
const OUTPUT_CAP: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("`{program}` is not installed (not found on PATH): {hint}")]
    Missing { program: String, hint: String },
    #[error("cannot run `{program}`: {message}")]
    Spawn { program: String, message: String },
    #[error("`{program}` did not finish within {secs} s and was stopped (raise it with --timeout)")]
    Timeout { program: String, secs: u64 },
}

/// Variables a secrets CLI may need: its credentials, profiles, endpoints, config
/// locations, proxies and certificates. Everything else (ours included: the
/// CAPISCIO_* key variables above all) stays out of the child.
const KEEP: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TERM",
    "KUBECONFIG",
    "GITHUB_TOKEN",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "VIRTUAL_ENV",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
];
const KEEP_PREFIX: &[&str] = &[
    "LC_",
    "AWS_",
    "VAULT_",
    "BAO_",
    "CLOUDSDK_",
    "GOOGLE_",
    "GH_",
    "DOPPLER_",
    "OP_",
    "PYENV_",
];

/// The environment a child gets: the allowed variables, minus any whose value holds
/// the key (a user's shell may export it under a name we would otherwise pass on).
pub fn child_env(secret: &str) -> Vec<(OsString, OsString)> {
    let trimmed = secret.trim();
    std::env::vars_os()
        .filter(|(k, v)| {
            let Some(k) = k.to_str() else { return false };
            let allowed = KEEP.contains(&k) || KEEP_PREFIX.iter().any(|p| k.starts_with(p));
            let v = v.to_string_lossy();
            allowed && (trimmed.is_empty() || !v.contains(trimmed))
        })
        .collect()
}

/// The program's path on PATH, as `execvp` would find it.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Output read so far, shared with the thread reading it: a caller that stops waiting
/// (a grandchild holding the pipe open) still gets what the child wrote.
type Sink = std::sync::Arc<std::sync::Mutex<Zeroizing<Vec<u8>>>>;

fn drain(mut r: impl std::io::Read, kept: Sink) {
    let mut buf = Zeroizing::new([0u8; 8192]);
    loop {
        match r.read(&mut buf[..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let Ok(mut kept) = kept.lock() else { break };
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

fn reader(
    r: Option<impl std::io::Read + Send + 'static>,
) -> (Sink, Option<std::thread::JoinHandle<()>>) {
    let sink = Sink::default();
    let handle = r.map(|r| {
        let sink = sink.clone();
        std::thread::spawn(move || drain(r, sink))
    });
    (sink, handle)
}

fn taken(sink: &Sink) -> Zeroizing<Vec<u8>> {
    sink.lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

/// How long output is still awaited after the child exits: its own writes are in the
/// pipe by then; only something it started (and left holding the pipe) writes later.
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Runs `call`. `stdout` comes back as is (a read returns the key in it: the caller
/// parses and drops it, never shows it); `stderr` comes back redacted.
pub fn run(
    call: &Call,
    secret: &str,
    hint: &str,
    timeout: Duration,
    redactor: &Redactor,
) -> Result<Finished, RunError> {
    let program = call.argv[0].clone();
    let Some(path) = find_program(&program) else {
        return Err(RunError::Missing {
            program,
            hint: hint.to_string(),
        });
    };
    let mut cmd = Command::new(&path);
    cmd.args(&call.argv[1..])
        .env_clear()
        .envs(child_env(secret))
        .stdin(match call.input {
            Input::Nothing => Stdio::null(),
            _ => Stdio::piped(),
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        // Its own process group, so a timeout stops whatever it started too.
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| RunError::Spawn {
        program: program.clone(),
        message: e.to_string(),
    })?;
    let input: Option<Zeroizing<Vec<u8>>> = match &call.input {
        Input::Nothing => None,
        Input::Secret => Some(Zeroizing::new(secret.as_bytes().to_vec())),
        Input::Payload(p) => Some(Zeroizing::new(p.as_bytes().to_vec())),
    };
    let stdin = child.stdin.take();
    let writer = std::thread::spawn(move || {
        if let (Some(mut w), Some(bytes)) = (stdin, input) {
            // A CLI that exits without reading is reported by its exit status.
            let _ = w.write_all(&bytes);
        }
    });
    let (out, out_t) = reader(child.stdout.take());
    let (err, err_t) = reader(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                return Err(RunError::Spawn {
                    program,
                    message: e.to_string(),
                });
            }
        }
    };
    let Some(status) = status else {
        // The readers are left behind: a grandchild that escaped the group (setsid)
        // may hold the pipes for as long as it likes.
        kill_group(&mut child);
        let _ = child.wait();
        return Err(RunError::Timeout {
            program,
            secs: timeout.as_secs().max(1),
        });
    };
    // EOF comes when every holder of the pipes is gone; a grandchild left running may
    // never close them. Wait a little, never past the deadline, then stop whatever is
    // left in the group and take what was written.
    let until = (Instant::now() + EXIT_GRACE).min(deadline.max(Instant::now()));
    let pending =
        |t: &Option<std::thread::JoinHandle<()>>| t.as_ref().is_some_and(|t| !t.is_finished());
    while (pending(&out_t) || pending(&err_t) || !writer.is_finished()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(2));
    }
    if pending(&out_t) || pending(&err_t) || !writer.is_finished() {
        kill_group(&mut child);
    }
    let stdout = taken(&out);
    let stderr = taken(&err);
    Ok(Finished {
        code: status.code(),
        stdout: Zeroizing::new(String::from_utf8_lossy(&stdout).into_owned()),
        stderr: crate::core::text::printable(&redactor.redact(&String::from_utf8_lossy(&stderr)))
            .into_owned(),
    })
}

fn kill_group(child: &mut std::process::Child) {
    #[cfg(target_os = "linux")]
    {
        let pid = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}
