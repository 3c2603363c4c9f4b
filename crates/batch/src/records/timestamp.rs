//! RFC 3339 timestamps that keep their UTC offset and print the way Go's `time.RFC3339Nano` does.
//!
//! The queue stores `disambiguated_at` and `next_retry_at` as RFC 3339 strings written by Go
//! (spec §1.1, §1.10). [`Rfc3339`] parses any RFC 3339 offset and fraction, and writes the
//! instant back with nanoseconds, trailing zeros trimmed, and the original offset (`Z` for
//! UTC), so a queue that is loaded and saved unchanged keeps its bytes. The file-name stamps
//! of failure records (`YYYY-MM-DDTHH-MM-SSZ`) and the breaker's whole-second stamps live here
//! too, so every time format the tool writes has one home.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

/// An instant plus the UTC offset it was written with (spec §1.1 "timestamps keep offset").
///
/// Equality and ordering compare the instant only, so `…T02:00:00+02:00` equals
/// `…T00:00:00Z`.
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339 {
    instant: Timestamp,
    offset: Offset,
}

/// A string that is not an RFC 3339 timestamp with an explicit offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct TimestampError {
    /// The rejected input.
    pub input: String,
    /// What the parser disliked.
    pub reason: String,
}

impl Rfc3339 {
    /// Wraps an instant in UTC (written with a `Z` suffix).
    pub fn utc(instant: Timestamp) -> Self {
        Self {
            instant,
            offset: Offset::UTC,
        }
    }

    /// The instant, independent of the offset.
    pub fn instant(&self) -> Timestamp {
        self.instant
    }

    /// The UTC offset the timestamp was written with.
    pub fn offset(&self) -> Offset {
        self.offset
    }
}

impl PartialEq for Rfc3339 {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl Eq for Rfc3339 {}

impl PartialOrd for Rfc3339 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rfc3339 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl FromStr for Rfc3339 {
    type Err = TimestampError;

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    ///
    /// # Errors
    /// Returns [`TimestampError`] for an empty string, a missing offset or any other text that
    /// is not RFC 3339 (spec §1.1: Go's `time.Time` rejects the same inputs).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match parse_canonical(s.as_bytes()) {
            Some(t) => Ok(t),
            None => parse_general(s),
        }
    }
}

/// The layout Go writes, `YYYY-MM-DDTHH:MM:SS[.1-9 digits](Z|±HH:MM)` with hours below 24,
/// parsed without jiff's general parser (two timestamps per queue entry; issue #14). `None`
/// for anything else, including an impossible date, so [`parse_general`] decides (and words
/// the error); the tests check that both agree wherever this one answers.
fn parse_canonical(b: &[u8]) -> Option<Rfc3339> {
    fn digits(b: &[u8]) -> Option<i32> {
        b.iter().try_fold(0i32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i32::from(c - b'0'))
        })
    }
    if b.len() < 20 || [b[4], b[7], b[10], b[13], b[16]] != *b"--T::" {
        return None;
    }
    let year = i16::try_from(digits(&b[0..4])?).ok()?;
    let two = |at: usize| digits(&b[at..at + 2]).and_then(|v| i8::try_from(v).ok());
    let (month, day, hour, minute, second) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    let mut at = 19;
    let mut nanos = 0;
    if b[at] == b'.' {
        let n = b[at + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&n) {
            return None;
        }
        nanos = digits(&b[at + 1..at + 1 + n])? * 10i32.pow(9 - n as u32);
        at += 1 + n;
    }
    let offset = match &b[at..] {
        [b'Z'] => Offset::UTC,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2])?;
            let minutes = digits(&[*m1, *m2])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let secs = hours * 3600 + minutes * 60;
            Offset::from_seconds(if *sign == b'-' { -secs } else { secs }).ok()?
        }
        _ => return None,
    };
    let dt = jiff::civil::DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    let instant = offset.to_timestamp(dt).ok()?;
    Some(Rfc3339 { instant, offset })
}

/// Any RFC 3339 timestamp, through jiff's parser; the error names the input.
fn parse_general(s: &str) -> Result<Rfc3339, TimestampError> {
    let err = |reason: String| TimestampError {
        input: s.to_owned(),
        reason,
    };
    // RFC 3339 requires the `T` (or `t`) separator and an offset; jiff's parser is more
    // lenient (it also takes a space), so check the shape first.
    let bytes = s.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't') {
        return Err(err(
            "expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset".into(),
        ));
    }
    let instant: Timestamp = s.parse().map_err(|e: jiff::Error| err(e.to_string()))?;
    let offset = if s.ends_with(['Z', 'z']) {
        Offset::UTC
    } else {
        let tail = &s[s.len().saturating_sub(6)..];
        parse_offset(tail).ok_or_else(|| err("expected a Z or ±HH:MM offset".into()))?
    };
    Ok(Rfc3339 { instant, offset })
}

