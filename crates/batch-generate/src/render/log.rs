//! Log lines (stderr, through tracing) about what a run found: missing files, breaker
//! recoveries and changes, invalid entries, a resumed run, the notices of the main sequence.

use batch::Config;
use batch::control::{Change, RecoveryNote};
use batch::run::{Notice, Plan, Recovery, RunReport};

/// Logs what a plan found: a missing queue (started empty with `--init-queue`) or control
/// file, breaker recoveries, invalid entries.
pub fn plan_findings(config: &Config, plan: &Plan) {
    if !plan.queue_existed {
        tracing::info!(
            "queue `{}` does not exist: starting from an empty queue (--init-queue)",
            config.queue.display()
        );
    }
    if !plan.control.existed() {
        tracing::warn!(
            "control file `{}` not found: every circuit breaker counts as closed",
            config.control_file.display()
        );
    }
    for note in &plan.recovery {
        match note {
            RecoveryNote::HalfOpened { ecosystem } => {
                tracing::info!(
                    "Circuit breaker half-open for {ecosystem} (recovery timeout elapsed)"
                );
            }
            RecoveryNote::NoRecoveryTime { ecosystem } => tracing::warn!(
                "circuit breaker for {ecosystem} is open with no opens_at: it stays open until an operator resets it"
            ),
            RecoveryNote::BadRecoveryTime {
                ecosystem,
                opens_at,
            } => tracing::warn!(
                "circuit breaker for {ecosystem} is open with an unreadable opens_at {opens_at:?}: it stays open"
            ),
        }
    }
    for inv in &plan.selection.invalid {
        tracing::warn!(
            "queue entry {} ({:?}) is invalid and was skipped: {}",
            inv.index,
            inv.name,
            inv.problems.join("; ")
        );
    }
}

/// Logs that an interrupted run was finished from its journal.
pub fn recovery(r: &Recovery) {
    tracing::warn!(
        "resumed an interrupted run: applied {} journaled outcome(s) ({} succeeded, {} failed, {} blocked) and saved them; those entries are not run again",
        r.applied,
        r.report.results.succeeded,
        r.report.results.failed,
        r.report.results.blocked
    );
    for (name, source) in &r.missing {
        tracing::warn!(
            "journaled entry {name:?} ({source}) is no longer in the queue; its outcome was not applied"
        );
    }
}

/// Logs each breaker change of a run or merge (an opened breaker at error level).
pub fn breaker_changes(report: &RunReport) {
    for (eco, change) in &report.breaker_changes {
        match change {
            Change::Opened {
                failures,
                until,
                reopened: false,
            } => tracing::error!(
                "circuit breaker OPEN for {eco} ({failures} failures, recovery at {until})"
            ),
            Change::Opened {
                until,
                reopened: true,
                ..
            } => {
                tracing::warn!(
                    "circuit breaker for {eco} reopened (half-open probe failed), recovery at {until}"
                )
            }
            Change::Closed => tracing::info!("circuit breaker closed for {eco} (success)"),
            Change::Counted(f) => tracing::info!("circuit breaker: {eco} failure {f}"),
            Change::None => {}
        }
    }
}

/// Logs a notice of the main sequence. `shard` says whether the run is a shard (whose pending
/// journal is not applied) or a dry run.
pub fn notice(n: &Notice<'_>, shard: bool) {
    match n {
        Notice::TempFileRemoved(p) => tracing::info!(
            "removed a temporary file left by a killed run: {}",
            p.display()
        ),
        Notice::TempCleanFailed { dir, error } => tracing::warn!(
            "could not clean temporary files in `{}`: {error}",
            dir.display()
        ),
        Notice::JournalPending(p) if shard => tracing::warn!(
            "an interrupted unsharded run left `{}`; this shard plans from the queue as it is",
            p.display()
        ),
        Notice::JournalPending(p) => tracing::warn!(
            "an interrupted run left `{}`; the next real run first applies its outcomes",
            p.display()
        ),
        Notice::LeftoversStopped(stopped) => tracing::warn!(
            "stopped {} generator process group(s) the interrupted run left running (pgid {}) before starting anything",
            stopped.len(),
            stopped
                .iter()
                .map(|p| p.pgid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Notice::ShardPlanned {
            shard,
            batch_id,
            candidates,
            shards_with_candidates,
        } => tracing::info!(
            "shard {shard} of batch {batch_id}: {candidates} candidate(s); shards with candidates: {shards_with_candidates:?}"
        ),
    }
}

/// Logs that the kill switch is off; returns the control file's reason.
pub fn kill_switch(config: &Config, plan: &Plan) -> String {
    let reason = plan
        .control
        .reason
        .clone()
        .unwrap_or_else(|| "no reason given".into());
    tracing::warn!(
        "batch generation is disabled in `{}` (enabled: false; reason: {reason}); no entry was run",
        config.control_file.display()
    );
    reason
}
