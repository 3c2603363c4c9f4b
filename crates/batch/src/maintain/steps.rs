//! The maintenance run in memory (spec §4.9): mark-failures, requeue, reorder, each optional,
//! applied to a [`Queue`] with a given `now`. No I/O; [`super::file`] reads and writes.

use jiff::Timestamp;

use super::mark::mark_failures;
use super::records::FailureLog;
use super::reorder::{BlockerGraph, reorder};
use super::report::MaintainReport;
use super::requeue::requeue;
use super::summary::Summaries;
use crate::Queue;

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
    if steps.mark_failures {
        report.mark_failures = Some(mark_failures(queue, &summaries, now));
    }
    if steps.requeue {
        report.requeue = Some(requeue(queue, &summaries));
    }
    if steps.reorder {
        report.reorder = Some(reorder(queue, &BlockerGraph::new(log)));
    }
    report
}
