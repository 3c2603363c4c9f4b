//! Shard fragments (issue #6). A sharded run (`--shard K/N`) writes nothing but one fragment:
//! `<fragment-dir>/<batch_id>-shard-<K>-of-<N>.json`, holding every outcome of its shard as
//! the entry's *resulting* state (the run journal's [`OutcomeLine`]), the failure records, the
//! per-ecosystem counts, the breakers it started from and the SHA-256 of the queue it
//! started from. [`crate::shard::merge::merge_fragments`] consolidates the fragments of one batch.
//!
//! A fragment is pretty JSON (2-space indent, keys in the order of [`Fragment`]'s fields),
//! written atomically, so a crashed shard leaves no fragment rather than half of one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::records::EcosystemCounts;
use crate::records::OutcomeKind;
use crate::records::jsonfmt;
use crate::records::timestamp::Rfc3339;
use crate::run::apply::outcome_line;
use crate::run::journal::{BreakerLine, OutcomeLine};
use crate::run::{EntryResult, Plan};
use crate::shard::Shard;
use crate::shard::partition::ShardPlan;
use crate::shard::partition::assign;
use crate::shard::settings::ShardSettings;
use batch_base::fs as fsutil;

/// Version of the fragment format; [`FragmentSet::collect`](super::FragmentSet::collect) refuses any other. Version 2 added
/// `settings` (issue #12).
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// Longest accepted batch ID, in bytes.
pub(crate) const MAX_BATCH_ID_LEN: usize = 100;

/// One shard's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fragment {
    /// `SCHEMA_VERSION`.
    pub schema_version: u32,
    /// The batch ID the preflight assigned (`--batch-id`).
    pub batch_id: String,
    /// K of `--shard K/N`, 1-based.
    pub shard: u32,
    /// N of `--shard K/N`.
    pub shard_count: u32,
    /// The selection and rate-limit settings the shard ran with; every shard of a batch must
    /// have the same.
    pub settings: ShardSettings,
    /// SHA-256 (hex) of the queue file bytes the shard planned from.
    pub queue_sha256: String,
    /// The plan time every shard of the batch selected with (`--planned-at`): due breaker
    /// recoveries and retry times are judged at this instant. Also the batch's
    /// `batch-results.json` timestamp and failure-file stamp.
    pub planned_at: Rfc3339,
    /// When this shard started executing.
    pub started: Rfc3339,
    /// When this shard finished executing.
    pub finished: Rfc3339,
    /// The shards that have candidates in the whole batch's selection, sorted: the fragments
    /// a complete merge needs (a shard without candidates may write none).
    pub shards_with_candidates: Vec<u32>,
    /// The ecosystem of every candidate of the whole batch in selection order: the input of
    /// the partition ([`crate::shard::assign`]), so each entry's shard can be checked.
    pub batch_ecosystems: Vec<String>,
    /// This shard's candidates: `outcomes.len() + not_run.len()`.
    pub candidates: usize,
    /// Invalid queue entries skipped by the selection (the same for every shard).
    pub invalid: usize,
    /// Ecosystem → counts over `outcomes` (a check on them, and a reader's shortcut).
    pub per_ecosystem: BTreeMap<String, EcosystemCounts>,
    /// Ecosystem → breaker as the shard's plan saw it (after due open → half-open moves),
    /// for the ecosystems of its candidates and those that moved to half-open.
    pub breakers_at_start: BTreeMap<String, BreakerLine>,
    /// Finished candidates, in selection order; `position` is the place in the whole batch's
    /// selection, so merged records keep the unsharded order.
    pub outcomes: Vec<OutcomeLine>,
    /// Candidates of this shard that did not run (interrupted, generator missing); their
    /// entries stay unchanged.
    pub not_run: Vec<NotRunLine>,
}

/// A candidate that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotRunLine {
    /// Place in the whole batch's selection.
    pub position: usize,
    /// Queue index.
    pub index: usize,
    /// Entry name.
    pub name: String,
    /// Entry source.
    pub source: String,
    /// Why it did not run.
    pub reason: String,
}

