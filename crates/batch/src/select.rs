//! Candidate selection (spec §3): which queue entries a run processes, and in what order.
//! Pure: takes the entries, the effective breaker states and `now`, does no I/O.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::control::breaker::EffectiveState;
use crate::queue::{QueueEntry, Status};

/// The selection inputs a run is configured with.
#[derive(Debug, Clone, Default)]
pub struct SelectOptions {
    /// Maximum number of candidates, probes included (`--batch-size`).
    pub batch_size: usize,
    /// Maximum `priority` in normal (closed-breaker) selection (`--tier`).
    pub tier: i64,
    /// Only these ecosystems; empty means all (`--ecosystem`, repeatable).
    pub ecosystems: BTreeSet<String>,
    /// Ecosystems paused in the control file (`disabled_ecosystems`): never selected.
    pub disabled: BTreeSet<String>,
    /// Queue indices never selected: entries a resumed run already finished (issue #4).
    pub exclude: BTreeSet<usize>,
    /// `--name`: run exactly these entries (issue #12), whatever their tier, backoff and the
    /// batch size; see [`select_candidates`].
    pub names: BTreeSet<String>,
    /// `--retry-failed`: only failed entries, their backoff ignored (issue #12).
    pub retry_failed: bool,
    /// `--force`: named entries run even when their ecosystem's breaker is open or the
    /// ecosystem is disabled.
    pub force: bool,
}

/// Why an entry was selected (shown by `--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Closed breaker, within tier and past its backoff.
    Normal,
    /// Half-open probe: the first pending entry of its ecosystem (tier and backoff bypassed).
    ProbePending,
    /// Half-open probe: no pending entry, so the first failed one (tier and backoff bypassed).
    ProbeFailed,
    /// Named with `--name` (tier, backoff and batch size bypassed).
    Named,
    /// Named with `--name --force` although its breaker is open or its ecosystem disabled.
    Forced,
    /// A failed entry selected by `--retry-failed` (backoff bypassed).
    RetryFailed,
}

impl Reason {
    /// Short label for plans and logs.
    pub fn label(self) -> &'static str {
        match self {
            Reason::Normal => "normal",
            Reason::ProbePending => "half-open probe",
            Reason::ProbeFailed => "half-open probe (failed entry)",
            Reason::Named => "named (--name)",
            Reason::Forced => "named, breaker forced (--force)",
            Reason::RetryFailed => "retry failed (--retry-failed)",
        }
    }
}

/// One selected entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index into the queue's entries.
    pub index: usize,
    /// Why it was selected.
    pub reason: Reason,
}

/// A queue entry that fails validation or the path-safety rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEntry {
    /// Index into the queue's entries.
    pub index: usize,
    /// The entry's name as found.
    pub name: String,
    /// Every rule it breaks.
    pub problems: Vec<String>,
}

/// Selection result: candidates in processing order, and the invalid entries met on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Candidates in processing order (spec §3 "consequences").
    pub candidates: Vec<Candidate>,
    /// Every entry of the queue that fails validation (issue #3 "bad input"), whatever its
    /// status, ecosystem or breaker: never run, left unchanged, reported and counted.
    pub invalid: Vec<InvalidEntry>,
    /// Names given with `--name` that select nothing, with why (not in the queue, invalid,
    /// nothing to retry, breaker open, filtered out), sorted by name.
    pub unselected_names: Vec<(String, String)>,
}

