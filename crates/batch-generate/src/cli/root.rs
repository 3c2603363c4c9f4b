//! The top-level parser: global flags, the main job's flags and the subcommands.

use clap::{ArgAction, Parser, Subcommand, ValueEnum};

use super::completions::{CompletionsArgs, ManArgs};
use super::demo::DemoArgs;
use super::merge::MergeArgs;
use super::preflight::PreflightArgs;
use super::run::RunArgs;
use crate::exit;

/// What `--version` prints after the name: the package version, then the commit and its date
/// (UTC) from `build.rs`, each `unknown` when built outside a git checkout.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("BATCH_GENERATE_COMMIT"),
    " ",
    env!("BATCH_GENERATE_COMMIT_DATE"),
    ")"
);

/// Concurrent, rate-limited batch recipe generation for tsuku's priority queue.
///
/// Selects candidates from the queue, runs `tsuku create` then `tsuku install` for each under
/// one rate limiter per ecosystem, and writes failure records, `batch-results.json`, a Markdown
/// summary, the updated queue and the updated circuit breakers.
#[derive(Debug, Parser)]
#[command(name = "batch-generate", version = VERSION, after_help = exit::HELP, args_conflicts_with_subcommands = true)]
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

    /// Colour in logs and the progress bar: auto (a terminal, unless NO_COLOR is set), always
    /// or never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, env = "BATCH_COLOR", global = true, help_heading = "Logging")]
    pub color: ColorChoice,
}

/// `--color`: when stderr output uses ANSI colour (see `crate::logging::use_color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Always colour, even when `NO_COLOR` is set.
    Always,
    /// Never colour.
    Never,
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
    /// Decide the fate of each recipe of a batch from the validation-results-*.json files:
    /// the run_command security gate, include / constrain / exclude, constraints written into
    /// [metadata], per-recipe failure records, the metrics record, the queue kept consistent,
    /// and the PR title, body and commit message under --pr-dir. Idempotent; bad input writes
    /// nothing.
    Aggregate(Box<super::aggregate::AggregateArgs>),
    /// Upload every file under DIR to the artifact store as sha256/<hex> objects, verify
    /// each by reading it back, then record logical path -> digest in manifest.json (by
    /// conditional PUT, retried when another publisher wins) or in a --fragment.
    Publish(Box<super::store::PublishArgs>),
    /// Download logical paths from the artifact store through a verified, size-bounded
    /// cache; refuses corrupt data; uses the cache (with a warning) when the store is down.
    Fetch(Box<super::store::FetchArgs>),
    /// The queue between batches: `maintain` (mark-failures, requeue, reorder), `reconcile`
    /// (recipes on disk → success), `status` (what is in it, what is due, what blocks).
    Queue(super::queue::QueueCmdArgs),
    /// The operators' view of the metrics history: per-batch totals, success rate,
    /// constrained and excluded counts, duration, per-platform pass rates and a 7-day trend,
    /// from every metrics file (both shapes). Reads only.
    Report(super::report::ReportArgs),
    /// Write tsuku's pipeline dashboard.json (replacing queue-analytics): queue totals and
    /// packages, top blockers, failure counts and the newest failures, breakers and runs,
    /// disambiguations and curated entries. Reads only its inputs.
    Dashboard(super::dashboard::DashboardArgs),
    /// Why the next run, with the same selection flags, would or would not select each named
    /// entry (by name or source): every selection rule in its own words, the breaker, the
    /// entry's place in the batch (and shard), its blockers, last failures and recipe. Writes
    /// nothing; an unknown name exits 2 with the closest names.
    Explain(Box<super::explain::ExplainArgs>),
    /// The recipe files a batch added (from its fragments, metrics and failure records, and
    /// `git log` trailers) and the git commands that would remove them. Prints only: never
    /// runs git commands that change anything, never pushes or deletes.
    RollbackPlan(super::rollback::RollbackPlanArgs),
    /// Artifact store maintenance: `health`, `consolidate`, `gc`.
    Store(super::store::StoreCmdArgs),
    /// Install the batch's new recipes on this platform runner (each Linux family in a
    /// sandbox, or macOS) and write validation-results-<platform>.json; exit 5 is retried,
    /// a killed job resumes from <out>.journal.
    Validate(Box<super::validate::ValidateArgs>),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout; `docs/man/batch-generate.1` is this output.
    Man(ManArgs),
}
