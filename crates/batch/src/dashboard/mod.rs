//! `dashboard.json` for tsuku's pipeline pages (issue #23), replacing tsuku's Go
//! `cmd/queue-analytics` (`internal/dashboard`): the queue's totals and packages, the top
//! blockers, failure counts and the newest failures, breakers and runs from the metrics, the
//! disambiguation decisions and the curated entries, with Go's keys, key order, list orders,
//! limits and omissions. Each module cites the Go function its rules come from; the
//! deliberate differences are listed in the README ("Differences from the Go tool").
//!
//! [`model`] is the output, `build()` makes it from in-memory inputs, `load` reads them from
//! disk with the project's readers (queue, failure lines, metrics, control file).

pub(crate) mod blockers;
pub(crate) mod build;
pub(crate) mod details;
pub(crate) mod disambiguations;
pub(crate) mod failures;
pub(crate) mod load;
pub mod model;
pub(crate) mod queue;
pub(crate) mod runs;
pub(crate) mod wire;

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use build::{Inputs, build};
pub use load::{DashboardError, LoadReport, SkippedFile, Sources, failure_timeline, generate};
pub use model::Dashboard;
