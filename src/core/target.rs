//! Push targets — where a key is stored in a secrets manager — as one string:
//! `aws-sm:<name>[?region=..&profile=..]`, `aws-ssm:<name>[?..]`,
//! `vault:<mount>/<path>#<field>`, `gcloud:<secret>`,
//! `k8s:[<context>:]<namespace>/<secret>#<key>`, `gh:<owner>/<repo>[@<env>]#<NAME>`,
//! `doppler:<project>/<config>#<NAME>`, `op:<vault>/<item>#<field>`.
//! Parsing and printing round-trip; errors describe the shape and never quote the input
//! (a user may paste a key where a target belongs).

use std::fmt;

/// One place a key can be pushed to. Every part is restricted to characters that cannot
/// start a CLI option or need shell quoting, so the argv built from it is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    AwsSm {
        name: String,
        region: Option<String>,
        profile: Option<String>,
    },
    AwsSsm {
        name: String,
        region: Option<String>,
        profile: Option<String>,
    },
    Vault {
        mount: String,
        path: String,
        field: String,
    },
    Gcloud {
        secret: String,
    },
    K8s {
        context: Option<String>,
        namespace: String,
        secret: String,
        key: String,
    },
    Gh {
        owner: String,
        repo: String,
        env: Option<String>,
        name: String,
    },
    Doppler {
        project: String,
        config: String,
        name: String,
    },
    Op {
        vault: String,
        item: String,
        field: String,
    },
}

pub const SCHEMES: &[&str] = &[
    "aws-sm", "aws-ssm", "vault", "gcloud", "k8s", "gh", "doppler", "op",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("a target starts with a backend and a colon, one of: {}", SCHEMES.join(", "))]
    NoScheme,
    #[error("unknown target backend; use one of: {}", SCHEMES.join(", "))]
    UnknownScheme,
    #[error("a {scheme} target looks like {expected}")]
    Shape {
        scheme: &'static str,
        expected: &'static str,
    },
    #[error("the {part} of a {scheme} target is empty")]
    Empty {
        scheme: &'static str,
        part: &'static str,
    },
    #[error(
        "the {part} of a {scheme} target has a character it may not contain (character {position}); allowed: {allowed}"
    )]
    BadChar {
        scheme: &'static str,
        part: &'static str,
        position: usize,
        allowed: &'static str,
    },
    #[error("the {part} of a {scheme} target cannot start with `-`, `.`, `@` or `/`")]
    BadStart {
        scheme: &'static str,
        part: &'static str,
    },
    #[error("the {part} of a {scheme} target has an empty, `.` or `..` segment")]
    DotSegment {
        scheme: &'static str,
        part: &'static str,
    },
    #[error("the {part} of a {scheme} target is longer than {max} characters")]
    TooLong {
        scheme: &'static str,
        part: &'static str,
        max: usize,
    },
    #[error(
        "an {scheme} target takes only `?region=…&profile=…` after the name, each at most once"
    )]
    Query { scheme: &'static str },
    #[error("{scheme} targets take no `?…` options")]
    NoQuery { scheme: &'static str },
}

/// Which characters a part may hold.
#[derive(Clone, Copy)]
enum Chars {
    /// Names of most backends: letters, digits, `_ - . + = @`.
    Name,
    /// Paths: names plus `/`.
    Path,
    /// Environment-variable style: letters, digits, `_`.
    Var,
    /// GitHub owners and repositories: letters, digits, `_ - .`.
    Repo,
    /// A field or key inside a secret (vault `#field`, k8s `#key`, op `#field`): it
    /// reaches a CLI as `field=value`-style syntax, so no `=`, `@` or `+`.
    Key,
}

impl Chars {
    fn allows(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                Chars::Name => "_-.+=@".contains(c),
                Chars::Path => "_-.+=@/".contains(c),
                Chars::Var => c == '_',
                Chars::Repo | Chars::Key => "_-.".contains(c),
            }
    }

    fn describe(self) -> &'static str {
        match self {
            Chars::Name => "letters, digits, `_ - . + = @`",
            Chars::Path => "letters, digits, `_ - . + = @ /`",
            Chars::Var => "letters, digits, `_`",
            Chars::Repo | Chars::Key => "letters, digits, `_ - .`",
        }
    }
}

const MAX_PART: usize = 256;

