//! Runs and health (issue #23; `dashboard.go` `loadMetricsFromDir`, `Generate`, `loadHealth`,
//! `metricsToRunInfo`): the metrics records of every `batch-runs*.jsonl` file, read by
//! `crate::history::metrics::parse_records` (both shapes), and the breakers of the control
//! file.

use std::collections::BTreeMap;

use super::model::{EcosystemHealth, HealthStatus, RunInfo, RunSummary};
use crate::control::Breaker;
use crate::history::metrics::{MetricsRecord, Shape};

/// Most entries of `runs` (`Generate`: "Take last 10").
pub(crate) const MAX_RUNS: usize = 10;

/// The control file as the dashboard sees it (`loadHealth`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum ControlInput<'a> {
    /// No control file: `health.ecosystems` is `{}`, and health is left out when there are no
    /// metrics records either.
    Missing,
    /// A control file that could not be read or parsed: health is left out.
    Unusable,
    /// The breakers by ecosystem.
    Breakers(&'a BTreeMap<String, Breaker>),
}

/// The records in the dashboard's order: those with a `batch_id`, sorted by `timestamp` as
/// text, ties in reading order (files by name, records in file order). Nothing is
/// deduplicated: a record in two files counts twice, as in Go.
pub(crate) fn ordered(mut records: Vec<MetricsRecord>) -> Vec<MetricsRecord> {
    records.retain(|r| !r.batch_id.is_empty());
    records.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
    records
}

/// A run's batch ID on the dashboard (`batchIDFromTimestamp`): the timestamp with `:`
/// replaced by `-`.
pub(crate) fn batch_id_of(timestamp: &str) -> String {
    timestamp.replace(':', "-")
}

/// Candidates by ecosystem (`resolveEcosystems`): the new shape's map when not empty, else
/// `{ecosystem: total}` for the old shape, else nothing.
pub(crate) fn ecosystems_of(r: &MetricsRecord) -> BTreeMap<String, u64> {
    match (&r.candidates, r.shape) {
        (Some(map), _) if !map.is_empty() => map.clone(),
        (_, Shape::Old) => r
            .ecosystems
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| (e.clone(), r.total))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The runs list: of `ordered` records, those with `total > 0`, the newest [`MAX_RUNS`],
/// newest first; `rate` is `merged / total`.
pub(crate) fn runs(ordered: &[MetricsRecord]) -> Vec<RunSummary> {
    let with_work: Vec<&MetricsRecord> = ordered.iter().filter(|r| r.total > 0).collect();
    let start = with_work.len().saturating_sub(MAX_RUNS);
    with_work[start..]
        .iter()
        .rev()
        .map(|r| RunSummary {
            batch_id: batch_id_of(&r.timestamp),
            ecosystems: ecosystems_of(r),
            total: r.total,
            merged: r.merged,
            #[allow(clippy::cast_precision_loss)]
            rate: r.merged as f64 / r.total as f64,
            duration: r.duration_seconds,
            timestamp: r.timestamp.clone(),
        })
        .collect()
}

fn run_info(r: &MetricsRecord) -> RunInfo {
    RunInfo {
        batch_id: batch_id_of(&r.timestamp),
        ecosystems: ecosystems_of(r),
        timestamp: r.timestamp.clone(),
        succeeded: r.merged,
        failed: r.total.saturating_sub(r.merged),
        total: r.total,
        recipes_merged: r.merged,
    }
}

/// Health: the breakers, the newest record (`last_run`, any total), the newest with
/// `merged > 0` and how many records came after it (all of them when none merged). `None`
/// when the control file is unusable, or missing while there are no records.
pub(crate) fn health(control: ControlInput<'_>, ordered: &[MetricsRecord]) -> Option<HealthStatus> {
    let ecosystems = match control {
        ControlInput::Unusable => return None,
        ControlInput::Missing if ordered.is_empty() => return None,
        ControlInput::Missing => BTreeMap::new(),
        ControlInput::Breakers(b) => b
            .iter()
            .map(|(eco, b)| {
                let health = EcosystemHealth {
                    breaker_state: b.state.as_str().to_owned(),
                    failures: b.failures,
                    last_failure: b.last_failure.clone().unwrap_or_default(),
                    opens_at: b.opens_at.clone().unwrap_or_default(),
                };
                (eco.clone(), health)
            })
            .collect(),
    };
    let last_success = ordered.iter().rposition(|r| r.merged > 0);
    Some(HealthStatus {
        ecosystems,
        last_run: ordered.last().map(run_info),
        last_successful_run: last_success.map(|i| run_info(&ordered[i])),
        runs_since_last_success: match last_success {
            Some(i) => (ordered.len() - 1 - i) as u64,
            None => ordered.len() as u64,
        },
    })
}
