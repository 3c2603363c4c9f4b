//! Writing what [`super::plan_aggregate`] decided (issue #13). Each file is replaced atomically
//! (`batch_base::fs`); the order makes an interrupted run safe to repeat: constraint edits,
//! failure records, metrics, the queue, the PR texts, and last the deletion of excluded
//! recipes (a rerun finds the recipe still there, decides the same, and does not move its
//! queue entry a second time because it already has the target status).

use std::path::PathBuf;

use batch_base::fs::{remove_if_exists, write_atomic};

use super::error::AggregateError;
use super::plan::{Fate, Options, Plan, plan_aggregate, recipe_file};
use super::recipe_failures;
use crate::clock::Clock;
use crate::lock::RunLock;

/// Names of the PR files under `--pr-dir`.
pub(crate) const PR_TITLE_FILE: &str = "pr-title.txt";
/// See [`PR_TITLE_FILE`].
pub(crate) const PR_BODY_FILE: &str = "pr-body.md";
/// See [`PR_TITLE_FILE`].
pub(crate) const COMMIT_MESSAGE_FILE: &str = "commit-message.txt";

/// What the apply step changed on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Files written (replaced), in order.
    pub written: Vec<PathBuf>,
    /// Recipe files deleted.
    pub deleted: Vec<PathBuf>,
}

/// Writes the plan: constraint edits, failure records (only when there are some), metrics
/// (unless an identical record is there), the queue (only when an entry changed), the three
/// PR files, then deletes the excluded recipes.
///
/// # Errors
/// [`AggregateError::Write`], [`AggregateError::Queue`] or [`AggregateError::Delete`] naming
/// the file; files written before the error stay written (each one whole).
pub(crate) fn apply_plan(plan: &Plan) -> Result<Applied, AggregateError> {
    let mut done = Applied::default();
    let write = |path: PathBuf, bytes: &[u8], done: &mut Applied| {
        write_atomic(&path, bytes, true).map_err(|source| AggregateError::Write {
            path: path.clone(),
            source,
        })?;
        done.written.push(path);
        Ok::<(), AggregateError>(())
    };
    for r in &plan.recipes {
        if let Fate::Constrained {
            new_text: Some(text),
            ..
        } = &r.fate
        {
            write(
                recipe_file(&plan.options, &r.path),
                text.as_bytes(),
                &mut done,
            )?;
        }
    }
    if !plan.failures.is_empty() {
        let bytes = recipe_failures::to_bytes(&plan.failures);
        write(plan.failures_file.clone(), &bytes, &mut done)?;
    }
    if !plan.metrics_kept {
        write(
            plan.metrics_file.clone(),
            &plan.metrics.to_bytes(),
            &mut done,
        )?;
    }
    if !plan.queue_changes.is_empty() {
        plan.queue.save(&plan.options.queue, plan.now)?;
        done.written.push(plan.options.queue.clone());
    }
    let pr = &plan.pr;
    let title = format!("{}\n", pr.title);
    for (name, text) in [
        (PR_TITLE_FILE, title.as_str()),
        (PR_BODY_FILE, pr.body.as_str()),
        (COMMIT_MESSAGE_FILE, pr.commit_message.as_str()),
    ] {
        write(plan.options.pr_dir.join(name), text.as_bytes(), &mut done)?;
    }
    for r in &plan.recipes {
        if let Fate::Excluded { already: false, .. } = r.fate {
            let path = recipe_file(&plan.options, &r.path);
            remove_if_exists(&path).map_err(|source| AggregateError::Delete {
                path: path.clone(),
                source,
            })?;
            done.deleted.push(path);
        }
    }
    Ok(done)
}

/// The whole `aggregate`: under the queue's run lock (`<queue>.lock`, as every writer of the
/// queue), [`plan_aggregate`] then, unless `dry_run`, `apply_plan`. A dry run takes no lock and writes
/// nothing.
///
/// # Errors
/// [`AggregateError::Lock`] when another run holds the lock (nothing read or written), then
/// any error of [`plan_aggregate`] (nothing written) or `apply_plan`.
pub fn run(
    options: &Options,
    dry_run: bool,
    clock: &dyn Clock,
) -> Result<(Plan, Option<Applied>), AggregateError> {
    let _lock = if dry_run {
        None
    } else {
        Some(RunLock::acquire(&options.queue)?)
    };
    let planned = plan_aggregate(options, clock)?;
    let applied = if dry_run {
        None
    } else {
        Some(apply_plan(&planned)?)
    };
    Ok((planned, applied))
}
