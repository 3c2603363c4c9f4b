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
    /// A setting names an ecosystem that no queue entry has and tsuku does not know
    /// ([`crate::queue::ecosystem::KNOWN_ECOSYSTEMS`]), most likely a typo (issue #12); a usage
    /// error, found while planning, so nothing was run or written.
    #[error(
        "unknown ecosystem `{ecosystem}` in {setting}: no entry of queue `{queue}` has it and tsuku does not know it; the queue's ecosystems are: {}",
        if queue_ecosystems.is_empty() { "(none)".to_owned() } else { queue_ecosystems.join(", ") }
    )]
    UnknownEcosystem {
        /// Which setting names it.
        setting: EcosystemSetting,
        /// The ecosystem as given.
        ecosystem: String,
        /// The queue file.
        queue: PathBuf,
        /// The ecosystems the queue's entries have, sorted.
        queue_ecosystems: Vec<String>,
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

/// A setting of [`crate::Config`] that names ecosystems, for [`RunError::UnknownEcosystem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcosystemSetting {
    /// `select.ecosystems` (`--ecosystem`).
    Filter,
    /// A key of `rate_limit.per_ecosystem` (`--rate-limit ECO=DURATION`).
    RateLimit,
    /// A key of `max_in_flight` (`--max-in-flight ECO=N`, issue #15).
    MaxInFlight,
}

impl std::fmt::Display for EcosystemSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Filter => "the ecosystem filter (--ecosystem)",
            Self::RateLimit => "the rate limits (--rate-limit)",
            Self::MaxInFlight => "the in-flight caps (--max-in-flight)",
        })
    }
}

impl RunError {
    /// Whether this is a mistake in how the run was asked for rather than in its files
    /// (exit 2 at the binary edge): an unknown ecosystem in a setting, or `--name` naming
    /// entries that cannot run.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            RunError::UnknownEcosystem { .. } | RunError::NamedEntries { .. }
        )
    }

    /// Whether this is another run holding the queue's lock (exit 3 at the binary edge).
    pub fn is_lock_held(&self) -> bool {
        matches!(self, RunError::Lock(LockError::Held { .. }))
    }
}
