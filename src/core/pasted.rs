//! Key material in pasted text: a JWK or PEM on its own, or inside an env line, a .env
//! file, a docker compose / Kubernetes snippet, a Lambda or `gh secret set` command — every
//! shape `capiscio-tui export` prints and the ones people make of them. Pure: no I/O.
//!
//! The finder looks for markers (`-----BEGIN `, a quoted `kty`, base64 lines that decode
//! to either) and hands each candidate to the strict JWK / PEM parsers, so a key is read
//! exactly as everywhere else in the tool. Nothing here keeps the input's text outside
//! `Zeroizing` values, and every description is of the input's shape, never its content.

use crate::core::jwk::{self, JwkError};
use crate::core::key::{KeyPair, PublicKey};
use crate::core::{b64, pem};
use serde::Serialize;
use zeroize::Zeroizing;

/// The most input `identify` reads.
pub const MAX_INPUT: usize = 1 << 20;
/// How far a key may reach from its marker: far more than any JWK or PEM needs.
const WINDOW: usize = 16 * 1024;
/// More candidates than this in one paste is not a paste of keys.
pub const MAX_FINDINGS: usize = 64;
/// base64 inside base64 inside …: two levels cover Kubernetes `data`.
const MAX_DEPTH: u8 = 2;
/// Longest variable name we report (a name, not a value).
const MAX_VAR: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    PrivateJwk,
    PublicJwk,
    PrivatePem,
    PublicPem,
}

impl Format {
    pub fn is_private(self) -> bool {
        matches!(self, Self::PrivateJwk | Self::PrivatePem)
    }

    pub fn is_jwk(self) -> bool {
        matches!(self, Self::PrivateJwk | Self::PublicJwk)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::PrivateJwk => "private JWK",
            Self::PublicJwk => "public JWK",
            Self::PrivatePem => "private PKCS#8 PEM",
            Self::PublicPem => "public SPKI PEM",
        }
    }
}

/// How the key's own text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    OneLine,
    MultiLine,
    /// A PEM on one line with the two characters `\n` for its line breaks.
    EscapedNewlines,
    /// A PEM whose line breaks became spaces or tabs (or vanished).
    NewlinesLost,
}

impl Layout {
    pub fn describe(self) -> &'static str {
        match self {
            Self::OneLine => "on one line",
            Self::MultiLine => "on several lines",
            Self::EscapedNewlines => "on one line with literal \\n escapes",
            Self::NewlinesLost => "with its line breaks replaced by spaces",
        }
    }
}

/// What the key sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Container {
    /// The key alone (possibly quoted).
    Bare,
    /// `NAME=value` (.env, shell), with or without `export`.
    EnvLine,
    /// `NAME: value` (compose `environment:` map, Kubernetes `stringData`).
    YamlMap,
    /// `- NAME=value` (compose `environment:` list).
    YamlList,
    /// `NAME: |` followed by the value's lines (Kubernetes `stringData`).
    YamlBlock,
    /// `"NAME": "value"` (Lambda `--environment` JSON).
    JsonMember,
    /// `printf '%s' 'value' | gh secret set NAME` and the like.
    ShellCommand,
}

impl Container {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Bare => "on its own",
            Self::EnvLine => "in an env line",
            Self::YamlMap => "in a YAML map entry (compose environment / Kubernetes stringData)",
            Self::YamlList => "in a YAML list entry (compose environment)",
            Self::YamlBlock => "in a YAML block scalar (Kubernetes stringData)",
            Self::JsonMember => "in a JSON member (Lambda --environment)",
            Self::ShellCommand => "in a shell command",
        }
    }
}

/// Where a candidate was found, described without its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    /// 1-based line of the input where the key (or its base64 line) starts.
    pub line: usize,
    pub container: Container,
    /// The variable (or Secret key) the value is assigned to, when one is named.
    pub var: Option<String>,
    /// `export NAME=…`.
    pub export: bool,
    /// Levels of JSON / shell `\"` escaping around the key.
    pub escaped: u8,
    /// The key was base64-encoded (Kubernetes Secret `data`).
    pub base64: bool,
}

