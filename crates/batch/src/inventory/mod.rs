//! Read-mostly views of the queue against what is on disk (issue #14): [`status`] models the
//! queue between batches (`queue status`), [`reconcile`] marks entries whose recipe is on disk
//! `success` (spec §7.6; the one writer here, under the run lock), and [`recipes`] maps a
//! recipe file to its queue entry and reads the source it installs from; [`explain`] says why
//! the next run would or would not select an entry (issue #23).

pub mod explain;
mod explain_lookup;
mod explain_report;
mod explain_rules;
pub mod failure_notes;
pub mod recipes;
pub mod reconcile;
pub mod status;

#[cfg(test)]
mod explain_tests;
#[cfg(test)]
mod status_tests;

pub use reconcile::{
    ReconcileError, ReconcileFiles, ReconcileOutcome, ReconcileReport, reconcile_files,
};
