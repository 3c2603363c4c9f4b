//! Queue maintenance between batches (spec §4.9, issue #14): mark-failures, requeue and
//! reorder over the failure records ([`crate::records::failure_log`]), in memory
//! ([`maintain()`]) or on disk under the run lock ([`maintain_files`]), and the typed report of
//! what each step changed ([`changes`]). Deliberate fixes over Go (spec §9.3): records match
//! entries by identity, one capped backoff schedule, unknown blockers reported. The read-mostly
//! views of the queue (`queue status`, `queue reconcile`) live in [`crate::inventory`].

pub mod changes;
pub(crate) mod file;
pub(crate) mod mark;
pub mod reorder;
pub(crate) mod requeue;
pub(crate) mod steps;
pub(crate) mod summary;

#[cfg(test)]
mod tests;

pub use crate::records::failure_log::{FailureLog, RecordsError, Skipped};
pub use changes::{
    MaintainReport, MarkReport, Move, Reason, ReorderReport, RequeueReport, Score, StatusChange,
    Stuck,
};
pub use file::{MaintainError, MaintainFiles, MaintainOutcome, maintain_files};
pub use steps::{Steps, maintain};
