//! `rollback-plan BATCH_ID` (issue #14, replacing `scripts/rollback-batch.sh`, spec §7.8):
//! the recipe files a batch added and the git commands that would remove them. Squash merges
//! drop the `batch_id:` trailer the script relied on (spec §7.3.4), so the files are found
//! from sources that survive them:
//!
//! - the batch's shard fragments (`<id>-shard-K-of-N.json`): every succeeded outcome names its
//!   entry, whose recipe path is `recipe_relative_path(name)` (spec §4.1);
//! - its metrics records (`batch_id` == id, spec §1.5): they prove the batch ran and bound the
//!   merge job in time, `[timestamp − duration_seconds − 2 s, timestamp]`;
//! - the per-recipe failure files (`batch-<stamp>.jsonl`, spec §1.3.2) the merge job wrote
//!   inside such a window: their recipes were included with constraints (`excluded` is 0 in
//!   every real run, spec §7.3.2);
//! - optionally `git log` trailers ([`super::git`]).
//!
//! Nothing here writes, deletes or runs anything but a read-only `git log`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::git::{self, GitLookup};
use super::metrics::{self, HistoryError};
use crate::queue::entry::recipe_relative_path;
use crate::records::OutcomeKind;
use crate::shard::Fragment;
use crate::shard::fragment::{InvalidBatchId, check_batch_id, parse_file_name};

/// Slack added before a metrics record's merge-job window: its timestamp and the job's start
/// are whole seconds taken at different moments.
pub(crate) const WINDOW_SLACK_SECONDS: i64 = 2;

/// Where `rollback-plan` looks. `None` directories are not searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackSources {
    /// Shard fragments (`--fragment-dir`).
    pub fragments_dir: Option<PathBuf>,
    /// Metrics records (`--metrics-dir`).
    pub metrics_dir: Option<PathBuf>,
    /// Failure records (`--failures-dir`).
    pub failures_dir: Option<PathBuf>,
    /// The recipes directory the paths are built under (`--recipes`).
    pub recipes_dir: PathBuf,
    /// The git repository to search for trailers; `None` skips git.
    pub git_repo: Option<PathBuf>,
}

/// Errors of `rollback-plan`.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// The batch ID asked for is not a batch ID (a usage error: [`InvalidBatchId`] is the
    /// source).
    #[error("cannot plan the rollback")]
    BatchId(#[from] InvalidBatchId),
    /// No source knows the batch.
    #[error("batch {batch_id} not found: no fragment, metrics record or git trailer names it (looked in {})", looked_in.join(", "))]
    UnknownBatch {
        /// The batch asked for.
        batch_id: String,
        /// Every place searched.
        looked_in: Vec<String>,
    },
    /// A directory or a fragment of the batch could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A fragment of the batch is not a fragment.
    #[error("fragment {path} does not parse (line {line}, column {column})")]
    Fragment {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The metrics directory could not be read.
    #[error("cannot read the metrics records")]
    Metrics(#[from] HistoryError),
}

/// Why a recipe file is in the plan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Evidence {
    /// A succeeded outcome in a shard fragment of the batch.
    Fragment {
        /// Fragment file name.
        file: String,
    },
    /// A per-recipe failure line written by the batch's merge job.
    FailureRecord {
        /// Failure file name.
        file: String,
    },
    /// A commit with the `batch_id:` trailer added the file.
    GitTrailer {
        /// Commit hash.
        commit: String,
    },
}

/// One recipe file to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipeFile {
    /// Path as `git rm` takes it (under the recipes directory, or as git reports it).
    pub path: String,
    /// Recipe (entry) name.
    pub name: String,
    /// Whether the file exists now.
    pub exists: bool,
    /// Every source that names it, sorted.
    pub evidence: Vec<Evidence>,
}

/// A queue entry to set back to `pending` once its recipe is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueReset {
    /// Entry name.
    pub name: String,
    /// Entry source, when a fragment recorded it.
    pub source: Option<String>,
    /// `success`.
    pub from: &'static str,
    /// `pending`.
    pub to: &'static str,
}

/// A metrics record of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsRun {
    /// Metrics file name.
    pub file: String,
    /// Its `timestamp`.
    pub timestamp: String,
    /// Its `merged` count.
    pub merged: u64,
}

