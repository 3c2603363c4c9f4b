//! Exit codes of `batch-generate`, documented in `--help` and the README, and the one function
//! that chooses a process's exit code: [`code`] maps how a command ended ([`Ending`]) or the
//! error that stopped it to its number.

use batch::run::RunError;
use batch::run::lock::LockError;
use batch::sequence::SequenceError;
use batch_store::StoreError;

use crate::error::UsageError;

/// The run completed, including runs with failed entries, no candidates, or the kill switch
/// off (failed entries are data, not errors); `validate` wrote its results file (failed
/// installs are data too, issue #13).
pub const SUCCESS: i32 = 0;
/// Bad input (a missing queue without `--init-queue`, a queue or control file that does not
/// parse or is the other kind of file, an unknown breaker state, a missing generator; for
/// `validate` an unreadable `--recipes`, a malformed `--exclusions`, a foreign journal; for
/// `aggregate` a bad or foreign results file, a recipe outside the batch or `--output-dir`; a
/// `rollback-plan` batch no source knows; a `dashboard` queue that is missing or has an invalid
/// entry) or a write error.
pub const FAILURE: i32 = 1;
/// Usage error: unknown flag, malformed value (such as `--tier` outside 1–3), or an
/// ecosystem in `--ecosystem` or `--rate-limit` that neither the queue nor tsuku has; for
/// `report`, an `--ecosystem` or `--platform` the metrics do not have (issue #14).
pub const USAGE: i32 = 2;
/// Another run holds the queue's lock; nothing was written.
pub const LOCKED: i32 = 3;
/// The artifact store could not be reached (`store health`, or a `publish`/`fetch`/`store`
/// request that failed or timed out with no cached copy to use) (issue #7).
pub const STORE_UNREACHABLE: i32 = 4;
/// Stopped by SIGINT: 128 + 2. Everything finished was saved.
pub const SIGINT: i32 = 130;
/// Stopped by SIGTERM: 128 + 15. Everything finished was saved.
pub const SIGTERM: i32 = 143;

/// The exit-code table shown at the end of `--help`.
pub const HELP: &str = "\
Exit codes:
  0  run completed (also with failed entries, no candidates, or the kill switch off);
     validate wrote its results file (failed installs are data)
  1  bad input (missing queue without --init-queue, queue or control file invalid or swapped,
     unknown breaker state, missing generator; validate: unreadable --recipes, malformed
     --exclusions, a journal of another batch; rollback-plan of an unknown batch; dashboard
     without a valid queue) or a write error
  2  usage error (bad flag value, --tier outside 1-3, unknown ecosystem in --ecosystem,
     --rate-limit or --max-in-flight, validate --family on macOS, report
     --ecosystem/--platform the metrics do not have)
  3  another run holds the queue's lock (nothing was written)
  4  the artifact store is unreachable (store health, publish, fetch without a cached copy)
  130, 143  stopped by SIGINT / SIGTERM (everything finished was saved)";

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Completed (failed entries are data, not errors): [`SUCCESS`].
    Success,
    /// Candidates could not run because the generator could not be started: [`FAILURE`].
    NotRun,
    /// Stopped by signal N after saving everything finished: 128 + N ([`SIGINT`],
    /// [`SIGTERM`]).
    Signal(i32),
    /// `store health` found the store unreachable: [`STORE_UNREACHABLE`].
    StoreUnreachable,
}

/// The process exit code of a command's result: its [`Ending`], or for an error
/// [`LOCKED`] when another run holds the queue's lock, [`STORE_UNREACHABLE`] when the artifact
/// store could not be reached, [`USAGE`] for a [`UsageError`] (flags that contradict each other
/// or the queue) or a library usage error ([`RunError::is_usage`]: an unknown ecosystem), and
/// [`FAILURE`] for everything else (bad input, write errors).
pub fn code(result: &anyhow::Result<Ending>) -> i32 {
    match result {
        Ok(Ending::Success) => SUCCESS,
        Ok(Ending::NotRun) => FAILURE,
        Ok(Ending::Signal(n)) => 128 + n,
        Ok(Ending::StoreUnreachable) => STORE_UNREACHABLE,
        Err(e) if e.chain().any(is_usage) => USAGE,
        Err(e) if e.chain().any(is_lock_held) => LOCKED,
        Err(e) if e.chain().any(is_store_unreachable) => STORE_UNREACHABLE,
        Err(_) => FAILURE,
    }
}

