//! Arguments of `queue` and its subcommands `maintain` (spec §4.9), `reconcile` (spec §7.6)
//! and `status` (issue #14).

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};

use super::common::JsonArgs;
use super::parse::parse_timestamp;

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
    /// Mark entries whose recipe exists under --recipes `success` (all but `success` and
    /// `excluded` ones), and `curated` when the recipe's source differs from the entry's;
    /// under the queue's lock, idempotent. Replaces tsuku's update-queue-status sync.
    Reconcile(ReconcileArgs),
    /// Show the queue: counts per ecosystem and status, retries due now and within 24 h, the
    /// top blockers, the circuit breakers with their next probe, the kill switch, and how
    /// many entries the next batch would select at the default settings. Writes nothing.
    Status(StatusArgs),
}

/// The queue a step rewrites, shared by `queue maintain` and `queue reconcile`.
#[derive(Debug, Args)]
pub struct QueueWriteArgs {
    /// The priority queue (read, locked, and written unless --output or --dry-run).
    #[arg(
        long,
        env = "BATCH_QUEUE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Write the queue here instead of over --queue.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Compute and report the changes; write nothing.
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,
}

/// Flags of `queue reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The queue, where to write it, and --dry-run.
    #[command(flatten)]
    pub target: QueueWriteArgs,

    /// Root of the recipes: <dir>/<first letter>/<name>.toml, nested for tap names
    /// (<dir>/a/owner/tap/tool.toml).
    #[arg(long, value_name = "DIR", default_value = "recipes")]
    pub recipes: PathBuf,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// Flags of `queue status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The priority queue (read only).
    #[arg(
        long,
        env = "BATCH_QUEUE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Control file with the kill switch and circuit breakers (read only; a missing one is
    /// "enabled, all closed").
    #[arg(
        long,
        alias = "control",
        env = "BATCH_CONTROL_FILE",
        default_value = "batch-control.json"
    )]
    pub control_file: PathBuf,

    /// Directory of failure records (`*.jsonl`), for the blocking scores; a missing one
    /// means no blockers.
    #[arg(long, env = "BATCH_FAILURES_DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

    /// Only this ecosystem (counts, retries, blockers, breakers, next batch).
    #[arg(long, value_name = "ECO")]
    pub ecosystem: Option<String>,

    /// The instant to compute the status at (RFC 3339) instead of now; for tests.
    #[arg(long, hide = true, env = "BATCH_NOW", value_parser = parse_timestamp)]
    pub now: Option<jiff::Timestamp>,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// Flags of `queue maintain`.
#[derive(Debug, Args)]
pub struct MaintainArgs {
    /// The queue, where to write it, and --dry-run.
    #[command(flatten)]
    pub target: QueueWriteArgs,

    /// Directory of failure records (`*.jsonl`, both formats; no recursion).
    #[arg(long, env = "BATCH_FAILURES_DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

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
