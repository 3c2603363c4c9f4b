//! `explain NAME…` (issue #23): why the next run, with the same flags, would or would not
//! select an entry, in the words of the selection rules (spec §3, §6.1, §6.2, §1.2). The verdict
//! "selected" is read from the run's own selection (`select_with_control`), never re-derived,
//! so `explain` and the run cannot disagree; the checks only say why. Around the verdict: the
//! entry's blockers (spec §4.9), its last failure records and its recipe on disk. Pure: the
//! caller loads the files and says which recipe paths exist.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use jiff::Timestamp;

use super::failure_notes::{FailureNote, FailureNotes};
use super::status::{Probe, next_probe};
use crate::Queue;
use crate::control::ControlFile;
use crate::control::breaker::EffectiveState;
use crate::maintain::reorder::BlockerGraph;
use crate::maintain::summary::Summaries;
use crate::queue::{QueueEntry, Status, recipe_relative_path};
use crate::records::failure_log::FailureLog;
use crate::records::timestamp::whole_seconds_utc;
use crate::run::plan::select_with_control;
use crate::select::{Reason, SelectOptions, Selection};
use crate::shard::partition::assign;

mod lookup;
mod report;
mod rules;
#[cfg(test)]
mod tests;

pub use lookup::{
    MIN_SIMILARITY, Match, SUGGESTIONS, UnknownEntries, UnknownEntry, closest, resolve,
};
pub use report::{
    BreakerView, Check, Dependency, ExplainReport, Explanation, Failures, Outcome, Position,
    Recipe, Rule, ShardSlot,
};

/// How far [`explain`] follows dependencies of dependencies.
pub const MAX_DEPTH: usize = 8;

/// The run's settings `explain` answers for.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// The main run's selection settings (`--batch-size`, `--tier`, `--ecosystem`,
    /// `--retry-failed`); `names` and `exclude` are not used.
    pub select: SelectOptions,
    /// `--strict`: a queue with an invalid entry makes the run refuse to start.
    pub strict: bool,
    /// `--shards N`: the batch is dealt across N shards ([`assign`]); `None` is unsharded.
    pub shards: Option<u32>,
    /// Failure records shown per entry (the newest).
    pub failures_shown: usize,
}

/// What [`explain`] reads; loaded by the caller.
pub struct ExplainInputs<'a> {
    /// The queue.
    pub queue: &'a Queue,
    /// The control file as loaded (due recoveries are applied to a copy, as the run does).
    pub control: &'a ControlFile,
    /// Every failure record (the blockers, spec §4.9).
    pub log: &'a FailureLog,
    /// The failure records of the explained entries ([`FailureNotes::read_dir`]).
    pub notes: &'a FailureNotes,
    /// `--output-dir`, the recipes' root.
    pub output_dir: &'a Path,
    /// Whether a recipe file exists (the caller's one look at the disk).
    pub on_disk: &'a dyn Fn(&Path) -> bool,
}

/// Explains the entries `matches` found ([`resolve`]) against the run that `opts` describes,
/// at `now` (spec §3). The verdict comes from `select_with_control` on the control file with
/// its due recoveries applied, exactly as a run planned at `now`; a `--strict` run with an
/// invalid entry selects nothing. Total: any queue and control file give an answer.
pub fn explain(
    inputs: &ExplainInputs<'_>,
    opts: &ExplainOptions,
    matches: &[Match],
    now: Timestamp,
) -> ExplainReport {
    let mut control = inputs.control.clone();
    control.apply_due_recoveries(now);
    let none = BTreeSet::new();
    let selection = select_with_control(&opts.select, &control, inputs.queue, now, &none);
    let unlimited = SelectOptions {
        batch_size: usize::MAX,
        ..opts.select.clone()
    };
    let unlimited = select_with_control(&unlimited, &control, inputs.queue, now, &none);
    let refused = opts.strict && !selection.invalid.is_empty();
    let ctx = Context {
        inputs,
        opts,
        now,
        control: &control,
        selection: &selection,
        unlimited: &unlimited,
        refused,
        shards: shard_slots(inputs.queue, &selection, opts.shards),
        summaries: Summaries::new(inputs.log),
        graph: BlockerGraph::new(inputs.log),
        by_name: first_by_name(inputs.queue),
    };
    let entries = matches
        .iter()
        .flat_map(|m| m.indices.iter().map(|&i| ctx.entry(&m.query, i)))
        .collect();
    ExplainReport {
        now: whole_seconds_utc(now),
        batch_size: opts.select.batch_size,
        tier: opts.select.tier,
        ecosystems: opts.select.ecosystems.iter().cloned().collect(),
        retry_failed: opts.select.retry_failed,
        shards: opts.shards,
        enabled: control.enabled,
        candidates: if refused {
            0
        } else {
            selection.candidates.len()
        },
        invalid: selection.invalid.len(),
        entries,
    }
}

