//! `merge` (issue #6): consolidates the fragments of one sharded batch into the files an
//! unsharded run writes: the queue, the failure files, `batch-results.json`, the breaker
//! update and the summary.
//!
//! Rules:
//! - Outcomes are applied in the order of the whole batch's selection (their `position`), so
//!   records, recipes and counts come out as an unsharded run over the same candidates would
//!   write them, whatever order the fragments are read in.
//! - Every value written is derived from the fragments alone: results and failure files are
//!   stamped with the batch's plan time, breaker updates and the queue's `updated_at` use the
//!   latest shard's finish time. Merging the same fragments again gives the same bytes.
//! - The queue must be the one the shards started from (same SHA-256). When it is not, but
//!   every outcome is already applied to it and `batch-results.json` names this batch, the
//!   batch is reported as already merged and nothing is written; otherwise the merge is
//!   refused.
//! - The files are saved by the main run's one persistence function
//!   ([`crate::run::save_run`]), whose queue comes last: a merge that dies before it leaves the
//!   starting queue, and running it again rewrites the other files with the same bytes.
//! - Breakers: each ecosystem the batch touched is first set to the state the shards started
//!   from (the lowest shard's copy when they differ), then the batch-level update (spec §6.4,
//!   §6.5) is applied to the combined counts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::config::Config;
use crate::control::ControlFile;
use crate::lock::{LockError, RunLock};
use crate::queue::{MissingQueue, Queue, QueueEntry, QueueError};
use crate::records::{BatchResults, NotRunEntry};
use crate::run::apply::{apply_outcome_line, update_breakers};
use crate::run::hooks::Hooks;
use crate::run::journal;
use crate::run::journal::{BreakerLine, OutcomeLine};
use crate::run::persist::{Batch, remove_stale_temp_files, save};
use crate::run::{RunError, RunReport};
use crate::shard::fragment::{FragmentError, NotRunLine};
use crate::shard::set::FragmentSet;

/// Errors of [`merge_fragments`].
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Reading or checking the fragments failed.
    #[error("cannot use the shard fragments")]
    Fragment(#[from] FragmentError),
    /// The queue or control file could not be read or parsed, or a write failed.
    #[error("cannot merge the batch")]
    Run(#[from] RunError),
    /// Another run holds the queue's lock ([`LockError::Held`], the binary's exit 3), or the
    /// lock file could not be created.
    #[error("cannot take the run lock")]
    Lock(#[from] LockError),
    /// An interrupted run's journal is beside the queue: its outcomes must be applied first.
    #[error("an interrupted run left `{}` beside the queue", path.display())]
    JournalPending {
        /// The journal.
        path: PathBuf,
    },
    /// Shards with candidates have no fragment, and the merge was not asked to go on.
    #[error(
        "batch {batch_id}: no fragment for shard(s) {} of {count}",
        missing.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        /// The batch.
        batch_id: String,
        /// Missing shard numbers.
        missing: Vec<u32>,
        /// N.
        count: u32,
    },
    /// The queue is neither the starting queue nor one this batch was merged into.
    #[error(
        "queue `{path}` is not the queue the shards of batch {batch_id} started from (its sha256 is {found}, the fragments name {expected})"
    )]
    QueueChanged {
        /// The queue.
        path: PathBuf,
        /// The batch.
        batch_id: String,
        /// The fragments' starting queue.
        expected: String,
        /// The queue now.
        found: String,
    },
    /// An outcome names an entry the starting queue does not have at that index, or two
    /// fragments claim the same position.
    #[error("fragment `{path}`: {reason}")]
    Mismatch {
        /// The fragment.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
}

/// Whether [`merge_fragments`] wrote the batch or found it already merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStatus {
    /// The files were written.
    Merged,
    /// The queue already holds every outcome and `batch-results.json` names the batch:
    /// nothing was written.
    AlreadyMerged,
}

/// What [`merge_fragments`] did.
#[derive(Debug, Clone)]
pub struct MergeReport {
    /// Written or already there.
    pub status: MergeStatus,
    /// Counts, records, recipes, breaker changes and files written (none when already merged).
    pub report: RunReport,
    /// Shards with candidates but no fragment (merged without them when allowed).
    pub missing: Vec<u32>,
    /// Candidates the shards did not run; their entries are unchanged.
    pub not_run: Vec<NotRunLine>,
}

