//! Every setting of a run in one struct ([`Config`]), built by the CLI or directly from Rust,
//! plus the per-ecosystem [`RateLimit`] table and the retry policy.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::control::breaker::BreakerPolicy;
use crate::queue::MissingQueue;
use crate::run::adaptive::Adaptive;
use crate::select::SelectOptions;

/// Minimum spacing between two generator starts in one ecosystem (issue #3). Defaults follow
/// spec §5's delays: 1 s for every ecosystem, 2 s for `github`, 6 s for `rubygems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Spacing for ecosystems without an entry in `per_ecosystem`.
    pub default_period: Duration,
    /// Spacing by ecosystem key.
    pub per_ecosystem: BTreeMap<String, Duration>,
}

impl Default for RateLimit {
    fn default() -> Self {
        let secs = |s| Duration::from_secs(s);
        let mut per_ecosystem = BTreeMap::new();
        for eco in [
            "homebrew",
            "cargo",
            "crates.io",
            "npm",
            "pypi",
            "go",
            "cpan",
            "cask",
        ] {
            per_ecosystem.insert(eco.to_owned(), secs(1));
        }
        per_ecosystem.insert("github".to_owned(), secs(2));
        per_ecosystem.insert("rubygems".to_owned(), secs(6));
        Self {
            default_period: secs(1),
            per_ecosystem,
        }
    }
}

impl RateLimit {
    /// The spacing for `ecosystem`.
    pub fn period(&self, ecosystem: &str) -> Duration {
        self.per_ecosystem
            .get(ecosystem)
            .copied()
            .unwrap_or(self.default_period)
    }

    /// Overrides one ecosystem's spacing (`--rate-limit ECO=DURATION`).
    pub fn set(&mut self, ecosystem: impl Into<String>, period: Duration) {
        self.per_ecosystem.insert(ecosystem.into(), period);
    }

    /// Every spacing multiplied by `n`: the limits of one shard of `n`, so that `n` shards
    /// running at once together respect each ecosystem's limit (issue #6, `--shard K/N`).
    /// `n = 0` is treated as 1.
    #[must_use]
    pub fn scaled(&self, n: u32) -> Self {
        let n = n.max(1);
        Self {
            default_period: self.default_period * n,
            per_ecosystem: self
                .per_ecosystem
                .iter()
                .map(|(eco, p)| (eco.clone(), *p * n))
                .collect(),
        }
    }

    /// The rate-limit lower bound on wall time for the given per-ecosystem entry counts:
    /// `max over ecosystems of (N_e − 1) × period_e` (issue #3 dry run, issue #5).
    pub fn lower_bound<'a>(&self, counts: impl IntoIterator<Item = (&'a str, usize)>) -> Duration {
        counts
            .into_iter()
            .map(|(eco, n)| {
                self.period(eco) * u32::try_from(n.saturating_sub(1)).unwrap_or(u32::MAX)
            })
            .max()
            .unwrap_or_default()
    }
}

/// Retries of a generator step the [`Generator`](crate::generator::Generator) reads as
/// transient (tsuku's network exit 5, spec §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRetry {
    /// Retries after the first attempt (3, so 4 attempts in all).
    pub max_retries: u32,
    /// Delay before retry `k` (1-based) is `base_delay × 2^(k−1)`: 1 s, 2 s, 4 s.
    pub base_delay: Duration,
}

impl Default for NetworkRetry {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
        }
    }
}

