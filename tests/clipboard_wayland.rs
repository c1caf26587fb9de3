//! The real Wayland clipboard: each test starts its own headless sway (wlroots, pixman
//! renderer, no XWayland) and copies with `export --copy` or the UI's `c`, then reads back
//! with `wl-paste` from another process: the exact text, the history-exclusion hint, the
//! clear at the deadline only while it is still ours. sway refuses to run as root, so as
//! root it runs as an unprivileged user in a runtime directory of its own; the binary and
//! wl-clipboard stay the test's user (root reaches the socket). Runs when sway and
//! wl-clipboard are installed at build time; CI sets CAPISCIO_TUI_TEST_WAYLAND=1.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The unprivileged account sway runs as when the tests run as root.
const USER: &str = "capiscio-tui-wl";

fn runs(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn enabled() -> bool {
    if runs("sway") && runs("wl-paste") && runs("wl-copy") {
        return true;
    }
    assert!(
        std::env::var_os("CAPISCIO_TUI_TEST_WAYLAND").is_none(),
        "CAPISCIO_TUI_TEST_WAYLAND is set but sway or wl-clipboard is missing"
    );
    eprintln!("skipped: needs sway and wl-clipboard");
    false
}

fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The uid and gid sway runs as: ours, or the unprivileged account's when we are root.
fn compositor_user() -> Option<(u32, u32)> {
    if id(&["-u"]) != Some(0) {
        return None;
    }
    static CREATE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = CREATE.lock().unwrap_or_else(|e| e.into_inner());
    if id(&["-u", USER]).is_none() {
        // /usr/sbin may be missing from a non-login root's PATH.
        let useradd = ["/usr/sbin/useradd", "/sbin/useradd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("useradd");
        let st = Command::new(useradd)
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
            ])
            .arg(USER)
            .status()
            .expect("useradd (passwd) is needed to run sway as an unprivileged user");
        assert!(st.success(), "useradd {USER} failed");
    }
    Some((id(&["-u", USER]).unwrap(), id(&["-g", USER]).unwrap()))
}

/// A headless sway with its own XDG_RUNTIME_DIR; killed on drop.
struct Sway {
    child: Child,
    runtime: tempfile::TempDir,
    display: String,
}

