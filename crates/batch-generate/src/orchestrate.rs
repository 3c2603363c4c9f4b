//! The main job as the CLI runs it: plan, report what the plan found, then either print the
//! plan (`--dry-run`) or execute, apply, persist and report. Maps the outcome to an exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use batch::Config;
use batch::control::RecoveryNote;
use batch::control::breaker::Change;
use batch::run::lock::{LockError, RunLock};
use batch::run::{self, ExecuteOptions, Plan, Recovery, RunReport};
use batch::runner::{ProcessRunner, Stop, find_program};
use batch_base::clock::{Clock, SystemClock};
use serde_json::json;
use tokio::sync::watch;

use crate::error::Hint;
use crate::exit;
use crate::progress::Progress;

/// Output options of a run.
#[derive(Debug, Clone, Copy)]
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
}

/// Runs the main job for `config`; returns the exit code.
///
/// Order: take the run lock (exit 3 when another run holds it), finish an interrupted run from
/// its journal, plan, then execute with a fresh journal, apply and persist. SIGINT/SIGTERM stop
/// dispatching and stop running generators; everything finished is saved and the exit code is
/// 128 + the signal number.
///
/// # Errors
/// Bad input (queue, control file, journal, missing generator) and write errors, with a hint.
pub async fn run(config: &Config, opts: Options) -> anyhow::Result<i32> {
    let clock = SystemClock;
    if opts.dry_run {
        let plan = run::plan(config, &clock)?;
        report_plan_findings(config, &plan);
        strict_check(config, &plan, opts)?;
        if batch::run::journal::path_for(&config.queue).exists() {
            tracing::warn!(
                "an interrupted run left `{}`; the next real run first applies its outcomes",
                batch::run::journal::path_for(&config.queue).display()
            );
        }
        if plan.kill_switch {
            return Ok(kill_switch(config, &plan, opts));
        }
        if opts.json {
            print_json(&plan_json(config, &plan));
        } else {
            print!("{}", render_plan(config, &plan));
        }
        return Ok(exit::SUCCESS);
    }

    // Validate the inputs before taking the lock, so a run refused for bad input, the kill
    // switch or a missing generator writes nothing at all (not even the lock file).
    let inputs_before = fingerprint(config);
    let preflight = run::plan(config, &clock)?;
    if preflight.kill_switch {
        report_plan_findings(config, &preflight);
        return Ok(kill_switch(config, &preflight, opts));
    }
    strict_check(config, &preflight, opts)?;
    let journal_path = batch::run::journal::path_for(&config.queue);
    check_generator(
        config,
        !preflight.selection.candidates.is_empty() || journal_path.exists(),
    )?;
    let _lock = match RunLock::acquire(&config.queue) {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            eprintln!("error: {e}\nhint: wait for it to finish; nothing was run or written");
            return Ok(exit::LOCKED);
        }
        Err(e) => return Err(e.into()),
    };

    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let signal = SignalState::listen(stop_tx)?;
    remove_stale_temp_files(config);

    // Under the lock, the preflight plan is reused when nothing changed since it was made (no
    // journal to replay, queue and control file the same files): a 1M-entry queue is then
    // parsed once, not twice (issue #5).
    let mut plan = if !journal_path.exists() && fingerprint(config) == inputs_before {
        preflight
    } else {
        drop(preflight);
        let recovery = run::recover(config, &clock).context(Hint(
            "the journal is kept; fix the cause and run again to finish the interrupted run",
        ))?;
        if let Some(r) = &recovery {
            report_recovery(r);
        }
        let exclude = recovery.map(|r| r.indices).unwrap_or_default();
        run::plan_excluding(config, &clock, &exclude)?
    };
    report_plan_findings(config, &plan);
    if plan.kill_switch {
        return Ok(kill_switch(config, &plan, opts));
    }
    check_generator(config, !plan.selection.candidates.is_empty())?;

    let mut journal = batch::run::journal::Journal::create(
        &journal_path,
        batch::records::timestamp::Rfc3339::utc(plan.started),
    )?;
    let runner = ProcessRunner {
        kill_grace: config.kill_grace,
        max_output: opts.max_output,
        stop: Some(stop_rx.clone()),
    };
    let progress = Progress::new(
        plan.selection.candidates.len(),
        opts.progress_bar && !opts.json,
    );
    let on_event = |ev: run::Event<'_>| progress.on_event(ev);
    let exec = ExecuteOptions {
        journal: Some(&mut journal),
        stop: Some(stop_rx),
    };
    let results = run::execute_with(&plan, config, &runner, &clock, &on_event, exec)
        .await
        .context(Hint(
            "outcomes journaled so far are applied by the next run",
        ));
    progress.finish();
    let results = results?;
    let mut report = run::apply(&mut plan, &results, config, &clock);
    run::persist_with(&mut plan, &mut report, config, &clock, Some(&mut journal)).context(Hint(
        "the journal is kept: fix the cause and run again to save this run's outcomes",
    ))?;
    report_run(&report, opts);

    Ok(finish_code(
        signal.received(),
        report.not_run.len(),
        "are unchanged in the queue; everything finished was saved",
    ))
}