impl Place {
    pub fn describe(&self) -> String {
        let mut s = self.container.describe().to_string();
        if self.export {
            s.push_str(" (export)");
        }
        if let Some(v) = &self.var {
            s.push_str(&format!(" for {v}"));
        }
        if self.base64 {
            s.push_str(", base64-encoded (Kubernetes Secret data)");
        }
        if self.escaped > 0 {
            s.push_str(", with escaped quotes");
        }
        s
    }
}

pub enum Material {
    Private(KeyPair),
    Public(PublicKey),
}

impl Material {
    pub fn public(&self) -> PublicKey {
        match self {
            Self::Private(k) => *k.public(),
            Self::Public(p) => *p,
        }
    }
}

/// One candidate: a key read, or something shaped like a key that could not be read.
pub struct Candidate {
    pub format: Format,
    pub layout: Layout,
    pub place: Place,
    /// The value as the deployment hands it to the SDK (quotes, escapes and base64 undone).
    pub value: Zeroizing<String>,
    /// The key, or why it cannot be read (shape only).
    pub key: Result<Material, String>,
    /// Observations about the key's own text (e.g. a public JWK whose kid is another key's).
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Candidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Candidate")
            .field("format", &self.format)
            .field("layout", &self.layout)
            .field("place", &self.place)
            .field("read", &self.key.is_ok())
            .finish_non_exhaustive()
    }
}

impl Candidate {
    /// "a private JWK on one line in an env line for CAPISCIO_…".
    pub fn describe(&self) -> String {
        // An unreadable JWK without `d` may be a private one cut short: say only "JWK".
        let format = match (self.format, &self.key) {
            (Format::PublicJwk, Err(_)) => "JWK",
            (f, _) => f.describe(),
        };
        format!(
            "a {} {}, {}",
            format,
            self.layout.describe(),
            self.place.describe()
        )
    }
}

#[derive(Debug, Default)]
pub struct Findings {
    pub candidates: Vec<Candidate>,
    /// More than [`MAX_FINDINGS`] candidates: the rest were not looked at.
    pub truncated: bool,
}

/// The shapes looked for, for the "no key found" message.
pub const SHAPES: &str = "a private or public JWK (one line or pretty, plain or with escaped quotes), a PKCS#8 or SPKI PEM (real newlines or literal \\n), CAPISCIO_AGENT_PRIVATE_KEY_JWK / CAPISCIO_SERVER_PRIVATE_KEY_PEM env lines (with or without export and quotes), .env files, docker compose environment snippets (map or list), Kubernetes Secrets (stringData or base64 data), and the Lambda / Cloud Run / GitHub Actions snippets `capiscio-tui export` prints";

/// Every key candidate in `text`, in input order.
pub fn find(text: &str) -> Findings {
    let mut out = Findings::default();
    scan(text, 0, None, &mut out);
    out.candidates.sort_by_key(|c| c.place.line);
    out
}

/// `outer`: the base64 line this text was decoded from (its place), if any.
fn scan(text: &str, depth: u8, outer: Option<&Place>, out: &mut Findings) {
    pems(text, outer, out);
    jwks(text, outer, out);
    if depth < MAX_DEPTH {
        base64_lines(text, depth, out);
    }
}

fn push(out: &mut Findings, c: Candidate) -> bool {
    if out.candidates.len() >= MAX_FINDINGS {
        out.truncated = true;
        return false;
    }
    out.candidates.push(c);
    true
}

