//! `batch-results.json` (spec §1.4): per-ecosystem and total counts of one run.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::jsonfmt;
use super::outcome::OutcomeKind;
use super::timestamp::{rfc3339_nano_utc, utc_date};

/// Per-ecosystem counts in `batch-results.json`; blocked = total − succeeded − failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EcosystemCounts {
    /// Entries processed.
    pub total: usize,
    /// Entries that succeeded.
    pub succeeded: usize,
    /// Entries that failed (blocked ones are in neither).
    pub failed: usize,
}

impl EcosystemCounts {
    /// Counts one processed entry (a blocked one only in `total`).
    pub fn add(&mut self, outcome: OutcomeKind) {
        self.total += 1;
        match outcome {
            OutcomeKind::Succeeded => self.succeeded += 1,
            OutcomeKind::Failed => self.failed += 1,
            OutcomeKind::Blocked => {}
        }
    }
}

/// `batch-results.json` (spec §1.4), keys in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResults {
    /// UTC date of the run start, `YYYY-MM-DD`.
    pub batch_id: String,
    /// Ecosystem → entries processed.
    pub ecosystems: BTreeMap<String, usize>,
    /// Ecosystem → counts.
    pub per_ecosystem: BTreeMap<String, EcosystemCounts>,
    /// Entries processed: `succeeded + failed + blocked`.
    pub total: usize,
    /// Entries that succeeded.
    pub succeeded: usize,
    /// Entries that failed.
    pub failed: usize,
    /// Entries that are blocked on dependencies.
    pub blocked: usize,
    /// RFC 3339 UTC with nanoseconds: when processing started. Deliberate fix: an empty run
    /// records its real start, not Go's zero time (spec §9.1.16).
    pub timestamp: String,
    /// Selected entries that did not run (interrupted, stopped, generator missing), in
    /// selection order; they are in none of the counts and unchanged in the queue. Not in Go's
    /// format: written only when non-empty, so a complete batch keeps Go's keys exactly
    /// (issue #12).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_run: Vec<NotRunEntry>,
}

/// One selected entry that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRunEntry {
    /// Entry name.
    pub name: String,
    /// Entry source (`eco:id`).
    pub source: String,
    /// Why it did not run.
    pub reason: String,
}

impl BatchResults {
    /// An empty result for a run started at `started`.
    pub fn new(started: Timestamp) -> Self {
        Self {
            batch_id: utc_date(started),
            timestamp: rfc3339_nano_utc(started),
            ..Self::default()
        }
    }

    /// Counts one processed entry of `ecosystem`.
    pub fn count(&mut self, ecosystem: &str, outcome: OutcomeKind) {
        *self.ecosystems.entry(ecosystem.to_owned()).or_default() += 1;
        self.per_ecosystem
            .entry(ecosystem.to_owned())
            .or_default()
            .add(outcome);
        self.total += 1;
        match outcome {
            OutcomeKind::Succeeded => self.succeeded += 1,
            OutcomeKind::Failed => self.failed += 1,
            OutcomeKind::Blocked => self.blocked += 1,
        }
    }

    /// Pretty JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        jsonfmt::to_pretty(self).expect("results always serialise")
    }
}
