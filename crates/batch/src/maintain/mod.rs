//! Queue maintenance between batches (spec §4.9, issue #14): mark-failures, requeue and
//! reorder over the failures directory, in memory ([`maintain`]) or on disk under the run
//! lock ([`maintain_files`]). Deliberate fixes over Go (spec §9.3): records match entries by
//! identity, one capped backoff schedule, unknown blockers reported. [`reconcile`] marks
//! entries with a recipe on disk `success` (spec §7.6); [`status`] shows the queue.

pub mod file;
pub mod mark;
pub mod moves;
mod par;
pub mod recipes;
pub mod reconcile;
pub mod records;
pub mod reorder;
pub mod report;
pub mod requeue;
mod sort;
pub mod status;
pub mod steps;
pub mod summary;

#[cfg(test)]
mod status_tests;
#[cfg(test)]
mod tests;

pub use file::{MaintainError, MaintainFiles, MaintainOutcome, maintain_files};
pub use moves::{Move, Moves};
pub use reconcile::{
    ReconcileError, ReconcileFiles, ReconcileOutcome, ReconcileReport, reconcile_files,
};
pub use records::{FailureLog, RecordsError, Skipped, jsonl_files, read_lines};
pub use report::{
    MaintainReport, MarkReport, Reason, ReorderReport, RequeueReport, Score, StatusChange, Stuck,
};
pub use steps::{Steps, maintain};