fn part(
    scheme: &'static str,
    name: &'static str,
    s: &str,
    chars: Chars,
) -> Result<String, TargetError> {
    if s.is_empty() {
        return Err(TargetError::Empty { scheme, part: name });
    }
    if s.chars().count() > MAX_PART {
        return Err(TargetError::TooLong {
            scheme,
            part: name,
            max: MAX_PART,
        });
    }
    if let Some(position) = s.chars().position(|c| !chars.allows(c)) {
        return Err(TargetError::BadChar {
            scheme,
            part: name,
            position: position + 1,
            allowed: chars.describe(),
        });
    }
    // A leading `-` would read as an option to the CLI, a leading `@` as "read this
    // file" to some; `.`/`/` make odd or absolute paths.
    if s.starts_with(['-', '.', '@', '/']) {
        return Err(TargetError::BadStart { scheme, part: name });
    }
    // `a/../b` would be stored somewhere else than the record says (and `a//b`, `a/`
    // are not what they look like either).
    if s.split('/').any(|seg| matches!(seg, "" | "." | "..")) {
        return Err(TargetError::DotSegment { scheme, part: name });
    }
    Ok(s.to_string())
}

fn split2<'a>(
    s: &'a str,
    sep: char,
    scheme: &'static str,
    expected: &'static str,
) -> Result<(&'a str, &'a str), TargetError> {
    s.split_once(sep)
        .ok_or(TargetError::Shape { scheme, expected })
}

impl std::str::FromStr for Target {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, TargetError> {
        let (scheme, rest) = s.split_once(':').ok_or(TargetError::NoScheme)?;
        let scheme: &'static str = SCHEMES
            .iter()
            .find(|k| **k == scheme)
            .ok_or(TargetError::UnknownScheme)?;
        match scheme {
            "aws-sm" | "aws-ssm" => {
                let (name, query) = match rest.split_once('?') {
                    Some((n, q)) => (n, Some(q)),
                    None => (rest, None),
                };
                // SSM hierarchies start with `/`; the rest is checked like any path.
                let name = match name.strip_prefix('/') {
                    Some(rest) if scheme == "aws-ssm" => {
                        format!("/{}", part(scheme, "name", rest, Chars::Path)?)
                    }
                    _ => part(scheme, "name", name, Chars::Path)?,
                };
                let (mut region, mut profile) = (None, None);
                if let Some(q) = query {
                    for pair in q.split('&') {
                        let (k, v) = pair.split_once('=').ok_or(TargetError::Query { scheme })?;
                        let slot = match k {
                            "region" => &mut region,
                            "profile" => &mut profile,
                            _ => return Err(TargetError::Query { scheme }),
                        };
                        if slot.is_some() {
                            return Err(TargetError::Query { scheme });
                        }
                        *slot = Some(part(scheme, k_name(k), v, Chars::Name)?);
                    }
                }
                Ok(if scheme == "aws-sm" {
                    Target::AwsSm {
                        name,
                        region,
                        profile,
                    }
                } else {
                    Target::AwsSsm {
                        name,
                        region,
                        profile,
                    }
                })
            }
            _ if rest.contains('?') => Err(TargetError::NoQuery { scheme }),
            "vault" => {
                const E: &str = "vault:<mount>/<path>#<field>";
                let (loc, field) = split2(rest, '#', scheme, E)?;
                let (mount, path) = split2(loc, '/', scheme, E)?;
                Ok(Target::Vault {
                    mount: part(scheme, "mount", mount, Chars::Name)?,
                    path: part(scheme, "path", path, Chars::Path)?,
                    field: part(scheme, "field", field, Chars::Key)?,
                })
            }
            "gcloud" => Ok(Target::Gcloud {
                secret: part(scheme, "secret", rest, Chars::Name)?,
            }),
            "k8s" => {
                const E: &str = "k8s:[<context>:]<namespace>/<secret>#<key>";
                let (loc, key) = split2(rest, '#', scheme, E)?;
                let (context, loc) = match loc.rsplit_once(':') {
                    Some((c, l)) => (Some(part(scheme, "context", c, Chars::Path)?), l),
                    None => (None, loc),
                };
                let (namespace, secret) = split2(loc, '/', scheme, E)?;
                Ok(Target::K8s {
                    context,
                    namespace: part(scheme, "namespace", namespace, Chars::Name)?,
                    secret: part(scheme, "secret", secret, Chars::Name)?,
                    key: part(scheme, "key", key, Chars::Key)?,
                })
            }
            "gh" => {
                const E: &str = "gh:<owner>/<repo>[@<environment>]#<NAME>";
                let (loc, name) = split2(rest, '#', scheme, E)?;
                let (repo, env) = match loc.split_once('@') {
                    Some((r, e)) => (r, Some(part(scheme, "environment", e, Chars::Name)?)),
                    None => (loc, None),
                };
                let (owner, repo) = split2(repo, '/', scheme, E)?;
                Ok(Target::Gh {
                    owner: part(scheme, "owner", owner, Chars::Repo)?,
                    repo: part(scheme, "repository", repo, Chars::Repo)?,
                    env,
                    name: part(scheme, "secret name", name, Chars::Var)?,
                })
            }
            "doppler" => {
                const E: &str = "doppler:<project>/<config>#<NAME>";
                let (loc, name) = split2(rest, '#', scheme, E)?;
                let (project, config) = split2(loc, '/', scheme, E)?;
                Ok(Target::Doppler {
                    project: part(scheme, "project", project, Chars::Name)?,
                    config: part(scheme, "config", config, Chars::Name)?,
                    name: part(scheme, "secret name", name, Chars::Var)?,
                })
            }
            _ => {
                const E: &str = "op:<vault>/<item>#<field>";
                let (loc, field) = split2(rest, '#', scheme, E)?;
                let (vault, item) = split2(loc, '/', scheme, E)?;
                Ok(Target::Op {
                    vault: part(scheme, "vault", vault, Chars::Name)?,
                    item: part(scheme, "item", item, Chars::Name)?,
                    field: part(scheme, "field", field, Chars::Key)?,
                })
            }
        }
    }
}

