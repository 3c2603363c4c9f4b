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
use super::wire::Parsed;
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
        match std::fs::read(path) {
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

/// Parses a document that may lack `entries` (the caller decides what that means).
///
/// The key path costs a wrapper around every value, so it is tracked only to report an error:
/// a document that parses is parsed once without it; one that does not is parsed again with
/// `serde_path_to_error`, which fails at the same place with the same error, plus the path.
///
/// The first parse reads the buffer as `str`: one UTF-8 check of the whole buffer costs less
/// than serde_json's check of each string it reads from a byte slice (issue #14). A buffer
/// that is not UTF-8 goes straight to the second parse, whose error gives the position.
fn parse_slice(bytes: &[u8]) -> Result<Parsed, (String, serde_json::Error)> {
    if let Ok(parsed) = std::str::from_utf8(bytes)
        .map_err(|_| ())
        .and_then(|text| serde_json::from_str::<Parsed>(text).map_err(|_| ()))
    {
        return Ok(parsed);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed: Parsed = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))?;
    de.end().map_err(|e| (String::new(), e))?;
    Ok(parsed)
}

/// [`parse_slice`], on two threads for a large file (issue #5).
fn parse_vec(bytes: Vec<u8>) -> Result<Parsed, (String, serde_json::Error)> {
    if bytes.len() < PARALLEL_MIN_BYTES {
        return parse_slice(&bytes);
    }
    match parse_halves(bytes) {
        Ok(queue) => Ok(Parsed {
            queue,
            has_entries: true,
        }),
        Err(bytes) => parse_slice(&bytes),
    }
}

/// A parsed document as a queue: no `entries` key is serde's "missing field" error.
fn strict(parsed: Parsed) -> Result<Queue, (String, serde_json::Error)> {
    if !parsed.has_entries {
        return Err((
            String::new(),
            <serde_json::Error as serde::de::Error>::missing_field("entries"),
        ));
    }
    Ok(parsed.queue)
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