/// The exit code at the end of a run or shard: 128 + the first signal received, else 1 when
/// candidates could not run (the generator could not be started), else 0. `where_kept` ends
/// the log line about the candidates not run.
pub(crate) fn finish_code(signal: Option<i32>, not_run: usize, where_kept: &str) -> i32 {
    if let Some(sig) = signal {
        tracing::warn!("stopped by signal {sig}: {not_run} candidate(s) not run {where_kept}");
        return 128 + sig;
    }
    if not_run == 0 {
        exit::SUCCESS
    } else {
        tracing::error!(
            "{not_run} candidate(s) were not run because the generator could not be started; they {where_kept}"
        );
        exit::FAILURE
    }
}

/// With `--strict`, invalid entries stop the run before anything is run or written.
pub(crate) fn strict_check(config: &Config, plan: &Plan, opts: Options) -> anyhow::Result<()> {
    let Some(first) = plan.selection.invalid.first().filter(|_| opts.strict) else {
        return Ok(());
    };
    Err(anyhow::anyhow!(
        "queue `{}` has {} invalid entr{}; the first is entry {} ({:?}): {}",
        config.queue.display(),
        plan.selection.invalid.len(),
        if plan.selection.invalid.len() == 1 {
            "y"
        } else {
            "ies"
        },
        first.index,
        first.name,
        first.problems.join("; ")
    ))
    .context(Hint(
        "fix those entries, or run without --strict to skip them; nothing was run or written",
    ))
}

/// Which files the queue and control file are: device, inode, size and modification time.
/// An atomic replace gives a new inode; an edit in place a new size or time.
/// Fails when the generator is `needed` but cannot be found or run.
pub(crate) fn check_generator(config: &Config, needed: bool) -> anyhow::Result<()> {
    if !needed || find_program(&config.generator).is_some() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "generator `{}` not found or not executable",
        config.generator.display()
    ))
    .context(Hint(
        "pass --generator PATH, or put tsuku on PATH; nothing was run",
    ))
}

type FileId = Option<(u64, u64, u64, i64, i64)>;

