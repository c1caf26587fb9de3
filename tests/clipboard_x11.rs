//! The real X11 clipboard (Xvfb in CI): copy from `export --copy` and from the TUI, read
//! it back with `xclip -o` from another process, check it is cleared after the deadline,
//! and not cleared when the user copied something else meanwhile. Runs when DISPLAY is
//! set and xclip is installed; CI sets CAPISCIO_TUI_TEST_X=1 to require it.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

fn enabled() -> bool {
    let display = std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty());
    let xclip = Command::new("xclip").arg("-version").output().is_ok();
    if display && xclip {
        return true;
    }
    assert!(
        std::env::var_os("CAPISCIO_TUI_TEST_X").is_none(),
        "CAPISCIO_TUI_TEST_X is set but there is no DISPLAY or xclip"
    );
    eprintln!("skipped: needs an X display (DISPLAY) and xclip");
    false
}

fn clipboard() -> Option<String> {
    let out = Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        .filter(|s| !s.is_empty())
}

fn set_clipboard(text: &str) {
    use std::io::Write;
    let mut child = Command::new("xclip")
        .args(["-i", "-selection", "clipboard"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait().unwrap();
}

fn cmd(h: &Home) -> Command {
    let mut c = h.cmd();
    c.env("DISPLAY", std::env::var_os("DISPLAY").unwrap());
    if let Some(x) = std::env::var_os("XAUTHORITY") {
        c.env("XAUTHORITY", x);
    }
    c
}

/// The X tests share one display: run them one after another.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
#[cfg_attr(
    not(capiscio_test_x),
    ignore = "needs an X display and xclip: set CAPISCIO_TUI_TEST_X=1 and run under xvfb-run"
)]
fn export_copy_is_readable_then_cleared() {
    if !enabled() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", "x-agent"])
            .status
            .success()
    );
    let expected = stdout(&h.run(&["export", "x-agent", "--format", "env"]));
    let out = cmd(&h)
        .args([
            "export",
            "x-agent",
            "--format",
            "env",
            "--copy",
            "--clear-after",
            "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("clears in 2s"));
    assert!(stdout(&out).is_empty(), "--copy prints nothing");
    assert_eq!(
        clipboard().as_deref(),
        Some(expected.as_str()),
        "another process reads it while the CLI has exited"
    );
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(clipboard(), None, "cleared after the deadline");
}

#[test]
#[cfg_attr(
    not(capiscio_test_x),
    ignore = "needs an X display and xclip: set CAPISCIO_TUI_TEST_X=1 and run under xvfb-run"
)]
fn not_cleared_when_the_user_copied_something_else() {
    if !enabled() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", "x-agent"])
            .status
            .success()
    );
    let out = cmd(&h)
        .args([
            "export",
            "x-agent",
            "--format",
            "jwk",
            "--copy",
            "--clear-after",
            "2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    set_clipboard("the user's own text");
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(clipboard().as_deref(), Some("the user's own text"));
}

#[test]
#[cfg_attr(
    not(capiscio_test_x),
    ignore = "needs an X display and xclip: set CAPISCIO_TUI_TEST_X=1 and run under xvfb-run"
)]
fn tui_copy_and_hand_off_on_quit() {
    if !enabled() || !Tmux::available() {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = Home::new();
    assert!(
        h.run(&["generate", "--kind", "agent", "--id", "x-agent"])
            .status
            .success()
    );
    let expected = stdout(&h.run(&["export", "x-agent", "--format", "env"]));
    let bin = env!("CARGO_BIN_EXE_capiscio-tui");
    let display = std::env::var("DISPLAY").unwrap();
    let xauth = std::env::var("XAUTHORITY")
        .map(|x| format!("XAUTHORITY={x}"))
        .unwrap_or_default();
    let dir = h.path().display();
    let t = Tmux::start(
        "xclip",
        110,
        30,
        &format!(
            "env DISPLAY={display} {xauth} HOME={dir} TERM=xterm-256color {bin} --clear-after 4; sleep 30"
        ),
    );
    t.wait_for("x-agent", 10);
    t.send(&["c"]);
    t.wait_for("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{", 5);
    t.send(&["Enter"]);
    t.wait_for("Copied env for x-agent", 5);
    assert_eq!(clipboard().as_deref(), Some(expected.as_str()));
    t.wait_for("clears in 2s", 4);
    // Quit before the deadline: the text stays available, then is cleared.
    t.send(&["q"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        clipboard().as_deref(),
        Some(expected.as_str()),
        "handed off to the holder"
    );
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(clipboard(), None, "cleared at the deadline");
}