impl Sway {
    fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let runtime = tempfile::tempdir().unwrap();
        let log = runtime.path().join("sway.log");
        let mut cmd = Command::new("sway");
        cmd.args(["-c", "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", runtime.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .current_dir(runtime.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some((uid, gid)) = compositor_user() {
            std::os::unix::fs::chown(runtime.path(), Some(uid), Some(gid)).unwrap();
            // std drops the supplementary groups too when it changes the uid as root.
            cmd.uid(uid).gid(gid);
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("cannot start sway");
        let display = loop {
            if let Some(name) = Self::socket(runtime.path())
                && std::os::unix::net::UnixStream::connect(runtime.path().join(&name)).is_ok()
            {
                break name;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "sway exited ({st}):\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            if started.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!(
                    "sway did not open a socket:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        eprintln!("sway listening after {:?}", started.elapsed());
        Self {
            child,
            runtime,
            display,
        }
    }

    /// `wayland-N`, the socket (not its `.lock`).
    fn socket(dir: &Path) -> Option<String> {
        std::fs::read_dir(dir).ok()?.find_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let n = name.strip_prefix("wayland-")?;
            n.chars().all(|c| c.is_ascii_digit()).then_some(name)
        })
    }

    fn runtime(&self) -> PathBuf {
        self.runtime.path().to_path_buf()
    }

    /// A command talking to this compositor only (no X11 display to fall back to).
    fn env(&self, c: &mut Command) {
        c.env_remove("DISPLAY")
            .env("XDG_RUNTIME_DIR", self.runtime())
            .env("WAYLAND_DISPLAY", &self.display);
    }

    fn wl(&self, tool: &str, args: &[&str]) -> Command {
        let mut c = Command::new(tool);
        c.args(args);
        self.env(&mut c);
        c
    }

    /// The clipboard's text as another Wayland client pastes it; None when empty.
    fn paste(&self) -> Option<String> {
        self.paste_type(None)
    }

    fn paste_type(&self, mime: Option<&str>) -> Option<String> {
        let mut c = self.wl("wl-paste", &["--no-newline"]);
        if let Some(m) = mime {
            c.args(["--type", m]);
        }
        let out = output_within(c, Duration::from_secs(10)).expect("wl-paste hung");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            .filter(|s| !s.is_empty())
    }

    fn types(&self) -> Vec<String> {
        let out = output_within(
            self.wl("wl-paste", &["--list-types"]),
            Duration::from_secs(10),
        )
        .expect("wl-paste hung");
        stdout(&out).lines().map(str::to_string).collect()
    }

    /// Copies as the user would from another program (wl-copy stays to serve it).
    fn copy(&self, text: &str) {
        let mut c = self.wl("wl-copy", &[]);
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
    }
}

impl Drop for Sway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(h: &Home, id: &str) -> String {
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", id])
            .status
            .success()
    );
    stdout(&h.run(&["export", id, "--format", "env"]))
}

/// The private scalar `d` of the JWK in an env line: what must never be printed.
fn private_part(env_line: &str) -> String {
    let rest = env_line.split("\"d\": \"").nth(1).expect("a private JWK");
    rest.split('"').next().unwrap().to_string()
}

fn assert_no_key(out: &Output, key: &str) {
    for text in [stdout(out), stderr(out)] {
        assert!(!text.contains(key), "the private key was printed:\n{text}");
    }
}

fn export_copy(sway: &Sway, h: &Home, id: &str, format: &str, clear_after: &str) -> Output {
    let mut c = h.cmd();
    sway.env(&mut c);
    c.args(["export", id, "--format", format, "--copy"])
        .args(["--clear-after", clear_after]);
    output_within(c, Duration::from_secs(20)).expect("export --copy hung")
}

/// Waits (bounded) until the clipboard holds `want`; returns what it last held.
fn paste_until(sway: &Sway, want: Option<&str>, secs: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let got = sway.paste();
        if got.as_deref() == want || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn export_copy_is_on_the_wayland_clipboard_then_cleared() {
    if !enabled() {
        return;
    }
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let key = private_part(&expected);
    let out = export_copy(&sway, &h, "w-agent", "env", "2");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Copied env for w-agent — clears in 2s"));
    assert!(stdout(&out).is_empty(), "--copy prints nothing");
    assert_no_key(&out, &key);
    assert_eq!(
        sway.paste().as_deref(),
        Some(expected.as_str()),
        "another client pastes the exact text after the CLI has exited"
    );
    // Excluded from history the only way Wayland allows: the KDE password-manager hint
    // offered beside the text (data-control itself has no such flag).
    assert!(
        sway.types()
            .iter()
            .any(|t| t == "x-kde-passwordManagerHint"),
        "offered types: {:?}",
        sway.types()
    );
    assert_eq!(
        sway.paste_type(Some("x-kde-passwordManagerHint"))
            .as_deref(),
        Some("secret")
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(sway.paste(), None, "cleared after the deadline");
}

#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn not_cleared_when_the_user_copied_something_else() {
    if !enabled() {
        return;
    }
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let out = export_copy(&sway, &h, "w-agent", "env", "2");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
    sway.copy("the user's own text");
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(sway.paste().as_deref(), Some("the user's own text"));
}

/// A Wayland session with XWayland sets both: the text goes to Wayland's own clipboard
/// (an X11 selection reaches Wayland apps only through XWayland's focus rules); a
/// WAYLAND_DISPLAY with no compositor behind it falls back to X11. The X11 half needs a
/// display and xclip (CI runs the tests under Xvfb); without them DISPLAY names no
/// server, which still proves Wayland was chosen over it.
#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn wayland_is_chosen_over_x11_when_both_are_set() {
    if !enabled() {
        return;
    }
    let x = std::env::var("DISPLAY")
        .ok()
        .filter(|d| !d.is_empty() && Command::new("xclip").arg("-version").output().is_ok());
    let x11 = |c: &mut Command| {
        c.env("DISPLAY", x.as_deref().unwrap_or(":97"));
        if let Some(a) = std::env::var_os("XAUTHORITY") {
            c.env("XAUTHORITY", a);
        }
    };
    let xclip_out = || {
        let mut c = Command::new("xclip");
        c.args(["-o", "-selection", "clipboard"]);
        x11(&mut c);
        let out = output_within(c, Duration::from_secs(10)).expect("xclip hung");
        out.status
            .success()
            .then(|| stdout(&out))
            .filter(|s| !s.is_empty())
    };
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    if x.is_some() {
        let mut c = Command::new("xclip");
        c.args(["-i", "-selection", "clipboard"])
            .stdin(Stdio::piped());
        x11(&mut c);
        let mut child = c.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"x11 before")
            .unwrap();
        assert!(child.wait().unwrap().success());
    }

    let mut c = h.cmd();
    sway.env(&mut c);
    x11(&mut c);
    c.args([
        "export",
        "w-agent",
        "--format",
        "env",
        "--copy",
        "--clear-after",
        "30",
    ]);
    let out = output_within(c, Duration::from_secs(20)).expect("export --copy hung");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
    if x.is_none() {
        eprintln!("no X display with xclip: only checked that Wayland was chosen");
        return;
    }
    assert_eq!(
        xclip_out().as_deref(),
        Some("x11 before"),
        "the X11 clipboard was left alone"
    );

    // The compositor is gone from WAYLAND_DISPLAY's name: X11 takes the copy.
    let mut c = h.cmd();
    sway.env(&mut c);
    x11(&mut c);
    c.env("WAYLAND_DISPLAY", "wayland-77");
    c.args([
        "export",
        "w-agent",
        "--format",
        "jwk",
        "--copy",
        "--clear-after",
        "5",
    ]);
    let out = output_within(c, Duration::from_secs(20)).expect("export --copy hung");
    assert!(out.status.success(), "{}", stderr(&out));
    let jwk = stdout(&h.run(&["export", "w-agent", "--format", "jwk"]));
    assert_eq!(xclip_out().as_deref(), Some(jwk.as_str()));
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
}

/// Neither clipboard can be opened: the CLI says which and why, prints no key, and does
/// not fall back to OSC 52 (WAYLAND_DISPLAY says there is a local session).
#[test]
fn no_wayland_compositor_and_no_x11_is_reported_plainly() {
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let runtime = tempfile::tempdir().unwrap();
    let mut c = h.cmd();
    c.env("XDG_RUNTIME_DIR", runtime.path())
        .env("WAYLAND_DISPLAY", "wayland-9")
        .args(["export", "w-agent", "--format", "env", "--copy"]);
    let out = output_within(c, Duration::from_secs(20)).expect("export --copy hung");
    assert!(!out.status.success());
    assert_eq!(
        stderr(&out).trim(),
        "capiscio-tui: error: cannot copy: no system clipboard: no Wayland compositor at \
         WAYLAND_DISPLAY=wayland-9; DISPLAY is not set; pipe the output instead"
    );
    assert!(stdout(&out).is_empty());
    assert_no_key(&out, &private_part(&expected));
}

#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn tui_copy_and_hand_off_on_quit() {
    if !enabled() || !Tmux::available() {
        return;
    }
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let t = Tmux::start(
        "wayland",
        110,
        30,
        &format!(
            "env -u DISPLAY -u SSH_TTY -u SSH_CONNECTION XDG_RUNTIME_DIR={} WAYLAND_DISPLAY={} \
             HOME={} TERM=xterm-256color {bin} --clear-after 4; sleep 30",
            sway.runtime().display(),
            sway.display,
            h.path().display()
        ),
    );
    t.wait_for("w-agent", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["Enter"]);
    t.wait_for("Copied env for w-agent", 5);
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
    assert!(
        sway.types()
            .iter()
            .any(|t| t == "x-kde-passwordManagerHint"),
        "the UI's copy is excluded from history too"
    );
    t.wait_for("clears in 2s", 4);
    // Quit before the deadline: the holder keeps serving it, then clears it.
    t.send(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sway.paste().as_deref(),
        Some(expected.as_str()),
        "handed off to the holder"
    );
    assert_eq!(paste_until(&sway, None, 6), None, "cleared at the deadline");
}

