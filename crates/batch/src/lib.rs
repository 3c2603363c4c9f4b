//! Library of `batch-generate`, the orchestrator that turns tsuku's priority queue into
//! recipes. The folders follow the pipeline:
//!
//! - [`queue`]: the priority queue, its entries and their state transitions;
//! - [`control`]: `batch-control.json`, circuit breakers and the CI budget;
//! - [`select`]: which entries run this batch;
//! - [`run`]: the stages of the main job, plan → execute → apply → persist, with its journal
//!   lines and recovery;
//! - [`generator`]: the [`Generator`](generator::Generator) seam: what the engine asks of
//!   the program that writes recipes, and how it reads what that program left;
//! - [`tsuku`]: tsuku behind that seam (argv, exit codes, `--json` output, network retries);
//! - [`runner`]: the process layer (process groups, timeouts, bounded output, signals);
//! - [`records`]: outcomes, failure records, results, summary and their formats;
//! - [`shard`]: partition, fragments, merge, batch IDs and the preflight of sharded batches;
//! - [`maintain`]: queue maintenance between batches (mark-failures, requeue, reorder);
//! - [`inventory`]: read-mostly views of the queue against the disk (`queue status`,
//!   `queue reconcile`, the recipe file → entry rule);
//! - [`history`]: the metrics history (`report`) and rollback plans;
//! - [`dashboard`]: tsuku's pipeline `dashboard.json`, replacing its Go `queue-analytics`
//!   (issue #23);
//! - [`validate`]: platforms of the validation matrix and the results files (issue #13);
//! - [`gate`]: the `run_command` security gate over a recipe's parsed TOML (issue #13),
//!   applied before any platform installs a recipe and again by `aggregate`;
//! - [`aggregate`]: the security gate, constraints, failure records, metrics and PR text of
//!   the validation results (issue #13);
//! - [`journal`]: the crash-safe JSONL journal the main run and `validate` append to;
//! - [`lock`]: the run lock on `<queue>.lock` that every stage writing the queue takes;
//! - [`sequence`]: [`sequence::MainRun`], the one composition of the stages that the binary's
//!   main run, its shards and the tests all run.
//!
//! Behaviour follows the reference spec of the Go tool (`tsuku-batch-spec.md`, cited as
//! "spec §N") except where a docstring names a deliberate fix.
//!
//! # Example
//!
//! A batch of two queue entries, run by a toy [`Generator`](generator::Generator) through
//! the scripted runner of the test suites (feature `test-support`) instead of real
//! processes. The generator says what to run for each step and what its output means; the
//! engine selects, paces, schedules, journals and writes the queue, the failure records and
//! `batch-results.json`. The binary runs the same [`MainRun`](sequence::MainRun) with
//! [`tsuku::Tsuku`] and [`runner::ProcessRunner`].
//!
//! ```
//! # #[cfg(feature = "test-support")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//!
//! use batch::clock::SystemClock;
//! use batch::generator::{Category, Failure, Generator, Job, Reading};
//! use batch::runner::fake::{FakeCall, Reply, ScriptedRunner};
//! use batch::runner::{Command, Output};
//! use batch::sequence::{Finished, MainRun};
//! use batch::{Config, Queue, QueueEntry, RateLimit};
//!
//! /// `toygen write <name> <recipe>`, then `toygen check <recipe>`; any exit but 0 fails.
//! struct ToyGen;
//!
//! impl Generator for ToyGen {
//!     fn command(&self, job: &Job<'_>) -> Command {
//!         let args = match job {
//!             Job::Create(t) => vec!["write".into(), t.name.into(), t.recipe.into()],
//!             Job::Install(t) => vec!["check".into(), t.recipe.into()],
//!             Job::Validate { recipe, .. } => vec!["check".into(), (*recipe).into()],
//!         };
//!         Command {
//!             program: "toygen".into(),
//!             args,
//!             env: Vec::new(),
//!             current_dir: None,
//!             timeout: Duration::from_secs(60),
//!             merge_output: true,
//!         }
//!     }
//!
//!     fn read(&self, _job: &Job<'_>, out: &Output, _last: bool) -> Reading {
//!         Reading {
//!             code: out.exit.code(),
//!             transient: false,
//!             connect_failed: false,
//!             failure: (!out.exit.success()).then(|| Failure {
//!                 category: Category::GenerationFailed,
//!                 subcategory: String::new(),
//!                 blocked_by: Vec::new(),
//!                 message: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
//!                 blocked: false,
//!             }),
//!             unavailable: None,
//!             verify_exit_code: None,
//!         }
//!     }
//! }
//!
//! let dir = tempfile::tempdir()?;
//! let mut config = Config::with_root(dir.path());
//! config.rate_limit = RateLimit { default_period: Duration::ZERO, ..RateLimit::default() };
//! let mut queue = Queue::default();
//! queue.entries = vec![
//!     QueueEntry::new("bat", "github:sharkdp/bat", 1),
//!     QueueEntry::new("broken", "github:example/broken", 1),
//! ];
//! queue.save(&config.queue, jiff::Timestamp::now())?;
//!
//! // The process layer, scripted: `write broken …` prints an error and exits 1.
//! let runner = ScriptedRunner::new(|call: &FakeCall| match call.args.as_slice() {
//!     [step, name, ..] if step == "write" && name == "broken" => {
//!         Reply::code(1).stdout("no such repository")
//!     }
//!     _ => Reply::code(0),
//! });
//! let run = MainRun::new(&config, &ToyGen, &runner, &SystemClock).run();
//! let finished = tokio::runtime::Builder::new_current_thread()
//!     .enable_time()
//!     .build()?
//!     .block_on(run)?;
//!
//! let Finished::Batch { report, .. } = finished else {
//!     unreachable!("without a control file the batch is enabled")
//! };
//! assert_eq!((report.results.succeeded, report.results.failed), (1, 1));
//! assert_eq!(report.failures[0].message, "no such repository");
//! assert_eq!(runner.calls().len(), 3, "write bat, check bat, write broken");
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "test-support"))]
//! # fn main() {}
//! ```
#![warn(missing_docs)]

pub mod aggregate;
pub mod config;
pub mod control;
pub mod dashboard;
pub mod gate;
pub mod generator;
pub mod history;
pub mod inventory;
pub mod journal;
pub mod lock;
pub mod maintain;
pub mod queue;
pub mod records;
pub mod run;
pub mod runner;
pub mod select;
pub mod sequence;
pub mod shard;
pub mod text;
pub mod tsuku;
pub mod validate;

/// The wall clock every stage takes as an argument (re-exported from `batch-base`, so callers
/// need not depend on it to pass one).
pub use batch_base::clock;
pub use config::{Config, NetworkRetry, RateLimit};
pub use queue::{Queue, QueueEntry, Status};
