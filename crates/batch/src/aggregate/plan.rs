//! `aggregate`'s decisions, computed without writing anything (issue #13): per recipe the
//! security gate, then include / constrain / exclude (spec §7.3.2 with the generation-row
//! fix), the constraint text, failure records, queue changes, metrics and PR text.
//! `super::apply_plan` then writes them.
//!
//! Idempotence: a recipe whose file is gone while its queue entry is `excluded` (gate) or
//! `failed` (failed everywhere) was excluded by an earlier `aggregate` of the same batch; it
//! counts as excluded again, its queue entry is not touched again, and (for `failed`) its
//! failure lines are the same as the first time. A constraint already present is left
//! unchanged. File stamps come from the plan time, so failures and metrics replace their own
//! files with the same content.
//!
//! Interruption (issue #22): an interrupted `aggregate` leaves its journal
//! ([`super::journal`]); the next plan reads every file and queue entry the interrupted one
//! changed as the journal says they were before the batch, and takes the journal's clock
//! reading, so it decides as the interrupted run did. The plan carries the journal `apply`
//! writes first ([`Plan::journal`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use jiff::Timestamp;

use super::constraint::derive;
use super::error::AggregateError;
use super::inputs::{BatchRows, locate, read_rows};
use super::insert::{Insertion, insert_constraint};
use super::journal::{self, Before};
use super::metrics::{Metrics, PlatformCounts};
use super::pr::{ConstrainedNote, ExcludedNote, PrInput, PrText, render};
use super::reason::reason_lines;
use super::recipe_failures::{self, RecipeFailure};
use super::reporting::{NotReported, drop_unreported};
use super::verdict::{PlatformResults, Verdict};
use crate::clock::Clock;
use crate::gate::{self, GateFailure};
use crate::generator::Category;
use crate::queue::{Queue, Status, recipe_relative_path, transition};
use crate::records::{FailureRecord, Outcome};
use crate::validate::{JobPlatform, RowPlatform};

/// The files and settings of one `aggregate`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory of the `validation-results-*.json` files.
    pub validation_dir: PathBuf,
    /// The queue file (`--queue`).
    pub queue: PathBuf,
    /// The recipes directory (`--output-dir`).
    pub output_dir: PathBuf,
    /// Where the per-recipe failure records go (`--failures-dir`).
    pub failures_dir: PathBuf,
    /// Where the metrics record goes (`--metrics-dir`).
    pub metrics_dir: PathBuf,
    /// Where `pr-title.txt`, `pr-body.md` and `commit-message.txt` go (`--pr-dir`).
    pub pr_dir: PathBuf,
    /// The batch (`--batch-id`).
    pub batch_id: String,
    /// The batch's plan time (`--planned-at`): file stamps and the metrics duration.
    pub planned_at: Timestamp,
}

/// Why a recipe was excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcludeCause {
    /// The security gate (run_command or unparsable); no failure lines, entry `excluded`.
    Gate,
    /// No validation pass and at least one fail; failure lines, entry `failed` with backoff.
    FailedEverywhere,
}

/// The fate of one recipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Included, no constraint.
    Included,
    /// Included, but no platform reported a validation row for it.
    Unvalidated,
    /// Included with a constraint.
    Constrained {
        /// The constraint line (or the existing key's line, when `existing`).
        line: String,
        /// The key was already there; the file stays unchanged.
        existing: bool,
        /// The recipe's new text, when the constraint is inserted.
        new_text: Option<String>,
    },
    /// Excluded: the recipe is deleted.
    Excluded {
        /// Why.
        cause: ExcludeCause,
        /// The reason in the PR text and the report.
        reason: String,
        /// The file was already deleted by an earlier `aggregate`.
        already: bool,
    },
}

/// One recipe of the batch and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeDecision {
    /// Recipe name.
    pub name: String,
    /// Path relative to `--output-dir` (`b/bat.toml`).
    pub path: String,
    /// The queue entry's `source`.
    pub source: String,
    /// What happens to it.
    pub fate: Fate,
}

/// A queue entry status change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueChange {
    /// Entry name.
    pub name: String,
    /// Status before.
    pub from: String,
    /// Status after.
    pub to: String,
}

