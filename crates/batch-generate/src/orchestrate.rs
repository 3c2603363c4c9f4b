//! The main job as the CLI runs it: plan, report what the plan found, then either print the
//! plan (`--dry-run`) or execute, apply, persist and report. Maps the outcome to an exit code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Context as _;
use batch::Config;
use batch::breaker::Change;
use batch::clock::{Clock, SystemClock};
use batch::control::RecoveryNote;
use batch::run::{self, Plan, RunReport};
use batch::runner::{ProcessRunner, find_program};
use serde_json::json;

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
}

/// Runs the main job for `config`; returns the exit code.
///
/// # Errors
/// Bad input (queue, control file, missing generator) and write errors, with a hint.
pub async fn run(config: &Config, opts: Options) -> anyhow::Result<i32> {
    let clock = SystemClock;
    let mut plan = run::plan(config, &clock)?;
    report_plan_findings(config, &plan);

    if plan.kill_switch {
        let reason = plan
            .control
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        tracing::warn!(
            "batch generation is disabled in `{}` (enabled: false; reason: {reason}); nothing was run or written",
            config.control_file.display()
        );
        if opts.json {
            print_json(
                &json!({"kill_switch": true, "reason": reason, "dry_run": opts.dry_run, "total": 0, "files_written": []}),
            );
        }
        return Ok(exit::SUCCESS);
    }

    if opts.dry_run {
        if opts.json {
            print_json(&plan_json(config, &plan));
        } else {
            print!("{}", render_plan(config, &plan));
        }
        return Ok(exit::SUCCESS);
    }

    if !plan.selection.candidates.is_empty() && find_program(&config.generator).is_none() {
        return Err(anyhow::anyhow!(
            "generator `{}` not found or not executable",
            config.generator.display()
        ))
        .context(Hint(
            "pass --generator PATH, or put tsuku on PATH; nothing was run or written",
        ));
    }

    let runner = ProcessRunner {
        kill_grace: config.kill_grace,
        max_output: opts.max_output,
    };
    let progress = Progress::new(
        plan.selection.candidates.len(),
        opts.progress_bar && !opts.json,
    );
    let on_event = |ev: run::Event<'_>| progress.on_event(ev);
    let results = run::execute(&plan, config, &runner, &clock, &on_event).await;
    progress.finish();
    let mut report = run::apply(&mut plan, &results, config, &clock);
    run::persist(&mut plan, &mut report, config, &clock).context(Hint(
        "earlier files of this run stay written; fix the cause and run again",
    ))?;
    report_run(&report, opts);

    if report.not_run.is_empty() {
        Ok(exit::SUCCESS)
    } else {
        tracing::error!(
            "{} candidate(s) were not run because the generator could not be started; they are unchanged in the queue",
            report.not_run.len()
        );
        Ok(exit::FAILURE)
    }
}

fn report_plan_findings(config: &Config, plan: &Plan) {
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
            Change::Counted(f) => tracing::info!("circuit breaker: {eco} failure {f}"),
            Change::None => {}
        }
    }
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
        }));
    }
}

fn change_label(c: &Change) -> String {
    match c {
        Change::None => "unchanged".into(),
        Change::Closed => "closed".into(),
        Change::Counted(f) => format!("failure {f}"),
        Change::Opened { reopened: true, .. } => "reopened".into(),
        Change::Opened { .. } => "opened".into(),
    }
}

fn print_json(v: &serde_json::Value) {
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
