//! Unit tests of `select` (spec §3, §8.1 #1–15, §8.2 #83–88).
//!
//! Expected lists are derived from the spec by hand, with the two deliberate differences of
//! this crate: fallback probes come in ecosystem-name order, and invalid entries are reported
//! in `Selection::invalid` instead of being selected.

use super::*;
use crate::records::timestamp::Rfc3339;
use proptest::prelude::*;

use EffectiveState::{Closed, HalfOpen, Open};
use Reason::{Normal, ProbeFailed, ProbePending};

const NOW: &str = "2026-06-01T12:00:00Z";
const FUTURE: &str = "2999-01-01T00:00:00Z";
const PAST: &str = "2000-01-01T00:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn ts(s: &str) -> Rfc3339 {
    s.parse().unwrap()
}

/// A pending entry (confidence auto, no history).
fn pending(name: &str, source: &str, priority: i64) -> QueueEntry {
    QueueEntry::new(name, source, priority)
}

/// An entry with the given status and optional `next_retry_at`.
fn entry(
    name: &str,
    source: &str,
    priority: i64,
    status: Status,
    retry: Option<&str>,
) -> QueueEntry {
    QueueEntry {
        status,
        next_retry_at: retry.map(ts),
        ..QueueEntry::new(name, source, priority)
    }
}

/// A failed entry with a failure count and optional `next_retry_at`.
fn failed(name: &str, source: &str, failure_count: i64, retry: Option<&str>) -> QueueEntry {
    QueueEntry {
        failure_count,
        ..entry(name, source, 1, Status::Failed, retry)
    }
}

fn opts(batch_size: usize, tier: i64) -> SelectOptions {
    SelectOptions {
        batch_size,
        tier,
        ..SelectOptions::default()
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn filtered(batch_size: usize, tier: i64, ecosystems: &[&str]) -> SelectOptions {
    SelectOptions {
        ecosystems: set(ecosystems),
        ..opts(batch_size, tier)
    }
}

fn breakers(states: &[(&str, EffectiveState)]) -> BTreeMap<String, EffectiveState> {
    states.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn run(entries: &[QueueEntry], states: &[(&str, EffectiveState)], o: &SelectOptions) -> Selection {
    select_candidates(entries, &breakers(states), o, now())
}

/// Names of the selected entries, in processing order.
fn names<'a>(entries: &'a [QueueEntry], s: &Selection) -> Vec<&'a str> {
    s.candidates
        .iter()
        .map(|c| entries[c.index].name.as_str())
        .collect()
}

/// Names and reasons of the selected entries, in processing order.
fn picked<'a>(entries: &'a [QueueEntry], s: &Selection) -> Vec<(&'a str, Reason)> {
    s.candidates
        .iter()
        .map(|c| (entries[c.index].name.as_str(), c.reason))
        .collect()
}

fn invalid_indices(s: &Selection) -> Vec<usize> {
    s.invalid.iter().map(|i| i.index).collect()
}

mod pick;
mod props;
mod rules;
mod spec;
