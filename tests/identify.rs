//! `capiscio-tui identify` through the real binary: every export format of an agent and
//! an MCP server is recognised as the current key, a rotated-out key as archived (with
//! its date), a stranger's key as unknown; malformed input gets the right exit code and a
//! shape-only message; nothing the binary prints contains the pasted key. Plus property
//! tests of the finder: every export format of random keys round-trips, and no input
//! makes it panic.

mod support;

use capiscio_tui::app::identify;
use capiscio_tui::core::export::{self, Format, Request, Target};
use capiscio_tui::core::key::KeyPair;
use capiscio_tui::core::pasted;
use capiscio_tui::core::{b64, jwk, pem};
use proptest::prelude::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Output, Stdio};
use support::*;

const AGENT: &str = "billing";
const SERVER: &str = "files";
const AGENT_VAR: &str = "CAPISCIO_AGENT_PRIVATE_KEY_JWK";
const SERVER_VAR: &str = "CAPISCIO_SERVER_PRIVATE_KEY_PEM";
/// The PKCS#8 body of PEM1 / PEM2.
const BODY1: &str = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
const BODY2: &str = "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f";

/// Runs `identify` (plus `args`) with `input` on stdin. The input is written from a
/// thread, so a binary that stops reading early (over the cap) cannot block the test.
fn identify(h: &Home, input: &[u8], args: &[&str]) -> Output {
    let mut child = h
        .cmd()
        .arg("identify")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        // EPIPE is expected when the binary stops at the cap.
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn identify_json(h: &Home, input: &[u8]) -> (Output, Value) {
    let out = identify(h, input, &["--json"]);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(&out), stderr(&out)));
    (out, v)
}

/// No 16-character window of any of `secrets` in `text`.
fn assert_clean(text: &str, secrets: &[&str]) {
    for s in secrets {
        let c: Vec<char> = s.chars().collect();
        for w in c.windows(16) {
            let w: String = w.iter().collect();
            assert!(!text.contains(&w), "secret window {w:?} leaked:\n{text}");
        }
    }
    assert_no_secrets(text);
}

fn assert_output_clean(out: &Output, secrets: &[&str]) {
    assert_clean(&stdout(out), secrets);
    assert_clean(&stderr(out), secrets);
}

/// The private parts of an exported key: its `d` and its PKCS#8 body.
fn private_parts(h: &Home, id: &str) -> Vec<String> {
    let jwk_text = stdout(&h.run(&["export", id, "--format", "jwk"]));
    let pem_text = stdout(&h.run(&["export", id, "--format", "pem"]));
    let d = jwk::parse_private(&jwk_text).unwrap();
    let body = pem_text.lines().nth(1).unwrap().to_string();
    vec![b64::url_encode(d.key.seed()), body]
}

