//! `queue status` (issue #14): the state of the queue between batches as one pure model
//! ([`queue_status`]): counts per ecosystem × status, retries due now and in the next 24 h, the top
//! blockers by blocking score, the breakers with their next probe, the kill switch, and how
//! many entries the next batch would select. No I/O; the caller loads the files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::Queue;
use crate::control::ControlFile;
use crate::control::breaker::{Breaker, BreakerState, Recovery, recovery};
use crate::maintain::reorder::{BlockerGraph, top_scores};
use crate::queue::{QueueEntry, Status};
use crate::records::failure_log::FailureLog;
use crate::records::timestamp::whole_seconds_utc;
use crate::run::plan::select_with_control;
use crate::select::{Reason, SelectOptions};

/// The statuses of spec §1.1 in the order columns show them; other strings follow, sorted.
pub(crate) const STATUS_ORDER: [&str; 6] = [
    "pending",
    "failed",
    "blocked",
    "requires_manual",
    "excluded",
    "success",
];

/// The window of "due soon" retries: 24 hours (issue #14).
pub(crate) const SOON: SignedDuration = SignedDuration::from_hours(24);

/// What [`queue_status`] looks at.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// Only this ecosystem (`--ecosystem`): counts, retries, blockers, breakers and the next
    /// batch (as `--ecosystem E` would select) are limited to it.
    pub ecosystem: Option<String>,
    /// The next batch's selection settings (the main run's defaults: batch size 25, tier 2).
    pub select: SelectOptions,
    /// How many blockers to list (10).
    pub top: usize,
}

/// One ecosystem's row of the count table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemCounts {
    /// The ecosystem key (`""` for sources without a colon).
    pub ecosystem: String,
    /// Entries of this ecosystem.
    pub total: usize,
    /// Entries per status (only statuses present).
    pub by_status: BTreeMap<String, usize>,
}

/// An entry waiting for, or due for, its retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// Entry name.
    pub entry: String,
    /// Entry source.
    pub source: String,
    /// `pending` or `failed`.
    pub status: String,
    /// The retry time (`null`: a failed entry with none, due at once).
    pub next_retry_at: Option<String>,
    /// Its `failure_count`.
    pub failure_count: i64,
}

/// Retries: entries that are `failed`, or `pending` with a `next_retry_at` (the backoff gate
/// ignores status, spec §1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Retries {
    /// Retry time null or ≤ now, in time order (null first), then queue order.
    pub due_now: Vec<Retry>,
    /// Retry time in (now, now + 24 h], in time order.
    pub next_24h: Vec<Retry>,
    /// Retry time later than that.
    pub later: usize,
}

/// An entry blocking others, with its blocking score (spec §4.9 reorder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    /// Entry name (the dependency other failures name in `blocked_by`).
    pub entry: String,
    /// Its priority.
    pub priority: i64,
    /// Distinct packages it blocks, directly or transitively (cycles count 0).
    pub score: u64,
    /// The packages it blocks directly, as package IDs, in reading order.
    pub blocks: Vec<String>,
}

/// When an ecosystem's breaker lets a probe through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Probe {
    /// Closed: no probe needed, normal selection.
    NotNeeded,
    /// Half-open, or open with `opens_at` passed: the next run probes one entry.
    NextRun,
    /// Open until `at` (`opens_at`).
    At {
        /// `opens_at`, as written.
        at: String,
    },
    /// Open with no `opens_at`: stays open until an operator acts.
    Never,
    /// Open with an `opens_at` that is not RFC 3339: stays open.
    Unparseable {
        /// The text found.
        opens_at: String,
    },
}

/// One ecosystem's circuit breaker (spec §1.2, §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakerStatus {
    /// Ecosystem key (`default` included).
    pub ecosystem: String,
    /// Stored state.
    pub state: String,
    /// Consecutive all-failed batches.
    pub failures: i64,
    /// `last_failure`.
    pub last_failure: Option<String>,
    /// The next probe.
    pub probe: Probe,
}

