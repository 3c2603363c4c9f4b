//! Arguments of `preflight` (issue #6).

use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;

use super::common::{FileArgs, JsonArgs, SelectionArgs};

/// Flags of `preflight`.
#[derive(Debug, Args)]
pub struct PreflightArgs {
    /// Files read.
    #[command(flatten)]
    pub files: FileArgs,
    /// Which entries the batch would run.
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Number of shards the generate job is split into (the matrix size).
    #[arg(long, env = "BATCH_SHARDS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=256), help_heading = "Preflight")]
    pub shards: u32,

    /// Directory of merge-job metrics (`batch-runs-*.jsonl`), searched for earlier batch IDs.
    #[arg(
        long,
        env = "BATCH_METRICS_DIR",
        default_value = "data/metrics",
        help_heading = "Preflight"
    )]
    pub metrics_dir: PathBuf,

    /// Weekly macOS CI minutes (the control file's `budget.macos_minutes_used` is counted
    /// against it).
    #[arg(
        long,
        env = "BATCH_BUDGET_MACOS_MINUTES",
        default_value_t = 1000,
        help_heading = "Preflight"
    )]
    pub budget_macos_minutes: u64,

    /// Weekly Linux CI minutes (against `budget.linux_minutes_used`).
    #[arg(
        long,
        env = "BATCH_BUDGET_LINUX_MINUTES",
        default_value_t = 5000,
        help_heading = "Preflight"
    )]
    pub budget_linux_minutes: u64,

    /// Fraction of a weekly budget above which validation is sampled.
    #[arg(
        long,
        env = "BATCH_BUDGET_SAMPLE_ABOVE",
        default_value_t = 0.80,
        help_heading = "Preflight"
    )]
    pub budget_sample_above: f64,

    /// Fraction of a weekly budget above which the batch is skipped.
    #[arg(
        long,
        env = "BATCH_BUDGET_SKIP_ABOVE",
        default_value_t = 0.95,
        help_heading = "Preflight"
    )]
    pub budget_skip_above: f64,

    /// Batch IDs already taken elsewhere (e.g. the `batch/<id>` branches of open pull
    /// requests); repeatable or comma-separated. Added to the results and metrics history.
    #[arg(
        long = "used-batch-id",
        env = "BATCH_USED_BATCH_IDS",
        value_name = "ID",
        value_delimiter = ',',
        help_heading = "Preflight"
    )]
    pub used_batch_ids: Vec<String>,

    /// Plan and print, but take no lock and write nothing (not even the breakers due to turn
    /// half-open); `$GITHUB_OUTPUT` still gets the plan.
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Preflight")]
    pub dry_run: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}
