//! A scan worker that panics (forced through the debug-only
//! `CAPISCIO_TUI_TEST_SCAN_PANIC` hook) must not make identities vanish silently: the
//! other identities stay, a `scan-failed` note names the directory, and `list` / `doctor`
//! exit 1.

mod support;

use serde_json::Value;
use support::*;

fn id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

/// `count` well-formed agents (all key 1; duplicates are fine for discovery).
fn home_with(count: usize) -> Home {
    let h = Home::new();
    for n in 1..=count {
        seed_agent(&h, &id(n), D1, X1, DID1);
    }
    h
}

fn check(count: usize) {
    let h = home_with(count);
    let victim = id(count / 2 + 1);
    let env = [("CAPISCIO_TUI_TEST_SCAN_PANIC", victim.as_str())];

    let out = h.run_env(&["list", "--json"], &env);
    assert_eq!(out.status.code(), Some(1), "list --json: {}", stderr(&out));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list.len(),
        count - 1,
        "every other identity is still listed"
    );
    assert!(list.iter().all(|v| v["id"] != victim.as_str()));
    assert!(stderr(&out).contains(&victim), "{}", stderr(&out));

    let out = h.run_env(&["list"], &env);
    assert_eq!(out.status.code(), Some(1), "list: {}", stderr(&out));
    assert!(stdout(&out).contains(&victim), "{}", stdout(&out));

    let out = h.run_env(&["doctor", "--json"], &env);
    assert_eq!(out.status.code(), Some(1), "doctor: {}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["identities_checked"], count - 1);
    let note = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "scan-failed")
        .unwrap_or_else(|| panic!("no scan-failed note: {report:#}"));
    assert_eq!(note["severity"], "error");
    let msg = note["message"].as_str().unwrap();
    assert!(msg.starts_with("1 directory"), "{msg}");
    assert!(msg.contains(&victim), "{msg}");

    // Without the hook the same home is complete and clean.
    let out = h.run(&["list", "--json"]);
    assert!(out.status.success());
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), count);
    let out = h.run(&["doctor", "--json"]);
    assert!(out.status.success(), "doctor is clean without the hook");
}

#[test]
fn panicking_inspection_is_reported_few_dirs() {
    check(3);
}

#[test]
fn panicking_worker_is_reported_many_dirs() {
    // 64 and more directories are inspected on worker threads.
    check(80);
}
