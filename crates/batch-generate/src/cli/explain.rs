//! Arguments of `explain` (issue #23): the entries to explain, the files the main run reads,
//! and the main run's selection flags ([`SelectionArgs`], the same flags, defaults and
//! environment variables), so the answer is about the run those flags describe.

use std::path::PathBuf;

use clap::Args;
use clap::builder::BoolishValueParser;

use super::common::{JsonArgs, SelectionArgs};
use super::parse::parse_timestamp;

/// Flags of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The entries to explain: each a queue entry's name (`jq`, `owner/tap/tool`) or source
    /// (`homebrew:jq`). An argument that names no entry is a usage error (exit 2) that lists
    /// the closest names.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,

    /// The files the run reads.
    #[command(flatten)]
    pub files: ExplainFileArgs,

    /// The run's selection flags.
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// As the main run's --retry-failed: only failed entries, their backoff ignored.
    #[arg(long, env = "BATCH_RETRY_FAILED", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Selection")]
    pub retry_failed: bool,

    /// Number of shards the batch is split into (as `preflight --shards`): shows the shard a
    /// selected entry is dealt to.
    #[arg(long, env = "BATCH_SHARDS", value_parser = clap::value_parser!(u32).range(1..=256), help_heading = "Selection")]
    pub shards: Option<u32>,

    /// Failure records shown per entry (the newest).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub failures: usize,

    /// The instant the next run plans at (RFC 3339) instead of now, e.g. `preflight`'s
    /// planned_at.
    #[arg(long, env = "BATCH_NOW", value_parser = parse_timestamp)]
    pub now: Option<jiff::Timestamp>,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,
}

/// The files `explain` reads, with the main run's flag names and defaults.
#[derive(Debug, Args)]
#[command(next_help_heading = "Files")]
pub struct ExplainFileArgs {
    /// Unified priority queue (read only).
    #[arg(
        long,
        env = "BATCH_QUEUE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Control file with the kill switch and circuit breakers (read only; a missing one is
    /// "enabled, all closed").
    #[arg(long, env = "BATCH_CONTROL_FILE", default_value = "batch-control.json")]
    pub control_file: PathBuf,

    /// Directory of failure records (`*.jsonl`, both formats): blockers and the last
    /// failures; a missing one means none.
    #[arg(long, env = "BATCH_FAILURES_DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

    /// Root of the recipes (<dir>/<letter>/<name>.toml): whether the recipe is on disk.
    #[arg(long, env = "BATCH_OUTPUT_DIR", default_value = "recipes")]
    pub output_dir: PathBuf,
}