/// [`merge_fragments`] as the CLI runs it: takes the queue's run lock, refuses while an interrupted
/// run's journal is pending (its outcomes would be lost), removes temporary files a killed run
/// left (reported through `hooks`), then merges.
///
/// # Errors
/// [`MergeError::Lock`] (nothing written), [`MergeError::JournalPending`], and those of
/// [`merge_fragments`].
pub fn merge_under_lock(
    config: &Config,
    set: &FragmentSet,
    allow_missing: bool,
    hooks: &dyn Hooks,
) -> Result<MergeReport, MergeError> {
    // A misspelt queue path is refused before the lock, so it leaves no lock file (issue #12).
    if config.missing_queue == MissingQueue::Error
        && matches!(std::fs::metadata(&config.queue), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    {
        return Err(RunError::from(QueueError::Missing {
            path: config.queue.clone(),
        })
        .into());
    }
    let _lock = RunLock::acquire(&config.queue)?;
    let path = journal::path_for(&config.queue);
    if path.exists() {
        return Err(MergeError::JournalPending { path });
    }
    remove_stale_temp_files(config, hooks);
    merge_fragments(config, set, allow_missing)
}

/// Merges `set` into the files of `config` (queue, control file, failures directory,
/// results, summary). The caller holds the queue's run lock. With `allow_missing`, missing
/// shards are reported and their entries left unchanged; without it they are an error.
///
/// # Errors
/// [`MergeError::Missing`], [`MergeError::QueueChanged`], [`MergeError::Mismatch`], bad
/// queue or control file, and write errors (see the module rules for what a rerun does).
pub fn merge_fragments(
    config: &Config,
    set: &FragmentSet,
    allow_missing: bool,
) -> Result<MergeReport, MergeError> {
    if !set.missing.is_empty() && !allow_missing {
        return Err(MergeError::Missing {
            batch_id: set.batch_id.clone(),
            missing: set.missing.clone(),
            count: set.shard_count,
        });
    }
    let (mut queue, _, sha) =
        Queue::load_hashed(&config.queue, config.missing_queue).map_err(RunError::from)?;
    let mut control = ControlFile::load(&config.control_file).map_err(RunError::from)?;

    let mut lines: Vec<(&PathBuf, &OutcomeLine)> = set
        .fragments
        .iter()
        .flat_map(|(p, f)| f.outcomes.iter().map(move |o| (p, o)))
        .collect();
    lines.sort_by_key(|(_, o)| o.position);
    let mut not_run: Vec<NotRunLine> = set
        .fragments
        .iter()
        .flat_map(|(_, f)| f.not_run.iter().cloned())
        .collect();
    not_run.sort_by_key(|n| n.position);
    check_positions(set)?;

    let fresh = sha == set.queue_sha256;
    if fresh {
        for (path, o) in &lines {
            if !matches_entry(queue.entries.get(o.index), o) {
                return Err(MergeError::Mismatch {
                    path: (*path).clone(),
                    reason: format!(
                        "entry {:?} ({}) is not at index {} of the starting queue",
                        o.name, o.source, o.index
                    ),
                });
            }
        }
    } else {
        let applied = lines.iter().all(|(_, o)| {
            let e = queue.entries.get(o.index);
            matches_entry(e, o) && e.is_some_and(|e| holds_state(e, o))
        });
        if !(applied && results_batch_id(config).as_deref() == Some(set.batch_id.as_str())) {
            return Err(MergeError::QueueChanged {
                path: config.queue.clone(),
                batch_id: set.batch_id.clone(),
                expected: set.queue_sha256.clone(),
                found: sha,
            });
        }
    }

    let planned_at = set.planned_at.instant();
    let finished = set
        .fragments
        .iter()
        .map(|(_, f)| f.finished)
        .max()
        .map_or(planned_at, |t| t.instant());
    let mut report = RunReport {
        results: BatchResults::new(planned_at),
        invalid: set.invalid,
        not_run: not_run
            .iter()
            .map(|n| (n.index, n.name.clone(), n.reason.clone()))
            .collect(),
        ..RunReport::default()
    };
    report.results.batch_id.clone_from(&set.batch_id);
    report.results.not_run = not_run
        .iter()
        .map(|n| NotRunEntry {
            name: n.name.clone(),
            source: n.source.clone(),
            reason: n.reason.clone(),
        })
        .collect();
    for (_, o) in &lines {
        apply_outcome_line(&mut queue.entries[o.index], o, &mut report);
    }
    let status = if fresh {
        MergeStatus::Merged
    } else {
        MergeStatus::AlreadyMerged
    };
    if status == MergeStatus::AlreadyMerged {
        return Ok(MergeReport {
            status,
            report,
            missing: set.missing.clone(),
            not_run,
        });
    }

    // Breakers: back to the state the shards started from, then the batch-level update.
    let mut starts: BTreeMap<&str, &BreakerLine> = BTreeMap::new();
    for (_, f) in &set.fragments {
        for (eco, line) in &f.breakers_at_start {
            starts.entry(eco.as_str()).or_insert(line);
        }
    }
    for (eco, start) in starts {
        let current = control.breakers.get(eco).cloned().unwrap_or_default();
        if BreakerLine::from(&current) != *start {
            control.set_breaker(eco, start.into());
        }
    }
    update_breakers(&mut control, &mut report, config, finished);

    let batch = Batch {
        queue: &queue,
        control: &mut control,
        failures_stamp: planned_at,
        queue_updated: finished,
    };
    save(batch, &mut report, config, None)?;
    Ok(MergeReport {
        status,
        report,
        missing: set.missing.clone(),
        not_run,
    })
}

fn check_positions(set: &FragmentSet) -> Result<(), MergeError> {
    let mut seen = BTreeSet::new();
    for (path, f) in &set.fragments {
        let positions = f
            .outcomes
            .iter()
            .map(|o| o.position)
            .chain(f.not_run.iter().map(|n| n.position));
        for pos in positions {
            if !seen.insert(pos) {
                return Err(MergeError::Mismatch {
                    path: path.clone(),
                    reason: format!("position {pos} is claimed by another fragment too"),
                });
            }
        }
    }
    Ok(())
}

fn matches_entry(entry: Option<&QueueEntry>, o: &OutcomeLine) -> bool {
    entry.is_some_and(|e| e.name == o.name && e.source == o.source)
}

fn holds_state(e: &QueueEntry, o: &OutcomeLine) -> bool {
    e.status.as_str() == o.status
        && e.failure_count == o.failure_count
        && e.next_retry_at == o.next_retry_at
}

/// The `batch_id` of the current `batch-results.json`, if readable.
fn results_batch_id(config: &Config) -> Option<String> {
    let bytes = std::fs::read(&config.results).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("batch_id")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests;
