//! The main job and its sharded form (`--shard K/N`): builds the library's [`MainRun`] from the
//! flags, shows what it reports (plan findings, progress, recovery), installs the signal
//! handlers once the run is committed, and prints the result. `--dry-run` prints the plan and
//! writes nothing.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use batch::Config;
use batch::clock::SystemClock;
use batch::run::{Event, Hooks, Notice, Plan, Recovery, RunError};
use batch::runner::{ProcessRunner, Stop, parent_death_helper};
use batch::sequence::{DryRun, Finished, MainRun, SequenceError, ShardTarget, Stage};
use batch::tsuku::Tsuku;
use tokio::sync::watch;

use crate::error::Hint;
use crate::exit::Ending;
use crate::github;
use crate::joblog::JobLog;
use crate::pacing::{Pacing, summary_line};
use crate::progress::Progress;
use crate::render::json::{Budget, KillSwitchDoc, PlanDoc, RunDoc, ShardDoc, unreachable_counts};
use crate::render::{log, print_json, text};
use crate::signal::SignalState;

/// Output options of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Print the plan and write nothing.
    pub dry_run: bool,
    /// JSON on stdout instead of nothing.
    pub json: bool,
    /// Allow an interactive progress bar.
    pub progress_bar: bool,
    /// Bytes kept per generator stream.
    pub max_output: usize,
    /// Invalid queue entries are an error instead of being skipped.
    pub strict: bool,
    /// `--joblog FILE`: one line per generator process.
    pub joblog: Option<PathBuf>,
    /// `--validation-out FILE`: the generation environment's result rows.
    pub validation_out: Option<PathBuf>,
}

/// Runs the main job for `config`, whole or as the shard `shard` names.
///
/// Whole: take the run lock (exit 3 when another run holds it), finish an interrupted run from
/// its journal, plan, execute with a fresh journal, apply and persist. A shard plans at
/// `--planned-at`, runs its part with every rate limit N times slower and writes one fragment.
/// SIGINT/SIGTERM stop dispatching and stop running generators; everything finished is saved
/// and the run ends with [`Ending::Signal`].
///
/// # Errors
/// Bad input (queue, control file, journal, missing generator), the lock, and write errors,
/// each with a hint.
pub async fn run(
    config: &Config,
    opts: Options,
    shard: Option<ShardTarget>,
) -> anyhow::Result<Ending> {
    let wall = std::time::Instant::now();
    let deadline = config.max_duration.map(|d| tokio::time::Instant::now() + d);
    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let tsuku = Tsuku::for_run(config);
    let hooks = CliHooks {
        generator: &tsuku,
        config,
        shard: shard.is_some(),
        rate_scale: shard.as_ref().map_or(1, |t| t.shard.count),
        progress_bar: opts.progress_bar && !opts.json,
        progress: OnceLock::new(),
        stop_tx: Mutex::new(Some(stop_tx.clone())),
        signals: OnceLock::new(),
        joblog: opts.joblog.as_deref().map(JobLog::new),
        pacing: Pacing::default(),
    };
    let runner = ProcessRunner {
        kill_grace: config.kill_grace,
        max_output: opts.max_output,
        stop: Some(stop_rx),
        parent_death: if opts.dry_run {
            None
        } else {
            parent_death_helper()
        },
        ..ProcessRunner::default()
    };
    let clock = SystemClock;
    // The run records the runner's processes in its journal, and stops what still runs at
    // the deadline of --max-duration as on SIGTERM.
    let mut main = MainRun::with_processes(config, &tsuku, &runner, &clock)
        .hooks(&hooks)
        .stop(stop_tx)
        .strict(opts.strict)
        .check_generator(true);
    if let Some(target) = shard.clone() {
        main = main.shard(target);
    }
    if let Some(d) = deadline {
        main = main.deadline(d);
    }
    let config = main.config().clone();

    if opts.dry_run {
        let DryRun { plan, .. } = main.dry_run().map_err(with_hint)?;
        if plan.kill_switch {
            return Ok(kill_switch(&config, &plan, opts, shard.as_ref()));
        }
        if opts.json && shard.is_none() {
            print_json(&PlanDoc::new(&config, &plan));
        } else {
            crate::out!("{}", text::render_plan(&config, &plan));
        }
        return Ok(Ending::Success);
    }

    let finished = main.run().await.map_err(with_hint)?;
    let signal = hooks.signals.get().and_then(SignalState::received);
    match &finished {
        Finished::KillSwitch(plan) => Ok(kill_switch(&config, plan, opts, shard.as_ref())),
        Finished::Batch { report, .. } => {
            for w in &report.warnings {
                tracing::warn!("{w}");
            }
            log::breaker_changes(report);
            crate::errln!(
                "{}",
                text::run_summary(&report.results, report.invalid, wall.elapsed())
            );
            let rates = hooks.pacing.rates(&config.rate_limit);
            print_rates(&rates);
            if let Some(out) = &opts.validation_out {
                write_generation_rows(out, &finished)?;
            }
            if opts.json {
                print_json(&RunDoc::new(report, wall.elapsed()).rates(rates));
            }
            let budget = Budget::of(report.not_run.iter().map(|(_, _, r)| r.as_str()));
            let unreachable = unreachable_counts(report.not_run.iter().map(|(_, _, r)| r.as_str()));
            // With --max-duration, `budget_reached=N` and `budget_stopped=M` (0 too) join the
            // outputs; `unreachable=ECO,…` when an ecosystem was declared unreachable.
            let mut extra = match config.max_duration {
                Some(_) => {
                    let b = budget.unwrap_or_default();
                    vec![
                        ("budget_reached", b.not_started.to_string()),
                        ("budget_stopped", b.stopped.to_string()),
                    ]
                }
                None => Vec::new(),
            };
            if !unreachable.is_empty() {
                let ecos: Vec<&str> = unreachable.keys().map(String::as_str).collect();
                extra.push(("unreachable", ecos.join(",")));
            }
            github::report_run(report, extra, github::in_actions())?;
            Ok(ending(
                signal,
                budget,
                &unreachable,
                report.not_run.len(),
                "are unchanged in the queue; everything finished was saved",
            ))
        }
        Finished::Shard { fragment, path, .. } => {
            let doc = ShardDoc::new(fragment, path, wall.elapsed());
            let counts = crate::render::json::Counts::sum(fragment.per_ecosystem.values());
            crate::errln!(
                "Shard {} complete: {} succeeded, {} failed, {} blocked ({} total) in {:.1}s{}; fragment `{}`",
                fragment.shard(),
                counts.succeeded,
                counts.failed,
                counts.blocked,
                counts.total,
                wall.elapsed().as_secs_f64(),
                text::not_run_note(fragment.not_run.iter().map(|n| n.name.as_str())),
                path.display()
            );
            let rates = hooks
                .pacing
                .rates(&config.rate_limit.scaled(fragment.shard().count));
            print_rates(&rates);
            if let Some(out) = &opts.validation_out {
                write_generation_rows(out, &finished)?;
            }
            if opts.json {
                print_json(&doc.rates(rates));
            }
            Ok(ending(
                signal,
                Budget::of(fragment.not_run.iter().map(|n| n.reason.as_str())),
                &unreachable_counts(fragment.not_run.iter().map(|n| n.reason.as_str())),
                fragment.not_run.len(),
                "are listed in the fragment and stay unchanged",
            ))
        }
    }
}

