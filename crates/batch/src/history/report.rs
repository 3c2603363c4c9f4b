//! The report over the metrics history (issue #14, replacing `scripts/batch-metrics.sh`,
//! spec §7.8): which records a [`Filter`] keeps, and the [`Report`] built from them — one row
//! per batch, a summary (totals, overall success rate, per-platform pass rates) and a
//! [`Trend`]. Pure functions; nothing here reads files or the clock.
//!
//! Rates are fractions in `0.0..=1.0`, `None` when the denominator is 0 (the script's `N/A`).
//! The success rate is `merged / total` (spec §7.3.5 `SUCCESS_RATE`, the script's `Rate`).
//! The trend compares the 7 days ending at the newest selected record with the 7 days before
//! them, so it depends only on the data, never on the wall clock.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::metrics::{History, MetricsRecord, PlatformCounts};
use crate::queue::ecosystem::is_known;

/// The platform families of the metrics (spec §1.5), in the script's order (spec §7.8).
pub(crate) const PLATFORMS: [&str; 4] = [
    "linux-x86_64",
    "linux-arm64",
    "darwin-arm64",
    "darwin-x86_64",
];

/// Length of each of the trend's two windows, days.
pub(crate) const TREND_DAYS: i64 = 7;

/// Which records the report covers (`report` options, issue #14). Applied in this order:
/// `since`, `ecosystem`, `platform`, then `last`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep the newest N records (after the other filters).
    pub last: Option<usize>,
    /// Keep records at or after this instant.
    pub since: Option<Timestamp>,
    /// Keep records whose ecosystems include this one (either shape).
    pub ecosystem: Option<String>,
    /// Keep records that tested this platform family (`tested > 0`), show its counts per
    /// batch, and only its pass rate in the summary.
    pub platform: Option<String>,
}

/// A filter value the history cannot match: a usage mistake (exit 2 in the binary).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// `--platform` names no platform family.
    #[error("unknown platform {platform:?}; the metrics have {}", known.join(", "))]
    UnknownPlatform {
        /// The value given.
        platform: String,
        /// Platform families of `PLATFORMS` and of the records, sorted.
        known: Vec<String>,
    },
    /// `--ecosystem` is neither an ecosystem tsuku knows nor one of any record.
    #[error("unknown ecosystem {ecosystem:?}; the metrics have {}", known.join(", "))]
    UnknownEcosystem {
        /// The value given.
        ecosystem: String,
        /// Ecosystems of the records, sorted.
        known: Vec<String>,
    },
}

/// One batch row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchRow {
    /// Workflow batch ID.
    pub batch_id: String,
    /// `timestamp` as written.
    pub timestamp: String,
    /// Ecosystems of the run, sorted.
    pub ecosystems: Vec<String>,
    /// Candidates processed (sum of the `ecosystems` map); `None` for the old shape.
    pub candidates: Option<u64>,
    /// `merged + excluded`, recipes.
    pub total: u64,
    /// Recipes included in the PR.
    pub merged: u64,
    /// Recipes excluded.
    pub excluded: u64,
    /// Recipes included with a constraint.
    pub constrained: u64,
    /// `merged / total`.
    pub success_rate: Option<f64>,
    /// Merge-job wall time, seconds.
    pub duration_seconds: u64,
    /// The `--platform` family's counts in this run, when a platform was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformCounts>,
    /// Metrics file of the record.
    pub file: String,
}

/// Pass rate of one platform family over the selected runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformRate {
    /// Platform family.
    pub platform: String,
    /// Sums over the runs.
    #[serde(flatten)]
    pub counts: PlatformCounts,
    /// `passed / tested`.
    pub pass_rate: Option<f64>,
}

