//! Arguments of `queue` and its subcommand `maintain` (spec §4.9, issue #14).

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};

use super::common::JsonArgs;

/// `queue` and its subcommands.
#[derive(Debug, Args)]
pub struct QueueCmdArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: QueueCommand,
}

/// Subcommands of `queue`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Between batches: mark entries with new failure records failed or blocked (and failed
    /// entries whose retry time passed pending), requeue blocked entries whose dependencies
    /// succeeded, and reorder by priority and blocking score, under the queue's lock.
    /// Idempotent; tsuku's `queue-maintain` single-dash flags work too.
    Maintain(MaintainArgs),
}

/// Flags of `queue maintain`.
#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// The priority queue (read, locked, and written unless --output or --dry-run).
    #[arg(
        long,
        env = "BATCH_QUEUE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Directory of failure records (`*.jsonl`, both formats; no recursion).
    #[arg(long, env = "BATCH_FAILURES_DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

    /// Write the maintained queue here instead of over --queue.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Compute and report the changes; write nothing.
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,

    /// Skip the mark-failures step.
    #[arg(long, help_heading = "Steps")]
    pub skip_mark_failures: bool,

    /// Skip the requeue step.
    #[arg(long, help_heading = "Steps")]
    pub skip_requeue: bool,

    /// Skip the reorder step.
    #[arg(long, help_heading = "Steps")]
    pub skip_reorder: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl MaintainArgs {
    /// The steps that run.
    pub fn steps(&self) -> batch::maintain::Steps {
        batch::maintain::Steps {
            mark_failures: !self.skip_mark_failures,
            requeue: !self.skip_requeue,
            reorder: !self.skip_reorder,
        }
    }
}
