//! Copying secrets to the clipboard, and clearing them again. One arboard handle for the
//! TUI's lifetime (X11/Wayland selections die with their owner); OSC 52 to the terminal
//! over SSH or without a display ("sent to terminal", not "copied"); auto-clear only if
//! the clipboard still holds what we put there. A CLI call exits at once, so it hands the
//! text to a short-lived child (`capiscio-tui __clipboard-hold`) that serves it until the
//! deadline and then clears it.

use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// In the system clipboard; cleared after the given time (if still ours).
    Copied { clears_in: Option<Duration> },
    /// Written to the terminal as OSC 52; whether it arrived depends on the terminal.
    /// Cleared after the given time by an empty OSC 52 set (`None`: never).
    SentToTerminal { clears_in: Option<Duration> },
}

impl Outcome {
    pub fn describe(&self) -> String {
        match self {
            Self::Copied { clears_in: Some(d) } => format!("copied — clears in {}s", d.as_secs()),
            Self::Copied { clears_in: None } => "copied (not cleared automatically)".into(),
            Self::SentToTerminal { clears_in: Some(d) } => {
                format!("sent to terminal (OSC 52) — clears in {}s", d.as_secs())
            }
            Self::SentToTerminal { clears_in: None } => {
                "sent to terminal (OSC 52); not cleared automatically (clear-after is off)".into()
            }
        }
    }
}

/// Over SSH, or with no display server, the system clipboard is not the user's.
pub fn should_use_osc52() -> bool {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    set("SSH_TTY")
        || set("SSH_CONNECTION")
        || (cfg!(target_os = "linux") && !set("DISPLAY") && !set("WAYLAND_DISPLAY"))
}

/// The empty OSC 52 set: terminals that honour OSC 52 clear their clipboard on it.
pub const OSC52_CLEAR: &str = "\x1b]52;c;\x07";

pub fn osc52_sequence(text: &str) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "\x1b]52;c;{}\x07",
        crate::core::b64::std_encode(text.as_bytes())
    ))
}

/// Opens the system clipboard. With WAYLAND_DISPLAY set, arboard tries the Wayland
/// data-control protocol first (the session's own clipboard, even when XWayland also sets
/// DISPLAY; a paste from a Wayland app would not see an X11 selection reliably) and falls
/// back to X11 when the compositor offers none or cannot be reached.
fn open_system() -> Result<arboard::Clipboard, String> {
    arboard::Clipboard::new().map_err(|e| why_no_system_clipboard(&e))
}

/// The system clipboard's text, for `i` (identify). OSC 52 is write-only: a terminal
/// never hands the clipboard back, so over SSH or in tmux without a display there is
/// nothing to read, and this says so rather than guessing.
pub fn read_text() -> Result<Zeroizing<String>, String> {
    if should_use_osc52() {
        return Err(
            "cannot read the clipboard: it is reached over OSC 52 here (SSH, or no display), which terminals never read back — pipe the value into `capiscio-tui identify` instead"
                .into(),
        );
    }
    let mut cb = open_system().map_err(|e| format!("cannot read the clipboard: {e}"))?;
    cb.get_text().map(Zeroizing::new).map_err(|e| match e {
        arboard::Error::ContentNotAvailable => "the clipboard holds no text".to_string(),
        e => format!("cannot read the clipboard: {e}"),
    })
}

/// arboard reports only the last backend's error (X11's); name both, so a broken Wayland
/// session does not read like an X11 problem.
fn why_no_system_clipboard(e: &arboard::Error) -> String {
    let var = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
    let shown = |s: &str| crate::core::text::printable(s).into_owned();
    let wayland = match var("WAYLAND_DISPLAY") {
        None => "WAYLAND_DISPLAY is not set".to_string(),
        Some(w) => {
            let socket = match var("XDG_RUNTIME_DIR") {
                _ if w.starts_with('/') => Some(std::path::PathBuf::from(&w)),
                Some(run) => Some(std::path::Path::new(&run).join(&w)),
                None => None,
            };
            if socket.is_some_and(|s| s.exists()) {
                format!(
                    "the Wayland compositor ({}) offers no data-control clipboard or refused it",
                    shown(&w)
                )
            } else {
                format!("no Wayland compositor at WAYLAND_DISPLAY={}", shown(&w))
            }
        }
    };
    let x11 = match var("DISPLAY") {
        None => "DISPLAY is not set".to_string(),
        Some(d) => format!("X11 ({}): {e}", shown(&d)),
    };
    format!("no system clipboard: {wayland}; {x11}")
}

/// Excluded from clipboard history: arboard offers the KDE hint MIME type
/// `x-kde-passwordManagerHint` = `secret` beside the text, on X11 and on Wayland alike.
/// Wayland's data-control protocol has no history flag of its own, so the hint is all
/// there is: managers that honour it skip the text (Klipper; `wl-paste --watch` scripts,
/// which a recent wl-clipboard tells with CLIPBOARD_STATE=sensitive), and a manager that
/// ignores it may store it.
fn set_text(cb: &mut arboard::Clipboard, text: &str) -> Result<(), arboard::Error> {
    #[cfg(target_os = "linux")]
    {
        use arboard::SetExtLinux;
        cb.set().exclude_from_history().text(text)
    }
    #[cfg(not(target_os = "linux"))]
    {
        cb.set_text(text)
    }
}

