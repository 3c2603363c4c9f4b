//! The dashboard from its inputs (issue #23; `dashboard.go` `Generate`), without I/O.

use jiff::Timestamp;

use super::blockers::{TOP_BLOCKERS, blocker_map, top_blockers};
use super::details::failure_details;
use super::disambiguations::summarize;
use super::failures::FailureScan;
use super::model::{Dashboard, DisambiguationRecord};
use super::queue::{curated, names_by_source, queue_status};
use super::runs::{ControlInput, health, ordered, runs};
use crate::history::metrics::MetricsRecord;
use crate::queue::Queue;
use crate::records::timestamp::whole_seconds_utc;

/// Everything the dashboard is built from.
#[derive(Debug, Clone)]
pub(crate) struct Inputs<'a> {
    /// `generated_at`.
    pub now: Timestamp,
    /// The queue.
    pub queue: &'a Queue,
    /// The failure records, read.
    pub failures: &'a FailureScan,
    /// The metrics records, files in name order and records in file order.
    pub metrics: Vec<MetricsRecord>,
    /// The control file.
    pub control: ControlInput<'a>,
    /// The disambiguation records, files in name order and records in file order.
    pub disambiguations: Vec<DisambiguationRecord>,
}

/// Builds `dashboard.json`'s content. The blockers come from the queue's blocked entries
/// (their `blocked_by` as the failure records filed it), not from the whole failure history.
pub(crate) fn build(inputs: Inputs<'_>) -> Dashboard {
    let queue = queue_status(inputs.queue, &inputs.failures.packages);
    let blocked = queue
        .packages
        .get("blocked")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let blockers = top_blockers(&blocker_map(blocked), TOP_BLOCKERS);
    let names = names_by_source(inputs.queue);
    let metrics = ordered(inputs.metrics);
    Dashboard {
        generated_at: whole_seconds_utc(inputs.now),
        blockers,
        failures: inputs.failures.categories.clone(),
        failure_details: failure_details(&inputs.failures.failures, &names),
        health: health(inputs.control, &metrics),
        runs: runs(&metrics),
        disambiguations: summarize(inputs.disambiguations),
        curated: curated(inputs.queue),
        queue,
    }
}