/// Errors of reading and checking fragments.
#[derive(Debug, thiserror::Error)]
pub enum FragmentError {
    /// The batch ID asked for (`--batch-id`) cannot be part of a file name.
    #[error("cannot select the batch's fragments")]
    BatchId(#[from] InvalidBatchId),
    /// The fragment directory or a fragment could not be read.
    #[error("failed to read `{path}`")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A fragment is not valid JSON of the fragment format.
    #[error("fragment `{path}` is not a valid fragment (line {line}, column {column})")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A fragment parses but contradicts itself, its file name or the format's rules.
    #[error("fragment `{path}` is invalid: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no fragment (of the requested batch).
    #[error("no fragment files (`*-shard-K-of-N.json`) in `{dir}`{}", batch.as_ref().map(|b| format!(" for batch {b}")).unwrap_or_default())]
    Empty {
        /// The directory.
        dir: PathBuf,
        /// The batch asked for, if any.
        batch: Option<String>,
    },
    /// Fragments of several batches and no `--batch-id` to choose.
    #[error("`{dir}` holds fragments of several batches ({}); pass --batch-id to choose one", ids.join(", "))]
    SeveralBatches {
        /// The directory.
        dir: PathBuf,
        /// The batch IDs found, sorted.
        ids: Vec<String>,
    },
    /// Two fragments of one batch disagree on what the batch was.
    #[error(
        "fragments `{first}` and `{second}` disagree on {what} ({first_value} vs {second_value}): they are not from the same batch run"
    )]
    Disagree {
        /// One fragment.
        first: PathBuf,
        /// The other.
        second: PathBuf,
        /// The field, e.g. "the starting queue".
        what: &'static str,
        /// Its value in `first`.
        first_value: String,
        /// Its value in `second`.
        second_value: String,
    },
    /// Two different fragments for the same shard.
    #[error("fragments `{first}` and `{second}` are both shard {shard} with different content")]
    Conflict {
        /// The shard.
        shard: u32,
        /// One fragment.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
}

/// A batch ID that cannot be part of a file name (see [`check_batch_id`]). Batch IDs come from
/// the command line, so the binary treats this as a usage error wherever it appears.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid batch ID {id:?}: use 1 to {MAX_BATCH_ID_LEN} characters from [A-Za-z0-9._-], not starting with `.` or `-`"
)]
pub struct InvalidBatchId {
    /// The ID as given.
    pub id: String,
}

/// Checks that `id` is usable as a batch ID and a file-name component: 1 to
/// `MAX_BATCH_ID_LEN` bytes of `[A-Za-z0-9._-]`, not starting with `.` or `-`.
///
/// # Errors
/// [`InvalidBatchId`].
pub fn check_batch_id(id: &str) -> Result<(), InvalidBatchId> {
    let ok = !id.is_empty()
        && id.len() <= MAX_BATCH_ID_LEN
        && !id.starts_with(['.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidBatchId { id: id.to_owned() })
    }
}

/// `<batch_id>-shard-<K>-of-<N>.json`.
pub(crate) fn file_name(batch_id: &str, shard: Shard) -> String {
    format!("{batch_id}-shard-{}-of-{}.json", shard.index, shard.count)
}

/// Splits a fragment file name into batch ID, K and N; `None` for other names.
pub(crate) fn parse_file_name(name: &str) -> Option<(&str, u32, u32)> {
    let stem = name.strip_suffix(".json")?;
    let (head, n) = stem.rsplit_once("-of-")?;
    let (id, k) = head.rsplit_once("-shard-")?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit());
    if id.is_empty() || !digits(k) || !digits(n) {
        return None;
    }
    Some((id, k.parse().ok()?, n.parse().ok()?))
}

/// What a sharded run knows besides its plan and results.
#[derive(Debug, Clone)]
pub struct ShardRun<'a> {
    /// The batch ID.
    pub batch_id: &'a str,
    /// SHA-256 (hex) of the queue bytes the plan was made from.
    pub queue_sha256: &'a str,
    /// From [`crate::shard::split`].
    pub shard_plan: &'a ShardPlan,
    /// The settings the shard runs with (rate limits unscaled).
    pub settings: &'a ShardSettings,
    /// Execution start.
    pub started: Timestamp,
    /// Execution end.
    pub finished: Timestamp,
}

