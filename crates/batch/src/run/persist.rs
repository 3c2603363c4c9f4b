//! Persisting a batch: the one function that writes a batch's files, used by the main run,
//! recovery and `merge` (`save`), in the one order `docs/RELIABILITY.md` explains (issue
//! #21): every file written atomically, failure files never overwritten, the journal protocol
//! around the writes (issue #4), a summary failure only a warning (spec §2.2 step 8).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use batch_base::clock::Clock;
use batch_base::fs as fsutil;
use jiff::Timestamp;

use super::apply::RunReport;
use super::error::RunError;
use super::hooks::{Hooks, Notice};
use super::journal::{self, BreakerLine, Journal, Line};
use super::plan::Plan;
use crate::config::Config;
use crate::control::ControlFile;
use crate::queue::Queue;
use crate::records;

/// What [`save`] writes besides the report's files: the batch's queue and control file, and
/// the two times it stamps.
pub(crate) struct Batch<'a> {
    /// The queue with every outcome applied.
    pub queue: &'a Queue,
    /// The control file with the batch's breaker updates (written only when changed).
    pub control: &'a mut ControlFile,
    /// The failure files' stamp: the run's start (a merge: the batch's plan time).
    pub failures_stamp: Timestamp,
    /// The queue's `updated_at`.
    pub queue_updated: Timestamp,
}

/// Saves a batch, in this order (docs/RELIABILITY.md, "Persistence order"):
/// 1. with a journal, the changed breakers are journaled ([`Line::Breakers`]);
/// 2. the failure files (an existing file with the same bytes counts as written);
/// 3. `batch-results.json`;
/// 4. the control file, when a breaker moved;
/// 5. the summary (a failure is only a warning, spec §2.2 step 8);
/// 6. the queue, last: while it is not written, the queue on disk is the one the batch
///    started from, so a rerun (of `merge`) or a recovery (of a run) starts from the same
///    state and writes the same bytes;
/// 7. the journal is removed.
///
/// # Errors
/// The first write that fails, naming its file; files written before it stay written and the
/// journal is kept.
pub(crate) fn save(
    batch: Batch<'_>,
    report: &mut RunReport,
    config: &Config,
    mut journal: Option<&mut Journal>,
) -> Result<(), RunError> {
    if let Some(j) = journal.as_deref_mut() {
        let breakers: BTreeMap<String, BreakerLine> = report
            .breaker_changes
            .iter()
            .filter_map(|(eco, _)| {
                Some((
                    eco.clone(),
                    BreakerLine::from(batch.control.breakers.get(eco)?),
                ))
            })
            .collect();
        if !breakers.is_empty() {
            j.append(&Line::Breakers { breakers })?;
        }
    }
    write_failures(report, config, batch.failures_stamp)?;
    write_results(report, config)?;
    if batch.control.save_if_changed()? {
        report.files_written.push(config.control_file.clone());
    }
    write_summary(report, config);
    batch.queue.save(&config.queue, batch.queue_updated)?;
    report.files_written.push(config.queue.clone());
    if let Some(j) = journal {
        journal::remove(j.path())?;
    }
    Ok(())
}

/// Writes the failure files, `batch-results.json`, the control file (when a breaker moved),
/// the summary and the queue, each atomically, in `save`'s order. Failure files are stamped
/// with the run's start, so writing the same records twice leaves one file.
///
/// # Errors
/// The first write that fails, naming its file; files written before it stay written.
pub fn save_run(
    plan: &mut Plan,
    report: &mut RunReport,
    config: &Config,
    clock: &dyn Clock,
) -> Result<(), RunError> {
    save_run_with(plan, report, config, clock, None)
}

