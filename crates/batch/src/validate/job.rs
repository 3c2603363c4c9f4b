//! One validation job from files to results file (spec §7.3, issue #13): find the recipes,
//! read the exclusions, resume from the journal, install what is left, then write
//! `validation-results-<platform>.json` atomically and remove the journal.
//!
//! A job that did not finish every row (stopped by a signal, or out of `--max-duration`)
//! writes no results file here and keeps its journal, so running it again with the same
//! flags installs only the rows still missing. Whether a partial file is written anyway is
//! the caller's choice ([`write_results`]).
//!
//! A job whose runner turned out unable to run installs (issue #22: no container runtime, a
//! container that could not start, tsuku exit 11/12/14, a generator that cannot be spawned)
//! stops there, writes the rows it has plus a final [`RowStatus::Incomplete`] row naming the
//! reason, and keeps its journal (which never holds that row), so a rerun on a fixed runner
//! installs the recipe that showed it and every row not yet done.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use tokio::sync::watch;

use super::exclusions::{self, ExclusionsError};
use super::journal::{self, Journal, JournalError};
use super::recipes::{self, Recipe, RecipesError, RejectReason, Rejected};
use super::results::{ResultsError, ResultsFile, RowStatus, ValidationRow};
use super::run::{ExecuteError, ExecuteOptions, ValidateConfig, execute, skipped_row, tasks};
use crate::generator::Generator;
use crate::runner::{Runner, RunnerError, Stop};

/// The files of a validation job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateFiles {
    /// `--recipes DIR`: the batch's recipes as `<letter>/<name>.toml`.
    pub recipes: PathBuf,
    /// `--out FILE`: the results file (its journal is `<out>.journal`).
    pub out: PathBuf,
    /// `--exclusions FILE`: recipes that get `skipped` rows.
    pub exclusions: Option<PathBuf>,
}

