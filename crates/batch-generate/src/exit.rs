//! Exit codes of `batch-generate`, documented in `--help` and the README, and the one function
//! that chooses a process's exit code: [`code`] maps how a command ended ([`Ending`]) or the
//! error that stopped it to its number.

use batch::history::FilterError;
use batch::inventory::explain::UnknownEntries;
use batch::lock::LockError;
use batch::run::{NamedEntries, UnknownEcosystem};
use batch::shard::InvalidBatchId;
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
/// `report`, an `--ecosystem` or `--platform` the metrics do not have (issue #14); for
/// `explain`, a name that no queue entry has (issue #23).
pub const USAGE: i32 = 2;
/// Another run holds the queue's lock; nothing was written.
pub const LOCKED: i32 = 3;
/// The artifact store could not be reached (`store health`, or a `publish`/`fetch`/`store`
/// request that failed or timed out with no cached copy to use) (issue #7).
pub const STORE_UNREACHABLE: i32 = 4;
/// `validate` found its runner unable to run installs (issue #22: no container runtime, a
/// container that could not start, tsuku exit 11, 12 or 14, a generator that cannot be
/// started): it stopped, wrote the rows so far plus a final `incomplete` row naming the
/// reason, and kept its journal for a rerun on a fixed runner.
pub const PLATFORM_INCOMPLETE: i32 = 5;
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
     --ecosystem/--platform the metrics do not have, explain of a name no entry has)
  3  another run holds the queue's lock (nothing was written)
  4  the artifact store is unreachable (store health, publish, fetch without a cached copy)
  5  validate: the runner cannot run installs (no container runtime, a container that could
     not start, tsuku exit 11/12/14); rows so far plus an incomplete row were written
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
    /// `validate` stopped because its runner cannot run installs: [`PLATFORM_INCOMPLETE`].
    Incomplete,
}

/// The process exit code of a command's result: its [`Ending`], or for an error the typed
/// causes anywhere in its chain ([`anyhow::Error::chain`]; library wrappers keep their cause as
/// `source`, so no wrapper type needs to be known here), checked in this order: [`USAGE`] for
/// a usage cause ([`is_usage`]), [`LOCKED`] for [`LockError::Held`], [`STORE_UNREACHABLE`] for
/// an unreachable store, and [`FAILURE`] for everything else (bad input, write errors).
pub fn code(result: &anyhow::Result<Ending>) -> i32 {
    match result {
        Ok(Ending::Success) => SUCCESS,
        Ok(Ending::NotRun) => FAILURE,
        Ok(Ending::Signal(n)) => 128 + n,
        Ok(Ending::StoreUnreachable) => STORE_UNREACHABLE,
        Ok(Ending::Incomplete) => PLATFORM_INCOMPLETE,
        Err(e) if e.chain().any(is_usage) => USAGE,
        Err(e) if e.chain().any(is_lock_held) => LOCKED,
        Err(e) if e.chain().any(is_store_unreachable) => STORE_UNREACHABLE,
        Err(_) => FAILURE,
    }
}

/// Whether `cause` (one link of an error chain) is a mistake in how the command was called:
/// a [`UsageError`] of the binary, or one of the library's usage conditions: an unknown
/// ecosystem in a setting ([`UnknownEcosystem`]), `--name` selecting nothing
/// ([`NamedEntries`]), an invalid batch ID ([`InvalidBatchId`]), a `report` filter the metrics
/// do not have ([`FilterError`]), an `explain` argument that names no entry
/// ([`UnknownEntries`]).
pub fn is_usage(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause.is::<UsageError>()
        || cause.is::<UnknownEcosystem>()
        || cause.is::<NamedEntries>()
        || cause.is::<InvalidBatchId>()
        || cause.is::<FilterError>()
        || cause.is::<UnknownEntries>()
}

/// Whether `cause` (one link of an error chain) is another run holding the queue's lock.
pub fn is_lock_held(cause: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        cause.downcast_ref::<LockError>(),
        Some(LockError::Held { .. })
    )
}

/// Whether `err` or any error in its `source` chain is another run holding the queue's lock
/// (for a library error not yet in an [`anyhow::Error`]).
pub fn holds_lock(err: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(err), |e| e.source()).any(is_lock_held)
}

