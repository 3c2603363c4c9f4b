//! The run journal: one JSON line per finished candidate, appended and flushed before the next
//! result is taken, so a run killed at any instant loses no finished work (issue #4).
//!
//! The journal mechanics (append + sync, torn-line tolerance, removal) are
//! [`crate::journal`]'s; this module holds the run's line types.
//!
//! Lines record the *resulting* state of an entry (status, failure count, retry time) and of
//! each changed breaker, never a delta, so applying a journal twice gives the same files as
//! applying it once. The file lives beside the queue (`<queue>.journal`) and is removed once
//! everything it describes has been saved.
//!
//! Each generator process the run starts is recorded too (`process` and `process_ended`
//! lines, issue #15), so a run that finds the journal of a killed run can stop the process
//! groups still alive ([`super::orphans`]). Journals written before those lines existed
//! read as before.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::journal::JournalError;
use crate::journal::JournalLine;
pub(crate) use crate::journal::line_bytes;

use crate::records::timestamp::Rfc3339;
use crate::records::{FailureRecord, OutcomeKind};

/// Journal format version written in the first line.
pub(crate) const VERSION: u32 = 1;

/// One finished candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeLine {
    /// Position in selection order (records are written in this order).
    pub position: usize,
    /// Index of the entry in the queue the run loaded.
    pub index: usize,
    /// Entry name (to find the entry if the queue moved).
    pub name: String,
    /// Entry source (idem).
    pub source: String,
    /// How it ended.
    pub ended: OutcomeKind,
    /// Resulting `status`.
    pub status: String,
    /// Resulting `failure_count`.
    pub failure_count: i64,
    /// Resulting `next_retry_at`.
    pub next_retry_at: Option<Rfc3339>,
    /// The failure record, for failed and blocked entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<FailureRecord>,
    /// Basename of the recipe, for succeeded entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipe: Option<String>,
}

/// A breaker's resulting fields, as journaled before the control file is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerLine {
    /// `state` (an unknown spelling fails the line's parse).
    pub state: crate::control::breaker::BreakerState,
    /// `failures`.
    pub failures: i64,
    /// `last_failure`.
    #[serde(default)]
    pub last_failure: Option<String>,
    /// `opens_at`.
    #[serde(default)]
    pub opens_at: Option<String>,
}

impl From<&crate::control::breaker::Breaker> for BreakerLine {
    fn from(b: &crate::control::breaker::Breaker) -> Self {
        Self {
            state: b.state,
            failures: b.failures,
            last_failure: b.last_failure.clone(),
            opens_at: b.opens_at.clone(),
        }
    }
}

