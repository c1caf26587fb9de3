//! Identities injected through `CAPISCIO_AGENT_PRIVATE_KEY_JWK` and
//! `CAPISCIO_SERVER_PRIVATE_KEY_PEM`, judged exactly as the SDKs judge them.

use crate::core::export::{AGENT_VAR, SERVER_VAR};
use crate::core::identity::{Code, Identity, Kind, Problem, Source};
use crate::core::jwk::{self, JsonFault, KidStatus};
use crate::core::key::KeyPair;
use crate::core::pem;
use crate::store::disk::{Found, LoadError, SecretRef, describe_kid};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

pub const KEY_DIR_VAR: &str = "CAPISCIO_KEY_DIR";
pub const AGENT_ID_VAR: &str = "CAPISCIO_AGENT_ID";
pub const AGENT_NAME_VAR: &str = "CAPISCIO_AGENT_NAME";
pub const SERVER_ID_VAR: &str = "CAPISCIO_SERVER_ID";

/// The `CAPISCIO_*` variables of a process, captured once. Values are wiped on drop
/// because two of them are private keys.
#[derive(Default, Clone)]
pub struct EnvSnapshot {
    vars: BTreeMap<String, Zeroizing<String>>,
}

impl std::fmt::Debug for EnvSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl EnvSnapshot {
    pub fn from_process() -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                k.starts_with("CAPISCIO_")
                    .then(|| (k, Zeroizing::new(v.to_string_lossy().into_owned())))
            })
            .collect();
        Self { vars }
    }

    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k, Zeroizing::new(v)))
                .collect(),
        }
    }

    /// A variable's value; empty counts as unset, as in the SDKs' truthiness checks.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

fn env_identity(kind: Kind, var: &'static str, name: Option<String>) -> Identity {
    Identity {
        name,
        ..Identity::new(
            format!("env:{var}"),
            kind,
            Source::Env,
            format!("env:{var}"),
        )
    }
}

#[derive(serde::Deserialize)]
struct KidOnly {
    kid: Option<serde_json::Value>,
}

/// What `json.loads` + `.get("kid")` sees: `Err` (where and how it breaks, never
/// serde's text, which can quote the value) when not JSON, `Ok(None)` when JSON but not
/// an object, else the `kid` when it is a string. Parsed without building a `Value`, so
/// the private `d` is never copied into memory we cannot wipe.
fn sdk_json_view(value: &str) -> Result<Option<Option<String>>, JsonFault> {
    let fault = |e: serde_json::Error| JsonFault::of(&e, value);
    serde_json::from_str::<serde::de::IgnoredAny>(value).map_err(fault)?;
    if !value.trim_start().starts_with('{') {
        return Ok(None);
    }
    let k: KidOnly = serde_json::from_str(value).map_err(fault)?;
    Ok(Some(match k.kid {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }))
}

