//! The queue file (`data/queues/priority-queue.json`, spec §1.1): [`Queue`], load (with the
//! two-thread parse of large files, issue #5) and atomic save.
//!
//! Loading keeps every key this crate does not know (Go drops them) and saving writes the
//! known keys in Go's order followed by the unknown ones, so a queue that is loaded and saved
//! unchanged keeps its bytes apart from `updated_at`. The serde code is in `wire`.

use std::path::{Path, PathBuf};

use batch_base::fs as fsutil;
use serde_json::{Map, Value};

use super::entry::QueueEntry;
use super::wire::QueueOut;
use crate::records::jsonfmt;
use crate::records::timestamp::whole_seconds_utc;

/// The unified queue file (spec §1.1).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Queue {
    /// Written back as read (tools write 1).
    pub schema_version: i64,
    /// `updated_at` as read; replaced on every save.
    pub updated_at: Option<String>,
    /// Entries in file order, which is selection order.
    pub entries: Vec<QueueEntry>,
    /// Top-level keys this crate does not know.
    pub extra: Map<String, Value>,
}

/// Errors reading or writing the queue file.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The file exists but cannot be read.
    #[error("failed to read queue `{path}`")]
    Read {
        /// Queue path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Malformed JSON, a wrong type or a bad timestamp.
    #[error("failed to parse queue `{path}` at line {line}, column {column} (at `{key_path}`)")]
    Parse {
        /// Queue path.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// JSON path such as `entries[12].priority`.
        key_path: String,
        /// Underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing the file failed.
    #[error("failed to write queue `{path}`")]
    Write {
        /// Queue path.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Queue {
    /// Reads the queue at `path`. A missing file is an empty queue (spec §1.1 load rules);
    /// the boolean says whether the file existed.
    ///
    /// # Errors
    /// [`QueueError::Read`] when the file exists but cannot be read, [`QueueError::Parse`]
    /// with line, column and key path when it is not a valid queue.
    pub fn load(path: &Path) -> Result<(Self, bool), QueueError> {
        Self::load_inner(path, false).map(|(q, existed, _)| (q, existed))
    }

    /// [`Queue::load`], plus the SHA-256 (hex) of the bytes parsed, so the hash names exactly
    /// the queue the caller works from, even when the file is replaced meanwhile (issue #6:
    /// fragments record the queue their shard started from). A missing file hashes as empty.
    ///
    /// # Errors
    /// As [`Queue::load`].
    pub fn load_hashed(path: &Path) -> Result<(Self, bool, String), QueueError> {
        Self::load_inner(path, true)
    }

    fn load_inner(path: &Path, hash: bool) -> Result<(Self, bool, String), QueueError> {
        let digest = |bytes: &[u8]| {
            if hash {
                batch_base::sha256_hex(bytes)
            } else {
                String::new()
            }
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let sha = digest(&bytes);
                Self::from_vec(bytes)
                    .map(|q| (q, true, sha))
                    .map_err(|(key_path, source)| QueueError::Parse {
                        path: path.to_owned(),
                        line: source.line(),
                        column: source.column(),
                        key_path,
                        source,
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((
                Queue {
                    schema_version: 1,
                    ..Default::default()
                },
                false,
                digest(b""),
            )),
            Err(source) => Err(QueueError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses queue JSON; on error returns the JSON key path and the serde_json error (which
    /// carries line and column).
    ///
    /// # Errors
    /// Malformed JSON, wrong types, non-RFC 3339 timestamps, a top level that is not an object.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, (String, serde_json::Error)> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let queue: Queue = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| (e.path().to_string(), e.into_inner()))?;
        de.end().map_err(|e| (String::new(), e))?;
        Ok(queue)
    }

    /// [`Queue::from_slice`] for a buffer the queue may consume: a large file in the layout
    /// this crate writes is parsed on two threads (issue #5), with the same result.
    ///
    /// # Errors
    /// As [`Queue::from_slice`], with the same positions.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, (String, serde_json::Error)> {
        if bytes.len() < PARALLEL_MIN_BYTES {
            return Self::from_slice(&bytes);
        }
        match parse_halves(bytes) {
            Ok(q) => Ok(q),
            Err(bytes) => Self::from_slice(&bytes),
        }
    }

    /// Serialises with `updated_at` set to `now` (whole seconds, UTC; spec §1.1 save rules).
    pub fn to_bytes(&self, now: jiff::Timestamp) -> Vec<u8> {
        let q = QueueOut {
            queue: self,
            updated_at: whole_seconds_utc(now),
        };
        jsonfmt::to_pretty(&q).expect("queue serialisation cannot fail")
    }

    /// Atomically replaces the file at `path` (creating its directory) with this queue and
    /// `updated_at = now`.
    ///
    /// # Errors
    /// [`QueueError::Write`] naming the path.
    pub fn save(&self, path: &Path, now: jiff::Timestamp) -> Result<(), QueueError> {
        let q = QueueOut {
            queue: self,
            updated_at: whole_seconds_utc(now),
        };
        fsutil::write_atomic_with(path, true, |w| jsonfmt::write_pretty(w, &q)).map_err(|source| {
            QueueError::Write {
                path: path.to_owned(),
                source,
            }
        })
    }
}

/// Below this size one thread parses the whole file.
pub(super) const PARALLEL_MIN_BYTES: usize = 8 << 20;

/// The separator between two entries in the layout this crate (and Go) writes: entries are
/// objects at 4 spaces of indentation. A raw newline cannot occur inside a JSON string, so the
/// pattern only matches between entries.
const ENTRY_SEPARATOR: &[u8] = b"\n    },\n    {\n";

/// Parses a large queue on two threads by splitting the `entries` array at an entry boundary
/// (issue #5). The tail is copied out behind a `{"entries":[` prefix; the head is parsed in
/// place, closed by a `]}` written over the `,\n` between the two entries. The split sits at
/// 60 % of the file so the copy, the only extra memory, is 40 % of it, while the two threads
/// stay close to balanced. Gives the buffer back, restored, when the file does not have the
/// pretty layout or either half fails to parse; the caller then parses sequentially, which
/// also gives exact error positions.
pub(super) fn parse_halves(mut bytes: Vec<u8>) -> Result<Queue, Vec<u8>> {
    let from = bytes.len() / 5 * 3;
    let Some(offset) = bytes[from..]
        .windows(ENTRY_SEPARATOR.len())
        .position(|w| w == ENTRY_SEPARATOR)
    else {
        return Err(bytes);
    };
    let sep = from + offset;
    let head_end = sep + "\n    }".len();
    let tail_start = sep + "\n    },\n".len();
    let mut tail = Vec::with_capacity(bytes.len() - tail_start + 12);
    tail.extend_from_slice(b"{\"entries\":[");
    tail.extend_from_slice(&bytes[tail_start..]);
    bytes[head_end..tail_start].copy_from_slice(b"]}");
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| Queue::from_slice(&tail).ok());
        let a = Queue::from_slice(&bytes[..tail_start]).ok();
        (a, b.join().ok().flatten())
    });
    match (a, b) {
        // The tail must hold nothing but entries and the keys after them.
        (Some(mut a), Some(b))
            if !a.entries.is_empty() && b.schema_version == 0 && b.updated_at.is_none() =>
        {
            // Free both buffers before the entry vectors are merged (peak memory).
            drop(tail);
            drop(bytes);
            a.entries.extend(b.entries);
            for (k, v) in b.extra {
                a.extra.insert(k, v);
            }
            Ok(a)
        }
        _ => {
            bytes[head_end..tail_start].copy_from_slice(b",\n");
            Err(bytes)
        }
    }
}
