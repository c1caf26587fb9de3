//! Pushing a key into a secrets manager through the user's own CLI (aws, vault/bao,
//! gcloud, kubectl, gh, doppler, op), so their logins, profiles and contexts stay theirs.
//!
//! Each backend only *plans*: it builds the exact argv and says what goes on stdin.
//! [`runner`] executes the plan. The key reaches a child only on stdin — never in argv
//! (visible in /proc), never in its environment, never in a temp file — and whatever
//! the child prints is redacted ([`redact`]) before anyone sees it.

pub mod backends;
pub mod redact;
pub mod runner;

use crate::core::target::Target;
use zeroize::Zeroizing;

/// Non-secret facts a push attaches where the backend has metadata (tags, labels,
/// annotations, custom metadata).
#[derive(Debug, Clone)]
pub struct Meta {
    pub did: String,
    pub fingerprint: String,
}

pub const TOOL: &str = "capiscio-tui";

/// What a call gets on stdin.
#[derive(Debug, Clone)]
pub enum Input {
    Nothing,
    /// The key itself, exactly as it is stored.
    Secret,
    /// A document that embeds the key (a manifest, an item template).
    Payload(Zeroizing<String>),
}

/// One CLI invocation, fully planned.
#[derive(Debug, Clone)]
pub struct Call {
    pub argv: Vec<String>,
    pub input: Input,
}

impl Call {
    pub fn new(argv: &[&str], input: Input) -> Self {
        Self {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            input,
        }
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.argv.push(a.into());
        self
    }

    /// The command line as a user would type it, the secret elided: what `--dry-run`
    /// prints. Every argument is shell-quoted when it needs to be.
    pub fn display(&self) -> String {
        let mut out = self
            .argv
            .iter()
            .map(|a| shell_word(a))
            .collect::<Vec<_>>()
            .join(" ");
        match &self.input {
            Input::Nothing => {}
            Input::Secret => out.push_str("  < [the key, on stdin]"),
            Input::Payload(_) => out.push_str("  < [a document holding the key, on stdin]"),
        }
        out
    }
}

fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%#".contains(c))
    {
        a.to_string()
    } else {
        crate::core::export::sh_quote(a).to_string()
    }
}

/// What reading a target back found.
#[derive(Debug)]
pub enum Read {
    /// The stored value (a key: zeroized on drop, never printed).
    Value(Zeroizing<String>),
    /// The container exists (a Vault secret, an item, a Kubernetes Secret) without our field.
    FieldMissing,
    /// Nothing there.
    Missing,
    /// There, but the backend never gives values back (GitHub secrets).
    Present,
}

/// The outcome of one finished call, its output already redacted.
#[derive(Debug, Clone)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: Zeroizing<String>,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// One secrets manager, as seen through its CLI.
pub trait Backend: Send + Sync {
    /// The program run (looked up on PATH).
    fn program(&self) -> &str;
    /// What to do when the program is not installed.
    fn install_hint(&self) -> &'static str;
    /// The call that reads the stored value back (or, for write-only backends, that
    /// tells whether it exists: see [`Backend::readable`]). `None`: nothing to ask.
    fn read(&self) -> Option<Call>;
    /// Whether [`Backend::read`] returns the value (else only existence is learnt).
    fn readable(&self) -> bool {
        true
    }
    /// Interprets the read call's outcome. `Err` carries the redacted reason.
    fn parse_read(&self, out: &Finished) -> Result<Read, String>;
    /// The calls that store the key: `exists` is what the read found.
    fn write(&self, exists: bool, meta: &Meta, secret: &str) -> Vec<Call>;
}

pub fn backend(target: &Target) -> Box<dyn Backend> {
    backends::for_target(target)
}
