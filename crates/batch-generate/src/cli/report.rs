//! Arguments of `report` (issue #14, replacing `scripts/batch-metrics.sh`, spec §7.8).

use std::path::PathBuf;

use clap::Args;

use super::common::JsonArgs;

/// Flags of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Directory of the metrics files (`batch-runs*.jsonl`, both shapes, one or many JSON
    /// values per file); other files such as `seeding-runs.jsonl` are not read.
    #[arg(
        long,
        env = "BATCH_METRICS_DIR",
        value_name = "DIR",
        default_value = "data/metrics"
    )]
    pub metrics_dir: PathBuf,

    /// Show only the newest N batches (after the other filters) [default: all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub last: Option<u64>,

    /// Only batches at or after DATE: YYYY-MM-DD (00:00 UTC) or RFC 3339.
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<jiff::Timestamp>,

    /// Only batches that processed this ecosystem (`ecosystem` of old records, a key of
    /// `ecosystems` of new ones).
    #[arg(long, value_name = "E")]
    pub ecosystem: Option<String>,

    /// Only batches that tested this platform family (linux-x86_64, linux-arm64,
    /// darwin-arm64, darwin-x86_64), with its tested/passed/failed per batch.
    #[arg(long, value_name = "P")]
    pub platform: Option<String>,

    /// Also write the selected history as charts to FILE: one self-contained HTML page
    /// (inline SVG and CSS, no script, no request to anywhere), written atomically.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// With `--html`: the queue whose current state (by ecosystem and status, top blockers)
    /// the page shows; a missing file is a note on the page.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// With `--html`: the failure records (both formats) whose categories over time the page
    /// shows; a missing directory is a note on the page.
    #[arg(long, value_name = "DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

    /// With `--html`: the control file (breakers, kill switch) for the queue's state.
    #[arg(long, value_name = "FILE", default_value = "batch-control.json")]
    pub control_file: PathBuf,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl ReportArgs {
    /// The library filter of these flags.
    pub fn filter(&self) -> batch::history::Filter {
        batch::history::Filter {
            last: self.last.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            since: self.since,
            ecosystem: self.ecosystem.clone(),
            platform: self.platform.clone(),
        }
    }
}

/// Parses `--since`: a date `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp.
///
/// # Errors
/// A message for clap (exit 2).
pub fn parse_since(s: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            format!("invalid date {s:?}: use YYYY-MM-DD or RFC 3339 (2026-03-01T12:00:00Z)")
        })
}