/// The TUI's clipboard: one handle, the text we own, and when to clear it.
pub struct Clipboard {
    handle: Option<arboard::Clipboard>,
    /// Why there is no system clipboard, when there is none.
    pub unavailable: Option<String>,
    ours: Option<(Zeroizing<String>, Instant)>,
    osc52: bool,
}

impl Clipboard {
    pub fn new() -> Self {
        if should_use_osc52() {
            return Self {
                handle: None,
                unavailable: None,
                ours: None,
                osc52: true,
            };
        }
        match open_system() {
            Ok(h) => Self {
                handle: Some(h),
                unavailable: None,
                ours: None,
                osc52: false,
            },
            Err(e) => Self {
                handle: None,
                unavailable: Some(e),
                ours: None,
                osc52: false,
            },
        }
    }

    /// Copies `text`; `osc52_out` receives the escape sequence when that path is used.
    pub fn copy(
        &mut self,
        text: &str,
        clear_after: Option<Duration>,
        osc52_out: &mut dyn Write,
    ) -> Result<Outcome, String> {
        if self.osc52 {
            osc52_out
                .write_all(osc52_sequence(text).as_bytes())
                .and_then(|_| osc52_out.flush())
                .map_err(|e| e.to_string())?;
            self.ours = clear_after.map(|d| (Zeroizing::new(text.to_string()), Instant::now() + d));
            return Ok(Outcome::SentToTerminal {
                clears_in: clear_after,
            });
        }
        let h = self.handle.as_mut().ok_or_else(|| {
            self.unavailable
                .clone()
                .unwrap_or_else(|| "no clipboard".into())
        })?;
        set_text(h, text).map_err(|e| e.to_string())?;
        self.ours = clear_after.map(|d| (Zeroizing::new(text.to_string()), Instant::now() + d));
        Ok(Outcome::Copied {
            clears_in: clear_after,
        })
    }

    /// Seconds until the pending clear, for the status bar countdown.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.ours
            .as_ref()
            .map(|(_, at)| at.saturating_duration_since(now))
    }

    /// Clears the clipboard once the deadline passed — only if it still holds our text.
    /// Returns `Some(true)` when it cleared, `Some(false)` when someone else's text was there.
    pub fn tick(&mut self, now: Instant) -> Option<bool> {
        let (text, at) = self.ours.as_ref()?;
        if now < *at {
            return None;
        }
        let h = self.handle.as_mut()?;
        let still_ours = h
            .get_text()
            .map(|t| Zeroizing::new(t) == *text)
            .unwrap_or(false);
        if still_ours {
            let _ = h.clear();
        }
        self.ours = None;
        Some(still_ours)
    }

    /// The OSC 52 path's clear, once the deadline passed: an empty OSC 52 set to the
    /// terminal. Inside tmux, which ignores an empty set and keeps what it was sent in its
    /// paste buffer, that buffer is deleted too when it still holds our text. Returns
    /// what was done, in words for the status bar.
    pub fn tick_osc52(&mut self, now: Instant, out: &mut dyn Write) -> Option<String> {
        if !self.osc52 || self.ours.as_ref().is_none_or(|(_, at)| now < *at) {
            return None;
        }
        let (text, _) = self.ours.take()?;
        if let Err(e) = out
            .write_all(OSC52_CLEAR.as_bytes())
            .and_then(|_| out.flush())
        {
            return Some(format!("Could not clear the terminal's clipboard: {e}"));
        }
        let sent = "Clipboard cleared: an empty OSC 52 was sent to the terminal";
        if std::env::var_os("TMUX").is_none_or(|v| v.is_empty()) {
            return Some(format!("{sent}."));
        }
        Some(match tmux_forget(&text) {
            Ok(true) => format!(
                "{sent}, and tmux's paste buffer deleted (a terminal outside tmux may keep its copy)."
            ),
            Ok(false) => {
                format!("{sent}; tmux's paste buffer holds something else now, left alone.")
            }
            Err(e) => format!(
                "{sent}, but tmux ignores that and keeps a copy in its paste buffer ({e}): run `tmux delete-buffer`."
            ),
        })
    }

    /// On quit, the OSC 52 path's pending clear, which nothing can do once we are gone
    /// (the terminal holds the text, not us): dropped, and whether there was one, so the
    /// user can be told. Call before [`Clipboard::hand_off`].
    pub fn abandon_osc52(&mut self) -> bool {
        self.osc52 && self.ours.take().is_some()
    }

    /// On quit: a pending clear is handed to a detached child that keeps serving the text
    /// until the deadline (the selection would die with us) and then clears it.
    pub fn hand_off(&mut self) {
        if let Some((text, at)) = self.ours.take() {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                if let Some(h) = self.handle.as_mut()
                    && h.get_text()
                        .map(|t| Zeroizing::new(t) == text)
                        .unwrap_or(false)
                {
                    let _ = h.clear();
                }
                return;
            }
            let _ = spawn_holder(&text, Some(left));
        }
    }
}

