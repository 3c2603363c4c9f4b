//! The typed report of a maintenance run (spec §4.9): every change each step made, and what
//! it could not resolve.

use serde::Serialize;

use crate::records::failure_log::Skipped;

/// Why an entry's status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// More failure records than `failure_count`: failed, retried at `next_retry_at` (null:
    /// due at once) per the shared backoff (spec §4.7).
    NewFailures {
        /// Records on file, the new `failure_count`.
        records: u64,
        /// The new retry time.
        next_retry_at: Option<String>,
    },
    /// More failure records than `failure_count`, with `missing_dep` blockers.
    MissingDependencies {
        /// Records on file, the new `failure_count`.
        records: u64,
        /// The union of `blocked_by`.
        blocked_by: Vec<String>,
    },
    /// A failed entry whose retry time (null or this) has passed.
    RetryDue {
        /// The retry time that passed.
        next_retry_at: Option<String>,
    },
    /// Every dependency blocking it now has a `success` entry.
    DependenciesResolved {
        /// Those dependencies.
        resolved_by: Vec<String>,
    },
    /// Its recipe exists on disk (`queue reconcile`, spec §7.6).
    RecipeOnDisk {
        /// The recipe file, relative to the recipes directory, `/`-separated.
        recipe: String,
        /// The source read from the recipe, in the queue's spelling; `null` when no rule
        /// gives one (confidence then unchanged).
        recipe_source: Option<String>,
        /// Whether `confidence` became `curated` because the sources differ.
        curated: bool,
    },
}

/// One entry's status change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// Entry name.
    pub entry: String,
    /// Entry source.
    pub source: String,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
    /// Why.
    pub reason: Reason,
}

/// A blocked entry requeue could not release, and why (spec §9.3.3: reported, not silent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stuck {
    /// No failure record names its dependencies.
    NoRecordedDependencies {
        /// Entry name.
        entry: String,
    },
    /// Some of its dependencies are not the name of any queue entry.
    UnknownDependencies {
        /// Entry name.
        entry: String,
        /// Those dependencies.
        dependencies: Vec<String>,
    },
}

/// An entry's blocking score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Entry name.
    pub entry: String,
    /// Distinct packages it blocks, directly or transitively.
    pub score: u64,
    /// Its priority.
    pub priority: i64,
}

/// One entry that changed position in the reorder (spec §4.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    /// Entry name.
    pub entry: String,
    /// 0-based position before.
    pub from: usize,
    /// 0-based position after.
    pub to: usize,
    /// Its priority.
    pub priority: i64,
    /// Its blocking score.
    pub score: u64,
}

/// What mark-failures did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MarkReport {
    /// Status changes, in queue order.
    pub changes: Vec<StatusChange>,
}

/// What requeue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RequeueReport {
    /// Entries released, in queue order.
    pub changes: Vec<StatusChange>,
    /// Entries still blocked.
    pub remaining: usize,
    /// Blocked entries whose dependencies are unknown.
    pub stuck: Vec<Stuck>,
}

/// What reorder did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReorderReport {
    /// Entries whose position changed, in new order.
    pub moves: Vec<Move>,
    /// Up to ten entries with the highest non-zero scores (name order on ties).
    pub top_scores: Vec<Score>,
}

/// The whole run: one part per step that ran, plus what was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintainReport {
    /// Failure files read.
    pub files: usize,
    /// Record lines read.
    pub records: u64,
    /// Lines skipped.
    pub skipped: Skipped,
    /// mark-failures, unless skipped.
    pub mark_failures: Option<MarkReport>,
    /// requeue, unless skipped.
    pub requeue: Option<RequeueReport>,
    /// reorder, unless skipped.
    pub reorder: Option<ReorderReport>,
}

impl MaintainReport {
    /// Whether any step changed the queue.
    pub fn changed(&self) -> bool {
        self.mark_failures
            .as_ref()
            .is_some_and(|m| !m.changes.is_empty())
            || self.requeue.as_ref().is_some_and(|r| !r.changes.is_empty())
            || self.reorder.as_ref().is_some_and(|r| !r.moves.is_empty())
    }
}