fn is_store_unreachable(cause: &(dyn std::error::Error + 'static)) -> bool {
    cause
        .downcast_ref::<StoreError>()
        .is_some_and(StoreError::is_unreachable)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use batch::run::{EcosystemSetting, RunError};
    use batch::sequence::{SequenceError, Stage};

    use super::*;

    fn held() -> LockError {
        LockError::Held {
            path: PathBuf::from("q.lock"),
            pid: Some(7),
        }
    }

    fn unknown() -> UnknownEcosystem {
        UnknownEcosystem {
            setting: EcosystemSetting::Filter,
            ecosystem: "hombrew".into(),
            queue: PathBuf::from("q.json"),
            queue_ecosystems: vec!["homebrew".into()],
        }
    }

    fn err(e: impl std::error::Error + Send + Sync + 'static) -> anyhow::Result<Ending> {
        Err(anyhow::Error::new(e).context("x"))
    }

    #[test]
    fn endings_map_to_the_documented_codes() {
        assert_eq!(code(&Ok(Ending::Success)), SUCCESS);
        assert_eq!(SUCCESS, 0);
        assert_eq!(code(&Ok(Ending::NotRun)), FAILURE);
        assert_eq!(FAILURE, 1);
        assert_eq!(code(&Ok(Ending::Signal(2))), SIGINT);
        assert_eq!(SIGINT, 130);
        assert_eq!(code(&Ok(Ending::Signal(15))), SIGTERM);
        assert_eq!(SIGTERM, 143);
        assert_eq!(code(&Ok(Ending::StoreUnreachable)), STORE_UNREACHABLE);
        assert_eq!(STORE_UNREACHABLE, 4);
        assert_eq!(code(&Ok(Ending::Incomplete)), PLATFORM_INCOMPLETE);
        assert_eq!(PLATFORM_INCOMPLETE, 5);
        assert_eq!((USAGE, LOCKED), (2, 3));
    }

    /// A held lock is found under every wrapper of every command that takes the lock.
    #[test]
    fn a_held_lock_anywhere_in_the_chain_is_locked() {
        assert_eq!(code(&err(held())), LOCKED);
        let in_run = SequenceError {
            stage: Stage::Lock,
            error: RunError::Lock(held()),
        };
        assert_eq!(code(&err(in_run)), LOCKED);
        // `merge`: exited 1 while exit.rs listed wrapper types by hand (issue #21).
        assert_eq!(code(&err(batch::shard::MergeError::Lock(held()))), LOCKED);
        assert_eq!(
            code(&err(batch::shard::MergeError::Run(RunError::Lock(held())))),
            LOCKED
        );
        assert_eq!(
            code(&err(batch::maintain::MaintainError::Lock(held()))),
            LOCKED
        );
        assert_eq!(
            code(&err(batch::inventory::ReconcileError::Lock(held()))),
            LOCKED
        );
        assert_eq!(
            code(&err(batch::aggregate::AggregateError::Lock(held()))),
            LOCKED
        );
        assert!(holds_lock(&batch::shard::MergeError::Lock(held())));
        // A lock file that cannot be created is not another holder.
        let io = || LockError::Io {
            path: PathBuf::from("q.lock"),
            source: std::io::Error::other("read-only"),
        };
        assert_eq!(code(&err(RunError::Lock(io()))), FAILURE);
        assert!(!holds_lock(&batch::shard::MergeError::Lock(io())));
    }

    #[test]
    fn usage_causes_anywhere_in_the_chain_are_usage() {
        let usage = anyhow::Error::new(UsageError("--shard needs --planned-at".into()));
        assert_eq!(code(&Err(usage.context("x"))), USAGE);
        assert_eq!(code(&err(unknown())), USAGE);
        assert_eq!(code(&err(RunError::from(unknown()))), USAGE);
        let in_plan = SequenceError {
            stage: Stage::Plan,
            error: unknown().into(),
        };
        assert_eq!(code(&Err(anyhow::Error::new(in_plan))), USAGE);
        let named = NamedEntries {
            names: vec![("jq".into(), "not in the queue".into())],
        };
        assert_eq!(code(&err(RunError::from(named))), USAGE);
        let filter = FilterError::UnknownPlatform {
            platform: "x".into(),
            known: vec![],
        };
        assert_eq!(code(&err(filter)), USAGE);
        let unknown_entry = UnknownEntries {
            unknown: vec![batch::inventory::explain::UnknownEntry {
                query: "jqq".into(),
                suggestions: vec!["jq".into()],
            }],
        };
        assert_eq!(code(&err(unknown_entry)), USAGE);
        let bad_id = || InvalidBatchId { id: "../x".into() };
        assert_eq!(
            code(&err(batch::history::RollbackError::from(bad_id()))),
            USAGE
        );
        assert_eq!(
            code(&err(batch::shard::FragmentError::from(bad_id()))),
            USAGE
        );
    }

    #[test]
    fn an_unreachable_store_is_store_unreachable() {
        let timeout = StoreError::Timeout {
            op: "GET",
            key: "k".into(),
            timeout: Duration::from_secs(1),
        };
        assert_eq!(code(&err(timeout)), STORE_UNREACHABLE);
        let bad = StoreError::InvalidLocation {
            url: "ftp://x".into(),
            reason: "scheme".into(),
        };
        assert_eq!(code(&err(bad)), FAILURE);
    }

    #[test]
    fn other_errors_are_failures() {
        let other = RunError::GeneratorNotFound {
            path: PathBuf::from("tsuku"),
        };
        assert_eq!(code(&Err(anyhow::Error::new(other))), FAILURE);
        assert_eq!(code(&Err(anyhow::anyhow!("bad input"))), FAILURE);
        let missing = RunError::Queue(batch::queue::QueueError::Missing {
            path: PathBuf::from("nope.json"),
        });
        assert_eq!(code(&Err(anyhow::Error::new(missing))), FAILURE);
        let unknown_batch = batch::history::RollbackError::UnknownBatch {
            batch_id: "2026-01-01".into(),
            looked_in: vec![],
        };
        assert_eq!(code(&Err(anyhow::Error::new(unknown_batch))), FAILURE);
    }
}