impl Default for Clipboard {
    fn default() -> Self {
        Self::new()
    }
}

/// Deletes tmux's newest paste buffer if it is `text` (what our OSC 52 set put there).
fn tmux_forget(text: &str) -> Result<bool, String> {
    let shown = std::process::Command::new("tmux")
        .arg("show-buffer")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run tmux: {e}"))?;
    let held = Zeroizing::new(shown.stdout);
    if !shown.status.success() || held.as_slice() != text.as_bytes() {
        return Ok(false);
    }
    let deleted = std::process::Command::new("tmux")
        .arg("delete-buffer")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run tmux: {e}"))?;
    if deleted.success() {
        Ok(true)
    } else {
        Err("tmux delete-buffer failed".into())
    }
}

/// Starts `__clipboard-hold` and waits until it owns the clipboard.
pub fn spawn_holder(text: &str, clear_after: Option<Duration>) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__clipboard-hold");
    if let Some(d) = clear_after {
        cmd.arg("--clear-after").arg(d.as_secs().max(1).to_string());
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the clipboard helper: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no pipe to the clipboard helper")?
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::BufReader::new(
        child
            .stdout
            .take()
            .ok_or("no pipe from the clipboard helper")?,
    )
    .read_line(&mut line)
    .map_err(|e| e.to_string())?;
    match line.trim() {
        "ok" => Ok(()),
        other => Err(other.trim_start_matches("error: ").to_string()),
    }
}

/// `__clipboard-hold`: takes the text on stdin, owns the clipboard until the deadline
/// (or until someone else copies), then clears it if it is still ours.
pub fn hold(clear_after: Option<Duration>) -> i32 {
    let mut text = Zeroizing::new(String::new());
    if std::io::stdin().read_to_string(&mut text).is_err() {
        println!("error: cannot read the text to copy");
        return 1;
    }
    let mut cb = match open_system() {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e}");
            return 1;
        }
    };
    if let Err(e) = set_text(&mut cb, &text) {
        println!("error: {e}");
        return 1;
    }
    // On Wayland the text is offered from a thread whose request may not have reached the
    // compositor yet: say "ok" (and let the caller exit) only once a paste would get it.
    let settle = Instant::now() + Duration::from_secs(2);
    while !holds(&mut cb, &text) {
        if Instant::now() >= settle {
            println!("error: the clipboard did not take the text");
            return 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("ok");
    let _ = std::io::stdout().flush();
    let deadline = Instant::now() + clear_after.unwrap_or(Duration::from_secs(3600));
    // Poll: stop early when someone else takes the clipboard (nothing left to clear).
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(250)));
        if !holds(&mut cb, &text) {
            return 0;
        }
    }
    if clear_after.is_some() && holds(&mut cb, &text) {
        let _ = cb.clear();
    }
    0
}

fn holds(cb: &mut arboard::Clipboard, text: &str) -> bool {
    cb.get_text()
        .map(|t| Zeroizing::new(t).as_str() == text)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_is_base64_in_the_escape() {
        assert_eq!(osc52_sequence("hi").as_str(), "\x1b]52;c;aGk=\x07");
        assert_eq!(
            Outcome::SentToTerminal {
                clears_in: Some(Duration::from_secs(30))
            }
            .describe(),
            "sent to terminal (OSC 52) — clears in 30s"
        );
        let mut cb = Clipboard {
            handle: None,
            unavailable: None,
            ours: None,
            osc52: true,
        };
        let mut term = Vec::new();
        let t0 = Instant::now();
        cb.copy("hi", Some(Duration::from_secs(30)), &mut term)
            .unwrap();
        assert_eq!(cb.remaining(t0).map(|d| d.as_secs()), Some(30));
        assert!(cb.tick_osc52(t0, &mut term).is_none(), "not yet");
        let note = cb
            .tick_osc52(t0 + Duration::from_secs(31), &mut term)
            .unwrap();
        assert!(note.starts_with("Clipboard cleared"), "{note}");
        assert_eq!(
            String::from_utf8(term).unwrap(),
            "\x1b]52;c;aGk=\x07\x1b]52;c;\x07"
        );
        assert!(cb.remaining(t0).is_none());
        cb.copy("hi", Some(Duration::from_secs(30)), &mut Vec::new())
            .unwrap();
        assert!(
            cb.abandon_osc52(),
            "a pending OSC 52 clear is reported on quit"
        );
        assert!(!cb.abandon_osc52());
        assert_eq!(
            Outcome::Copied {
                clears_in: Some(Duration::from_secs(30))
            }
            .describe(),
            "copied — clears in 30s"
        );
    }
}