fn is_usage(e: &(dyn std::error::Error + 'static)) -> bool {
    e.is::<UsageError>()
        || e.is::<batch::history::FilterError>()
        || e.downcast_ref::<batch::history::RollbackError>()
            .is_some_and(batch::history::RollbackError::is_usage)
        || e.downcast_ref::<RunError>().is_some_and(RunError::is_usage)
        || e.downcast_ref::<SequenceError>()
            .is_some_and(|s| s.error.is_usage())
}

fn is_lock_held(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<LockError>()
        .is_some_and(|l| matches!(l, LockError::Held { .. }))
        || e.downcast_ref::<batch::maintain::MaintainError>()
            .is_some_and(batch::maintain::MaintainError::is_lock_held)
        || e.downcast_ref::<batch::maintain::ReconcileError>()
            .is_some_and(batch::maintain::ReconcileError::is_lock_held)
        || e.downcast_ref::<RunError>()
            .is_some_and(RunError::is_lock_held)
        || e.downcast_ref::<batch::aggregate::AggregateError>()
            .is_some_and(batch::aggregate::AggregateError::is_lock_held)
        || e.downcast_ref::<SequenceError>()
            .is_some_and(|s| s.error.is_lock_held())
}

fn is_store_unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<StoreError>()
        .is_some_and(StoreError::is_unreachable)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn endings_and_errors_map_to_the_documented_codes() {
        assert_eq!(code(&Ok(Ending::Success)), 0);
        assert_eq!(code(&Ok(Ending::NotRun)), 1);
        assert_eq!(code(&Ok(Ending::Signal(2))), SIGINT);
        assert_eq!(code(&Ok(Ending::Signal(15))), SIGTERM);
        assert_eq!(code(&Ok(Ending::StoreUnreachable)), 4);
        let held = || LockError::Held {
            path: PathBuf::from("q.lock"),
            pid: Some(7),
        };
        assert_eq!(code(&Err(anyhow::Error::new(held()).context("x"))), LOCKED);
        let in_run = SequenceError {
            stage: batch::sequence::Stage::Lock,
            error: RunError::Lock(held()),
        };
        assert_eq!(code(&Err(anyhow::Error::new(in_run).context("x"))), LOCKED);
        let other = RunError::GeneratorNotFound {
            path: PathBuf::from("tsuku"),
        };
        assert_eq!(code(&Err(anyhow::Error::new(other))), FAILURE);
        assert_eq!(code(&Err(anyhow::anyhow!("bad input"))), FAILURE);
        let usage = anyhow::Error::new(UsageError("--shard needs --planned-at".into()));
        assert_eq!(code(&Err(usage.context("x"))), USAGE);
        let unknown = || RunError::UnknownEcosystem {
            setting: batch::run::EcosystemSetting::Filter,
            ecosystem: "hombrew".into(),
            queue: PathBuf::from("q.json"),
            queue_ecosystems: vec!["homebrew".into()],
        };
        assert_eq!(
            code(&Err(anyhow::Error::new(unknown()).context("x"))),
            USAGE
        );
        let in_plan = SequenceError {
            stage: batch::sequence::Stage::Plan,
            error: unknown(),
        };
        assert_eq!(code(&Err(anyhow::Error::new(in_plan))), USAGE);
        let missing = RunError::Queue(batch::queue::QueueError::Missing {
            path: PathBuf::from("nope.json"),
        });
        assert_eq!(code(&Err(anyhow::Error::new(missing))), FAILURE);
        let filter = batch::history::FilterError::UnknownPlatform {
            platform: "x".into(),
            known: vec![],
        };
        assert_eq!(code(&Err(anyhow::Error::new(filter).context("x"))), USAGE);
        let unknown_batch = batch::history::RollbackError::UnknownBatch {
            batch_id: "2026-01-01".into(),
            looked_in: vec![],
        };
        assert_eq!(code(&Err(anyhow::Error::new(unknown_batch))), FAILURE);
    }
}
