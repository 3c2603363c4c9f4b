//! [`RunError`]: what stops a run. Failed entries are data, never errors.

use std::path::PathBuf;

use crate::control::ControlError;
use crate::lock::LockError;
use crate::queue::QueueError;
use crate::run::journal::JournalError;

/// Errors that stop a run. Failed entries are data, never errors.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The queue could not be read, parsed or written.
    #[error("cannot use the queue file")]
    Queue(#[from] QueueError),
    /// The control file could not be read, parsed or written.
    #[error("cannot use the control file")]
    Control(#[from] ControlError),
    /// The run journal could not be written or read.
    #[error("cannot use the run journal")]
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
    #[error("cannot take the run lock")]
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
    /// `--name` named entries that cannot run as asked (issue #12); a usage error, nothing
    /// was run.
    #[error("cannot plan the run")]
    NamedEntries(#[from] NamedEntries),
    /// A setting names an ecosystem that no queue entry has and tsuku does not know (issue
    /// #12); a usage error, found while planning, so nothing was run or written.
    #[error("cannot plan the run")]
    UnknownEcosystem(#[from] UnknownEcosystem),
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

/// `--name` named entries that select nothing (issue #12): a mistake in how the run was asked
/// for (the binary's usage exit).
#[derive(Debug, thiserror::Error)]
#[error("--name selects nothing for {}", names.iter().map(|(n, why)| format!("{n:?} ({why})")).collect::<Vec<_>>().join(", "))]
pub struct NamedEntries {
    /// Each name and why it selects nothing.
    pub names: Vec<(String, String)>,
}

/// A setting names an ecosystem that no queue entry has and tsuku does not know
/// ([`crate::queue::ecosystem::KNOWN_ECOSYSTEMS`]), most likely a typo (issue #12): a mistake in
/// how the run was asked for (the binary's usage exit).
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown ecosystem `{ecosystem}` in {setting}: no entry of queue `{queue}` has it and tsuku does not know it; the queue's ecosystems are: {}",
    if queue_ecosystems.is_empty() { "(none)".to_owned() } else { queue_ecosystems.join(", ") }
)]
pub struct UnknownEcosystem {
    /// Which setting names it.
    pub setting: EcosystemSetting,
    /// The ecosystem as given.
    pub ecosystem: String,
    /// The queue file.
    pub queue: PathBuf,
    /// The ecosystems the queue's entries have, sorted.
    pub queue_ecosystems: Vec<String>,
}

/// A setting of [`crate::Config`] that names ecosystems, for [`UnknownEcosystem`].
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
