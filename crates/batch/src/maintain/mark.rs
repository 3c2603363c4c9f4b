//! mark-failures (spec §4.9): pending entries with more failure records than their
//! `failure_count` become `blocked` or `failed`; failed entries whose retry time has passed
//! become `pending`. Pure; the caller supplies `now`.

use jiff::{SignedDuration, Timestamp};

use super::changes::{MarkReport, Reason, StatusChange};
use super::summary::{Summaries, Summary};
use crate::queue::transition::backoff;
use crate::records::timestamp::Rfc3339;
use crate::{Queue, QueueEntry, Status};

/// Applies mark-failures to every entry, in queue order.
///
/// Each entry goes through retry-due → new-failures → retry-due once, so one run reaches a
/// fixed point (a second run with the same records and `now` changes nothing); Go reads the
/// status once and can need two runs. The retry time is the main run's schedule
/// ([`backoff`], spec §4.7), capped for any count (Go's float schedule overflows, §9.3.2).
pub(crate) fn mark_failures(
    queue: &mut Queue,
    summaries: &Summaries,
    now: Timestamp,
) -> MarkReport {
    let mut report = MarkReport::default();
    for entry in &mut queue.entries {
        mark_one(entry, summaries, now, &mut report);
    }
    report
}

/// [`mark_failures`] for the entries at `indices` only (ascending, so changes are reported in
/// queue order). The maintenance loop's later rounds pass the entries requeue released: every
/// other entry is already at mark-failures' fixed point.
pub(super) fn mark_entries(
    queue: &mut Queue,
    summaries: &Summaries,
    now: Timestamp,
    indices: impl IntoIterator<Item = usize>,
) -> MarkReport {
    let mut report = MarkReport::default();
    for i in indices {
        mark_one(&mut queue.entries[i], summaries, now, &mut report);
    }
    report
}

/// Retry-due, then new failures, then retry-due again, for one entry.
fn mark_one(
    entry: &mut QueueEntry,
    summaries: &Summaries,
    now: Timestamp,
    report: &mut MarkReport,
) {
    expire(entry, now, report);
    // Only a pending entry is marked; skip the lookup for the others.
    if entry.status != Status::Pending {
        return;
    }
    let summary = summaries.of(entry);
    if mark(entry, &summary, now, report) {
        expire(entry, now, report);
    }
}

/// Marks a pending entry with new failures; true when it became `failed`.
fn mark(
    entry: &mut QueueEntry,
    summary: &Summary,
    now: Timestamp,
    report: &mut MarkReport,
) -> bool {
    let records = i64::try_from(summary.total).unwrap_or(i64::MAX);
    if entry.status != Status::Pending || records <= entry.failure_count {
        return false;
    }
    entry.failure_count = records;
    let (to, reason) = if summary.missing_dep_blockers.is_empty() {
        entry.next_retry_at = retry_at(records, now);
        let next_retry_at = entry.next_retry_at.as_ref().map(ToString::to_string);
        (
            Status::Failed,
            Reason::NewFailures {
                records: summary.total,
                next_retry_at,
            },
        )
    } else {
        let blocked_by = summary.missing_dep_blockers.clone();
        (
            Status::Blocked,
            Reason::MissingDependencies {
                records: summary.total,
                blocked_by,
            },
        )
    };
    let failed = to == Status::Failed;
    push(report, entry, to, reason);
    failed
}

/// Returns a failed entry to `pending` when its retry time is null or not after `now`.
fn expire(entry: &mut QueueEntry, now: Timestamp, report: &mut MarkReport) {
    if entry.status != Status::Failed {
        return;
    }
    if entry
        .next_retry_at
        .as_ref()
        .is_some_and(|t| t.instant() > now)
    {
        return;
    }
    let next_retry_at = entry.next_retry_at.as_ref().map(ToString::to_string);
    push(
        report,
        entry,
        Status::Pending,
        Reason::RetryDue { next_retry_at },
    );
}

/// `now + backoff(count)`, saturating at the latest representable instant.
pub(super) fn retry_at(count: i64, now: Timestamp) -> Option<Rfc3339> {
    backoff(count).map(|d| {
        let d = SignedDuration::try_from(d).expect("the backoff is at most 168 hours");
        Rfc3339::utc(now.checked_add(d).unwrap_or(Timestamp::MAX))
    })
}