/// [`save_run`] with the journal protocol (issue #4): the changed breakers are journaled first,
/// then every file is written, then the journal is removed. A crash at any point leaves a
/// journal whose replay produces the same files.
///
/// # Errors
/// As [`save_run`], plus journal errors; the journal is kept on any error.
pub(crate) fn save_run_with(
    plan: &mut Plan,
    report: &mut RunReport,
    config: &Config,
    clock: &dyn Clock,
    journal: Option<&mut Journal>,
) -> Result<(), RunError> {
    let batch = Batch {
        queue: &plan.queue,
        control: &mut plan.control,
        failures_stamp: plan.started,
        queue_updated: clock.now(),
    };
    save(batch, report, config, journal)
}

/// Writes the report's failure records as one file per ecosystem stamped `stamp` (an
/// existing file with the same bytes counts as written).
fn write_failures(
    report: &mut RunReport,
    config: &Config,
    stamp: Timestamp,
) -> Result<(), RunError> {
    let files = records::failure_files(&report.failures, stamp);
    let mut taken = BTreeSet::new();
    for f in files {
        match failure_path(&config.failures_dir, &f.file_name, &f.bytes, &mut taken) {
            FailurePath::New(path) => {
                write(&path, &f.bytes, true)?;
                report.files_written.push(path);
            }
            FailurePath::AlreadyWritten(path) => report.files_written.push(path),
        }
    }
    Ok(())
}

/// Writes `batch-results.json`.
fn write_results(report: &mut RunReport, config: &Config) -> Result<(), RunError> {
    write(&config.results, &report.results.to_bytes(), true)?;
    report.files_written.push(config.results.clone());
    Ok(())
}

/// Writes the Markdown summary; a failure is only a warning (spec §2.2 step 8).
fn write_summary(report: &mut RunReport, config: &Config) {
    let summary = records::render_summary(
        &report.results,
        &report.recipes,
        &report.failures,
        report.invalid,
        config.headline,
    );
    match fsutil::write_atomic(&config.summary, summary.as_bytes(), false) {
        Ok(()) => report.files_written.push(config.summary.clone()),
        Err(e) => report.warnings.push(format!(
            "could not write summary `{}`: {e}",
            config.summary.display()
        )),
    }
}

enum FailurePath {
    New(PathBuf),
    AlreadyWritten(PathBuf),
}

/// Where a failure file goes: `eco-<ts>.jsonl`, unless a different file of that name exists
/// (Go overwrote it and lost its records), then `eco-<ts>-2.jsonl`, … A file with exactly these
/// bytes is already written (a replayed journal).
fn failure_path(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    taken: &mut BTreeSet<PathBuf>,
) -> FailurePath {
    let stem = name.trim_end_matches(".jsonl");
    for n in 1.. {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}.jsonl"))
        };
        if taken.contains(&candidate) {
            continue;
        }
        match std::fs::read(&candidate) {
            Ok(existing) if existing == bytes => {
                taken.insert(candidate.clone());
                return FailurePath::AlreadyWritten(candidate);
            }
            Ok(_) => continue,
            Err(_) => {
                taken.insert(candidate.clone());
                return FailurePath::New(candidate);
            }
        }
    }
    unreachable!("the suffix search is unbounded")
}

fn write(path: &Path, bytes: &[u8], create_parent: bool) -> Result<(), RunError> {
    fsutil::write_atomic(path, bytes, create_parent).map_err(|source| RunError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Removes temporary files a killed run left beside the files a run or merge writes (queue,
/// control file, results, summary, failure records), reporting each through `hooks`. Call it
/// only while holding the run lock, so no other run is writing them. Failures are only
/// notices.
pub(crate) fn remove_stale_temp_files(config: &Config, hooks: &dyn Hooks) {
    let dirs: BTreeSet<&Path> = [
        config.queue.parent(),
        config.control_file.parent(),
        config.results.parent(),
        config.summary.parent(),
        Some(config.failures_dir.as_path()),
    ]
    .into_iter()
    .flatten()
    .collect();
    for dir in dirs {
        match fsutil::remove_stale_temp_files(dir) {
            Ok(removed) => {
                for p in &removed {
                    hooks.notice(Notice::TempFileRemoved(p));
                }
            }
            Err(error) => hooks.notice(Notice::TempCleanFailed { dir, error: &error }),
        }
    }
}