fn fingerprint(config: &Config) -> Vec<FileId> {
    use std::os::unix::fs::MetadataExt;
    [&config.queue, &config.control_file]
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

/// Removes temporary files a killed run left beside the files this run writes (safe: we hold
/// the lock). Failures here are only logged.
pub(crate) fn remove_stale_temp_files(config: &Config) {
    let dirs: std::collections::BTreeSet<&std::path::Path> = [
        config.queue.parent(),
        config.control_file.parent(),
        config.results.parent(),
        config.summary.parent(),
        Some(config.failures_dir.as_path()),
    ]
    .into_iter()
    .flatten()
    .collect();
    for dir in dirs {
        match batch_base::fs::remove_stale_temp_files(dir) {
            Ok(removed) => {
                for p in removed {
                    tracing::info!(
                        "removed a temporary file left by a killed run: {}",
                        p.display()
                    );
                }
            }
            Err(e) => tracing::warn!(
                "could not clean temporary files in `{}`: {e}",
                dir.display()
            ),
        }
    }
}

pub(crate) fn kill_switch(config: &Config, plan: &Plan, opts: Options) -> i32 {
    let reason = plan
        .control
        .reason
        .clone()
        .unwrap_or_else(|| "no reason given".into());
    tracing::warn!(
        "batch generation is disabled in `{}` (enabled: false; reason: {reason}); no entry was run",
        config.control_file.display()
    );
    if opts.json {
        print_json(
            &json!({"kill_switch": true, "reason": reason, "dry_run": opts.dry_run, "total": 0, "files_written": []}),
        );
    }
    exit::SUCCESS
}

fn report_recovery(r: &Recovery) {
    tracing::warn!(
        "resumed an interrupted run: applied {} journaled outcome(s) ({} succeeded, {} failed, {} blocked) and saved them; those entries are not run again",
        r.applied,
        r.report.results.succeeded,
        r.report.results.failed,
        r.report.results.blocked
    );
    for (name, source) in &r.missing {
        tracing::warn!(
            "journaled entry {name:?} ({source}) is no longer in the queue; its outcome was not applied"
        );
    }
}

/// Forwards SIGINT/SIGTERM to the run: the first asks for a graceful stop, the second for an
/// immediate one. Remembers the first signal's number for the exit code.
pub(crate) struct SignalState {
    first: std::sync::Arc<std::sync::atomic::AtomicI32>,
}

impl SignalState {
    pub(crate) fn listen(stop: watch::Sender<Stop>) -> anyhow::Result<Self> {
        use std::sync::atomic::Ordering;
        use tokio::signal::unix::{SignalKind, signal};
        let mut int =
            signal(SignalKind::interrupt()).context("failed to install the SIGINT handler")?;
        let mut term =
            signal(SignalKind::terminate()).context("failed to install the SIGTERM handler")?;
        let first = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let seen = first.clone();
        tokio::spawn(async move {
            loop {
                let sig = tokio::select! {
                    Some(()) = int.recv() => 2,
                    Some(()) = term.recv() => 15,
                    else => return,
                };
                if seen
                    .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    tracing::warn!(
                        "received signal {sig}: finishing running generators, starting nothing new (send it again to kill them now)"
                    );
                    let _ = stop.send(Stop::Graceful);
                } else {
                    tracing::warn!("received signal {sig} again: killing running generators");
                    let _ = stop.send(Stop::Immediate);
                }
            }
        });
        Ok(Self { first })
    }

    pub(crate) fn received(&self) -> Option<i32> {
        match self.first.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

pub(crate) fn report_plan_findings(config: &Config, plan: &Plan) {
    if !plan.queue_existed {
        tracing::warn!(
            "queue `{}` does not exist: starting from an empty queue",
            config.queue.display()
        );
    }
    if !plan.control.existed() {
        tracing::warn!(
            "control file `{}` not found: every circuit breaker counts as closed",
            config.control_file.display()
        );
    }
    for note in &plan.recovery {
        match note {
            RecoveryNote::HalfOpened { ecosystem } => {
                tracing::info!(
                    "Circuit breaker half-open for {ecosystem} (recovery timeout elapsed)"
                );
            }
            RecoveryNote::NoRecoveryTime { ecosystem } => tracing::warn!(
                "circuit breaker for {ecosystem} is open with no opens_at: it stays open until an operator resets it"
            ),
            RecoveryNote::BadRecoveryTime {
                ecosystem,
                opens_at,
            } => tracing::warn!(
                "circuit breaker for {ecosystem} is open with an unreadable opens_at {opens_at:?}: it stays open"
            ),
        }
    }
    for inv in &plan.selection.invalid {
        tracing::warn!(
            "queue entry {} ({:?}) is invalid and was skipped: {}",
            inv.index,
            inv.name,
            inv.problems.join("; ")
        );
    }
}

fn report_run(report: &RunReport, opts: Options) {
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    report_breaker_changes(report);
    let r = &report.results;
    let mut line = format!(
        "Batch complete: {} succeeded, {} failed, {} blocked ({} total)",
        r.succeeded, r.failed, r.blocked, r.total
    );
    if report.invalid > 0 {
        let _ = write!(line, "; {} invalid entries skipped", report.invalid);
    }
    if !report.not_run.is_empty() {
        let _ = write!(line, "; {} not run", report.not_run.len());
    }
    eprintln!("{line}");
    if opts.json {
        print_json(&json!({
            "dry_run": false,
            "kill_switch": false,
            "batch_id": r.batch_id,
            "total": r.total,
            "succeeded": r.succeeded,
            "failed": r.failed,
            "blocked": r.blocked,
            "invalid": report.invalid,
            "not_run": report.not_run.len(),
            "per_ecosystem": r.per_ecosystem,
            "breaker_changes": report.breaker_changes.iter().map(|(eco, c)| (eco.clone(), change_label(c))).collect::<BTreeMap<_, _>>(),
            "files_written": report.files_written,
            "cpu_seconds": own_cpu_seconds(),
        }));
    }
}

/// Logs each breaker change of a run or merge (an opened breaker at error level).
pub(crate) fn report_breaker_changes(report: &RunReport) {
    for (eco, change) in &report.breaker_changes {
        match change {
            Change::Opened {
                failures,
                until,
                reopened: false,
            } => tracing::error!(
                "circuit breaker OPEN for {eco} ({failures} failures, recovery at {until})"
            ),
            Change::Opened {
                until,
                reopened: true,
                ..
            } => {
                tracing::warn!(
                    "circuit breaker for {eco} reopened (half-open probe failed), recovery at {until}"
                )
            }
            Change::Closed => tracing::info!("circuit breaker closed for {eco} (success)"),
            Change::OutcomeKind(f) => tracing::info!("circuit breaker: {eco} failure {f}"),
            Change::None => {}
        }
    }
}

/// User plus system CPU time of this process so far, children excluded (the orchestrator's own
/// cost, reported by `--json` for the benchmarks).
pub(crate) fn own_cpu_seconds() -> Option<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(secs(u.user_time()) + secs(u.system_time()))
}

pub(crate) fn change_label(c: &Change) -> String {
    match c {
        Change::None => "unchanged".into(),
        Change::Closed => "closed".into(),
        Change::OutcomeKind(f) => format!("failure {f}"),
        Change::Opened { reopened: true, .. } => "reopened".into(),
        Change::Opened { .. } => "opened".into(),
    }
}

pub(crate) fn print_json(v: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values serialise")
    );
}

