//! `identify`: which identity a pasted key belongs to — its current key, an archived
//! one, or none here — and, for an env value, whether the SDK would accept it.
//! Reports public facts and shapes only: never the key, never the input's text.

use crate::app::Context;
use crate::core::export::{AGENT_VAR, SERVER_VAR};
use crate::core::identity::{Kind, Problem, Source};
use crate::core::key::PublicKey;
use crate::core::pasted::{self, Candidate, Container, Format, Layout, Material};
use crate::store::disk::Found;
use crate::store::env::{EnvSnapshot, inspect_agent, inspect_server};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Current,
    Archived,
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Current => "current",
            Self::Archived => "archived",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveRef {
    /// The archive entry's directory name.
    pub name: String,
    /// Unix seconds, when recorded.
    pub archived_at: Option<i64>,
    /// The same, RFC 3339 UTC.
    pub archived: Option<String>,
    pub reason: Option<String>,
    pub compromised: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub id: String,
    pub name: Option<String>,
    pub kind: Kind,
    pub source: Source,
    pub state: State,
    pub archive: Option<ArchiveRef>,
}

/// How the SDK would take this value as its env var.
#[derive(Debug, Clone, Serialize)]
pub struct SdkVerdict {
    /// The variable judged: the one named in the input, else the one this format feeds.
    pub var: &'static str,
    /// The input named this variable (rather than it being inferred from the format).
    pub named: bool,
    /// The SDK takes the value as its key (it may still be wrong: see `problems`).
    pub accepted: bool,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub line: usize,
    /// One phrase describing the key's shape and what it sits in.
    pub shape: String,
    pub format: Format,
    pub layout: Layout,
    pub container: Container,
    pub var: Option<String>,
    pub private: bool,
    pub did: String,
    pub fingerprint: String,
    /// Best of the matches: `current` beats `archived`; `unknown` when none.
    pub state: State,
    pub matches: Vec<Match>,
    pub sdk: Option<SdkVerdict>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub line: usize,
    pub shape: String,
    /// Why it cannot be read, by shape (never the text).
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputShape {
    pub bytes: usize,
    pub lines: usize,
    /// Not valid UTF-8 (read with replacement characters).
    pub binary: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub input: InputShape,
    pub keys: Vec<KeyReport>,
    pub unreadable: Vec<Unreadable>,
    /// More candidates than `identify` looks at: the rest were skipped.
    pub truncated: bool,
}

impl Report {
    /// At least one key was read (whatever it matched).
    pub fn read_a_key(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// Identifies every key in `input` against the identities `ctx` sees.
pub fn identify(ctx: &Context, input: &[u8]) -> Report {
    let binary = std::str::from_utf8(input).is_err();
    let text = zeroize::Zeroizing::new(String::from_utf8_lossy(input).into_owned());
    let shape = InputShape {
        bytes: input.len(),
        lines: text.lines().count(),
        binary,
    };
    let found = pasted::find(&text);
    let needs_scan = found.candidates.iter().any(|c| c.key.is_ok());
    let scan = if needs_scan {
        ctx.scan().found
    } else {
        Vec::new()
    };
    identify_in(&scan, shape, found)
}

/// [`identify`] against identities already found (pure but for reading archive entries).
pub fn identify_in(found: &[Found], input: InputShape, f: pasted::Findings) -> Report {
    let mut keys = Vec::new();
    let mut unreadable = Vec::new();
    for c in f.candidates {
        match &c.key {
            Ok(m) => keys.push(key_report(found, &c, m)),
            Err(e) => unreadable.push(Unreadable {
                line: c.place.line,
                shape: c.describe(),
                error: e.clone(),
            }),
        }
    }
    Report {
        input,
        keys,
        unreadable,
        truncated: f.truncated,
    }
}

fn key_report(found: &[Found], c: &Candidate, m: &Material) -> KeyReport {
    let public = m.public();
    let matches = matches(found, &public);
    let state = if matches.iter().any(|m| m.state == State::Current) {
        State::Current
    } else if matches.is_empty() {
        State::Unknown
    } else {
        State::Archived
    };
    KeyReport {
        line: c.place.line,
        shape: c.describe(),
        format: c.format,
        layout: c.layout,
        container: c.place.container,
        var: c.place.var.clone(),
        private: c.format.is_private(),
        did: public.did_key(),
        fingerprint: public.fingerprint(),
        state,
        matches,
        sdk: sdk_verdict(c),
        notes: c.notes.clone(),
    }
}

fn matches(found: &[Found], public: &PublicKey) -> Vec<Match> {
    let fingerprint = public.fingerprint();
    let mut out = Vec::new();
    for f in found {
        let i = &f.identity;
        let m = |state, archive| Match {
            id: i.id.clone(),
            name: i.name.clone(),
            kind: i.kind,
            source: i.source,
            state,
            archive,
        };
        if f.public.as_ref() == Some(public) {
            out.push(m(State::Current, None));
        }
        let Some(dir) = &f.dir else { continue };
        for e in crate::store::rotate::list_archive(dir, i.kind) {
            // The archived key itself decides; the metadata only when it is unreadable.
            let fp = crate::store::rotate::fingerprint_in(Path::new(&e.path), i.kind)
                .or_else(|| e.meta.as_ref().map(|m| m.fingerprint.clone()));
            if fp.as_deref() != Some(fingerprint.as_str()) {
                continue;
            }
            let meta = e.meta.as_ref();
            out.push(m(
                State::Archived,
                Some(ArchiveRef {
                    name: e.name.clone(),
                    archived_at: meta.map(|m| m.archived_at),
                    archived: meta.map(|m| crate::core::ids::rfc3339(m.archived_at)),
                    reason: meta.map(|m| m.reason.clone()),
                    compromised: meta.is_some_and(|m| m.compromised),
                }),
            ));
        }
    }
    // An env identity and the disk identity it overwrites may both hold the key: both
    // are listed (they are different identities with different ids).
    out
}

/// The SDK's view of the value as the variable it is assigned to, or (unnamed) as the
/// variable its format feeds. A public key nobody assigned to a variable gets none.
fn sdk_verdict(c: &Candidate) -> Option<SdkVerdict> {
    let named = c
        .place
        .var
        .as_deref()
        .and_then(|v| [AGENT_VAR, SERVER_VAR].into_iter().find(|k| *k == v));
    if named.is_none() && !c.format.is_private() {
        return None;
    }
    let var = named.unwrap_or(if c.format.is_jwk() {
        AGENT_VAR
    } else {
        SERVER_VAR
    });
    let env = EnvSnapshot::from_pairs([(var.to_string(), c.value.to_string())]);
    let f = if var == AGENT_VAR {
        inspect_agent(&env)
    } else {
        inspect_server(&env)
    }?;
    let mut problems = f.identity.problems;
    let mut accepted = f.loadable;
    if c.format == Format::PrivatePem && c.layout == Layout::NewlinesLost && c.key.is_ok() {
        // The strict reader refuses it (Go's decoder would); identify repaired it to read
        // the key, and the MCP SDK's Python `cryptography` reads it too (spec §2.6).
        accepted = true;
        problems.retain(|p| p.code != crate::core::identity::Code::EnvInvalid);
        problems.push(Problem::warning(
            crate::core::identity::Code::EnvInvalid,
            format!(
                "{var}: the PEM's line breaks were replaced by spaces or tabs: the MCP SDK (Python `cryptography`) reads it, Go's PEM decoder (capiscio-core) does not"
            ),
            "restore the line breaks, or write them as literal \\n (`capiscio-tui export <ID> --format env` prints that form)",
        ));
    }
    Some(SdkVerdict {
        var,
        named: named.is_some(),
        accepted,
        problems,
    })
}
