//! The queue's wire format: hand-written serde for [`Queue`] and [`QueueEntry`] that keeps
//! unknown keys, writes known keys in Go's order and parses keys, statuses and timestamps
//! without allocating (issue #5).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::entry::{QueueEntry, Status};
use super::file::Queue;
use crate::records::timestamp::Rfc3339;

/// The file as it is saved: the known keys in Go's order with `updated_at` replaced, then the
/// unknown top-level keys.
pub(super) struct QueueOut<'a> {
    pub(super) queue: &'a Queue,
    pub(super) updated_at: String,
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

/// An entry key, recognised without allocating (issue #5).
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
            extra: serde_json::Map::new(),
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

/// A queue as parsed, and whether the document had an `entries` key (a missing key is an
/// error at the file level, where the path and the document's look are known; issue #12).
pub(super) struct Parsed {
    pub(super) queue: Queue,
    pub(super) has_entries: bool,
}

impl<'de> Deserialize<'de> for Parsed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(QueueVisitor)
    }
}

/// Strict: a document without an `entries` key is serde's "missing field `entries`" error.
impl<'de> Deserialize<'de> for Queue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parsed = Parsed::deserialize(d)?;
        if !parsed.has_entries {
            return Err(de::Error::missing_field("entries"));
        }
        Ok(parsed.queue)
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
    type Value = Parsed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a queue object with `entries`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut q = Queue {
            schema_version: 0,
            ..Default::default()
        };
        let mut has_entries = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "schema_version" => q.schema_version = map.next_value()?,
                "updated_at" => q.updated_at = map.next_value()?,
                "entries" => {
                    // `null` is Go's empty list (spec §1.1), so it counts as present.
                    q.entries = map.next_value::<Entries>()?.0;
                    has_entries = true;
                }
                _ => {
                    let v: Value = map.next_value()?;
                    q.extra.insert(key, v);
                }
            }
        }
        Ok(Parsed {
            queue: q,
            has_entries,
        })
    }
}