fn first_by_name(queue: &Queue) -> HashMap<&str, &QueueEntry> {
    let mut m = HashMap::new();
    for e in &queue.entries {
        m.entry(e.name.as_str()).or_insert(e);
    }
    m
}

/// The shard slot of every candidate, in selection order (`None` when unsharded).
fn shard_slots(queue: &Queue, sel: &Selection, shards: Option<u32>) -> Option<Vec<ShardSlot>> {
    let n = shards?;
    let ecos: Vec<&str> = sel
        .candidates
        .iter()
        .map(|c| queue.entries[c.index].ecosystem())
        .collect();
    let dealt = assign(&ecos, n);
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut slots: Vec<ShardSlot> = dealt
        .iter()
        .map(|&k| {
            let p = seen.entry(k).or_default();
            *p += 1;
            ShardSlot {
                shard: k,
                shards: n.max(1),
                position: *p,
                size: 0,
            }
        })
        .collect();
    for s in &mut slots {
        s.size = seen.get(&s.shard).copied().unwrap_or(0);
    }
    Some(slots)
}

struct Context<'a> {
    inputs: &'a ExplainInputs<'a>,
    opts: &'a ExplainOptions,
    now: Timestamp,
    control: &'a ControlFile,
    selection: &'a Selection,
    unlimited: &'a Selection,
    refused: bool,
    shards: Option<Vec<ShardSlot>>,
    summaries: Summaries,
    graph: BlockerGraph,
    by_name: HashMap<&'a str, &'a QueueEntry>,
}

