//! Arguments of `aggregate` (issue #13): the validation results of a batch → security gate,
//! include/constrain/exclude, constraints, failure records, metrics and PR text.

use std::path::PathBuf;

use batch::records::timestamp::Rfc3339;
use clap::Args;
use clap::builder::BoolishValueParser;

use super::common::{FileArgs, JsonArgs};
use super::parse::parse_batch_id;

/// Flags of `aggregate`.
#[derive(Debug, Args)]
#[command(
    mut_arg("init_queue", |a| a.hide(true)),
    mut_arg("control_file", |a| a.hide(true)),
    mut_arg("results", |a| a.hide(true)),
    mut_arg("summary", |a| a.hide(true))
)]
pub struct AggregateArgs {
    /// Files read and written: `--queue`, `--output-dir` (the recipes), `--failures-dir`
    /// (per-recipe failure records). The main job's other file flags (`--init-queue`,
    /// `--control-file`, `--results`, `--summary`) are accepted for scripts that pass the
    /// same set everywhere, unused, and hidden from `--help`.
    #[command(flatten)]
    pub files: FileArgs,

    /// Directory holding the `validation-results-*.json` files of the validation jobs (and of
    /// the generation environment's `--validation-out`); other files are ignored.
    #[arg(
        long,
        env = "BATCH_VALIDATION_DIR",
        value_name = "DIR",
        help_heading = "Aggregate"
    )]
    pub validation: PathBuf,

    /// The batch: every result row must carry this batch ID.
    #[arg(long, env = "BATCH_BATCH_ID", value_parser = parse_batch_id, help_heading = "Aggregate")]
    pub batch_id: String,

    /// The batch's plan time (preflight's `planned_at`): the stamp of the failure and
    /// metrics file names, and the start of the metrics' `duration_seconds`.
    #[arg(
        long,
        env = "BATCH_PLANNED_AT",
        value_name = "RFC3339",
        help_heading = "Aggregate"
    )]
    pub planned_at: Rfc3339,

    /// Directory of the metrics record (`batch-runs-<plan stamp>.jsonl`).
    #[arg(
        long,
        env = "BATCH_METRICS_DIR",
        value_name = "DIR",
        default_value = "data/metrics",
        help_heading = "Aggregate"
    )]
    pub metrics_dir: PathBuf,

    /// Directory for `pr-title.txt`, `pr-body.md` and `commit-message.txt`.
    #[arg(
        long,
        env = "BATCH_PR_DIR",
        value_name = "DIR",
        help_heading = "Aggregate"
    )]
    pub pr_dir: PathBuf,

    /// Decide and report, write nothing (no recipe, queue, record, metrics, PR file or
    /// $GITHUB_OUTPUT line).
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Aggregate")]
    pub dry_run: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl AggregateArgs {
    /// The library's options.
    pub fn options(&self) -> batch::aggregate::Options {
        batch::aggregate::Options {
            validation_dir: self.validation.clone(),
            queue: self.files.queue.clone(),
            output_dir: self.files.output_dir.clone(),
            failures_dir: self.files.failures_dir.clone(),
            metrics_dir: self.metrics_dir.clone(),
            pr_dir: self.pr_dir.clone(),
            batch_id: self.batch_id.clone(),
            planned_at: self.planned_at.instant(),
        }
    }
}