/// The plan: what to remove and how. Never executed by this crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackPlan {
    /// The batch.
    pub batch_id: String,
    /// Recipe files, sorted by path.
    pub recipes: Vec<RecipeFile>,
    /// Entries to reset, sorted by name.
    pub queue_resets: Vec<QueueReset>,
    /// Metrics records of the batch, oldest first.
    pub metrics: Vec<MetricsRun>,
    /// Fragment files of the batch.
    pub fragments: Vec<String>,
    /// What the git lookup found.
    pub git: GitLookup,
    /// Every place searched.
    pub looked_in: Vec<String>,
    /// The commands that would remove the files (shell syntax, paths quoted); empty when
    /// no file exists.
    pub commands: Vec<String>,
}

#[derive(Default)]
struct Found {
    recipes: BTreeMap<String, RecipeFile>,
    sources: BTreeMap<String, Option<String>>,
}

impl Found {
    fn add(&mut self, path: String, name: &str, exists: bool, evidence: Evidence) {
        let f = self
            .recipes
            .entry(path.clone())
            .or_insert_with(|| RecipeFile {
                path,
                name: name.to_owned(),
                exists,
                evidence: Vec::new(),
            });
        if !f.evidence.contains(&evidence) {
            f.evidence.push(evidence);
            f.evidence.sort();
        }
        self.sources.entry(name.to_owned()).or_default();
    }
}

/// Builds the rollback plan of `batch_id` from `sources`.
///
/// # Errors
/// [`RollbackError::BatchId`] for an invalid ID, [`RollbackError::UnknownBatch`] when no
/// fragment, metrics record or git trailer names the batch, and read or parse errors of the
/// directories and of the batch's fragments.
pub fn plan(batch_id: &str, sources: &RollbackSources) -> Result<RollbackPlan, RollbackError> {
    check_batch_id(batch_id)?;
    let mut found = Found::default();
    let mut looked_in = Vec::new();
    let mut fragments = Vec::new();
    if let Some(dir) = &sources.fragments_dir {
        looked_in.push(format!("fragments in {}", dir.display()));
        fragments = read_fragments(dir, batch_id, &sources.recipes_dir, &mut found)?;
    }
    let mut runs = Vec::new();
    if let Some(dir) = &sources.metrics_dir {
        looked_in.push(format!("metrics in {}", dir.display()));
        runs = metrics::read_dir(dir)?
            .records
            .into_iter()
            .filter(|r| r.batch_id == batch_id)
            .collect();
    }
    if let Some(dir) = &sources.failures_dir {
        looked_in.push(format!("failure records in {}", dir.display()));
        let windows: Vec<(Timestamp, Timestamp)> = runs
            .iter()
            .filter(|r| r.total > 0)
            .filter_map(|r| {
                let back = i64::try_from(r.duration_seconds).ok()? + WINDOW_SLACK_SECONDS;
                Some((
                    r.at.checked_sub(SignedDuration::from_secs(back)).ok()?,
                    r.at,
                ))
            })
            .collect();
        read_failures(dir, &windows, &sources.recipes_dir, &mut found)?;
    }
    let git = match &sources.git_repo {
        Some(repo) => {
            looked_in.push(format!("git log of {}", repo.display()));
            let g = git::lookup(repo, batch_id);
            if let GitLookup::Searched { files, .. } = &g {
                for (path, commit) in files {
                    let name = Path::new(path)
                        .file_stem()
                        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                    let exists = repo.join(path).is_file();
                    let evidence = Evidence::GitTrailer {
                        commit: commit.clone(),
                    };
                    found.add(path.clone(), &name, exists, evidence);
                }
            }
            g
        }
        None => GitLookup::Skipped,
    };
    let git_knows = matches!(&git, GitLookup::Searched { commits, .. } if !commits.is_empty());
    if fragments.is_empty() && runs.is_empty() && !git_knows {
        return Err(RollbackError::UnknownBatch {
            batch_id: batch_id.to_owned(),
            looked_in,
        });
    }
    let recipes: Vec<RecipeFile> = found.recipes.into_values().collect();
    let queue_resets = found
        .sources
        .into_iter()
        .map(|(name, source)| QueueReset {
            name,
            source,
            from: "success",
            to: "pending",
        })
        .collect();
    Ok(RollbackPlan {
        batch_id: batch_id.to_owned(),
        commands: commands(batch_id, &recipes),
        recipes,
        queue_resets,
        metrics: runs
            .iter()
            .map(|r| MetricsRun {
                file: r.file.clone(),
                timestamp: r.timestamp.clone(),
                merged: r.merged,
            })
            .collect(),
        fragments,
        git,
        looked_in,
    })
}

