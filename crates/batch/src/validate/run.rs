//! Installing each recipe on one platform runner (spec §7.3, issue #13): the install argv,
//! the retry of exit 5, the exit code taken from tsuku's JSON, `blocked_by` on exit 8, and
//! the concurrent loop over (recipe, family) tasks with a journal, a stop channel and a
//! time budget.
//!
//! Processes run through the main job's [`Runner`] (process-group kill on timeout, bounded
//! output), so tests drive this module with `runner::fake::ScriptedRunner` and a paused
//! tokio clock.

use std::ffi::OsString;
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
use crate::run::execute::percentile_90;
use crate::runner::classify::{Exit, parse_install_json};
use crate::runner::{Command, Output, Runner, RunnerError, Stop, stop_reached};

/// The exit code that is retried (tsuku's network error, spec §7.3).
pub const RETRY_EXIT_CODE: i32 = 5;
/// The sleeps before the second and the third attempt (spec §7.3: "sleep 2 s, then 4 s").
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(4)];
/// Install attempts per row at most (spec §7.3).
pub const MAX_ATTEMPTS: u32 = 3;
/// The exit code recorded for a timeout (GNU `timeout`'s, as the spec's `gtimeout 300`).
pub const TIMEOUT_EXIT_CODE: i32 = 124;
/// The exit code whose `missing_recipes` becomes `blocked_by` (spec §7.3).
pub const MISSING_DEP_EXIT_CODE: i32 = 8;
/// The variable passed into the sandbox by name (`--env GITHUB_TOKEN`) when it is set.
pub const TOKEN_VAR: &str = "GITHUB_TOKEN";

/// Settings of one validation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateConfig {
    /// The runner's platform (`--platform`).
    pub platform: JobPlatform,
    /// Linux families to validate in (`--family`); ignored on macOS.
    pub families: Vec<Family>,
    /// The tsuku binary (`--generator`).
    pub generator: PathBuf,
    /// Wall-time limit of one install attempt (`--timeout`, default 300 s as spec's `gtimeout`).
    pub timeout: Duration,
    /// Installs in flight at once (`--jobs`, at least 1).
    pub jobs: usize,
    /// The batch ID written into every row (`--batch-id`).
    pub batch_id: String,
    /// Add `--env GITHUB_TOKEN` on Linux (the caller sets it when the variable is set; the
    /// value never appears in argv: tsuku reads it from its own environment).
    pub pass_github_token: bool,
}

