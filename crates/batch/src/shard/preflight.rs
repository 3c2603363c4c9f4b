//! The nightly preflight (issue #6): decides whether tonight's batch runs, assigns its batch
//! ID, and splits its candidates into shards for a GitHub Actions matrix. Returns a typed
//! [`BatchPlan`]; the only file it writes is the control file, when a breaker is due to move
//! from open to half-open (the shards then plan with it).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use batch_base::clock::Clock;

use super::batchid;
use super::partition::assign;
use crate::config::Config;
use crate::control::RecoveryNote;
use crate::control::budget::{BudgetLimits, BudgetState, BudgetUse, assess};
use crate::lock::RunLock;
use crate::records::timestamp::{Rfc3339, utc_date};
use crate::run::{RunError, load_plan};

/// What the preflight needs besides the run configuration.
#[derive(Debug, Clone)]
pub struct PreflightOptions {
    /// N: how many shards the matrix has (at least 1).
    pub shards: u32,
    /// tsuku's `data/metrics` directory: batch IDs already used by earlier batches.
    pub metrics_dir: PathBuf,
    /// Batch IDs held by open batch PRs, also never reused.
    pub used_batch_ids: Vec<String>,
    /// The weekly CI budget limits.
    pub budget: BudgetLimits,
    /// Plan only: take no lock and write nothing, not even the breakers due to turn
    /// half-open (issue #12).
    pub dry_run: bool,
}

/// One candidate in a shard's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    /// Queue index.
    pub index: usize,
    /// Entry name.
    pub name: String,
    /// Entry source (`eco:id`).
    pub source: String,
    /// Its ecosystem.
    pub ecosystem: String,
}

/// The batch as the preflight planned it.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// Why the batch does not run (kill switch, exhausted budget, no candidates); `None` when
    /// it runs.
    pub skip: Option<String>,
    /// A batch ID no earlier batch used: `YYYY-MM-DD-<eco|all>[-NNN]`.
    pub batch_id: String,
    /// The plan time every shard passes as `--planned-at`.
    pub planned_at: Rfc3339,
    /// N.
    pub shard_count: u32,
    /// Shard K → its candidates in selection order; only shards with candidates, none when
    /// skipped.
    pub shards: BTreeMap<u32, Vec<PlannedEntry>>,
    /// Ecosystem → candidates (empty when skipped).
    pub per_ecosystem: BTreeMap<String, usize>,
    /// The budget assessment.
    pub budget: BudgetState,
    /// Breakers that moved to half-open (written to the control file unless a dry run).
    pub half_opened: Vec<String>,
    /// Files written: the control file when a breaker moved, nothing in a dry run.
    pub files_written: Vec<PathBuf>,
    /// Shard K → its rate-limit lower bound on wall time, with every limit N times slower
    /// (issue #15).
    pub rate_bounds: BTreeMap<u32, Duration>,
    /// The rate-limit lower bound of the whole batch run unsharded, for comparison.
    pub unsharded_bound: Duration,
}

impl BatchPlan {
    /// Candidates over all shards.
    pub fn candidates(&self) -> usize {
        self.shards.values().map(Vec::len).sum()
    }

    /// Whether the budget is above its sampling threshold.
    pub fn sampling(&self) -> bool {
        matches!(self.budget, BudgetState::Sampling { .. })
    }

    /// The share of the budget used, when above a threshold.
    pub fn budget_used(&self) -> Option<f64> {
        match self.budget {
            BudgetState::Ok => None,
            BudgetState::Sampling { used } | BudgetState::Exhausted { used } => Some(used),
        }
    }
}

