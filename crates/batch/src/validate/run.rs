//! Installing each recipe on one platform runner (spec §7.3, issue #13): up to three
//! attempts of each (recipe, family) task, retrying what the [`Generator`] reads as
//! transient after 2 s then 4 s, and the concurrent loop over the tasks with a journal, a
//! stop channel and a time budget. The generator builds the install command
//! ([`Job::Validate`]) and reads its output into the row's exit code and `blocked_by`.
//!
//! Processes run through the main job's [`Runner`] (process-group kill on timeout, bounded
//! output), so tests drive this module with `runner::fake::ScriptedRunner` and a paused
//! tokio clock.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use tokio::sync::{Semaphore, watch};

use super::journal::{Journal, JournalError};
use super::platform::{Family, JobPlatform, RowPlatform};
use super::recipes::Recipe;
use super::results::{Environment, RowStatus, ValidationRow};
use crate::generator::{Failure, Generator, Job};
use crate::run::execute::percentile_90;
use crate::runner::{Exit, Runner, RunnerError, Stop, stop_reached};

/// The sleeps before the second and the third attempt (spec §7.3: "sleep 2 s, then 4 s").
pub(crate) const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(4)];
/// Install attempts per row at most (spec §7.3).
pub(crate) const MAX_ATTEMPTS: u32 = 3;

/// Settings of one validation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateConfig {
    /// The runner's platform (`--platform`).
    pub platform: JobPlatform,
    /// Linux families to validate in (`--family`); ignored on macOS.
    pub families: Vec<Family>,
    /// The tsuku binary (`--generator`), run by
    /// [`Tsuku::for_validation`](crate::tsuku::Tsuku::for_validation).
    pub generator: PathBuf,
    /// Wall-time limit of one install attempt (`--timeout`; default
    /// [`default_timeout`](super::defaults::default_timeout): 300 s on macOS as the workflow's
    /// `gtimeout`, 30 min on Linux, above tsuku's own 15-minute container limit).
    pub timeout: Duration,
    /// Installs in flight at once (`--jobs`, at least 1; default
    /// [`DEFAULT_JOBS`](super::defaults::DEFAULT_JOBS), as tsuku's workflow).
    pub jobs: usize,
    /// The batch ID written into every row (`--batch-id`).
    pub batch_id: String,
    /// Add `--env GITHUB_TOKEN` on Linux (the caller sets it when the variable is set; the
    /// value never appears in argv: tsuku reads it from its own environment).
    pub pass_github_token: bool,
}

impl ValidateConfig {
    /// A configuration with the platform's defaults: its families, `tsuku`, its timeout
    /// ([`default_timeout`](super::defaults::default_timeout)) and
    /// [`DEFAULT_JOBS`](super::defaults::DEFAULT_JOBS).
    pub fn new(platform: JobPlatform, batch_id: impl Into<String>) -> Self {
        Self {
            platform,
            families: platform.default_families().to_vec(),
            generator: PathBuf::from("tsuku"),
            timeout: super::defaults::default_timeout(platform.os()),
            jobs: usize::from(super::defaults::DEFAULT_JOBS),
            batch_id: batch_id.into(),
            pass_github_token: false,
        }
    }

    /// The families that get rows: `[None]` on macOS (one unsandboxed row), else each family
    /// once, in the order first given.
    pub fn row_families(&self) -> Vec<Option<Family>> {
        if self.platform.os() == super::platform::Os::Darwin {
            return vec![None];
        }
        let mut out: Vec<Option<Family>> = Vec::new();
        for f in &self.families {
            if !out.contains(&Some(*f)) {
                out.push(Some(*f));
            }
        }
        out
    }
}

/// One install to run: a recipe in one family (or on macOS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    /// The recipe.
    pub recipe: Recipe,
    /// The Linux family; `None` on macOS.
    pub family: Option<Family>,
}

/// One task per recipe and row family, recipe-major in the recipes' order.
pub(crate) fn tasks(config: &ValidateConfig, recipes: &[Recipe]) -> Vec<Task> {
    let fams = config.row_families();
    recipes
        .iter()
        .flat_map(|r| {
            fams.iter().map(|f| Task {
                recipe: r.clone(),
                family: *f,
            })
        })
        .collect()
}

/// The row's platform name for a task on this runner.
pub(crate) fn row_platform(config: &ValidateConfig, family: Option<Family>) -> RowPlatform {
    config.platform.row(family)
}

/// A `skipped` row (an excluded recipe, spec §1.7): no exit code, attempts or `blocked_by`.
pub(crate) fn skipped_row(
    config: &ValidateConfig,
    recipe: &Recipe,
    family: Option<Family>,
) -> ValidationRow {
    ValidationRow {
        recipe: recipe.name.clone(),
        platform: row_platform(config, family),
        status: RowStatus::Skipped,
        exit_code: None,
        attempts: None,
        blocked_by: None,
        timed_out: false,
        path: recipe.rel.clone(),
        batch_id: config.batch_id.clone(),
        environment: Environment::Validation,
        message: None,
        subcategory: None,
        verify_exit_code: None,
    }
}

