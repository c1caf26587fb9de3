//! The user's config file, `$XDG_CONFIG_HOME/capiscio-tui/config.toml` (else
//! `~/.config/capiscio-tui/config.toml`), for what would otherwise be repeated on every
//! command line. Each setting resolves as flag > environment variable > config file >
//! built-in default, and remembers where its value came from for `config show`.
//!
//! Secrets are never read from this file: the registry API key lives in the OS keyring
//! (`capiscio-tui login`) or in `CAPISCIO_API_KEY`.

use crate::store::env::EnvSnapshot;
use crate::store::keyring::Choice;
use crate::tui::theme::ThemeName;
use clap::ValueEnum;
use serde::Serialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The config file is small by nature; anything larger is not one.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;

pub const DEFAULT_REGISTRY_TIMEOUT: u64 = 15;
pub const DEFAULT_CONCURRENCY: u16 = 16;
pub const DEFAULT_CLEAR_AFTER: u64 = 30;

/// Every key the file may hold, in `config show` order.
pub const KEYS: [&str; 6] = [
    "server-url",
    "registry-timeout",
    "concurrency",
    "clear-after",
    "theme",
    "keyring",
];

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error(transparent)]
    Read(#[from] crate::store::fs::ReadError),
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("unknown key `{key}` in {path}; the keys are: {}", KEYS.join(", "))]
    UnknownKey { path: PathBuf, key: String },
    #[error("bad value for `{key}` in {path}: expected {expected}")]
    BadValue {
        path: PathBuf,
        key: String,
        expected: String,
    },
    #[error(
        "`{key}` in {path}: secrets are never read from the config file; store the registry API key with `capiscio-tui login`, or set CAPISCIO_API_KEY"
    )]
    Secret { path: PathBuf, key: String },
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Flag,
    Env,
    Config,
    Default,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "flag",
            Self::Env => "env",
            Self::Config => "config",
            Self::Default => "default",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub origin: Origin,
}

/// The values the config file set; `None` where it said nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileConfig {
    pub server_url: Option<String>,
    pub registry_timeout: Option<u64>,
    pub concurrency: Option<u16>,
    pub clear_after: Option<u64>,
    pub theme: Option<ThemeName>,
    pub keyring: Option<Choice>,
}

/// The config file's location: `$XDG_CONFIG_HOME` when it is an absolute path (the XDG
/// spec says relative values are ignored), else `$HOME/.config`.
pub fn path_from(xdg_config_home: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    let base = match xdg_config_home.filter(|x| Path::new(x).is_absolute()) {
        Some(x) => PathBuf::from(x),
        None => home.filter(|h| !h.as_os_str().is_empty())?.join(".config"),
    };
    Some(base.join("capiscio-tui").join("config.toml"))
}

/// [`path_from`] for this process.
pub fn default_path() -> Option<PathBuf> {
    let xdg = std::env::var("XDG_CONFIG_HOME").ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    path_from(xdg.as_deref(), home.as_deref())
}

/// Reads the file (capped, never through a symbolic link). A missing file is an empty
/// config; every other problem is an error naming the file.
pub fn load(path: &Path) -> Result<Option<FileConfig>, ConfigError> {
    match crate::store::fs::read_text_capped(path, MAX_CONFIG_BYTES) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Parses the file's text; `path` only names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })?;
    let bad = |key: &str, expected: &str| ConfigError::BadValue {
        path: path.to_path_buf(),
        key: key.to_string(),
        expected: expected.to_string(),
    };
    let mut cfg = FileConfig::default();
    for (key, value) in &table {
        match key.as_str() {
            "server-url" => {
                const WANT: &str = "an http(s) URL string, e.g. \"https://registry.capisc.io\"";
                let url = value.as_str().ok_or_else(|| bad(key, WANT))?;
                crate::registry::client::parse_base(url).map_err(|_| bad(key, WANT))?;
                cfg.server_url = Some(url.to_string());
            }
            "registry-timeout" => {
                const WANT: &str = "a whole number of seconds from 1 to 3600";
                cfg.registry_timeout = Some(int_in(value, 1, 3600).ok_or_else(|| bad(key, WANT))?);
            }
            "concurrency" => {
                const WANT: &str = "a whole number from 1 to 256";
                let n = int_in(value, 1, 256).ok_or_else(|| bad(key, WANT))?;
                cfg.concurrency = Some(n as u16);
            }
            "clear-after" => {
                const WANT: &str = "a whole number of seconds, 0 = never clear";
                cfg.clear_after = Some(int_in(value, 0, 86_400).ok_or_else(|| bad(key, WANT))?);
            }
            "theme" => {
                cfg.theme =
                    Some(enum_value(value).ok_or_else(|| bad(key, &one_of::<ThemeName>()))?);
            }
            "keyring" => {
                cfg.keyring = Some(enum_value(value).ok_or_else(|| bad(key, &one_of::<Choice>()))?);
            }
            k if is_secret(k) => {
                return Err(ConfigError::Secret {
                    path: path.to_path_buf(),
                    key: key.clone(),
                });
            }
            _ => {
                return Err(ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    key: key.clone(),
                });
            }
        }
    }
    Ok(cfg)
}

fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase().replace('_', "-");
    k == "api-key" || k == "capiscio-api-key" || k.ends_with("private-key") || k == "password"
}

fn int_in(value: &toml::Value, min: u64, max: u64) -> Option<u64> {
    let n = u64::try_from(value.as_integer()?).ok()?;
    (min..=max).contains(&n).then_some(n)
}

fn enum_value<T: ValueEnum>(value: &toml::Value) -> Option<T> {
    T::from_str(value.as_str()?, false).ok()
}

fn one_of<T: ValueEnum>() -> String {
    let names: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| format!("\"{}\"", p.get_name()))
        .collect();
    format!("one of {}", names.join(", "))
}

fn name_of<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// What the command line said (`None` = flag not given): the same settings as the file.
pub type Flags = FileConfig;

/// Every setting the config file may hold, resolved flag > env > config > default.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The config file consulted, if any location could be worked out.
    pub file: Option<PathBuf>,
    /// The file existed and was read.
    pub file_found: bool,
    /// `None` as a value means the production registry.
    pub server_url: Setting<Option<String>>,
    pub registry_timeout: Setting<u64>,
    pub concurrency: Setting<u16>,
    pub clear_after: Setting<u64>,
    /// `None` as a value means automatic (dark, or mono under NO_COLOR).
    pub theme: Setting<Option<ThemeName>>,
    pub keyring: Setting<Choice>,
}

fn pick<T>(flag: Option<T>, env: Option<T>, file: Option<T>, default: T) -> Setting<T> {
    match (flag, env, file) {
        (Some(value), _, _) => Setting {
            value,
            origin: Origin::Flag,
        },
        (None, Some(value), _) => Setting {
            value,
            origin: Origin::Env,
        },
        (None, None, Some(value)) => Setting {
            value,
            origin: Origin::Config,
        },
        (None, None, None) => Setting {
            value: default,
            origin: Origin::Default,
        },
    }
}

impl Settings {
    /// Resolves every setting. Only the registry URL has an environment variable
    /// (`CAPISCIO_SERVER_URL`, shared with the SDKs); the others are flag > config > default.
    pub fn resolve(
        flags: &Flags,
        env: &EnvSnapshot,
        file: Option<PathBuf>,
        config: Option<FileConfig>,
    ) -> Self {
        let file_found = config.is_some();
        let c = config.unwrap_or_default();
        let env_url = env
            .get(super::context::SERVER_URL_VAR)
            .map(|u| Some(u.to_string()));
        Self {
            file,
            file_found,
            server_url: pick(
                flags.server_url.clone().map(Some),
                env_url,
                c.server_url.map(Some),
                None,
            ),
            registry_timeout: pick(
                flags.registry_timeout,
                None,
                c.registry_timeout,
                DEFAULT_REGISTRY_TIMEOUT,
            ),
            concurrency: pick(flags.concurrency, None, c.concurrency, DEFAULT_CONCURRENCY),
            clear_after: pick(flags.clear_after, None, c.clear_after, DEFAULT_CLEAR_AFTER),
            theme: pick(flags.theme.map(Some), None, c.theme.map(Some), None),
            keyring: pick(flags.keyring, None, c.keyring, Choice::Auto),
        }
    }

