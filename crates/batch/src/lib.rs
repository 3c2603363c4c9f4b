//! Library of `batch-generate`, the orchestrator that turns tsuku's priority queue into
//! recipes. The folders follow the pipeline:
//!
//! - [`queue`]: the priority queue, its entries and their state transitions;
//! - [`control`]: `batch-control.json`, circuit breakers and the CI budget;
//! - [`select`]: which entries run this batch;
//! - [`run`]: the main job, plan → execute → report → persist, with journal, recovery and
//!   the run lock, composed once by [`run::MainRun`];
//! - [`runner`]: generator processes and the classification of their exits;
//! - [`records`]: outcomes, failure records, results, summary and their formats;
//! - [`shard`]: partition, fragments, merge and batch IDs of sharded batches.
//!
//! Behaviour follows the reference spec of the Go tool (`tsuku-batch-spec.md`, cited as
//! "spec §N") except where a docstring names a deliberate fix.
#![warn(missing_docs)]

pub mod config;
pub mod control;
pub mod queue;
pub mod records;
pub mod run;
pub mod runner;
pub mod select;
pub mod shard;

/// The wall clock every stage takes as an argument (re-exported from `batch-base`, so callers
/// need not depend on it to pass one).
pub use batch_base::clock;
pub use config::{Config, RateLimit, RetryPolicy};
pub use queue::{Queue, QueueEntry, Status};