/// Everything `aggregate` decided; nothing has been written yet.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The options it was planned with.
    pub options: Options,
    /// The results files read.
    pub results_files: Vec<PathBuf>,
    /// The batch's recipes, by path.
    pub recipes: Vec<RecipeDecision>,
    /// Validation row counts per job platform (all four).
    pub platforms: BTreeMap<JobPlatform, PlatformCounts>,
    /// Every job platform reported at least one validation row and none is incomplete
    /// (`not_reported` is empty).
    pub all_platforms_reported: bool,
    /// The platforms that did not report: no validation row, or an `incomplete` row (whose
    /// platform's rows were all set aside before deciding, issue #22); in
    /// [`JobPlatform::ALL`] order.
    pub not_reported: Vec<NotReported>,
    /// Auto-merge only when nothing is excluded, every platform reported (spec §7.3.6,
    /// issue #13) and every included recipe has validation rows (decision: an unvalidated
    /// recipe needs a human look).
    pub auto_merge: bool,
    /// The per-recipe failure lines (may be empty: then no file is written).
    pub failures: Vec<RecipeFailure>,
    /// `<failures-dir>/batch-<plan stamp>.jsonl`.
    pub failures_file: PathBuf,
    /// The metrics record.
    pub metrics: Metrics,
    /// `<metrics-dir>/batch-runs-<plan stamp>.jsonl`.
    pub metrics_file: PathBuf,
    /// The metrics file already holds the same counts; it is kept.
    pub metrics_kept: bool,
    /// The queue with the changes applied (in memory).
    pub queue: Queue,
    /// The status changes made to the queue.
    pub queue_changes: Vec<QueueChange>,
    /// The PR texts.
    pub pr: PrText,
    /// When the plan was made (queue `updated_at`, backoff); an interrupted run's time when
    /// its journal was found.
    pub now: Timestamp,
    /// The aggregate journal `apply` writes first: the state before the batch of every file
    /// and queue entry it changes ([`super::journal`], issue #22).
    pub(crate) journal: Before,
}

impl Plan {
    /// Counts of included (constrained and unvalidated too), excluded and constrained recipes.
    pub fn counts(&self) -> (u64, u64, u64) {
        let mut c = (0, 0, 0);
        for r in &self.recipes {
            match r.fate {
                Fate::Excluded { .. } => c.1 += 1,
                Fate::Constrained { .. } => {
                    c.0 += 1;
                    c.2 += 1
                }
                _ => c.0 += 1,
            }
        }
        c
    }

    /// The files `apply` writes or deletes, apart from the PR texts and the queue: inserted
    /// constraints, deleted recipes, the failure file (when there are failures) and the metrics
    /// file (unless kept).
    pub(crate) fn changed_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = self
            .recipes
            .iter()
            .filter(|r| {
                matches!(
                    r.fate,
                    Fate::Constrained {
                        new_text: Some(_),
                        ..
                    } | Fate::Excluded { already: false, .. }
                )
            })
            .map(|r| recipe_file(&self.options, &r.path))
            .collect();
        if !self.failures.is_empty() {
            out.push(self.failures_file.clone());
        }
        if !self.metrics_kept {
            out.push(self.metrics_file.clone());
        }
        out
    }
}

/// Reads every input and decides; writes nothing. When an interrupted `aggregate` of the
/// batch left its journal, the files and entries it holds are read from it, and its time is
/// `now` (module docs).
///
/// # Errors
/// Any [`AggregateError`] of reading: the aggregate journal (unreadable, of another batch, an
/// entry no longer in the queue), results files, batch IDs, paths, queue entries, symlinks,
/// missing recipes, recipes whose `metadata` is not a table.
pub fn plan_aggregate(options: &Options, clock: &dyn Clock) -> Result<Plan, AggregateError> {
    let resumed = journal::read(options)?;
    let now = resumed.as_ref().map_or_else(|| clock.now(), |j| j.now);
    let mut rows = read_rows(&options.validation_dir, &options.batch_id)?;
    // Issue #22: nothing is derived from a platform whose results are incomplete.
    let not_reported = drop_unreported(&mut rows);
    let mut queue = Queue::load(&options.queue)?;
    let mut undo = resumed.unwrap_or_else(|| Before::new(options, now));
    undo.restore_entries(&mut queue, &journal::path_for(&options.queue))?;
    let mut by_path: BTreeMap<String, usize> = BTreeMap::new();
    for (i, e) in queue.entries.iter().enumerate() {
        if let Ok(p) = recipe_relative_path(&e.name) {
            let p = p.to_string_lossy().replace('\\', "/");
            by_path.entry(p).or_insert(i);
        }
    }
    let mut recipes = Vec::new();
    let mut failures = Vec::new();
    let mut queue_changes = Vec::new();
    let mut ecosystems: BTreeMap<String, u64> = BTreeMap::new();
    for (path, (name, recipe_rows)) in &rows.recipes {
        let idx = *by_path
            .get(path)
            .ok_or_else(|| AggregateError::NotInQueue {
                recipe: name.clone(),
                path: path.clone(),
                queue: options.queue.clone(),
            })?;
        let entry = &mut queue.entries[idx];
        let source = entry.source.clone();
        *ecosystems.entry(entry.ecosystem().to_owned()).or_default() += 1;
        let results = PlatformResults::of(recipe_rows);
        let fate = decide(options, path, &results, &entry.status, &undo)?;
        if let Fate::Excluded { cause, already, .. } = &fate {
            if *cause == ExcludeCause::FailedEverywhere {
                failures.extend(recipe_failures::failure_lines(
                    recipe_rows,
                    &source,
                    options.planned_at,
                ));
            }
            let target = match cause {
                ExcludeCause::Gate => Status::Excluded,
                ExcludeCause::FailedEverywhere => Status::Failed,
            };
            if !already && entry.status != target {
                undo.keep_entry(idx, entry);
                let from = entry.status.to_string();
                match cause {
                    ExcludeCause::Gate => entry.status = Status::Excluded,
                    ExcludeCause::FailedEverywhere => {
                        let record = failed_everywhere_record(&source, &results.failed, now);
                        transition::apply(entry, &Outcome::Failed(record), now);
                    }
                }
                queue_changes.push(QueueChange {
                    name: entry.name.clone(),
                    from,
                    to: entry.status.to_string(),
                });
            }
        } else if matches!(fate, Fate::Constrained { .. }) {
            failures.extend(recipe_failures::failure_lines(
                recipe_rows,
                &source,
                options.planned_at,
            ));
        }
        recipes.push(RecipeDecision {
            name: name.clone(),
            path: path.clone(),
            source,
            fate,
        });
    }
    let decided = Decided {
        recipes,
        failures,
        ecosystems,
        queue,
        queue_changes,
        not_reported,
    };
    let mut plan = finish(options, rows, decided, now, undo);
    for file in plan.changed_files() {
        plan.journal.keep_file(file)?;
    }
    Ok(plan)
}