/// The char boundary at or before `i` (`str::floor_char_boundary` is newer than our MSRV).
fn floor(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn place_for(text: &str, start: usize, end: usize, escaped: u8, outer: Option<&Place>) -> Place {
    if let Some(o) = outer {
        return Place {
            escaped: o.escaped.max(escaped),
            ..o.clone()
        };
    }
    let (container, var, export) = assignment(text, start, end);
    Place {
        line: line_of(text, start),
        container,
        var,
        export,
        escaped,
        base64: false,
    }
}

// ---------------------------------------------------------------- PEM

fn pems(text: &str, outer: Option<&Place>, out: &mut Findings) {
    let mut from = 0;
    while let Some(rel) = text[from..].find("-----BEGIN ") {
        let start = from + rel;
        let (end, cand) = pem_at(text, start, outer);
        from = end.max(start + 1);
        if !push(out, cand) {
            return;
        }
    }
}

/// The PEM starting at `start`: the candidate, and where it ends.
fn pem_at(text: &str, start: usize, outer: Option<&Place>) -> (usize, Candidate) {
    let limit = floor(text, start + WINDOW);
    let head = &text[start + "-----BEGIN ".len()..limit];
    // The label ends at the next `-----`, on the BEGIN line.
    let label = head
        .find("-----")
        .filter(|i| !head[..*i].contains(['\n', '\\']))
        .map(|i| &head[..i]);
    let private = label.is_none_or(|l| l != "PUBLIC KEY");
    let format = if private {
        Format::PrivatePem
    } else {
        Format::PublicPem
    };
    let end_marker = label.map(|l| format!("-----END {l}-----"));
    // The END line belongs to this block only if no other block begins first.
    let block_limit = text[start + 1..limit]
        .find("-----BEGIN ")
        .map_or(limit, |i| start + 1 + i);
    let end = end_marker
        .as_deref()
        .and_then(|m| {
            text[start..block_limit]
                .find(m)
                .map(|i| start + i + m.len())
        })
        .unwrap_or_else(|| unterminated_end(text, start, limit));
    let span = &text[start..end];
    let mut escaped = 0;
    let mut raw = Zeroizing::new(span.to_string());
    // `\\n`: an escaped PEM inside JSON inside double quotes.
    while raw.contains("\\\\n") && escaped < 3 {
        raw = Zeroizing::new(raw.replace("\\\\n", "\\n"));
        escaped += 1;
    }
    let (layout, value) = if raw.contains('\n') {
        // Indented (a YAML block scalar) or with CRLF: the value YAML / the shell hands over.
        let mut v = Zeroizing::new(String::with_capacity(raw.len() + 1));
        for l in raw.lines() {
            v.push_str(l.trim());
            v.push('\n');
        }
        (Layout::MultiLine, v)
    } else if raw.contains("\\n") {
        let mut v = raw.clone();
        if !v.ends_with("\\n") && end_marker.is_some() {
            v.push_str("\\n");
        }
        (Layout::EscapedNewlines, v)
    } else {
        (Layout::NewlinesLost, raw.clone())
    };
    let mut notes = Vec::new();
    let key = if private {
        match pem::parse_private(&value) {
            Ok((k, shape)) => {
                if shape.pkcs8_v2 {
                    notes.push("PKCS#8 v2 (with the public key embedded): Python `cryptography` and OpenSSL 3.0 refuse it".to_string());
                }
                Ok(Material::Private(k))
            }
            Err(pem::PemError::OneLine { .. }) => repaired_private(&value)
                .map(Material::Private)
                .ok_or_else(|| "a one-line PEM that does not hold an Ed25519 key".to_string()),
            Err(e) => Err(e.to_string()),
        }
    } else {
        match pem::parse_public(&value) {
            Ok(p) => Ok(Material::Public(p)),
            Err(pem::PemError::OneLine { .. }) => repaired_public(&value)
                .map(Material::Public)
                .ok_or_else(|| "a one-line PEM that does not hold an Ed25519 key".to_string()),
            Err(e) => Err(e.to_string()),
        }
    };
    let place = place_for(text, start, end, escaped, outer);
    (
        end,
        Candidate {
            format,
            layout,
            place,
            value,
            key,
            notes,
        },
    )
}

/// Where a PEM without its END line stops: the end of its line when it is written with
/// literal `\n` (one line), else before the next BEGIN or blank line (or the window's
/// end), without closing quotes — enough for the parser to say what is missing.
fn unterminated_end(text: &str, start: usize, limit: usize) -> usize {
    let rest = &text[start..limit];
    let line_end = rest.find('\n').unwrap_or(rest.len());
    let stop = if rest[..line_end].contains("\\n") {
        line_end
    } else {
        let next_begin = rest[1..].find("-----BEGIN ").map_or(rest.len(), |i| i + 1);
        let blank = rest.find("\n\n").map_or(rest.len(), |i| i + 1);
        next_begin.min(blank)
    };
    start
        + rest[..stop]
            .trim_end_matches(['\'', '"', ' ', '\t', '\r', '\n'])
            .len()
}

/// A PEM whose line breaks were lost: its body with every blank removed, re-wrapped.
fn repair(value: &str, label: &str) -> Zeroizing<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let inner = value
        .split_once(begin.as_str())
        .and_then(|(_, rest)| rest.split_once(end.as_str()))
        .map_or("", |(body, _)| body);
    let body: Zeroizing<String> = Zeroizing::new(inner.split_whitespace().collect());
    Zeroizing::new(format!("{begin}\n{}\n{end}\n", body.as_str()))
}

