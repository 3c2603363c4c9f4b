//! Arguments of the main job and of its sharded form (`--shard K/N`).

use std::path::PathBuf;
use std::time::Duration;

use batch::Config;
use batch::sequence::ShardTarget;
use clap::Args;
use clap::builder::BoolishValueParser;

use super::common::{BreakerArgs, FileArgs, JsonArgs, SelectionArgs};
use super::parse::{parse_batch_id, parse_duration, parse_max_in_flight, parse_rate_limit};
use crate::error::{Hint, UsageError};

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
    /// Acting on named or failed entries.
    #[command(flatten)]
    pub pick: PickArgs,
}

/// Acting on one package, or on the failures (issue #12).
#[derive(Debug, Args)]
#[command(next_help_heading = "Selection")]
pub struct PickArgs {
    /// Run exactly the entries with these names (repeatable or comma-separated), whatever
    /// their tier, backoff and the batch size; pending, failed or blocked entries only, never
    /// behind an open circuit breaker unless --force. A name that selects nothing is a usage
    /// error (exit 2).
    #[arg(long = "name", env = "BATCH_NAME", value_name = "NAME", value_delimiter = ',', conflicts_with_all = ["retry_failed", "shard"])]
    pub names: Vec<String>,

    /// Only failed entries, their backoff ignored (tier, breakers and batch size still apply).
    #[arg(long, env = "BATCH_RETRY_FAILED", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true", conflicts_with = "shard")]
    pub retry_failed: bool,

    /// With --name: run the named entries even when their ecosystem's circuit breaker is open
    /// or the ecosystem is disabled in the control file.
    #[arg(long, requires = "names")]
    pub force: bool,
}

/// How generators run.
#[derive(Debug, Args)]
#[command(next_help_heading = "Execution")]
pub struct ExecutionArgs {
    /// Minimum spacing between generator starts in one ecosystem, e.g. rubygems=6s or
    /// npm=500ms (repeatable or comma-separated). Defaults: github 2s, rubygems 6s, others 1s.
    #[arg(long, env = "BATCH_RATE_LIMIT", value_name = "ECO=DURATION", value_delimiter = ',', value_parser = parse_rate_limit)]
    pub rate_limit: Vec<(String, Duration)>,

    /// At most N generator processes of one ecosystem at once, e.g. npm=2 (repeatable or
    /// comma-separated), on top of its start rate and --jobs [default: no cap].
    #[arg(long, env = "BATCH_MAX_IN_FLIGHT", value_name = "ECO=N", value_delimiter = ',', value_parser = parse_max_in_flight)]
    pub max_in_flight: Vec<(String, usize)>,

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

    /// Time budget of the run (e.g. 5h50m): an entry starts only if it is expected to finish
    /// before the deadline (the 90th percentile of the entry durations so far, or --timeout
    /// before there are any); at the deadline running generators are stopped as on SIGTERM.
    /// Exit 0 with `budget reached: N entries not started`. A budget not longer than --timeout
    /// is refused (exit 2): no entry could be expected to finish.
    #[arg(long, env = "BATCH_MAX_DURATION", value_name = "DURATION", value_parser = parse_duration)]
    pub max_duration: Option<Duration>,

    /// Time between SIGTERM and SIGKILL when a generator is stopped.
    #[arg(long, env = "BATCH_KILL_GRACE", default_value = "10s", value_parser = parse_duration)]
    pub kill_grace: Duration,

    /// Bytes of stdout and of stderr kept per generator process (head and tail).
    #[arg(long, env = "BATCH_MAX_OUTPUT", default_value_t = 1 << 20)]
    pub max_output: usize,

    /// Backoff before the first retry of a step that exited with the network code (5); it
    /// doubles for each later retry (3 retries: 1 s, 2 s, 4 s by default, spec §4.4).
    #[arg(long, env = "BATCH_RETRY_DELAY", value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub retry_delay: Duration,

