//! Command-line interface (clap derive). Every run flag can also come from a `BATCH_<FLAG>`
//! environment variable; the flag wins. [`RunArgs::to_config`] turns the flags into the
//! library's [`batch::Config`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use batch::Config;
use batch::control::breaker::BreakerPolicy;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use crate::exit;

/// Concurrent, rate-limited batch recipe generation for tsuku's priority queue.
///
/// Selects candidates from the queue, runs `tsuku create` then `tsuku install` for each under
/// one rate limiter per ecosystem, and writes failure records, `batch-results.json`, a Markdown
/// summary, the updated queue and the updated circuit breakers.
#[derive(Debug, Parser)]
#[command(name = "batch-generate", version, after_help = exit::HELP, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Optional subcommand; without one the main job runs.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The main job's flags.
    #[command(flatten)]
    pub run: RunArgs,

    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = "Logging")]
    pub verbose: u8,

    /// Less log output (-q warnings only, -qq errors only); RUST_LOG overrides.
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose", help_heading = "Logging")]
    pub quiet: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the main job on the embedded demo queue with the fake generator, in a scratch
    /// directory (nothing in the current directory is touched).
    Demo(DemoArgs),
    /// Plan a nightly batch for GitHub Actions: kill switch, breakers due for a probe, weekly
    /// budget, a batch ID that never repeats, and the candidates of each shard. Writes
    /// `key=value` lines to `$GITHUB_OUTPUT` when set; writes only the control file (breakers
    /// moving to half-open).
    Preflight(Box<PreflightArgs>),
    /// Consolidate the fragments of a sharded batch (`--shard K/N` runs) into the queue, the
    /// failure files, batch-results.json, the circuit breakers and the summary. Idempotent and
    /// independent of fragment order; refuses fragments of another batch or starting queue.
    Merge(Box<MergeArgs>),
    /// Upload every file under DIR to the artifact store as sha256/<hex> objects, verify
    /// each by reading it back, then record logical path -> digest in manifest.json (by
    /// conditional PUT, retried when another publisher wins) or in a --fragment.
    Publish(Box<crate::store_cmd::PublishArgs>),
    /// Download logical paths from the artifact store through a verified, size-bounded
    /// cache; refuses corrupt data; uses the cache (with a warning) when the store is down.
    Fetch(Box<crate::store_cmd::FetchArgs>),
    /// Artifact store maintenance: `health`, `consolidate`, `gc`.
    Store(crate::store_cmd::StoreCmdArgs),
}

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

    /// Print one JSON document on stdout instead of the text report.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Merge")]
    pub json: bool,
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

/// Sharded runs for a GitHub Actions matrix (issue #6).
#[derive(Debug, Args)]
#[command(next_help_heading = "Sharding")]
pub struct ShardArgs {
    /// Run only shard K of N: the selected candidates whose name hashes (FNV-1a) to K. Every
    /// rate limit is N times slower, so N shards at once keep each ecosystem's limit. Writes
    /// one fragment file and nothing else (no queue, control file, results or summary).
    #[arg(long, env = "BATCH_SHARD", value_name = "K/N", requires = "batch_id")]
    pub shard: Option<batch::shard::Shard>,

    /// The batch ID from `preflight`: names the fragment of a sharded run; without --shard it
    /// is written as batch-results.json's batch_id [default there: the UTC date].
    #[arg(long, env = "BATCH_BATCH_ID", value_parser = parse_batch_id)]
    pub batch_id: Option<String>,

    /// Where a sharded run writes its fragment.
    #[arg(
        long,
        env = "BATCH_FRAGMENT_DIR",
        value_name = "DIR",
        default_value = "batch-fragments"
    )]
    pub fragment_dir: PathBuf,

    /// The plan time `preflight` printed (RFC 3339): every shard selects as of this instant,
    /// so all shards agree on due breakers and retry times [default: now].
    #[arg(
        long,
        env = "BATCH_PLANNED_AT",
        value_name = "RFC3339",
        requires = "shard"
    )]
    pub planned_at: Option<batch::records::timestamp::Rfc3339>,
}

