//! The maintenance run in memory (spec §4.9): mark-failures, requeue, reorder, each optional,
//! applied to a [`Queue`] with a given `now`. No I/O; [`super::file`] reads and writes.

use jiff::Timestamp;

use super::changes::MaintainReport;
use super::mark::{mark_entries, mark_failures};
use super::reorder::{BlockerGraph, reorder_by_score};
use super::requeue::requeue_indexed;
use super::summary::Summaries;
use crate::Queue;
use crate::records::failure_log::FailureLog;

/// Which steps run (all by default; `--skip-*` turns them off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// mark-failures.
    pub mark_failures: bool,
    /// requeue.
    pub requeue: bool,
    /// reorder.
    pub reorder: bool,
}

impl Default for Steps {
    fn default() -> Self {
        Self {
            mark_failures: true,
            requeue: true,
            reorder: true,
        }
    }
}

/// Applies the chosen steps, in order, to `queue` and reports every change (spec §4.9).
/// Idempotent: a second call with the same `log` and `now` changes nothing.
pub fn maintain(
    queue: &mut Queue,
    log: &FailureLog,
    steps: Steps,
    now: Timestamp,
) -> MaintainReport {
    let summaries = Summaries::new(log);
    let mut report = MaintainReport {
        files: log.files,
        records: log.records,
        skipped: log.skipped,
        ..MaintainReport::default()
    };
    // A released entry may carry failures mark-failures has not counted (it only marks
    // pending entries), and an entry marked blocked may be releasable at once; repeating the
    // two steps until neither changes anything makes one run a fixed point. Each entry is
    // marked at most once (its count then equals its records, and nothing makes an entry
    // `success`), so this ends after at most three rounds.
    //
    // Only the first round of mark-failures visits every entry: after it, each entry is at
    // its fixed point, and only the entries requeue releases can change again.
    let mut released: Option<Vec<usize>> = None;
    loop {
        let mut changed = false;
        if steps.mark_failures {
            let m = match released.take() {
                None => mark_failures(queue, &summaries, now),
                Some(positions) => mark_entries(queue, &summaries, now, positions),
            };
            changed |= !m.changes.is_empty();
            let slot = report.mark_failures.get_or_insert_with(Default::default);
            slot.changes.extend(m.changes);
        }
        if steps.requeue {
            let (r, positions) = requeue_indexed(queue, &summaries);
            changed |= !r.changes.is_empty();
            released = Some(positions);
            let slot = report.requeue.get_or_insert_with(Default::default);
            slot.changes.extend(r.changes);
            slot.remaining = r.remaining;
            slot.stuck = r.stuck;
        }
        if !(changed && steps.mark_failures && steps.requeue) {
            break;
        }
    }
    if steps.reorder {
        report.reorder = Some(reorder_by_score(queue, &BlockerGraph::new(log)));
    }
    report
}
