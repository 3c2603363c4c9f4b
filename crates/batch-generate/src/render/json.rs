//! The `--json` documents, one typed struct per command. Field order is key order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use batch::Config;
use batch::control::Change;
use batch::records::{BatchResults, EcosystemCounts};
use batch::run::{Plan, RunReport};
use batch::runner::ProcessId;
use batch::shard::{BatchPlan, Fragment, FragmentSet, MergeReport, MergeStatus, PlannedEntry};
use serde::Serialize;

use crate::pacing::EcosystemRate;

/// Prints `doc` as pretty JSON on stdout.
pub fn print_json(doc: &impl Serialize) {
    crate::outln!(
        "{}",
        serde_json::to_string_pretty(doc).expect("reports serialise")
    );
}

/// The four counters every run-like report carries.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Entries processed.
    pub total: usize,
    /// Succeeded.
    pub succeeded: usize,
    /// Failed.
    pub failed: usize,
    /// Blocked on dependencies.
    pub blocked: usize,
}

impl From<&BatchResults> for Counts {
    fn from(r: &BatchResults) -> Self {
        Self {
            total: r.total,
            succeeded: r.succeeded,
            failed: r.failed,
            blocked: r.blocked,
        }
    }
}

impl Counts {
    /// The sum of per-ecosystem counts (blocked = total − succeeded − failed).
    pub fn sum<'a>(counts: impl IntoIterator<Item = &'a EcosystemCounts>) -> Self {
        let mut sum = EcosystemCounts::default();
        for c in counts {
            sum.total += c.total;
            sum.succeeded += c.succeeded;
            sum.failed += c.failed;
        }
        Self {
            total: sum.total,
            succeeded: sum.succeeded,
            failed: sum.failed,
            blocked: sum.total - sum.succeeded - sum.failed,
        }
    }
}

/// Ecosystem → a word for its breaker change (`closed`, `failure N`, `opened`, `reopened`).
pub fn breaker_changes(report: &RunReport) -> BTreeMap<String, String> {
    report
        .breaker_changes
        .iter()
        .map(|(eco, c)| (eco.clone(), change_label(c)))
        .collect()
}

/// A word for a breaker change.
pub fn change_label(c: &Change) -> String {
    match c {
        Change::None => "unchanged".into(),
        Change::Closed => "closed".into(),
        Change::Counted(f) => format!("failure {f}"),
        Change::Opened { reopened: true, .. } => "reopened".into(),
        Change::Opened { .. } => "opened".into(),
    }
}

/// `--json` when the kill switch is off.
#[derive(Debug, Serialize)]
pub struct KillSwitchDoc {
    /// Always true.
    pub kill_switch: bool,
    /// The control file's reason.
    pub reason: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Always 0.
    pub total: usize,
    /// Always empty.
    pub files_written: [PathBuf; 0],
}

impl KillSwitchDoc {
    /// The document for a kill switch with `reason`.
    pub fn new(reason: String, dry_run: bool) -> Self {
        Self {
            kill_switch: true,
            reason,
            dry_run,
            total: 0,
            files_written: [],
        }
    }
}

/// One candidate of a dry run.
#[derive(Debug, Serialize)]
pub struct CandidateDoc<'a> {
    index: usize,
    name: &'a str,
    source: &'a str,
    ecosystem: &'a str,
    priority: i64,
    reason: &'static str,
}

/// One invalid entry of a dry run.
#[derive(Debug, Serialize)]
pub struct InvalidDoc<'a> {
    index: usize,
    name: &'a str,
    problems: &'a [String],
}

/// `--dry-run --json`: the plan.
#[derive(Debug, Serialize)]
pub struct PlanDoc<'a> {
    dry_run: bool,
    kill_switch: bool,
    total: usize,
    candidates: Vec<CandidateDoc<'a>>,
    per_ecosystem: BTreeMap<&'a str, usize>,
    invalid: Vec<InvalidDoc<'a>>,
    rate_limit_lower_bound_seconds: f64,
    files_written: [PathBuf; 0],
}

