//! Hostile input (issue #4): the queue and control-file parsers never panic and report where
//! the problem is; parse → save → parse is the identity; the recipe path rule never lets a
//! name escape the output directory.

use std::path::{Component, Path};

use batch::Queue;
use batch::control::{ControlError, ControlFile};
use batch::queue::{QueueError, recipe_relative_path};
use proptest::prelude::*;
use serde_json::{Value, json};

fn now() -> jiff::Timestamp {
    "2026-11-24T10:00:00Z".parse().unwrap()
}

// ---- parse → save → parse ----------------------------------------------------------------

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9@._/-]{0,12}",
        any::<String>(),
        Just("<script>&amp;</script>".to_owned()),
        Just("\u{2028}\u{2029}\u{0}\u{7f}é漢".to_owned()),
    ]
}

fn arb_time() -> impl Strategy<Value = Option<String>> {
    let instant = (
        0i64..4_000_000_000,
        0u32..1_000_000_000,
        -14i32 * 60..=14 * 60,
        0usize..10,
    );
    prop_oneof![
        Just(None),
        instant.prop_map(|(secs, nanos, offset_min, digits)| {
            let ts = jiff::Timestamp::new(secs, nanos as i32).unwrap();
            let off = jiff::tz::Offset::from_seconds(offset_min * 60).unwrap();
            let dt = jiff::tz::TimeZone::fixed(off).to_datetime(ts);
            let frac = format!("{:09}", dt.subsec_nanosecond());
            let frac = if digits == 0 {
                String::new()
            } else {
                format!(".{}", &frac[..digits])
            };
            let zone = if offset_min == 0 {
                "Z".to_owned()
            } else {
                let s = if offset_min < 0 { '-' } else { '+' };
                format!(
                    "{s}{:02}:{:02}",
                    offset_min.abs() / 60,
                    offset_min.abs() % 60
                )
            };
            Some(format!("{}{frac}{zone}", dt.strftime("%Y-%m-%dT%H:%M:%S")))
        }),
    ]
}

