//! The batches' history (issue #14): the metrics records of every merge run (`metrics`),
//! the operators' report over them ([`report`], replacing `batch-metrics.sh`, spec §7.8), and
//! the rollback plan of one batch ([`rollback`], replacing `rollback-batch.sh`) with its
//! optional `git log` lookup ([`git`]).

pub mod failures;
pub mod git;
pub(crate) mod metrics;
pub mod report;
pub mod rollback;

#[cfg(test)]
mod tests;

pub use failures::FailureTimeline;
pub use metrics::{BadFile, History, HistoryError, MetricsRecord, PlatformCounts, Shape, read_dir};
pub use report::{Filter, FilterError, Report, build, select};
pub use rollback::{RollbackError, RollbackPlan, RollbackSources, plan};