/// Selects candidates exactly as spec §3, with two deliberate fixes: fallback probes are
/// ordered by ecosystem name (Go's map order is random), and invalid entries are skipped and
/// reported instead of run (all of them, independent of the filter and of where the main pass
/// stops; an entry whose name repeats an earlier entry's is invalid too). `breakers` maps ecosystem → effective state; a missing key is closed. Disabled
/// ecosystems behave as open.
///
/// With `--name` ([`SelectOptions::names`]) the selection is exactly the named entries in
/// queue order: pending, failed or blocked ones, whatever their priority, backoff and the batch
/// size, in the ecosystem filter, and not behind an open breaker or a disabled ecosystem unless
/// `force`. Names that select nothing are listed in [`Selection::unselected_names`]. With
/// `--retry-failed` only failed entries are considered, their backoff ignored; everything
/// else (tier, breakers, probes, batch size) is as spec §3.
pub fn select_candidates(
    entries: &[QueueEntry],
    breakers: &BTreeMap<String, EffectiveState>,
    opts: &SelectOptions,
    now: Timestamp,
) -> Selection {
    if !opts.names.is_empty() {
        return select_named(entries, breakers, opts);
    }
    let mut out = Selection::default();
    let mut probed: BTreeSet<&str> = BTreeSet::new();
    let mut fallback: BTreeMap<&str, usize> = BTreeMap::new();

    // First index of every name: a later entry with the same name would write the same
    // recipe file, concurrently, so it is invalid (issue #4 "duplicate names").
    // FxHash: names are not attacker-chosen hash-flooding material here, and SipHash was a
    // third of the time of selecting from a 1M-entry queue.
    let mut first_of: rustc_hash::FxHashMap<&str, usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
    let mut full = false;
    for (index, e) in entries.iter().enumerate() {
        let first = *first_of.entry(e.name.as_str()).or_insert(index);
        if !e.is_valid() || first != index {
            let mut problems = e.problems();
            if first != index {
                problems.push(format!("duplicate name (first at entry {first})"));
            }
            out.invalid.push(InvalidEntry {
                index,
                name: e.name.clone(),
                problems,
            });
            continue;
        }
        // Once the batch is full the main pass stops (spec §3 step 2.7); the scan goes on only
        // to report invalid entries.
        let wanted = if opts.retry_failed {
            e.status == Status::Failed
        } else {
            matches!(e.status, Status::Pending | Status::Failed)
        };
        if full || !wanted || opts.exclude.contains(&index) {
            continue;
        }
        let eco = e.ecosystem();
        if !opts.ecosystems.is_empty() && !opts.ecosystems.contains(eco) {
            continue;
        }
        if opts.disabled.contains(eco) {
            continue;
        }
        match breakers.get(eco).copied().unwrap_or_default() {
            EffectiveState::Open => {}
            EffectiveState::HalfOpen => {
                if probed.contains(eco) {
                    continue;
                }
                if e.status == Status::Pending {
                    out.candidates.push(Candidate {
                        index,
                        reason: Reason::ProbePending,
                    });
                    probed.insert(eco);
                } else {
                    fallback.entry(eco).or_insert(index);
                }
            }
            EffectiveState::Closed => {
                let in_backoff = e.next_retry_at.is_some_and(|t| t.instant() > now);
                if e.priority > opts.tier || (in_backoff && !opts.retry_failed) {
                    continue;
                }
                out.candidates.push(Candidate {
                    index,
                    reason: if opts.retry_failed {
                        Reason::RetryFailed
                    } else {
                        Reason::Normal
                    },
                });
                full = out.candidates.len() >= opts.batch_size;
            }
        }
    }

    for (eco, index) in fallback {
        if !probed.contains(eco) {
            out.candidates.push(Candidate {
                index,
                reason: Reason::ProbeFailed,
            });
        }
    }
    out.candidates.truncate(opts.batch_size);
    out
}

/// `--name` selection: see [`select`].
fn select_named(
    entries: &[QueueEntry],
    breakers: &BTreeMap<String, EffectiveState>,
    opts: &SelectOptions,
) -> Selection {
    let mut out = Selection::default();
    let mut why: BTreeMap<&str, String> = opts
        .names
        .iter()
        .map(|n| (n.as_str(), "not in the queue".to_owned()))
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for (index, e) in entries.iter().enumerate() {
        let first = seen.insert(e.name.as_str());
        if !e.is_valid() || !first {
            let mut problems = e.problems();
            if !first {
                problems.push("duplicate name".to_owned());
            }
            if let Some(w) = why.get_mut(e.name.as_str()) {
                *w = format!("invalid entry {index}: {}", problems.join("; "));
            }
            out.invalid.push(InvalidEntry {
                index,
                name: e.name.clone(),
                problems,
            });
            continue;
        }
        let Some(w) = why.get_mut(e.name.as_str()) else {
            continue;
        };
        let eco = e.ecosystem();
        let blocked_by_breaker =
            opts.disabled.contains(eco) || breakers.get(eco).copied() == Some(EffectiveState::Open);
        let problem = if !matches!(e.status, Status::Pending | Status::Failed | Status::Blocked) {
            Some(format!("its status is {} (nothing to retry)", e.status))
        } else if opts.exclude.contains(&index) {
            Some("already finished by the interrupted run this run resumed".to_owned())
        } else if !opts.ecosystems.is_empty() && !opts.ecosystems.contains(eco) {
            Some(format!("its ecosystem {eco} is not in --ecosystem"))
        } else if blocked_by_breaker && !opts.force {
            Some(format!(
                "the circuit breaker of {eco} is open or the ecosystem is disabled (pass --force to run it anyway)"
            ))
        } else {
            None
        };
        match problem {
            Some(p) => *w = p,
            None => {
                why.remove(e.name.as_str());
                out.candidates.push(Candidate {
                    index,
                    reason: if blocked_by_breaker {
                        Reason::Forced
                    } else {
                        Reason::Named
                    },
                });
            }
        }
    }
    out.unselected_names = why.into_iter().map(|(n, w)| (n.to_owned(), w)).collect();
    out
}

#[cfg(test)]
mod tests;