impl NetworkRetry {
    /// The delay before retry number `retry` (1-based): `base_delay × 2^(retry−1)`.
    pub fn delay(&self, retry: u32) -> Duration {
        self.base_delay.saturating_mul(
            1u32.checked_shl(retry.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
    }
}

/// Every setting of one run. Paths are used as given (relative to the working directory).
///
/// Start from [`Config::new`] (the defaults) and set fields: the struct is
/// `#[non_exhaustive]`, so settings added later do not break callers.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The unified queue (`--queue`).
    pub queue: PathBuf,
    /// What a missing queue file is: an error by default, an empty queue with `--init-queue`
    /// (issue #12).
    pub missing_queue: MissingQueue,
    /// The control file (`--control-file`).
    pub control_file: PathBuf,
    /// Root of generated recipes (`--output-dir`).
    pub output_dir: PathBuf,
    /// Where failure JSONL files go (`--failures-dir`).
    pub failures_dir: PathBuf,
    /// `batch-results.json` path (`--results`, default beside the queue).
    pub results: PathBuf,
    /// Markdown summary path (`--summary`, default `<output-dir>/../data/batch-summary.md`).
    pub summary: PathBuf,
    /// Batch size, tier, ecosystem filter.
    pub select: SelectOptions,
    /// Generator processes in flight at once (`--jobs`, at least 1).
    pub jobs: usize,
    /// Ecosystem → at most this many of its generator processes at once (`--max-in-flight
    /// ECO=N`, issue #15), on top of its start rate and `jobs`; no entry means no cap.
    pub max_in_flight: BTreeMap<String, usize>,
    /// The tsuku binary (`--generator`); [`Tsuku::for_run`](crate::tsuku::Tsuku::for_run)
    /// runs it, and [`MainRun`](crate::sequence::MainRun) checks that it exists.
    pub generator: PathBuf,
    /// Variables added to the generator's inherited environment.
    pub generator_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    /// The line of a failure record's message that the Markdown summary shows (issue #22),
    /// the summary's counterpart of [`Generator::headline`](crate::generator::Generator::headline):
    /// the saving code has records, not the generator. Default: tsuku's
    /// ([`crate::tsuku::headline`], the first line that is not one of its notices), as
    /// [`generator`](Self::generator) defaults to tsuku.
    pub headline: fn(&str) -> &str,
    /// Wall-time limit of one generator process (`--timeout`, default 15 minutes), put on
    /// each command by [`Tsuku::for_run`](crate::tsuku::Tsuku::for_run); the budget expects
    /// it of a candidate before any has finished.
    pub timeout: Duration,
    /// SIGTERM → SIGKILL grace period when a generator times out (default 10 s).
    pub kill_grace: Duration,
    /// Time budget of the run (`--max-duration`, issue #15): an entry starts only if it can
    /// finish before the deadline. `None`: no budget.
    pub max_duration: Option<Duration>,
    /// Network-exit retries.
    pub retry: NetworkRetry,
    /// Per-ecosystem start spacing.
    pub rate_limit: RateLimit,
    /// Adaptive slowdown of an ecosystem's start rate on network exits (issue #15; on by
    /// default, `--adaptive off` disables it).
    pub adaptive: Adaptive,
    /// Breaker threshold and recovery time.
    pub breaker: BreakerPolicy,
    /// K of `--unreachable-after` (issue #22): after K entries of one ecosystem in a row
    /// exhausted their retries on the network code, no `create` of that ecosystem starts any
    /// more in this run (`run/unreachable.rs`). 0 disables it; default
    /// [`DEFAULT_UNREACHABLE_AFTER`](crate::run::unreachable::DEFAULT_UNREACHABLE_AFTER).
    pub unreachable_after: u32,
    /// The `batch_id` written to `batch-results.json` (`--batch-id`, issue #6). `None` writes
    /// the UTC date of the run start, as the Go tool did (spec §1.4).
    pub batch_id: Option<String>,
}

impl Config {
    /// The defaults of spec §2.1 and issue #3, with paths relative to the working directory.
    pub fn new() -> Self {
        let queue = PathBuf::from("data/queues/priority-queue.json");
        let output_dir = PathBuf::from("recipes");
        Self {
            results: default_results_path(&queue),
            summary: default_summary_path(&output_dir),
            queue,
            missing_queue: MissingQueue::Error,
            control_file: PathBuf::from("batch-control.json"),
            output_dir,
            headline: crate::tsuku::headline,
            failures_dir: PathBuf::from("data/failures"),
            select: SelectOptions {
                batch_size: 25,
                tier: 2,
                ..SelectOptions::default()
            },
            jobs: 4,
            max_in_flight: BTreeMap::new(),
            generator: PathBuf::from("tsuku"),
            generator_env: Vec::new(),
            timeout: Duration::from_secs(15 * 60),
            kill_grace: Duration::from_secs(10),
            max_duration: None,
            retry: NetworkRetry::default(),
            rate_limit: RateLimit::default(),
            adaptive: Adaptive::default(),
            breaker: BreakerPolicy::default(),
            unreachable_after: crate::run::unreachable::DEFAULT_UNREACHABLE_AFTER,
            batch_id: None,
        }
    }
}

impl Config {
    /// The defaults of [`Config::new`] with every file under `root`, laid out as tsuku's
    /// repository lays them out: `data/queues/priority-queue.json` and `batch-results.json`
    /// beside it, `batch-control.json`, `recipes/`, `data/failures/`,
    /// `data/batch-summary.md`.
    pub fn with_root(root: &std::path::Path) -> Self {
        let mut config = Self::new();
        config.queue = root.join("data/queues/priority-queue.json");
        config.results = root.join("data/queues/batch-results.json");
        config.control_file = root.join("batch-control.json");
        config.output_dir = root.join("recipes");
        config.failures_dir = root.join("data/failures");
        config.summary = root.join("data/batch-summary.md");
        config
    }
}

#[cfg(test)]
impl Config {
    /// Test fixture: [`Config::with_root`], a generator path that does not exist (tests use a
    /// mock runner) and a batch size of 100.
    pub(crate) fn rooted(root: &std::path::Path) -> Self {
        let mut config = Self::with_root(root);
        config.generator = PathBuf::from("/fake/bin/tsuku");
        config.select.batch_size = 100;
        config
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// `batch-results.json` beside the queue (spec §1.4).
pub fn default_results_path(queue: &std::path::Path) -> PathBuf {
    queue.parent().map_or_else(
        || PathBuf::from("batch-results.json"),
        |d| d.join("batch-results.json"),
    )
}

/// `<output-dir>/../data/batch-summary.md` (spec §1.6), computed lexically so that
/// `recipes` gives `data/batch-summary.md`.
pub fn default_summary_path(output_dir: &std::path::Path) -> PathBuf {
    let base = match output_dir.file_name() {
        Some(_) => output_dir.parent().unwrap_or(output_dir).to_path_buf(),
        // `.`, `..` or `/`: no lexical parent, so keep the literal `..`.
        None => output_dir.join(".."),
    };
    base.join("data").join("batch-summary.md")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn default_rate_limits() {
        let r = RateLimit::default();
        for eco in [
            "homebrew",
            "cargo",
            "crates.io",
            "npm",
            "pypi",
            "go",
            "cpan",
            "cask",
            "nix",
            "",
        ] {
            assert_eq!(r.period(eco), Duration::from_secs(1), "{eco}");
        }
        assert_eq!(r.period("github"), Duration::from_secs(2));
        assert_eq!(r.period("rubygems"), Duration::from_secs(6));
    }

    #[test]
    fn scaled_multiplies_every_period() {
        let mut r = RateLimit::default();
        r.set("npm", Duration::from_millis(250));
        let s = r.scaled(3);
        assert_eq!(s.period("npm"), Duration::from_millis(750));
        assert_eq!(s.period("rubygems"), Duration::from_secs(18));
        assert_eq!(s.period("not-listed"), Duration::from_secs(3));
        assert_eq!(r.scaled(0), r, "0 shards is treated as one");
    }

    #[test]
    fn lower_bound_is_slowest_ecosystem() {
        let r = RateLimit::default();
        // 6 rubygems → 5 × 6 s = 30 s; 20 homebrew → 19 s.
        assert_eq!(
            r.lower_bound([("rubygems", 6), ("homebrew", 20)]),
            Duration::from_secs(30)
        );
        assert_eq!(r.lower_bound([]), Duration::ZERO);
        assert_eq!(r.lower_bound([("npm", 1)]), Duration::ZERO);
    }

    #[test]
    fn retry_delays_double() {
        let p = NetworkRetry::default();
        let d: Vec<_> = (1..=3).map(|k| p.delay(k).as_secs()).collect();
        assert_eq!(d, [1, 2, 4]);
        assert_eq!(p.delay(100), Duration::from_secs(u64::from(u32::MAX)));
    }

    #[test]
    fn default_paths() {
        assert_eq!(
            default_results_path(Path::new("data/queues/q.json")),
            Path::new("data/queues/batch-results.json")
        );
        assert_eq!(
            default_results_path(Path::new("q.json")),
            Path::new("batch-results.json")
        );
        assert_eq!(
            default_summary_path(Path::new("recipes")),
            Path::new("data/batch-summary.md")
        );
        assert_eq!(
            default_summary_path(Path::new("out/recipes")),
            Path::new("out/data/batch-summary.md")
        );
        assert_eq!(
            default_summary_path(Path::new("/tmp/x/recipes")),
            Path::new("/tmp/x/data/batch-summary.md")
        );
    }
}
