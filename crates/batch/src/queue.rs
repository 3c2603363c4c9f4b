//! The unified priority queue (`data/queues/priority-queue.json`, spec §1.1): entries, load,
//! save and the entry validation rules.
//!
//! Loading keeps every key this crate does not know (Go drops them) and saving writes the
//! known keys in Go's order followed by the unknown ones, so a queue that is loaded and saved
//! unchanged keeps its bytes apart from `updated_at`. Selection lives in `select`, state
//! changes in `transition`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::fsutil;
use crate::jsonfmt;
use crate::timestamp::{Rfc3339, whole_seconds_utc};

/// Status of a queue entry (spec §1.1). Unknown strings are kept verbatim so an invalid
/// entry is saved unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Never tried, or requeued; a candidate.
    Pending,
    /// Generated and validated.
    Success,
    /// Failed; a candidate once its backoff has passed.
    Failed,
    /// Waiting on missing dependencies.
    Blocked,
    /// Needs a human.
    RequiresManual,
    /// Permanently excluded.
    Excluded,
    /// Any other string (fails validation; never selected).
    Other(String),
}

impl Status {
    /// The JSON spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Pending => "pending",
            Status::Success => "success",
            Status::Failed => "failed",
            Status::Blocked => "blocked",
            Status::RequiresManual => "requires_manual",
            Status::Excluded => "excluded",
            Status::Other(s) => s,
        }
    }

    /// Parses the JSON spelling; unknown strings become [`Status::Other`].
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Status::Pending,
            "success" => Status::Success,
            "failed" => Status::Failed,
            "blocked" => Status::Blocked,
            "requires_manual" => Status::RequiresManual,
            "excluded" => Status::Excluded,
            other => Status::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One queue entry (spec §1.1). All eight known fields are always written; keys this crate
/// does not know are kept in `extra` and written after them.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    /// Tool name; gives the recipe path `<output-dir>/<first char>/<name>.toml`.
    pub name: String,
    /// `ecosystem:identifier`, passed verbatim to `tsuku create --from`.
    pub source: String,
    /// 1 critical, 2 popular, 3 standard; a candidate only when `priority <= tier`.
    pub priority: i64,
    /// Lifecycle status.
    pub status: Status,
    /// `auto` or `curated`; informational.
    pub confidence: String,
    /// Informational freshness stamp, kept as written.
    pub disambiguated_at: Option<Rfc3339>,
    /// Consecutive failures recorded by the generator.
    pub failure_count: i64,
    /// Backoff gate: not selected (outside half-open probes) while this is later than now.
    pub next_retry_at: Option<Rfc3339>,
    /// Keys this crate does not know, in file order.
    pub extra: Map<String, Value>,
}

impl QueueEntry {
    /// A pending, auto-confidence entry with no history (handy for tests and tools).
    pub fn new(name: impl Into<String>, source: impl Into<String>, priority: i64) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
            priority,
            status: Status::Pending,
            confidence: "auto".into(),
            disambiguated_at: None,
            failure_count: 0,
            next_retry_at: None,
            extra: Map::new(),
        }
    }

    /// The ecosystem key: the part of `source` before the first `:`, or `""` when there is no
    /// colon (spec §0, §8.1 #36).
    pub fn ecosystem(&self) -> &str {
        ecosystem_of(&self.source)
    }

    /// The spec's `Validate` rules (§1.1) plus the recipe path-safety rule; one message per
    /// violation, empty when the entry is valid.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.check(|p| out.push(p.to_string()));
        out
    }

    /// Whether [`QueueEntry::problems`] would be empty, without allocating.
    pub fn is_valid(&self) -> bool {
        let mut ok = true;
        self.check(|_| ok = false);
        ok
    }

    fn check(&self, mut report: impl FnMut(Problem<'_>)) {
        if is_blank(&self.name) {
            report(Problem::EmptyName);
        } else if let Some(why) = unsafe_name_reason(&self.name) {
            report(Problem::UnsafeName(&self.name, why));
        }
        if is_blank(&self.source) {
            report(Problem::EmptySource);
        } else {
            let eco = self.ecosystem();
            let b = eco.as_bytes();
            if b.iter().any(|c| matches!(c, b'/' | b'\\')) || b.windows(2).any(|w| w == b"..") {
                report(Problem::Traversal(eco));
            }
            if has_control(eco) {
                report(Problem::ControlInEcosystem(eco));
            }
        }
        if !(1..=3).contains(&self.priority) {
            report(Problem::Priority(self.priority));
        }
        if let Status::Other(s) = &self.status {
            report(Problem::Status(s));
        }
        if !matches!(self.confidence.as_str(), "auto" | "curated") {
            report(Problem::Confidence(&self.confidence));
        }
        if self.failure_count < 0 {
            report(Problem::FailureCount(self.failure_count));
        }
    }
}