/// Parses a batch ID (`[A-Za-z0-9._-]`, at most 100 bytes).
///
/// # Errors
/// A message for clap.
pub fn parse_batch_id(s: &str) -> Result<String, String> {
    batch::shard::fragment::check_batch_id(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.to_string())
}

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

    /// Print one JSON document on stdout instead of the plan text.
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", help_heading = "Preflight")]
    pub json: bool,
}

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory to run in (created; must be empty or absent). Default: a new temporary
    /// directory, kept so its files can be inspected.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Flags of the main job.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Files read and written.
    #[command(flatten)]
    pub files: FileArgs,
    /// Which entries run.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// How generators run.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// What is printed.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Sharding.
    #[command(flatten)]
    pub sharding: ShardArgs,
}

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
    #[arg(long, env = "BATCH_TIER", default_value_t = 2)]
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

/// How generators run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Execution")]
pub struct ExecutionArgs {
    /// Minimum spacing between generator starts in one ecosystem, e.g. rubygems=6s or
    /// npm=500ms (repeatable or comma-separated). Defaults: github 2s, rubygems 6s, others 1s.
    #[arg(long, env = "BATCH_RATE_LIMIT", value_name = "ECO=DURATION", value_delimiter = ',', value_parser = parse_rate_limit)]
    pub rate_limit: Vec<(String, Duration)>,

    /// Generator processes in flight at once.
    #[arg(long, env = "BATCH_JOBS", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,

    /// The tsuku binary (a path, or a name looked up on PATH).
    #[arg(long, env = "BATCH_GENERATOR", default_value = "tsuku")]
    pub generator: PathBuf,

    /// Wall-time limit per generator process (e.g. 15m, 90s); the whole process group is
    /// killed when it expires.
    #[arg(long, env = "BATCH_TIMEOUT", default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Time between SIGTERM and SIGKILL when a generator is stopped.
    #[arg(long, env = "BATCH_KILL_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub kill_grace: Duration,

    /// Bytes of stdout and of stderr kept per generator process (head and tail).
    #[arg(long, env = "BATCH_MAX_OUTPUT", default_value_t = 1 << 20)]
    pub max_output: usize,

    /// Circuit-breaker policy.
    #[command(flatten)]
    pub breaker: BreakerArgs,
}

/// What is printed.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print the plan (candidates, reasons, per-ecosystem counts, rate-limit lower bound) and
    /// write nothing.
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,

    /// Print one JSON document on stdout (counts, per-ecosystem counts, files written).
    #[arg(long, env = "BATCH_JSON", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub json: bool,
}

/// Parses a duration such as `6s`, `500ms`, `15m` or `1h 30m` (jiff's friendly format).
///
/// # Errors
/// A message for clap when the text is not a non-negative duration.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d: jiff::SignedDuration = s
        .trim()
        .parse()
        .map_err(|e| format!("invalid duration {s:?} (use e.g. 500ms, 6s, 15m): {e}"))?;
    Duration::try_from(d).map_err(|_| format!("duration {s:?} must not be negative"))
}

/// Parses `ECO=DURATION`.
///
/// # Errors
/// A message for clap when `=` or the duration is missing or invalid.
pub fn parse_rate_limit(s: &str) -> Result<(String, Duration), String> {
    let (eco, d) = s
        .split_once('=')
        .ok_or_else(|| format!("expected ECO=DURATION (e.g. rubygems=6s), got {s:?}"))?;
    if eco.is_empty() {
        return Err(format!("missing ecosystem in {s:?}"));
    }
    Ok((eco.to_owned(), parse_duration(d)?))
}