/// `e` and its sources, joined by `: `.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(e), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

/// Runs one task to its row: up to [`MAX_ATTEMPTS`] installs, a transient failure (tsuku's
/// exit 5) retried after 2 s then 4 s (tokio sleeps); the row's exit code, `blocked_by`,
/// `message`, `subcategory` and `verify_exit_code` are the generator's reading of the last
/// attempt, `timed_out` when it ran past the timeout (tsuku's reading records exit 124 and
/// does not retry it). A reading that says the machine cannot run installs, or a generator
/// that cannot be spawned, gives an [`RowStatus::Incomplete`] row whose `message` is the
/// reason (issue #22). `Ok(None)` when the run was stopped before the row was finished
/// (nothing to record).
///
/// # Errors
/// [`RunnerError::Io`] when waiting for the generator failed.
pub(crate) async fn validate_one(
    generator: &dyn Generator,
    runner: &dyn Runner,
    config: &ValidateConfig,
    task: &Task,
    stop: Option<&watch::Receiver<Stop>>,
) -> Result<Option<ValidationRow>, RunnerError> {
    let job = Job::Validate {
        recipe: &task.recipe.path,
        family: task.family,
    };
    let cmd = generator.command(&job);
    let row = |status, exit_code, attempts| ValidationRow {
        recipe: task.recipe.name.clone(),
        platform: row_platform(config, task.family),
        status,
        exit_code,
        attempts: Some(attempts),
        blocked_by: None,
        timed_out: false,
        path: task.recipe.rel.clone(),
        batch_id: config.batch_id.clone(),
        environment: Environment::Validation,
        message: None,
        subcategory: None,
        verify_exit_code: None,
    };
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let out = match runner.run(cmd.clone()).await {
            Ok(out) => out,
            Err(e @ RunnerError::Spawn { .. }) => {
                return Ok(Some(ValidationRow {
                    message: Some(error_chain(&e)),
                    ..row(RowStatus::Incomplete, None, attempts)
                }));
            }
            Err(e) => return Err(e),
        };
        if out.exit == Exit::Interrupted {
            return Ok(None);
        }
        let last = attempts >= MAX_ATTEMPTS;
        let reading = generator.read(&job, &out, last);
        if reading.transient && !last {
            let delay = RETRY_DELAYS[(attempts - 1) as usize];
            tokio::select! {
                () = tokio::time::sleep(delay) => continue,
                () = stop_reached(stop, Stop::Graceful) => return Ok(None),
            }
        }
        if let Some(reason) = reading.unavailable {
            return Ok(Some(ValidationRow {
                message: Some(reason),
                ..row(RowStatus::Incomplete, None, attempts)
            }));
        }
        let passed = reading.passed();
        let failure = reading.failure.unwrap_or_else(|| Failure {
            category: crate::generator::Category::GenerationFailed,
            subcategory: String::new(),
            blocked_by: Vec::new(),
            message: String::new(),
            blocked: false,
        });
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        return Ok(Some(ValidationRow {
            blocked_by: Some(failure.blocked_by),
            timed_out: matches!(out.exit, Exit::TimedOut(_)),
            message: non_empty(failure.message),
            subcategory: non_empty(failure.subcategory),
            verify_exit_code: reading.verify_exit_code,
            ..row(
                if passed {
                    RowStatus::Pass
                } else {
                    RowStatus::Fail
                },
                Some(reading.code),
                attempts,
            )
        }));
    }
}

/// Optional parts of [`execute`].
#[derive(Default)]
pub(crate) struct ExecuteOptions<'a> {
    /// Each finished row is appended (and synced) here before the next is taken.
    pub journal: Option<&'a mut Journal>,
    /// From [`Stop::Graceful`] on nothing new starts and retries stop waiting; the runner
    /// stops running installs itself (it holds its own receiver).
    pub stop: Option<watch::Receiver<Stop>>,
    /// `--max-duration`'s deadline (tokio's clock): a task starts only if it is expected to
    /// finish before it (the 90th percentile of the task durations so far, or the timeout
    /// before there are any), as the main run's budget (issue #15).
    pub deadline: Option<tokio::time::Instant>,
    /// Told about every finished row.
    pub on_row: Option<&'a (dyn Fn(&ValidationRow) + Sync)>,
}

/// What [`execute`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Executed {
    /// Finished rows, in the order they finished.
    pub rows: Vec<ValidationRow>,
    /// Tasks not started because they would not finish before the deadline.
    pub not_started: usize,
    /// Tasks stopped (or never started) because the run was stopped.
    pub interrupted: usize,
    /// The first [`RowStatus::Incomplete`] row: the runner cannot run installs (issue #22).
    /// Never journaled, so a rerun installs its recipe again.
    pub incomplete: Option<ValidationRow>,
    /// Tasks not started (or whose reading was dropped) after the runner was found unable
    /// to run installs.
    pub abandoned: usize,
}

