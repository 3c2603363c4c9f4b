//! The maintenance run on disk (issue #14): under the queue's run lock, load the queue, read
//! the failures directory, apply [`super::maintain`], and replace the output atomically.

use std::path::{Path, PathBuf};

use batch_base::clock::Clock;

use super::changes::MaintainReport;
use super::steps::{Steps, maintain};
use crate::Queue;
use crate::lock::{LockError, RunLock};
use crate::queue::QueueError;
use crate::records::failure_log::{FailureLog, RecordsError};

/// Where a maintenance run reads and writes.
#[derive(Debug, Clone)]
pub struct MaintainFiles {
    /// The queue (also the lock's subject).
    pub queue: PathBuf,
    /// The failures directory (`*.jsonl`, both formats).
    pub failures_dir: PathBuf,
    /// Where the result goes [default: the queue].
    pub output: Option<PathBuf>,
}

/// What happened on disk.
#[derive(Debug)]
pub struct MaintainOutcome {
    /// The changes.
    pub report: MaintainReport,
    /// The file written, if any (none for a dry run, or when nothing changed and the output
    /// is the queue itself).
    pub written: Option<PathBuf>,
}

/// Errors of a maintenance run.
#[derive(Debug, thiserror::Error)]
pub enum MaintainError {
    /// The run lock is held ([`LockError::Held`], the binary's exit 3) or could not be taken.
    #[error("cannot take the run lock")]
    Lock(#[from] LockError),
    /// The queue could not be loaded or saved.
    #[error("cannot use the queue file")]
    Queue(#[from] QueueError),
    /// The failures directory could not be read.
    #[error("cannot read the failure records")]
    Records(#[from] RecordsError),
}

/// Runs maintenance under the queue's lock (spec §4.9). A dry run writes nothing (and takes
/// no lock); otherwise
/// the output is replaced atomically ([`Queue::save`]) unless nothing changed and it is the
/// queue itself (so a second run leaves the file byte-identical).
///
/// # Errors
/// [`MaintainError::Lock`] when another run holds the lock (nothing read or written), queue
/// load/save errors, failures-directory read errors.
pub fn maintain_files(
    files: &MaintainFiles,
    steps: Steps,
    dry_run: bool,
    clock: &dyn Clock,
) -> Result<MaintainOutcome, MaintainError> {
    // A dry run writes nothing, not even the lock file.
    let _lock = if dry_run {
        None
    } else {
        Some(RunLock::acquire(&files.queue)?)
    };
    let mut queue = Queue::load(&files.queue)?;
    let log = FailureLog::read_dir(&files.failures_dir)?;
    let now = clock.now();
    let report = maintain(&mut queue, &log, steps, now);
    let output: &Path = files.output.as_deref().unwrap_or(&files.queue);
    let to_other_file = files.output.as_deref().is_some_and(|o| o != files.queue);
    let written = if !dry_run && (report.changed() || to_other_file) {
        queue.save(output, now)?;
        Some(output.to_owned())
    } else {
        None
    };
    Ok(MaintainOutcome { report, written })
}
