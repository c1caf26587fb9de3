//! The config file through the real binary: its location, `config show` with each
//! value's origin, precedence flag > env > config > default, and errors that name the
//! key and the file.

mod support;

use support::{Home, stderr, stdout};

fn config_file(home: &Home) -> std::path::PathBuf {
    home.path().join(".config/capiscio-tui/config.toml")
}

fn write_config(home: &Home, text: &str) -> std::path::PathBuf {
    let path = config_file(home);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn show_json(home: &Home, args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut argv = vec!["config", "show", "--json"];
    argv.extend_from_slice(args);
    let out = home.run_env(&argv, env);
    assert!(out.status.success(), "config show failed: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

fn setting<'a>(v: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no setting {key} in {v}"))
}

#[test]
fn config_path_follows_xdg_config_home_then_home() {
    let home = Home::new();
    let out = home.run(&["config", "path"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).trim(),
        config_file(&home).display().to_string()
    );
    let xdg = home.path().join("xdg");
    let out = home.run_env(
        &["config", "path"],
        &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())],
    );
    assert_eq!(
        stdout(&out).trim(),
        xdg.join("capiscio-tui/config.toml").display().to_string()
    );
    // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
    let out = home.run_env(&["config", "path"], &[("XDG_CONFIG_HOME", "rel")]);
    assert_eq!(
        stdout(&out).trim(),
        config_file(&home).display().to_string()
    );
}

#[test]
fn config_show_names_where_each_value_came_from() {
    let home = Home::new();
    let v = show_json(&home, &[], &[]);
    assert_eq!(v["file_found"], false);
    for key in [
        "server-url",
        "registry-timeout",
        "concurrency",
        "clear-after",
        "theme",
        "keyring",
    ] {
        assert_eq!(setting(&v, key)["source"], "default", "{key}");
    }

    let path = write_config(
        &home,
        "server-url = \"http://127.0.0.1:9\"\nconcurrency = 4\nclear-after = 10\ntheme = \"mono\"\nkeyring = \"none\"\nregistry-timeout = 3\n",
    );
    let v = show_json(
        &home,
        &["--clear-after", "5"],
        &[("CAPISCIO_SERVER_URL", "http://127.0.0.1:8")],
    );
    assert_eq!(v["file_found"], true);
    // flag > config
    assert_eq!(setting(&v, "clear-after")["value"], "5");
    assert_eq!(setting(&v, "clear-after")["source"], "flag");
    // env > config
    assert_eq!(setting(&v, "server-url")["value"], "http://127.0.0.1:8");
    assert_eq!(setting(&v, "server-url")["source"], "env");
    assert_eq!(setting(&v, "server-url")["from"], "CAPISCIO_SERVER_URL");
    // config > default
    assert_eq!(setting(&v, "concurrency")["value"], "4");
    assert_eq!(setting(&v, "concurrency")["source"], "config");
    assert_eq!(
        setting(&v, "concurrency")["from"],
        path.display().to_string()
    );
    assert_eq!(setting(&v, "theme")["value"], "mono");
    assert_eq!(setting(&v, "keyring")["value"], "none");
    assert_eq!(setting(&v, "registry-timeout")["value"], "3");

    // flag > env
    let v = show_json(
        &home,
        &["--server-url", "http://127.0.0.1:7"],
        &[("CAPISCIO_SERVER_URL", "http://127.0.0.1:8")],
    );
    assert_eq!(setting(&v, "server-url")["source"], "flag");

    let out = home.run(&["config", "show"]);
    let text = stdout(&out);
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains("concurrency") && text.contains("config ("),
        "{text}"
    );
}

#[test]
fn the_config_file_changes_what_commands_do() {
    let home = Home::new();
    // A configured registry URL makes `list` consult it, as the flag would: an
    // unreachable one is reported, so the value was used.
    write_config(
        &home,
        "server-url = \"http://127.0.0.1:9\"\nregistry-timeout = 1\n",
    );
    support::seed_agent(&home, "a1", support::D1, support::X1, support::DID1);
    let out = home.run(&["status", "--json"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("127.0.0.1:9"), "{text}");
    // `--offline` still wins.
    let out = home.run(&["list", "--offline", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn bad_config_is_an_error_naming_key_and_file() {
    let home = Home::new();
    for (text, key) in [
        ("colour = \"red\"\n", "colour"),
        ("concurrency = 0\n", "concurrency"),
        ("theme = \"pink\"\n", "theme"),
        ("clear-after = \"soon\"\n", "clear-after"),
        ("server-url = 42\n", "server-url"),
    ] {
        let path = write_config(&home, text);
        for args in [&["list"][..], &["config", "show"][..]] {
            let out = home.run(args);
            assert_eq!(out.status.code(), Some(1), "{text} {args:?}");
            let err = stderr(&out);
            assert!(err.contains(&format!("`{key}`")), "{text}: {err}");
            assert!(err.contains(&path.display().to_string()), "{text}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let path = write_config(&home, "theme = [\n");
    let out = home.run(&["list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(&path.display().to_string()));
    // `config path` still answers, so a broken file can be found and fixed.
    assert!(home.run(&["config", "path"]).status.success());
}

#[test]
fn an_api_key_in_the_config_file_is_refused() {
    let home = Home::new();
    let secret = "sk_live_do_not_echo_1234567890";
    for key in ["api_key", "api-key"] {
        write_config(&home, &format!("{key} = \"{secret}\"\n"));
        let out = home.run(&["list"]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("capiscio-tui login"), "{err}");
        assert!(err.contains("CAPISCIO_API_KEY"), "{err}");
        assert!(!err.contains(secret) && !stdout(&out).contains(secret));
    }
}

#[test]
fn a_symlinked_config_file_is_not_followed() {
    let home = Home::new();
    let real = home.path().join("elsewhere.toml");
    std::fs::write(&real, "concurrency = 4\n").unwrap();
    let path = config_file(&home);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &path).unwrap();
    let out = home.run(&["config", "show"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
}