fn recipe_path(recipes_dir: &Path, name: &str) -> Option<PathBuf> {
    recipe_relative_path(name)
        .ok()
        .map(|rel| recipes_dir.join(rel))
}

fn list(dir: &Path) -> Result<Vec<String>, RollbackError> {
    let read = |source| RollbackError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut names = Vec::new();
    for item in std::fs::read_dir(dir).map_err(read)? {
        let item = item.map_err(read)?;
        names.push(item.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn read_fragments(
    dir: &Path,
    batch_id: &str,
    recipes_dir: &Path,
    found: &mut Found,
) -> Result<Vec<String>, RollbackError> {
    let mut files = Vec::new();
    for name in list(dir)? {
        if parse_file_name(&name).is_none_or(|(id, _, _)| id != batch_id) {
            continue;
        }
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|source| RollbackError::Read {
            path: path.clone(),
            source,
        })?;
        let fragment: Fragment =
            serde_json::from_slice(&bytes).map_err(|source| RollbackError::Fragment {
                path: path.clone(),
                line: source.line(),
                column: source.column(),
                source,
            })?;
        for o in fragment
            .outcomes
            .iter()
            .filter(|o| o.ended == OutcomeKind::Succeeded)
        {
            if let Some(p) = recipe_path(recipes_dir, &o.name) {
                let evidence = Evidence::Fragment { file: name.clone() };
                found.add(p.display().to_string(), &o.name, p.is_file(), evidence);
                found.sources.insert(o.name.clone(), Some(o.source.clone()));
            }
        }
        files.push(name);
    }
    Ok(files)
}

/// The instant of a per-recipe failure file name `batch-<YYYY-MM-DD>T<HH-MM-SS>Z.jsonl`.
pub(crate) fn failure_file_time(name: &str) -> Option<Timestamp> {
    let stamp = name.strip_prefix("batch-")?.strip_suffix("Z.jsonl")?;
    let (date, time) = stamp.split_once('T')?;
    format!("{date}T{}Z", time.replace('-', ":")).parse().ok()
}

fn read_failures(
    dir: &Path,
    windows: &[(Timestamp, Timestamp)],
    recipes_dir: &Path,
    found: &mut Found,
) -> Result<(), RollbackError> {
    if windows.is_empty() {
        return Ok(());
    }
    for name in list(dir)? {
        let Some(at) = failure_file_time(&name) else {
            continue;
        };
        if !windows.iter().any(|(from, to)| at >= *from && at <= *to) {
            continue;
        }
        let path = dir.join(&name);
        let text = std::fs::read(&path).map_err(|source| RollbackError::Read {
            path: path.clone(),
            source,
        })?;
        for line in text.split(|&b| b == b'\n') {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(line) else {
                continue;
            };
            let Some(recipe) = v.get("recipe").and_then(|r| r.as_str()) else {
                continue;
            };
            if let Some(p) = recipe_path(recipes_dir, recipe) {
                let evidence = Evidence::FailureRecord { file: name.clone() };
                found.add(p.display().to_string(), recipe, p.is_file(), evidence);
            }
        }
    }
    Ok(())
}

/// Quotes `s` for a POSIX shell when it holds anything but `[A-Za-z0-9._/+@:=-]`.
pub(crate) fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/+@:=-".contains(&b));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The commands of `rollback-batch.sh` (spec §7.8) for the files that exist: a branch, one
/// `git rm`, and the commit with the `batch_id` and `rollback_reason` trailers. Pushing and
/// the PR are left to the operator.
pub(crate) fn commands(batch_id: &str, recipes: &[RecipeFile]) -> Vec<String> {
    let present: Vec<String> = recipes
        .iter()
        .filter(|r| r.exists)
        .map(|r| shell_quote(&r.path))
        .collect();
    if present.is_empty() {
        return Vec::new();
    }
    vec![
        format!("git switch -c rollback-batch-{batch_id}"),
        format!("git rm -- {}", present.join(" ")),
        format!(
            "git commit -m 'chore: rollback batch {batch_id}' --trailer 'batch_id: {batch_id}' --trailer 'rollback_reason: manual rollback request'"
        ),
    ]
}
