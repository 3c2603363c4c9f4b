//! Reading the dashboard's inputs from disk (issue #23; `dashboard.go` `Generate` and its
//! `load*` functions). A missing failures, metrics or disambiguations directory, or a missing
//! control file, is empty, as in Go. A file that cannot be read or does not parse is named in
//! [`LoadReport::skipped`] and left out, as `report` does with metrics; Go skips such files
//! silently (and falls back to line-by-line reading for metrics).

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;

use super::build::{Inputs, build};
use super::failures::FailureScan;
use super::model::{Dashboard, DisambiguationRecord};
use super::runs::ControlInput;
use super::wire::{DisambiguationLine, FailureLine};
use crate::control::ControlFile;
use crate::history::metrics::{MetricsRecord, is_metrics_file, parse_records};
use crate::queue::{Queue, QueueError};
use crate::records::failure_log::{RecordsError, Skipped, jsonl_files, read_lines};

/// Where the inputs are (the flags of `queue-analytics`).
#[derive(Debug, Clone)]
pub struct Sources {
    /// The unified queue (`--queue`).
    pub queue: PathBuf,
    /// Failure records, `*.jsonl`, both formats (`--failures-dir`).
    pub failures_dir: PathBuf,
    /// Metrics records, `batch-runs*.jsonl`, both shapes (`--metrics-dir`).
    pub metrics_dir: PathBuf,
    /// Disambiguation records, `*.jsonl` (`--disambiguations-dir`).
    pub disambiguations_dir: PathBuf,
    /// `batch-control.json` (`--control-file`).
    pub control_file: PathBuf,
}

/// An input file left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

/// What was read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    /// Failure files read.
    pub failure_files: usize,
    /// Failure lines that held a record.
    pub failure_records: u64,
    /// Failure lines skipped (blank, malformed, longer than 1 MiB).
    pub failure_lines_skipped: Skipped,
    /// Metrics files read.
    pub metrics_files: usize,
    /// Metrics records read (before the dashboard's filters).
    pub metrics_records: usize,
    /// Disambiguation files read.
    pub disambiguation_files: usize,
    /// Disambiguation lines that were not JSON of the expected shape.
    pub disambiguation_lines_skipped: u64,
    /// Whether the control file existed.
    pub control_file_found: bool,
    /// Files left out, with the reason.
    pub skipped: Vec<SkippedFile>,
}

/// Errors that stop the dashboard (a single bad input file does not).
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The queue could not be loaded.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A queue entry breaks the entry rules (`dashboard.go` `loadQueue` refuses the queue).
    #[error("queue entry {index} ({name}) is invalid: {problems}")]
    InvalidEntry {
        /// 0-based position in `entries`.
        index: usize,
        /// The entry's name.
        name: String,
        /// The rules it breaks, `; `-separated.
        problems: String,
    },
    /// An input directory exists but cannot be listed.
    #[error("failed to list `{path}`")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
}

/// Reads every input and builds the dashboard, `generated_at` = `now`.
///
/// # Errors
/// [`DashboardError::Queue`] when the queue cannot be loaded (a missing queue is an error,
/// unlike Go's empty queue), [`DashboardError::InvalidEntry`] for an invalid entry,
/// [`DashboardError::Dir`] when an input directory exists but cannot be listed.
pub fn generate(
    sources: &Sources,
    now: Timestamp,
) -> Result<(Dashboard, LoadReport), DashboardError> {
    let queue = Queue::load(&sources.queue)?;
    if let Some((index, e)) = queue
        .entries
        .iter()
        .enumerate()
        .find(|(_, e)| !e.is_valid())
    {
        return Err(DashboardError::InvalidEntry {
            index,
            name: e.name.clone(),
            problems: e.problems().join("; "),
        });
    }
    let mut report = LoadReport::default();
    let (failures, mut failure_report) = read_failures(&sources.failures_dir)?;
    let (metrics, mut metrics_report) = read_metrics(&sources.metrics_dir)?;
    let (disambiguations, mut dis_report) = read_disambiguations(&sources.disambiguations_dir)?;
    report.skipped.append(&mut failure_report.skipped);
    report.failure_files = failure_report.failure_files;
    report.failure_records = failure_report.failure_records;
    report.failure_lines_skipped = failure_report.failure_lines_skipped;
    report.skipped.append(&mut metrics_report.skipped);
    report.metrics_files = metrics_report.metrics_files;
    report.metrics_records = metrics.len();
    report.skipped.append(&mut dis_report.skipped);
    report.disambiguation_files = dis_report.disambiguation_files;
    report.disambiguation_lines_skipped = dis_report.disambiguation_lines_skipped;
    let control = match ControlFile::load(&sources.control_file) {
        Ok(c) => Some(c),
        Err(e) => {
            report.skipped.push(SkippedFile {
                path: sources.control_file.clone(),
                reason: error_chain(&e),
            });
            None
        }
    };
    let control_input = match &control {
        None => ControlInput::Unusable,
        Some(c) if !c.existed() => ControlInput::Missing,
        Some(c) => ControlInput::Breakers(&c.breakers),
    };
    report.control_file_found = control.as_ref().is_none_or(ControlFile::existed);
    let dashboard = build(Inputs {
        now,
        queue: &queue,
        failures: &failures,
        metrics,
        control: control_input,
        disambiguations,
    });
    Ok((dashboard, report))
}

