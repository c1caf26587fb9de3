//! Tests that need something a plain `cargo test` may not have (the Python SDKs, a real
//! keyring, tmux, an X display, a Wayland compositor) must say so: each is `ignored` with
//! the variable that enables it unless `build.rs` switched its group on, so none reports
//! "ok" without having run. This walks the test sources and holds every gated test to
//! that.

use std::path::Path;

/// Calls that make a test return early when its environment is missing.
const GATES: &[&str] = &["enabled()", "python()", "Tmux::available()"];

#[test]
fn every_environment_gated_test_is_ignored_with_how_to_enable_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.push(dir.join("crash/main.rs"));
    files.sort();
    let mut gated = 0;
    let mut bad = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let Some(name) = line.strip_prefix("fn ").and_then(|l| l.split('(').next()) else {
                continue;
            };
            // The test's first lines decide whether it runs.
            let head = lines[n + 1..lines.len().min(n + 4)].join("\n");
            if !GATES.iter().any(|g| head.contains(g)) {
                continue;
            }
            // Its attributes: the lines above, up to the previous blank line or item.
            let attrs = lines[..n]
                .iter()
                .rev()
                .take_while(|l| !l.trim().is_empty() && !l.trim_end().ends_with('}'))
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            if !attrs.contains("#[test]") {
                continue;
            }
            gated += 1;
            let ok = attrs.contains("not(capiscio_test_")
                && attrs.contains("ignore = \"")
                && attrs.contains("CAPISCIO_TUI_");
            if !ok {
                bad.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(
        gated >= 20,
        "found only {gated} gated tests: has the gate changed?"
    );
    assert!(
        bad.is_empty(),
        "gated tests that would pass without running: {bad:#?}"
    );
}
