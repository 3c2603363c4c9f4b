//! Reading the metrics history (spec §1.5, issue #14): every `batch-runs*.jsonl` file of a
//! metrics directory, in both shapes (the old `ecosystem` string of 2026-02-07 → 02-18 and the
//! new `ecosystems` map), pretty or compact, one or many JSON values per file (the legacy
//! aggregate `batch-runs.jsonl` holds 40). A file that does not parse is listed with its
//! position and skipped whole; `seeding-runs.jsonl` and other files are not batch metrics and
//! are only counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Prefix of every batch-generation metrics file: `batch-runs-<stamp>.jsonl` and the legacy
/// aggregate `batch-runs.jsonl` (spec §1.5).
pub(crate) const FILE_PREFIX: &str = "batch-runs";
/// Extension of every metrics file (spec §1.5; the content is pretty JSON regardless).
pub(crate) const FILE_SUFFIX: &str = ".jsonl";

/// Errors that stop reading the metrics directory as a whole (a single bad file does not:
/// it becomes a [`BadFile`]).
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The directory could not be listed.
    #[error("cannot read the metrics directory {path}")]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Which shape a record had on disk (spec §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `ecosystem` string, batch IDs like `2026-02-05-homebrew` (up to 2026-02-18).
    Old,
    /// `ecosystems` map ecosystem → candidates, from 2026-02-18 on.
    New,
}

/// Counts of one platform family in one run: result rows, one per recipe × family, with
/// `skipped` rows counted in `tested` (spec §1.5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformCounts {
    /// Rows tested.
    pub tested: u64,
    /// Rows passed.
    pub passed: u64,
    /// Rows failed.
    pub failed: u64,
}

/// One merge run's metrics record, both shapes read into one form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricsRecord {
    /// The workflow batch ID (spec §7.3.4); not unique in practice.
    pub batch_id: String,
    /// `timestamp` as written (`YYYY-MM-DDTHH:MM:SSZ`).
    pub timestamp: String,
    /// `timestamp` parsed; the order of the history.
    #[serde(skip)]
    pub at: Timestamp,
    /// The shape on disk.
    pub shape: Shape,
    /// Ecosystems of the run, sorted: the keys of `ecosystems`, or the one `ecosystem`.
    pub ecosystems: Vec<String>,
    /// Candidates per ecosystem (new shape only; the old shape has no counts).
    pub candidates: Option<BTreeMap<String, u64>>,
    /// `merged + excluded`, in recipes.
    pub total: u64,
    /// Unique recipe names across the validation results.
    pub generated: u64,
    /// Recipes included in the PR.
    pub merged: u64,
    /// Recipes dropped (security gate, all platforms failed).
    pub excluded: u64,
    /// Recipes included with a platform constraint.
    pub constrained: u64,
    /// Wall time of the merge job only, seconds.
    pub duration_seconds: u64,
    /// Platform family → row counts (`linux-x86_64`, `linux-arm64`, `darwin-arm64`,
    /// `darwin-x86_64` in the real data).
    pub platforms: BTreeMap<String, PlatformCounts>,
    /// File name the record came from.
    pub file: String,
}

/// A metrics file that did not parse: skipped whole, nothing of it counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadFile {
    /// File name inside the metrics directory.
    pub file: String,
    /// 1-based line of the error (0 when not at a position, such as a read error).
    pub line: usize,
    /// 1-based column of the error.
    pub column: usize,
    /// What was wrong.
    pub message: String,
}

/// Everything read from a metrics directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct History {
    /// Records sorted by time, then batch ID, then file; duplicates removed.
    pub records: Vec<MetricsRecord>,
    /// Metrics files read successfully.
    pub files_read: usize,
    /// Metrics files that did not parse, by name.
    pub bad_files: Vec<BadFile>,
    /// Other files in the directory (such as `seeding-runs.jsonl`), not read, by name.
    pub ignored_files: Vec<String>,
    /// Records dropped because an earlier file already had the same `batch_id` and
    /// `timestamp` (the legacy aggregate repeating a timestamped file).
    pub duplicates: usize,
}

/// The record as on disk: either shape, unknown keys ignored.
#[derive(Debug, Deserialize)]
struct Wire {
    batch_id: String,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    ecosystems: Option<BTreeMap<String, u64>>,
    total: u64,
    #[serde(default)]
    generated: u64,
    merged: u64,
    excluded: u64,
    constrained: u64,
    timestamp: String,
    duration_seconds: u64,
    #[serde(default)]
    platforms: BTreeMap<String, PlatformCounts>,
}