/// The kill switch and the paused ecosystems (spec §1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KillSwitch {
    /// `enabled`: false means no batch selects anything.
    pub enabled: bool,
    /// `reason`.
    pub reason: Option<String>,
    /// `disabled_ecosystems`.
    pub disabled_ecosystems: Vec<String>,
}

/// What the next batch would select at the given settings (spec §3, the run's own selection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextBatch {
    /// `--batch-size`.
    pub batch_size: usize,
    /// `--tier`.
    pub tier: i64,
    /// Entries selected, probes included.
    pub selected: usize,
    /// Of which half-open probes.
    pub probes: usize,
    /// Selected per ecosystem.
    pub per_ecosystem: BTreeMap<String, usize>,
    /// Invalid entries selection skips (never run).
    pub invalid: usize,
}

/// The whole status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// The instant the status is computed at, `YYYY-MM-DDTHH:MM:SSZ`.
    pub now: String,
    /// The `--ecosystem` it is limited to.
    pub ecosystem: Option<String>,
    /// Entries counted.
    pub total: usize,
    /// The status columns present, in `STATUS_ORDER`, then other strings sorted.
    pub statuses: Vec<String>,
    /// Entries per status over all ecosystems.
    pub by_status: BTreeMap<String, usize>,
    /// One row per ecosystem, sorted by ecosystem.
    pub ecosystems: Vec<EcosystemCounts>,
    /// Retries due now and in the next 24 h.
    pub retries: Retries,
    /// The top blockers by blocking score (highest first, name order on ties).
    pub blockers: Vec<Blocker>,
    /// Breakers, sorted by ecosystem.
    pub breakers: Vec<BreakerStatus>,
    /// The kill switch.
    pub kill_switch: KillSwitch,
    /// The next batch.
    pub next_batch: NextBatch,
}

/// Computes the status of `queue` at `now` (issue #14). `control` is the control file as
/// loaded (its due recoveries are applied to a copy, as the next run would); `log` the failure
/// records (blocking scores, spec §4.9). Pure and total: any queue gives a status.
pub fn queue_status(
    queue: &Queue,
    control: &ControlFile,
    log: &FailureLog,
    opts: &StatusOptions,
    now: Timestamp,
) -> QueueStatus {
    let in_scope = |e: &QueueEntry| opts.ecosystem.as_deref().is_none_or(|x| e.ecosystem() == x);
    let scoped: Vec<&QueueEntry> = queue.entries.iter().filter(|e| in_scope(e)).collect();

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut rows: BTreeMap<&str, EcosystemCounts> = BTreeMap::new();
    for e in &scoped {
        *by_status.entry(e.status.to_string()).or_default() += 1;
        let row = rows
            .entry(e.ecosystem())
            .or_insert_with(|| EcosystemCounts {
                ecosystem: e.ecosystem().to_owned(),
                total: 0,
                by_status: BTreeMap::new(),
            });
        row.total += 1;
        *row.by_status.entry(e.status.to_string()).or_default() += 1;
    }
    let mut statuses: Vec<String> = STATUS_ORDER
        .iter()
        .filter(|s| by_status.contains_key(**s))
        .map(|s| (*s).to_owned())
        .collect();
    statuses.extend(
        by_status
            .keys()
            .filter(|s| !STATUS_ORDER.contains(&s.as_str()))
            .cloned(),
    );

    let graph = BlockerGraph::new(log);
    let scores: HashMap<String, u64> = graph.scores(queue);
    let blockers = top_scores(scoped.iter().copied(), &scores, opts.top)
        .into_iter()
        .map(|s| Blocker {
            blocks: graph
                .blocked(&s.entry)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            entry: s.entry,
            priority: s.priority,
            score: s.score,
        })
        .collect();

    let breakers = control
        .breakers
        .iter()
        .filter(|(eco, _)| opts.ecosystem.as_ref().is_none_or(|x| x == *eco))
        .map(|(eco, b)| BreakerStatus {
            ecosystem: eco.clone(),
            state: b.state.as_str().to_owned(),
            failures: b.failures,
            last_failure: b.last_failure.clone(),
            probe: next_probe(b, now),
        })
        .collect();

    let mut next_control = control.clone();
    next_control.apply_due_recoveries(now);
    let mut select = opts.select.clone();
    if let Some(eco) = &opts.ecosystem {
        select.ecosystems = BTreeSet::from([eco.clone()]);
    }
    let selection = select_with_control(&select, &next_control, queue, now, &BTreeSet::new());
    let mut per_ecosystem: BTreeMap<String, usize> = BTreeMap::new();
    for c in &selection.candidates {
        *per_ecosystem
            .entry(queue.entries[c.index].ecosystem().to_owned())
            .or_default() += 1;
    }
    let next_batch = NextBatch {
        batch_size: select.batch_size,
        tier: select.tier,
        selected: selection.candidates.len(),
        probes: selection
            .candidates
            .iter()
            .filter(|c| matches!(c.reason, Reason::ProbePending | Reason::ProbeFailed))
            .count(),
        per_ecosystem,
        invalid: selection
            .invalid
            .iter()
            .filter(|i| in_scope(&queue.entries[i.index]))
            .count(),
    };

    QueueStatus {
        now: whole_seconds_utc(now),
        ecosystem: opts.ecosystem.clone(),
        total: scoped.len(),
        statuses,
        by_status,
        ecosystems: rows.into_values().collect(),
        retries: retries(&scoped, now),
        blockers,
        breakers,
        kill_switch: KillSwitch {
            enabled: control.enabled,
            reason: control.reason.clone(),
            disabled_ecosystems: control.disabled_ecosystems.iter().cloned().collect(),
        },
        next_batch,
    }
}