/// The per-recipe decisions, before the batch-wide ones.
struct Decided {
    recipes: Vec<RecipeDecision>,
    failures: Vec<RecipeFailure>,
    ecosystems: BTreeMap<String, u64>,
    queue: Queue,
    queue_changes: Vec<QueueChange>,
    not_reported: Vec<NotReported>,
}

/// The fate of one recipe from its file and rows.
fn decide(
    options: &Options,
    path: &str,
    results: &PlatformResults,
    status: &Status,
    undo: &Before,
) -> Result<Fate, AggregateError> {
    // Symlinks are refused even when the journal holds the content.
    let located = locate(&options.output_dir, path)?;
    let file = recipe_file(options, path);
    let bytes = match (undo.file(&file), located) {
        (Some(before), _) => before.bytes().map(<[u8]>::to_vec),
        (None, Some(f)) => {
            Some(
                std::fs::read(&f).map_err(|source| AggregateError::ReadRecipe {
                    path: f.clone(),
                    source,
                })?,
            )
        }
        (None, None) => None,
    };
    let Some(bytes) = bytes else {
        // Only an earlier aggregate of this batch removes a recipe: the gate (entry
        // `excluded`), or failing everywhere, which the rows still say whatever `queue
        // maintain` did to the entry since.
        let (cause, reason) = if *status == Status::Excluded {
            (
                ExcludeCause::Gate,
                "excluded by an earlier aggregate of this batch (queue entry `excluded`)",
            )
        } else if Verdict::of(results) == Verdict::Exclude {
            (
                ExcludeCause::FailedEverywhere,
                "failed on all platforms (excluded by an earlier aggregate of this batch)",
            )
        } else {
            return Err(AggregateError::RecipeMissing {
                path: options.output_dir.join(path),
                status: status.to_string(),
            });
        };
        return Ok(Fate::Excluded {
            cause,
            reason: reason.to_owned(),
            already: true,
        });
    };
    // TOML is UTF-8: other bytes cannot be screened, so the gate fails closed on them.
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return Ok(excluded_by_gate(&GateFailure::Unparsable {
                message: format!("not UTF-8 ({e})"),
            }));
        }
    };
    if let Err(why) = gate::check(&text) {
        return Ok(excluded_by_gate(&why));
    }
    Ok(match Verdict::of(results) {
        Verdict::Include => Fate::Included,
        Verdict::Unvalidated => Fate::Unvalidated,
        Verdict::Exclude => Fate::Excluded {
            cause: ExcludeCause::FailedEverywhere,
            reason: format!("failed on all platforms ({})", join(&results.failed)),
            already: false,
        },
        Verdict::Constrain => {
            let constraint = derive(&results.passed, &results.failed)
                .expect("a constrained recipe has failed platforms");
            match insert_constraint(&text, &constraint).map_err(|source| {
                AggregateError::Insert {
                    path: file.clone(),
                    source,
                }
            })? {
                Insertion::Inserted { text } => Fate::Constrained {
                    line: constraint.to_string(),
                    existing: false,
                    new_text: Some(text),
                },
                Insertion::Existing { value } => Fate::Constrained {
                    line: format!("{} = {value}", constraint.key.as_str()),
                    existing: true,
                    new_text: None,
                },
            }
        }
    })
}