/// Errors of [`execute`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum ExecuteError {
    /// The generator could not be started.
    #[error("cannot run the generator")]
    Runner(#[from] RunnerError),
    /// A journal append failed.
    #[error("cannot append to the validation journal")]
    Journal(#[from] JournalError),
}

enum TaskEnd {
    Row(ValidationRow),
    NotStarted,
    Interrupted,
    Abandoned,
    Failed(RunnerError),
}

/// Runs every task, at most `config.jobs` at once; every finished row goes to the journal
/// (if any) before the next result is taken. On a runner or journal error nothing new starts,
/// running tasks finish, and the first error is returned. On the first
/// [`RowStatus::Incomplete`] row (issue #22) nothing new starts either, running tasks finish
/// (their rows are kept), and that row is returned apart, unjournaled.
///
/// # Errors
/// [`ExecuteError`] as above.
pub(crate) async fn execute(
    generator: &dyn Generator,
    runner: &dyn Runner,
    config: &ValidateConfig,
    tasks: &[Task],
    mut opts: ExecuteOptions<'_>,
) -> Result<Executed, ExecuteError> {
    let slots = Semaphore::new(config.jobs.max(1));
    let durations: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    let halted = std::sync::atomic::AtomicBool::new(false);
    let unavailable = std::sync::atomic::AtomicBool::new(false);
    let stop = opts.stop.take();
    let stopped = || {
        stop.as_ref().is_some_and(|s| *s.borrow() != Stop::Running)
            || halted.load(std::sync::atomic::Ordering::SeqCst)
    };
    let fits = || {
        let Some(deadline) = opts.deadline else {
            return true;
        };
        let expected = percentile_90(&durations.lock().unwrap_or_else(|p| p.into_inner()))
            .unwrap_or(config.timeout);
        tokio::time::Instant::now() + expected <= deadline
    };
    let mut running: FuturesUnordered<_> = tasks
        .iter()
        .map(|task| {
            let (slots, stop, stopped, fits, durations, unavailable) = (
                &slots,
                stop.as_ref(),
                &stopped,
                &fits,
                &durations,
                &unavailable,
            );
            async move {
                let slot = tokio::select! {
                    s = slots.acquire() => s.expect("the job semaphore is never closed"),
                    () = stop_reached(stop, Stop::Graceful) => return TaskEnd::Interrupted,
                };
                if stopped() {
                    return TaskEnd::Interrupted;
                }
                if unavailable.load(std::sync::atomic::Ordering::SeqCst) {
                    return TaskEnd::Abandoned;
                }
                if !fits() {
                    return TaskEnd::NotStarted;
                }
                let t0 = tokio::time::Instant::now();
                let r = validate_one(generator, runner, config, task, stop).await;
                if let Ok(Some(_)) = &r {
                    // Recorded before the slot is freed, so the next task's budget check
                    // sees it.
                    durations
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(t0.elapsed());
                }
                if let Ok(Some(row)) = &r
                    && row.status == RowStatus::Incomplete
                {
                    // Before the slot is freed, so no other task starts on this runner.
                    unavailable.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                drop(slot);
                match r {
                    Ok(Some(row)) => TaskEnd::Row(row),
                    Ok(None) => TaskEnd::Interrupted,
                    Err(e) => TaskEnd::Failed(e),
                }
            }
        })
        .collect();
    let mut done = Executed::default();
    let mut first_error: Option<ExecuteError> = None;
    while let Some(end) = running.next().await {
        match end {
            TaskEnd::Row(row) if row.status == RowStatus::Incomplete => {
                if done.incomplete.is_none() {
                    if let Some(f) = opts.on_row {
                        f(&row);
                    }
                    done.incomplete = Some(row);
                } else {
                    done.abandoned += 1;
                }
            }
            TaskEnd::Row(row) => {
                if first_error.is_none()
                    && let Some(j) = opts.journal.as_deref_mut()
                    && let Err(e) = j.append_row(&row)
                {
                    halted.store(true, std::sync::atomic::Ordering::SeqCst);
                    first_error = Some(e.into());
                }
                if let Some(f) = opts.on_row {
                    f(&row);
                }
                done.rows.push(row);
            }
            TaskEnd::NotStarted => done.not_started += 1,
            TaskEnd::Interrupted => done.interrupted += 1,
            TaskEnd::Abandoned => done.abandoned += 1,
            TaskEnd::Failed(e) => {
                halted.store(true, std::sync::atomic::Ordering::SeqCst);
                if first_error.is_none() {
                    first_error = Some(e.into());
                }
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(done),
    }
}
