//! Read-mostly views of the queue against what is on disk (issue #14): [`status`] models the
//! queue between batches (`queue status`), [`reconcile`] marks entries whose recipe is on disk
//! `success` (spec §7.6; the one writer here, under the run lock), and [`recipes`] maps a
//! recipe file to its queue entry and reads the source it installs from; [`explain`] says why
//! the next run would or would not select an entry (issue #23).

pub mod explain;
pub mod failure_notes;
pub mod recipes;
pub mod reconcile;
pub mod status;

pub use reconcile::{
    ReconcileError, ReconcileFiles, ReconcileOutcome, ReconcileReport, reconcile_files,
};