/// Errors of a validation job; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The recipes directory could not be read.
    #[error("cannot find the recipes to validate")]
    Recipes(#[from] RecipesError),
    /// The exclusions file could not be read or parsed.
    #[error("cannot use the exclusions file")]
    Exclusions(#[from] ExclusionsError),
    /// The journal could not be read or written, is corrupt, or belongs to another job.
    #[error("cannot use the validation journal")]
    Journal(#[from] JournalError),
    /// The results file could not be written.
    #[error("cannot write the validation results")]
    Results(#[from] ResultsError),
    /// The generator could not be started.
    #[error("cannot run the generator")]
    Runner(#[from] RunnerError),
}

impl From<ExecuteError> for ValidateError {
    fn from(e: ExecuteError) -> Self {
        match e {
            ExecuteError::Runner(e) => ValidateError::Runner(e),
            ExecuteError::Journal(e) => ValidateError::Journal(e),
        }
    }
}

/// Optional parts of [`validate_files`].
#[derive(Default)]
pub struct JobOptions<'a> {
    /// Interruption requests (SIGINT/SIGTERM, or the deadline of `--max-duration`).
    pub stop: Option<watch::Receiver<Stop>>,
    /// `--max-duration`'s deadline on tokio's clock.
    pub deadline: Option<tokio::time::Instant>,
    /// Told about every row finished in this run.
    pub on_row: Option<&'a (dyn Fn(&ValidationRow) + Sync)>,
}

/// What a validation job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateOutcome {
    /// Every row known (journaled, installed now, skipped), sorted by (recipe, platform, path).
    pub rows: Vec<ValidationRow>,
    /// Entries below the recipes directory that were not validated.
    pub rejected: Vec<Rejected>,
    /// Recipes found (excluded ones included).
    pub recipes: usize,
    /// Rows taken from the journal of an earlier, killed run.
    pub resumed: usize,
    /// Rows not started because of `--max-duration`.
    pub not_started: usize,
    /// Rows stopped by a signal (not recorded; a rerun installs them).
    pub interrupted: usize,
    /// Why the runner could not run installs (the [`RowStatus::Incomplete`] row's `message`),
    /// when it could not (issue #22); that row is then the last of `rows`.
    pub unavailable: Option<String>,
    /// Rows not installed because the runner could not run installs.
    pub abandoned: usize,
    /// The results file, when it was written (every row finished).
    pub written: Option<PathBuf>,
    /// The journal, when it was kept (some row did not finish).
    pub journal_kept: Option<PathBuf>,
}

impl ValidateOutcome {
    /// Whether every row finished (and the runner could run them all).
    pub fn complete(&self) -> bool {
        self.not_started == 0 && self.interrupted == 0 && self.unavailable.is_none()
    }

    /// Rows with this status.
    pub fn count(&self, status: RowStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// Sorts rows by (recipe, platform name, path): the results file's order; an
/// [`RowStatus::Incomplete`] row stays last (issue #22).
pub(crate) fn sort_rows(rows: &mut [ValidationRow]) {
    rows.sort_by_cached_key(|r| {
        (
            r.status == RowStatus::Incomplete,
            r.recipe.clone(),
            r.platform.to_string(),
            r.path.clone(),
        )
    });
}

/// Writes `rows` (sorted) to `out` atomically.
///
/// # Errors
/// [`ResultsError::Io`] naming the file.
pub fn write_results(out: &Path, rows: &[ValidationRow]) -> Result<(), ResultsError> {
    let mut rows = rows.to_vec();
    sort_rows(&mut rows);
    ResultsFile { rows }.write(out)
}

/// The security gate before any install (issue #13): a recipe with a `run_command` action, or
/// one that is not TOML, moves from the recipes to the rejected ones, so no platform ever runs
/// it (the macOS rows are not sandboxed). `aggregate` excludes it by the same gate.
fn screen(found: &mut recipes::Discovery) {
    let mut kept = Vec::new();
    for r in std::mem::take(&mut found.recipes) {
        let reason = match std::fs::read_to_string(&r.path) {
            Ok(text) if crate::gate::check(&text).is_ok() => {
                kept.push(r);
                continue;
            }
            Ok(_) => RejectReason::SecurityGate,
            Err(_) => RejectReason::Unreadable,
        };
        found.rejected.push(Rejected { rel: r.rel, reason });
    }
    found.recipes = kept;
    found.rejected.sort();
}

/// Runs one validation job (see the module docs): `generator` builds and reads each install,
/// `runner` runs it.
///
/// # Errors
/// [`ValidateError`]: an unreadable recipes directory, a bad exclusions file, a foreign or
/// corrupt journal, a generator that cannot be started, a write error. Nothing is written
/// before the recipes and the exclusions have been read.
pub async fn validate_files(
    config: &ValidateConfig,
    files: &ValidateFiles,
    generator: &dyn Generator,
    runner: &dyn Runner,
    opts: JobOptions<'_>,
) -> Result<ValidateOutcome, ValidateError> {
    let mut found = recipes::discover(&files.recipes)?;
    screen(&mut found);
    let excluded: BTreeSet<String> = match &files.exclusions {
        Some(p) => exclusions::load(p)?,
        None => BTreeSet::new(),
    };
    let (skip, run): (Vec<Recipe>, Vec<Recipe>) = found
        .recipes
        .iter()
        .cloned()
        .partition(|r| excluded.contains(&r.name));
    let mut rows: Vec<ValidationRow> = skip
        .iter()
        .flat_map(|r| {
            config
                .row_families()
                .into_iter()
                .map(move |f| skipped_row(config, r, f))
        })
        .collect();

    let jpath = journal::path_for(&files.out);
    let (mut journal, journaled) =
        Journal::open_or_create(&jpath, &config.batch_id, config.platform)?;
    let all = tasks(config, &run);
    let key = |path: &str, platform: String| (path.to_owned(), platform);
    let wanted: HashSet<(String, String)> = all
        .iter()
        .map(|t| key(&t.recipe.rel, config.platform.row(t.family).to_string()))
        .collect();
    let mut have: HashSet<(String, String)> = HashSet::new();
    for r in journaled {
        if r.status == RowStatus::Incomplete {
            // Never journaled by this version; never a finished row either (issue #22).
            continue;
        }
        let k = key(&r.path, r.platform.to_string());
        // Rows of recipes or families this run does not validate are dropped.
        if wanted.contains(&k) && have.insert(k) {
            rows.push(r);
        }
    }
    let resumed = have.len();
    let todo: Vec<_> = all
        .into_iter()
        .filter(|t| {
            !have.contains(&key(
                &t.recipe.rel,
                config.platform.row(t.family).to_string(),
            ))
        })
        .collect();

    let done = execute(
        generator,
        runner,
        config,
        &todo,
        ExecuteOptions {
            journal: Some(&mut journal),
            stop: opts.stop,
            deadline: opts.deadline,
            on_row: opts.on_row,
        },
    )
    .await?;
    rows.extend(done.rows);
    let unavailable = done
        .incomplete
        .as_ref()
        .map(|r| r.message.clone().unwrap_or_default());
    rows.extend(done.incomplete);
    sort_rows(&mut rows);
    let mut outcome = ValidateOutcome {
        rows,
        rejected: found.rejected,
        recipes: found.recipes.len(),
        resumed,
        not_started: done.not_started,
        interrupted: done.interrupted,
        unavailable,
        abandoned: done.abandoned,
        written: None,
        journal_kept: None,
    };
    drop(journal);
    if outcome.unavailable.is_some() {
        // The rows so far and the incomplete row; the journal stays so a rerun redoes the rest.
        ResultsFile {
            rows: outcome.rows.clone(),
        }
        .write(&files.out)?;
        outcome.written = Some(files.out.clone());
        outcome.journal_kept = Some(jpath);
    } else if outcome.complete() {
        ResultsFile {
            rows: outcome.rows.clone(),
        }
        .write(&files.out)?;
        journal::remove(&jpath)?;
        outcome.written = Some(files.out.clone());
    } else {
        outcome.journal_kept = Some(jpath);
    }
    Ok(outcome)
}