impl<'a> PlanDoc<'a> {
    /// The document of `plan` under `config` (rate limits).
    pub fn new(config: &Config, plan: &'a Plan) -> Self {
        let candidates: Vec<_> = plan
            .selection
            .candidates
            .iter()
            .map(|c| {
                let e = &plan.queue.entries[c.index];
                CandidateDoc {
                    index: c.index,
                    name: &e.name,
                    source: &e.source,
                    ecosystem: e.ecosystem(),
                    priority: e.priority,
                    reason: c.reason.label(),
                }
            })
            .collect();
        Self {
            dry_run: true,
            kill_switch: false,
            total: candidates.len(),
            candidates,
            per_ecosystem: plan.counts(),
            invalid: plan
                .selection
                .invalid
                .iter()
                .map(|i| InvalidDoc {
                    index: i.index,
                    name: &i.name,
                    problems: &i.problems,
                })
                .collect(),
            rate_limit_lower_bound_seconds: config
                .rate_limit
                .lower_bound(plan.counts())
                .as_secs_f64(),
            files_written: [],
        }
    }
}

/// What a whole-batch run and a merge both report, after their own leading keys.
#[derive(Debug, Serialize)]
pub struct BatchTotals<'a> {
    #[serde(flatten)]
    counts: Counts,
    invalid: usize,
    not_run: usize,
    per_ecosystem: &'a BTreeMap<String, EcosystemCounts>,
    breaker_changes: BTreeMap<String, String>,
    files_written: &'a [PathBuf],
}

impl<'a> BatchTotals<'a> {
    /// The totals of `report`, with `not_run` candidates that did not run.
    pub fn new(report: &'a RunReport, not_run: usize) -> Self {
        Self {
            counts: Counts::from(&report.results),
            invalid: report.invalid,
            not_run,
            per_ecosystem: &report.results.per_ecosystem,
            breaker_changes: breaker_changes(report),
            files_written: &report.files_written,
        }
    }
}

/// `--json` of a whole-batch run.
#[derive(Debug, Serialize)]
pub struct RunDoc<'a> {
    dry_run: bool,
    kill_switch: bool,
    batch_id: &'a str,
    #[serde(flatten)]
    totals: BatchTotals<'a>,
    /// Process groups of a killed run stopped before this run started anything (issue #15);
    /// omitted when there were none.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stopped_processes: &'a [ProcessId],
    /// Entries not started because `--max-duration` was reached; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_reached: Option<usize>,
    /// Entries stopped while running at the deadline; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_stopped: Option<usize>,
    /// Ecosystem → entries not run because it was declared unreachable (issue #22); omitted
    /// when none was.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    unreachable: BTreeMap<String, usize>,
    /// Each ecosystem's start rate over the run and the adaptive slowdown's changes (issue #15).
    rates: Vec<EcosystemRate>,
    cpu_seconds: Option<f64>,
    wall_seconds: f64,
}

impl<'a> RunDoc<'a> {
    /// With the run's per-ecosystem rates.
    #[must_use]
    pub fn rates(mut self, rates: Vec<EcosystemRate>) -> Self {
        self.rates = rates;
        self
    }

    /// The document of a run's report; `wall` is the command's wall time.
    pub fn new(report: &'a RunReport, wall: Duration) -> Self {
        let budget = Budget::of(report.not_run.iter().map(|(_, _, r)| r.as_str()));
        Self {
            dry_run: false,
            kill_switch: false,
            batch_id: &report.results.batch_id,
            totals: BatchTotals::new(report, report.not_run.len()),
            stopped_processes: &report.stopped_processes,
            budget_reached: budget.map(|b| b.not_started),
            budget_stopped: budget.map(|b| b.stopped).filter(|n| *n > 0),
            unreachable: unreachable_counts(report.not_run.iter().map(|(_, _, r)| r.as_str())),
            rates: Vec::new(),
            cpu_seconds: own_cpu_seconds(),
            wall_seconds: wall.as_secs_f64(),
        }
    }
}

/// `--json` of a shard run.
#[derive(Debug, Serialize)]
pub struct ShardDoc<'a> {
    dry_run: bool,
    kill_switch: bool,
    batch_id: &'a str,
    shard: String,
    fragment: &'a Path,
    #[serde(flatten)]
    counts: Counts,
    not_run: usize,
    /// Entries not started because `--max-duration` was reached; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_reached: Option<usize>,
    /// Entries stopped while running at the deadline; omitted when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget_stopped: Option<usize>,
    /// Ecosystem → entries not run because it was declared unreachable (issue #22); omitted
    /// when none was.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    unreachable: BTreeMap<String, usize>,
    per_ecosystem: &'a BTreeMap<String, EcosystemCounts>,
    files_written: [&'a Path; 1],
    /// Each ecosystem's start rate over the shard's run (issue #15).
    rates: Vec<EcosystemRate>,
    cpu_seconds: Option<f64>,
    wall_seconds: f64,
}