fn push(report: &mut MarkReport, entry: &mut QueueEntry, to: Status, reason: Reason) {
    report.changes.push(StatusChange {
        entry: entry.name.clone(),
        source: entry.source.clone(),
        from: entry.status.as_str().to_owned(),
        to: to.as_str().to_owned(),
        reason,
    });
    entry.status = to;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::failure_log::FailureLog;

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn summaries(lines: &str) -> Summaries {
        let mut log = FailureLog::default();
        log.read(lines.as_bytes()).unwrap();
        Summaries::new(&log)
    }

    fn batch(pkg: &str, cat: &str, blocked: &str) -> String {
        let b = if blocked.is_empty() {
            String::new()
        } else {
            format!(r#","blocked_by":["{blocked}"]"#)
        };
        format!(
            r#"{{"schema_version":1,"failures":[{{"package_id":"{pkg}","category":"{cat}"{b}}}]}}"#
        ) + "\n"
    }

    fn queue(entries: Vec<QueueEntry>) -> Queue {
        let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
        q.entries = entries;
        q
    }

    #[test]
    fn records_match_by_source_not_bare_name() {
        // spec §9.3.1: `task` is homebrew:go-task; Go counted the record under `go-task`.
        let s = summaries(&(batch("homebrew:go-task", "network_error", "").repeat(3)));
        let mut q = queue(vec![
            QueueEntry::new("task", "homebrew:go-task", 1),
            QueueEntry::new("go-task", "homebrew:other", 1),
        ]);
        let r = mark_failures(&mut q, &s, now());
        assert_eq!(q.entries[0].status, Status::Failed);
        assert_eq!(q.entries[0].failure_count, 3);
        assert_eq!(
            q.entries[0].next_retry_at.map(|t| t.to_string()).as_deref(),
            Some("2026-06-04T12:00:00Z")
        );
        assert_eq!(q.entries[1].status, Status::Pending);
        assert_eq!(r.changes.len(), 1);
    }

    #[test]
    fn per_recipe_records_match_by_name() {
        let s = summaries(concat!(
            r#"{"recipe":"bat","category":"missing_dep","exit_code":8,"blocked_by":["libgit2"]}"#,
            "\n",
            r#"{"recipe":"x","package_id":"cargo:x","category":"generation_failed"}"#,
            "\n",
        ));
        let mut q = queue(vec![
            QueueEntry::new("bat", "github:sharkdp/bat", 1),
            QueueEntry::new("x", "npm:x", 1),
        ]);
        mark_failures(&mut q, &s, now());
        assert_eq!(q.entries[0].status, Status::Blocked);
        assert_eq!(q.entries[0].failure_count, 1);
        // The record names another source.
        assert_eq!(q.entries[1].status, Status::Pending);
    }

    #[test]
    fn one_new_failure_is_due_at_once_and_stays_pending() {
        let s = summaries(&batch("npm:a", "install_failed", ""));
        let mut q = queue(vec![QueueEntry::new("a", "npm:a", 1)]);
        let r = mark_failures(&mut q, &s, now());
        let kinds: Vec<_> = r
            .changes
            .iter()
            .map(|c| (c.from.as_str(), c.to.as_str()))
            .collect();
        assert_eq!(kinds, [("pending", "failed"), ("failed", "pending")]);
        assert_eq!(q.entries[0].failure_count, 1);
        assert!(mark_failures(&mut q, &s, now()).changes.is_empty());
    }

    #[test]
    fn expired_retry_returns_to_pending_and_future_one_does_not() {
        let mut due = QueueEntry::new("a", "npm:a", 1);
        due.status = Status::Failed;
        due.failure_count = 2;
        due.next_retry_at = Some(Rfc3339::utc("2026-06-01T11:00:00Z".parse().unwrap()));
        let mut later = due.clone();
        later.name = "b".into();
        later.next_retry_at = Some(Rfc3339::utc("2026-06-01T13:00:00Z".parse().unwrap()));
        let mut q = queue(vec![due, later]);
        mark_failures(&mut q, &Summaries::default(), now());
        assert_eq!(q.entries[0].status, Status::Pending);
        assert_eq!(q.entries[0].failure_count, 2);
        assert_eq!(q.entries[1].status, Status::Failed);
    }

    #[test]
    fn huge_counts_never_overflow() {
        // spec §9.3.2: Go's float delay overflows at 23.
        for n in [23, 611, 893, i64::MAX] {
            let t = retry_at(n, now()).unwrap();
            assert_eq!(t.to_string(), "2026-06-08T12:00:00Z", "count {n}");
        }
    }

    #[test]
    fn missing_dep_without_blockers_is_failed() {
        let s = summaries(&batch("npm:a", "missing_dep", "").repeat(2));
        let mut q = queue(vec![QueueEntry::new("a", "npm:a", 1)]);
        mark_failures(&mut q, &s, now());
        assert_eq!(q.entries[0].status, Status::Failed);
    }
}
