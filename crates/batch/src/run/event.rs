//! What a run reports while and after it executes: the [`Event`]s progress displays and job
//! logs consume, and the [`EntryResult`] of each candidate. `execute.rs` emits them; nothing
//! here schedules or prints.

use std::time::Duration;

use jiff::Timestamp;

use super::adaptive::PaceChange;
use crate::generator::Step;
use crate::records::Outcome;
use crate::runner::{Command, Exit};

/// Progress of a run, for logs and progress bars. `position` is the candidate's place in
/// selection order (0-based).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A generator step is about to start (after its rate-limit permit and job slot).
    StepStarted {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Which step.
        step: Step,
        /// 0 for the first attempt.
        retry: u32,
    },
    /// A generator process ended (or could not be started): one per attempt, for job logs.
    StepFinished {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Its ecosystem.
        ecosystem: &'a str,
        /// Which step.
        step: Step,
        /// 0 for the first attempt.
        retry: u32,
        /// When the process was started (the run's wall clock).
        started: Timestamp,
        /// How long it ran (tokio's clock).
        took: Duration,
        /// How it ended; `None` when it could not be started.
        exit: Option<Exit>,
        /// What was run.
        command: &'a Command,
        /// The whole message of the failure the generator read from this process
        /// ([`Failure::message`](crate::generator::Failure::message)); `None` when it passed
        /// or was not read (not started, stopped). Job logs show its headline (issue #22).
        failure: Option<&'a str>,
    },
    /// A step failed in a way the generator reads as transient (tsuku: the network code)
    /// and will be retried after `delay`.
    Retrying {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Which step.
        step: Step,
        /// Retry number, 1-based.
        retry: u32,
        /// Backoff before the retry.
        delay: Duration,
    },
    /// An ecosystem's start period changed (adaptive slowdown, issue #15).
    PaceChanged {
        /// The ecosystem.
        ecosystem: &'a str,
        /// From, to and why.
        change: PaceChange,
    },
    /// An ecosystem's upstream is taken as down (issue #22): `after` of its entries in a row
    /// exhausted their retries on the network code. No `create` of it starts any more; its
    /// entries still waiting end [`EntryResult::NotRun`] with `<ecosystem> unreachable`.
    Unreachable {
        /// The ecosystem.
        ecosystem: &'a str,
        /// K, the streak that declared it.
        after: u32,
    },
    /// The candidate is done.
    Finished {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Its ecosystem.
        ecosystem: &'a str,
        /// What happened.
        result: &'a EntryResult,
    },
}

/// The result of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryResult {
    /// Processed; `at` is when the outcome was classified.
    Done {
        /// The outcome.
        outcome: Outcome,
        /// Classification time (backoff is counted from it).
        at: Timestamp,
    },
    /// Not run: the generator could not be started (so the run halted), or the run was
    /// interrupted; the entry is left unchanged and does not count in the totals.
    NotRun {
        /// Why.
        reason: String,
    },
}
