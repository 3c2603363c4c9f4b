//! Applying results in memory: queue transitions (spec §4.7), counts, failure records and the
//! batch-level breaker update (spec §6.4–§6.5), collected in a [`RunReport`]. The journal's
//! and fragments' [`OutcomeLine`]s are made and applied here too, so a replayed or merged
//! outcome is counted exactly as a live one.

use std::path::{Path, PathBuf};

use batch_base::clock::Clock;
use jiff::Timestamp;

use super::execute::EntryResult;
use super::journal::OutcomeLine;
use super::plan::Plan;
use crate::config::Config;
use crate::control::{BatchOutcome, Change, ControlFile};
use crate::queue::{QueueEntry, Status, ecosystem_of, transition};
use crate::records::{BatchResults, FailureRecord, NotRunEntry, Outcome, OutcomeKind};

/// The journal line of a finished candidate: the entry's resulting state, so replaying it is
/// idempotent. `None` for candidates that did not run. Shard fragments carry the same lines.
pub(crate) fn outcome_line(
    position: usize,
    index: usize,
    before: &QueueEntry,
    result: &EntryResult,
) -> Option<OutcomeLine> {
    let EntryResult::Done { outcome, at } = result else {
        return None;
    };
    let mut after = before.clone();
    transition::apply(&mut after, outcome, *at);
    let (ended, recipe) = match outcome {
        Outcome::Succeeded { recipe } => (OutcomeKind::Succeeded, Some(recipe_basename(recipe))),
        Outcome::Failed(_) => (OutcomeKind::Failed, None),
        Outcome::Blocked(_) => (OutcomeKind::Blocked, None),
    };
    Some(OutcomeLine {
        position,
        index,
        name: before.name.clone(),
        source: before.source.clone(),
        ended,
        status: after.status.as_str().to_owned(),
        failure_count: after.failure_count,
        next_retry_at: after.next_retry_at,
        record: outcome.record().cloned(),
        recipe,
    })
}

fn recipe_basename(recipe: &Path) -> String {
    recipe
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
}

/// What a run did, for the summary line, `--json` and the exit code.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The `batch-results.json` content.
    pub results: BatchResults,
    /// Failure records in selection order (failed and blocked).
    pub failures: Vec<FailureRecord>,
    /// Basenames of recipes that passed, in selection order.
    pub recipes: Vec<String>,
    /// Entry names of the candidates that passed, in selection order (the generation
    /// environment's result rows, `validate::generation`, issue #13).
    pub succeeded: Vec<String>,
    /// Candidates that were not run (queue index, name, reason).
    pub not_run: Vec<(usize, String, String)>,
    /// Number of invalid entries skipped.
    pub invalid: usize,
    /// Breaker changes by ecosystem.
    pub breaker_changes: Vec<(String, Change)>,
    /// Files written by [`save_run`](super::save_run).
    pub files_written: Vec<PathBuf>,
    /// Non-fatal problems (summary write failure).
    pub warnings: Vec<String>,
    /// Generator process groups a killed run left alive, stopped before this run started
    /// anything (issue #15).
    pub stopped_processes: Vec<crate::runner::ProcessId>,
}

/// Applies the results to the queue (spec §4.7) and the breakers (spec §6.4–§6.5, for every
/// ecosystem that processed at least one entry), in memory.
pub fn apply_results(
    plan: &mut Plan,
    results: &[EntryResult],
    config: &Config,
    clock: &dyn Clock,
) -> RunReport {
    let mut report = RunReport {
        results: BatchResults::new(plan.started),
        invalid: plan.selection.invalid.len(),
        ..RunReport::default()
    };
    if let Some(id) = &config.batch_id {
        report.results.batch_id.clone_from(id);
    }
    for (cand, result) in plan.selection.candidates.iter().zip(results) {
        let entry = &mut plan.queue.entries[cand.index];
        let eco = entry.ecosystem().to_owned();
        match result {
            EntryResult::Done { outcome, at } => {
                transition::apply(entry, outcome, *at);
                let counted = match outcome {
                    Outcome::Succeeded { recipe } => {
                        report.recipes.push(recipe_basename(recipe));
                        report.succeeded.push(entry.name.clone());
                        OutcomeKind::Succeeded
                    }
                    Outcome::Failed(_) => OutcomeKind::Failed,
                    Outcome::Blocked(_) => OutcomeKind::Blocked,
                };
                if let Some(r) = outcome.record() {
                    report.failures.push(r.clone());
                }
                report.results.count(&eco, counted);
            }
            EntryResult::NotRun { reason } => {
                report
                    .not_run
                    .push((cand.index, entry.name.clone(), reason.clone()));
                report.results.not_run.push(NotRunEntry {
                    name: entry.name.clone(),
                    source: entry.source.clone(),
                    reason: reason.clone(),
                });
            }
        }
    }
    update_breakers(&mut plan.control, &mut report, config, clock.now());
    report
}

/// Sets `entry` to the resulting state an outcome line records (journal replay, fragment
/// merge) and counts it in `report`: results, recipe, failure record.
pub(crate) fn apply_outcome_line(entry: &mut QueueEntry, o: &OutcomeLine, report: &mut RunReport) {
    entry.status = Status::parse(&o.status);
    entry.failure_count = o.failure_count;
    entry.next_retry_at = o.next_retry_at;
    report.results.count(ecosystem_of(&o.source), o.ended);
    if let Some(r) = &o.recipe {
        report.recipes.push(r.clone());
    }
    if o.ended == OutcomeKind::Succeeded {
        report.succeeded.push(o.name.clone());
    }
    if let Some(r) = &o.record {
        report.failures.push(r.clone());
    }
}

/// The batch-level breaker update (spec §6.4–§6.5) for every ecosystem that processed entries,
/// recording each change in `report`.
pub(crate) fn update_breakers(
    control: &mut ControlFile,
    report: &mut RunReport,
    config: &Config,
    now: Timestamp,
) {
    for (eco, counts) in &report.results.per_ecosystem {
        let outcome = BatchOutcome::from_counts(counts.succeeded, counts.failed);
        let change = control.record_batch(eco, outcome, now, &config.breaker);
        if change != Change::None {
            report.breaker_changes.push((eco.clone(), change));
        }
    }
}