fn lower_bound(config: &Config, plan: &Plan) -> Duration {
    config.rate_limit.lower_bound(plan.counts())
}

fn plan_json(config: &Config, plan: &Plan) -> serde_json::Value {
    let entries: Vec<_> = plan
        .selection
        .candidates
        .iter()
        .map(|c| {
            let e = &plan.queue.entries[c.index];
            json!({"index": c.index, "name": e.name, "source": e.source, "ecosystem": e.ecosystem(), "priority": e.priority, "reason": c.reason.label()})
        })
        .collect();
    let invalid: Vec<_> = plan
        .selection
        .invalid
        .iter()
        .map(|i| json!({"index": i.index, "name": i.name, "problems": i.problems}))
        .collect();
    json!({
        "dry_run": true,
        "kill_switch": false,
        "total": entries.len(),
        "candidates": entries,
        "per_ecosystem": plan.counts(),
        "invalid": invalid,
        "rate_limit_lower_bound_seconds": lower_bound(config, plan).as_secs_f64(),
        "files_written": [],
    })
}

/// The `--dry-run` plan as text.
pub fn render_plan(config: &Config, plan: &Plan) -> String {
    let mut s = String::new();
    let n = plan.selection.candidates.len();
    let _ = writeln!(
        s,
        "Plan: {n} candidate(s) from `{}` (batch size {}, tier {}, jobs {})",
        config.queue.display(),
        config.select.batch_size,
        config.select.tier,
        config.jobs
    );
    if n > 0 {
        let width = plan
            .selection
            .candidates
            .iter()
            .map(|c| plan.queue.entries[c.index].ecosystem().len())
            .max()
            .unwrap_or(0)
            .max("ecosystem".len());
        let _ = writeln!(
            s,
            "\n  {:>4}  {:<width$}  {:>8}  {:<30}  name",
            "#", "ecosystem", "priority", "reason"
        );
        for (i, c) in plan.selection.candidates.iter().enumerate() {
            let e = &plan.queue.entries[c.index];
            let _ = writeln!(
                s,
                "  {:>4}  {:<width$}  {:>8}  {:<30}  {}",
                i + 1,
                e.ecosystem(),
                e.priority,
                c.reason.label(),
                e.name
            );
        }
        s.push_str("\nPer ecosystem:\n");
        for (eco, count) in plan.counts() {
            let _ = writeln!(
                s,
                "  {eco:<width$}  {count:>5}  (one start per {:?})",
                config.rate_limit.period(eco)
            );
        }
        let _ = writeln!(
            s,
            "\nRate-limit lower bound on wall time: {:?} (plus one entry's generator time)",
            lower_bound(config, plan)
        );
    }
    if !plan.selection.invalid.is_empty() {
        let _ = writeln!(
            s,
            "\nInvalid entries skipped: {}",
            plan.selection.invalid.len()
        );
        for inv in &plan.selection.invalid {
            let _ = writeln!(
                s,
                "  entry {} {:?}: {}",
                inv.index,
                inv.name,
                inv.problems.join("; ")
            );
        }
    }
    s.push_str("\nDry run: nothing was run or written.\n");
    s
}

/// Wall clock for callers that only need "now" (demo).
pub fn now() -> jiff::Timestamp {
    SystemClock.now()
}