fn parse_offset(tail: &str) -> Option<Offset> {
    let b = tail.as_bytes();
    if b.len() != 6 || b[3] != b':' {
        return None;
    }
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours: i32 = tail.get(1..3)?.parse().ok()?;
    let minutes: i32 = tail.get(4..6)?.parse().ok()?;
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

impl Rfc3339 {
    /// Appends the text [`Display`](fmt::Display) gives to `out`, without the `fmt`
    /// machinery (the queue writer prints two timestamps per entry; issue #14).
    pub fn push_to(&self, out: &mut Vec<u8>) {
        match self.ascii() {
            Some((bytes, len)) => out.extend_from_slice(&bytes[..len]),
            None => out.extend_from_slice(self.to_string().as_bytes()),
        }
    }

    /// Go's `RFC3339Nano` text as ASCII bytes and their length, for years 0 to 9999 (all a
    /// parsed timestamp can have); `None` for other years.
    fn ascii(&self) -> Option<([u8; 35], usize)> {
        let dt = self.offset.to_datetime(self.instant);
        let year = u32::try_from(dt.year()).ok().filter(|y| *y <= 9999)?;
        let mut b = [0u8; 35];
        let mut two = |at: usize, v: i8| {
            let v = v.unsigned_abs();
            b[at] = b'0' + v / 10;
            b[at + 1] = b'0' + v % 10;
        };
        two(5, dt.month());
        two(8, dt.day());
        two(11, dt.hour());
        two(14, dt.minute());
        two(17, dt.second());
        let mut y = year;
        for at in (0..4).rev() {
            b[at] = b'0' + (y % 10) as u8;
            y /= 10;
        }
        b[4] = b'-';
        b[7] = b'-';
        b[10] = b'T';
        b[13] = b':';
        b[16] = b':';
        let mut len = 19;
        let mut nanos = u32::try_from(dt.subsec_nanosecond()).unwrap_or(0);
        if nanos != 0 {
            b[len] = b'.';
            let mut digits = 9;
            while nanos % 10 == 0 {
                nanos /= 10;
                digits -= 1;
            }
            for k in (0..digits).rev() {
                b[len + 1 + k] = b'0' + (nanos % 10) as u8;
                nanos /= 10;
            }
            len += 1 + digits;
        }
        let secs = self.offset.seconds();
        if secs == 0 {
            b[len] = b'Z';
            len += 1;
        } else {
            let abs = secs.unsigned_abs();
            let (hours, minutes) = (abs / 3600, (abs % 3600) / 60);
            if hours > 99 {
                return None;
            }
            b[len] = if secs < 0 { b'-' } else { b'+' };
            b[len + 1] = b'0' + (hours / 10) as u8;
            b[len + 2] = b'0' + (hours % 10) as u8;
            b[len + 3] = b':';
            b[len + 4] = b'0' + (minutes / 10) as u8;
            b[len + 5] = b'0' + (minutes % 10) as u8;
            len += 6;
        }
        Some((b, len))
    }

    /// The `fmt` rendering, for the years [`Rfc3339::ascii`] does not cover.
    fn fmt_slow(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = TimeZone::fixed(self.offset).to_datetime(self.instant);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )?;
        let nanos = dt.subsec_nanosecond();
        if nanos != 0 {
            let digits = format!("{nanos:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        let secs = self.offset.seconds();
        if secs == 0 {
            f.write_str("Z")
        } else {
            let sign = if secs < 0 { '-' } else { '+' };
            let abs = secs.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
        }
    }
}

impl fmt::Display for Rfc3339 {
    /// Writes Go's `RFC3339Nano` layout: fraction trimmed of trailing zeros (none when whole),
    /// `Z` for a zero offset, `±HH:MM` otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ascii() {
            Some((bytes, len)) => {
                f.write_str(std::str::from_utf8(&bytes[..len]).map_err(|_| fmt::Error)?)
            }
            None => self.fmt_slow(f),
        }
    }
}

impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Rfc3339 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Formats an instant as UTC whole seconds, `YYYY-MM-DDTHH:MM:SSZ` (queue `updated_at`,
/// breaker `last_failure`/`opens_at`; spec §1.1, §6.4).
pub fn whole_seconds_utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats an instant as the hyphenated stamp of failure-file names, `YYYY-MM-DDTHH-MM-SSZ`
/// (spec §1.3.1).
pub fn file_stamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H-%M-%SZ").to_string()
}

/// Formats an instant as UTC RFC 3339 with nanoseconds trimmed (Go `RFC3339Nano`, spec §1.10).
pub fn rfc3339_nano_utc(t: Timestamp) -> String {
    Rfc3339::utc(t).to_string()
}

