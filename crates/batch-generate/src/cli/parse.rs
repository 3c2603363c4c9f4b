//! Value parsers for clap: durations, `ECO=DURATION`, batch IDs, GC grace periods.

use std::time::Duration;

/// Parses a duration such as `6s`, `500ms`, `15m` or `1h 30m` (jiff's friendly format).
///
/// # Errors
/// A message for clap when the text is not a non-negative duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|e| format!("invalid duration {s:?} (use e.g. 500ms, 6s, 15m): {e}"))?;
    Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

/// Parses `ECO=DURATION`.
///
/// # Errors
/// A message for clap when `=` or the duration is missing or invalid.
pub fn parse_rate_limit(s: &str) -> Result<(String, Duration), String> {
    let (eco, d) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ECO=DURATION (e.g. rubygems=6s), got {s:?}"))?;
    if eco.is_empty() {
        return Err(format!("missing ecosystem in {s:?}"));
    }
    Ok((eco.to_owned(), parse_duration(d)?))
}

/// Parses `ECO=N` for `--max-in-flight`, N at least 1.
///
/// # Errors
/// A message for clap when `=`, the ecosystem or a positive count is missing.
pub fn parse_max_in_flight(s: &str) -> Result<(String, usize), String> {
    let (eco, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ECO=N (e.g. npm=2), got {s:?}"))?;
    if eco.is_empty() {
        return Err(format!("missing ecosystem in {s:?}"));
    }
    match n.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok((eco.to_owned(), n)),
        _ => Err(format!("expected a count of at least 1 in {s:?}")),
    }
}

/// Parses a batch ID (`[A-Za-z0-9._-]`, at most 100 bytes).
///
/// # Errors
/// A message for clap.
pub fn parse_batch_id(s: &str) -> Result<String, String> {
    batch::shard::fragment::check_batch_id(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.to_string())
}

/// Parses a grace window: anything [`parse_duration`] accepts, plus days and weeks
/// (`90d`, `2w`, `1d 12h`; a day is 24 hours).
///
/// # Errors
/// A message for clap.
pub fn parse_grace(s: &str) -> Result<Duration, String> {
    if let Ok(d) = parse_duration(s) {
        return Ok(d);
    }
    let span: jiff::Span = s
        .trim()
        .parse()
        .map_err(|e| format!("invalid duration {s:?} (use e.g. 90d, 36h): {e}"))?;
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| format!("invalid duration {s:?} (use days, hours, minutes): {e}"))?;
    Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

/// An RFC 3339 instant (`2026-07-01T12:00:00Z`), for the hidden `--now` of `queue status`.
///
/// # Errors
/// The text is not RFC 3339 (clap reports it as a usage error, exit 2).
pub fn parse_timestamp(s: &str) -> Result<jiff::Timestamp, String> {
    s.parse()
        .map_err(|e| format!("expected an RFC 3339 instant such as 2026-07-01T12:00:00Z: {e}"))
}
