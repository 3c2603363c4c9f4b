//! The observer interface of a run: [`Hooks`] receive plan findings, notices, progress
//! [`Event`]s and the moment a run commits, so the binary can log, draw progress and install
//! signal handlers while the library stays silent.

use std::path::Path;

use super::execute::Event;
use super::plan::Plan;
use super::recover::Recovery;

/// What the caller of a run (`crate::sequence::MainRun`, a merge) sees along the way. Every
/// method has an empty default.
pub trait Hooks: Sync {
    /// A plan was made: report what it found (missing files, breaker recoveries, invalid
    /// entries). Called for the first plan and again for a plan remade under the lock.
    fn planned(&self, _plan: &Plan) {}
    /// An interrupted run was finished from its journal before this one planned.
    fn recovered(&self, _recovery: &Recovery) {}
    /// Something worth a log line that is not an error.
    fn notice(&self, _notice: Notice<'_>) {}
    /// The run passed its input checks (and, for a whole batch, holds the run lock): from here
    /// a stop signal should stop it gracefully, so this is where a caller installs its signal
    /// handlers.
    fn committed(&self) {}
    /// Execution of `plan`'s candidates (a shard's own, after the split) starts now.
    fn executing(&self, _plan: &Plan) {}
    /// Progress of execution.
    fn event(&self, _event: Event<'_>) {}
    /// Execution ended (finished, interrupted or failed).
    fn executed(&self) {}
}

/// Hooks that ignore everything.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoHooks;

impl Hooks for NoHooks {}

/// A closure over progress events is a [`Hooks`] that only sees events.
impl<F: Fn(Event<'_>) + Sync> Hooks for F {
    fn event(&self, event: Event<'_>) {
        self(event);
    }
}

/// Log-worthy findings of a [`MainRun`](crate::sequence::MainRun) that are not errors.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A temporary file a killed run left beside an output was removed (under the lock).
    TempFileRemoved(&'a Path),
    /// A directory could not be cleaned of temporary files; the run goes on.
    TempCleanFailed {
        /// The directory.
        dir: &'a Path,
        /// Why.
        error: &'a std::io::Error,
    },
    /// An interrupted run's journal exists but this run does not apply it (a dry run, which
    /// writes nothing, or a shard, which plans from the queue as it is).
    JournalPending(&'a Path),
    /// Generator process groups of a killed run were still alive and have been stopped
    /// (SIGTERM, then SIGKILL after the grace period) before this run started anything.
    LeftoversStopped(&'a [crate::runner::ProcessId]),
    /// A shard kept its part of the batch's selection.
    ShardPlanned {
        /// The shard, `K/N`.
        shard: String,
        /// The batch.
        batch_id: &'a str,
        /// Candidates of this shard.
        candidates: usize,
        /// The shards that have candidates in the whole batch.
        shards_with_candidates: &'a [u32],
    },
}
