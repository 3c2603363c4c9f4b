//! `aggregate`'s journal (issue #22): what the tree held before the batch changed it, saved
//! before the first write and removed after the last, so that `aggregate` run again after an
//! interruption (a full disk, a killed job) ends byte for byte where one uninterrupted run
//! ends, wherever the first one stopped.
//!
//! Why it is needed: `aggregate` reads the files it writes. Without the journal, a rerun reads
//! a constraint it inserted as an existing one ("existing constraint, left unchanged" in the
//! PR), a recipe it deleted as "excluded by an earlier aggregate", and a queue entry it moved
//! as already moved, so the PR hides what the batch changed.
//!
//! The design is an undo log (docs/RELIABILITY.md §13):
//! - `<queue>.aggregate-journal` ([`path_for`]) is one JSON document, replaced atomically, and
//!   the first thing `apply` writes. It holds the batch ID, the plan time, the first run's
//!   clock reading (`now`: queue `updated_at`, backoff, metrics time), the content before the
//!   batch of every file the writes change (recipes constrained or deleted, the failure file,
//!   the metrics file; a file that did not exist as absent) and the queue entries they change,
//!   as they were.
//! - A run that finds the journal plans on the tree the journal describes: a journaled file
//!   is read from the journal, a journaled entry replaces the queue's, and `now` is the
//!   journal's. With the same results files it makes the interrupted run's decisions and
//!   writes the same bytes. Its own journal is the old one plus the state of anything new it
//!   changes (read from disk, which the interrupted run did not touch).
//! - `apply` writes the plan's files; a journaled file the plan does not write gets its
//!   content from before the batch back, and the queue its journaled entries, so even with
//!   other results files the rerun ends as one uninterrupted run of them on the tree the batch
//!   found. Last, the journal is removed.
//! - A complete `aggregate` leaves no journal: a second complete run decides from the tree the
//!   first one left (idempotence as before: existing constraints, already excluded recipes).
//! - A journal of another batch (ID or plan time) stops the run before anything is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::AggregateError;
use super::plan::Options;
use crate::queue::{Queue, QueueEntry};

/// The journal's path: `<queue>.aggregate-journal`, beside the queue whose lock `aggregate`
/// holds.
pub(crate) fn path_for(queue: &Path) -> PathBuf {
    let mut p = queue.as_os_str().to_owned();
    p.push(".aggregate-journal");
    PathBuf::from(p)
}

/// A file's content before the batch changed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Content {
    /// The file did not exist.
    Absent,
    /// UTF-8 content (every recipe the gate can read, the records).
    Text(String),
    /// Any other bytes (a recipe the gate excluded as not UTF-8).
    Bytes(Vec<u8>),
}

impl Content {
    /// The content of `path` on disk now.
    ///
    /// # Errors
    /// [`AggregateError::ReadBefore`] when it cannot be read.
    fn read(path: &Path) -> Result<Content, AggregateError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Content::of(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Content::Absent),
            Err(source) => Err(AggregateError::ReadBefore {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Wraps bytes, as text when they are UTF-8.
    pub(crate) fn of(bytes: Vec<u8>) -> Content {
        match String::from_utf8(bytes) {
            Ok(text) => Content::Text(text),
            Err(e) => Content::Bytes(e.into_bytes()),
        }
    }

    /// The bytes, `None` when absent.
    pub(crate) fn bytes(&self) -> Option<&[u8]> {
        match self {
            Content::Absent => None,
            Content::Text(t) => Some(t.as_bytes()),
            Content::Bytes(b) => Some(b),
        }
    }
}

/// A queue entry as it was before the batch changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EntryBefore {
    /// Its index in the queue when the batch changed it.
    pub index: usize,
    /// The entry (the queue's own wire format).
    pub entry: QueueEntry,
}

/// The journal: the tree before the batch, as far as `aggregate` changes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Before {
    /// Format version, 1.
    pub version: u32,
    /// `--batch-id`.
    pub batch_id: String,
    /// `--planned-at`, RFC 3339.
    #[serde(with = "rfc3339")]
    pub planned_at: Timestamp,
    /// The first run's clock reading, RFC 3339 with its fraction (every rerun uses it).
    #[serde(with = "rfc3339")]
    pub now: Timestamp,
    /// Each file the batch changes (full path, as `apply` writes it) and its content before.
    pub files: BTreeMap<PathBuf, Content>,
    /// Each queue entry the batch changes, as it was before.
    pub entries: Vec<EntryBefore>,
}