fn repaired_private(value: &str) -> Option<KeyPair> {
    pem::parse_private(&repair(value, "PRIVATE KEY"))
        .ok()
        .map(|(k, _)| k)
}

fn repaired_public(value: &str) -> Option<PublicKey> {
    pem::parse_public(&repair(value, "PUBLIC KEY")).ok()
}

// ---------------------------------------------------------------- JWK

fn jwks(text: &str, outer: Option<&Place>, out: &mut Findings) {
    let bytes = text.as_bytes();
    let mut done_until = 0;
    let mut from = 0;
    let mut seen = 0;
    let mut last_open = None;
    while let Some(rel) = text[from..].find("kty") {
        let at = from + rel;
        from = at + 3;
        // A member name: a quote right before and after (base64url never has one).
        let Some(&q) = bytes.get(at + 3) else { break };
        if !matches!(q, b'"' | b'\'' | b'\\') || at == 0 || !matches!(bytes[at - 1], b'"' | b'\'') {
            continue;
        }
        let slashes = bytes[..at - 1]
            .iter()
            .rev()
            .take_while(|b| **b == b'\\')
            .count();
        let escaped = match slashes {
            0 => 0u8,
            1 => 1,
            2..=3 => 2,
            _ => 3,
        };
        // The nearest `{` before the marker, tracked as the scan moves forward so that
        // many markers cost one pass over the text.
        if let Some(i) = text[seen..at].rfind('{') {
            last_open = Some(seen + i);
        }
        seen = at;
        let Some(open) = last_open.filter(|o| at - o <= WINDOW) else {
            continue;
        };
        if open < done_until {
            continue;
        }
        let (end, cand) = jwk_at(text, open, escaped, outer);
        done_until = end.max(open + 1);
        from = from.max(done_until);
        if !push(out, cand) {
            return;
        }
    }
}

