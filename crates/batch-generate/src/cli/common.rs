//! Argument groups several subcommands share: the files, the selection, the breaker policy
//! and `--json`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use batch::Config;
use batch::control::breaker::BreakerPolicy;
use batch::queue::MissingQueue;
use clap::Args;
use clap::builder::BoolishValueParser;

use super::parse::parse_duration;

/// Files read and written.
#[derive(Debug, Args)]
#[command(next_help_heading = "Files")]
pub struct FileArgs {
    /// Unified priority queue (read, then rewritten). Go spelling: -queue.
    #[arg(
        long,
        env = "BATCH_QUEUE",
        default_value = "data/queues/priority-queue.json"
    )]
    pub queue: PathBuf,

    /// Start a new, empty queue when the --queue file does not exist (it is created by the
    /// run's save). Without it a missing queue is an error (exit 1, nothing created), so a
    /// misspelt path cannot run an empty batch.
    #[arg(long, env = "BATCH_INIT_QUEUE", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub init_queue: bool,

    /// Control file with the kill switch and circuit breakers. Go spelling: -control-file.
    #[arg(long, env = "BATCH_CONTROL_FILE", default_value = "batch-control.json")]
    pub control_file: PathBuf,

    /// Root of generated recipes (<dir>/<letter>/<name>.toml). Go spelling: -output-dir.
    #[arg(long, env = "BATCH_OUTPUT_DIR", default_value = "recipes")]
    pub output_dir: PathBuf,

    /// Directory for failure records (<eco>-<timestamp>.jsonl). Go spelling: -failures-dir.
    #[arg(long, env = "BATCH_FAILURES_DIR", default_value = "data/failures")]
    pub failures_dir: PathBuf,

    /// batch-results.json path [default: batch-results.json beside the queue].
    #[arg(long, env = "BATCH_RESULTS")]
    pub results: Option<PathBuf>,

    /// Markdown summary path [default: <output-dir>/../data/batch-summary.md].
    #[arg(long, env = "BATCH_SUMMARY")]
    pub summary: Option<PathBuf>,
}

/// Which entries run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Selection")]
pub struct SelectionArgs {
    /// Maximum entries processed, half-open probes included. Go spelling: -batch-size.
    #[arg(long, env = "BATCH_BATCH_SIZE", default_value_t = 25)]
    pub batch_size: usize,

    /// Highest priority selected normally (1 critical, 2 popular, 3 all); probes ignore it.
    /// Go spelling: -tier.
    #[arg(long, env = "BATCH_TIER", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=3))]
    pub tier: u32,

    /// Refuse to run (exit 1, nothing written) when the queue has invalid entries, instead of
    /// skipping and reporting them.
    #[arg(long, env = "BATCH_STRICT", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub strict: bool,

    /// Only these ecosystems (repeatable or comma-separated; empty = all). Go spelling:
    /// -filter-ecosystem.
    #[arg(
        long = "ecosystem",
        alias = "filter-ecosystem",
        env = "BATCH_ECOSYSTEM",
        value_name = "ECO",
        value_delimiter = ','
    )]
    pub ecosystems: Vec<String>,
}

/// Circuit-breaker policy flags.
#[derive(Debug, Args)]
pub struct BreakerArgs {
    /// Consecutive all-failed batches that open an ecosystem's circuit breaker.
    #[arg(long, env = "BATCH_BREAKER_THRESHOLD", default_value_t = 5, value_parser = clap::value_parser!(i64).range(1..))]
    pub breaker_threshold: i64,

    /// Time an open breaker waits before its half-open probe.
    #[arg(long, env = "BATCH_BREAKER_RECOVERY", default_value = "60m", value_parser = parse_duration)]
    pub breaker_recovery: Duration,
}

impl BreakerArgs {
    /// The policy these flags describe.
    pub fn policy(&self) -> BreakerPolicy {
        BreakerPolicy {
            failure_threshold: self.breaker_threshold,
            recovery: self.breaker_recovery,
        }
    }
}

/// `--json`, shared by every command that prints a report.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonArgs {
    /// Print one JSON document on stdout instead of the text report.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub json: bool,
}

impl FileArgs {
    /// Sets the file paths of `c`, with the defaults that depend on other paths.
    pub fn apply(&self, c: &mut Config) {
        c.queue = self.queue.clone();
        c.missing_queue = if self.init_queue {
            MissingQueue::Empty
        } else {
            MissingQueue::Error
        };
        c.control_file = self.control_file.clone();
        c.output_dir = self.output_dir.clone();
        c.failures_dir = self.failures_dir.clone();
        c.results = self
            .results
            .clone()
            .unwrap_or_else(|| batch::config::default_results_path(&self.queue));
        c.summary = self
            .summary
            .clone()
            .unwrap_or_else(|| batch::config::default_summary_path(&self.output_dir));
    }
}

impl SelectionArgs {
    /// Sets batch size, tier and ecosystem filter of `c`.
    pub fn apply(&self, c: &mut Config) {
        c.select.batch_size = self.batch_size;
        c.select.tier = i64::from(self.tier);
        // An empty value means "no filter", as Go's -filter-ecosystem "".
        c.select.ecosystems = self
            .ecosystems
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect::<BTreeSet<_>>();
    }
}
