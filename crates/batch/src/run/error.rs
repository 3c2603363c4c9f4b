//! [`RunError`]: what stops a run. Failed entries are data, never errors.

use std::path::PathBuf;

use crate::control::ControlError;
use crate::queue::QueueError;
use crate::run::journal::JournalError;
use crate::run::lock::LockError;

/// Errors that stop a run. Failed entries are data, never errors.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The queue could not be read, parsed or written.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The control file could not be read, parsed or written.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The run journal could not be written or read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Another output file could not be written.
    #[error("failed to write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The run lock could not be taken: another run holds it ([`LockError::Held`]) or the
    /// lock file could not be created.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Strict mode (issue #4) and the queue has invalid entries; nothing was run or written.
    #[error(
        "queue `{queue}` has {count} invalid entr{}; the first is entry {index} ({name:?}): {problems}",
        if *count == 1 { "y" } else { "ies" }
    )]
    InvalidEntries {
        /// The queue file.
        queue: PathBuf,
        /// How many entries are invalid.
        count: usize,
        /// Queue index of the first.
        index: usize,
        /// Its name.
        name: String,
        /// Its problems, joined by `; `.
        problems: String,
    },
    /// `--name` named entries that cannot run as asked (issue #12); nothing was run.
    #[error("--name selects nothing for {}", names.iter().map(|(n, why)| format!("{n:?} ({why})")).collect::<Vec<_>>().join(", "))]
    NamedEntries {
        /// Each name and why it selects nothing.
        names: Vec<(String, String)>,
    },
    /// The generator is needed but cannot be found or run; nothing was run.
    #[error("generator `{path}` not found or not executable")]
    GeneratorNotFound {
        /// The configured generator.
        path: PathBuf,
    },
    /// A shard's fragment could not be written into its directory.
    #[error("failed to write the fragment into `{dir}`")]
    Fragment {
        /// The fragment directory.
        dir: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// Whether the error is a mistake in how the run was asked for (exit 2 at the binary
    /// edge) rather than bad input files.
    pub fn is_usage(&self) -> bool {
        matches!(self, RunError::NamedEntries { .. })
    }

    /// Whether this is another run holding the queue's lock (exit 3 at the binary edge).
    pub fn is_lock_held(&self) -> bool {
        matches!(self, RunError::Lock(LockError::Held { .. }))
    }
}
