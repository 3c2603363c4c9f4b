//! The queue file (`data/queues/priority-queue.json`, spec §1.1): [`Queue`], load and atomic
//! save.
//!
//! Loading keeps every key this crate does not know (Go drops them) and saving writes the
//! known keys in Go's order followed by the unknown ones, so a queue that is loaded and saved
//! unchanged keeps its bytes apart from `updated_at`. The serde code is in `wire`.

use std::path::{Path, PathBuf};

use batch_base::fs as fsutil;
use serde_json::{Map, Value};

use super::entry::QueueEntry;
use super::wire::{Parsed, QueueOut};
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

/// Queue JSON that does not parse: where, and serde_json's error (which carries the line and
/// column).
#[derive(Debug, thiserror::Error)]
#[error("invalid queue JSON at line {}, column {} (at `{key_path}`)", .source.line(), .source.column())]
pub struct QueueParseError {
    /// JSON path such as `entries[12].priority`; empty when the document as a whole is wrong
    /// (trailing characters, no `entries` key).
    pub key_path: String,
    /// The parser's error.
    #[source]
    pub source: serde_json::Error,
}

impl QueueParseError {
    /// 1-based line of the error.
    pub fn line(&self) -> usize {
        self.source.line()
    }

    /// 1-based column of the error.
    pub fn column(&self) -> usize {
        self.source.column()
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
        match std::fs::read(path) {
            Ok(bytes) => {
                let sha = digest(&bytes);
                let parsed = parse_document(&bytes).map_err(|e| QueueError::Parse {
                    path: path.to_owned(),
                    line: e.line(),
                    column: e.column(),
                    key_path: e.key_path,
                    source: e.source,
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

    /// Parses queue JSON.
    ///
    /// # Errors
    /// [`QueueParseError`] with the key path, line and column for malformed JSON, wrong types,
    /// non-RFC 3339 timestamps, a top level that is not an object, or no `entries` key
    /// (serde's "missing field").
    pub fn from_slice(bytes: &[u8]) -> Result<Self, QueueParseError> {
        let parsed = parse_document(bytes)?;
        if !parsed.has_entries {
            return Err(QueueParseError {
                key_path: String::new(),
                source: <serde_json::Error as serde::de::Error>::missing_field("entries"),
            });
        }
        Ok(parsed.queue)
    }

    /// Serialises with `updated_at` set to `now` (whole seconds, UTC; spec §1.1 save rules),
    /// as Go's `json.MarshalIndent(v, "", "  ")` plus a newline ([`jsonfmt`], spec §1.10).
    pub fn to_bytes(&self, now: jiff::Timestamp) -> Vec<u8> {
        jsonfmt::to_pretty(&self.out(now)).expect("a queue always serialises")
    }

    /// What [`Queue::save`] writes.
    fn out(&self, now: jiff::Timestamp) -> QueueOut<'_> {
        QueueOut {
            queue: self,
            updated_at: whole_seconds_utc(now),
        }
    }

    /// Atomically replaces the file at `path` (creating its directory) with this queue and
    /// `updated_at = now`.
    ///
    /// # Errors
    /// [`QueueError::Write`] naming the path.
    pub fn save(&self, path: &Path, now: jiff::Timestamp) -> Result<(), QueueError> {
        let out = self.out(now);
        fsutil::write_atomic_with(path, true, |w| jsonfmt::write_pretty(w, &out)).map_err(
            |source| QueueError::Write {
                path: path.to_owned(),
                source,
            },
        )
    }
}

/// Parses a document that may lack `entries` (the caller decides what that means).
///
/// The key path costs a wrapper around every value, so it is tracked only to report an error:
/// a document that parses is parsed once without it; one that does not is parsed again with
/// `serde_path_to_error`, which fails at the same place with the same error, plus the path.
/// The first parse reads the buffer as `str`: one UTF-8 check of the whole buffer costs less
/// than serde_json's check of each string it reads from a byte slice.
fn parse_document(bytes: &[u8]) -> Result<Parsed, QueueParseError> {
    if let Some(parsed) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
    {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Parsed =
        serde_path_to_error::deserialize(&mut de).map_err(|e| QueueParseError {
            key_path: e.path().to_string(),
            source: e.into_inner(),
        })?;
    de.end().map_err(|source| QueueParseError {
        key_path: String::new(),
        source,
    })?;
    Ok(parsed)
}