impl Fragment {
    /// Builds the fragment of a sharded run from its (split) plan and its results, one per
    /// remaining candidate, in order.
    ///
    /// # Panics
    /// Never for inputs from [`crate::shard::split`] and `crate::run::execute_plan_with`: `results` has one
    /// entry per candidate.
    pub fn build(plan: &Plan, run: &ShardRun<'_>, results: &[EntryResult]) -> Self {
        let mut outcomes = Vec::new();
        let mut not_run = Vec::new();
        let mut per_ecosystem: BTreeMap<String, EcosystemCounts> = BTreeMap::new();
        let mut breakers_at_start = BTreeMap::new();
        for note in &plan.recovery {
            if let crate::control::RecoveryNote::HalfOpened { ecosystem } = note {
                breakers_at_start.insert(ecosystem.clone(), breaker_line(plan, ecosystem));
            }
        }
        for ((cand, pos), result) in plan
            .selection
            .candidates
            .iter()
            .zip(&run.shard_plan.positions)
            .zip(results)
        {
            let entry = &plan.queue.entries[cand.index];
            let eco = entry.ecosystem();
            breakers_at_start
                .entry(eco.to_owned())
                .or_insert_with(|| breaker_line(plan, eco));
            match outcome_line(*pos, cand.index, entry, result) {
                Some(line) => {
                    count(&mut per_ecosystem, eco, line.ended);
                    outcomes.push(line);
                }
                None => not_run.push(NotRunLine {
                    position: *pos,
                    index: cand.index,
                    name: entry.name.clone(),
                    source: entry.source.clone(),
                    reason: match result {
                        EntryResult::NotRun { reason } => reason.clone(),
                        EntryResult::Done { .. } => unreachable!("done results have a line"),
                    },
                }),
            }
        }
        Fragment {
            schema_version: SCHEMA_VERSION,
            batch_id: run.batch_id.to_owned(),
            shard: run.shard_plan.shard.index,
            shard_count: run.shard_plan.shard.count,
            settings: run.settings.clone(),
            queue_sha256: run.queue_sha256.to_owned(),
            planned_at: Rfc3339::utc(plan.started),
            started: Rfc3339::utc(run.started),
            finished: Rfc3339::utc(run.finished),
            shards_with_candidates: run.shard_plan.shards_with_candidates.clone(),
            batch_ecosystems: run.shard_plan.batch_ecosystems.clone(),
            candidates: plan.selection.candidates.len(),
            invalid: plan.selection.invalid.len(),
            per_ecosystem,
            breakers_at_start,
            outcomes,
            not_run,
        }
    }

