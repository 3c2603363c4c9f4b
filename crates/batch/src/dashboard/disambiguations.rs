//! Disambiguation decisions (issue #23; `dashboard.go` `loadDisambiguationsFromDir`): the
//! records of every `*.jsonl` file of the disambiguations directory (in tsuku,
//! `curated.jsonl`), one per tool.

use std::collections::HashSet;

use super::model::{DisambiguationRecord, DisambiguationStatus};

/// The summary of the records in reading order (files by name, lines and records in order):
/// the first record of each tool counts, later ones are ignored; entries sorted by tool,
/// `need_review` (tools with `high_risk`) sorted. `None` when the summary is empty (Go leaves
/// `disambiguations` out when its total is 0).
pub(crate) fn summarize(records: Vec<DisambiguationRecord>) -> Option<DisambiguationStatus> {
    let mut status = DisambiguationStatus {
        total: 0,
        by_reason: Default::default(),
        high_risk: 0,
        need_review: Vec::new(),
        entries: Vec::new(),
    };
    let mut seen = HashSet::new();
    for rec in records {
        if !seen.insert(rec.tool.clone()) {
            continue;
        }
        status.total += 1;
        *status
            .by_reason
            .entry(rec.selection_reason.clone())
            .or_default() += 1;
        if rec.high_risk {
            status.high_risk += 1;
            status.need_review.push(rec.tool.clone());
        }
        status.entries.push(rec);
    }
    status.entries.sort_by(|a, b| a.tool.cmp(&b.tool));
    status.need_review.sort();
    (status.total > 0).then_some(status)
}
