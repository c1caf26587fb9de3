//! Identifiers and time text: UUID v4 from given random bytes, RFC 3339 and
//! human-relative durations from given instants (no clock reads here).

/// A version-4 UUID from 16 random bytes.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = crate::core::key::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// An identity id that is safe to become one path component: 1–128 characters of
/// `A-Z a-z 0-9 . _ -`, not starting with a dot. UUIDs, names like `billing-agent` and
/// the SDKs' own ids all qualify. The store builds identity paths only from this type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityId(String);

/// Why a string is not an [`IdentityId`] — described by shape, never quoted (it could be
/// anything a user pasted, a key included).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("an identity id cannot be empty")]
    Empty,
    #[error("an identity id has at most 128 characters (this one has {0})")]
    TooLong(usize),
    #[error("an identity id cannot start with a dot")]
    LeadingDot,
    #[error(
        "an identity id may only contain letters, digits, `.`, `_` and `-` (character {0} is not one)"
    )]
    BadChar(usize),
}

impl IdentityId {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        let chars = s.chars().count();
        if chars > 128 {
            return Err(IdError::TooLong(chars));
        }
        if s.starts_with('.') {
            return Err(IdError::LeadingDot);
        }
        if let Some(i) = s
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(IdError::BadChar(i + 1));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdentityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names we accept for identity directories: no path tricks, nothing a shell mangles.
pub fn is_safe_id(id: &str) -> bool {
    IdentityId::parse(id).is_ok()
}

/// `2024-12-10T00:00:00Z` for a Unix time (proleptic Gregorian, UTC).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Unix time of an RFC 3339 timestamp: `2024-12-10T00:00:00Z`, with an optional
/// fraction and a `Z` or `±HH:MM` offset. `None` for anything else.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r| num_in(text, r);
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > month_days[(m - 1) as usize]
        || hh > 23
        || mm > 59
        || ss > 60
    {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num_in(rest, 1..3)?, num_in(rest, 4..6)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (if *sign == b'-' { -1 } else { 1 }) * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

fn num_in(text: &str, r: std::ops::Range<usize>) -> Option<i64> {
    let part = text.get(r)?;
    part.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| part.parse().ok())?
}

/// Compact duration: `45s`, `4m 12s`, `3h 5m`, `2d 4h`.
pub fn duration(secs: i64) -> String {
    duration_abs(secs.unsigned_abs())
}

fn duration_abs(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, (s / 60) % 60),
        _ => format!("{}d {}h", s / 86_400, (s / 3600) % 24),
    }
}

/// `in 4m 12s` / `4m 12s ago`.
/// Total for any pair: the distance is taken in `u64`, where no two `i64`s overflow.
pub fn relative(target: i64, now: i64) -> String {
    let gap = target.abs_diff(now);
    if target >= now {
        format!("in {}", duration_abs(gap))
    } else {
        format!("{} ago", duration_abs(gap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_bits() {
        let u = uuid_v4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(crate::store::disk::is_uuid(&u));
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1733788800), "2024-12-10T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(relative(100, 40), "in 1m 0s");
        assert_eq!(relative(0, 7200), "2h 0m ago");
        assert_eq!(duration(200_000), "2d 7h");
    }

    #[test]
    fn rfc3339_parses_what_it_writes_and_nothing_else() {
        assert_eq!(parse_rfc3339("2024-12-10T00:00:00Z"), Some(1733788800));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00.250Z"), Some(951_782_400));
        assert_eq!(
            parse_rfc3339("2024-12-10T01:30:00-00:30"),
            Some(1733788800 + 2 * 3600)
        );
        for bad in [
            "",
            "2024-12-10",
            "2024-12-10T00:00:00",
            "2024-12-10T00:00:00+1:00",
            "2024-12-10T00:00:00+24:00",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-12-10T24:00:00Z",
            "2024-12-10T00:00:00.Z",
            "+024-12-10T00:00:00Z",
            "2024-12-1\u{e9}T00:00:00Z",
            "2024-12-\u{e9}T00:00:00Z",
            "2024-12-10T00:00:0\u{e9}Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_round_trips(t in -62_135_596_800i64..253_402_300_799) {
            proptest::prop_assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }

        #[test]
        fn rfc3339_parse_never_panics(s in "\\PC{0,30}") {
            let _ = parse_rfc3339(&s);
        }
    }

    #[test]
    fn safe_ids() {
        assert!(is_safe_id("my-agent_001.v2"));
        for bad in [
            "", ".", "..", "../x", "a/b", ".hidden", "a b", "a\nb", "é", "a\0b",
        ] {
            assert!(!is_safe_id(bad), "{bad:?}");
        }
        let long = "a".repeat(128);
        assert!(is_safe_id(&long));
        assert_eq!(
            IdentityId::parse(&format!("{long}b")),
            Err(IdError::TooLong(129))
        );
        for good in [
            "11111111-1111-4111-8111-111111111111",
            "billing-agent",
            "_auto",
            "v1.2",
        ] {
            assert_eq!(IdentityId::parse(good).unwrap().as_str(), good);
        }
        // The message never quotes what it was given.
        let e = IdentityId::parse("secret/key-material")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("secret"), "{e}");
    }
}