impl<'a> ShardDoc<'a> {
    /// With the shard's per-ecosystem rates.
    #[must_use]
    pub fn rates(mut self, rates: Vec<EcosystemRate>) -> Self {
        self.rates = rates;
        self
    }

    /// The document of a shard's fragment written to `path`; `wall` is the command's wall
    /// time.
    pub fn new(fragment: &'a Fragment, path: &'a Path, wall: Duration) -> Self {
        let budget = Budget::of(fragment.not_run.iter().map(|n| n.reason.as_str()));
        Self {
            dry_run: false,
            kill_switch: false,
            batch_id: &fragment.batch_id,
            shard: fragment.shard().to_string(),
            fragment: path,
            counts: Counts::sum(fragment.per_ecosystem.values()),
            not_run: fragment.not_run.len(),
            budget_reached: budget.map(|b| b.not_started),
            budget_stopped: budget.map(|b| b.stopped).filter(|n| *n > 0),
            unreachable: unreachable_counts(fragment.not_run.iter().map(|n| n.reason.as_str())),
            per_ecosystem: &fragment.per_ecosystem,
            files_written: [path],
            rates: Vec::new(),
            cpu_seconds: own_cpu_seconds(),
            wall_seconds: wall.as_secs_f64(),
        }
    }
}

/// Entries not run because their ecosystem was declared unreachable (`--unreachable-after`,
/// issue #22), counted per ecosystem from the not-run `reasons`.
pub fn unreachable_counts<'r>(reasons: impl Iterator<Item = &'r str>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for eco in reasons.filter_map(batch::run::unreachable_ecosystem) {
        *m.entry(eco.to_owned()).or_insert(0) += 1;
    }
    m
}

/// What `--max-duration` left out of a run: entries not started ([`batch::run::BUDGET_REACHED`])
/// and entries stopped at the deadline ([`batch::run::BUDGET_STOPPED`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// Entries not started.
    pub not_started: usize,
    /// Entries stopped while running at the deadline.
    pub stopped: usize,
}

impl Budget {
    /// Counts the not-run `reasons`; `None` when the budget left nothing out.
    pub fn of<'r>(reasons: impl Iterator<Item = &'r str>) -> Option<Budget> {
        let mut b = Budget::default();
        for r in reasons {
            if r == batch::run::BUDGET_REACHED {
                b.not_started += 1;
            } else if r == batch::run::BUDGET_STOPPED {
                b.stopped += 1;
            }
        }
        (b != Budget::default()).then_some(b)
    }

    /// Both counts together.
    pub fn total(self) -> usize {
        self.not_started + self.stopped
    }
}

/// `merge --json`.
#[derive(Debug, Serialize)]
pub struct MergeDoc<'a> {
    batch_id: &'a str,
    status: &'static str,
    shard_count: u32,
    shards: Vec<u32>,
    missing_shards: &'a [u32],
    #[serde(flatten)]
    totals: BatchTotals<'a>,
}

impl<'a> MergeDoc<'a> {
    /// The document of a merge of `set`.
    pub fn new(set: &'a FragmentSet, merged: &'a MergeReport) -> Self {
        Self {
            batch_id: &set.batch_id,
            status: match merged.status {
                MergeStatus::Merged => "merged",
                MergeStatus::AlreadyMerged => "already_merged",
            },
            shard_count: set.shard_count,
            shards: set.fragments.iter().map(|(_, f)| f.shard).collect(),
            missing_shards: &merged.missing,
            totals: BatchTotals::new(&merged.report, merged.not_run.len()),
        }
    }
}

/// One candidate of a preflight shard list.
#[derive(Debug, Serialize)]
pub struct PlannedDoc<'a> {
    index: usize,
    name: &'a str,
    source: &'a str,
    ecosystem: &'a str,
}

impl<'a> From<&'a PlannedEntry> for PlannedDoc<'a> {
    fn from(e: &'a PlannedEntry) -> Self {
        Self {
            index: e.index,
            name: &e.name,
            source: &e.source,
            ecosystem: &e.ecosystem,
        }
    }
}

/// `preflight --json`.
#[derive(Debug, Serialize)]
pub struct PreflightDoc<'a> {
    skip: bool,
    reason: Option<&'a str>,
    batch_id: &'a str,
    planned_at: String,
    shard_count: u32,
    shards: Vec<u32>,
    candidates: usize,
    per_ecosystem: &'a BTreeMap<String, usize>,
    sampling: bool,
    budget_used: Option<f64>,
    plan: BTreeMap<String, Vec<PlannedDoc<'a>>>,
    dry_run: bool,
    files_written: &'a [PathBuf],
    rate_limit_bound_seconds: BTreeMap<String, f64>,
    unsharded_rate_limit_bound_seconds: f64,
}

