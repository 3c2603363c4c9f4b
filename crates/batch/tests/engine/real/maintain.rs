//! Queue maintenance (spec §4.9, issue #14) over the live queue and the whole failures corpus.

use batch::maintain::{FailureLog, Skipped, Steps, maintain};
use batch::{Queue, Status};

use crate::util::{corpus, t};

/// The live queue and the whole failures corpus of `$BATCH_TSUKU_DATA`, or `None` (the test
/// is skipped) when it is unset.
fn inputs(test: &str) -> Option<(Queue, FailureLog)> {
    let log = FailureLog::read_dir(&corpus("failures-corpus", test)?).unwrap();
    let q = Queue::load(&corpus("priority-queue.json", test)?).unwrap();
    Some((q, log))
}

#[test]
fn real_corpus_is_read_whole_with_skips_counted() {
    let Some((_, log)) = inputs("real::maintain::real_corpus_is_read_whole_with_skips_counted")
    else {
        return;
    };
    assert_eq!(log.files, 5785);
    // Counted independently (a Python scan of every line): 6,020 record lines, none blank,
    // malformed or over 1 MiB.
    assert_eq!(log.records, 6020);
    assert_eq!(log.skipped, Skipped::default());
}

#[test]
fn real_maintain_is_idempotent_and_fixes_identity_and_backoff() {
    let Some((mut q, log)) =
        inputs("real::maintain::real_maintain_is_idempotent_and_fixes_identity_and_backoff")
    else {
        return;
    };
    let original = q.clone();
    let now = t("2026-11-24T10:00:00Z");
    let first = maintain(&mut q, &log, Steps::default(), now);
    assert!(first.changed());
    let entry = |q: &Queue, name: &str| q.entries.iter().find(|e| e.name == name).unwrap().clone();

    // spec §9.3.1: `task` is homebrew:go-task, whose 970 records Go filed under `go-task`.
    let task = entry(&q, "task");
    assert_eq!((task.status, task.failure_count), (Status::Failed, 970));
    assert_eq!(
        task.next_retry_at.unwrap().to_string(),
        "2026-12-01T10:00:00Z",
        "capped at 168 h (spec §4.7), never Go's overflow (§9.3.2)"
    );
    let bindgen = entry(&q, "bindgen");
    assert_eq!(
        (bindgen.status, bindgen.failure_count),
        (Status::Failed, 893)
    );
    // azion already counts its 611 records: nothing new, it stays pending.
    let azion = entry(&q, "azion");
    assert_eq!((azion.status, azion.failure_count), (Status::Pending, 611));
    assert_eq!(entry(&q, "bat").status, Status::Success);

    let mut again = q.clone();
    let second = maintain(&mut again, &log, Steps::default(), now);
    assert!(!second.changed(), "second run changed: {second:?}");
    assert_eq!(again, q);

    // Only statuses, counts and retry times change; the entries stay the same set.
    assert_eq!(q.entries.len(), original.entries.len());
}

#[test]
fn real_reorder_equals_go_queue_maintain() {
    // The live queue was last written by Go's queue-maintain, so its order is Go's order;
    // an independent Python port of Go's reorder over this corpus moves no entry either.
    const TEST: &str = "real::maintain::real_reorder_equals_go_queue_maintain";
    let Some((mut q, log)) = inputs(TEST) else {
        return;
    };
    let before: Vec<String> = q.entries.iter().map(|e| e.name.clone()).collect();
    let only = Steps {
        mark_failures: false,
        requeue: false,
        reorder: true,
    };
    let report = maintain(&mut q, &log, only, t("2026-11-24T10:00:00Z"));
    let r = report.reorder.unwrap();
    assert!(
        r.moves.is_empty(),
        "moved: {:?}",
        r.moves.iter().take(5).collect::<Vec<_>>()
    );
    let top: Vec<(&str, u64)> = r
        .top_scores
        .iter()
        .take(4)
        .map(|s| (s.entry.as_str(), s.score))
        .collect();
    assert_eq!(
        top,
        [
            ("little-cms2", 9),
            ("python@3.14", 8),
            ("icu4c@78", 5),
            ("openjph", 5)
        ]
    );

    // Go visits names in queue order, we in name order: on this (acyclic) graph the scores
    // agree.
    let (q, _) = inputs(TEST).unwrap();
    let graph = batch::maintain::reorder::BlockerGraph::new(&log);
    let go = graph.scores_visiting(q.entries.iter().map(|e| e.name.as_str()));
    assert_eq!(go, graph.scores(&q));
    assert_eq!(go.len(), 59);

    // After the status steps too, the order is unchanged (statuses are not a sort key).
    let (mut q, _) = inputs(TEST).unwrap();
    maintain(&mut q, &log, Steps::default(), t("2026-11-24T10:00:00Z"));
    let after: Vec<String> = q.entries.iter().map(|e| e.name.clone()).collect();
    assert_eq!(after, before);
}
