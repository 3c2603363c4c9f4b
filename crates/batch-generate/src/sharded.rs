//! A sharded run (`--shard K/N`, issue #6): one job of a GitHub Actions matrix. It selects the
//! whole batch exactly as an unsharded run would (as of `--planned-at`, so every shard agrees),
//! keeps the candidates of shard K, runs them with every rate limit N times slower, and writes
//! one fragment file. It takes no lock and writes nothing else: no queue, control file,
//! results, summary or journal; `merge` does that once all shards are done.
//!
//! A shard stopped by SIGINT/SIGTERM still writes its fragment, with the candidates it did
//! not finish as not run (unchanged by the merge). A shard killed outright writes none; the
//! merge then reports it missing and the shard job can be rerun.

use std::collections::BTreeSet;

use anyhow::Context as _;
use batch::Config;
use batch::queue::Queue;
use batch::run::{self, ExecuteOptions};
use batch::runner::{ProcessRunner, Stop};
use batch::shard::Shard;
use batch::shard::fragment::{self, Fragment, ShardRun};
use batch_base::clock::{Clock, FixedClock, SystemClock};
use serde_json::json;
use tokio::sync::watch;

use crate::cli::ShardArgs;
use crate::error::Hint;
use crate::exit;
use crate::orchestrate::{self, Options, SignalState};
use crate::progress::Progress;

/// Runs shard `shard` of the batch; returns the exit code (as the main job's: 0, 1 when
/// candidates could not run, 130/143 on a signal; the fragment is written in each case).
///
/// # Errors
/// Bad input (queue, control file, missing generator) and the fragment write, with a hint.
pub async fn run(
    config: &Config,
    opts: Options,
    args: &ShardArgs,
    shard: Shard,
) -> anyhow::Result<i32> {
    let batch_id = args
        .batch_id
        .as_deref()
        .context("--shard needs --batch-id (the ID preflight printed)")?;
    let mut config = config.clone();
    config.rate_limit = config.rate_limit.scaled(shard.count);
    let config = &config;

    let planned_at = args
        .planned_at
        .map_or_else(|| SystemClock.now(), |t| t.instant());
    let plan_clock = FixedClock::new(planned_at);
    let (queue, existed, queue_sha256) = Queue::load_hashed(&config.queue)?;
    let mut plan = run::plan_from(config, &plan_clock, queue, existed, &BTreeSet::new())?;
    orchestrate::report_plan_findings(config, &plan);
    orchestrate::strict_check(config, &plan, opts)?;
    if plan.kill_switch {
        tracing::warn!("the kill switch is on: shard {shard} writes no fragment");
        return Ok(orchestrate::kill_switch(config, &plan, opts));
    }
    if batch::run::journal::path_for(&config.queue).exists() {
        tracing::warn!(
            "an interrupted unsharded run left `{}`; this shard plans from the queue as it is",
            batch::run::journal::path_for(&config.queue).display()
        );
    }
    let shard_plan = fragment::split(&mut plan, shard);
    tracing::info!(
        "shard {shard} of batch {batch_id}: {} candidate(s); shards with candidates: {:?}",
        plan.selection.candidates.len(),
        shard_plan.shards_with_candidates
    );
    if opts.dry_run {
        print!("{}", orchestrate::render_plan(config, &plan));
        return Ok(exit::SUCCESS);
    }
    orchestrate::check_generator(config, !plan.selection.candidates.is_empty())?;

    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let signal = SignalState::listen(stop_tx)?;
    let clock = SystemClock;
    let started = clock.now();
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
        journal: None,
        stop: Some(stop_rx),
    };
    let results = run::execute_with(&plan, config, &runner, &clock, &on_event, exec).await;
    progress.finish();
    let results = results?;

    let fragment = Fragment::build(
        &plan,
        &ShardRun {
            batch_id,
            queue_sha256: &queue_sha256,
            shard_plan: &shard_plan,
            started,
            finished: clock.now(),
        },
        &results,
    );
    let path = fragment.write(&args.fragment_dir).with_context(|| {
        format!(
            "failed to write the fragment into `{}`",
            args.fragment_dir.display()
        )
    })
    .context(Hint(
        "check the --fragment-dir path and its free space, then rerun this shard; nothing else was written",
    ))?;

    let mut sum = batch::records::EcosystemCounts::default();
    for c in fragment.per_ecosystem.values() {
        sum.total += c.total;
        sum.succeeded += c.succeeded;
        sum.failed += c.failed;
    }
    let blocked = sum.total - sum.succeeded - sum.failed;
    eprintln!(
        "Shard {shard} complete: {} succeeded, {} failed, {blocked} blocked ({} total){}; fragment `{}`",
        sum.succeeded,
        sum.failed,
        sum.total,
        if fragment.not_run.is_empty() {
            String::new()
        } else {
            format!("; {} not run", fragment.not_run.len())
        },
        path.display()
    );
    if opts.json {
        orchestrate::print_json(&json!({
            "dry_run": false,
            "kill_switch": false,
            "batch_id": batch_id,
            "shard": shard.to_string(),
            "fragment": path,
            "total": sum.total,
            "succeeded": sum.succeeded,
            "failed": sum.failed,
            "blocked": blocked,
            "not_run": fragment.not_run.len(),
            "per_ecosystem": fragment.per_ecosystem,
            "files_written": [&path],
            "cpu_seconds": orchestrate::own_cpu_seconds(),
        }));
    }
    Ok(orchestrate::finish_code(
        signal.received(),
        fragment.not_run.len(),
        "are listed in the fragment and stay unchanged",
    ))
}