/// `--validation-out`: writes the generation rows the library makes for `finished`, for
/// `aggregate` (issue #13); nothing after the kill switch.
fn write_generation_rows(out: &std::path::Path, finished: &Finished) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let Some(rows) = finished
        .generation_rows()
        .with_context(|| format!("cannot write {}", out.display()))?
    else {
        return Ok(());
    };
    rows.write(out)
        .map_err(anyhow::Error::new)
        .context(Hint(
            "the batch's own files were saved; fix the path and rerun with --name to rewrite nothing but this file",
        ))?;
    tracing::info!(
        "{} generation row(s) written to {}",
        rows.rows.len(),
        out.display()
    );
    Ok(())
}

/// The summary's `rates:` line, when any `create` started.
fn print_rates(rates: &[crate::pacing::EcosystemRate]) {
    let line = summary_line(rates);
    if !line.is_empty() {
        crate::errln!("{line}");
    }
}

/// How a run or shard that finished ends: by the first signal received, else success with
/// `budget reached: N entries not started[, M stopped at the deadline]` when `--max-duration`
/// left `budget` entries out and `not run: ECO unreachable (N entries)` per ecosystem declared
/// unreachable (issue #22),
/// else [`Ending::NotRun`] when candidates could not run (the generator could not be
/// started), else success. `where_kept` ends the log line about the candidates not run.
fn ending(
    signal: Option<i32>,
    budget: Option<Budget>,
    unreachable: &std::collections::BTreeMap<String, usize>,
    not_run: usize,
    where_kept: &str,
) -> Ending {
    if let Some(sig) = signal {
        tracing::warn!(
            "stopped by {}: {not_run} candidate(s) not run {where_kept}",
            crate::signal::name(sig)
        );
        return Ending::Signal(sig);
    }
    if let Some(b) = budget {
        let stopped = if b.stopped > 0 {
            format!(", {} stopped at the deadline", b.stopped)
        } else {
            String::new()
        };
        crate::errln!(
            "budget reached: {} entries not started{stopped}",
            b.not_started
        );
    }
    // Entries of an unreachable ecosystem are data, as budget ones: they stay as they were.
    let mut unreached = 0;
    for (eco, n) in unreachable {
        crate::errln!(
            "not run: {} ({n} entries)",
            batch::run::unreachable_reason(eco)
        );
        unreached += n;
    }
    let explained = budget.map_or(0, Budget::total) + unreached;
    if not_run == explained {
        Ending::Success
    } else {
        let not_run = not_run - unreached;
        tracing::error!(
            "{not_run} candidate(s) were not run because the generator could not be started; they {where_kept}"
        );
        Ending::NotRun
    }
}

