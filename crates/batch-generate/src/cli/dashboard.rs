//! Arguments of `dashboard` (issue #23, replacing tsuku's `cmd/queue-analytics`): the same
//! flags and defaults as the Go tool's `main.go`.

use std::path::PathBuf;

use clap::Args;

use super::common::JsonArgs;

/// Flags of `dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// The unified priority queue.
    #[arg(
        long,
        env = "BATCH_QUEUE",
        value_name = "PATH",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Directory of the failure records (`*.jsonl`, both formats); missing means none.
    #[arg(
        long,
        env = "BATCH_FAILURES_DIR",
        value_name = "DIR",
        default_value = "data/failures"
    )]
    pub failures_dir: PathBuf,

    /// Directory of the metrics records (`batch-runs*.jsonl`, both shapes); missing means
    /// none.
    #[arg(
        long,
        env = "BATCH_METRICS_DIR",
        value_name = "DIR",
        default_value = "data/metrics"
    )]
    pub metrics_dir: PathBuf,

    /// Directory of the disambiguation records (`*.jsonl`, such as `curated.jsonl`); missing
    /// means none.
    #[arg(long, value_name = "DIR", default_value = "data/disambiguations")]
    pub disambiguations_dir: PathBuf,

    /// batch-control.json, for the circuit breakers; missing means no breakers.
    #[arg(
        long,
        env = "BATCH_CONTROL_FILE",
        value_name = "PATH",
        default_value = "batch-control.json"
    )]
    pub control_file: PathBuf,

    /// Where to write dashboard.json (replaced atomically; parent directories created).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "website/pipeline/dashboard.json"
    )]
    pub output: PathBuf,

    /// `--json`: a short summary instead of the one-line text.
    #[command(flatten)]
    pub report: JsonArgs,
}

impl DashboardArgs {
    /// The library's input paths.
    pub fn sources(&self) -> batch::dashboard::Sources {
        batch::dashboard::Sources {
            queue: self.queue.clone(),
            failures_dir: self.failures_dir.clone(),
            metrics_dir: self.metrics_dir.clone(),
            disambiguations_dir: self.disambiguations_dir.clone(),
            control_file: self.control_file.clone(),
        }
    }
}