fn arb_extra() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        arb_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_entry() -> impl Strategy<Value = Value> {
    (
        arb_text(),
        arb_text(),
        any::<i64>(),
        prop_oneof![
            Just("pending"),
            Just("failed"),
            Just("success"),
            Just("in_progress")
        ],
        prop_oneof![Just("auto"), Just("curated"), Just("manual")],
        arb_time(),
        any::<i64>(),
        arb_time(),
        prop::option::of(arb_extra()),
    )
        .prop_map(
            |(name, source, priority, status, confidence, dis, fc, nra, extra)| {
                let mut e = json!({
                    "name": name, "source": source, "priority": priority, "status": status,
                    "confidence": confidence, "disambiguated_at": dis, "failure_count": fc,
                    "next_retry_at": nra,
                });
                if let Some(x) = extra {
                    e["x_extra"] = x;
                }
                e
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn parse_save_parse_is_the_identity(entries in prop::collection::vec(arb_entry(), 0..8), top in prop::option::of(arb_extra())) {
        let mut doc = json!({"schema_version": 1, "updated_at": "2026-11-24T10:00:00Z", "entries": entries});
        if let Some(t) = top {
            doc["x_top"] = t;
        }
        let input = serde_json::to_vec(&doc).unwrap();
        let q1 = Queue::from_slice(&input).map_err(|e| TestCaseError::fail(format!("{}: {}", e.key_path, e.source)))?;
        let saved = q1.to_bytes(now());
        let q2 = Queue::from_slice(&saved).map_err(|e| TestCaseError::fail(format!("{}: {}", e.key_path, e.source)))?;
        prop_assert_eq!(&q1, &q2);
        prop_assert_eq!(saved.clone(), q2.to_bytes(now()), "saving again changes nothing");
        // Every value survives as JSON (timestamps compare as instants).
        let reparsed: Value = serde_json::from_slice(&saved).unwrap();
        prop_assert_eq!(reparsed["entries"].as_array().unwrap().len(), doc["entries"].as_array().unwrap().len());
        for (a, b) in reparsed["entries"].as_array().unwrap().iter().zip(doc["entries"].as_array().unwrap()) {
            for k in ["name", "source", "priority", "status", "confidence", "failure_count", "x_extra"] {
                prop_assert_eq!(&a[k], &b[k], "key {}", k);
            }
        }
        prop_assert_eq!(&reparsed["x_top"], &doc["x_top"]);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Queue::from_slice(&bytes);
        let _ = ControlFile::from_slice(Path::new("c.json"), &bytes);
    }

    #[test]
    fn mutated_queues_never_panic(flips in prop::collection::vec((0usize..600, any::<u8>()), 1..8)) {
        let mut bytes = br#"{"schema_version":1,"updated_at":"2026-08-13T20:39:55Z","entries":[{"name":"task","source":"homebrew:go-task","priority":1,"status":"pending","confidence":"curated","disambiguated_at":null,"failure_count":3,"next_retry_at":"2026-02-24T06:13:51.407702314Z"},{"name":"bat","source":"github:sharkdp/bat","priority":2,"status":"failed","confidence":"auto","disambiguated_at":"2026-02-17T00:10:01.867521792Z","failure_count":0,"next_retry_at":null}]}"#.to_vec();
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let _ = Queue::from_slice(&bytes);
        let mut control = br#"{"enabled":true,"disabled_ecosystems":["x"],"circuit_breaker":{"npm":{"state":"open","failures":5,"last_failure":"2026-06-26T20:51:01Z","opens_at":"2026-06-26T21:51:01Z"}}}"#.to_vec();
        let n = control.len();
        control[bytes.len() % n] = bytes[0];
        if let Ok(mut c) = ControlFile::from_slice(Path::new("c.json"), &control) {
            c.apply_due_recoveries(now());
            let _ = c.to_bytes();
        }
    }

    /// A name either is rejected or maps to a relative path of normal components under the
    /// output directory, with no NUL or control character.
    #[test]
    fn recipe_paths_never_escape(name in prop_oneof![any::<String>(), "[a-z./\\\\]{0,12}", "(\\.\\./|/|\\./)?[a-z]{1,4}(/\\.\\.)?"]) {
        if let Ok(p) = recipe_relative_path(&name) {
            prop_assert!(p.is_relative());
            prop_assert!(p.components().all(|c| matches!(c, Component::Normal(_))), "{:?}", p);
            prop_assert!(!name.contains(|c: char| c.is_control()));
            prop_assert!(!name.contains('\\'));
            prop_assert!(Path::new("/out").join(&p).starts_with("/out"));
            prop_assert!(p.to_string_lossy().ends_with(".toml"));
        }
    }

    /// Names made of safe components are always accepted.
    #[test]
    fn safe_names_are_accepted(parts in prop::collection::vec("[a-z0-9@+_-][a-z0-9@+._-]{0,8}", 1..4)) {
        let name = parts.join("/");
        prop_assert!(recipe_relative_path(&name).is_ok(), "{}", name);
    }
}

// ---- specific hostile files ----------------------------------------------------------------

fn parse_err(bytes: &[u8]) -> (String, serde_json::Error) {
    let e = Queue::from_slice(bytes).expect_err("must be rejected");
    (e.key_path, e.source)
}

#[test]
fn huge_numbers_are_errors_with_position() {
    for n in [
        "18446744073709551616",
        "1e400",
        "-9223372036854775809",
        "1.0",
    ] {
        let text = format!("{{\"entries\":[\n{{\"name\":\"a\",\n\"priority\":{n}}}]}}");
        let (path, e) = parse_err(text.as_bytes());
        assert_eq!(path, "entries[0].priority", "{n}");
        assert_eq!(e.line(), 3, "{n}");
    }
}

#[test]
fn invalid_utf8_is_an_error_with_position() {
    let (_, e) = parse_err(b"{\"entries\":[{\"name\":\"a\xc3\x28\"}]}");
    assert_eq!((e.line(), e.column() > 0), (1, true));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let (_, e) = parse_err(deep.as_bytes());
    assert!(e.to_string().contains("recursion"), "{e}");
    assert!(ControlFile::from_slice(Path::new("c.json"), deep.as_bytes()).is_err());
}

#[test]
fn hundred_megabyte_file_is_rejected_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.json");
    let mut bytes = b"{\"entries\":[".to_vec();
    bytes.resize(100 << 20, b' ');
    bytes.extend_from_slice(b"\n  oops");
    std::fs::write(&path, &bytes).unwrap();
    match Queue::load(&path) {
        Err(QueueError::Parse {
            line,
            column,
            path: p,
            ..
        }) => {
            assert_eq!((line, column), (2, 3));
            assert_eq!(p, path);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn control_file_errors_name_the_key() {
    let err = ControlFile::from_slice(
        Path::new("ctl.json"),
        br#"{"circuit_breaker":{"npm":{"failures":1e99}}}"#,
    )
    .unwrap_err();
    match err {
        ControlError::Invalid { key, .. } => assert_eq!(key, "circuit_breaker.npm.failures"),
        other => panic!("{other:?}"),
    }
    let err = ControlFile::from_slice(Path::new("ctl.json"), b"\n\n  {,}").unwrap_err();
    assert!(
        matches!(err, ControlError::Parse { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("ctl.json"));
}