impl FileArgs {
    /// Sets the file paths of `c`, with the defaults that depend on other paths.
    pub fn apply(&self, c: &mut Config) {
        c.queue = self.queue.clone();
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

impl RunArgs {
    /// The library configuration these flags describe.
    pub fn to_config(&self) -> Config {
        let mut c = Config::new();
        self.files.apply(&mut c);
        self.selection.apply(&mut c);
        let e = &self.execution;
        for (eco, d) in &e.rate_limit {
            c.rate_limit.set(eco.clone(), *d);
        }
        c.jobs = usize::from(e.jobs);
        c.generator = e.generator.clone();
        c.timeout = e.timeout;
        c.kill_grace = e.kill_grace;
        c.breaker = e.breaker.policy();
        c.batch_id.clone_from(&self.sharding.batch_id);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goflags;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let mut v = vec!["batch-generate"];
        v.extend_from_slice(args);
        Cli::try_parse_from(goflags::rewrite(v.into_iter().map(Into::into)))
    }

    #[test]
    fn defaults_match_the_issue() {
        let c = parse(&[]).unwrap().run.to_config();
        assert_eq!(c.queue, PathBuf::from("data/queues/priority-queue.json"));
        assert_eq!(c.results, PathBuf::from("data/queues/batch-results.json"));
        assert_eq!(c.summary, PathBuf::from("data/batch-summary.md"));
        assert_eq!(c.control_file, PathBuf::from("batch-control.json"));
        assert_eq!(c.output_dir, PathBuf::from("recipes"));
        assert_eq!(c.failures_dir, PathBuf::from("data/failures"));
        assert_eq!((c.select.batch_size, c.select.tier, c.jobs), (25, 2, 4));
        assert_eq!(c.timeout, Duration::from_secs(900));
        assert_eq!(c.generator, PathBuf::from("tsuku"));
        assert!(c.select.ecosystems.is_empty());
    }

    #[test]
    fn go_workflow_line_parses() {
        let c = parse(&[
            "-batch-size",
            "10",
            "-tier",
            "3",
            "-filter-ecosystem",
            "homebrew",
        ])
        .unwrap()
        .run
        .to_config();
        assert_eq!((c.select.batch_size, c.select.tier), (10, 3));
        assert_eq!(c.select.ecosystems, BTreeSet::from(["homebrew".to_owned()]));
    }

    #[test]
    fn ecosystems_repeat_and_split_and_empty_means_all() {
        let c = parse(&["--ecosystem", "npm,pypi", "--ecosystem", "crates.io"])
            .unwrap()
            .run
            .to_config();
        assert_eq!(c.select.ecosystems.len(), 3);
        let c = parse(&["-filter-ecosystem", ""]).unwrap().run.to_config();
        assert!(c.select.ecosystems.is_empty());
        let c = parse(&["--filter-ecosystem=github"])
            .unwrap()
            .run
            .to_config();
        assert!(c.select.ecosystems.contains("github"));
    }

    #[test]
    fn rate_limits_and_durations() {
        let c = parse(&[
            "--rate-limit",
            "rubygems=10s",
            "--rate-limit",
            "npm=500ms,github=1m",
            "--timeout",
            "90s",
        ])
        .unwrap()
        .run
        .to_config();
        assert_eq!(c.rate_limit.period("rubygems"), Duration::from_secs(10));
        assert_eq!(c.rate_limit.period("npm"), Duration::from_millis(500));
        assert_eq!(c.rate_limit.period("github"), Duration::from_secs(60));
        assert_eq!(c.rate_limit.period("homebrew"), Duration::from_secs(1));
        assert_eq!(c.timeout, Duration::from_secs(90));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["--batch-size", "-1"][..],
            &["-batch-size", "x"],
            &["--jobs", "0"],
            &["--rate-limit", "rubygems"],
            &["--rate-limit", "=1s"],
            &["--rate-limit", "npm=fast"],
            &["--timeout", "10"],
            &["--timeout", "-5s"],
            &["--no-such-flag"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} must be a usage error");
        }
    }

    #[test]
    fn booleans() {
        let cli = parse(&["--dry-run", "--json"]).unwrap();
        assert!(cli.run.output.dry_run && cli.run.output.json);
        let cli = parse(&["--dry-run=false"]).unwrap();
        assert!(!cli.run.output.dry_run);
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
