//! Writing what [`super::plan_aggregate`] decided (issues #13, #22). Each file is replaced
//! atomically (`batch_base::fs`). First the aggregate journal ([`super::journal`]: the state
//! before the batch of every file and entry the writes change), then, in this order,
//! journaled files the plan no longer changes put back as they were (only after an
//! interruption with other inputs), constraint edits, failure records, metrics, the queue,
//! the PR texts, the deletion of excluded recipes, and last the removal of the journal. A run
//! stopped anywhere in between leaves the journal, and the next run decides from it as this
//! one did and writes the same bytes (docs/RELIABILITY.md §13).

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

use batch_base::fs::{remove_if_exists, remove_stale_temp_files, write_atomic};

use super::error::AggregateError;
use super::journal;
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

/// What the apply step changed on disk (the journal, written and removed, is not listed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Files written (replaced), in order.
    pub written: Vec<PathBuf>,
    /// Recipe files deleted.
    pub deleted: Vec<PathBuf>,
}

/// Called before each write or deletion with its path; an error fails that step as the file
/// system would ([`apply_with`]).
pub(crate) type BeforeEach<'a> = dyn FnMut(&Path) -> io::Result<()> + 'a;

/// Writes the plan: the journal, journaled files to put back, constraint edits, failure
/// records (only when there are some), metrics (unless an identical record is there), the
/// queue (only when an entry changed), the three PR files, then deletes the excluded
/// recipes and removes the journal.
///
/// # Errors
/// [`AggregateError::Write`], [`AggregateError::Queue`] or [`AggregateError::Delete`] naming
/// the file; files written before the error stay written (each one whole), and so does the
/// journal, from which the next run finishes the batch.
pub(crate) fn apply_plan(plan: &Plan) -> Result<Applied, AggregateError> {
    apply_with(plan, &mut |_| Ok(()))
}

/// [`apply_plan`] with `before_each` called before each write or deletion, the journal's
/// first and its removal last; an error it returns fails that step (tests stop `aggregate`
/// at each of its writes with it, issue #22).
///
/// # Errors
/// As [`apply_plan`].
pub(crate) fn apply_with(
    plan: &Plan,
    before_each: &mut BeforeEach<'_>,
) -> Result<Applied, AggregateError> {
    let journal_path = journal::path_for(&plan.options.queue);
    remove_temp_files(plan);
    let mut done = Applied::default();
    let journal_bytes = plan.journal.to_bytes().map_err(|e| AggregateError::Write {
        path: journal_path.clone(),
        source: io::Error::other(e),
    })?;
    write(&journal_path, &journal_bytes, None, before_each)?;
    let changed: BTreeSet<PathBuf> = plan.changed_files().into_iter().collect();
    let mut put_back = Vec::new();
    for (path, before) in &plan.journal.files {
        if changed.contains(path) {
            continue;
        }
        match before.bytes() {
            Some(bytes) => write(path, bytes, Some(&mut done), before_each)?,
            None => put_back.push(path.clone()),
        }
    }
    for r in &plan.recipes {
        if let Fate::Constrained {
            new_text: Some(text),
            ..
        } = &r.fate
        {
            let path = recipe_file(&plan.options, &r.path);
            write(&path, text.as_bytes(), Some(&mut done), before_each)?;
        }
    }
    if !plan.failures.is_empty() {
        let bytes = recipe_failures::to_bytes(&plan.failures);
        write(&plan.failures_file, &bytes, Some(&mut done), before_each)?;
    }
    if !plan.metrics_kept {
        write(
            &plan.metrics_file,
            &plan.metrics.to_bytes(),
            Some(&mut done),
            before_each,
        )?;
    }
    // Journaled entries the plan no longer changes are back in `plan.queue` as they were.
    if !plan.queue_changes.is_empty() || !plan.journal.entries.is_empty() {
        let queue = &plan.options.queue;
        before_each(queue).map_err(|source| AggregateError::Write {
            path: queue.clone(),
            source,
        })?;
        plan.queue.save(queue, plan.now)?;
        done.written.push(queue.clone());
    }
    let pr = &plan.pr;
    let title = format!("{}\n", pr.title);
    for (name, text) in [
        (PR_TITLE_FILE, title.as_str()),
        (PR_BODY_FILE, pr.body.as_str()),
        (COMMIT_MESSAGE_FILE, pr.commit_message.as_str()),
    ] {
        write(
            &plan.options.pr_dir.join(name),
            text.as_bytes(),
            Some(&mut done),
            before_each,
        )?;
    }
    let excluded = plan.recipes.iter().filter_map(|r| match r.fate {
        Fate::Excluded { already: false, .. } => Some(recipe_file(&plan.options, &r.path)),
        _ => None,
    });
    for path in put_back.into_iter().chain(excluded) {
        delete(&path, before_each)?;
        done.deleted.push(path);
    }
    delete(&journal_path, before_each)?;
    Ok(done)
}

/// Replaces `path` with `bytes` after `before_each`, listing it in `done` when given.
fn write(
    path: &Path,
    bytes: &[u8],
    done: Option<&mut Applied>,
    before_each: &mut BeforeEach<'_>,
) -> Result<(), AggregateError> {
    before_each(path)
        .and_then(|()| write_atomic(path, bytes, true))
        .map_err(|source| AggregateError::Write {
            path: path.to_owned(),
            source,
        })?;
    if let Some(done) = done {
        done.written.push(path.to_owned());
    }
    Ok(())
}

/// Deletes `path` (already gone is fine) after `before_each`.
fn delete(path: &Path, before_each: &mut BeforeEach<'_>) -> Result<(), AggregateError> {
    before_each(path)
        .and_then(|()| remove_if_exists(path))
        .map_err(|source| AggregateError::Delete {
            path: path.to_owned(),
            source,
        })
}

/// Removes the temporary files a killed `aggregate` may have left beside the files it writes
/// (the lock is held, so nobody else is writing them). Best effort: a directory that cannot
/// be cleaned only keeps its `.batch-tmp-*` files, which nothing reads.
fn remove_temp_files(plan: &Plan) {
    let o = &plan.options;
    let mut dirs: BTreeSet<&Path> = [
        o.queue.parent(),
        Some(o.pr_dir.as_path()),
        Some(o.failures_dir.as_path()),
        Some(o.metrics_dir.as_path()),
    ]
    .into_iter()
    .flatten()
    .collect();
    dirs.extend(plan.journal.files.keys().filter_map(|p| p.parent()));
    for dir in dirs {
        let _ = remove_stale_temp_files(dir);
    }
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