impl Before {
    /// An empty journal of the batch of `options` at `now`.
    pub(crate) fn new(options: &Options, now: Timestamp) -> Before {
        Before {
            version: 1,
            batch_id: options.batch_id.clone(),
            planned_at: options.planned_at,
            now,
            files: BTreeMap::new(),
            entries: Vec::new(),
        }
    }

    /// The content `path` had before the batch, when journaled.
    pub(crate) fn file(&self, path: &Path) -> Option<&Content> {
        self.files.get(path)
    }

    /// Journals `path` as it is on disk now, unless it already is (an older journal's
    /// content is the one from before the batch).
    ///
    /// # Errors
    /// [`AggregateError::ReadBefore`] when it cannot be read.
    pub(crate) fn keep_file(&mut self, path: PathBuf) -> Result<(), AggregateError> {
        if let std::collections::btree_map::Entry::Vacant(slot) = self.files.entry(path) {
            let content = Content::read(slot.key())?;
            slot.insert(content);
        }
        Ok(())
    }

    /// Journals the entry at `index` as it is, unless it already is.
    pub(crate) fn keep_entry(&mut self, index: usize, entry: &QueueEntry) {
        if !self.entries.iter().any(|e| e.index == index) {
            self.entries.push(EntryBefore {
                index,
                entry: entry.clone(),
            });
        }
    }

    /// Puts the journaled entries back into `queue`: at their index when the entry there has
    /// the same name and source, else at the entry with that name and source.
    ///
    /// # Errors
    /// [`AggregateError::JournalEntryMissing`] when no entry has the name and source.
    pub(crate) fn restore_entries(
        &mut self,
        queue: &mut Queue,
        journal: &Path,
    ) -> Result<(), AggregateError> {
        for before in &mut self.entries {
            let same =
                |e: &QueueEntry| e.name == before.entry.name && e.source == before.entry.source;
            let index = if queue.entries.get(before.index).is_some_and(same) {
                before.index
            } else {
                queue.entries.iter().position(same).ok_or_else(|| {
                    AggregateError::JournalEntryMissing {
                        path: journal.to_owned(),
                        name: before.entry.name.clone(),
                        package_id: before.entry.source.clone(),
                    }
                })?
            };
            queue.entries[index] = before.entry.clone();
            before.index = index;
        }
        Ok(())
    }

    /// The journal's bytes: one JSON document and a newline.
    ///
    /// # Errors
    /// A path that is not UTF-8 cannot be journaled (JSON strings are UTF-8).
    pub(crate) fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Reads the journal an interrupted `aggregate` of this batch left; `Ok(None)` when there is
/// none.
///
/// # Errors
/// [`AggregateError::JournalRead`], [`AggregateError::JournalCorrupt`], and
/// [`AggregateError::JournalOtherBatch`] when it belongs to another batch ID or plan time.
pub(crate) fn read(options: &Options) -> Result<Option<Before>, AggregateError> {
    let path = path_for(&options.queue);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(AggregateError::JournalRead { path, source }),
    };
    let before: Before =
        serde_json::from_slice(&bytes).map_err(|source| AggregateError::JournalCorrupt {
            path: path.clone(),
            source,
        })?;
    if before.version != 1 {
        return Err(AggregateError::JournalCorrupt {
            path,
            source: <serde_json::Error as serde::de::Error>::custom(format!(
                "unknown version {}",
                before.version
            )),
        });
    }
    if before.batch_id != options.batch_id || before.planned_at != options.planned_at {
        return Err(AggregateError::JournalOtherBatch {
            path,
            batch_id: before.batch_id,
            planned_at: before.planned_at.to_string(),
        });
    }
    Ok(Some(before))
}

/// Timestamps as RFC 3339 strings (jiff's `Display`, fraction kept; parsed back exactly).
mod rfc3339 {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(t)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