#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn tui_clear_at_the_deadline_spares_the_users_own_copy() {
    if !enabled() || !Tmux::available() {
        return;
    }
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let t = Tmux::start(
        "wayland-spare",
        110,
        30,
        &format!(
            "env -u DISPLAY -u SSH_TTY -u SSH_CONNECTION XDG_RUNTIME_DIR={} WAYLAND_DISPLAY={} \
             HOME={} TERM=xterm-256color {bin} --clear-after 3; sleep 30",
            sway.runtime().display(),
            sway.display,
            h.path().display()
        ),
    );
    t.wait_for("w-agent", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["Enter"]);
    t.wait_for("Copied env for w-agent", 5);
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
    sway.copy("copied meanwhile");
    std::thread::sleep(Duration::from_millis(4000));
    assert_eq!(sway.paste().as_deref(), Some("copied meanwhile"));
    t.send(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sway.paste().as_deref(), Some("copied meanwhile"));
}

/// The UI's copy when neither clipboard opens: the status bar says why.
#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it or set CAPISCIO_TUI_TEST_TUI=1"
)]
fn tui_says_why_when_no_clipboard_opens() {
    if !Tmux::available() {
        assert!(std::env::var_os("CAPISCIO_TUI_TEST_TUI").is_none());
        return;
    }
    let h = Home::new();
    agent(&h, "w-agent");
    let runtime = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let t = Tmux::start(
        "wayland-none",
        160,
        30,
        &format!(
            "env -u DISPLAY -u SSH_TTY -u SSH_CONNECTION XDG_RUNTIME_DIR={} \
             WAYLAND_DISPLAY=wayland-9 HOME={} TERM=xterm-256color {bin}; sleep 30",
            runtime.path().display(),
            h.path().display()
        ),
    );
    t.wait_for("w-agent", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["Enter"]);
    t.wait_for(
        "no system clipboard: no Wayland compositor at WAYLAND_DISPLAY=wayland-9;",
        5,
    );
}

