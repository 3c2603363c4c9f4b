//! Library of `batch-generate`, the orchestrator that turns tsuku's priority queue into
//! recipes. The folders follow the pipeline:
//!
//! - [`queue`]: the priority queue, its entries and their state transitions;
//! - [`control`]: `batch-control.json`, circuit breakers and the CI budget;
//! - [`select`]: which entries run this batch;
//! - [`run`]: the stages of the main job, plan → execute → report → persist, with journal,
//!   recovery and the run lock;
//! - [`runner`]: generator processes and the classification of their exits;
//! - [`records`]: outcomes, failure records, results, summary and their formats;
//! - [`shard`]: partition, fragments, merge, batch IDs and the preflight of sharded batches;
//! - [`maintain`]: queue maintenance between batches (mark-failures, requeue, reorder);
//! - [`dashboard`]: tsuku's pipeline `dashboard.json`, replacing its Go `queue-analytics`
//!   (issue #23);
//! - [`validate`]: platforms of the validation matrix and the results files (issue #13);
//! - [`gate`]: the `run_command` security gate over a recipe's parsed TOML (issue #13),
//!   applied before any platform installs a recipe and again by `aggregate`;
//! - [`aggregate`]: the security gate, constraints, failure records, metrics and PR text of
//!   the validation results (issue #13);
//! - [`sequence`]: [`sequence::MainRun`], the one composition of the stages that the binary's
//!   main run, its shards and the tests all run.
//!
//! Behaviour follows the reference spec of the Go tool (`tsuku-batch-spec.md`, cited as
//! "spec §N") except where a docstring names a deliberate fix.
#![warn(missing_docs)]

pub mod aggregate;
pub mod config;
pub mod control;
pub mod dashboard;
pub mod gate;
pub mod history;
mod join;
pub mod maintain;
pub mod queue;
pub mod records;
pub mod run;
pub mod runner;
pub mod select;
pub mod sequence;
pub mod shard;
pub mod validate;

/// The wall clock every stage takes as an argument (re-exported from `batch-base`, so callers
/// need not depend on it to pass one).
pub use batch_base::clock;
pub use config::{Config, NetworkRetry, RateLimit};
pub use queue::{Queue, QueueEntry, Status};
