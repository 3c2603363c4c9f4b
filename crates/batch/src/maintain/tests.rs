//! Property tests of the whole maintenance run (spec §4.9): idempotence, reorder as a stable
//! permutation, and only the documented status transitions.

use jiff::Timestamp;
use proptest::prelude::*;

use super::changes::{MarkReport, RequeueReport};
use super::mark::mark_failures;
use super::requeue::requeue_unblocked;
use super::steps::{Steps, maintain};
use super::summary::Summaries;
use crate::records::failure_log::FailureLog;
use crate::records::timestamp::Rfc3339;
use crate::{Queue, QueueEntry, Status};

const NAMES: &[&str] = &["a", "b", "c", "d", "e", "f"];
const CATEGORIES: &[&str] = &["missing_dep", "network_error", "install_failed", ""];

fn now() -> Timestamp {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pending),
        Just(Status::Failed),
        Just(Status::Blocked),
        Just(Status::Success),
        Just(Status::Excluded),
    ]
}

fn entry() -> impl Strategy<Value = QueueEntry> {
    (
        0..NAMES.len(),
        0..3usize,
        1..4i64,
        status(),
        0..4i64,
        proptest::option::of(-72..72i64),
    )
        .prop_map(|(n, eco, priority, status, fc, retry)| {
            let name = NAMES[n];
            let eco = ["homebrew", "npm", "cargo"][eco];
            let mut e = QueueEntry::new(name, format!("{eco}:{name}"), priority);
            e.status = status;
            e.failure_count = fc;
            e.next_retry_at = retry.map(|h| {
                Rfc3339::utc(
                    now()
                        .checked_add(jiff::SignedDuration::from_hours(h))
                        .unwrap(),
                )
            });
            e
        })
}

fn line() -> impl Strategy<Value = String> {
    let deps = proptest::collection::vec(0..NAMES.len(), 0..3);
    (any::<bool>(), 0..NAMES.len(), 0..3usize, 0..CATEGORIES.len(), deps).prop_map(
        |(batch, n, eco, cat, deps)| {
            let eco = ["homebrew", "npm", "cargo"][eco];
            let deps: Vec<String> = deps.iter().map(|&d| format!("\"{}\"", NAMES[d])).collect();
            let deps = deps.join(",");
            let (name, cat) = (NAMES[n], CATEGORIES[cat]);
            if batch {
                format!(r#"{{"failures":[{{"package_id":"{eco}:{name}","category":"{cat}","blocked_by":[{deps}]}}]}}"#)
            } else {
                format!(r#"{{"recipe":"{name}","category":"{cat}","blocked_by":[{deps}]}}"#)
            }
        },
    )
}

fn inputs() -> impl Strategy<Value = (Queue, FailureLog)> {
    (
        proptest::collection::vec(entry(), 0..10),
        proptest::collection::vec(line(), 0..12),
    )
        .prop_map(|(entries, lines)| {
            let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
            q.entries = entries;
            let mut log = FailureLog::default();
            log.read(lines.join("\n").as_bytes()).unwrap();
            (q, log)
        })
}

/// The maintenance loop as first written: every round visits every entry. [`maintain`] visits
/// only the released entries after the first round and must give the same queue and report.
fn full_rounds(queue: &mut Queue, log: &FailureLog) -> (MarkReport, RequeueReport) {
    let summaries = Summaries::new(log);
    let (mut marks, mut requeues) = (MarkReport::default(), RequeueReport::default());
    loop {
        let m = mark_failures(queue, &summaries, now());
        let r = requeue_unblocked(queue, &summaries);
        let changed = !m.changes.is_empty() || !r.changes.is_empty();
        marks.changes.extend(m.changes);
        requeues.changes.extend(r.changes);
        requeues.remaining = r.remaining;
        requeues.stuck = r.stuck;
        if !changed {
            return (marks, requeues);
        }
    }
}

proptest! {
    #[test]
    fn later_rounds_visiting_released_entries_only_change_nothing((queue, log) in inputs()) {
        let mut full = queue.clone();
        let (marks, requeues) = full_rounds(&mut full, &log);
        let mut fast = queue.clone();
        let steps = Steps { mark_failures: true, requeue: true, reorder: false };
        let report = maintain(&mut fast, &log, steps, now());
        prop_assert_eq!(&fast, &full);
        prop_assert_eq!(report.mark_failures.unwrap(), marks);
        prop_assert_eq!(report.requeue.unwrap(), requeues);
    }

    #[test]
    fn maintain_twice_equals_once((queue, log) in inputs()) {
        let mut once = queue.clone();
        maintain(&mut once, &log, Steps::default(), now());
        let mut twice = once.clone();
        let second = maintain(&mut twice, &log, Steps::default(), now());
        prop_assert_eq!(&once, &twice);
        prop_assert!(!second.changed(), "{:?}", second);
    }

    #[test]
    fn reorder_is_a_stable_sorted_permutation((queue, log) in inputs()) {
        let mut tagged = queue.clone();
        for (i, e) in tagged.entries.iter_mut().enumerate() {
            e.extra.insert("tag".into(), i.into());
        }
        let steps = Steps { mark_failures: false, requeue: false, reorder: true };
        let report = maintain(&mut tagged, &log, steps, now());
        let mut tags: Vec<u64> = tagged.entries.iter().map(|e| e.extra["tag"].as_u64().unwrap()).collect();
        let order = tags.clone();
        tags.sort_unstable();
        prop_assert_eq!(tags, (0..queue.entries.len() as u64).collect::<Vec<_>>());
        let score = |name: &str| report.reorder.as_ref().unwrap().top_scores.iter()
            .find(|s| s.entry == name).map_or(0, |s| s.score);
        for w in order.windows(2) {
            let (a, b) = (&queue.entries[w[0] as usize], &queue.entries[w[1] as usize]);
            let ka = (a.priority, std::cmp::Reverse(score(&a.name)), a.name.clone());
            let kb = (b.priority, std::cmp::Reverse(score(&b.name)), b.name.clone());
            prop_assert!(ka < kb || (ka == kb && w[0] < w[1]));
        }
    }

    #[test]
    fn only_documented_transitions((queue, log) in inputs()) {
        let mut after = queue.clone();
        let steps = Steps { mark_failures: true, requeue: true, reorder: false };
        let report = maintain(&mut after, &log, steps, now());
        for (b, a) in queue.entries.iter().zip(&after.entries) {
            prop_assert_eq!((&b.name, &b.source, b.priority), (&a.name, &a.source, a.priority));
            prop_assert!(a.failure_count >= b.failure_count);
            let allowed = match b.status {
                Status::Pending | Status::Failed => matches!(a.status, Status::Pending | Status::Failed | Status::Blocked),
                // Released, then marked again by records it had not counted.
                Status::Blocked => matches!(a.status, Status::Blocked | Status::Pending | Status::Failed),
                _ => a.status == b.status,
            };
            prop_assert!(allowed, "{} -> {}", b.status, a.status);
        }
        let changes = report.mark_failures.iter().flat_map(|m| &m.changes)
            .chain(report.requeue.iter().flat_map(|r| &r.changes));
        for c in changes {
            let pair = (c.from.as_str(), c.to.as_str());
            prop_assert!(
                matches!(pair, ("pending", "failed") | ("pending", "blocked") | ("failed", "pending") | ("blocked", "pending")),
                "{:?}", pair
            );
        }
    }
}