#[test]
#[cfg_attr(
    not(capiscio_test_wayland),
    ignore = "needs sway and wl-clipboard: set CAPISCIO_TUI_TEST_WAYLAND=1 (apt-get install sway wl-clipboard)"
)]
fn tui_clears_its_copy_at_the_deadline_while_open() {
    if !enabled() || !Tmux::available() {
        return;
    }
    let sway = Sway::start();
    let h = Home::new();
    let expected = agent(&h, "w-agent");
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let t = Tmux::start(
        "wayland-open",
        110,
        30,
        &format!(
            "env -u DISPLAY -u SSH_TTY -u SSH_CONNECTION XDG_RUNTIME_DIR={} WAYLAND_DISPLAY={} \
             HOME={} TERM=xterm-256color {bin} --clear-after 2; sleep 30",
            sway.runtime().display(),
            sway.display,
            h.path().display()
        ),
    );
    t.wait_for("w-agent", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["Enter"]);
    t.wait_for("Copied env for w-agent", 5);
    assert_eq!(sway.paste().as_deref(), Some(expected.as_str()));
    assert_eq!(paste_until(&sway, None, 6), None, "cleared by the open UI");
    assert!(
        t.capture().contains("w-agent"),
        "the UI is still running: {}",
        t.capture()
    );
}
