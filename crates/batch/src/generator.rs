//! The seam between the engine and the program that writes recipes: the [`Generator`] trait.
//!
//! The engine (selection, rate limits, breakers, scheduling, journal, shards, and `validate`)
//! knows the generator only through this trait. For each [`Job`] it asks the generator for
//! the [`Command`] to run, hands that command to a [`Runner`](crate::runner::Runner) (the
//! process layer: process groups, timeouts, bounded output), and gives the [`Output`] back
//! to [`Generator::read`], which turns it into a [`Reading`]. The reading says whether the
//! step passed, whether it failed in a way the engine retries with its backoff (`transient`;
//! `connect_failed` when that failure never reached the upstream), and, if it failed, the
//! fields of its failure record ([`Failure`], [`Category`]).
//!
//! [`crate::tsuku::Tsuku`] implements the trait for tsuku: its argv, the way it splits
//! stdout and stderr, its exit codes, its `--json` output and its network code. Tests and
//! the crate example use small generators of their own.

use std::path::Path;

use serde::Serialize;

use crate::runner::{Command, Output};
use crate::validate::Family;

/// Failure category of a failure record (spec §4.4): the `category` field of the failure
/// JSONL files, and what the circuit breakers and `aggregate` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The recipe or its source does not exist (tsuku exit 3).
    RecipeNotFound,
    /// The network failed on every attempt (tsuku exit 5 after retries).
    NetworkError,
    /// The recipe did not install (tsuku exit 6).
    InstallFailed,
    /// The installed tool did not pass verification (tsuku exit 7).
    VerifyFailed,
    /// Dependencies are missing (tsuku exit 8).
    MissingDep,
    /// Anything else: other exit codes, signals, timeouts of `create`.
    GenerationFailed,
}

impl Category {
    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecipeNotFound => "recipe_not_found",
            Self::NetworkError => "network_error",
            Self::InstallFailed => "install_failed",
            Self::VerifyFailed => "verify_failed",
            Self::MissingDep => "missing_dep",
            Self::GenerationFailed => "generation_failed",
        }
    }
}

/// The steps of one queue entry in the main run (spec §4.1): write the recipe, then check
/// that it installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Generate the recipe (`tsuku create`, spec §4.2).
    Create,
    /// Install the recipe just generated (`tsuku install`, spec §4.3).
    Install,
}

/// The queue entry a main-run step works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    /// The entry's name (`bat`).
    pub name: &'a str,
    /// The entry's source (`github:sharkdp/bat`).
    pub source: &'a str,
    /// Where its recipe is written: `<output-dir>/<first letter>/<name>.toml`.
    pub recipe: &'a Path,
}

/// What the engine asks the generator to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job<'a> {
    /// Main run, [`Step::Create`]: write the target's recipe.
    Create(Target<'a>),
    /// Main run, [`Step::Install`]: check that the target's recipe installs.
    Install(Target<'a>),
    /// `validate` (spec §7.3): install `recipe` on this runner, in the Linux `family`
    /// (`None` on macOS, where there is no sandbox).
    Validate {
        /// The recipe file.
        recipe: &'a Path,
        /// The Linux family to install in.
        family: Option<Family>,
    },
}

/// A failed step as its failure record will say it (before the record gets its package ID
/// and timestamp, spec §1.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Pipeline category.
    pub category: Category,
    /// Finer reason (`timeout`, or the generator's own), empty when none.
    pub subcategory: String,
    /// Missing dependencies, empty when none.
    pub blocked_by: Vec<String>,
    /// What the generator said, trimmed and cut to 500 bytes (spec §4.5); for a validation
    /// install at most 1 KiB (issue #22).
    pub message: String,
    /// Blocked (waits on dependencies) rather than failed (spec §4.5 last column).
    pub blocked: bool,
}

/// What one finished generator process means, as [`Generator::read`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The exit code the step reports, which `validate` writes into its rows: for tsuku's
    /// validation installs the code of its `--json` output, else the process's.
    pub code: i32,
    /// A failure worth another attempt (tsuku: exit 5, its network code, spec §4.4, §7.3).
    /// The engine retries it with its own backoff while attempts remain, and counts it
    /// against the ecosystem's pace (issue #15) unless [`connect_failed`](Self::connect_failed).
    pub transient: bool,
    /// A transient failure whose connection never reached the upstream (issue #22): the
    /// process says its dial failed before any request was sent (for tsuku, Go's
    /// `dial tcp: lookup <host> …: no such host`, `connect: connection refused`, `connect:
    /// network is unreachable`, `connect: no route to host`). It is not push-back: the engine
    /// retries it with its backoff and counts it toward the unreachable streak
    /// (`--unreachable-after`), but does not slow the ecosystem's pace for it, since waiting
    /// longer between starts cannot help. An answer of the upstream (HTTP 429 or 5xx) and a
    /// timeout are push-back and leave it false. Always false when `transient` is false.
    pub connect_failed: bool,
    /// `None` when the step passed or said nothing about the recipe; else what its failure
    /// record says.
    pub failure: Option<Failure>,
    /// `Some(reason)` when the process says the machine cannot run installs at all, so the
    /// step says nothing about the recipe (issue #22): for tsuku's validation installs no
    /// container runtime, a container that could not start, or exit 11, 12 or 14. `failure`
    /// is then `None`. `validate` stops at the first one and marks its platform incomplete.
    pub unavailable: Option<String>,
    /// The verify command's exit code when an install passed and its verify step failed
    /// (tsuku's sandbox `verify_exit_code`, issue #22); `None` otherwise.
    pub verify_exit_code: Option<i32>,
}

impl Reading {
    /// Whether the step passed: no failure and a machine that could run it.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.unavailable.is_none()
    }
}

/// A program that writes recipes, as the engine sees it: how to run a [`Job`] and how to
/// read what the process left. See the module docs.
pub trait Generator: Send + Sync {
    /// The process that does `job`. The engine runs it as given, `Command::timeout` included.
    fn command(&self, job: &Job<'_>) -> Command;

    /// Reads the output of `job`'s process: the one reader of the generator's exit code,
    /// stdout and stderr, for the main run and `validate` alike. `last` is true when the
    /// engine will not retry this step again, so a transient failure is final and its
    /// [`Failure`] says so. Never called for [`Exit::Interrupted`](crate::runner::Exit):
    /// the engine handles stops itself.
    fn read(&self, job: &Job<'_>, output: &Output, last: bool) -> Reading;

    /// The line of a failure's `message` that a one-line log shows (the live log,
    /// `--joblog`, the run summary; issue #22). The record keeps the whole message. The
    /// default is the first non-blank line; a generator overrides it to skip its own
    /// notices.
    fn headline<'m>(&self, message: &'m str) -> &'m str {
        message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }

    /// Whether a validation install's output says the generator's own container deadline
    /// ended it, killing its container client and leaving the container running, as a kill
    /// by `validate`'s `--timeout` does (issue #22; tsuku: `container execution timed out`
    /// or `installation failed with exit code -1` in the sandbox JSON). `validate` then
    /// removes the sandbox containers as after its own timeout
    /// ([`ContainerCleanup`](crate::validate::ContainerCleanup)). The default is false: the
    /// generator leaves no container.
    fn abandons_container(&self, output: &Output) -> bool {
        let _ = output;
        false
    }
}