impl Wire {
    fn into_record(self, file: &str) -> Result<MetricsRecord, String> {
        let at: Timestamp = self
            .timestamp
            .parse()
            .map_err(|e| format!("timestamp {:?} is not RFC 3339: {e}", self.timestamp))?;
        let (shape, ecosystems, candidates) = match (self.ecosystems, self.ecosystem) {
            (Some(map), None) => (Shape::New, map.keys().cloned().collect(), Some(map)),
            (None, Some(eco)) => (Shape::Old, vec![eco], None),
            (Some(_), Some(_)) => {
                return Err("record has both `ecosystem` and `ecosystems`".to_owned());
            }
            (None, None) => return Err("record has neither `ecosystem` nor `ecosystems`".into()),
        };
        Ok(MetricsRecord {
            batch_id: self.batch_id,
            timestamp: self.timestamp,
            at,
            shape,
            ecosystems,
            candidates,
            total: self.total,
            generated: self.generated,
            merged: self.merged,
            excluded: self.excluded,
            constrained: self.constrained,
            duration_seconds: self.duration_seconds,
            platforms: self.platforms,
            file: file.to_owned(),
        })
    }
}

/// Whether `name` is a batch-generation metrics file (`batch-runs*.jsonl`, spec §1.5).
pub(crate) fn is_metrics_file(name: &str) -> bool {
    name.starts_with(FILE_PREFIX) && name.ends_with(FILE_SUFFIX)
}

/// Parses every JSON value of `bytes` as a metrics record; `file` names them.
///
/// # Errors
/// The first value that is not JSON or not a metrics record, as a [`BadFile`] with its
/// 1-based line and column.
pub(crate) fn parse_records(file: &str, bytes: &[u8]) -> Result<Vec<MetricsRecord>, BadFile> {
    let bad = |line, column, message| BadFile {
        file: file.to_owned(),
        line,
        column,
        message,
    };
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Wire>();
    while let Some(item) = stream.next() {
        match item {
            Ok(w) => {
                let end = stream.byte_offset();
                let record = w.into_record(file).map_err(|m| {
                    let (line, column) = position(bytes, end.saturating_sub(1));
                    bad(line, column, m)
                })?;
                out.push(record);
            }
            Err(e) => return Err(bad(e.line(), e.column(), e.to_string())),
        }
    }
    Ok(out)
}

/// 1-based line and column of byte `offset` in `bytes`.
fn position(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, column)
}

/// Reads every metrics file of `dir` (no recursion) into a [`History`]: records sorted by
/// time, duplicates (same `batch_id` and `timestamp`) dropped, bad files listed and skipped.
///
/// # Errors
/// [`HistoryError::ReadDir`] when `dir` cannot be listed. A file that cannot be read or
/// parsed is a [`BadFile`], not an error.
pub fn read_dir(dir: &Path) -> Result<History, HistoryError> {
    let listing = std::fs::read_dir(dir).map_err(|source| HistoryError::ReadDir {
        path: dir.to_owned(),
        source,
    })?;
    let mut names: Vec<String> = Vec::new();
    for item in listing {
        let item = item.map_err(|source| HistoryError::ReadDir {
            path: dir.to_owned(),
            source,
        })?;
        if item.file_type().is_ok_and(|t| t.is_file()) {
            names.push(item.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    let mut history = History::default();
    let mut records = Vec::new();
    for name in names {
        if !is_metrics_file(&name) {
            history.ignored_files.push(name);
            continue;
        }
        match read_file(&dir.join(&name), &name) {
            Ok(mut r) => {
                history.files_read += 1;
                records.append(&mut r);
            }
            Err(bad) => history.bad_files.push(bad),
        }
    }
    records.sort_by(|a, b| (a.at, &a.batch_id, &a.file).cmp(&(b.at, &b.batch_id, &b.file)));
    let mut seen = BTreeSet::new();
    for r in records {
        if seen.insert((r.batch_id.clone(), r.timestamp.clone())) {
            history.records.push(r);
        } else {
            history.duplicates += 1;
        }
    }
    Ok(history)
}

fn read_file(path: &Path, name: &str) -> Result<Vec<MetricsRecord>, BadFile> {
    let bytes = std::fs::read(path).map_err(|e| BadFile {
        file: name.to_owned(),
        line: 0,
        column: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_records(name, &bytes)
}
