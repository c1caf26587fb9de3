//! The README is tested: every `capiscio-tui …` command in its shell code blocks runs
//! here, through the real binary, against a sandbox built by `capiscio-tui demo --dir`,
//! and must exit 0 — so the README cannot drift from the binary.
//!
//! Which blocks run: fenced blocks tagged `sh`, `bash`, `shell`, `console` or untagged
//! that contain a `capiscio-tui` command. In `console` blocks the commands are the lines
//! after `$ `; in the others every line that is not blank or a comment (with `\`
//! continuations joined). A block preceded by `<!-- illustrative -->` (blank lines between
//! allowed) is not run: it needs something a sandbox lacks (a Python SDK, an OS keyring,
//! a fixed port, another machine's identities). Every block runs in one `bash` with the
//! binary first on PATH as `capiscio-tui`, HOME set to the sandbox and a clean
//! environment, so `export` lines and `$(…)` work as they would for a reader.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

const MARKER: &str = "<!-- illustrative -->";

#[derive(Debug)]
struct Block {
    /// 1-based README line of the opening fence.
    line: usize,
    illustrative: bool,
    /// (1-based README line, command).
    commands: Vec<(usize, String)>,
}

impl Block {
    fn mentions_binary(&self) -> bool {
        self.commands
            .iter()
            .any(|(_, c)| c.contains("capiscio-tui"))
    }
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut illustrative = false;
    let mut lines = readme.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let t = line.trim();
        if t == MARKER {
            illustrative = true;
            continue;
        }
        let Some(lang) = t.strip_prefix("```") else {
            if !t.is_empty() {
                illustrative = false;
            }
            continue;
        };
        let lang = lang.trim();
        let shell = matches!(lang, "" | "sh" | "bash" | "shell" | "console");
        let console = lang == "console";
        let mut block = Block {
            line: i + 1,
            illustrative,
            commands: Vec::new(),
        };
        illustrative = false;
        let mut pending: Option<(usize, String)> = None;
        for (j, body) in lines.by_ref() {
            if body.trim_start().starts_with("```") {
                break;
            }
            if !shell {
                continue;
            }
            let cmd = if let Some((n, mut acc)) = pending.take() {
                acc.push('\n');
                acc.push_str(body);
                (n, acc)
            } else if console {
                match body.strip_prefix("$ ") {
                    Some(c) => (j + 1, c.to_string()),
                    None => continue,
                }
            } else {
                let b = body.trim();
                if b.is_empty() || b.starts_with('#') {
                    continue;
                }
                (j + 1, body.to_string())
            };
            if cmd.1.trim_end().ends_with('\\') {
                pending = Some(cmd);
            } else {
                block.commands.push(cmd);
            }
        }
        if shell {
            out.push(block);
        }
    }
    out
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn the_extractor_finds_commands_and_honours_the_marker() {
    let text = "x\n```sh\ncapiscio-tui list  # all\n# comment\n\ncapiscio-tui a \\\n  --b\n```\n\
                <!-- illustrative -->\n\n```console\n$ capiscio-tui demo\noutput\n```\n```toml\nk = 1\n```\n";
    let b = blocks(text);
    assert_eq!(b.len(), 2);
    assert!(!b[0].illustrative);
    assert_eq!(b[0].line, 2);
    assert_eq!(
        b[0].commands,
        vec![
            (3, "capiscio-tui list  # all".to_string()),
            (6, "capiscio-tui a \\\n  --b".to_string())
        ]
    );
    assert!(b[1].illustrative);
    assert_eq!(b[1].commands, vec![(12, "capiscio-tui demo".to_string())]);
}

#[test]
fn every_readme_command_runs() {
    let readme = readme();
    let all = blocks(&readme);
    let runnable: Vec<&Block> = all
        .iter()
        .filter(|b| b.mentions_binary() && !b.illustrative)
        .collect();
    assert!(
        runnable.len() >= 4,
        "the README should have runnable capiscio-tui blocks; found {}",
        runnable.len()
    );

    let root = tempfile::tempdir().unwrap();
    let sandbox = root.path().join("sandbox");
    let bin_dir = root.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_capiscio-tui"),
        bin_dir.join("capiscio-tui"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_capiscio-tui"))
        .args(["demo", "--dir"])
        .arg(&sandbox)
        .env_clear()
        .env("HOME", root.path())
        .env("PATH", &path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "capiscio-tui demo --dir failed: {}",
        support::stderr(&out)
    );

    let mut failures = Vec::new();
    let mut ran = 0;
    for block in runnable {
        let work = root.path().join(format!("work-{}", block.line));
        std::fs::create_dir(&work).unwrap();
        let status_file = work.join(".readme-status");
        let mut script = String::from("set +e\n");
        for (line, cmd) in &block.commands {
            script.push_str(cmd);
            script.push_str(&format!(
                "\nprintf '%s %s\\n' {line} $? >> '{}'\n",
                status_file.display()
            ));
        }
        let err = run_script(&script, &sandbox, &work, &path);
        let statuses = std::fs::read_to_string(&status_file).unwrap_or_default();
        for (line, cmd) in &block.commands {
            ran += 1;
            let got = statuses
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{line} ")))
                .map(str::to_string);
            if got.as_deref() != Some("0") {
                failures.push(format!(
                    "README.md:{line}: `{cmd}` exited {}\n--- stderr of the block (README.md:{}) ---\n{}",
                    got.unwrap_or_else(|| "without running".into()),
                    block.line,
                    err
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} README command(s) failed; fix the README or mark the block `{MARKER}`:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran >= 10, "only {ran} README commands ran");
}

/// Runs one block's script. Output goes to files, not pipes, so a command a README
/// line leaves in the background cannot hold the test open; `timeout` bounds the block.
fn run_script(script: &str, home: &Path, cwd: &Path, path: &str) -> String {
    let err_path = cwd.join(".readme-stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let out = std::fs::File::create(cwd.join(".readme-stdout")).unwrap();
    let status = Command::new("timeout")
        .args(["60", "bash", "-c", script])
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .unwrap();
    let mut text = std::fs::read_to_string(&err_path).unwrap_or_default();
    if status.code() == Some(124) {
        text.push_str("\n(the block was stopped after 60 s)");
    }
    text
}