impl<'a> PreflightDoc<'a> {
    /// The document of a batch plan (`dry_run` as asked).
    pub fn new(p: &'a BatchPlan, dry_run: bool) -> Self {
        Self {
            skip: p.skip.is_some(),
            reason: p.skip.as_deref(),
            batch_id: &p.batch_id,
            planned_at: p.planned_at.to_string(),
            shard_count: p.shard_count,
            shards: p.shards.keys().copied().collect(),
            candidates: p.candidates(),
            per_ecosystem: &p.per_ecosystem,
            sampling: p.sampling(),
            budget_used: p.budget_used(),
            plan: p
                .shards
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(PlannedDoc::from).collect()))
                .collect(),
            dry_run,
            files_written: &p.files_written,
            rate_limit_bound_seconds: p
                .rate_bounds
                .iter()
                .map(|(k, d)| (k.to_string(), d.as_secs_f64()))
                .collect(),
            unsharded_rate_limit_bound_seconds: p.unsharded_bound.as_secs_f64(),
        }
    }
}

/// The `$GITHUB_OUTPUT` pairs of a batch plan: `skip`, `reason`, `batch_id`, `planned_at`
/// (the plan time every shard passes as `--planned-at`), `shards` (a JSON array for
/// `strategy.matrix`), `candidates`, `sampling`, `per_ecosystem` (compact JSON).
pub fn preflight_outputs(p: &BatchPlan) -> Vec<(&'static str, String)> {
    vec![
        ("skip", p.skip.is_some().to_string()),
        ("reason", p.skip.clone().unwrap_or_default()),
        ("batch_id", p.batch_id.clone()),
        ("planned_at", p.planned_at.to_string()),
        (
            "shards",
            compact(&p.shards.keys().copied().collect::<Vec<u32>>()),
        ),
        ("candidates", p.candidates().to_string()),
        ("sampling", p.sampling().to_string()),
        ("per_ecosystem", compact(&p.per_ecosystem)),
    ]
}

/// Compact JSON of a serialisable value.
fn compact(v: &impl Serialize) -> String {
    serde_json::to_string(v).expect("JSON values serialise")
}

/// User plus system CPU time of this process so far, children excluded (the orchestrator's own
/// cost, reported by `--json` for the benchmarks).
pub fn own_cpu_seconds() -> Option<f64> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Some(secs(u.user_time()) + secs(u.system_time()))
}

#[cfg(test)]
mod tests {
    use batch::control::budget::BudgetState;

    use super::*;
    use crate::github::output_lines;

    fn entry(name: &str, eco: &str) -> PlannedEntry {
        PlannedEntry {
            index: 0,
            name: name.into(),
            source: format!("{eco}:{name}"),
            ecosystem: eco.into(),
        }
    }

    #[test]
    fn preflight_github_output_lines() {
        let plan = BatchPlan {
            skip: None,
            batch_id: "2026-11-24-all-002".into(),
            planned_at: "2026-11-24T03:00:00Z".parse().unwrap(),
            shard_count: 3,
            shards: BTreeMap::from([
                (1, vec![entry("a", "npm"), entry("b", "pypi")]),
                (
                    3,
                    vec![entry("c", "npm"), entry("d", "pypi"), entry("e", "pypi")],
                ),
            ]),
            per_ecosystem: BTreeMap::from([("npm".into(), 2), ("pypi".into(), 3)]),
            budget: BudgetState::Sampling { used: 0.85 },
            half_opened: Vec::new(),
            files_written: Vec::new(),
            rate_bounds: BTreeMap::new(),
            unsharded_bound: Duration::ZERO,
        };
        assert_eq!(
            output_lines(preflight_outputs(&plan)),
            "skip=false\nreason=\nbatch_id=2026-11-24-all-002\nplanned_at=2026-11-24T03:00:00Z\nshards=[1,3]\ncandidates=5\nsampling=true\nper_ecosystem={\"npm\":2,\"pypi\":3}\n"
        );
        let skip = BatchPlan {
            skip: Some("two\nlines".into()),
            shards: BTreeMap::new(),
            per_ecosystem: BTreeMap::new(),
            budget: BudgetState::Ok,
            ..plan
        };
        let out = output_lines(preflight_outputs(&skip));
        assert!(out.contains("reason=two lines\n"), "{out}");
        assert!(out.contains("shards=[]\n"), "{out}");
        assert!(out.contains("sampling=false\n"), "{out}");
    }
}
