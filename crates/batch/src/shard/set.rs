//! The fragments of one sharded batch, read from a directory and checked against each other
//! before a merge (issue #6): one batch, one shard count, the same settings, starting queue,
//! plan time and candidates, and one fragment per shard.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::fragment::{Fragment, FragmentError, check_batch_id, parse_file_name};
use super::settings::ShardSettings;
use crate::records::timestamp::Rfc3339;

/// The fragments of one batch, checked against each other.
#[derive(Debug, Clone)]
pub struct FragmentSet {
    /// The batch ID.
    pub batch_id: String,
    /// N.
    pub shard_count: u32,
    /// The settings every shard ran with.
    pub settings: ShardSettings,
    /// The starting queue's SHA-256 (hex).
    pub queue_sha256: String,
    /// The shared plan time.
    pub planned_at: Rfc3339,
    /// Shards that have candidates.
    pub shards_with_candidates: Vec<u32>,
    /// Invalid entries skipped by the selection.
    pub invalid: usize,
    /// One fragment per shard present, sorted by shard, with its path.
    pub fragments: Vec<(PathBuf, Fragment)>,
    /// Shards with candidates but no fragment, sorted.
    pub missing: Vec<u32>,
}

impl FragmentSet {
    /// Reads every `*-shard-K-of-N.json` in `dir` (other files are ignored) and checks that
    /// they belong together: one batch ID (`batch_id` when given; without it the directory
    /// must hold one batch only), the same N, starting queue, plan time, shard list and
    /// invalid count. Two files for one shard must be identical. The result does not depend on
    /// the order of the directory listing.
    ///
    /// # Errors
    /// [`FragmentError::Read`] for an unreadable directory or file, the errors of
    /// [`Fragment::load`] for a bad fragment of the chosen batch, and
    /// [`FragmentError::Empty`], [`FragmentError::SeveralBatches`],
    /// [`FragmentError::Disagree`] or [`FragmentError::Conflict`].
    pub fn collect(dir: &Path, batch_id: Option<&str>) -> Result<Self, FragmentError> {
        if let Some(id) = batch_id {
            check_batch_id(id)?;
        }
        let read_err = |source| FragmentError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut paths: Vec<(PathBuf, String)> = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some((id, _, _)) = parse_file_name(name) {
                paths.push((entry.path(), id.to_owned()));
            }
        }
        paths.sort();
        let ids: BTreeSet<&str> = paths.iter().map(|(_, id)| id.as_str()).collect();
        let chosen = match batch_id {
            Some(id) => id.to_owned(),
            None => match ids.len() {
                0 => String::new(),
                1 => ids.first().map(|s| (*s).to_owned()).unwrap_or_default(),
                _ => {
                    return Err(FragmentError::SeveralBatches {
                        dir: dir.to_owned(),
                        ids: ids.iter().map(|s| (*s).to_owned()).collect(),
                    });
                }
            },
        };
        let mut by_shard: BTreeMap<u32, (PathBuf, Fragment)> = BTreeMap::new();
        for (path, id) in paths {
            if id != chosen {
                continue;
            }
            let f = Fragment::load(&path)?;
            match by_shard.get(&f.shard) {
                Some((first, other)) if *other != f => {
                    return Err(FragmentError::Conflict {
                        shard: f.shard,
                        first: first.clone(),
                        second: path,
                    });
                }
                Some(_) => {}
                None => {
                    by_shard.insert(f.shard, (path, f));
                }
            }
        }
        let fragments: Vec<(PathBuf, Fragment)> = by_shard.into_values().collect();
        let Some((first_path, first)) = fragments.first() else {
            return Err(FragmentError::Empty {
                dir: dir.to_owned(),
                batch: batch_id.map(str::to_owned),
            });
        };
        for (path, f) in &fragments[1..] {
            let disagree = |what, a: String, b: String| FragmentError::Disagree {
                first: first_path.clone(),
                second: path.clone(),
                what,
                first_value: a,
                second_value: b,
            };
            if f.shard_count != first.shard_count {
                return Err(disagree(
                    "the shard count N",
                    first.shard_count.to_string(),
                    f.shard_count.to_string(),
                ));
            }
            if let Some((what, a, b)) = first.settings.difference(&f.settings) {
                return Err(disagree(what, a, b));
            }
            if f.queue_sha256 != first.queue_sha256 {
                return Err(disagree(
                    "the starting queue (queue_sha256)",
                    first.queue_sha256.clone(),
                    f.queue_sha256.clone(),
                ));
            }
            if f.planned_at != first.planned_at {
                return Err(disagree(
                    "the plan time (planned_at)",
                    first.planned_at.to_string(),
                    f.planned_at.to_string(),
                ));
            }
            if f.batch_ecosystems != first.batch_ecosystems {
                return Err(disagree(
                    "the batch's candidates (batch_ecosystems)",
                    format!("{} candidate(s)", first.batch_ecosystems.len()),
                    format!("{} candidate(s)", f.batch_ecosystems.len()),
                ));
            }
            if f.shards_with_candidates != first.shards_with_candidates {
                return Err(disagree(
                    "which shards have candidates",
                    format!("{:?}", first.shards_with_candidates),
                    format!("{:?}", f.shards_with_candidates),
                ));
            }
            if f.invalid != first.invalid {
                return Err(disagree(
                    "the number of invalid entries",
                    first.invalid.to_string(),
                    f.invalid.to_string(),
                ));
            }
        }
        let present: BTreeSet<u32> = fragments.iter().map(|(_, f)| f.shard).collect();
        let missing = first
            .shards_with_candidates
            .iter()
            .copied()
            .filter(|k| !present.contains(k))
            .collect();
        Ok(FragmentSet {
            batch_id: chosen,
            shard_count: first.shard_count,
            settings: first.settings.clone(),
            queue_sha256: first.queue_sha256.clone(),
            planned_at: first.planned_at,
            shards_with_candidates: first.shards_with_candidates.clone(),
            invalid: first.invalid,
            missing,
            fragments,
        })
    }
}
