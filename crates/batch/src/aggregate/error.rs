//! Errors of `aggregate` (issue #13: bad input gets a clear error and nothing is written).

use std::io;
use std::path::PathBuf;

use super::insert::InsertError;
use crate::lock::LockError;
use crate::queue::QueueError;
use crate::validate::ResultsError;

/// Why `aggregate` stopped. Every variant but [`AggregateError::Write`] and
/// [`AggregateError::Delete`] is raised while planning, before anything is written.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    /// The validation directory could not be listed.
    #[error("failed to list the validation directory `{path}`")]
    ListDir {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The directory holds no `validation-results-*.json` file.
    #[error("no validation-results-*.json file in `{path}`")]
    NoResults {
        /// The directory.
        path: PathBuf,
    },
    /// A results file is not JSON or not an array of rows.
    #[error("cannot use a validation results file")]
    Results(#[from] ResultsError),
    /// A row's `batch_id` is not `--batch-id`.
    #[error("{file}: row {row} belongs to batch {found:?}, not {expected:?}")]
    OtherBatch {
        /// The results file.
        file: PathBuf,
        /// 1-based row number.
        row: usize,
        /// The row's batch ID.
        found: String,
        /// `--batch-id`.
        expected: String,
    },
    /// A row's recipe is not one of the batch's recipes (the generation rows).
    #[error("{file}: row {row} names recipe {recipe:?} ({path}), which is not in the batch")]
    NotInBatch {
        /// The results file.
        file: PathBuf,
        /// 1-based row number.
        row: usize,
        /// The recipe name.
        recipe: String,
        /// The row's path.
        path: String,
    },
    /// A row's `path` is not a safe relative path ending in `<recipe>.toml`.
    #[error("{file}: row {row}: recipe path {path:?} is refused: {why}")]
    BadPath {
        /// The results file.
        file: PathBuf,
        /// 1-based row number.
        row: usize,
        /// The row's path.
        path: String,
        /// Which rule it broke.
        why: &'static str,
    },
    /// No queue entry's recipe path is the row's path.
    #[error("recipe {recipe:?} ({path}) has no queue entry in `{queue}`")]
    NotInQueue {
        /// The recipe name.
        recipe: String,
        /// Its path under the output directory.
        path: String,
        /// The queue file.
        queue: PathBuf,
    },
    /// The recipe path, or a directory on the way to it, is a symlink or not a regular file.
    #[error("`{path}` is a symlink or not a regular file; aggregate does not follow it")]
    NotARegularFile {
        /// The offending path.
        path: PathBuf,
    },
    /// The recipe file does not exist, its queue entry is not `excluded` and its validation
    /// rows do not exclude it: no earlier aggregate removed it.
    #[error(
        "recipe `{path}` does not exist, its queue entry is `{status}` and its validation rows \
         do not exclude it (only an earlier aggregate of this batch removes recipes)"
    )]
    RecipeMissing {
        /// The recipe path.
        path: PathBuf,
        /// The entry's status.
        status: String,
    },
    /// A recipe file could not be read.
    #[error("failed to read recipe `{path}`")]
    ReadRecipe {
        /// The recipe path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The queue could not be read or written.
    #[error("cannot use the queue file")]
    Queue(#[from] QueueError),
    /// Another run holds the queue's lock ([`LockError::Held`], the binary's exit 3; nothing
    /// read or written), or it could not be taken.
    #[error("cannot take the run lock")]
    Lock(#[from] LockError),
    /// The constraint could not be inserted (e.g. `metadata` is not a table).
    #[error("cannot write the constraint into `{path}`")]
    Insert {
        /// The recipe path.
        path: PathBuf,
        /// Why.
        #[source]
        source: InsertError,
    },
    /// A file could not be written (apply step).
    #[error("failed to write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// An excluded recipe could not be deleted (apply step).
    #[error("failed to delete `{path}`")]
    Delete {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The aggregate journal (issue #22) could not be read.
    #[error("failed to read the aggregate journal `{path}`")]
    JournalRead {
        /// The journal.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The aggregate journal is not one this version wrote (or was damaged).
    #[error("the aggregate journal `{path}` cannot be used")]
    JournalCorrupt {
        /// The journal.
        path: PathBuf,
        /// Why, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The aggregate journal was left by an interrupted `aggregate` of another batch.
    #[error(
        "the aggregate journal `{path}` was left by an interrupted aggregate of batch \
         {batch_id:?} planned at {planned_at}"
    )]
    JournalOtherBatch {
        /// The journal.
        path: PathBuf,
        /// Its batch ID.
        batch_id: String,
        /// Its plan time.
        planned_at: String,
    },
    /// A queue entry the journal holds is no longer in the queue.
    #[error(
        "queue entry {name:?} ({package_id}) of the aggregate journal `{path}` is not in the queue"
    )]
    JournalEntryMissing {
        /// The journal.
        path: PathBuf,
        /// The entry's name.
        name: String,
        /// The entry's source.
        package_id: String,
    },
    /// A file the batch is about to change could not be read to journal it.
    #[error("failed to read `{path}` to journal it")]
    ReadBefore {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}