/// One broken validation rule, rendered with the spec's message fragments (§1.1).
enum Problem<'a> {
    EmptyName,
    UnsafeName(&'a str, &'static str),
    EmptySource,
    Traversal(&'a str),
    ControlInEcosystem(&'a str),
    Priority(i64),
    Status(&'a str),
    Confidence(&'a str),
    FailureCount(i64),
}

impl fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::EmptyName => f.write_str("name must not be empty"),
            Problem::UnsafeName(name, why) => write!(
                f,
                "name {name:?} would put the recipe outside the output directory ({why})"
            ),
            Problem::EmptySource => f.write_str("source must not be empty"),
            Problem::Traversal(eco) => {
                write!(
                    f,
                    "ecosystem prefix {eco:?} contains path traversal characters"
                )
            }
            Problem::ControlInEcosystem(eco) => {
                write!(f, "ecosystem prefix {eco:?} contains control characters")
            }
            Problem::Priority(p) => write!(f, "priority must be 1, 2, or 3, got {p}"),
            Problem::Status(s) => write!(f, "invalid status {s:?}"),
            Problem::Confidence(c) => write!(f, "invalid confidence {c:?}"),
            Problem::FailureCount(n) => write!(f, "failure_count must not be negative, got {n}"),
        }
    }
}

/// The ecosystem of a `source` string: text before the first `:`, `""` without a colon.
pub fn ecosystem_of(source: &str) -> &str {
    source.split_once(':').map_or("", |(eco, _)| eco)
}

/// Why a name cannot be turned into a recipe path inside the output directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeName {
    /// Absolute path, `..`/`.`/empty component, backslash, NUL or control character.
    #[error("name {name:?} would put the recipe outside the output directory ({why})")]
    Escapes {
        /// The offending name.
        name: String,
        /// Which rule it broke.
        why: &'static str,
    },
}

/// The recipe path relative to `--output-dir`: `<first char, lowercased>/<name>.toml`
/// (spec §4.1 step 3). `/` inside a name nests directories (homebrew taps such as
/// `owner/tap/tool`).
///
/// # Errors
/// [`UnsafeName`] when the name is absolute, has an empty, `.` or `..` component, or contains
/// a backslash, NUL or other control character, or starts with `.` (issue #3 "bad input").
pub fn recipe_relative_path(name: &str) -> Result<PathBuf, UnsafeName> {
    if let Some(why) = unsafe_name_reason(name) {
        return Err(UnsafeName::Escapes {
            name: name.to_owned(),
            why,
        });
    }
    let first = name.chars().next().expect("a safe name is not empty");
    let dir: String = first.to_lowercase().collect();
    let mut path = PathBuf::from(dir);
    path.push(format!("{name}.toml"));
    Ok(path)
}

/// Why `name` is not a safe recipe path, or `None` when it is (no allocation).
fn unsafe_name_reason(name: &str) -> Option<&'static str> {
    // One pass over the bytes: this runs for every entry of the queue on every selection.
    let b = name.as_bytes();
    match b.first() {
        None => return Some("empty name"),
        Some(b'/') => return Some("absolute path"),
        _ => {}
    }
    // Branch-free prefilter (vectorises): most names have no backslash, control byte, `.` or
    // `//` and need no closer look.
    let suspicious = b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == 0x7f) | (c == b'\\') | (c == b'.') | (c == 0xC2)
    });
    if !suspicious && !b.ends_with(b"/") && !b.windows(2).any(|w| w == b"//") {
        return None;
    }
    let mut reason = None;
    let mut component_start = 0;
    for i in 0..=b.len() {
        match b.get(i).copied().unwrap_or(b'/') {
            b'/' => {
                if matches!(&b[component_start..i], b"" | b"." | b"..") {
                    reason = reason.or(Some("empty, `.` or `..` path component"));
                }
                component_start = i + 1;
            }
            b'\\' => return Some("backslash"),
            c if has_control_at(b, i, c) => return Some("NUL or control character"),
            _ => {}
        }
    }
    reason.or((b[0] == b'.').then_some("leading `.`"))
}

/// Whether a Unicode control character (`char::is_control`: U+0000–U+001F, U+007F–U+009F)
/// starts at byte `i`, whose value is `c`.
fn has_control_at(b: &[u8], i: usize, c: u8) -> bool {
    c < 0x20 || c == 0x7f || (c == 0xC2 && matches!(b.get(i + 1), Some(0x80..=0x9F)))
}

fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    let maybe = b.iter().fold(false, |acc, &c| {
        acc | (c < 0x20) | (c == 0x7f) | (c == 0xC2)
    });
    maybe && b.iter().enumerate().any(|(i, &c)| has_control_at(b, i, c))
}

/// `s.trim().is_empty()`, with a fast path for the usual non-blank ASCII ends.
fn is_blank(s: &str) -> bool {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(f), Some(l)) if f.is_ascii_graphic() || l.is_ascii_graphic() => false,
        _ => s.trim().is_empty(),
    }
}

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
                crate::fsutil::sha256_hex(bytes)
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

    #[cfg(test)]
    fn from_slice_sequential(bytes: &[u8]) -> Result<Self, (String, serde_json::Error)> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let queue: Queue = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| (e.path().to_string(), e.into_inner()))?;
        de.end().map_err(|e| (String::new(), e))?;
        Ok(queue)
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
const PARALLEL_MIN_BYTES: usize = 8 << 20;

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
fn parse_halves(mut bytes: Vec<u8>) -> Result<Queue, Vec<u8>> {
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

struct QueueOut<'a> {
    queue: &'a Queue,
    updated_at: String,
}

impl Serialize for QueueOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let q = self.queue;
        let mut m = s.serialize_map(Some(3 + q.extra.len()))?;
        m.serialize_entry("schema_version", &q.schema_version)?;
        m.serialize_entry("updated_at", &self.updated_at)?;
        m.serialize_entry("entries", &q.entries)?;
        for (k, v) in &q.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for QueueEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(8 + self.extra.len()))?;
        m.serialize_entry("name", &self.name)?;
        m.serialize_entry("source", &self.source)?;
        m.serialize_entry("priority", &self.priority)?;
        m.serialize_entry("status", self.status.as_str())?;
        m.serialize_entry("confidence", &self.confidence)?;
        m.serialize_entry("disambiguated_at", &self.disambiguated_at)?;
        m.serialize_entry("failure_count", &self.failure_count)?;
        m.serialize_entry("next_retry_at", &self.next_retry_at)?;
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for QueueEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

