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
use jiff::tz::Offset;

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
        parse_rfc3339(s)
    }
}

/// Any RFC 3339 timestamp, through jiff's parser; the error names the input.
fn parse_rfc3339(s: &str) -> Result<Rfc3339, TimestampError> {
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

impl fmt::Display for Rfc3339 {
    /// Writes Go's `RFC3339Nano` layout: fraction trimmed of trailing zeros (none when whole),
    /// `Z` for a zero offset, `±HH:MM` otherwise (jiff's RFC 3339 printer writes the same).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset == Offset::UTC {
            fmt::Display::fmt(&self.instant, f)
        } else {
            fmt::Display::fmt(&self.instant.display_with_offset(self.offset), f)
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
pub(crate) fn whole_seconds_utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats an instant as the hyphenated stamp of failure-file names, `YYYY-MM-DDTHH-MM-SSZ`
/// (spec §1.3.1).
pub(crate) fn file_stamp(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H-%M-%SZ").to_string()
}

/// Formats an instant as UTC RFC 3339 with nanoseconds trimmed (Go `RFC3339Nano`, spec §1.10).
pub(crate) fn rfc3339_nano_utc(t: Timestamp) -> String {
    Rfc3339::utc(t).to_string()
}

/// The UTC calendar date `YYYY-MM-DD` of an instant (batch ID, summary date; spec §1.4, §1.6).
pub(crate) fn utc_date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            // Go's zero time, and a year below 1000 with an offset: four year digits.
            "0001-01-01T00:00:00Z",
            "0999-12-31T23:59:59.000000001+14:00",
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
