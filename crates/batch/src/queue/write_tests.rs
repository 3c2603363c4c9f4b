//! The hand-written writer against serde's rendering of the same queue (`wire::QueueOut`
//! through `jsonfmt::to_pretty`), which is the format's definition in this crate.

use std::io::{self, Write};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::*;
use crate::queue::Status;
use crate::queue::wire::QueueOut;

fn reference(queue: &Queue, updated_at: &str) -> Vec<u8> {
    jsonfmt::to_pretty(&QueueOut {
        queue,
        updated_at: updated_at.to_owned(),
    })
    .unwrap()
}

fn assert_same(queue: &Queue, updated_at: &str) {
    let ours = queue_bytes(queue, updated_at);
    let theirs = reference(queue, updated_at);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    assert_eq!(ours, theirs);
}

/// Strings with everything that needs escaping, by either serde_json or Go.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9@/._-]{0,12}",
        "[\\x00-\\x1f\"\\\\<>&\u{7f}\u{2028}\u{2029}\u{2027}\u{202a}\u{e2}é€ab]{0,10}",
        any::<String>(),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<Rfc3339>> {
    let instant = (
        -62_135_596_800i64..253_402_214_399,
        0i32..1_000_000_000,
        0u8..3,
    )
        .prop_map(|(s, n, whole)| {
            // A third of them whole seconds, as Go writes most of them.
            let n = if whole == 0 { 0 } else { n };
            jiff::Timestamp::new(s, n).unwrap()
        });
    let offset = prop_oneof![Just(0i32), (-1439i32..=1439).prop_map(|m| m * 60)];
    proptest::option::of((instant, offset).prop_map(|(t, off)| {
        let text = jiff::tz::Offset::from_seconds(off)
            .unwrap()
            .to_datetime(t)
            .to_string();
        let sign = if off < 0 { '-' } else { '+' };
        let abs = off.unsigned_abs();
        let stamp = if off == 0 {
            format!("{text}Z")
        } else {
            format!("{text}{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
        };
        stamp.parse::<Rfc3339>().unwrap()
    }))
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn extra() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![
        3 => Just(Map::new()),
        1 => proptest::collection::vec((text(), value()), 0..3)
            .prop_map(|kv| kv.into_iter().collect()),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Pending),
        Just(Status::Success),
        Just(Status::Failed),
        Just(Status::Blocked),
        Just(Status::RequiresManual),
        Just(Status::Excluded),
        text().prop_map(Status::Other),
    ]
}

fn entry() -> impl Strategy<Value = QueueEntry> {
    (
        (text(), text(), any::<i64>(), status(), text()),
        (timestamp(), any::<i64>(), timestamp(), extra()),
    )
        .prop_map(
            |((name, source, priority, status, confidence), (d, failure_count, n, extra))| {
                QueueEntry {
                    name,
                    source,
                    priority,
                    status,
                    confidence,
                    disambiguated_at: d,
                    failure_count,
                    next_retry_at: n,
                    extra: extra.into(),
                }
            },
        )
}

proptest! {
    #[test]
    fn same_bytes_as_serde(
        schema_version in any::<i64>(),
        entries in proptest::collection::vec(entry(), 0..6),
        extra in extra(),
        updated_at in text(),
    ) {
        let queue = Queue { schema_version, updated_at: None, entries, extra };
        prop_assert_eq!(queue_bytes(&queue, &updated_at), reference(&queue, &updated_at));
    }
}

#[test]
fn empty_queue_and_nested_unknown_keys() {
    let mut q = Queue {
        schema_version: 1,
        ..Queue::default()
    };
    assert_same(&q, "2026-12-01T00:00:00Z");
    let mut e = QueueEntry::new("a<b>&\u{2028}", "homebrew:\"x\"\n", 2);
    e.extra.insert(
        "deep".into(),
        json!({"list": [1, [], {}, {"k": [null, "v\u{2029}"]}], "empty": {}}),
    );
    e.extra.insert("flat".into(), json!(2.5));
    q.entries = vec![e.clone(), QueueEntry::new("b", "npm:b", 3)];
    q.extra.insert("notes".into(), json!(["one", {"two": 2}]));
    q.extra.insert("empty".into(), json!([]));
    assert_same(&q, "2026-12-01T00:00:00Z");
}

/// Enough entries for the two-thread path, with an odd number of chunks and a short last one.
fn large() -> Queue {
    let real = Queue::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/tsuku/priority-queue.json"),
    )
    .unwrap();
    let n = PARALLEL_MIN_ENTRIES + 2 * CHUNK_ENTRIES + 17;
    Queue {
        entries: real.entries.iter().cycle().take(n).cloned().collect(),
        ..real
    }
}

#[test]
fn a_queue_flushed_in_pieces_on_one_thread_matches_serde() {
    let mut q = large();
    q.entries.truncate(2_000);
    assert!(queue_bytes(&q, "t").len() > 4 * FLUSH_BYTES);
    assert_same(&q, "2026-12-01T00:00:00Z");
}

#[test]
fn large_queue_on_two_threads_matches_serde() {
    let q = large();
    assert!(q.entries.len() >= PARALLEL_MIN_ENTRIES);
    assert_eq!(q.entries.len().div_ceil(CHUNK_ENTRIES) % 2, 1);
    assert_same(&q, "2026-12-01T00:00:00Z");
}

/// Accepts `left` bytes, then fails every write.
struct FailAfter {
    left: usize,
}

impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_write_on_the_two_thread_path_is_returned_not_hung() {
    let q = large();
    // Fails in the head, in an even (own) chunk and in an odd (helper's) chunk.
    for left in [10, 5 << 20, 9 << 20] {
        let err = write_queue(&mut FailAfter { left }, &q, "x").unwrap_err();
        assert_eq!(err.to_string(), "disk full");
    }
}