/// Judges `CAPISCIO_AGENT_PRIVATE_KEY_JWK` as agent SDK 2.7.1 does: it accepts any
/// JSON object whose `kid` starts with `did:`; everything else falls through (and may
/// mint a new identity), except valid non-object JSON, which aborts `connect()`.
pub fn inspect_agent(env: &EnvSnapshot) -> Option<Found> {
    let value = env.get(AGENT_VAR)?;
    let name = env.get(AGENT_NAME_VAR).map(str::to_string);
    let mut identity = env_identity(Kind::Agent, AGENT_VAR, name);
    let fix = format!(
        "re-export the key: `capiscio-tui export <ID> --format env` and set {AGENT_VAR} again"
    );
    let sdk_view = sdk_json_view(value);
    let sdk_accepts = match &sdk_view {
        Err(fault) => {
            identity.problems.push(Problem::error(
                Code::EnvInvalid,
                format!("{AGENT_VAR} is not valid JSON ({fault}): the SDK logs an error, falls back to disk keys, and may mint a NEW identity"),
                fix.clone(),
            ));
            false
        }
        Ok(None) => {
            identity.problems.push(Problem::error(
                Code::EnvInvalid,
                format!("{AGENT_VAR} is JSON but not an object: connect() raises and the agent does not start"),
                fix.clone(),
            ));
            false
        }
        Ok(Some(kid)) => match kid {
            // The SDK announces this kid as the DID, but it is never shown: a kid may be
            // the key itself after `did:key:`. The DID shown is the key's did:key (set
            // below), and a kid naming anything else is reported as a kid mismatch.
            Some(k) if k.starts_with("did:") => true,
            _ => {
                identity.problems.push(Problem::error(
                    Code::EnvInvalid,
                    format!("{AGENT_VAR} has no `kid` starting with did: the SDK ignores it, falls back to disk keys, and may mint a NEW identity"),
                    fix.clone(),
                ));
                false
            }
        },
    };
    let mut public = None;
    if matches!(sdk_view, Ok(Some(_))) {
        match jwk::parse_private(value) {
            Ok(p) => {
                public = Some(*p.key.public());
                if p.x_written.is_none() {
                    identity.problems.push(Problem::error(
                        Code::EnvInvalid,
                        format!("{AGENT_VAR} has no `x`: the SDK accepts it but capiscio-core cannot sign with it"),
                        fix.clone(),
                    ));
                } else if !p.x_matches() {
                    identity.problems.push(Problem::error(
                        Code::KeyMismatch,
                        format!("`x` in {AGENT_VAR} does not belong to `d`: every signature fails"),
                        fix.clone(),
                    ));
                }
                match p.kid_status() {
                    KidStatus::Matches | KidStatus::Missing | KidStatus::NotDid(_) => {}
                    KidStatus::OtherMethod(k) => identity.problems.push(Problem::warning(
                        Code::KidMismatch,
                        format!("{AGENT_VAR} kid is {k}: the SDK reports it as the DID, but it is not the key's did:key"),
                        fix.clone(),
                    )),
                    s @ KidStatus::WrongKey(_) => identity.problems.push(Problem::error(
                        Code::KidMismatch,
                        format!("{AGENT_VAR} kid {}: the SDK announces a DID that does not match the key", describe_kid(&s)),
                        fix.clone(),
                    )),
                }
            }
            Err(e) => identity.problems.push(Problem::error(
                Code::EnvInvalid,
                format!("{AGENT_VAR}: {e}; capiscio-core cannot sign with it"),
                fix.clone(),
            )),
        }
    }
    identity.key_did = public.map(|p| p.did_key());
    identity.fingerprint = public.map(|p| p.fingerprint());
    if identity.did.is_none() {
        identity.did = identity.key_did.clone();
    }
    Some(Found {
        identity,
        public,
        secret: SecretRef::Env(AGENT_VAR),
        dir: None,
        loadable: sdk_accepts,
        badge: None,
    })
}

/// Judges `CAPISCIO_SERVER_PRIVATE_KEY_PEM` as MCP SDK 2.7.1 does: literal `\n` are
/// unescaped, and any parse failure aborts start-up (no fallback).
pub fn inspect_server(env: &EnvSnapshot) -> Option<Found> {
    let value = env.get(SERVER_VAR)?;
    let mut identity = env_identity(Kind::McpServer, SERVER_VAR, None);
    let public = match pem::parse_private(value) {
        Ok((key, _)) => Some(*key.public()),
        Err(e) => {
            let effect = if matches!(e, pem::PemError::OneLine { .. }) {
                "capiscio-tui cannot check this key"
            } else {
                "MCPServerIdentity.connect() raises and the server does not start"
            };
            identity.problems.push(Problem::error(
                Code::EnvInvalid,
                format!("{SERVER_VAR}: {e}; {effect}"),
                match env.get(SERVER_ID_VAR) {
                    Some(sid) => format!("set {SERVER_VAR} again from your secrets manager, or from the stored key: `capiscio-tui export {sid} --format env`"),
                    None => format!("set {SERVER_VAR} again from your secrets manager (or from a stored server's key: `capiscio-tui list` names them), or unset it"),
                },
            ));
            None
        }
    };
    identity.key_did = public.map(|p| p.did_key());
    identity.did = identity.key_did.clone();
    identity.fingerprint = public.map(|p| p.fingerprint());
    Some(Found {
        identity,
        loadable: public.is_some(),
        public,
        secret: SecretRef::Env(SERVER_VAR),
        dir: None,
        badge: None,
    })
}

