//! Decides which environment-gated integration test groups are switched on, so that a
//! plain `cargo test` lists the others as `ignored` with the reason and the variable that
//! enables them (instead of reporting them as passed). Re-runs when those variables change.

use std::process::{Command, Stdio};

fn set(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty())
}

fn runs(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn main() {
    for var in [
        "CAPISCIO_TUI_PYTHON",
        "CAPISCIO_TUI_TEST_KEYRING",
        "CAPISCIO_TUI_TEST_TUI",
        "CAPISCIO_TUI_TEST_X",
        "CAPISCIO_TUI_TEST_WAYLAND",
        "DISPLAY",
        "CI",
        "CAPISCIO_TUI_REQUIRE_STRACE",
        "CAPISCIO_TUI_TEST_BACKENDS",
    ] {
        println!("cargo::rerun-if-env-changed={var}");
    }
    println!("cargo::rerun-if-changed=build.rs");
    let groups = [
        // The real Python SDKs (interop).
        ("capiscio_test_interop", set("CAPISCIO_TUI_PYTHON")),
        // A real Secret Service and kernel keyutils.
        ("capiscio_test_keyring", set("CAPISCIO_TUI_TEST_KEYRING")),
        // Real secrets backends on loopback (moto + the aws CLI, an OpenBao dev server).
        ("capiscio_test_backends", set("CAPISCIO_TUI_TEST_BACKENDS")),
        // The UI in tmux: on request, or when tmux is there at build time.
        (
            "capiscio_test_tui",
            set("CAPISCIO_TUI_TEST_TUI") || runs("tmux", "-V"),
        ),
        // The X11 clipboard: on request, or with a display and xclip at build time.
        (
            "capiscio_test_x",
            set("CAPISCIO_TUI_TEST_X") || (set("DISPLAY") && runs("xclip", "-version")),
        ),
        // The Wayland clipboard: on request, or with sway and wl-clipboard at build time (the
        // tests start their own headless compositor).
        (
            "capiscio_test_wayland",
            set("CAPISCIO_TUI_TEST_WAYLAND")
                || (runs("sway", "--version") && runs("wl-paste", "--version")),
        ),
    ];
    // Fault injection from outside the process (kills at every system call, a full disk,
    // delays): needs strace. Required in CI, where a missing strace must fail, not skip.
    let strace = runs("strace", "-V") || set("CI") || set("CAPISCIO_TUI_REQUIRE_STRACE");
    let groups = groups.into_iter().chain([("capiscio_test_strace", strace)]);
    for (cfg, on) in groups {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