/// One JSON-unescaping step for `\"`, `\\`, `\/` and the whitespace escapes (a pretty
/// JWK inside a JSON string); other escapes stay as they are.
fn unescape(s: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(s.len()));
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('"' | '\\' | '/')) => out.push(n),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn jwk_at(text: &str, open: usize, escaped: u8, outer: Option<&Place>) -> (usize, Candidate) {
    // A JWK that starts on a line with more after the `{` is a one-line JWK: it ends on
    // that line, so a truncated one is reported as truncated, not as whatever follows.
    let limit = floor(text, open + WINDOW);
    let line_end = text[open..limit].find('\n').map(|i| open + i);
    let one_line = line_end.is_none_or(|e| !text[open + 1..e].trim().is_empty());
    let stop = if one_line {
        line_end.unwrap_or(limit)
    } else {
        limit
    };
    let mut window = Zeroizing::new(text[open..stop].to_string());
    for _ in 0..escaped {
        window = unescape(&window);
    }
    let mut stream =
        serde_json::Deserializer::from_str(&window).into_iter::<serde::de::IgnoredAny>();
    let parsed = stream.next();
    let consumed = stream.byte_offset();
    let has_d = window.contains("\"d\"");
    let parsed_ok = matches!(parsed, Some(Ok(_)));
    let (format, key, value, notes) = match parsed {
        Some(Ok(_)) => {
            let value = Zeroizing::new(window[..consumed].to_string());
            let (format, key, notes) = read_jwk(&value);
            (format, key, value, notes)
        }
        Some(Err(e)) => {
            let err = JwkError::Json(jwk::JsonFault::of(&e, &window));
            let format = if has_d {
                Format::PrivateJwk
            } else {
                Format::PublicJwk
            };
            (format, Err(err.to_string()), window.clone(), Vec::new())
        }
        None => (
            Format::PublicJwk,
            Err(JwkError::Empty.to_string()),
            window.clone(),
            Vec::new(),
        ),
    };
    // Where the key ends in the original text: past the object when it parsed (escapes
    // make the original longer, so at least that far), else the window.
    let end = if parsed_ok {
        let mut e = open;
        let mut depth = 0usize;
        for (i, b) in text.as_bytes()[open..stop].iter().enumerate() {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        e = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        if e == open { stop } else { e }
    } else {
        // Unreadable: a key after it (within the window) is still looked at.
        open + 1
    };
    let layout = if value.trim().contains('\n') {
        Layout::MultiLine
    } else {
        Layout::OneLine
    };
    let place = place_for(text, open, end, escaped, outer);
    // Single quotes (shell or YAML) remove no backslash: the SDK gets `\"` where JSON
    // needs `"`. Judge the value it really gets.
    let (value, notes) = if escaped > 0 && parsed_ok && text[..open].ends_with('\'') {
        let mut notes = notes;
        notes.push("the quotes inside the JWK are escaped (\\\") but the value is in single quotes, which keep the backslashes".to_string());
        (Zeroizing::new(text[open..end].to_string()), notes)
    } else {
        (value, notes)
    };
    (
        end,
        Candidate {
            format,
            layout,
            place,
            value,
            key,
            notes,
        },
    )
}

fn read_jwk(value: &str) -> (Format, Result<Material, String>, Vec<String>) {
    match jwk::parse_private(value) {
        Ok(p) => (Format::PrivateJwk, Ok(Material::Private(p.key)), Vec::new()),
        Err(JwkError::MissingD) => match jwk::parse_public(value) {
            Ok(p) => {
                let mut notes = Vec::new();
                match p.kid_status() {
                    jwk::KidStatus::Matches => {}
                    jwk::KidStatus::Missing => notes.push("the JWK has no `kid`".to_string()),
                    s => notes.push(format!(
                        "the JWK's `kid` is not the did:key of its `x`: it {}",
                        kid_shape(&s)
                    )),
                }
                (Format::PublicJwk, Ok(Material::Public(p.x)), notes)
            }
            Err(e) => (Format::PublicJwk, Err(e.to_string()), Vec::new()),
        },
        Err(e) => (Format::PrivateJwk, Err(e.to_string()), Vec::new()),
    }
}

/// A kid described without quoting anything that is not a well-formed public DID.
fn kid_shape(s: &jwk::KidStatus) -> String {
    use jwk::KidStatus as K;
    match s {
        K::Matches => "matches the key".into(),
        K::Missing => "is missing".into(),
        K::NotDid(shape) => format!("is {shape}, not a DID"),
        // Both hold a description, never the kid's text (see KidStatus).
        K::OtherMethod(k) => format!("is {k}, not a did:key"),
        K::WrongKey(k) => k.clone(),
    }
}

// ---------------------------------------------------------------- base64

fn is_b64(s: &str) -> bool {
    s.len() >= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

fn decode_text(s: &str) -> Option<Zeroizing<String>> {
    let bytes = b64::std_decode(s).or_else(|| b64::url_decode(s))?;
    let text = std::str::from_utf8(&bytes).ok()?;
    (text.contains("kty") || text.contains("-----BEGIN ")).then(|| Zeroizing::new(text.to_string()))
}

fn base64_lines(text: &str, depth: u8, out: &mut Findings) {
    let mut tried = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let token = line
            .trim()
            .rsplit([':', '=', ' '])
            .find(|t| !t.trim_matches(['"', '\'', ',']).is_empty())
            .unwrap_or("")
            .trim_matches(['"', '\'', ',']);
        // `=` padding was split off above: take the token with its padding back.
        let token_start = line.find(token).map_or(start, |i| start + i);
        let padded = text[token_start..start + line.len()]
            .trim_end()
            .trim_end_matches(['"', '\'', ',']);
        let token = if padded.starts_with(token) && is_b64(padded) {
            padded
        } else {
            token
        };
        if !is_b64(token) {
            continue;
        }
        tried += 1;
        if tried > MAX_FINDINGS {
            return;
        }
        let Some(decoded) = decode_text(token) else {
            continue;
        };
        let (container, var, export) = assignment(text, token_start, token_start + token.len());
        let place = Place {
            line: line_of(text, start),
            container,
            var,
            export,
            escaped: 0,
            base64: true,
        };
        scan(&decoded, depth + 1, Some(&place), out);
    }
    // The whole input as one (wrapped) base64 text, as `base64` prints it.
    let joined: Zeroizing<String> = Zeroizing::new(text.split_whitespace().collect());
    if depth == 0
        && text.trim().contains('\n')
        && is_b64(&joined)
        && let Some(decoded) = decode_text(&joined)
    {
        {
            let place = Place {
                line: 1,
                container: Container::Bare,
                var: None,
                export: false,
                escaped: 0,
                base64: true,
            };
            scan(&decoded, depth + 1, Some(&place), out);
        }
    }
}

// ---------------------------------------------------------------- assignments

/// A name we show: an env-style upper-case identifier. Anything else (a mixed-case word
/// could be a base64url key pasted before a `=`) is never repeated back.
fn reportable(name: &str) -> Option<String> {
    name.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        .then(|| name.to_string())
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_VAR
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What the value at `start..end` is assigned to, read from the text around it.
fn assignment(text: &str, start: usize, end: usize) -> (Container, Option<String>, bool) {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let prefix = &text[line_start..start];
    if !prefix.trim().is_empty() {
        if let Some(found) = assigned(prefix, false) {
            return found;
        }
    } else if line_start > 0 {
        // The value starts a line: `NAME: |` (or `NAME='` with a pretty JWK) above it.
        let above = text[..line_start - 1]
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty());
        if let Some(found) = above.and_then(|l| assigned(l, true)) {
            return found;
        }
    }
    // `… | gh secret set NAME` after the value (on its line or the next).
    let tail_end = floor(text, end + 512);
    let tail_len: usize = text[end..tail_end]
        .split_inclusive('\n')
        .take(3)
        .map(str::len)
        .sum();
    let tail = &text[end..end + tail_len];
    if let Some(i) = tail.find("gh secret set ") {
        let name: String = tail[i + "gh secret set ".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if is_name(&name) {
            return (Container::ShellCommand, reportable(&name), false);
        }
    }
    // Cloud Run: `--update-secrets=NAME=secret:latest` on the command after the value's.
    if let Some(i) = tail.find("--update-secrets=") {
        let name: String = tail[i + "--update-secrets=".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if is_name(&name) {
            return (Container::ShellCommand, reportable(&name), false);
        }
    }
    if prefix.contains("printf ") || tail.contains("| gcloud ") || tail.contains("| gh ") {
        return (Container::ShellCommand, None, false);
    }
    (Container::Bare, None, false)
}

/// `prefix` is the text before a value on its line: `export NAME='`, `  NAME: '`,
/// `- NAME=`, `{"Variables":{"NAME":"`, or (`block`) a line `NAME: |` above the value.
fn assigned(prefix: &str, block: bool) -> Option<(Container, Option<String>, bool)> {
    let t = prefix.trim_end();
    let t = if block {
        t.trim_end_matches(['|', '>', '-', '+', ' '])
    } else {
        t
    };
    let t = t.trim_end_matches(['\'', '"', '\\', ' ', '\t']);
    let (sep, before) = if let Some(b) = t.strip_suffix('=') {
        ('=', b)
    } else if let Some(b) = t.strip_suffix(':') {
        (':', b)
    } else {
        return None;
    };
    let quoted = before.trim_end().ends_with(['"', '\'']);
    let before = before.trim_end().trim_end_matches(['"', '\'', '\\']);
    let name_len = before
        .bytes()
        .rev()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let name = &before[before.len() - name_len..];
    if !is_name(name) {
        return None;
    }
    let lead = before[..before.len() - name_len]
        .trim_end_matches(['"', '\'', '\\'])
        .trim();
    let export = lead == "export" || lead.ends_with(" export");
    let container = match sep {
        '=' if lead.starts_with('-') => Container::YamlList,
        '=' => Container::EnvLine,
        _ if block => Container::YamlBlock,
        _ if quoted && (lead.ends_with('{') || lead.ends_with(',')) => Container::JsonMember,
        _ => Container::YamlMap,
    };
    Some((container, reportable(name), export))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::export::{self, Request, Target};

    fn key(n: u8) -> KeyPair {
        KeyPair::from_seed(&[n; 32])
    }

    fn one(text: &str) -> Candidate {
        let mut f = find(text);
        assert_eq!(f.candidates.len(), 1, "{:?}", f.candidates);
        f.candidates.remove(0)
    }

    #[test]
    fn every_export_format_round_trips() {
        let k = key(7);
        for target in [Target::Agent, Target::McpServer] {
            for format in export::Format::ALL {
                let text = export::render(
                    format,
                    &Request {
                        key: &k,
                        target,
                        label: "Billing Agent",
                    },
                );
                let f = find(&text);
                assert!(!f.candidates.is_empty(), "{format:?} {target:?}");
                for c in &f.candidates {
                    let m = c
                        .key
                        .as_ref()
                        .unwrap_or_else(|e| panic!("{format:?} {target:?}: {e}"));
                    assert_eq!(m.public(), *k.public(), "{format:?} {target:?}");
                }
                let c = &f.candidates[0];
                assert!(c.format.is_private());
                if !matches!(format, export::Format::Jwk | export::Format::Pem) {
                    assert_eq!(
                        c.place.var.as_deref(),
                        Some(target.var()),
                        "{format:?} {target:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn env_lines() {
        let k = key(3);
        let jwk = jwk::to_env_compact(&k);
        let escaped = jwk.replace('"', "\\\"");
        for (line, export, container) in [
            (
                format!("export CAPISCIO_AGENT_PRIVATE_KEY_JWK='{}'", jwk.as_str()),
                true,
                Container::EnvLine,
            ),
            (
                format!("CAPISCIO_AGENT_PRIVATE_KEY_JWK=\"{escaped}\""),
                false,
                Container::EnvLine,
            ),
            (
                format!("CAPISCIO_AGENT_PRIVATE_KEY_JWK={}", jwk.as_str()),
                false,
                Container::EnvLine,
            ),
            (
                format!("      - CAPISCIO_AGENT_PRIVATE_KEY_JWK={}", jwk.as_str()),
                false,
                Container::YamlList,
            ),
            (
                format!("  CAPISCIO_AGENT_PRIVATE_KEY_JWK: '{}'", jwk.as_str()),
                false,
                Container::YamlMap,
            ),
        ] {
            let c = one(&line);
            assert_eq!(c.key.unwrap().public(), *k.public(), "{line}");
            assert_eq!(
                c.place.var.as_deref(),
                Some("CAPISCIO_AGENT_PRIVATE_KEY_JWK")
            );
            assert_eq!(c.place.export, export, "{line}");
            assert_eq!(c.place.container, container, "{line}");
            assert_eq!(c.value.as_str(), jwk.as_str());
        }
    }

    #[test]
    fn dotenv_with_both_and_k8s_data() {
        let (a, s) = (key(1), key(2));
        let dotenv = format!(
            "# comment\nCAPISCIO_AGENT_PRIVATE_KEY_JWK='{}'\nOTHER=1\nCAPISCIO_SERVER_PRIVATE_KEY_PEM=\"{}\"\n",
            jwk::to_env_compact(&a).as_str(),
            pem::escape_newlines(&pem::encode_private(&s)).as_str()
        );
        let f = find(&dotenv);
        assert_eq!(f.candidates.len(), 2);
        assert_eq!(f.candidates[0].place.line, 2);
        assert_eq!(f.candidates[1].format, Format::PrivatePem);
        assert_eq!(f.candidates[1].layout, Layout::EscapedNewlines);
        assert_eq!(f.candidates[1].key.as_ref().unwrap().public(), *s.public());
        let data = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  CAPISCIO_SERVER_PRIVATE_KEY_PEM: {}\n",
            b64::std_encode(pem::encode_private(&s).as_bytes())
        );
        let c = one(&data);
        assert!(c.place.base64);
        assert_eq!(
            c.place.var.as_deref(),
            Some("CAPISCIO_SERVER_PRIVATE_KEY_PEM")
        );
        assert_eq!(c.key.unwrap().public(), *s.public());
    }

    #[test]
    fn names_that_could_be_key_material_are_not_repeated() {
        let k = key(6);
        let d = b64::url_encode(k.seed()).replace('-', "_");
        let c = one(&format!("{d}={}", jwk::to_env_compact(&k).as_str()));
        assert_eq!(c.place.container, Container::EnvLine);
        assert_eq!(c.place.var, None);
        assert!(!c.describe().contains(&d[..8]));
    }

    #[test]
    fn escaped_quotes_inside_single_quotes_stay_in_the_value() {
        let k = key(8);
        let escaped = jwk::to_env_compact(&k).replace('"', "\\\"");
        let c = one(&format!("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{escaped}'"));
        assert_eq!(c.key.as_ref().unwrap().public(), *k.public());
        assert!(c.value.contains('\\'));
        assert_eq!(c.notes.len(), 1);
        let c = one(&format!("CAPISCIO_AGENT_PRIVATE_KEY_JWK=\"{escaped}\""));
        assert!(!c.value.contains('\\'));
        assert!(c.notes.is_empty());
    }

    #[test]
    fn json_forms() {
        let k = key(5);
        // `kubectl get secret -o json`: base64 in a JSON member, with a trailing comma.
        let data = format!(
            "{{\n  \"data\": {{\n    \"CAPISCIO_AGENT_PRIVATE_KEY_JWK\": \"{}\",\n    \"OTHER\": \"eA==\"\n  }}\n}}\n",
            b64::std_encode(jwk::to_env_compact(&k).as_bytes())
        );
        let c = one(&data);
        assert!(c.place.base64);
        assert_eq!(
            c.place.var.as_deref(),
            Some("CAPISCIO_AGENT_PRIVATE_KEY_JWK")
        );
        assert_eq!(c.key.unwrap().public(), *k.public());
        // A pretty JWK as a JSON string value (newlines escaped too).
        let pretty = serde_json::to_string(&serde_json::json!({
            "CAPISCIO_AGENT_PRIVATE_KEY_JWK": jwk::to_go_private(&k).as_str()
        }))
        .unwrap();
        let c = one(&pretty);
        assert_eq!(c.place.escaped, 1);
        assert_eq!(c.place.container, Container::JsonMember);
        assert_eq!(c.key.unwrap().public(), *k.public());
        // CRLF line endings.
        let crlf = pem::encode_private(&k).replace('\n', "\r\n");
        assert_eq!(one(&crlf).key.unwrap().public(), *k.public());
    }

    #[test]
    fn public_keys_and_lost_newlines() {
        let k = key(9);
        let c = one(&jwk::to_go_public(k.public()));
        assert_eq!(c.format, Format::PublicJwk);
        assert_eq!(c.layout, Layout::MultiLine);
        let c = one(&pem::encode_public(k.public()));
        assert_eq!(c.format, Format::PublicPem);
        let spaced = pem::encode_private(&k).trim_end().replace('\n', " ");
        let c = one(&spaced);
        assert_eq!(c.layout, Layout::NewlinesLost);
        assert_eq!(c.key.unwrap().public(), *k.public());
    }

    #[test]
    fn unreadable_candidates_say_why_by_shape() {
        let k = key(4);
        let jwk = jwk::to_env_compact(&k);
        let d = b64::url_encode(k.seed());
        let c = one(&format!("CAPISCIO_AGENT_PRIVATE_KEY_JWK='{}", &jwk[..60]));
        let err = c.key.err().unwrap();
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(!err.contains(&d[..16]));
        let c = one(&pem::encode_private(&k)[..40]);
        assert!(c.key.is_err());
        // A multi-line PEM without its END line, in quotes, before another key.
        let cut = format!(
            "A='{}'\nB='{}'\n",
            &pem::encode_private(&k)[..80],
            pem::encode_private(&key(5)).as_str()
        );
        let f = find(&cut);
        assert_eq!(f.candidates.len(), 2);
        let err = f.candidates[0].key.as_ref().err().unwrap();
        assert!(err.contains("no matching END line"), "{err}");
        assert_eq!(f.candidates[0].layout, Layout::MultiLine);
        assert!(f.candidates[1].key.is_ok());
        assert!(find("hello world { kty }").candidates.is_empty());
        assert!(find("").candidates.is_empty());
    }

    #[test]
    fn many_markers_are_bounded() {
        let text = "{\"kty\":1}".repeat(10_000);
        let f = find(&text);
        assert_eq!(f.candidates.len(), MAX_FINDINGS);
        assert!(f.truncated);
        let text = "-----BEGIN ".repeat(100_000);
        assert!(find(&text).candidates.len() <= MAX_FINDINGS);
        // Markers without a JWK around them: one pass, no candidates.
        let text = " \"kty\" ".repeat(100_000);
        assert!(find(&text).candidates.is_empty());
        let text = format!("{{{}", " \"kty\" ".repeat(100_000));
        assert!(find(&text).candidates.len() <= 1);
    }
}