/// An entry key, recognised without allocating (1M-entry queues, issue #5).
enum Key {
    Name,
    Source,
    Priority,
    Status,
    Confidence,
    DisambiguatedAt,
    FailureCount,
    NextRetryAt,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "name" => Key::Name,
                    "source" => Key::Source,
                    "priority" => Key::Priority,
                    "status" => Key::Status,
                    "confidence" => Key::Confidence,
                    "disambiguated_at" => Key::DisambiguatedAt,
                    "failure_count" => Key::FailureCount,
                    "next_retry_at" => Key::NextRetryAt,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// A status parsed from the borrowed string (allocates only for unknown statuses).
struct StatusDe(Status);

impl<'de> Deserialize<'de> for StatusDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StatusDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusDe, E> {
                Ok(StatusDe(Status::parse(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An optional RFC 3339 timestamp parsed from the borrowed string.
struct TimeDe(Option<Rfc3339>);

impl<'de> Deserialize<'de> for TimeDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeDe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<TimeDe, E> {
                Ok(TimeDe(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<TimeDe, E> {
                Ok(TimeDe(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<TimeDe, D::Error> {
                d.deserialize_str(self)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeDe, E> {
                v.parse().map(|t| TimeDe(Some(t))).map_err(E::custom)
            }
        }
        d.deserialize_option(V)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = QueueEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a queue entry object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<QueueEntry, A::Error> {
        // Missing keys take Go's zero values; an entry left empty that way fails validation
        // and is reported, not run. Duplicate keys: the last one wins, as in Go.
        let mut e = QueueEntry {
            name: String::new(),
            source: String::new(),
            priority: 0,
            status: Status::Other(String::new()),
            confidence: String::new(),
            disambiguated_at: None,
            failure_count: 0,
            next_retry_at: None,
            extra: Map::new(),
        };
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Name => e.name = map.next_value()?,
                Key::Source => e.source = map.next_value()?,
                Key::Priority => e.priority = map.next_value()?,
                Key::Status => e.status = map.next_value::<StatusDe>()?.0,
                Key::Confidence => e.confidence = map.next_value()?,
                Key::DisambiguatedAt => e.disambiguated_at = map.next_value::<TimeDe>()?.0,
                Key::FailureCount => e.failure_count = map.next_value()?,
                Key::NextRetryAt => e.next_retry_at = map.next_value::<TimeDe>()?.0,
                Key::Other(k) => {
                    let v: Value = map.next_value()?;
                    e.extra.insert(k, v);
                }
            }
        }
        Ok(e)
    }
}

impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(QueueVisitor)
    }
}

struct QueueVisitor;

struct Entries(Vec<QueueEntry>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of queue entries or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Entries, E> {
                Ok(Entries(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(e) = seq.next_element()? {
                    out.push(e);
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for QueueVisitor {
    type Value = Queue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a queue object with `entries`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Queue, A::Error> {
        let mut q = Queue {
            schema_version: 0,
            ..Default::default()
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => q.schema_version = map.next_value()?,
                "updated_at" => q.updated_at = map.next_value()?,
                "entries" => q.entries = map.next_value::<Entries>()?.0,
                _ => {
                    let v: Value = map.next_value()?;
                    q.extra.insert(key, v);
                }
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"{
  "schema_version": 1,
  "updated_at": "2026-08-13T20:39:55Z",
  "entries": [
    {
      "name": "ripgrep",
      "source": "cargo:ripgrep",
      "priority": 1,
      "status": "pending",
      "confidence": "auto",
      "disambiguated_at": "2026-02-15T00:00:00Z",
      "failure_count": 0,
      "next_retry_at": null
    },
    {
      "name": "bat",
      "source": "github:sharkdp/bat",
      "priority": 1,
      "status": "failed",
      "confidence": "curated",
      "disambiguated_at": null,
      "failure_count": 2,
      "next_retry_at": "2026-02-16T12:00:00Z",
      "x_note": {"kept": [1, 2]}
    }
  ],
  "x_top": "kept"
}
"#;

    fn now() -> jiff::Timestamp {
        "2026-08-13T20:39:55Z".parse().unwrap()
    }

    #[test]
    fn round_trip_is_byte_identical_and_keeps_unknown_keys() {
        let q = Queue::from_slice(TWO.as_bytes()).unwrap();
        assert_eq!(q.entries[1].extra["x_note"]["kept"][1], 2);
        assert_eq!(q.extra["x_top"], "kept");
        let out = String::from_utf8(q.to_bytes(now())).unwrap();
        let expected = TWO.replace(
            "{\"kept\": [1, 2]}",
            "{\n        \"kept\": [\n          1,\n          2\n        ]\n      }",
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn updated_at_is_replaced_with_whole_seconds() {
        let q = Queue::from_slice(TWO.as_bytes()).unwrap();
        let out =
            String::from_utf8(q.to_bytes("2030-01-02T03:04:05.678Z".parse().unwrap())).unwrap();
        assert!(out.contains("\"updated_at\": \"2030-01-02T03:04:05Z\""));
    }

    #[test]
    fn parse_errors_carry_position_and_key_path() {
        let bad = r#"{"entries":[{"name":"a"},{"name":"b","priority":"1"}]}"#;
        let (path, err) = Queue::from_slice(bad.as_bytes()).unwrap_err();
        assert_eq!(path, "entries[1].priority");
        assert_eq!(err.line(), 1);
        assert!(err.column() > 30, "column {}", err.column());
        for bad in [
            r#"{"entries":[{"priority":1.5}]}"#,
            r#"{"entries":[{"next_retry_at":""}]}"#,
            r#"{"entries":[{"failure_count":99999999999999999999}]}"#,
            r#"{"entries":{}}"#,
            r#"[]"#,
            "{\"entries\":[]} trailing",
        ] {
            assert!(Queue::from_slice(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert!(
            Queue::from_slice(b"{\"entries\":[{\"name\":\"\xff\"}]}").is_err(),
            "invalid UTF-8"
        );
    }

    #[test]
    fn null_or_missing_entries_is_empty() {
        assert!(
            Queue::from_slice(br#"{"entries":null}"#)
                .unwrap()
                .entries
                .is_empty()
        );
        assert!(
            Queue::from_slice(br#"{"schema_version":1}"#)
                .unwrap()
                .entries
                .is_empty()
        );
    }

    #[test]
    fn duplicate_keys_last_wins() {
        let q = Queue::from_slice(br#"{"entries":[{"name":"a","name":"b"}]}"#).unwrap();
        assert_eq!(q.entries[0].name, "b");
    }

    #[test]
    fn validation_reports_every_violation() {
        let e = QueueEntry {
            name: "   ".into(),
            source: "".into(),
            priority: 4,
            status: Status::Other("in_progress".into()),
            confidence: "manual".into(),
            failure_count: -1,
            ..QueueEntry::new("x", "y:z", 1)
        };
        let p = e.problems().join("; ");
        for frag in [
            "name must not be empty",
            "source must not be empty",
            "priority must be 1, 2, or 3, got 4",
            "invalid status \"in_progress\"",
            "invalid confidence \"manual\"",
            "failure_count must not be negative, got -1",
        ] {
            assert!(p.contains(frag), "{p} lacks {frag}");
        }
        assert!(
            QueueEntry::new("ripgrep", "cargo:ripgrep", 3)
                .problems()
                .is_empty()
        );
    }

    #[test]
    fn traversal_in_ecosystem_prefix() {
        for src in [
            "../../etc:exploit",
            "foo\\bar:exploit",
            "..cargo:exploit",
            "home/brew:exploit",
        ] {
            let p = QueueEntry::new("x", src, 1).problems().join(";");
            assert!(p.contains("path traversal"), "{src}: {p}");
        }
    }

    #[test]
    fn recipe_paths() {
        assert_eq!(
            recipe_relative_path("ripgrep").unwrap(),
            PathBuf::from("r/ripgrep.toml")
        );
        assert_eq!(
            recipe_relative_path("Bat").unwrap(),
            PathBuf::from("b/Bat.toml")
        );
        assert_eq!(
            recipe_relative_path("anomalyco/tap/opencode").unwrap(),
            PathBuf::from("a/anomalyco/tap/opencode.toml")
        );
        assert_eq!(
            recipe_relative_path("openssl@3").unwrap(),
            PathBuf::from("o/openssl@3.toml")
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "a\\b",
            "a\0b",
            "a\nb",
            ".hidden",
            "a/./b",
            "a/",
        ] {
            assert!(recipe_relative_path(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        /// The byte-level fast checks agree with the `char` definitions they replace.
        #[test]
        fn fast_checks_match_char_definitions(s in proptest::prelude::any::<String>(), t in "[ \\t\\x{85}\\x{a0}a/.\\\\\\x{9f}]{0,6}") {
            for x in [&s, &t] {
                proptest::prop_assert_eq!(has_control(x), x.contains(|c: char| c.is_control()));
                proptest::prop_assert_eq!(is_blank(x), x.trim().is_empty());
            }
        }
    }

    #[test]
    fn parsing_in_halves_equals_parsing_in_one_go() {
        // Big enough to take the two-thread path, with unknown keys before and after
        // `entries` and inside entries.
        let mut q = Queue::from_slice(TWO.as_bytes()).unwrap();
        let template = q.entries.clone();
        q.entries = (0..40_000)
            .map(|i| {
                let mut e = template[i % 2].clone();
                e.name = format!("{}-{i}", e.name);
                e
            })
            .collect();
        q.extra
            .insert("z_after".into(), serde_json::json!({"k": [1, 2]}));
        let bytes = q.to_bytes(now());
        assert!(bytes.len() >= PARALLEL_MIN_BYTES, "{} bytes", bytes.len());
        let halves = parse_halves(bytes.clone()).expect("the pretty layout splits");
        let whole = Queue::from_slice_sequential(&bytes).unwrap();
        assert_eq!(halves, whole);
        assert_eq!(halves.entries.len(), 40_000);
        assert_eq!(halves.to_bytes(now()), bytes);
        // A file that does not have the layout, or an error in either half, falls back to
        // the sequential parse and its exact error position.
        let mut broken = bytes.clone();
        let quarter = broken.len() * 3 / 4;
        // The start of a line, so the garbage does not change the line count.
        let at = quarter + broken[quarter..].iter().position(|b| *b == b'\n').unwrap() + 1;
        broken[at..at + 6].copy_from_slice(b"!!!!!!");
        assert_eq!(
            parse_halves(broken.clone()).unwrap_err(),
            broken,
            "restored on failure"
        );
        let (_, err) = Queue::from_vec(broken).unwrap_err();
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        assert_eq!(err.line(), line);
        let compact =
            serde_json::to_vec(&serde_json::from_slice::<Value>(&bytes).unwrap()).unwrap();
        assert!(parse_halves(compact.clone()).is_err());
        assert_eq!(Queue::from_vec(compact).unwrap(), whole);
    }

    #[test]
    fn ecosystems() {
        assert_eq!(ecosystem_of("cargo:ripgrep"), "cargo");
        assert_eq!(ecosystem_of("github:sharkdp/bat"), "github");
        assert_eq!(ecosystem_of("noseparator"), "");
        assert_eq!(ecosystem_of("homebrew:a:b"), "homebrew");
    }
}
