//! What happened to one processed candidate: [`Outcome`] (with its recipe or failure record)
//! and its data-free [`OutcomeKind`], the one vocabulary the journal, shard fragments,
//! `batch-results.json` counts and the breaker update share.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::failure::FailureRecord;

/// What happened to one processed candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `create` and `install` both exited 0.
    Succeeded {
        /// The recipe file, `<output-dir>/<l>/<name>.toml`.
        recipe: PathBuf,
    },
    /// A failure that counts toward backoff and the breaker.
    Failed(FailureRecord),
    /// Waiting on dependencies; no backoff, no breaker failure.
    Blocked(FailureRecord),
}

impl Outcome {
    /// The failure record, for failed and blocked outcomes.
    pub fn record(&self) -> Option<&FailureRecord> {
        match self {
            Outcome::Succeeded { .. } => None,
            Outcome::Failed(r) | Outcome::Blocked(r) => Some(r),
        }
    }

    /// Which of the three it is.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Succeeded { .. } => OutcomeKind::Succeeded,
            Outcome::Failed(_) => OutcomeKind::Failed,
            Outcome::Blocked(_) => OutcomeKind::Blocked,
        }
    }
}

/// How a processed entry ended, without its data: the journal's and fragments' `ended` field
/// (serialised `succeeded`, `failed`, `blocked`) and the counter it bumps in
/// `batch-results.json` (spec §1.4: a blocked entry counts in `total` and `blocked` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// `create` and `install` both exited 0.
    Succeeded,
    /// A failure that counts toward backoff and the breaker.
    Failed,
    /// Waiting on dependencies.
    Blocked,
}
