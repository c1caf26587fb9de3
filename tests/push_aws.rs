//! `push` and `deployed` against AWS Secrets Manager and SSM Parameter Store as moto
//! serves them on loopback, through the real `aws` CLI (both from PyPI; `.ci/run`
//! installs them): push an agent and an MCP server, read back with the aws CLI, tags,
//! `deployed` says current; rotate → previous (exit 1); push again → current.
//! Every aws call goes through a recording wrapper: the key is never in argv or env.

mod support;

use support::push::{Recorder, Server, free_port, value_and_needles, which};
use support::{Home, stderr, stdout};

fn enabled() -> bool {
    if std::env::var_os("CAPISCIO_TUI_TEST_BACKENDS").is_some() {
        return true;
    }
    eprintln!("skipped: set CAPISCIO_TUI_TEST_BACKENDS=1 (needs moto_server and aws on PATH)");
    false
}

struct Aws {
    home: Home,
    rec: Recorder,
    moto: Server,
    aws: std::path::PathBuf,
}

impl Aws {
    fn start() -> Self {
        let moto_bin =
            which("moto_server").expect("moto_server on PATH (pip install 'moto[server]')");
        let aws = which("aws").expect("aws on PATH (pip install awscli)");
        let port = free_port();
        let moto = Server::start(
            &moto_bin,
            &[
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
            ],
            port,
        );
        let rec = Recorder::new();
        rec.wrap("aws", &aws);
        let home = Home::new();
        for (kind, id) in [("agent", "a1"), ("mcp-server", "s1")] {
            let out = home.run(&["--offline", "generate", "--kind", kind, "--id", id]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        Self {
            home,
            rec,
            moto,
            aws,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PATH", self.rec.path(&[])),
            ("AWS_ENDPOINT_URL", self.moto.url()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.home.run_env(&[&["--offline"], args].concat(), &env)
    }

    /// The aws CLI itself, not through the recorder.
    fn aws(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.aws)
            .args(args)
            .envs(self.env().into_iter().filter(|(k, _)| *k != "PATH"))
            .output()
            .unwrap();
        assert!(out.status.success(), "aws {args:?}: {}", stderr(&out));
        stdout(&out)
    }

    fn deployed(&self, id: &str) -> (Option<i32>, Vec<serde_json::Value>) {
        let out = self.run(&["deployed", id, "--json"]);
        (
            out.status.code(),
            serde_json::from_str(&stdout(&out)).unwrap(),
        )
    }
}

fn states(rows: &[serde_json::Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            format!(
                "{} {}",
                r["target"].as_str().unwrap(),
                r["state"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(capiscio_test_backends),
    ignore = "needs moto and the aws CLI: set CAPISCIO_TUI_TEST_BACKENDS=1 (see .ci/run)"
)]
fn push_to_secrets_manager_and_ssm_rotate_see_previous_push_again_see_current() {
    if !enabled() {
        return;
    }
    let t = Aws::start();
    let (jwk, mut needles) = value_and_needles(&t.home, "a1", false);
    let (pem, pem_needles) = value_and_needles(&t.home, "s1", true);
    needles.extend(pem_needles);

    let out = t.run(&[
        "push",
        "a1",
        "--to",
        "aws-sm:capiscio/a1",
        "--to",
        "aws-ssm:/capiscio/a1",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = t.run(&[
        "push",
        "s1",
        "--to",
        "aws-sm:capiscio/s1?region=eu-west-1",
        "--to",
        "aws-ssm:/capiscio/s1",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));

    // What the aws CLI reads back is exactly what `export` prints (JWK without newline).
    let sm = |id: &str, region: &str| {
        let v: serde_json::Value = serde_json::from_str(&t.aws(&[
            "--region",
            region,
            "secretsmanager",
            "get-secret-value",
            "--secret-id",
            id,
            "--output",
            "json",
        ]))
        .unwrap();
        v["SecretString"].as_str().unwrap().to_string()
    };
    let ssm = |name: &str| {
        let v: serde_json::Value = serde_json::from_str(&t.aws(&[
            "ssm",
            "get-parameter",
            "--name",
            name,
            "--with-decryption",
            "--output",
            "json",
        ]))
        .unwrap();
        assert_eq!(v["Parameter"]["Type"], "SecureString");
        v["Parameter"]["Value"].as_str().unwrap().to_string()
    };
    assert_eq!(sm("capiscio/a1", "us-east-1"), jwk);
    assert_eq!(ssm("/capiscio/a1"), jwk);
    assert_eq!(sm("capiscio/s1", "eu-west-1"), pem);
    assert_eq!(ssm("/capiscio/s1"), pem);

    // Tags: DID, fingerprint, tool.
    let tags: serde_json::Value = serde_json::from_str(&t.aws(&[
        "secretsmanager",
        "describe-secret",
        "--secret-id",
        "capiscio/a1",
        "--output",
        "json",
    ]))
    .unwrap();
    let show: serde_json::Value =
        serde_json::from_str(&stdout(&t.run(&["show", "a1", "--json"]))).unwrap();
    let tag = |k: &str| {
        tags["Tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["Key"] == k)
            .map(|t| t["Value"].clone())
    };
    assert_eq!(
        tag("capiscio:fingerprint"),
        Some(show["fingerprint"].clone())
    );
    assert_eq!(tag("capiscio:did"), Some(show["did"].clone()));
    assert_eq!(tag("managed-by"), Some("capiscio-tui".into()));
    let ptags: serde_json::Value = serde_json::from_str(&t.aws(&[
        "ssm",
        "list-tags-for-resource",
        "--resource-type",
        "Parameter",
        "--resource-id",
        "/capiscio/a1",
        "--output",
        "json",
    ]))
    .unwrap();
    assert!(
        ptags
            .to_string()
            .contains(show["fingerprint"].as_str().unwrap()),
        "{ptags}"
    );
    assert_eq!(show["push_targets"].as_array().unwrap().len(), 2);

    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(
        states(&rows),
        ["aws-sm:capiscio/a1 current", "aws-ssm:/capiscio/a1 current"]
    );

    // Rotate: both targets now hold the archived key.
    let out = t.run(&["rotate", "a1", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(1));
    assert_eq!(
        states(&rows),
        [
            "aws-sm:capiscio/a1 previous",
            "aws-ssm:/capiscio/a1 previous"
        ]
    );
    assert!(rows.iter().all(|r| r["archived_at"].is_i64()));
    // Without an id: every identity with targets; the server is still current.
    let out = t.run(&["deployed"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("previous") && text.contains("aws-sm:capiscio/s1?region=eu-west-1"),
        "{text}"
    );

    // Push again (to the recorded targets; they hold another key: --yes) → current.
    let out = t.run(&["push", "a1", "--yes"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(
        states(&rows),
        ["aws-sm:capiscio/a1 current", "aws-ssm:/capiscio/a1 current"]
    );
    let (new_jwk, new_needles) = value_and_needles(&t.home, "a1", false);
    assert_ne!(new_jwk, jwk);
    assert_eq!(sm("capiscio/a1", "us-east-1"), new_jwk);
    needles.extend(new_needles);

    // A secret replaced by someone else's key is `foreign`; a deleted one `missing`.
    t.aws(&[
        "ssm",
        "put-parameter",
        "--name",
        "/capiscio/a1",
        "--type",
        "SecureString",
        "--overwrite",
        "--value",
        "not a key",
    ]);
    t.aws(&[
        "secretsmanager",
        "delete-secret",
        "--secret-id",
        "capiscio/a1",
        "--force-delete-without-recovery",
    ]);
    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(1));
    assert_eq!(
        states(&rows),
        ["aws-sm:capiscio/a1 missing", "aws-ssm:/capiscio/a1 foreign"]
    );

    for o in [t.run(&["deployed"]), t.run(&["show", "a1"])] {
        for n in &needles {
            assert!(!stdout(&o).contains(n.as_str()) && !stderr(&o).contains(n.as_str()));
        }
    }
    assert!(
        t.rec.calls().len() >= 10,
        "the wrapper recorded {:?}",
        t.rec.calls().len()
    );
    t.rec.assert_key_never_in_argv_or_env(&needles);
}

#[test]
#[cfg_attr(
    not(capiscio_test_backends),
    ignore = "needs moto and the aws CLI: set CAPISCIO_TUI_TEST_BACKENDS=1 (see .ci/run)"
)]
fn rotate_push_updates_secrets_manager_and_ssm() {
    if !enabled() {
        return;
    }
    let t = Aws::start();
    let targets = ["aws-sm:capiscio/rot-a1", "aws-ssm:/capiscio/rot-a1"];
    let out = t.run(&["push", "a1", "--to", targets[0], "--to", targets[1]]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // The impact names both targets; --yes alone leaves them on the old key.
    let out = t.run(&["rotate", "a1", "--dry-run"]);
    let plan = stdout(&out);
    for target in targets {
        assert!(
            plan.lines()
                .any(|l| l.contains(target) && l.contains("will still hold the old key")),
            "{plan}"
        );
    }
    let out = t.run(&["rotate", "a1", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(1));
    assert_eq!(
        states(&rows),
        targets.map(|x| format!("{x} previous")).to_vec()
    );
    // --resume --push replaces both (they hold this identity's archived key: no prompt).
    let out = t.run(&["rotate", "a1", "--resume", "--push", "--json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let j: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let capture = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "capture")
        .unwrap();
    assert_eq!(capture["state"], "done", "{j:#}");
    let (code, rows) = t.deployed("a1");
    assert_eq!(code, Some(0));
    assert_eq!(
        states(&rows),
        targets.map(|x| format!("{x} current")).to_vec()
    );
    let (jwk, needles) = value_and_needles(&t.home, "a1", false);
    let stored = t.aws(&[
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        "capiscio/rot-a1",
        "--query",
        "SecretString",
        "--output",
        "text",
    ]);
    assert_eq!(stored.trim_end(), jwk);
    t.rec.assert_key_never_in_argv_or_env(&needles);
}