/// Totals over the selected runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Runs (records).
    pub runs: usize,
    /// Runs with `total > 0`.
    pub runs_with_recipes: usize,
    /// Candidates processed, new-shape runs only.
    pub candidates: u64,
    /// Sums of the records' fields.
    pub total: u64,
    /// Sum of `generated`.
    pub generated: u64,
    /// Sum of `merged`.
    pub merged: u64,
    /// Sum of `excluded`.
    pub excluded: u64,
    /// Sum of `constrained`.
    pub constrained: u64,
    /// `merged / total` over the sums.
    pub success_rate: Option<f64>,
    /// Median merge-job duration, seconds (the upper middle value for an even count); 0
    /// without runs.
    pub median_duration_seconds: u64,
    /// Longest merge-job duration, seconds.
    pub max_duration_seconds: u64,
    /// Oldest selected timestamp.
    pub first: Option<String>,
    /// Newest selected timestamp.
    pub last: Option<String>,
    /// Pass rates: the four families of `PLATFORMS` then any other family seen, sorted; or
    /// only the `--platform` one.
    pub platforms: Vec<PlatformRate>,
}

/// Runs, recipes and success rate in one trend window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Start (exclusive), RFC 3339.
    pub after: String,
    /// End (inclusive), RFC 3339.
    pub until: String,
    /// Runs in the window.
    pub runs: usize,
    /// Sum of `total`.
    pub total: u64,
    /// Sum of `merged`.
    pub merged: u64,
    /// `merged / total`.
    pub success_rate: Option<f64>,
}

/// How the success rate moved from the previous window to the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher now.
    Up,
    /// Lower now.
    Down,
    /// The same.
    Flat,
    /// A window had no recipes, so no rate to compare.
    Unknown,
}

/// The success rate of the `TREND_DAYS` days ending at the newest selected record against
/// the `TREND_DAYS` days before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// Window length, days.
    pub days: i64,
    /// The window ending at the newest record.
    pub current: Window,
    /// The window before it.
    pub previous: Window,
    /// Movement of the rate.
    pub direction: Direction,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// One row per selected record, oldest first.
    pub batches: Vec<BatchRow>,
    /// Totals.
    pub summary: Summary,
    /// `None` without records.
    pub trend: Option<Trend>,
}

/// The records of `history` that `filter` keeps, oldest first.
///
/// # Errors
/// [`FilterError`] when `platform` names no platform family of `PLATFORMS` or of the
/// records, or `ecosystem` is neither known to tsuku nor in any record.
pub fn select<'a>(
    history: &'a History,
    filter: &Filter,
) -> Result<Vec<&'a MetricsRecord>, FilterError> {
    if let Some(p) = &filter.platform {
        let mut known: Vec<String> = PLATFORMS.iter().map(|s| (*s).to_owned()).collect();
        for r in &history.records {
            known.extend(r.platforms.keys().cloned());
        }
        known.sort();
        known.dedup();
        if !known.contains(p) {
            return Err(FilterError::UnknownPlatform {
                platform: p.clone(),
                known,
            });
        }
    }
    if let Some(e) = &filter.ecosystem {
        let mut known: Vec<String> = history
            .records
            .iter()
            .flat_map(|r| r.ecosystems.iter().cloned())
            .collect();
        known.sort();
        known.dedup();
        if !is_known(e) && !known.contains(e) {
            return Err(FilterError::UnknownEcosystem {
                ecosystem: e.clone(),
                known,
            });
        }
    }
    let mut kept: Vec<&MetricsRecord> = history
        .records
        .iter()
        .filter(|r| filter.since.is_none_or(|s| r.at >= s))
        .filter(|r| {
            filter
                .ecosystem
                .as_ref()
                .is_none_or(|e| r.ecosystems.contains(e))
        })
        .filter(|r| {
            filter
                .platform
                .as_ref()
                .is_none_or(|p| r.platforms.get(p).is_some_and(|c| c.tested > 0))
        })
        .collect();
    if let Some(n) = filter.last {
        let skip = kept.len().saturating_sub(n);
        kept.drain(..skip);
    }
    Ok(kept)
}

/// `num / den`, `None` when `den` is 0.
pub fn rate(num: u64, den: u64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    (den > 0).then(|| num as f64 / den as f64)
}

/// Builds the report over `records` (oldest first, as [`select`] returns them); `platform`
/// is the filter's platform.
pub fn build(records: &[&MetricsRecord], platform: Option<&str>) -> Report {
    let batches = records.iter().map(|r| row(r, platform)).collect();
    Report {
        batches,
        summary: summary(records, platform),
        trend: trend(records),
    }
}

