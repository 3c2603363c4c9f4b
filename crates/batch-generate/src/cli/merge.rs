//! Arguments of `merge` (issue #6).

use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;

use super::common::{BreakerArgs, FileArgs, JsonArgs};
use super::parse::parse_batch_id;

/// Flags of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Files written (the same as the main job's).
    #[command(flatten)]
    pub files: FileArgs,
    /// Breaker policy of the batch-level update.
    #[command(flatten)]
    pub breaker: BreakerArgs,

    /// Directory holding the fragment files (`<batch_id>-shard-<K>-of-<N>.json`); other files
    /// in it are ignored.
    #[arg(
        long,
        env = "BATCH_FRAGMENT_DIR",
        value_name = "DIR",
        help_heading = "Merge"
    )]
    pub fragments: PathBuf,

    /// Merge this batch's fragments only [default: the directory must hold one batch].
    #[arg(long, env = "BATCH_BATCH_ID", value_parser = parse_batch_id, help_heading = "Merge")]
    pub batch_id: Option<String>,

    /// Merge even when shards with candidates have no fragment; their entries stay unchanged.
    #[arg(long, help_heading = "Merge")]
    pub allow_missing: bool,

    /// Print GitHub Actions annotations on stderr: `::warning` per failed entry, `::error`
    /// per circuit breaker that opened [default: on when GITHUB_ACTIONS=true].
    #[arg(long, env = "GITHUB_ACTIONS", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Merge")]
    pub annotations: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}
