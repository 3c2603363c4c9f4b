//! The queue's part of the dashboard (issue #23): totals by status, tier and ecosystem, every
//! entry by status (`dashboard.go` `computeQueueStatus`), and the curated entries
//! (`loadCurated`).

use std::collections::HashMap;

use super::failures::PackageFailure;
use super::model::{CuratedOverride, PackageInfo, QueueStatus};
use crate::queue::{Queue, QueueEntry, Status};
use crate::records::timestamp::Rfc3339;

/// `next_retry_at` as the dashboard writes it (`dashboard.go`: Go's layout
/// `2006-01-02T15:04:05Z`): the wall clock in the offset the queue stored, whole seconds, then
/// a literal `Z`. A `+02:00` time therefore reads two hours off; the pages only display it.
pub(crate) fn next_retry_text(t: &Rfc3339) -> String {
    t.offset()
        .to_datetime(t.instant())
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The queue status: counts, and every entry as a [`PackageInfo`] under its status, sorted by
/// priority then name. An entry's `category` is that of the last failure filed under its
/// source; `blocked_by` is copied for blocked entries only.
pub(crate) fn queue_status(
    queue: &Queue,
    failures: &HashMap<String, PackageFailure>,
) -> QueueStatus {
    let mut status = QueueStatus {
        total: queue.entries.len() as u64,
        ..QueueStatus::default()
    };
    for entry in &queue.entries {
        let s = entry.status.as_str();
        *status.by_status.entry(s.to_owned()).or_default() += 1;
        *status
            .by_tier
            .entry(entry.priority.to_string())
            .or_default()
            .entry(s.to_owned())
            .or_default() += 1;
        let eco = entry.ecosystem();
        if !eco.is_empty() {
            let counts = status.by_ecosystem.entry(eco.to_owned()).or_default();
            *counts.entry(s.to_owned()).or_default() += 1;
            *counts.entry("total".to_owned()).or_default() += 1;
        }
        status
            .packages
            .entry(s.to_owned())
            .or_default()
            .push(package_info(entry, failures));
    }
    for list in status.packages.values_mut() {
        list.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
    }
    status
}

fn package_info(entry: &QueueEntry, failures: &HashMap<String, PackageFailure>) -> PackageInfo {
    let failure = failures.get(&entry.source);
    PackageInfo {
        id: entry.source.clone(),
        name: entry.name.clone(),
        ecosystem: entry.ecosystem().to_owned(),
        priority: entry.priority,
        category: failure.map(|f| f.category.clone()).unwrap_or_default(),
        blocked_by: match failure {
            Some(f) if entry.status == Status::Blocked => f.blocked_by.clone(),
            _ => Vec::new(),
        },
        failure_count: entry.failure_count,
        next_retry_at: entry
            .next_retry_at
            .as_ref()
            .map(next_retry_text)
            .unwrap_or_default(),
    }
}

/// The entries with `curated` confidence, in queue order, with `validation_status` `valid`
/// for success and pending, `invalid` for failed and `unknown` otherwise.
pub(crate) fn curated(queue: &Queue) -> Vec<CuratedOverride> {
    queue
        .entries
        .iter()
        .filter(|e| e.confidence == "curated")
        .map(|e| CuratedOverride {
            name: e.name.clone(),
            source: e.source.clone(),
            reason: String::new(),
            validation_status: match e.status {
                Status::Success | Status::Pending => "valid",
                Status::Failed => "invalid",
                _ => "unknown",
            }
            .to_owned(),
        })
        .collect()
}

/// Source → name of the first entry with that source (`failures.go` `resolvePackageName`
/// scans the queue for the first match).
pub(crate) fn names_by_source(queue: &Queue) -> HashMap<&str, &str> {
    let mut names = HashMap::with_capacity(queue.entries.len());
    for e in &queue.entries {
        names.entry(e.source.as_str()).or_insert(e.name.as_str());
    }
    names
}