fn k_name(k: &str) -> &'static str {
    if k == "region" { "region" } else { "profile" }
}

impl Target {
    pub fn scheme(&self) -> &'static str {
        match self {
            Target::AwsSm { .. } => "aws-sm",
            Target::AwsSsm { .. } => "aws-ssm",
            Target::Vault { .. } => "vault",
            Target::Gcloud { .. } => "gcloud",
            Target::K8s { .. } => "k8s",
            Target::Gh { .. } => "gh",
            Target::Doppler { .. } => "doppler",
            Target::Op { .. } => "op",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme())?;
        match self {
            Target::AwsSm {
                name,
                region,
                profile,
            }
            | Target::AwsSsm {
                name,
                region,
                profile,
            } => {
                write!(f, "{name}")?;
                let q: Vec<String> = [("region", region), ("profile", profile)]
                    .into_iter()
                    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                    .collect();
                if !q.is_empty() {
                    write!(f, "?{}", q.join("&"))?;
                }
                Ok(())
            }
            Target::Vault { mount, path, field } => write!(f, "{mount}/{path}#{field}"),
            Target::Gcloud { secret } => write!(f, "{secret}"),
            Target::K8s {
                context,
                namespace,
                secret,
                key,
            } => {
                if let Some(c) = context {
                    write!(f, "{c}:")?;
                }
                write!(f, "{namespace}/{secret}#{key}")
            }
            Target::Gh {
                owner,
                repo,
                env,
                name,
            } => {
                write!(f, "{owner}/{repo}")?;
                if let Some(e) = env {
                    write!(f, "@{e}")?;
                }
                write!(f, "#{name}")
            }
            Target::Doppler {
                project,
                config,
                name,
            } => write!(f, "{project}/{config}#{name}"),
            Target::Op { vault, item, field } => write!(f, "{vault}/{item}#{field}"),
        }
    }
}