    /// K: after K entries of one ecosystem in a row exhausted their retries on the network
    /// code (5), with none of them succeeding or failing otherwise in between, its upstream is
    /// taken as down and no more of its entries start in this run (reported as `not run:
    /// <eco> unreachable`, left unchanged in the queue). 0 disables it.
    #[arg(long, env = "BATCH_UNREACHABLE_AFTER", value_name = "K", default_value_t = batch::run::unreachable::DEFAULT_UNREACHABLE_AFTER)]
    pub unreachable_after: u32,

    /// Circuit-breaker policy.
    #[command(flatten)]
    pub breaker: BreakerArgs,

    /// Adaptive slowdown.
    #[command(flatten)]
    pub adaptive: AdaptiveArgs,
}

/// `--adaptive` and its settings (issue #15): an ecosystem whose generators push back is
/// slowed down, then recovers step by step; never faster than its --rate-limit.
#[derive(Debug, Args)]
#[command(next_help_heading = "Adaptive slowdown")]
pub struct AdaptiveArgs {
    /// Slow an ecosystem down when its `create` processes exit with the network code (5):
    /// K such exits within the window double its start period (up to the cap); each run of
    /// consecutive other exits undoes one step.
    #[arg(long, env = "BATCH_ADAPTIVE", value_name = "on|off", default_value = "on", value_parser = BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub adaptive: bool,

    /// K: network exits within the window that slow an ecosystem down one step.
    #[arg(long, env = "BATCH_ADAPTIVE_THRESHOLD", value_name = "K", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub adaptive_threshold: u32,

    /// The window in which the K network exits must fall.
    #[arg(long, env = "BATCH_ADAPTIVE_WINDOW", value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub adaptive_window: Duration,

    /// The slowest an ecosystem may get, as a multiple of its configured period (1 disables
    /// the slowdown).
    #[arg(long, env = "BATCH_ADAPTIVE_CAP", value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub adaptive_cap: u32,

    /// Consecutive `create` exits other than the network code that undo one step.
    #[arg(long, env = "BATCH_ADAPTIVE_RECOVER", value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub adaptive_recover: u32,
}

impl AdaptiveArgs {
    /// The library settings these flags describe.
    pub fn settings(&self) -> batch::run::adaptive::Adaptive {
        batch::run::adaptive::Adaptive {
            enabled: self.adaptive,
            threshold: self.adaptive_threshold,
            window: self.adaptive_window,
            cap: self.adaptive_cap,
            recover_after: self.adaptive_recover,
            ..batch::run::adaptive::Adaptive::default()
        }
    }
}

/// What is printed.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Print the plan (candidates, reasons, per-ecosystem counts, rate-limit lower bound) and
    /// write nothing.
    #[arg(long, env = "BATCH_DRY_RUN", value_parser = BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dry_run: bool,

    /// `--json`.
    #[command(flatten)]
    pub report: JsonArgs,

    /// Append one tab-separated line per generator process to FILE (GNU parallel's --joblog
    /// columns, then entry, ecosystem, step, attempt and outcome); a new file gets a header.
    #[arg(long, env = "BATCH_JOBLOG", value_name = "FILE")]
    pub joblog: Option<PathBuf>,

    /// Write the generation environment's result rows to FILE: one `pass` row per recipe this
    /// run (or shard) generated and installed, for `aggregate` (issue #13). Replaced
    /// atomically; a run that generated nothing writes `[]`.
    #[arg(long, env = "BATCH_VALIDATION_OUT", value_name = "FILE")]
    pub validation_out: Option<PathBuf>,
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
    /// so all shards agree on due breakers and retry times. Required with --shard, except
    /// for a --dry-run (which then plans at the current time).
    #[arg(
        long,
        env = "BATCH_PLANNED_AT",
        value_name = "RFC3339",
        requires = "shard"
    )]
    pub planned_at: Option<batch::records::timestamp::Rfc3339>,
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
        c.max_in_flight = e.max_in_flight.iter().cloned().collect();
        c.jobs = usize::from(e.jobs);
        c.generator = e.generator.clone();
        c.timeout = e.timeout;
        c.max_duration = e.max_duration;
        c.kill_grace = e.kill_grace;
        c.breaker = e.breaker.policy();
        c.adaptive = e.adaptive.settings();
        c.unreachable_after = e.unreachable_after;
        c.retry.base_delay = e.retry_delay;
        c.batch_id.clone_from(&self.sharding.batch_id);
        c.select.names = self
            .pick
            .names
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        c.select.retry_failed = self.pick.retry_failed;
        c.select.force = self.pick.force;
        c
    }
}