/// The UTC calendar date `YYYY-MM-DD` of an instant (batch ID, summary date; spec §1.4, §1.6).
pub fn utc_date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod fast_paths {
        use super::*;
        use proptest::prelude::*;

        /// Strings shaped like Go's layout, with any digits (impossible dates, hour 24,
        /// second 60, offset hours above 23) and each separator sometimes changed.
        fn near_canonical() -> impl Strategy<Value = String> {
            let d = |n: usize| {
                proptest::collection::vec(0u8..10, n).prop_map(|v| {
                    v.into_iter()
                        .map(|c| char::from(b'0' + c))
                        .collect::<String>()
                })
            };
            (
                (d(4), d(2), d(2), d(2), d(2), d(2)),
                proptest::option::of(proptest::collection::vec(0u8..10, 0..11)),
                prop_oneof![
                    Just("Z".to_string()),
                    Just("z".to_string()),
                    (prop_oneof![Just('+'), Just('-')], d(2), d(2))
                        .prop_map(|(s, h, m)| format!("{s}{h}:{m}")),
                ],
                prop_oneof![4 => Just('T'), 1 => Just('t'), 1 => Just(' ')],
            )
                .prop_map(|((y, mo, da, h, mi, se), frac, off, t)| {
                    let frac = frac.map_or(String::new(), |v| {
                        let digits: String = v.into_iter().map(|c| char::from(b'0' + c)).collect();
                        format!(".{digits}")
                    });
                    format!("{y}-{mo}-{da}{t}{h}:{mi}:{se}{frac}{off}")
                })
        }

        fn same(s: &str) -> Result<(), TestCaseError> {
            let general = parse_general(s);
            match (s.parse::<Rfc3339>(), &general) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a.instant(), b.instant());
                    prop_assert_eq!(a.offset(), b.offset());
                }
                (Err(a), Err(b)) => prop_assert_eq!(&a, b),
                (a, b) => prop_assert!(false, "{s:?}: {a:?} vs {b:?}"),
            }
            Ok(())
        }

        proptest! {
            #[test]
            fn canonical_parse_agrees_with_jiff(s in near_canonical()) {
                same(&s)?;
            }

            #[test]
            fn canonical_parse_agrees_on_real_instants(
                secs in -62_135_596_800i64..253_402_214_399,
                nanos in prop_oneof![Just(0i32), 0i32..1_000_000_000],
                minutes in prop_oneof![Just(0i32), -1439i32..=1439],
            ) {
                let t = Rfc3339 {
                    instant: Timestamp::new(secs, nanos).unwrap(),
                    offset: Offset::from_seconds(minutes * 60).unwrap(),
                };
                let text = t.to_string();
                same(&text)?;
                prop_assert_eq!(parse_canonical(text.as_bytes()), Some(t));
            }

            #[test]
            fn ascii_display_equals_fmt(
                secs in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
                nanos in prop_oneof![Just(0i32), 0i32..1_000_000_000],
                offset_secs in prop_oneof![Just(0i32), -93_599i32..=93_599],
            ) {
                let Ok(instant) = Timestamp::new(secs, nanos) else { return Ok(()) };
                let t = Rfc3339 { instant, offset: Offset::from_seconds(offset_secs).unwrap() };
                struct Slow(Rfc3339);
                impl fmt::Display for Slow {
                    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        self.0.fmt_slow(f)
                    }
                }
                let mut pushed = Vec::new();
                t.push_to(&mut pushed);
                prop_assert_eq!(t.to_string(), Slow(t).to_string());
                prop_assert_eq!(String::from_utf8(pushed).unwrap(), t.to_string());
            }
        }
    }

    fn round(s: &str) -> String {
        s.parse::<Rfc3339>().unwrap().to_string()
    }

    #[test]
    fn go_written_values_round_trip_byte_for_byte() {
        for s in [
            "2026-02-24T06:13:51.407702314Z",
            "2026-02-22T07:20:51.9416245Z",
            "2026-02-15T00:00:00Z",
            "1734-03-17T21:04:51.642391339Z",
            "2026-02-16T12:00:00+05:30",
            "2026-02-16T12:00:00.25-08:00",
        ] {
            assert_eq!(round(s), s);
        }
    }

    #[test]
    fn normalises_like_go() {
        assert_eq!(round("2026-02-15T00:00:00.500Z"), "2026-02-15T00:00:00.5Z");
        assert_eq!(round("2026-02-15T00:00:00.000Z"), "2026-02-15T00:00:00Z");
        assert_eq!(round("2026-02-15T00:00:00+00:00"), "2026-02-15T00:00:00Z");
        assert_eq!(round("2026-02-15t00:00:00z"), "2026-02-15T00:00:00Z");
    }

    #[test]
    fn offset_is_kept_and_instant_compares() {
        let a: Rfc3339 = "2026-01-01T02:00:00+02:00".parse().unwrap();
        let b: Rfc3339 = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.offset().seconds(), 7200);
    }

    #[test]
    fn rejects_non_rfc3339() {
        for s in [
            "",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01 00:00:00Z",
            "yesterday",
        ] {
            assert!(s.parse::<Rfc3339>().is_err(), "{s:?} must be rejected");
        }
    }

    #[test]
    fn stamps() {
        let t: Timestamp = "2026-06-26T20:49:32.9Z".parse().unwrap();
        assert_eq!(file_stamp(t), "2026-06-26T20-49-32Z");
        assert_eq!(whole_seconds_utc(t), "2026-06-26T20:49:32Z");
        assert_eq!(utc_date(t), "2026-06-26");
        assert_eq!(rfc3339_nano_utc(t), "2026-06-26T20:49:32.9Z");
    }
}