    /// The shard as a [`Shard`] (unchecked).
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.shard,
            count: self.shard_count,
        }
    }

    /// Pretty JSON bytes with a trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        jsonfmt::to_pretty(self).expect("fragments always serialise")
    }

    /// Writes the fragment atomically to `dir/<file_name>` (creating `dir`) and returns the
    /// path.
    ///
    /// # Errors
    /// The I/O error of the write; no partial file is left.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(file_name(&self.batch_id, self.shard()));
        fsutil::write_atomic(&path, &self.to_bytes(), true)?;
        Ok(path)
    }

    /// Parses and checks one fragment file (see [`Fragment::check`]).
    ///
    /// # Errors
    /// [`FragmentError::Read`], [`FragmentError::Parse`] or [`FragmentError::Invalid`].
    pub fn load(path: &Path) -> Result<Self, FragmentError> {
        let bytes = std::fs::read(path).map_err(|source| FragmentError::Read {
            path: path.to_owned(),
            source,
        })?;
        let f: Fragment =
            serde_json::from_slice(&bytes).map_err(|source| FragmentError::Parse {
                path: path.to_owned(),
                line: source.line(),
                column: source.column(),
                source,
            })?;
        f.check().map_err(|reason| FragmentError::Invalid {
            path: path.to_owned(),
            reason,
        })?;
        if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && parse_file_name(name) != Some((f.batch_id.as_str(), f.shard, f.shard_count))
        {
            return Err(FragmentError::Invalid {
                path: path.to_owned(),
                reason: format!(
                    "its content is batch {} shard {}/{}, which does not match its file name",
                    f.batch_id, f.shard, f.shard_count
                ),
            });
        }
        Ok(f)
    }

    /// The fragment's internal rules: known schema version, a valid batch ID, `1 <= K <= N`,
    /// every entry at a position the partition of `batch_ecosystems` gives shard K and of that
    /// position's ecosystem, unique positions, counts that match the
    /// outcomes, and `shards_with_candidates` sorted, in range and naming K when K has
    /// candidates.
    ///
    /// # Errors
    /// The first rule broken, in words.
    pub fn check(&self) -> Result<(), String> {
        if self.schema_version != SCHEMA_VERSION {
            return Err(format!(
                "schema_version {} is not supported (expected {SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        check_batch_id(&self.batch_id).map_err(|e| e.to_string())?;
        if self.shard_count == 0 || self.shard == 0 || self.shard > self.shard_count {
            return Err(format!(
                "shard {}/{} is out of range",
                self.shard, self.shard_count
            ));
        }
        let mut positions = BTreeSet::new();
        let shards = assign(&self.batch_ecosystems, self.shard_count);
        let entries = self
            .outcomes
            .iter()
            .map(|o| (o.position, o.name.as_str(), o.source.as_str()))
            .chain(
                self.not_run
                    .iter()
                    .map(|n| (n.position, n.name.as_str(), n.source.as_str())),
            );
        for (pos, name, source) in entries {
            let (Some(eco), Some(k)) = (self.batch_ecosystems.get(pos), shards.get(pos)) else {
                return Err(format!(
                    "entry {name:?} has position {pos}, past the batch's {} candidate(s)",
                    self.batch_ecosystems.len()
                ));
            };
            if crate::queue::ecosystem_of(source) != eco {
                return Err(format!(
                    "entry {name:?} at position {pos} is not of ecosystem {eco}, as the batch says"
                ));
            }
            if *k != self.shard {
                return Err(format!(
                    "entry {name:?} at position {pos} belongs to shard {k}/{}, not {}/{}",
                    self.shard_count, self.shard, self.shard_count
                ));
            }
            if !positions.insert(pos) {
                return Err(format!("position {pos} appears twice"));
            }
        }
        if positions.len() != self.candidates {
            return Err(format!(
                "{} outcome(s) and not-run entries for {} candidate(s)",
                positions.len(),
                self.candidates
            ));
        }
        let mut counts = BTreeMap::new();
        for o in &self.outcomes {
            count(&mut counts, crate::queue::ecosystem_of(&o.source), o.ended);
        }
        if counts != self.per_ecosystem {
            return Err("per_ecosystem does not match the outcomes".into());
        }
        let sorted = self.shards_with_candidates.windows(2).all(|w| w[0] < w[1]);
        let in_range = self
            .shards_with_candidates
            .iter()
            .all(|k| (1..=self.shard_count).contains(k));
        if !sorted || !in_range {
            return Err("shards_with_candidates must be sorted, unique and within 1..=N".into());
        }
        if self.candidates > 0 && !self.shards_with_candidates.contains(&self.shard) {
            return Err(format!(
                "shard {} has candidates but is not in shards_with_candidates",
                self.shard
            ));
        }
        Ok(())
    }
}

fn breaker_line(plan: &Plan, eco: &str) -> BreakerLine {
    BreakerLine::from(&plan.control.breakers.get(eco).cloned().unwrap_or_default())
}

fn count(map: &mut BTreeMap<String, EcosystemCounts>, eco: &str, ended: OutcomeKind) {
    map.entry(eco.to_owned()).or_default().add(ended);
}

#[cfg(test)]
mod tests;