fn excluded_by_gate(why: &GateFailure) -> Fate {
    Fate::Excluded {
        cause: ExcludeCause::Gate,
        reason: why.to_string(),
        already: false,
    }
}

fn join(platforms: &[RowPlatform]) -> String {
    platforms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The record handed to the queue transition of a recipe that failed everywhere.
fn failed_everywhere_record(source: &str, failed: &[RowPlatform], now: Timestamp) -> FailureRecord {
    FailureRecord {
        package_id: source.to_owned(),
        category: Category::GenerationFailed,
        subcategory: String::new(),
        blocked_by: Vec::new(),
        message: format!("failed on all validation platforms: {}", join(failed)),
        timestamp: crate::records::timestamp::rfc3339_nano_utc(now),
    }
}

/// The batch-wide part: platform counts, auto-merge, metrics, PR text.
fn finish(
    options: &Options,
    rows: BatchRows,
    decided: Decided,
    now: Timestamp,
    journal: Before,
) -> Plan {
    let Decided {
        recipes,
        failures,
        ecosystems,
        queue,
        queue_changes,
        not_reported,
    } = decided;
    let platforms = PlatformCounts::of(&rows.all);
    let all_platforms_reported = not_reported.is_empty();
    let mut pr_in = PrInput {
        batch_id: options.batch_id.clone(),
        ecosystems: ecosystems.clone(),
        platforms: platforms.clone(),
        not_reported: not_reported.clone(),
        ..PrInput::default()
    };
    // The failing platforms' reasons (issue #22), from the rows that were decided on.
    let reasons = |r: &RecipeDecision| {
        rows.recipes
            .get(&r.path)
            .map(|(_, rs)| reason_lines(rs))
            .unwrap_or_default()
    };
    for r in &recipes {
        match &r.fate {
            Fate::Excluded { reason, cause, .. } => pr_in.excluded.push(ExcludedNote {
                name: r.name.clone(),
                reason: reason.clone(),
                reasons: match cause {
                    ExcludeCause::Gate => Vec::new(),
                    ExcludeCause::FailedEverywhere => reasons(r),
                },
            }),
            Fate::Constrained { line, existing, .. } => {
                pr_in.included += 1;
                pr_in.constrained.push(ConstrainedNote {
                    name: r.name.clone(),
                    line: line.clone(),
                    existing: *existing,
                    reasons: reasons(r),
                });
            }
            Fate::Unvalidated => {
                pr_in.included += 1;
                pr_in.unvalidated.push(r.name.clone());
            }
            Fate::Included => pr_in.included += 1,
        }
    }
    let mut envs: Vec<RowPlatform> = rows
        .all
        .iter()
        .filter(|r| r.environment == crate::validate::Environment::Validation)
        .map(|r| r.platform)
        .collect();
    envs.sort();
    envs.dedup();
    pr_in.environments = envs;
    let excluded = pr_in.excluded.len() as u64;
    let mut metrics = Metrics {
        batch_id: options.batch_id.clone(),
        ecosystems,
        total: pr_in.included + excluded,
        generated: recipes.len() as u64,
        platforms: platforms.iter().map(|(p, c)| (p.to_string(), *c)).collect(),
        merged: pr_in.included,
        excluded,
        constrained: pr_in.constrained.len() as u64,
        timestamp: String::new(),
        duration_seconds: 0,
    };
    metrics.set_times(options.planned_at, now);
    let metrics_file = options
        .metrics_dir
        .join(Metrics::file_name(options.planned_at));
    let metrics_kept = match journal.file(&metrics_file) {
        Some(before) => before.bytes().map(<[u8]>::to_vec),
        None => std::fs::read(&metrics_file).ok(),
    }
    .and_then(|b| Metrics::from_slice(&b))
    .is_some_and(|old| old.same_counts(&metrics));
    Plan {
        options: options.clone(),
        results_files: rows.files,
        auto_merge: excluded == 0 && all_platforms_reported && pr_in.unvalidated.is_empty(),
        all_platforms_reported,
        not_reported,
        recipes,
        platforms,
        failures_file: options
            .failures_dir
            .join(recipe_failures::file_name(options.planned_at)),
        failures,
        metrics,
        metrics_file,
        metrics_kept,
        queue,
        queue_changes,
        pr: render(&pr_in),
        now,
        journal,
    }
}

/// The path of a recipe under the output directory.
pub(crate) fn recipe_file(options: &Options, rel: &str) -> PathBuf {
    let mut p = options.output_dir.clone();
    p.extend(rel.split('/'));
    p
}

#[cfg(test)]
mod tests;
