//! Sharded batches (issue #6): the `partition` of a selection into shards (each ecosystem
//! dealt round-robin), the [`fragment`] file each shard writes, the [`merge`](mod@merge) that
//! consolidates a batch's fragments into the files an unsharded run writes, unique
//! `batchid`s, and the nightly `preflight` that plans a sharded batch.

pub(crate) mod batchid;
pub mod fragment;
pub mod merge;
pub(crate) mod partition;
pub(crate) mod preflight;
pub(crate) mod set;
pub(crate) mod settings;

pub use fragment::{Fragment, FragmentError, InvalidBatchId, NotRunLine, ShardRun};
#[cfg(test)]
pub(crate) use merge::merge_fragments;
pub use merge::{MergeError, MergeReport, MergeStatus, merge_under_lock};
pub use partition::{Shard, ShardError, ShardPlan, assign, shard_of, split};
pub use preflight::{BatchPlan, PlannedEntry, PreflightOptions, plan_batch};
pub use set::FragmentSet;
pub use settings::ShardSettings;