/// `e` and its sources, `: `-joined.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The `*.jsonl` files of `dir` in name order; none when `dir` does not exist.
fn listed(dir: &Path) -> Result<Vec<PathBuf>, DashboardError> {
    match jsonl_files(dir) {
        Ok(files) => Ok(files),
        Err(RecordsError::Dir { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(Vec::new())
        }
        Err(RecordsError::Dir { path, source } | RecordsError::File { path, source }) => {
            Err(DashboardError::Dir { path, source })
        }
    }
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The failure categories (remapped as the dashboard does) per day of every failure record
/// under `dir`, both formats, from `since` (`YYYY-MM-DD`) on when given (issue #23,
/// `report --html`), with what was read or skipped.
///
/// # Errors
/// [`DashboardError::Dir`] when `dir` exists but cannot be listed.
pub fn failure_timeline(
    dir: &Path,
    since: Option<&str>,
) -> Result<(crate::history::FailureTimeline, LoadReport), DashboardError> {
    let (scan, report) = read_failures(dir)?;
    let timeline = crate::history::FailureTimeline::build(
        scan.failures
            .iter()
            .map(|f| (f.timestamp.as_str(), f.category.as_str())),
        since,
    );
    Ok((timeline, report))
}

fn read_failures(dir: &Path) -> Result<(FailureScan, LoadReport), DashboardError> {
    let mut scan = FailureScan::default();
    let mut report = LoadReport::default();
    for path in listed(dir)? {
        let name = base_name(&path);
        let mut records = 0;
        let read = File::open(&path).and_then(|f| {
            read_lines(
                BufReader::new(f),
                &mut report.failure_lines_skipped,
                |line| match serde_json::from_slice::<FailureLine>(line) {
                    Ok(rec) => {
                        records += 1;
                        scan.add(&name, rec);
                        true
                    }
                    Err(_) => false,
                },
            )
        });
        report.failure_records += records;
        match read {
            Ok(()) => report.failure_files += 1,
            Err(e) => report.skipped.push(SkippedFile {
                path,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    Ok((scan, report))
}

fn read_metrics(dir: &Path) -> Result<(Vec<MetricsRecord>, LoadReport), DashboardError> {
    let mut report = LoadReport::default();
    let mut records = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((records, report)),
        Err(source) => {
            return Err(DashboardError::Dir {
                path: dir.to_owned(),
                source,
            });
        }
    };
    let mut names = Vec::new();
    for item in listing {
        let item = item.map_err(|source| DashboardError::Dir {
            path: dir.to_owned(),
            source,
        })?;
        let name = item.file_name().to_string_lossy().into_owned();
        if is_metrics_file(&name) && item.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let parsed = std::fs::read(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|bytes| {
                parse_records(&name, &bytes)
                    .map_err(|b| format!("line {}, column {}: {}", b.line, b.column, b.message))
            });
        match parsed {
            Ok(mut r) => {
                report.metrics_files += 1;
                records.append(&mut r);
            }
            Err(reason) => report.skipped.push(SkippedFile { path, reason }),
        }
    }
    Ok((records, report))
}

fn read_disambiguations(
    dir: &Path,
) -> Result<(Vec<DisambiguationRecord>, LoadReport), DashboardError> {
    let mut report = LoadReport::default();
    let mut records = Vec::new();
    for path in listed(dir)? {
        let mut skipped = Skipped::default();
        let read = File::open(&path).and_then(|f| {
            read_lines(
                BufReader::new(f),
                &mut skipped,
                |line| match serde_json::from_slice::<DisambiguationLine>(line) {
                    Ok(l) => {
                        records.extend(l.disambiguations.unwrap_or_default());
                        true
                    }
                    Err(_) => false,
                },
            )
        });
        report.disambiguation_lines_skipped += skipped.malformed + skipped.oversized;
        match read {
            Ok(()) => report.disambiguation_files += 1,
            Err(e) => report.skipped.push(SkippedFile {
                path,
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    Ok((records, report))
}