impl ExecutionArgs {
    /// Refuses a `--max-duration` no longer than `--timeout` ([`check_budget`], issue #22).
    ///
    /// # Errors
    /// A [`UsageError`] (exit 2) naming both values, with a hint.
    pub fn check_budget(&self) -> anyhow::Result<()> {
        check_budget(self.max_duration, self.timeout, "entries")
    }
}

/// Refuses a `budget` (`--max-duration`) no longer than `timeout` (`--timeout`), issue #22:
/// before anything has finished, the budget expects each of the first `what` (entries,
/// installs) to take `timeout` from the moment it would start, so none could start and the
/// command would end at once with everything `budget reached`, reading as an empty success.
///
/// # Errors
/// A [`UsageError`] (exit 2) naming both values, with a hint.
pub fn check_budget(budget: Option<Duration>, timeout: Duration, what: &str) -> anyhow::Result<()> {
    let Some(budget) = budget else {
        return Ok(());
    };
    if budget > timeout {
        return Ok(());
    }
    Err(anyhow::Error::new(UsageError(format!(
        "--max-duration {} is not longer than --timeout {}: the first {what} are expected to take --timeout, so none could start before the deadline",
        duration_words(budget),
        duration_words(timeout)
    )))
    .context(Hint(
        "pass a --timeout shorter than --max-duration (e.g. --timeout 5m), or a longer --max-duration; nothing was run",
    )))
}

/// A duration as `10m`, `1h 30m`, `90s` or `1.5s` (jiff's friendly format).
fn duration_words(d: Duration) -> String {
    jiff::SignedDuration::try_from(d).map_or_else(|_| format!("{d:?}"), |d| format!("{d:#}"))
}

impl ShardArgs {
    /// The shard these flags ask for, if any. A real shard run needs `--planned-at`, the plan
    /// time `preflight` printed: shards that planned at their own start could disagree on due
    /// breakers and retry times, so their fragments would not add up to one batch (issue #12).
    /// A dry run may omit it and plans at the current time.
    ///
    /// # Errors
    /// `--shard` without `--batch-id`, or without `--planned-at` outside a dry run: a
    /// [`UsageError`] (exit 2) with a hint.
    pub fn target(&self, dry_run: bool) -> anyhow::Result<Option<ShardTarget>> {
        let Some(shard) = self.shard else {
            return Ok(None);
        };
        let batch_id = self.batch_id.clone().ok_or_else(|| {
            anyhow::Error::new(UsageError(
                "--shard needs --batch-id (the ID preflight printed)".into(),
            ))
        })?;
        if self.planned_at.is_none() && !dry_run {
            return Err(anyhow::Error::new(UsageError(format!(
                "--shard {shard} needs --planned-at: every shard of a batch must select as of the same instant"
            )))
            .context(Hint(
                "run `batch-generate preflight` first and pass its planned_at to every shard as --planned-at (or BATCH_PLANNED_AT); nothing was run",
            )));
        }
        Ok(Some(ShardTarget {
            shard,
            batch_id,
            planned_at: self.planned_at.map(|t| t.instant()),
            fragment_dir: self.fragment_dir.clone(),
        }))
    }
}
