//! `batch-generate validate` (spec §7.3, issue #13): installs the batch's new recipes on this
//! platform runner through the main job's process runner, writes
//! `validation-results-<platform>.json`, prints the counts and appends them to
//! `$GITHUB_STEP_SUMMARY`.
//!
//! SIGINT/SIGTERM stop running installs (their process groups) and start nothing new; the
//! journal keeps every finished row, no results file is written, and the exit code is
//! 128 + N. At the `--max-duration` deadline the same stop happens, but the rows finished are
//! written (a partial file), the journal is kept for a rerun, and the exit code is 0.
//!
//! On Linux the runner is wrapped in [`ContainerCleanup`]: an install killed by `--timeout`, or
//! one tsuku reports as ended by its own container deadline, has its sandbox containers removed when no other install ran beside it (see
//! `batch::validate::containers`); each step is logged.
//!
//! A runner that cannot run installs (issue #22) stops the job at the first such install:
//! the library writes the rows so far plus a final `incomplete` row and keeps the journal;
//! the exit code is [`crate::exit::PLATFORM_INCOMPLETE`].

use anyhow::Context as _;
use batch::runner::{ProcessRunner, Runner, Stop, parent_death_helper};
use batch::tsuku::Tsuku;
use batch::validate::job::write_results;
use batch::validate::{
    Cleanup, CleanupOutcome, ContainerCleanup, JobOptions, Os, RowStatus, ValidateConfig,
    ValidateError, ValidateFiles, ValidationRow, validate_files,
};
use tokio::sync::watch;

use crate::cli::validate::ValidateArgs;
use crate::error::{Hint, UsageError};
use crate::exit::Ending;
use crate::render::print_json;
use crate::render::validate::{ValidateDoc, step_summary, text};
use crate::signal::SignalState;

/// Runs `validate`: [`Ending::Success`] when the results file was written (failed installs
/// are data), [`Ending::Incomplete`] when the runner could not run installs (issue #22),
/// [`Ending::Signal`] when stopped by a signal.
///
/// # Errors
/// A family on macOS (usage, exit 2); a missing generator, an unreadable recipes directory,
/// a bad exclusions file, a foreign or corrupt journal, a write error (exit 1), each with a
/// hint.
pub async fn run(args: &ValidateArgs, max_output: usize) -> anyhow::Result<Ending> {
    let platform = args.platform;
    if platform.os() == Os::Darwin && !args.families.is_empty() {
        return Err(UsageError(format!(
            "--family is for Linux runners; {platform} has one unsandboxed row"
        ))
        .into());
    }
    // A missing generator is not refused here (issue #22): like a runner without a container
    // runtime, it makes the platform incomplete (a final `incomplete` row naming it, exit 5),
    // so `aggregate` can say why this platform did not report.
    crate::cli::run::check_budget(args.max_duration, args.timeout(), "installs")?;
    let families = args.families.clone();
    let config = ValidateConfig {
        platform,
        families: if families.is_empty() {
            platform.default_families().to_vec()
        } else {
            families
        },
        generator: args.generator.clone(),
        timeout: args.timeout(),
        jobs: usize::from(args.jobs),
        batch_id: args.batch_id.clone(),
        pass_github_token: std::env::var_os(batch::tsuku::TOKEN_VAR).is_some(),
    };
    let files = ValidateFiles {
        recipes: args.recipes.clone(),
        out: args.out(),
        exclusions: args.exclusions.clone(),
    };

    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let deadline = args.max_duration.map(|d| tokio::time::Instant::now() + d);
    let deadline_task = deadline.map(|d| {
        let tx = stop_tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(d).await;
            tx.send_if_modified(|s| {
                let running = *s == Stop::Running;
                if running {
                    *s = Stop::Graceful;
                }
                running
            });
        })
    });
    let signals = match SignalState::listen(stop_tx) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("{e:#}; a signal will stop validate at once");
            None
        }
    };
    let process = ProcessRunner {
        kill_grace: args.kill_grace,
        max_output,
        stop: Some(stop_rx.clone()),
        parent_death: parent_death_helper(),
        ..ProcessRunner::default()
    };
    let tsuku = Tsuku::for_validation(&config);
    // On Linux a timed-out install's sandbox container outlives the killed tsuku client, be
    // it killed by our `--timeout` or by tsuku's own container deadline.
    let cleanup;
    let runner: &dyn Runner = if platform.os() == Os::Linux {
        cleanup = ContainerCleanup::new(&process, ContainerCleanup::runtimes_on_path())
            .with_generator(&tsuku)
            .on_cleanup(&log_cleanup);
        &cleanup
    } else {
        &process
    };
    let on_row = |r: &ValidationRow| {
        let status = match r.status {
            RowStatus::Pass => "pass",
            RowStatus::Fail => "fail",
            RowStatus::Skipped => "skipped",
            RowStatus::Incomplete => "incomplete",
        };
        if r.status == RowStatus::Incomplete {
            tracing::warn!(
                "{} on {}: this runner cannot run installs: {}",
                r.recipe,
                r.platform,
                r.message.as_deref().unwrap_or("")
            );
            return;
        }
        let why = r
            .message
            .as_deref()
            .map(|m| format!(": {}", batch::tsuku::headline(m)))
            .unwrap_or_default();
        tracing::info!(
            "{} on {}: {status} (exit {}, {} attempt(s)){why}",
            r.recipe,
            r.platform,
            r.exit_code.unwrap_or(-1),
            r.attempts.unwrap_or(0)
        );
    };
    let result = validate_files(
        &config,
        &files,
        &tsuku,
        runner,
        JobOptions {
            stop: Some(stop_rx),
            deadline,
            on_row: Some(&on_row),
        },
    )
    .await;
    if let Some(t) = deadline_task {
        t.abort();
    }
    let mut outcome = result.map_err(with_hint)?;
    for r in &outcome.rejected {
        tracing::warn!("not validated: {} ({})", r.rel, r.reason.describe());
    }
    let signal = signals.as_ref().and_then(SignalState::received);
    if signal.is_none() && !outcome.complete() && outcome.unavailable.is_none() {
        // Out of budget: write what finished so aggregate sees this platform, keep the journal.
        write_results(&files.out, &outcome.rows)
            .with_context(|| Hint("check that the directory of --out is writable"))?;
        outcome.written = Some(files.out.clone());
        tracing::warn!(
            "budget reached: {} rows not started, {} stopped; wrote the finished rows",
            outcome.not_started,
            outcome.interrupted
        );
    }
    if args.report.json {
        print_json(&ValidateDoc::new(platform, &config.batch_id, &outcome));
    } else {
        crate::out!("{}", text(platform, &outcome));
    }
    crate::github::append_step_summary(&step_summary(platform, &outcome))?;
    if let Some(sig) = signal {
        tracing::warn!(
            "stopped by {}; finished rows are in {}: run again to finish",
            crate::signal::name(sig),
            batch::validate::journal::path_for(&files.out).display()
        );
        return Ok(Ending::Signal(sig));
    }
    if let Some(why) = &outcome.unavailable {
        tracing::error!(
            "{platform} did not finish: this runner cannot run installs ({why}); {} wrote the rows so far and an incomplete row, fix the runner and run again to finish",
            files.out.display()
        );
        return Ok(Ending::Incomplete);
    }
    Ok(Ending::Success)
}

