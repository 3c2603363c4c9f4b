//! Tests of the queue model, wire format and file.

use super::entry::{has_control, is_blank};
use super::*;
use std::path::PathBuf;

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
    let out = String::from_utf8(q.to_bytes("2030-01-02T03:04:05.678Z".parse().unwrap())).unwrap();
    assert!(out.contains("\"updated_at\": \"2030-01-02T03:04:05Z\""));
}

#[test]
fn parse_errors_carry_position_and_key_path() {
    let bad = r#"{"entries":[{"name":"a"},{"name":"b","priority":"1"}]}"#;
    let err = Queue::from_slice(bad.as_bytes()).unwrap_err();
    assert_eq!(err.key_path, "entries[1].priority");
    assert_eq!(err.line(), 1);
    assert!(err.column() > 30, "column {}", err.column());
    assert_eq!(
        (err.source.line(), err.source.column()),
        (err.line(), err.column())
    );
    assert_eq!(
        err.to_string(),
        format!(
            "invalid queue JSON at line 1, column {} (at `entries[1].priority`)",
            err.column()
        )
    );
    let source = std::error::Error::source(&err).expect("the serde error is the source");
    assert!(source.to_string().contains("invalid type"), "{source}");
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
fn null_entries_is_empty_and_missing_entries_is_an_error() {
    // `null` is how Go writes an empty list (spec §1.1); a missing key is not a queue (#12).
    assert!(
        Queue::from_slice(br#"{"entries":null}"#)
            .unwrap()
            .entries
            .is_empty()
    );
    let err = Queue::from_slice(br#"{"schema_version":1}"#).unwrap_err();
    assert_eq!(err.key_path, "");
    assert_eq!(err.source.to_string(), "missing field `entries`");
    assert!(serde_json::from_str::<Queue>("{}").is_err());
}

/// Writes `text` as `name` in a fresh directory and loads it.
fn load_text(name: &str, text: &str) -> (tempfile::TempDir, PathBuf, Result<Queue, QueueError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let result = Queue::load(&path);
    (dir, path, result)
}

#[test]
fn a_missing_queue_is_an_error_unless_an_empty_one_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.json");
    match Queue::load(&path) {
        Err(QueueError::Missing { path: p }) => assert_eq!(p, path),
        other => panic!("{other:?}"),
    }
    let err = Queue::load_hashed(&path, MissingQueue::Error).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("queue `{}` does not exist", path.display())
    );
    let (q, existed) = Queue::load_with(&path, MissingQueue::Empty).unwrap();
    assert!(!existed);
    assert_eq!((q.schema_version, q.entries.len()), (1, 0));
    assert_eq!(MissingQueue::default(), MissingQueue::Error);
    assert_eq!(crate::Config::new().missing_queue, MissingQueue::Error);
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "loading creates nothing"
    );
}

#[test]
fn a_document_without_entries_says_what_it_looks_like() {
    let cases = [
        (
            r#"{"enabled": true, "circuit_breaker": {}}"#,
            Lookalike::ControlFile {
                key: "circuit_breaker".into(),
            },
            "it looks like a control file (top-level `circuit_breaker`)",
        ),
        (
            r#"{"disabled_ecosystems": []}"#,
            Lookalike::ControlFile {
                key: "disabled_ecosystems".into(),
            },
            "it looks like a control file (top-level `disabled_ecosystems`)",
        ),
        (
            r#"{"schema_version": 1, "packages": []}"#,
            Lookalike::LegacyQueue,
            "it looks like the legacy per-ecosystem queue (top-level `packages`)",
        ),
        (
            "{}",
            Lookalike::Other { keys: Vec::new() },
            "it is an empty object",
        ),
        (
            r#"{"schema_version": 1, "updated_at": "2026-01-01T00:00:00Z", "Entries": []}"#,
            Lookalike::Other {
                keys: vec![
                    "schema_version".into(),
                    "updated_at".into(),
                    "Entries".into(),
                ],
            },
            "its top-level keys are `schema_version`, `updated_at`, `Entries`",
        ),
    ];
    for (text, want, says) in cases {
        let (_dir, path, result) = load_text("q.json", text);
        match result {
            Err(
                ref e @ QueueError::NotAQueue {
                    path: ref p,
                    ref looks_like,
                },
            ) => {
                assert_eq!(p, &path, "{text}");
                assert_eq!(looks_like, &want, "{text}");
                assert_eq!(
                    e.to_string(),
                    format!(
                        "`{}` is not a queue: it has no `entries` array, and {says}",
                        path.display()
                    )
                );
            }
            other => panic!("{text}: {other:?}"),
        }
    }
    // The real control file (the repository's copy), given as the queue.
    let real = batch_testkit::tsuku_data::fixture("batch-control.json");
    let result = Queue::load(&real);
    assert!(
        matches!(
            result,
            Err(QueueError::NotAQueue {
                looks_like: Lookalike::ControlFile { .. },
                ..
            })
        ),
        "{result:?}"
    );
    // An empty `entries` array (or Go's `null`) is a valid, empty queue.
    for text in [r#"{"entries": []}"#, r#"{"entries": null}"#] {
        assert!(load_text("q.json", text).2.unwrap().entries.is_empty());
    }
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
fn ecosystems() {
    assert_eq!(ecosystem_of("cargo:ripgrep"), "cargo");
    assert_eq!(ecosystem_of("github:sharkdp/bat"), "github");
    assert_eq!(ecosystem_of("noseparator"), "");
    assert_eq!(ecosystem_of("homebrew:a:b"), "homebrew");
}
