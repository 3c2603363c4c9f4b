//! Library of `batch-generate`, the orchestrator that turns tsuku's priority queue into
//! recipes: queue model and candidate selection, circuit breakers read from and written back
//! to `batch-control.json`, per-ecosystem rate limits, the generator runner, failure
//! classification, failure records and queue transitions.
//!
//! Behaviour follows the reference spec of the Go tool (`tsuku-batch-spec.md`, cited as
//! "spec §N") except where a docstring names a deliberate fix.
#![warn(missing_docs)]

pub mod batchid;
pub mod breaker;
pub mod budget;
pub mod classify;
pub mod clock;
pub mod config;
pub mod control;
pub mod fragment;
pub mod fsutil;
pub mod journal;
pub mod jsonfmt;
pub mod lock;
pub mod merge;
pub mod queue;
pub mod ratelimit;
pub mod record;
pub mod run;
pub mod runner;
pub mod select;
pub mod shard;
pub mod timestamp;
pub mod transition;

pub use config::{Config, RateLimit, RetryPolicy};
pub use queue::{Queue, QueueEntry, Status};