/// When `b` next lets a probe through, as of `now` (spec §6.2; `queue status` and `explain`).
pub fn next_probe(b: &Breaker, now: Timestamp) -> Probe {
    match (b.state, recovery(b, now)) {
        (BreakerState::Closed, _) => Probe::NotNeeded,
        (BreakerState::HalfOpen, _) | (_, Recovery::Due) => Probe::NextRun,
        (_, Recovery::NotYet(_)) => Probe::At {
            at: b.opens_at.clone().unwrap_or_default(),
        },
        (_, Recovery::Unparseable(opens_at)) => Probe::Unparseable { opens_at },
        (_, Recovery::NoRecoveryTime | Recovery::NotOpen) => Probe::Never,
    }
}

/// Sorts the retries (see [`Retries`]) into due now, next 24 h and later.
fn retries(entries: &[&QueueEntry], now: Timestamp) -> Retries {
    let soon = now.checked_add(SOON).unwrap_or(Timestamp::MAX);
    let mut due: Vec<(Option<Timestamp>, Retry)> = Vec::new();
    let mut next: Vec<(Option<Timestamp>, Retry)> = Vec::new();
    let mut later = 0;
    for e in entries {
        let retry = matches!(
            (&e.status, &e.next_retry_at),
            (Status::Failed, _) | (Status::Pending, Some(_))
        );
        if !retry {
            continue;
        }
        let at = e.next_retry_at.as_ref().map(|t| t.instant());
        let item = Retry {
            entry: e.name.clone(),
            source: e.source.clone(),
            status: e.status.to_string(),
            next_retry_at: e.next_retry_at.as_ref().map(ToString::to_string),
            failure_count: e.failure_count,
        };
        match at {
            None => due.push((at, item)),
            Some(t) if t <= now => due.push((at, item)),
            Some(t) if t <= soon => next.push((at, item)),
            Some(_) => later += 1,
        }
    }
    // Stable: queue order on equal times; `None` sorts first.
    due.sort_by_key(|(t, _)| *t);
    next.sort_by_key(|(t, _)| *t);
    Retries {
        due_now: due.into_iter().map(|(_, r)| r).collect(),
        next_24h: next.into_iter().map(|(_, r)| r).collect(),
        later,
    }
}

#[cfg(test)]
mod tests;
