//! Recovery of an interrupted run (issue #4): the journal beside the queue is applied, its
//! records and results written, and the journal removed.

use std::collections::BTreeSet;

use batch_base::clock::Clock;

use super::apply::{RunReport, apply_outcome_line, update_breakers};
use super::error::RunError;
use super::journal::{self, Journal, Line, OutcomeLine};
use super::persist::save_run_with;
use super::plan::Plan;
use crate::config::Config;
use crate::control::ControlFile;
use crate::queue::Queue;
use crate::records::BatchResults;
use crate::records::timestamp::Rfc3339;
use crate::select::Selection;

/// What `recover_journal` did.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Outcomes applied from the journal.
    pub applied: usize,
    /// Queue indices of those entries (a resumed run does not run them again).
    pub indices: BTreeSet<usize>,
    /// Journaled entries no longer found in the queue (name, source); not applied.
    pub missing: Vec<(String, String)>,
    /// The files written, counts and records of the recovered part of the interrupted run.
    pub report: RunReport,
}

/// Finishes an interrupted run (issue #4): when `<queue>.journal` exists, applies its outcomes
/// to the queue (setting each entry to its journaled state), writes their failure records,
/// results, summary and breaker updates, and removes the journal. Returns `None` without a
/// journal. Replaying the same journal twice gives the same files.
///
/// # Errors
/// Unreadable or corrupt journal, queue or control file; write errors (the journal is kept).
pub(crate) fn recover_journal(
    config: &Config,
    clock: &dyn Clock,
) -> Result<Option<Recovery>, RunError> {
    let path = journal::path_for(&config.queue);
    // A torn last line is cut now, so the breakers line appended by the save starts on a
    // line of its own.
    let Some((mut j, lines)) = Journal::resume(&path)? else {
        return Ok(None);
    };
    let (queue, queue_existed) = Queue::load_with(&config.queue, config.missing_queue)?;
    let control = ControlFile::load(&config.control_file)?;
    let now = clock.now();
    let started = lines
        .iter()
        .find_map(|l| match l {
            Line::Start { started, .. } => Some(*started),
            _ => None,
        })
        .unwrap_or(Rfc3339::utc(now));
    let mut outcomes: Vec<&OutcomeLine> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Outcome(o) => Some(o.as_ref()),
            _ => None,
        })
        .collect();
    outcomes.sort_by_key(|o| o.position);
    outcomes.dedup_by_key(|o| o.position);
    let breakers = lines.iter().rev().find_map(|l| match l {
        Line::Breakers { breakers } => Some(breakers),
        _ => None,
    });

    let mut plan = Plan {
        queue,
        queue_existed,
        control,
        recovery: Vec::new(),
        kill_switch: false,
        selection: Selection::default(),
        started: started.instant(),
    };
    let mut rec = Recovery {
        report: RunReport {
            results: BatchResults::new(started.instant()),
            ..RunReport::default()
        },
        ..Recovery::default()
    };
    for o in outcomes {
        let found = match plan.queue.entries.get(o.index) {
            Some(e) if e.name == o.name && e.source == o.source => Some(o.index),
            _ => plan
                .queue
                .entries
                .iter()
                .position(|e| e.name == o.name && e.source == o.source),
        };
        let Some(index) = found else {
            rec.missing.push((o.name.clone(), o.source.clone()));
            continue;
        };
        apply_outcome_line(&mut plan.queue.entries[index], o, &mut rec.report);
        rec.indices.insert(index);
        rec.applied += 1;
    }
    match breakers {
        // The run had decided its breaker updates: set exactly those states.
        Some(b) => {
            for (eco, line) in b {
                plan.control.set_breaker(eco, line.into());
            }
        }
        None => {
            plan.recovery = plan.control.apply_due_recoveries(now);
            update_breakers(&mut plan.control, &mut rec.report, config, now);
        }
    }
    save_run_with(&mut plan, &mut rec.report, config, clock, Some(&mut j))?;
    Ok(Some(rec))
}