/// Plans tonight's batch under the queue's run lock (spec §7.2, issue #6): kill switch, due
/// open → half-open moves (saved, except in a dry run, which takes no lock), weekly budget, a unique batch ID from the results and
/// metrics history, the shard lists ([`assign`]) and each shard's rate-limit bound.
///
/// # Errors
/// Bad queue or control file (before the lock: nothing written), another run holding the lock
/// ([`RunError::Lock`]), and a control-file write error.
pub fn plan_batch(
    config: &Config,
    clock: &dyn Clock,
    opts: &PreflightOptions,
) -> Result<BatchPlan, RunError> {
    // Validate before locking, as the main job does, so bad input writes nothing at all. A
    // dry run writes nothing, so it needs no lock and one plan.
    let first = load_plan(config, clock)?;
    let (_lock, mut plan) = if opts.dry_run {
        (None, first)
    } else {
        drop(first);
        let lock = RunLock::acquire(&config.queue)?;
        (Some(lock), load_plan(config, clock)?)
    };

    let budget = assess(
        BudgetUse::from_block(plan.control.get("budget")),
        &opts.budget,
    );
    let skip = if plan.kill_switch {
        Some(format!(
            "batch generation is disabled in `{}` (reason: {})",
            config.control_file.display(),
            plan.control.reason.as_deref().unwrap_or("none given")
        ))
    } else if let BudgetState::Exhausted { used } = budget {
        Some(format!(
            "weekly CI budget {:.0} % used (skip above {:.0} %)",
            used * 100.0,
            opts.budget.skip_above * 100.0
        ))
    } else if plan.selection.candidates.is_empty() {
        Some("no candidates".to_owned())
    } else {
        None
    };

    let today = utc_date(clock.now());
    let label = batchid::label(&config.select.ecosystems);
    let mut used = batchid::history(&config.results, &opts.metrics_dir);
    used.extend(opts.used_batch_ids.iter().map(|s| s.trim().to_owned()));
    let batch_id = batchid::next(&today, &label, used.iter().map(String::as_str));

    let mut shards: BTreeMap<u32, Vec<PlannedEntry>> = BTreeMap::new();
    let mut per_ecosystem = BTreeMap::new();
    let mut rate_bounds = BTreeMap::new();
    let mut unsharded_bound = Duration::ZERO;
    if skip.is_none() {
        let entries: Vec<PlannedEntry> = plan
            .selection
            .candidates
            .iter()
            .map(|c| {
                let e = &plan.queue.entries[c.index];
                PlannedEntry {
                    index: c.index,
                    name: e.name.clone(),
                    source: e.source.clone(),
                    ecosystem: e.ecosystem().to_owned(),
                }
            })
            .collect();
        let ecosystems: Vec<&str> = entries.iter().map(|e| e.ecosystem.as_str()).collect();
        for (e, k) in entries.iter().zip(assign(&ecosystems, opts.shards)) {
            shards.entry(k).or_default().push(e.clone());
        }
        let scaled = config.rate_limit.scaled(opts.shards);
        for (k, list) in &shards {
            rate_bounds.insert(*k, scaled.lower_bound(counts(list)));
        }
        unsharded_bound = config.rate_limit.lower_bound(counts(&entries));
        per_ecosystem = plan
            .counts()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
    }

    // The half-open moves are part of the plan the shards run with; persist them (the kill
    // switch stops everything, this included).
    let mut files_written = Vec::new();
    if !plan.kill_switch && !opts.dry_run && plan.control.save_if_changed()? {
        files_written.push(config.control_file.clone());
    }
    let half_opened = plan
        .recovery
        .iter()
        .filter_map(|note| match note {
            RecoveryNote::HalfOpened { ecosystem } => Some(ecosystem.clone()),
            _ => None,
        })
        .collect();
    Ok(BatchPlan {
        skip,
        batch_id,
        planned_at: Rfc3339::utc(plan.started),
        shard_count: opts.shards,
        shards,
        per_ecosystem,
        budget,
        half_opened,
        files_written,
        rate_bounds,
        unsharded_bound,
    })
}

/// Candidates per ecosystem of `entries`.
fn counts(entries: &[PlannedEntry]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for e in entries {
        *m.entry(e.ecosystem.as_str()).or_default() += 1;
    }
    m
}