impl From<&BreakerLine> for crate::control::breaker::Breaker {
    fn from(b: &BreakerLine) -> Self {
        Self {
            state: b.state,
            failures: b.failures,
            last_failure: b.last_failure.clone(),
            opens_at: b.opens_at.clone(),
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Line {
    /// First line: when the run started (batch ID, results timestamp, failure-file stamps).
    Start {
        /// Format version.
        version: u32,
        /// RFC 3339 start time.
        started: Rfc3339,
    },
    /// A finished candidate.
    Outcome(Box<OutcomeLine>),
    /// A generator process was started (written, not synced: see [`super::orphans`]).
    Process(crate::runner::ProcessId),
    /// That generator process was reaped.
    ProcessEnded(crate::runner::ProcessId),
    /// The breakers the run changed, written just before the control file.
    Breakers {
        /// Ecosystem → resulting breaker.
        breakers: BTreeMap<String, BreakerLine>,
    },
}

impl JournalLine for Line {
    const NAME: &'static str = "run journal";
    const IF_CORRUPT: &'static str = "move it aside to start afresh (its outcomes are then lost)";
}

/// The run journal: [`crate::journal::Journal`] of [`Line`]s.
pub type Journal = crate::journal::Journal<Line>;

impl Journal {
    /// Creates (or truncates) the run journal and writes its start line.
    ///
    /// # Errors
    /// [`JournalError::Io`] naming the path.
    pub fn create(path: &Path, started: Rfc3339) -> Result<Self, JournalError> {
        Self::start(
            path,
            &Line::Start {
                version: VERSION,
                started,
            },
        )
    }
}

/// The journal path for a queue: `<queue>.journal`.
pub fn path_for(queue: &Path) -> PathBuf {
    crate::journal::path_for(queue)
}

/// Reads a run journal; `Ok(None)` when there is none. A torn last line is ignored
/// ([`crate::journal`]).
///
/// # Errors
/// [`JournalError::Io`] when it cannot be read, [`JournalError::Corrupt`] when a line before
/// the last does not parse.
pub(crate) fn read(path: &Path) -> Result<Option<Vec<Line>>, JournalError> {
    crate::journal::read(path)
}

/// Removes the run journal (after everything it describes is saved); a missing one is fine.
///
/// # Errors
/// [`JournalError::Io`] naming the path.
pub(crate) fn remove(path: &Path) -> Result<(), JournalError> {
    crate::journal::remove::<Line>(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Category;

    fn outcome(position: usize) -> Line {
        Line::Outcome(Box::new(OutcomeLine {
            position,
            index: position + 10,
            name: format!("pkg{position}"),
            source: format!("homebrew:pkg{position}"),
            ended: OutcomeKind::Failed,
            status: "failed".into(),
            failure_count: 2,
            next_retry_at: Some("2026-06-02T12:00:00Z".parse().unwrap()),
            record: Some(FailureRecord {
                package_id: format!("homebrew:pkg{position}"),
                category: Category::InstallFailed,
                subcategory: String::new(),
                blocked_by: vec![],
                message: "boom".into(),
                timestamp: "2026-06-01T12:00:00Z".into(),
            }),
            recipe: None,
        }))
    }

    #[test]
    fn append_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(&dir.path().join("q.json"));
        assert_eq!(p.file_name().unwrap(), "q.json.journal");
        assert!(read(&p).unwrap().is_none());
        let started: Rfc3339 = "2026-06-01T12:00:00Z".parse().unwrap();
        let mut j = Journal::create(&p, started).unwrap();
        j.append(&outcome(0)).unwrap();
        j.append(&outcome(1)).unwrap();
        let lines = read(&p).unwrap().unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0],
            Line::Start {
                version: 1,
                started
            }
        );
        assert_eq!(lines[2], outcome(1));
        remove(&p).unwrap();
        assert!(read(&p).unwrap().is_none());
    }

    #[test]
    fn process_lines_read_back_and_old_journals_still_parse() {
        let p = crate::runner::ProcessId {
            pid: 42,
            pgid: 42,
            start_time: Some(123_456),
        };
        let line = Line::Process(p);
        let text = String::from_utf8(line_bytes(&line)).unwrap();
        assert_eq!(
            text,
            "{\"kind\":\"process\",\"pid\":42,\"pgid\":42,\"start_time\":123456}\n"
        );
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), line);
        let ended = String::from_utf8(line_bytes(&Line::ProcessEnded(p))).unwrap();
        assert!(ended.starts_with("{\"kind\":\"process_ended\""));
        // A journal of a version without process lines.
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("j");
        let mut bytes =
            b"{\"kind\":\"start\",\"version\":1,\"started\":\"2026-06-01T12:00:00Z\"}\n".to_vec();
        bytes.extend(line_bytes(&outcome(0)));
        std::fs::write(&old, bytes).unwrap();
        assert_eq!(read(&old).unwrap().unwrap().len(), 2);
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j");
        let mut j = Journal::create(&p, "2026-06-01T12:00:00Z".parse().unwrap()).unwrap();
        j.append(&outcome(0)).unwrap();
        let full = std::fs::read(&p).unwrap();
        let mut torn = full.clone();
        torn.extend_from_slice(br#"{"kind":"outcome","posi"#);
        std::fs::write(&p, &torn).unwrap();
        assert_eq!(read(&p).unwrap().unwrap().len(), 2);
        // A garbage last line that did get its newline is torn too.
        let mut torn = full.clone();
        torn.extend_from_slice(b"{\"kind\":\"outc\n");
        std::fs::write(&p, &torn).unwrap();
        assert_eq!(read(&p).unwrap().unwrap().len(), 2);
        // Garbage in the middle is corruption.
        let mut bad = b"garbage\n".to_vec();
        bad.extend_from_slice(&full);
        std::fs::write(&p, &bad).unwrap();
        assert!(matches!(
            read(&p),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }
}