fn key_did(h: &Home, id: &str) -> String {
    let out = h.run(&["show", id, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["key_did"].as_str().unwrap().to_string()
}

fn generate(h: &Home) {
    for args in [
        &[
            "generate", "--kind", "agent", "--id", AGENT, "--name", "Billing",
        ][..],
        &["generate", "--kind", "mcp-server", "--id", SERVER][..],
    ] {
        let out = h.run(args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

fn formats() -> [&'static str; 8] {
    [
        "env", "compose", "k8s", "lambda", "cloudrun", "github", "jwk", "pem",
    ]
}

#[test]
fn every_export_format_of_an_agent_and_a_server_is_the_current_key() {
    let h = Home::new();
    generate(&h);
    for (id, kind, var) in [
        (AGENT, "agent", AGENT_VAR),
        (SERVER, "mcp-server", SERVER_VAR),
    ] {
        let secrets = private_parts(&h, id);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let did = key_did(&h, id);
        for format in formats() {
            let snippet = h.run(&["export", id, "--format", format]);
            assert!(snippet.status.success(), "{}", stderr(&snippet));
            let (out, v) = identify_json(&h, &snippet.stdout);
            assert!(out.status.success(), "{id} {format}: {}", stderr(&out));
            assert_output_clean(&out, &secrets);
            let keys = v["keys"].as_array().unwrap();
            assert_eq!(keys.len(), 1, "{id} {format}: {v:#}");
            let k = &keys[0];
            assert_eq!(k["state"], "current", "{id} {format}");
            assert_eq!(k["did"], did.as_str());
            assert_eq!(k["private"], true);
            assert_eq!(k["matches"][0]["id"], id);
            assert_eq!(k["matches"][0]["kind"], kind);
            assert_eq!(k["matches"][0]["state"], "current");
            // Every snippet names the variable it feeds, except the bare key formats.
            if !matches!(format, "jwk" | "pem") {
                assert_eq!(k["var"], var, "{id} {format}");
            }
            // What capiscio-tui exports, the SDK takes as is (a bare key: as the variable
            // its format feeds).
            let sdk_var = match format {
                "jwk" => AGENT_VAR,
                "pem" => SERVER_VAR,
                _ => var,
            };
            assert_eq!(k["sdk"]["var"], sdk_var, "{id} {format}");
            assert_eq!(k["sdk"]["accepted"], true, "{id} {format}: {k:#}");
            assert_eq!(k["sdk"]["problems"], Value::Array(vec![]), "{id} {format}");
            // The human summary says the same, without the key.
            let human = identify(&h, &snippet.stdout, &[]);
            assert!(human.status.success());
            assert_output_clean(&human, &secrets);
            let text = stdout(&human);
            assert!(text.contains(&did), "{text}");
            assert!(text.contains(id), "{text}");
            assert!(text.contains("its CURRENT key"), "{text}");
        }
    }
}

#[test]
fn a_dotenv_with_both_variables_reports_each_key() {
    let h = Home::new();
    generate(&h);
    let agent = stdout(&h.run(&["export", AGENT, "--format", "env"]));
    let server = stdout(&h.run(&["export", SERVER, "--format", "env"]));
    let dotenv = format!("# .env\nPORT=8080\nexport {agent}{server}DEBUG=1\n");
    let (out, v) = identify_json(&h, dotenv.as_bytes());
    assert!(out.status.success());
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{v:#}");
    assert_eq!(keys[0]["line"], 3);
    assert_eq!(keys[0]["var"], AGENT_VAR);
    assert_eq!(keys[0]["matches"][0]["id"], AGENT);
    assert_eq!(keys[1]["line"], 4);
    assert_eq!(keys[1]["var"], SERVER_VAR);
    assert_eq!(keys[1]["layout"], "escaped-newlines");
    assert_eq!(keys[1]["matches"][0]["id"], SERVER);
    let human = stdout(&identify(&h, dotenv.as_bytes(), &[]));
    assert!(
        human.contains("Key 1 of 2") && human.contains("Key 2 of 2"),
        "{human}"
    );
    let mut secrets = private_parts(&h, AGENT);
    secrets.extend(private_parts(&h, SERVER));
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_clean(&human, &secrets);
}

#[test]
fn shapes_people_make_of_the_exports() {
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    seed_server(&h, "s1", PEM2);
    let jwk1 =
        format!(r#"{{"kty": "OKP", "crv": "Ed25519", "d": "{D1}", "x": "{X1}", "kid": "{DID1}"}}"#);
    let escaped_quotes = jwk1.replace('"', "\\\"");
    let pretty = format!(
        "{{\n  \"kty\": \"OKP\",\n  \"crv\": \"Ed25519\",\n  \"d\": \"{D1}\",\n  \"x\": \"{X1}\",\n  \"kid\": \"{DID1}\"\n}}\n"
    );
    let pem_escaped = PEM2.replace('\n', "\\n");
    let k8s_data = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ntype: Opaque\ndata:\n  {AGENT_VAR}: {}\n  {SERVER_VAR}: {}\n",
        b64::std_encode(jwk1.as_bytes()),
        b64::std_encode(PEM2.as_bytes())
    );
    /// (case, input, the (identity, layout) of each key in order)
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("pretty JWK", pretty.clone(), vec![("a1", "multi-line")]),
        (
            "double-quoted env line with escaped quotes",
            format!("{AGENT_VAR}=\"{escaped_quotes}\"\n"),
            vec![("a1", "one-line")],
        ),
        (
            "unquoted export line",
            format!("export {AGENT_VAR}={jwk1}\n"),
            vec![("a1", "one-line")],
        ),
        (
            "compose list form",
            format!(
                "services:\n  app:\n    environment:\n      - {AGENT_VAR}={jwk1}\n      - {SERVER_VAR}={pem_escaped}\n"
            ),
            vec![("a1", "one-line"), ("s1", "escaped-newlines")],
        ),
        (
            "compose map form, double-quoted",
            format!("    environment:\n      {SERVER_VAR}: \"{pem_escaped}\"\n"),
            vec![("s1", "escaped-newlines")],
        ),
        (
            "Kubernetes Secret data (base64)",
            k8s_data,
            vec![("a1", "one-line"), ("s1", "multi-line")],
        ),
        (
            "escaped PEM alone",
            pem_escaped.clone(),
            vec![("s1", "escaped-newlines")],
        ),
        (
            "quoted PEM with real newlines",
            format!("'{PEM2}'"),
            vec![("s1", "multi-line")],
        ),
        ("public JWK", public_jwk(X1, DID1), vec![("a1", "one-line")]),
        (
            "public PEM",
            PUB_PEM1.to_string(),
            vec![("a1", "multi-line")],
        ),
    ];
    for (name, input, want) in cases {
        let (out, v) = identify_json(&h, input.as_bytes());
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_output_clean(&out, &[D1, BODY1, BODY2]);
        let keys = v["keys"].as_array().unwrap();
        assert_eq!(keys.len(), want.len(), "{name}: {v:#}");
        for (k, (id, layout)) in keys.iter().zip(&want) {
            assert_eq!(k["state"], "current", "{name}");
            assert_eq!(k["matches"][0]["id"], *id, "{name}");
            assert_eq!(k["layout"], *layout, "{name}");
        }
    }
    // A public key is identified, but the SDK's variable needs the private key.
    let human = stdout(&identify(&h, public_jwk(X1, DID1).as_bytes(), &[]));
    assert!(human.contains("a public key"), "{human}");
}

#[test]
fn a_rotated_out_key_is_archived_with_its_date() {
    let h = Home::new();
    generate(&h);
    let before = h.run(&["export", AGENT, "--format", "k8s"]).stdout;
    let old_secrets = private_parts(&h, AGENT);
    let old_did = key_did(&h, AGENT);
    let out = h.run(&["rotate", AGENT, "--yes", "--offline"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let new_did = key_did(&h, AGENT);
    assert_ne!(old_did, new_did);

    let (out, v) = identify_json(&h, &before);
    assert!(out.status.success(), "{}", stderr(&out));
    let secrets: Vec<&str> = old_secrets.iter().map(String::as_str).collect();
    assert_output_clean(&out, &secrets);
    let k = &v["keys"][0];
    assert_eq!(k["state"], "archived", "{v:#}");
    assert_eq!(k["did"], old_did.as_str());
    let m = &k["matches"][0];
    assert_eq!(m["id"], AGENT);
    assert_eq!(m["state"], "archived");
    let archived_at = m["archive"]["archived_at"].as_i64().unwrap();
    assert!((archived_at - now()).abs() < 600, "{archived_at}");
    let date = m["archive"]["archived"].as_str().unwrap().to_string();
    assert!(date.ends_with('Z') && date.starts_with("20"), "{date}");
    let archive_name = m["archive"]["name"].as_str().unwrap().to_string();
    assert!(archive_name.contains(k["fingerprint"].as_str().unwrap()));

    let human = identify(&h, &before, &[]);
    assert!(human.status.success());
    let text = stdout(&human);
    assert!(text.contains("ARCHIVED"), "{text}");
    assert!(text.contains(&date), "{text}");
    assert!(text.contains(&archive_name), "{text}");
    assert_clean(&text, &secrets);

    // The new key is the current one.
    let after = h.run(&["export", AGENT, "--format", "env"]).stdout;
    let (_, v) = identify_json(&h, &after);
    assert_eq!(v["keys"][0]["state"], "current");
    assert_eq!(v["keys"][0]["did"], new_did.as_str());
}

#[test]
fn a_key_of_no_identity_is_unknown_with_its_did() {
    let h = Home::new();
    generate(&h);
    for input in [private_jwk(D2, X2, DID2), PEM2.to_string()] {
        let (out, v) = identify_json(&h, input.as_bytes());
        assert!(out.status.success());
        assert_output_clean(&out, &[D2, BODY2]);
        let k = &v["keys"][0];
        assert_eq!(k["state"], "unknown");
        assert_eq!(k["did"], DID2);
        assert_eq!(k["matches"], Value::Array(vec![]));
        let human = identify(&h, input.as_bytes(), &[]);
        let text = stdout(&human);
        assert!(text.contains(DID2) && text.contains("none here"), "{text}");
        assert_output_clean(&human, &[D2, BODY2]);
    }
}

#[test]
fn an_env_value_the_sdk_would_misread_says_what_is_wrong() {
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    seed_server(&h, "s1", PEM2);
    // kid of another key: the SDK takes it and announces the wrong DID.
    let wrong_kid = format!("{AGENT_VAR}='{}'\n", private_jwk(D1, X1, DID2));
    let (out, v) = identify_json(&h, wrong_kid.as_bytes());
    assert!(out.status.success(), "a readable key exits 0");
    assert_output_clean(&out, &[D1, BODY1]);
    let k = &v["keys"][0];
    assert_eq!(k["state"], "current");
    assert_eq!(k["sdk"]["accepted"], true);
    assert_eq!(k["sdk"]["problems"][0]["code"], "kid-mismatch", "{k:#}");
    // No did: kid at all: the SDK ignores the value and may mint a new identity.
    let no_kid = format!(
        "{AGENT_VAR}='{{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":\"{D1}\",\"x\":\"{X1}\"}}'"
    );
    let (_, v) = identify_json(&h, no_kid.as_bytes());
    assert_eq!(v["keys"][0]["sdk"]["accepted"], false);
    // Escaped quotes inside single quotes: the key is read, but the SDK gets backslashes.
    let kept = format!(
        "{AGENT_VAR}='{}'",
        private_jwk(D1, X1, DID1).replace('"', "\\\"")
    );
    let (out, v) = identify_json(&h, kept.as_bytes());
    assert!(out.status.success());
    assert_output_clean(&out, &[D1]);
    assert_eq!(v["keys"][0]["state"], "current");
    assert_eq!(v["keys"][0]["sdk"]["accepted"], false, "{v:#}");
    // A PEM in the agent's variable.
    let swapped = format!("{AGENT_VAR}='{}'", PEM2.replace('\n', "\\n"));
    let (out, v) = identify_json(&h, swapped.as_bytes());
    assert!(out.status.success());
    assert_eq!(v["keys"][0]["matches"][0]["id"], "s1");
    assert_eq!(v["keys"][0]["sdk"]["var"], AGENT_VAR);
    assert_eq!(v["keys"][0]["sdk"]["accepted"], false);
    // Line breaks lost: the key is still identified; the SDK verdict says why Go tools fail.
    let spaced = format!("{SERVER_VAR}='{}'", PEM2.trim_end().replace('\n', " "));
    let (out, v) = identify_json(&h, spaced.as_bytes());
    assert!(out.status.success());
    assert_output_clean(&out, &[D1, BODY1, BODY2]);
    let k = &v["keys"][0];
    assert_eq!(k["layout"], "newlines-lost");
    assert_eq!(k["matches"][0]["id"], "s1");
    let msg = k["sdk"]["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("line breaks"), "{msg}");
    let human = identify(&h, spaced.as_bytes(), &[]);
    assert_output_clean(&human, &[D1, BODY1, BODY2]);
}

#[test]
fn unreadable_input_exits_1_and_describes_only_its_shape() {
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    let good = private_jwk(D1, X1, DID1);
    let cut = good.find(D1).unwrap() + 30;
    let mut binary: Vec<u8> = (0u8..=255).cycle().take(4096).collect();
    binary.extend_from_slice(&[0xff, 0xfe, 0x00]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "truncated JWK",
            format!("{AGENT_VAR}='{}'", &good[..cut]).into_bytes(),
            "truncated",
        ),
        (
            "truncated PEM",
            PEM1.as_bytes()[..60].to_vec(),
            "no matching END line",
        ),
        (
            "d too short",
            good.replace(D1, &D1[..40]).into_bytes(),
            "decodes to 30 bytes",
        ),
        (
            "Python dict repr",
            good.replace('"', "'").into_bytes(),
            "single quotes",
        ),
        ("garbage", b"hello, world\nFOO=bar\n".to_vec(), "looked for"),
        ("binary", binary, "not UTF-8"),
        ("empty", Vec::new(), "empty"),
        ("seed alone", D1.as_bytes().to_vec(), "looked for"),
    ];
    for (name, input, expect) in cases {
        for args in [&[][..], &["--json"][..]] {
            let out = identify(&h, &input, args);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{name} {args:?}: {}",
                stderr(&out)
            );
            assert_output_clean(&out, &[D1, BODY1, &good[..cut]]);
            let all = format!("{}{}", stdout(&out), stderr(&out));
            assert!(all.contains(expect), "{name} {args:?}: {all}");
            // The input never comes back, not even its harmless parts.
            assert!(!all.contains("hello, world"), "{name}: {all}");
        }
    }
    let (_, v) = identify_json(&h, format!("{AGENT_VAR}='{}'", &good[..cut]).as_bytes());
    assert_eq!(v["keys"], Value::Array(vec![]));
    assert_eq!(v["unreadable"][0]["line"], 1);
}

#[test]
fn input_over_1_mib_is_refused_without_reading_it_all() {
    let h = Home::new();
    let mut big = private_jwk(D1, X1, DID1).into_bytes();
    big.resize(2 << 20, b' ');
    let out = identify(&h, &big, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("larger than 1 MiB"), "{err}");
    assert_output_clean(&out, &[D1]);
    // Exactly 1 MiB is read.
    big.truncate(1 << 20);
    let out = identify(&h, &big, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let h = Home::new();
    let out = identify(&h, b"", &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let out = identify(&h, b"", &["extra-argument"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn reads_a_fifo_until_its_writer_closes() {
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    let fifo = h.path().join("paste.fifo");
    mkfifo(&fifo);
    let f = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut w = std::fs::OpenOptions::new().write(true).open(&f).unwrap();
        w.write_all(format!("{AGENT_VAR}=").as_bytes()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(200));
        w.write_all(private_jwk(D1, X1, DID1).as_bytes()).unwrap();
    });
    let out = h
        .cmd()
        .args(["identify", "--json"])
        .stdin(std::fs::File::open(&fifo).unwrap())
        .output()
        .unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["keys"][0]["matches"][0]["id"], "a1");
    assert_output_clean(&out, &[D1]);
}

#[test]
#[cfg_attr(
    not(capiscio_test_tui),
    ignore = "needs tmux: install it, or set CAPISCIO_TUI_TEST_TUI=1 to require it"
)]
fn on_a_terminal_it_asks_for_the_paste() {
    if !Tmux::available() {
        return;
    }
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    let out_file = h.path().join("identify.out");
    let cmd = format!(
        "env -i HOME={home} PATH=\"$PATH\" {bin} identify > {out}; echo EXIT=$?; sleep 60",
        home = h.path().display(),
        bin = env!("CARGO_BIN_EXE_capiscio-tui"),
        out = out_file.display(),
    );
    let t = Tmux::start("identify", 100, 30, &cmd);
    t.wait_for("Ctrl-D", 10);
    t.type_text(&format!("{AGENT_VAR}='{}'", private_jwk(D1, X1, DID1)));
    t.send(&["Enter", "C-d"]);
    t.wait_for("EXIT=0", 10);
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        text.contains("a1") && text.contains("its CURRENT key"),
        "{text}"
    );
    assert_clean(&text, &[D1]);
}

// ------------------------------------------------------------- properties of the finder

fn key() -> impl Strategy<Value = KeyPair> {
    any::<[u8; 32]>().prop_map(|s| KeyPair::from_seed(&s))
}

fn label() -> impl Strategy<Value = String> {
    "[ -~]{0,24}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every format `export` prints, for both variables, gives back exactly its key.
    #[test]
    fn every_export_format_of_random_keys_round_trips(k in key(), label in label()) {
        for target in [Target::Agent, Target::McpServer] {
            for format in Format::ALL {
                let text = export::render(format, &Request { key: &k, target, label: &label });
                let found = pasted::find(&text);
                prop_assert_eq!(found.candidates.len(), 1, "{:?} {:?}", format, target);
                let c = &found.candidates[0];
                let m = c.key.as_ref().map_err(|e| TestCaseError::fail(format!("{format:?} {target:?}: {e}")))?;
                prop_assert_eq!(m.public(), *k.public());
                prop_assert!(c.format.is_private());
                if !matches!(format, Format::Jwk | Format::Pem) {
                    prop_assert_eq!(c.place.var.as_deref(), Some(target.var()), "{:?} {:?}", format, target);
                }
                let d = b64::url_encode(k.seed());
                prop_assert!(!c.describe().contains(&d[..16]));
            }
        }
    }

    /// Through the service `identify` runs: random keys written as an agent and an MCP
    /// server, every export format of each matched to the right identity as `current`,
    /// and an unrelated random key as `unknown`, with the SDK accepting every export.
    #[test]
    fn every_export_format_of_random_keys_identifies_its_identity(a in key(), s in key(), other in key()) {
        prop_assume!(a.public() != s.public() && other.public() != a.public() && other.public() != s.public());
        let home = tempfile::tempdir().unwrap();
        let adir = home.path().join("agent");
        let sdir = home.path().join("server");
        capiscio_tui::store::disk::write_agent(&adir, &a, None).unwrap();
        capiscio_tui::store::disk::write_server(&sdir, &s).unwrap();
        let found = vec![
            capiscio_tui::store::disk::inspect_agent(&adir, "agent", true, now()),
            capiscio_tui::store::disk::inspect_server(&sdir, "server"),
        ];
        let shape = || identify::InputShape { bytes: 0, lines: 0, binary: false };
        for (k, id, target) in [(&a, "agent", Target::Agent), (&s, "server", Target::McpServer), (&other, "", Target::Agent)] {
            for format in Format::ALL {
                let text = export::render(format, &Request { key: k, target, label: "x" });
                let r = identify::identify_in(&found, shape(), pasted::find(&text));
                prop_assert_eq!(r.keys.len(), 1, "{:?}", format);
                let key = &r.keys[0];
                prop_assert_eq!(&key.did, &k.public().did_key());
                if id.is_empty() {
                    prop_assert_eq!(key.state, identify::State::Unknown);
                    prop_assert!(key.matches.is_empty());
                } else {
                    prop_assert_eq!(key.state, identify::State::Current);
                    prop_assert_eq!(key.matches.len(), 1);
                    prop_assert_eq!(&key.matches[0].id, id);
                }
                let sdk = key.sdk.as_ref().unwrap();
                prop_assert!(sdk.accepted && sdk.problems.is_empty(), "{:?} {:?}", format, sdk);
                let json = serde_json::to_string(&r).unwrap();
                let d = b64::url_encode(k.seed());
                prop_assert!(!json.contains(&d[..16]) && !json.contains(&d[27..43]));
            }
        }
    }

    /// Arbitrary text and bytes: no panic, and every message is free of the text.
    #[test]
    fn the_finder_never_panics(text in ".{0,400}", bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = pasted::find(&text);
        let _ = pasted::find(&String::from_utf8_lossy(&bytes));
    }

    /// Real snippets cut, spliced and mangled: no panic, and what comes back as a
    /// message never quotes the key.
    #[test]
    fn mangled_snippets_never_panic_or_leak(
        k in key(),
        fi in 0usize..8,
        agent in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        insert in prop::sample::select(vec!["", "\"", "'", "\\", "\n", "{", "}", "-----BEGIN ", "\"kty\"", "\\n", "=", ": |\n", " "]),
    ) {
        let target = if agent { Target::Agent } else { Target::McpServer };
        let text = export::render(Format::ALL[fi], &Request { key: &k, target, label: "x" });
        let mut s: String = text.chars().take(cut.index(text.chars().count() + 1)).collect();
        let pos = s.char_indices().map(|(i, _)| i).chain([s.len()]).nth(at.index(s.chars().count() + 1)).unwrap();
        s.insert_str(pos, insert);
        let found = pasted::find(&s);
        let d = b64::url_encode(k.seed());
        let body = pem::encode_private(&k);
        let body = body.lines().nth(1).unwrap();
        for c in &found.candidates {
            let mut msgs = vec![c.describe()];
            msgs.extend(c.notes.iter().cloned());
            if let Err(e) = &c.key {
                msgs.push(e.clone());
            }
            for m in msgs {
                prop_assert!(!m.contains(&d[..16]) && !m.contains(&d[20..36]), "{}", m);
                prop_assert!(!m.contains(&body[20..36]) && !m.contains(&body[40..56]), "{}", m);
            }
        }
    }
}

#[test]
fn jwk_and_pem_helpers_agree_with_the_fixtures() {
    // Sanity for the constants the tests above lean on.
    let k = jwk::parse_private(&private_jwk(D1, X1, DID1)).unwrap().key;
    assert_eq!(pem::encode_private(&k).as_str(), PEM1);
    assert!(PEM1.contains(BODY1) && PEM2.contains(BODY2));
}

// ------------------------------------------------------------- the secret_echo corpus

fn seed1() -> [u8; 32] {
    core::array::from_fn(|i| u8::from_str_radix(&SEED1_HEX[2 * i..2 * i + 2], 16).unwrap())
}

/// Every 16-character window of every encoding of seed 1 (as tests/secret_echo.rs).
fn secret_windows() -> Vec<String> {
    let seed = seed1();
    let chunks: Vec<&str> = (0..4).map(|i| &BODY1[16 * i..16 * i + 16]).collect();
    let encodings = [
        D1.to_string(),
        b64::std_encode(&seed),
        SEED1_HEX.to_string(),
        BODY1.to_string(),
        chunks.join(" "),
        chunks.join("\t"),
    ];
    let mut w: Vec<String> = encodings
        .iter()
        .flat_map(|e| {
            let c: Vec<char> = e.chars().collect();
            c.windows(16)
                .map(|w| w.iter().collect::<String>())
                .collect::<Vec<_>>()
        })
        .collect();
    w.sort();
    w.dedup();
    w
}

/// Malformed and odd variants of seed 1's key, as JWK and as PEM.
fn corpus() -> Vec<(&'static str, String)> {
    let good = private_jwk(D1, X1, DID1);
    let d_member = format!(r#""d":"{D1}""#);
    let d_cut = good.find(D1).unwrap() + 30;
    let one = PEM1.trim_end();
    vec![
        ("jwk truncated in d", good[..d_cut].to_string()),
        ("jwk truncated after d", good[..good.len() - 3].to_string()),
        (
            "d in kty",
            good.replace(r#""kty":"OKP""#, &format!(r#""kty":"{D1}""#)),
        ),
        ("d in kid", private_jwk(D1, X1, D1)),
        ("d in another member", good.replace(r#""d":"#, r#""key":"#)),
        (
            "d with a bad character",
            good.replace(D1, &format!("{}!{}", &D1[..20], &D1[21..])),
        ),
        ("d too long", good.replace(D1, &format!("{D1}AAAA"))),
        (
            "d as an array",
            good.replace(&d_member, &format!(r#""d":["{D1}"]"#)),
        ),
        (
            "d given twice",
            good.replace(&d_member, &format!("{d_member},{d_member}")),
        ),
        ("single-quoted JSON", good.replace('"', "'")),
        ("trailing garbage", format!("{good} {D1}")),
        (
            "missing comma",
            good.replace(&format!("{d_member},"), &d_member),
        ),
        ("bare d", D1.to_string()),
        ("pem one line, tabs", one.replace('\n', "\t")),
        ("pem one line, nothing", one.replace('\n', "")),
        (
            "pem label typo",
            PEM1.replace("BEGIN PRIVATE", "BEGIN PRIVTE"),
        ),
        ("pem broken base64", PEM1.replace("/Vpg", "/V%g")),
        ("pem truncated body", PEM1.replace("rn9g", "rn9")),
        (
            "pem no END",
            PEM1.replace("-----END PRIVATE KEY-----\n", ""),
        ),
        ("pem body only", BODY1.to_string()),
        (
            "pem public label",
            PEM1.replace("PRIVATE KEY", "PUBLIC KEY"),
        ),
        (
            "pem body split",
            PEM1.replace(
                BODY1,
                &BODY1
                    .as_bytes()
                    .chunks(16)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        ),
    ]
}

/// Every variant, bare and in the containers people paste, through `identify` and
/// `identify --json`: exit 0 or 1, and no window of any encoding of the seed in the output.
#[test]
fn no_variant_of_a_key_is_echoed_in_any_container() {
    let h = Home::new();
    seed_agent(&h, "a1", D1, X1, DID1);
    let windows = secret_windows();
    let mut ran = 0;
    for (name, value) in corpus() {
        let wrapped = [
            value.clone(),
            format!("export {AGENT_VAR}='{value}'\n"),
            format!(
                "{SERVER_VAR}=\"{}\"\n",
                value.replace('"', "\\\"").replace('\n', "\\n")
            ),
            format!("    environment:\n      - {AGENT_VAR}={value}\n"),
            format!(
                "data:\n  {SERVER_VAR}: {}\n",
                b64::std_encode(value.as_bytes())
            ),
        ];
        for input in wrapped {
            for args in [&[][..], &["--json"][..]] {
                let out = identify(&h, input.as_bytes(), args);
                let code = out.status.code();
                assert!(matches!(code, Some(0 | 1)), "{name} {args:?}: {code:?}");
                for text in [stdout(&out), stderr(&out)] {
                    if let Some(w) = windows.iter().find(|w| text.contains(w.as_str())) {
                        panic!("{name} {args:?}: secret window {w:?} leaked:\n{text}");
                    }
                }
                ran += 1;
            }
        }
    }
    assert!(ran > 100);
}