fn row(r: &MetricsRecord, platform: Option<&str>) -> BatchRow {
    BatchRow {
        batch_id: r.batch_id.clone(),
        timestamp: r.timestamp.clone(),
        ecosystems: r.ecosystems.clone(),
        candidates: r.candidates.as_ref().map(|m| m.values().sum()),
        total: r.total,
        merged: r.merged,
        excluded: r.excluded,
        constrained: r.constrained,
        success_rate: rate(r.merged, r.total),
        duration_seconds: r.duration_seconds,
        platform: platform.map(|p| r.platforms.get(p).copied().unwrap_or_default()),
        file: r.file.clone(),
    }
}

fn summary(records: &[&MetricsRecord], platform: Option<&str>) -> Summary {
    let sum = |f: fn(&MetricsRecord) -> u64| records.iter().map(|r| f(r)).sum::<u64>();
    let mut durations: Vec<u64> = records.iter().map(|r| r.duration_seconds).collect();
    durations.sort_unstable();
    let mut per: BTreeMap<String, PlatformCounts> = BTreeMap::new();
    for r in records {
        for (p, c) in &r.platforms {
            let t = per.entry(p.clone()).or_default();
            t.tested += c.tested;
            t.passed += c.passed;
            t.failed += c.failed;
        }
    }
    let mut order: Vec<String> = match platform {
        Some(p) => vec![p.to_owned()],
        None => PLATFORMS.iter().map(|s| (*s).to_owned()).collect(),
    };
    if platform.is_none() {
        order.extend(
            per.keys()
                .filter(|k| !PLATFORMS.contains(&k.as_str()))
                .cloned(),
        );
    }
    let platforms = order
        .into_iter()
        .map(|p| {
            let counts = per.get(&p).copied().unwrap_or_default();
            PlatformRate {
                pass_rate: rate(counts.passed, counts.tested),
                platform: p,
                counts,
            }
        })
        .collect();
    let total = sum(|r| r.total);
    let merged = sum(|r| r.merged);
    Summary {
        runs: records.len(),
        runs_with_recipes: records.iter().filter(|r| r.total > 0).count(),
        candidates: records
            .iter()
            .filter_map(|r| r.candidates.as_ref())
            .flat_map(|m| m.values())
            .sum(),
        total,
        generated: sum(|r| r.generated),
        merged,
        excluded: sum(|r| r.excluded),
        constrained: sum(|r| r.constrained),
        success_rate: rate(merged, total),
        median_duration_seconds: durations.get(durations.len() / 2).copied().unwrap_or(0),
        max_duration_seconds: durations.last().copied().unwrap_or(0),
        first: records.first().map(|r| r.timestamp.clone()),
        last: records.last().map(|r| r.timestamp.clone()),
        platforms,
    }
}

fn window(records: &[&MetricsRecord], after: Timestamp, until: Timestamp) -> Window {
    let inside: Vec<&&MetricsRecord> = records
        .iter()
        .filter(|r| r.at > after && r.at <= until)
        .collect();
    let total = inside.iter().map(|r| r.total).sum();
    let merged = inside.iter().map(|r| r.merged).sum();
    Window {
        after: after.to_string(),
        until: until.to_string(),
        runs: inside.len(),
        total,
        merged,
        success_rate: rate(merged, total),
    }
}

fn trend(records: &[&MetricsRecord]) -> Option<Trend> {
    let anchor = records.iter().map(|r| r.at).max()?;
    let span = SignedDuration::from_hours(24 * TREND_DAYS);
    let mid = anchor.checked_sub(span).ok()?;
    let start = mid.checked_sub(span).ok()?;
    let current = window(records, mid, anchor);
    let previous = window(records, start, mid);
    let direction = match (current.success_rate, previous.success_rate) {
        (Some(c), Some(p)) if c > p => Direction::Up,
        (Some(c), Some(p)) if c < p => Direction::Down,
        (Some(_), Some(_)) => Direction::Flat,
        _ => Direction::Unknown,
    };
    Some(Trend {
        days: TREND_DAYS,
        current,
        previous,
        direction,
    })
}
