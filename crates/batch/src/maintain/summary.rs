//! Each queue entry's failures (spec §4.9), matched by identity rather than by Go's bare name
//! (spec §9.3.1): a batch record by `source`, a per-recipe record by `name` (and `source` when
//! it carries a `package_id`).

use rustc_hash::FxHashMap;

use crate::QueueEntry;
use crate::records::failure_log::{Failure, FailureLog, Owner};

/// What the failure records say about one entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records counted by mark-failures (over the whole history).
    pub total: u64,
    /// Union of `blocked_by` of its `missing_dep` records, in first-seen order.
    pub missing_dep_blockers: Vec<String>,
    /// Union of `blocked_by` of all its records, in first-seen order (requeue's blockers).
    pub blockers: Vec<String>,
}

impl Summary {
    /// Counts `f` (unless it does not count, [`Failure::counts`]) and unions its blockers; a
    /// repeat line of a counted run still adds its `missing_dep` blockers.
    fn add(&mut self, f: &Failure) {
        let counts = f.counts();
        if counts {
            self.total += 1;
        }
        let missing_dep = f.is_missing_dep() && (counts || f.repeat);
        for dep in &f.blocked_by {
            if missing_dep && !self.missing_dep_blockers.contains(dep) {
                self.missing_dep_blockers.push(dep.clone());
            }
            if !self.blockers.contains(dep) {
                self.blockers.push(dep.clone());
            }
        }
    }

    fn merge(&mut self, other: &Summary) {
        self.total += other.total;
        for dep in &other.missing_dep_blockers {
            if !self.missing_dep_blockers.contains(dep) {
                self.missing_dep_blockers.push(dep.clone());
            }
        }
        for dep in &other.blockers {
            if !self.blockers.contains(dep) {
                self.blockers.push(dep.clone());
            }
        }
    }
}

/// Summaries keyed by the identities records name. FxHash maps, and the name-and-source
/// map nested by name, so that looking an entry up hashes without copying its name and
/// source (mark-failures asks once per entry and round; 1M-entry queues, issue #14).
#[derive(Debug, Default)]
pub(crate) struct Summaries {
    by_source: FxHashMap<String, Summary>,
    by_name: FxHashMap<String, Summary>,
    by_name_and_source: FxHashMap<String, FxHashMap<String, Summary>>,
}

impl Summaries {
    /// Groups the log's failures by owner.
    pub fn new(log: &FailureLog) -> Self {
        let mut s = Summaries::default();
        for f in &log.failures {
            let slot = match &f.owner {
                Owner::Source(source) => s.by_source.entry(source.clone()).or_default(),
                Owner::Recipe {
                    name,
                    package_id: None,
                } => s.by_name.entry(name.clone()).or_default(),
                Owner::Recipe {
                    name,
                    package_id: Some(p),
                } => s
                    .by_name_and_source
                    .entry(name.clone())
                    .or_default()
                    .entry(p.clone())
                    .or_default(),
            };
            slot.add(f);
        }
        s
    }

    /// Everything recorded against `entry` (empty when nothing is).
    pub fn of(&self, entry: &QueueEntry) -> Summary {
        let mut out = Summary::default();
        if let Some(s) = self.by_source.get(&entry.source) {
            out.merge(s);
        }
        if let Some(s) = self.by_name.get(&entry.name) {
            out.merge(s);
        }
        if let Some(s) = self
            .by_name_and_source
            .get(&entry.name)
            .and_then(|m| m.get(&entry.source))
        {
            out.merge(s);
        }
        out
    }
}
