//! Planning (spec §2.2 steps 2–4, §3): load the queue and the control file, apply due breaker
//! recoveries and select candidates. Nothing here writes.

use std::collections::BTreeSet;

use batch_base::clock::Clock;
use jiff::Timestamp;

use super::error::RunError;
use crate::config::Config;
use crate::control::{ControlFile, RecoveryNote};
use crate::queue::Queue;
use crate::select::{self, Selection};

/// Everything decided before any generator runs.
#[derive(Debug)]
pub struct Plan {
    /// The queue as loaded.
    pub queue: Queue,
    /// Whether the queue file existed (a missing one is created on save).
    pub queue_existed: bool,
    /// The control file, with due open → half-open moves applied in memory.
    pub control: ControlFile,
    /// Breakers that moved to half-open, or are stuck open.
    pub recovery: Vec<RecoveryNote>,
    /// The kill switch was off: nothing is selected and nothing may be written.
    pub kill_switch: bool,
    /// Candidates and invalid entries.
    pub selection: Selection,
    /// When the run started (batch ID, results timestamp).
    pub started: Timestamp,
}

impl Plan {
    /// Selected entries per ecosystem, sorted by ecosystem.
    pub fn counts(&self) -> std::collections::BTreeMap<&str, usize> {
        let mut m = std::collections::BTreeMap::new();
        for c in &self.selection.candidates {
            *m.entry(self.queue.entries[c.index].ecosystem())
                .or_default() += 1;
        }
        m
    }
}

/// Loads the queue and the control file, applies due breaker recoveries and selects
/// candidates (spec §2.2 steps 2–4, §3).
///
/// # Errors
/// [`RunError::Queue`] or [`RunError::Control`] for unreadable or invalid input; nothing is
/// written in either case.
pub fn plan(config: &Config, clock: &dyn Clock) -> Result<Plan, RunError> {
    plan_excluding(config, clock, &BTreeSet::new())
}

/// [`plan`], never selecting the queue indices in `exclude` (the entries a resumed run already
/// finished, issue #4).
///
/// # Errors
/// As [`plan`].
pub fn plan_excluding(
    config: &Config,
    clock: &dyn Clock,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    let (queue, queue_existed) = Queue::load(&config.queue)?;
    plan_from(config, clock, queue, queue_existed, exclude)
}

/// [`plan_excluding`] on a queue the caller loaded (a sharded run loads it with its hash,
/// [`Queue::load_hashed`]). `clock` decides due breaker recoveries and retry times, and is the
/// plan's start; the shards of one batch pass the same plan time so they all select the same
/// candidates (issue #6).
///
/// # Errors
/// [`RunError::Control`] for an unreadable or invalid control file.
pub fn plan_from(
    config: &Config,
    clock: &dyn Clock,
    queue: Queue,
    queue_existed: bool,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    let mut control = ControlFile::load(&config.control_file)?;
    let started = clock.now();
    let recovery = control.apply_due_recoveries(started);
    let kill_switch = !control.enabled;
    let selection = if kill_switch {
        Selection::default()
    } else {
        let mut opts = config.select.clone();
        opts.disabled
            .extend(control.disabled_ecosystems.iter().cloned());
        opts.exclude.extend(exclude.iter().copied());
        select::select(&queue.entries, &control.states(), &opts, started)
    };
    Ok(Plan {
        queue,
        queue_existed,
        control,
        recovery,
        kill_switch,
        selection,
        started,
    })
}