/// Logs one step of removing a timed-out install's sandbox containers.
fn log_cleanup(c: &Cleanup) {
    let install = &c.install;
    match &c.outcome {
        CleanupOutcome::Removed { runtime, ids } if ids.is_empty() => tracing::info!(
            "{install} timed out; `{} ps` shows no sandbox container left",
            runtime.display()
        ),
        CleanupOutcome::Removed { runtime, ids } => tracing::info!(
            "{install} timed out; removed its sandbox container(s) with `{} rm -f {}`",
            runtime.display(),
            ids.join(" ")
        ),
        CleanupOutcome::Shared => tracing::warn!(
            "{install} timed out while other installs ran (--jobs > 1); its sandbox container \
             cannot be told apart from theirs and is left to the runner's teardown"
        ),
        CleanupOutcome::NoRuntime => tracing::warn!(
            "{install} timed out; neither podman nor docker is on PATH, so its sandbox \
             container (if any) was not removed"
        ),
        CleanupOutcome::Failed {
            runtime,
            step,
            reason,
        } => tracing::warn!(
            "{install} timed out; `{} {step}` of its sandbox containers failed: {reason}",
            runtime.display()
        ),
    }
}

/// Adds what to do to a library error.
fn with_hint(e: ValidateError) -> anyhow::Error {
    let hint = match &e {
        ValidateError::Recipes(_) => {
            "pass --recipes DIR naming the batch's recipes (<letter>/<name>.toml); nothing was run or written"
        }
        ValidateError::Exclusions(_) => {
            "fix the file at that position (it must be {\"exclusions\":[{\"recipe\":\"NAME\"}, ...]}) or leave out --exclusions; nothing was run or written"
        }
        ValidateError::Journal(batch::validate::journal::JournalError::Foreign { .. }) => {
            "the journal of another job is in the way; nothing was run or written"
        }
        ValidateError::Journal(_) => {
            "the rows finished so far are in the journal; fix the cause and run again to resume"
        }
        ValidateError::Results(_) => {
            "the rows finished are kept in the journal; make --out writable and run again"
        }
        ValidateError::Runner(_) => {
            "check --generator; finished rows are kept in the journal, run again to resume"
        }
    };
    anyhow::Error::new(e).context(Hint(hint))
}
