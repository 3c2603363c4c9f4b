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
use super::parse::{self, parse_slice, parse_vec, strict};
use super::write;
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

/// What loading does when the queue file does not exist.
///
/// Go loads a missing file as an empty queue (spec §1.1 load rules), so a typo in `--queue`
/// ran an empty batch and created the misspelt file; here that is an error unless the caller
/// asks for an empty queue (issue #12, `--init-queue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingQueue {
    /// [`QueueError::Missing`].
    #[default]
    Error,
    /// An empty queue (`schema_version` 1, no entries), created by the first save.
    Empty,
}

/// What a JSON object that has no `entries` array looks like instead, so the error can say
/// which file was probably given (issue #12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookalike {
    /// A control file (spec §1.2): the first of its keys found (`circuit_breaker`, `enabled`,
    /// `disabled_ecosystems`).
    ControlFile {
        /// The key that gave it away.
        key: String,
    },
    /// The legacy per-ecosystem queue (a top-level `packages` array, spec §1.1.1).
    LegacyQueue,
    /// Something else: its top-level keys in file order (possibly none).
    Other {
        /// The keys found.
        keys: Vec<String>,
    },
}

impl Lookalike {
    /// Classifies a document by its top-level keys (in file order).
    fn classify(queue: &Queue) -> Self {
        let mut keys: Vec<String> = Vec::new();
        if queue.schema_version != 0 {
            keys.push("schema_version".into());
        }
        if queue.updated_at.is_some() {
            keys.push("updated_at".into());
        }
        keys.extend(queue.extra.keys().cloned());
        if let Some(key) = ["circuit_breaker", "enabled", "disabled_ecosystems"]
            .into_iter()
            .find(|k| queue.extra.contains_key(*k))
        {
            return Self::ControlFile { key: key.into() };
        }
        if queue.extra.contains_key("packages") {
            return Self::LegacyQueue;
        }
        Self::Other { keys }
    }
}

impl std::fmt::Display for Lookalike {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ControlFile { key } => {
                write!(f, "it looks like a control file (top-level `{key}`)")
            }
            Self::LegacyQueue => {
                f.write_str("it looks like the legacy per-ecosystem queue (top-level `packages`)")
            }
            Self::Other { keys } if keys.is_empty() => f.write_str("it is an empty object"),
            Self::Other { keys } => {
                let keys: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                write!(f, "its top-level keys are {}", keys.join(", "))
            }
        }
    }
}

/// Errors reading or writing the queue file.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The file does not exist and [`MissingQueue::Error`] was asked for (issue #12).
    #[error("queue `{path}` does not exist")]
    Missing {
        /// Queue path.
        path: PathBuf,
    },
    /// A JSON object without an `entries` key: not a queue (issue #12).
    #[error("`{path}` is not a queue: it has no `entries` array, and {looks_like}")]
    NotAQueue {
        /// The path given as the queue.
        path: PathBuf,
        /// What it looks like instead.
        looks_like: Lookalike,
    },
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
    /// Reads the queue at `path`; a missing file is an error.
    ///
    /// # Errors
    /// [`QueueError::Missing`], [`QueueError::Read`] when the file cannot be read,
    /// [`QueueError::Parse`] with line, column and key path when it is not valid queue JSON,
    /// [`QueueError::NotAQueue`] when it has no `entries` key.
    pub fn load(path: &Path) -> Result<Self, QueueError> {
        Self::load_with(path, MissingQueue::Error).map(|(q, _)| q)
    }

    /// [`Queue::load`], with `missing` deciding what a missing file is; the boolean says
    /// whether the file existed.
    ///
    /// # Errors
    /// As [`Queue::load`] ([`QueueError::Missing`] only with [`MissingQueue::Error`]).
    pub fn load_with(path: &Path, missing: MissingQueue) -> Result<(Self, bool), QueueError> {
        Self::load_inner(path, missing, false).map(|(q, existed, _)| (q, existed))
    }

    /// [`Queue::load_with`], plus the SHA-256 (hex) of the bytes parsed, so the hash names
    /// exactly the queue the caller works from, even when the file is replaced meanwhile
    /// (issue #6: fragments record the queue their shard started from). A missing file loaded
    /// as empty hashes as empty.
    ///
    /// # Errors
    /// As [`Queue::load_with`].
    pub fn load_hashed(
        path: &Path,
        missing: MissingQueue,
    ) -> Result<(Self, bool, String), QueueError> {
        Self::load_inner(path, missing, true)
    }

    fn load_inner(
        path: &Path,
        missing: MissingQueue,
        hash: bool,
    ) -> Result<(Self, bool, String), QueueError> {
        let digest = |bytes: &[u8]| {
            if hash {
                batch_base::sha256_hex(bytes)
            } else {
                String::new()
            }
        };
        match parse::read_file(path) {
            Ok(bytes) => {
                let sha = digest(&bytes);
                let parsed = parse_vec(bytes).map_err(|(key_path, source)| QueueError::Parse {
                    path: path.to_owned(),
                    line: source.line(),
                    column: source.column(),
                    key_path,
                    source,
                })?;
                if !parsed.has_entries {
                    return Err(QueueError::NotAQueue {
                        path: path.to_owned(),
                        looks_like: Lookalike::classify(&parsed.queue),
                    });
                }
                Ok((parsed.queue, true, sha))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match missing {
                MissingQueue::Error => Err(QueueError::Missing {
                    path: path.to_owned(),
                }),
                MissingQueue::Empty => Ok((
                    Queue {
                        schema_version: 1,
                        ..Default::default()
                    },
                    false,
                    digest(b""),
                )),
            },
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
    /// Malformed JSON, wrong types, non-RFC 3339 timestamps, a top level that is not an object,
    /// no `entries` key (serde's "missing field").
    pub fn from_slice(bytes: &[u8]) -> Result<Self, (String, serde_json::Error)> {
        strict(parse_slice(bytes)?)
    }

    /// [`Queue::from_slice`] for a buffer the queue may consume: a large file in the layout
    /// this crate writes is parsed on two threads (issue #5), with the same result.
    ///
    /// # Errors
    /// As [`Queue::from_slice`], with the same positions.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self, (String, serde_json::Error)> {
        strict(parse_vec(bytes)?)
    }

    /// Serialises with `updated_at` set to `now` (whole seconds, UTC; spec §1.1 save rules).
    pub fn to_bytes(&self, now: jiff::Timestamp) -> Vec<u8> {
        write::queue_bytes(self, &whole_seconds_utc(now))
    }

    /// Atomically replaces the file at `path` (creating its directory) with this queue and
    /// `updated_at = now`.
    ///
    /// # Errors
    /// [`QueueError::Write`] naming the path.
    pub fn save(&self, path: &Path, now: jiff::Timestamp) -> Result<(), QueueError> {
        let updated_at = whole_seconds_utc(now);
        fsutil::write_atomic_with(path, true, |w| write::write_queue(w, self, &updated_at)).map_err(
            |source| QueueError::Write {
                path: path.to_owned(),
                source,
            },
        )
    }
}