    /// Each setting as (key, shown value, origin, where exactly), in [`KEYS`] order.
    pub fn rows(&self) -> Vec<Row> {
        let file = self
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let detail = |origin: Origin, flag: &str, env: &str| match origin {
            Origin::Flag => format!("--{flag}"),
            Origin::Env => env.to_string(),
            Origin::Config => file.clone(),
            Origin::Default => "built in".to_string(),
        };
        let row = |key: &'static str, value: String, origin: Origin, env: &str| Row {
            key,
            value,
            source: origin,
            from: detail(origin, key, env),
        };
        vec![
            row(
                "server-url",
                self.server_url
                    .value
                    .clone()
                    .unwrap_or_else(|| crate::registry::client::DEFAULT_URL.to_string()),
                self.server_url.origin,
                super::context::SERVER_URL_VAR,
            ),
            row(
                "registry-timeout",
                self.registry_timeout.value.to_string(),
                self.registry_timeout.origin,
                "",
            ),
            row(
                "concurrency",
                self.concurrency.value.to_string(),
                self.concurrency.origin,
                "",
            ),
            row(
                "clear-after",
                self.clear_after.value.to_string(),
                self.clear_after.origin,
                "",
            ),
            row(
                "theme",
                self.theme
                    .value
                    .as_ref()
                    .map_or_else(|| "auto".to_string(), name_of),
                self.theme.origin,
                "",
            ),
            row(
                "keyring",
                name_of(&self.keyring.value),
                self.keyring.origin,
                "",
            ),
        ]
    }
}

/// One line of `config show`.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: &'static str,
    pub value: String,
    pub source: Origin,
    /// The flag, variable or file the value came from.
    pub from: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("/cfg/config.toml")
    }

    #[test]
    fn every_key_parses() {
        let c = parse(
            &p(),
            "server-url = \"http://127.0.0.1:8080\"\nregistry-timeout = 5\nconcurrency = 4\n\
             clear-after = 0\ntheme = \"light\"\nkeyring = \"none\"\n",
        )
        .unwrap();
        assert_eq!(c.server_url.as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(c.registry_timeout, Some(5));
        assert_eq!(c.concurrency, Some(4));
        assert_eq!(c.clear_after, Some(0));
        assert_eq!(c.theme, Some(ThemeName::Light));
        assert_eq!(c.keyring, Some(Choice::None));
    }

    #[test]
    fn errors_name_key_and_file() {
        for (text, key) in [
            ("colour = 1", "colour"),
            ("concurrency = 0", "concurrency"),
            ("concurrency = \"8\"", "concurrency"),
            ("theme = \"pink\"", "theme"),
            ("registry-timeout = -3", "registry-timeout"),
            ("server-url = \"not a url\"", "server-url"),
            ("api_key = \"x\"", "api_key"),
        ] {
            let msg = parse(&p(), text).unwrap_err().to_string();
            assert!(msg.contains(&format!("`{key}`")), "{text}: {msg}");
            assert!(msg.contains("/cfg/config.toml"), "{text}: {msg}");
        }
        let msg = parse(&p(), "api-key = \"sk_live_x\"")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("capiscio-tui login") && msg.contains("CAPISCIO_API_KEY"));
        assert!(!msg.contains("sk_live_x"));
        let msg = parse(&p(), "theme = ").unwrap_err().to_string();
        assert!(msg.contains("/cfg/config.toml") && msg.contains("not valid TOML"));
    }

    #[test]
    fn precedence_is_flag_env_config_default() {
        let env = EnvSnapshot::from_pairs([("CAPISCIO_SERVER_URL".into(), "http://env".into())]);
        let file = FileConfig {
            server_url: Some("http://file".into()),
            concurrency: Some(3),
            ..Default::default()
        };
        let flags = Flags {
            server_url: Some("http://flag".into()),
            ..Default::default()
        };
        let s = Settings::resolve(&flags, &env, Some(p()), Some(file.clone()));
        assert_eq!(s.server_url.origin, Origin::Flag);
        assert_eq!(
            s.concurrency,
            Setting {
                value: 3,
                origin: Origin::Config
            }
        );
        assert_eq!(s.clear_after.origin, Origin::Default);
        let s = Settings::resolve(&Flags::default(), &env, Some(p()), Some(file.clone()));
        assert_eq!(s.server_url.value.as_deref(), Some("http://env"));
        assert_eq!(s.server_url.origin, Origin::Env);
        let s = Settings::resolve(&Flags::default(), &EnvSnapshot::default(), None, Some(file));
        assert_eq!(s.server_url.origin, Origin::Config);
    }

    #[test]
    fn path_prefers_absolute_xdg() {
        let home = Path::new("/home/u");
        assert_eq!(
            path_from(Some("/x"), Some(home)).unwrap(),
            Path::new("/x/capiscio-tui/config.toml")
        );
        assert_eq!(
            path_from(Some("rel"), Some(home)).unwrap(),
            Path::new("/home/u/.config/capiscio-tui/config.toml")
        );
        assert_eq!(path_from(None, None), None);
    }
}
