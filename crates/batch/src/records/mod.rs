//! What a run records: the [`Outcome`] of each candidate, failure records and their JSONL
//! files (spec §1.3.1), `batch-results.json` (§1.4), the Markdown summary (§1.6), and the
//! Go-compatible JSON and timestamp formatting every file shares ([`jsonfmt`],
//! [`timestamp`]). Everything here renders bytes; the run decides when and where they go.

pub(crate) mod failure;
pub mod failure_log;
pub mod jsonfmt;
pub(crate) mod outcome;
pub(crate) mod results;
pub(crate) mod summary;
pub mod timestamp;

#[cfg(test)]
pub(crate) use failure::safe_file_component;
pub use failure::{FailureFile, FailureRecord, failure_files};
pub use outcome::{Outcome, OutcomeKind};
pub use results::{BatchResults, EcosystemCounts, NotRunEntry};
pub use summary::render_summary;

#[cfg(test)]
mod tests;