/// Loads the key held by an env var, for export. Refuses values the SDK would not use.
pub fn load_secret(env: &EnvSnapshot, var: &'static str) -> Result<KeyPair, LoadError> {
    let value = env.get(var).ok_or(LoadError::EnvUnset(var))?;
    let invalid = |message: String| LoadError::EnvInvalid { var, message };
    if var == AGENT_VAR {
        let p = jwk::parse_private(value).map_err(|e| invalid(e.to_string()))?;
        if p.x_written.is_some() && !p.x_matches() {
            return Err(invalid("`x` does not belong to `d`".into()));
        }
        Ok(p.key)
    } else {
        pem::parse_private(value)
            .map(|(k, _)| k)
            .map_err(|e| invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> EnvSnapshot {
        EnvSnapshot::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    const GOOD: &str = r#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}"#;

    #[test]
    fn empty_counts_as_unset() {
        assert!(inspect_agent(&env(&[(AGENT_VAR, "")])).is_none());
        assert!(inspect_server(&env(&[(SERVER_VAR, "")])).is_none());
    }

    #[test]
    fn good_agent_env() {
        let f = inspect_agent(&env(&[(AGENT_VAR, GOOD)])).unwrap();
        assert!(f.loadable);
        assert!(f.identity.problems.is_empty(), "{:?}", f.identity.problems);
        assert_eq!(f.identity.fingerprint.as_deref(), Some("21fe31dfa154a261"));
    }

    #[test]
    fn sdk_accepted_but_wrong_kid() {
        let v = GOOD.replace(
            "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
            "did:key:z6MkEnvVar",
        );
        let f = inspect_agent(&env(&[(AGENT_VAR, &v)])).unwrap();
        assert!(f.loadable, "the SDK accepts any did: kid");
        assert!(f.identity.has_code(Code::KidMismatch));
        assert_eq!(
            f.identity.did.as_deref(),
            Some("did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw")
        );
        let shown = format!("{:?}", f.identity.problems);
        assert!(!shown.contains("z6MkEnvVar"), "{shown}");
    }

    #[test]
    fn rejected_values() {
        for v in ["not json", "[1]", r#"{"kid":"key-1"}"#] {
            let f = inspect_agent(&env(&[(AGENT_VAR, v)])).unwrap();
            assert!(!f.loadable, "{v}");
            assert!(f.identity.has_code(Code::EnvInvalid), "{v}");
        }
        let s = inspect_server(&env(&[(SERVER_VAR, "-----BEGIN PRIVATE KEY-----\\nxx")])).unwrap();
        assert!(!s.loadable);
        assert!(s.identity.has_code(Code::EnvInvalid));
    }

    #[test]
    fn debug_hides_values() {
        let e = env(&[(AGENT_VAR, GOOD)]);
        assert!(!format!("{e:?}").contains("nWGx"));
        assert!(load_secret(&e, AGENT_VAR).is_ok());
    }

    /// Malformed variants of a real key in both variables: problems describe the shape.
    #[test]
    fn problems_never_quote_the_value() {
        const D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
        const BODY: &str = "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g";
        let pem_one_line = format!("-----BEGIN PRIVATE KEY----- {BODY} -----END PRIVATE KEY-----");
        let agent_values = [
            GOOD.replace('"', "'"),
            GOOD[..60].to_string(),
            GOOD.replace("\"kty\":\"OKP\"", &format!("\"kty\":\"{D}\"")),
            GOOD.replace(
                "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",
                D,
            ),
            pem_one_line.clone(),
            format!("{GOOD} {D}"),
        ];
        let server_values = [
            pem_one_line.clone(),
            pem_one_line.replace(' ', "\t"),
            GOOD.to_string(),
        ];
        let mut texts = Vec::new();
        for v in &agent_values {
            let f = inspect_agent(&env(&[(AGENT_VAR, v)])).unwrap();
            texts.push(format!("{:?}", f.identity));
            texts.push(serde_json::to_string(&f.identity).unwrap());
        }
        for v in &server_values {
            let f = inspect_server(&env(&[(SERVER_VAR, v)])).unwrap();
            assert!(!f.loadable);
            texts.push(format!("{:?}", f.identity));
            texts.push(serde_json::to_string(&f.identity).unwrap());
        }
        for t in &texts {
            for secret in [D, BODY] {
                let chars: Vec<char> = secret.chars().collect();
                for w in chars.windows(16) {
                    let w: String = w.iter().collect();
                    assert!(!t.contains(&w), "{w} leaked in {t}");
                }
            }
        }
        assert!(texts.iter().any(|t| t.contains("single quotes")));
        assert!(texts.iter().any(|t| t.contains("replaced by spaces")));
    }
}