impl serde::Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_documented_shape_round_trips() {
        for s in [
            "aws-sm:prod/billing-agent",
            "aws-sm:prod/billing?region=eu-west-1&profile=ops",
            "aws-ssm:/capiscio/agent?region=us-east-1",
            "vault:secret/capiscio/agent#jwk",
            "gcloud:capiscio-agent",
            "k8s:prod/capiscio#CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            "k8s:kind-dev:default/capiscio#key.pem",
            "gh:acme/api@production#CAPISCIO_AGENT_PRIVATE_KEY_JWK",
            "gh:acme/api#KEY",
            "doppler:api/prd#CAPISCIO_SERVER_PRIVATE_KEY_PEM",
            "op:Private/CapiscIO agent#credential",
        ] {
            let t: Result<Target, _> = s.parse();
            if s.contains(' ') {
                assert!(t.is_err(), "{s}");
                continue;
            }
            let t = t.unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(t.to_string(), s);
        }
        // aws-ssm names may start with `/` (hierarchies); the check keeps them as written.
    }

    #[test]
    fn errors_describe_the_shape_without_quoting() {
        let secret = r#"{"kty":"OKP","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}"#;
        for bad in [
            secret.to_string(),
            format!("vault:{secret}"),
            format!("gh:a/b#{secret}"),
            format!("aws-sm:x?region={secret}"),
            "k8s:ns/s".into(),
            "nope:x".into(),
            "aws-sm:-oops".into(),
            "gh:a/b#NAME-WITH-DASH".into(),
            "gcloud:x?y=1".into(),
        ] {
            let e = bad.parse::<Target>().unwrap_err().to_string();
            assert!(!e.contains("nWGx"), "{e}");
            assert!(!e.contains("OKP"), "{e}");
        }
    }

    #[test]
    fn a_leading_dash_never_reaches_an_argv() {
        for s in [
            "aws-sm:-x",
            "vault:-m/p#f",
            "k8s:-c:ns/s#k",
            "op:v/-i#f",
            "aws-sm:x?profile=-p",
        ] {
            assert!(s.parse::<Target>().is_err(), "{s}");
        }
    }

    #[test]
    fn a_field_or_key_cannot_carry_cli_syntax() {
        for s in [
            "vault:secret/a#x=y",
            "vault:secret/b#x=@loot",
            "vault:secret/b#@loot",
            "vault:secret/b#-x",
            "vault:secret/b#.x",
            "vault:secret/b#x+y",
            "k8s:ns/s#k=v",
            "k8s:ns/s#@k",
            "op:v/i#f=x",
            "doppler:p/c#A=B",
            "gh:o/r#A=B",
            "vault:@m/p#f",
            "gcloud:@s",
        ] {
            let e = s.parse::<Target>().unwrap_err().to_string();
            assert!(!e.contains("loot") && !e.contains("x=y"), "{e}");
        }
        for s in ["vault:secret/a#x.y_z-1", "k8s:ns/s#key.pem", "op:v/i#f-1"] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn dot_and_empty_segments_are_refused_everywhere() {
        for s in [
            "vault:secret/a/../../sys/b#f",
            "vault:secret/a/./b#f",
            "vault:secret/../b#f",
            "vault:secret/a/..#f",
            "vault:secret/a//b#f",
            "vault:secret/a/#f",
            "vault:../p#f",
            "aws-sm:a/../b",
            "aws-sm:a/./b",
            "aws-sm:a/..",
            "aws-ssm:/a/../b",
            "aws-ssm:a/./b",
            "gcloud:..",
            "k8s:../s#k",
            "k8s:ns/..#k",
            "k8s:c/../d:ns/s#k",
            "op:../i#f",
        ] {
            let e = s.parse::<Target>().unwrap_err().to_string();
            assert!(!e.contains(s.split_once(':').unwrap().1), "{s}: {e}");
        }
        // Dots inside a segment are fine.
        for s in ["vault:secret/a.b/c..d#f", "aws-sm:a/b.c"] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_.+=@-]{0,20}"
    }
    fn key() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_.-]{0,20}"
    }
    fn var() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_]{1,20}"
    }
    fn path() -> impl Strategy<Value = String> {
        proptest::collection::vec(name(), 1..4).prop_map(|v| v.join("/"))
    }

    fn target() -> impl Strategy<Value = Target> {
        prop_oneof![
            (
                path(),
                proptest::option::of(name()),
                proptest::option::of(name())
            )
                .prop_map(|(name, region, profile)| Target::AwsSm {
                    name,
                    region,
                    profile
                }),
            (
                path(),
                any::<bool>(),
                proptest::option::of(name()),
                proptest::option::of(name())
            )
                .prop_map(|(name, rooted, region, profile)| Target::AwsSsm {
                    name: if rooted { format!("/{name}") } else { name },
                    region,
                    profile
                }),
            (name(), path(), key()).prop_map(|(mount, path, field)| Target::Vault {
                mount,
                path,
                field
            }),
            name().prop_map(|secret| Target::Gcloud { secret }),
            (proptest::option::of(path()), name(), name(), key()).prop_map(
                |(context, namespace, secret, key)| Target::K8s {
                    context,
                    namespace,
                    secret,
                    key
                }
            ),
            (
                "[A-Za-z0-9][A-Za-z0-9_.-]{0,9}",
                "[A-Za-z0-9][A-Za-z0-9_.-]{0,9}",
                proptest::option::of(name()),
                var()
            )
                .prop_map(|(owner, repo, env, name)| Target::Gh {
                    owner,
                    repo,
                    env,
                    name
                }),
            (name(), name(), var()).prop_map(|(project, config, name)| Target::Doppler {
                project,
                config,
                name
            }),
            (name(), name(), key()).prop_map(|(vault, item, field)| Target::Op {
                vault,
                item,
                field
            }),
        ]
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_target(t in target()) {
            let s = t.to_string();
            prop_assert_eq!(s.parse::<Target>().unwrap(), t);
        }

        #[test]
        fn parsing_any_text_never_panics_and_printing_is_stable(s in "\\PC{0,60}") {
            if let Ok(t) = s.parse::<Target>() {
                let again: Target = t.to_string().parse().unwrap();
                prop_assert_eq!(again, t);
            }
        }
    }
}