impl ValidateConfig {
    /// A configuration with the platform's default families, `tsuku`, 300 s, 2 jobs.
    pub fn new(platform: JobPlatform, batch_id: impl Into<String>) -> Self {
        Self {
            platform,
            families: platform.default_families().to_vec(),
            generator: PathBuf::from("tsuku"),
            timeout: Duration::from_secs(300),
            jobs: 2,
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
pub struct Task {
    /// The recipe.
    pub recipe: Recipe,
    /// The Linux family; `None` on macOS.
    pub family: Option<Family>,
}

/// One task per recipe and row family, recipe-major in the recipes' order.
pub fn tasks(config: &ValidateConfig, recipes: &[Recipe]) -> Vec<Task> {
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

/// The argv after the program: `install --json --force --recipe PATH`, plus on Linux
/// `--sandbox --target-family F` and `--env GITHUB_TOKEN` when asked (spec §7.3, issue #13).
pub fn install_args(config: &ValidateConfig, task: &Task) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "install".into(),
        "--json".into(),
        "--force".into(),
        "--recipe".into(),
        task.recipe.path.clone().into(),
    ];
    if let Some(f) = task.family {
        a.extend([
            "--sandbox".into(),
            "--target-family".into(),
            f.as_str().into(),
        ]);
        if config.pass_github_token {
            a.extend(["--env".into(), TOKEN_VAR.into()]);
        }
    }
    a
}

/// The row's platform name for a task on this runner.
pub fn row_platform(config: &ValidateConfig, family: Option<Family>) -> RowPlatform {
    config.platform.row(family)
}

/// A `skipped` row (an excluded recipe, spec §1.7): no exit code, attempts or `blocked_by`.
pub fn skipped_row(
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
    }
}

/// The exit code of one attempt (spec §7.3, issue #13): `install_exit_code` from the stdout
/// JSON, else its `exit_code`, else the process's own (128 + N for a signal, 124 for a
/// timeout).
pub fn exit_code_of(out: &Output) -> i32 {
    #[derive(serde::Deserialize)]
    struct Codes {
        #[serde(default)]
        install_exit_code: Option<i32>,
        #[serde(default)]
        exit_code: Option<i32>,
    }
    if let Ok(c) = serde_json::from_slice::<Codes>(&out.stdout)
        && let Some(code) = c.install_exit_code.or(c.exit_code)
    {
        return code;
    }
    match out.exit {
        Exit::Code(c) => c,
        Exit::Signal(n) => 128 + n,
        Exit::TimedOut(_) => TIMEOUT_EXIT_CODE,
        Exit::Interrupted => -1,
    }
}

/// Runs one task to its row: up to [`MAX_ATTEMPTS`] installs, exit 5 retried after 2 s then
/// 4 s (tokio sleeps), a timeout recorded as exit 124 with `timed_out` (not retried).
/// `Ok(None)` when the run was stopped before the row was finished (nothing to record).
///
/// # Errors
/// [`RunnerError`] when the generator could not be started at all.
pub async fn validate_one(
    runner: &dyn Runner,
    config: &ValidateConfig,
    task: &Task,
    stop: Option<&watch::Receiver<Stop>>,
) -> Result<Option<ValidationRow>, RunnerError> {
    let cmd = Command {
        program: config.generator.clone(),
        args: install_args(config, task),
        env: Vec::new(),
        current_dir: None,
        timeout: config.timeout,
        merge_output: false,
    };
    let mut attempts: u32 = 0;
    loop {
        attempts += 1;
        let out = runner.run(cmd.clone()).await?;
        if out.exit == Exit::Interrupted {
            return Ok(None);
        }
        let timed_out = matches!(out.exit, Exit::TimedOut(_));
        let code = if timed_out {
            TIMEOUT_EXIT_CODE
        } else {
            exit_code_of(&out)
        };
        if !timed_out && code == RETRY_EXIT_CODE && attempts < MAX_ATTEMPTS {
            let delay = RETRY_DELAYS[(attempts - 1) as usize];
            tokio::select! {
                () = tokio::time::sleep(delay) => continue,
                () = stop_reached(stop, Stop::Graceful) => return Ok(None),
            }
        }
        let blocked_by = if code == MISSING_DEP_EXIT_CODE {
            parse_install_json(&out.stdout).missing_recipes
        } else {
            Vec::new()
        };
        return Ok(Some(ValidationRow {
            recipe: task.recipe.name.clone(),
            platform: row_platform(config, task.family),
            status: if code == 0 {
                RowStatus::Pass
            } else {
                RowStatus::Fail
            },
            exit_code: Some(code),
            attempts: Some(attempts),
            blocked_by: Some(blocked_by),
            timed_out,
            path: task.recipe.rel.clone(),
            batch_id: config.batch_id.clone(),
            environment: Environment::Validation,
        }));
    }
}

/// Optional parts of [`execute`].
#[derive(Default)]
pub struct ExecuteOptions<'a> {
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
pub struct Executed {
    /// Finished rows, in the order they finished.
    pub rows: Vec<ValidationRow>,
    /// Tasks not started because they would not finish before the deadline.
    pub not_started: usize,
    /// Tasks stopped (or never started) because the run was stopped.
    pub interrupted: usize,
}

/// Errors of [`execute`].
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError {
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
    Failed(RunnerError),
}

/// Runs every task, at most `config.jobs` at once; every finished row goes to the journal
/// (if any) before the next result is taken. On a runner or journal error nothing new starts,
/// running tasks finish, and the first error is returned.
///
/// # Errors
/// [`ExecuteError`] as above.
pub async fn execute(
    runner: &dyn Runner,
    config: &ValidateConfig,
    tasks: &[Task],
    mut opts: ExecuteOptions<'_>,
) -> Result<Executed, ExecuteError> {
    let slots = Semaphore::new(config.jobs.max(1));
    let durations: Mutex<Vec<Duration>> = Mutex::new(Vec::new());
    let halted = std::sync::atomic::AtomicBool::new(false);
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
            let (slots, stop, stopped, fits, durations) =
                (&slots, stop.as_ref(), &stopped, &fits, &durations);
            async move {
                let slot = tokio::select! {
                    s = slots.acquire() => s.expect("the job semaphore is never closed"),
                    () = stop_reached(stop, Stop::Graceful) => return TaskEnd::Interrupted,
                };
                if stopped() {
                    return TaskEnd::Interrupted;
                }
                if !fits() {
                    return TaskEnd::NotStarted;
                }
                let t0 = tokio::time::Instant::now();
                let r = validate_one(runner, config, task, stop).await;
                if let Ok(Some(_)) = &r {
                    // Recorded before the slot is freed, so the next task's budget check
                    // sees it.
                    durations
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(t0.elapsed());
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
