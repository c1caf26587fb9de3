//! Every export format round-trips back to the same key through the thing that consumes
//! it: a real `sh` (env line, Lambda, Cloud Run and GitHub commands, with the deployment
//! CLIs stubbed as shell functions) or a YAML parser (Compose, Kubernetes).

use capiscio_tui::core::export::{Format, Request, Target, render};
use capiscio_tui::core::key::KeyPair;
use capiscio_tui::core::{jwk, pem};
use proptest::prelude::*;
use std::process::Command;
use yaml_rust2::{Yaml, YamlLoader};

fn var(target: Target) -> &'static str {
    target.var()
}

fn parse_value(target: Target, value: &str) -> KeyPair {
    match target {
        Target::Agent => jwk::parse_private(value).unwrap().key,
        Target::McpServer => pem::parse_private(value).unwrap().0,
    }
}

/// Runs the snippet in `sh` and prints what the env var (or the stubbed CLI) received.
fn through_sh(format: Format, snippet: &str, target: Target) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snippet.sh");
    std::fs::write(&file, snippet).unwrap();
    let v = var(target);
    let script = match format {
        Format::Env => format!(". '{}'; printf %s \"${v}\"", file.display()),
        Format::Lambda => format!(
            "aws() {{ while [ $# -gt 0 ]; do if [ \"$1\" = --environment ]; then printf %s \"$2\"; fi; shift; done; }}; . '{}'",
            file.display()
        ),
        Format::Cloudrun => format!(
            "gcloud() {{ if [ \"$1\" = secrets ]; then cat; fi; }}; . '{}'",
            file.display()
        ),
        Format::Github => format!("gh() {{ cat; }}; . '{}'", file.display()),
        _ => unreachable!(),
    };
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if format == Format::Lambda {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        return v["Variables"][var(target)].as_str().unwrap().to_string();
    }
    text
}

fn through_yaml(format: Format, snippet: &str, target: Target) -> String {
    let docs = YamlLoader::load_from_str(snippet).unwrap();
    let doc = &docs[0];
    let value = match format {
        Format::Compose => {
            let services = doc["services"].as_hash().unwrap();
            let (_, service) = services.iter().next().unwrap();
            service["environment"][var(target)].clone()
        }
        Format::K8s => {
            assert_eq!(doc["apiVersion"], Yaml::String("v1".into()));
            assert_eq!(doc["kind"], Yaml::String("Secret".into()));
            doc["stringData"][var(target)].clone()
        }
        _ => unreachable!(),
    };
    value.as_str().unwrap().to_string()
}

fn key() -> impl Strategy<Value = KeyPair> {
    any::<[u8; 32]>().prop_map(|s| KeyPair::from_seed(&s))
}

fn label() -> impl Strategy<Value = String> {
    // Names reach Compose service names, Secret names, function names: anything goes in.
    "[ -~]{0,24}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_format_round_trips(k in key(), label in label()) {
        for target in [Target::Agent, Target::McpServer] {
            for format in Format::ALL {
                let snippet = render(format, &Request { key: &k, target, label: &label });
                let value = match format {
                    Format::Jwk => jwk::parse_private(&snippet).unwrap().key,
                    Format::Pem => pem::parse_private(&snippet).unwrap().0,
                    Format::Env | Format::Lambda | Format::Cloudrun | Format::Github => parse_value(target, &through_sh(format, &snippet, target)),
                    Format::Compose | Format::K8s => parse_value(target, &through_yaml(format, &snippet, target)),
                };
                prop_assert!(value == k, "{format:?} as {target:?} with label {label:?} did not round-trip");
            }
        }
    }
}