impl Context<'_> {
    fn entry(&self, query: &str, index: usize) -> Explanation {
        let e = &self.inputs.queue.entries[index];
        let eco = e.ecosystem();
        let at = self
            .selection
            .candidates
            .iter()
            .position(|c| c.index == index);
        let selected = at.is_some() && !self.refused;
        let unlimited_position = self
            .unlimited
            .candidates
            .iter()
            .position(|c| c.index == index)
            .map(|p| p + 1);
        let state = self.control.states().get(eco).copied().unwrap_or_default();
        let mut checks = rules::checks(&rules::RuleInput {
            entry: e,
            index,
            opts: self.opts,
            now: self.now,
            control: self.control,
            stored: self.inputs.control.breakers.get(eco),
            state,
            invalid: self.selection.invalid.iter().find(|i| i.index == index),
            invalid_total: self.selection.invalid.len(),
            refused: self.refused,
        });
        let earlier_pass = checks.iter().all(|c| c.outcome != Outcome::Fail);
        let position = at.filter(|_| selected).map(|p| Position {
            position: p + 1,
            candidates: self.selection.candidates.len(),
            batch_size: self.opts.select.batch_size,
            shard: self.shards.as_ref().and_then(|s| s.get(p).cloned()),
        });
        if state == EffectiveState::HalfOpen && earlier_pass {
            checks.push(self.probe_check(e, index, selected));
        }
        if checks.iter().all(|c| c.outcome != Outcome::Fail) {
            checks.push(self.batch_check(position.as_ref(), unlimited_position, selected));
        }
        let reason = at
            .filter(|_| selected)
            .map(|p| self.selection.candidates[p].reason.label().to_owned());
        let summary = match (
            &position,
            checks.iter().find(|c| c.outcome == Outcome::Fail),
        ) {
            (Some(p), _) => format!(
                "selected: candidate {} of {} ({})",
                p.position,
                p.candidates,
                reason.as_deref().unwrap_or("")
            ),
            (None, Some(c)) => format!("not selected: {}", c.detail),
            // Unreachable while the checks restate the rules; the run's verdict still wins.
            (None, None) => "not selected".to_owned(),
        };
        let stored = self.inputs.control.breakers.get(eco);
        let (blocked_by, requeue) = self.blockers(e);
        Explanation {
            query: query.to_owned(),
            index,
            name: e.name.clone(),
            source: e.source.clone(),
            ecosystem: eco.to_owned(),
            status: e.status.to_string(),
            priority: e.priority,
            failure_count: e.failure_count,
            next_retry_at: e.next_retry_at.as_ref().map(ToString::to_string),
            selected,
            summary,
            reason,
            position,
            unlimited_position,
            checks,
            breaker: BreakerView {
                stored: stored.map(|b| b.state.as_str().to_owned()),
                next_run: match state {
                    EffectiveState::Closed => "closed",
                    EffectiveState::Open => "open",
                    EffectiveState::HalfOpen => "half-open",
                }
                .to_owned(),
                probe: stored.map_or(Probe::NotNeeded, |b| next_probe(b, self.now)),
            },
            blocked_by,
            requeue,
            blocks: self
                .graph
                .blocked(&e.name)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            failures: self.failures(e),
            recipe: self.recipe(e),
        }
    }

    /// The probe rule for an entry of a half-open ecosystem that passed the other rules.
    fn probe_check(&self, e: &QueueEntry, index: usize, selected: bool) -> Check {
        let eco = e.ecosystem();
        let is_probe = |c: &&crate::select::Candidate| {
            matches!(c.reason, Reason::ProbePending | Reason::ProbeFailed)
                && self.inputs.queue.entries[c.index].ecosystem() == eco
        };
        let probe = self.unlimited.candidates.iter().find(is_probe);
        match probe {
            _ if selected => Check {
                rule: Rule::Probe,
                outcome: Outcome::Pass,
                detail: format!("it is the one probe of half-open {eco} this run"),
            },
            Some(p) if p.index != index => Check {
                rule: Rule::Probe,
                outcome: Outcome::Fail,
                detail: format!(
                    "the one probe of half-open {eco} is {} (a pending entry is preferred over a failed one, then queue order; spec §3 step 2.6)",
                    self.inputs.queue.entries[p.index].name
                ),
            },
            _ => Check {
                rule: Rule::Probe,
                outcome: Outcome::Pass,
                detail: format!("it would be the probe of half-open {eco}"),
            },
        }
    }

    fn batch_check(
        &self,
        position: Option<&Position>,
        unlimited: Option<usize>,
        selected: bool,
    ) -> Check {
        let b = self.opts.select.batch_size;
        match position {
            Some(p) if selected => Check {
                rule: Rule::BatchSize,
                outcome: Outcome::Pass,
                detail: format!(
                    "candidate {} of {} within --batch-size {b}{}",
                    p.position,
                    p.candidates,
                    p.shard.as_ref().map_or(String::new(), |s| format!(
                        "; shard {}/{}, its candidate {} of {}",
                        s.shard, s.shards, s.position, s.size
                    ))
                ),
            },
            _ => Check {
                rule: Rule::BatchSize,
                outcome: Outcome::Fail,
                detail: match unlimited {
                    Some(u) => format!(
                        "the batch is full: --batch-size {b} is reached by entries ahead of it (it would be candidate {u}; spec §3 steps 2.7, 4)"
                    ),
                    None => format!(
                        "the batch is full: --batch-size {b} is reached before the run gets to it (spec §3 steps 2.7, 4)"
                    ),
                },
            },
        }
    }

    /// Its dependencies and theirs (spec §4.9), depth first, each name followed once.
    fn blockers(&self, e: &QueueEntry) -> (Vec<Dependency>, Option<String>) {
        let mut out = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::from([e.name.clone()]);
        let direct = self.summaries.of(e).blockers;
        let mut stack: Vec<(String, usize, Option<String>)> =
            direct.iter().rev().map(|d| (d.clone(), 1, None)).collect();
        while let Some((name, depth, via)) = stack.pop() {
            let dep = self.by_name.get(name.as_str()).copied();
            let repeated = !seen.insert(name.clone());
            if !repeated
                && depth < MAX_DEPTH
                && let Some(d) = dep
            {
                for next in self.summaries.of(d).blockers.iter().rev() {
                    stack.push((next.clone(), depth + 1, Some(name.clone())));
                }
            }
            out.push(Dependency {
                status: dep.map(|d| d.status.to_string()),
                name,
                depth,
                via,
                repeated,
            });
        }
        let requeue = (e.status == Status::Blocked).then(|| {
            let waiting: Vec<String> = direct
                .iter()
                .filter_map(|d| match self.by_name.get(d.as_str()) {
                    Some(x) if x.status == Status::Success => None,
                    Some(x) => Some(format!("{d} ({})", x.status)),
                    None => Some(format!("{d} (not in the queue)")),
                })
                .collect();
            if direct.is_empty() {
                "no dependency is on record: requeue never releases it (spec §9.3.3); mark it pending by hand".to_owned()
            } else if waiting.is_empty() {
                "every dependency is success: the next `queue maintain` makes it pending (spec §4.9 requeue)".to_owned()
            } else {
                format!(
                    "`queue maintain` makes it pending once every dependency is success (spec §4.9 requeue); waiting on {}",
                    waiting.join(", ")
                )
            }
        });
        (out, requeue)
    }

    fn failures(&self, e: &QueueEntry) -> Failures {
        let mine: Vec<&FailureNote> = self
            .inputs
            .notes
            .notes
            .iter()
            .filter(|n| n.is_of(e))
            .collect();
        let skip = mine.len().saturating_sub(self.opts.failures_shown);
        Failures {
            total: mine.len(),
            last: mine.into_iter().skip(skip).cloned().collect(),
        }
    }

    fn recipe(&self, e: &QueueEntry) -> Recipe {
        match recipe_relative_path(&e.name) {
            Ok(rel) => {
                let path = self.inputs.output_dir.join(rel);
                Recipe {
                    on_disk: (self.inputs.on_disk)(&path),
                    path: Some(path.display().to_string()),
                }
            }
            Err(_) => Recipe {
                path: None,
                on_disk: false,
            },
        }
    }
}