/// The kill switch is off: log it (and print `--json`); nothing ran.
fn kill_switch(config: &Config, plan: &Plan, opts: Options, shard: Option<&ShardTarget>) -> Ending {
    if let Some(t) = shard {
        tracing::warn!(
            "the kill switch is on: shard {} writes no fragment",
            t.shard
        );
    }
    let reason = log::kill_switch(config, plan);
    if opts.json {
        print_json(&KillSwitchDoc::new(reason, opts.dry_run));
    }
    Ending::Success
}

/// Adds the hint that says what the files on disk hold after the stage that failed.
fn with_hint(e: SequenceError) -> anyhow::Error {
    let hint = match (&e.stage, &e.error) {
        (_, RunError::InvalidEntries { .. }) => Some(
            "fix those entries, or run without --strict to skip them; nothing was run or written",
        ),
        (_, RunError::GeneratorNotFound { .. }) => {
            Some("pass --generator PATH, or put tsuku on PATH; nothing was run")
        }
        (Stage::Lock, _) if crate::exit::holds_lock(&e.error) => {
            Some("wait for it to finish; nothing was run or written")
        }
        (Stage::Recover, _) => {
            Some("the journal is kept; fix the cause and run again to finish the interrupted run")
        }
        (Stage::Execute, _) => Some("outcomes journaled so far are applied by the next run"),
        (Stage::Persist, _) => {
            Some("the journal is kept: fix the cause and run again to save this run's outcomes")
        }
        (Stage::Fragment, _) => Some(
            "check the --fragment-dir path and its free space, then rerun this shard; nothing else was written",
        ),
        _ => None,
    };
    match hint {
        Some(h) => anyhow::Error::new(e).context(Hint(h)),
        None => anyhow::Error::new(e),
    }
}

/// What the CLI shows of a run: logs, the progress display, signal handlers.
struct CliHooks<'a> {
    config: &'a Config,
    shard: bool,
    /// N of a shard (whose rate limits are N times slower), else 1.
    rate_scale: u32,
    progress_bar: bool,
    progress: OnceLock<Progress>,
    stop_tx: Mutex<Option<watch::Sender<Stop>>>,
    signals: OnceLock<SignalState>,
    joblog: Option<JobLog>,
    pacing: Pacing,
    /// The run's generator: picks the line of a failure's message the log shows.
    generator: &'a dyn batch::generator::Generator,
}

impl Hooks for CliHooks<'_> {
    fn planned(&self, plan: &Plan) {
        log::plan_findings(self.config, plan);
    }

    fn recovered(&self, recovery: &Recovery) {
        log::recovery(recovery);
    }

    fn notice(&self, notice: Notice<'_>) {
        log::notice(&notice, self.shard);
    }

    fn committed(&self) {
        let tx = self
            .stop_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(tx) = tx {
            match SignalState::listen(tx) {
                Ok(s) => {
                    let _ = self.signals.set(s);
                }
                Err(e) => tracing::warn!("{e:#}; a signal will stop the run at once"),
            }
        }
    }

    fn executing(&self, plan: &Plan) {
        github::group(&format!(
            "{} candidate(s), one line each",
            plan.selection.candidates.len()
        ));
        let _ = self.progress.set(Progress::new(
            plan.counts(),
            self.config.rate_limit.scaled(self.rate_scale),
            self.config.jobs,
            self.progress_bar,
        ));
    }

    fn event(&self, event: Event<'_>) {
        if let Some(j) = &self.joblog {
            j.record(&event, self.generator);
        }
        self.pacing.record(&event);
        if let Some(p) = self.progress.get() {
            p.on_event(event, self.generator);
        }
    }

    fn executed(&self) {
        if let Some(p) = self.progress.get() {
            p.finish();
        }
        github::end_group();
    }
}
