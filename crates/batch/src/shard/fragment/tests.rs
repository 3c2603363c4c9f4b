//! Unit tests of the fragment format (issue #6): names, the internal rules a fragment must
//! keep, and hostile files. Merge behaviour is tested in `shard/merge/tests.rs`.

use proptest::prelude::*;

use crate::records::EcosystemCounts;
use crate::records::OutcomeKind;
use crate::records::timestamp::Rfc3339;
use crate::run::journal::OutcomeLine;
use crate::shard::fragment::*;
use crate::shard::settings::ShardSettings;
use crate::shard::*;
use std::collections::BTreeMap;

fn ts(s: &str) -> Rfc3339 {
    s.parse().unwrap()
}

/// A consistent fragment of shard `k` of 3 holding the given names, in a batch of nine npm
/// candidates dealt round-robin (position `p` is in shard `p mod 3 + 1`).
fn fragment(k: u32, names: &[&str]) -> Fragment {
    let outcomes: Vec<OutcomeLine> = names
        .iter()
        .enumerate()
        .map(|(i, n)| OutcomeLine {
            position: i * 3 + (k as usize - 1),
            index: i,
            name: (*n).to_owned(),
            source: format!("npm:{n}"),
            ended: OutcomeKind::Succeeded,
            status: "success".into(),
            failure_count: 0,
            next_retry_at: None,
            record: None,
            recipe: Some(format!("{n}.toml")),
        })
        .collect();
    let mut per_ecosystem = BTreeMap::new();
    if !names.is_empty() {
        per_ecosystem.insert(
            "npm".to_owned(),
            EcosystemCounts {
                total: names.len(),
                succeeded: names.len(),
                failed: 0,
            },
        );
    }
    Fragment {
        schema_version: SCHEMA_VERSION,
        batch_id: "2026-11-24-all".into(),
        shard: k,
        shard_count: 3,
        settings: ShardSettings::of(&crate::config::Config::new()),
        queue_sha256: "ab".repeat(32),
        planned_at: ts("2026-11-24T03:00:00Z"),
        started: ts("2026-11-24T03:01:00Z"),
        finished: ts("2026-11-24T03:30:00Z"),
        shards_with_candidates: vec![1, 2, 3],
        batch_ecosystems: vec!["npm".to_owned(); 9],
        candidates: names.len(),
        invalid: 0,
        per_ecosystem,
        breakers_at_start: BTreeMap::new(),
        outcomes,
        not_run: Vec::new(),
    }
}

/// Names that hash to shard `k` of 3.
fn names_in(k: u32, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("pkg{i}"))
        .filter(|s| shard_of(s, 3) == k)
        .take(n)
        .collect()
}

fn valid(k: u32) -> Fragment {
    let names = names_in(k, 3);
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    fragment(k, &refs)
}

#[test]
fn file_names_round_trip() {
    let s = Shard { index: 2, count: 3 };
    let name = file_name("2026-11-24-all-002", s);
    assert_eq!(name, "2026-11-24-all-002-shard-2-of-3.json");
    assert_eq!(parse_file_name(&name), Some(("2026-11-24-all-002", 2, 3)));
    // A batch ID may itself contain "-shard-": the last occurrence splits.
    assert_eq!(
        parse_file_name("x-shard-y-shard-1-of-2.json"),
        Some(("x-shard-y", 1, 2))
    );
    for other in [
        "batch-results.json",
        "a-shard-1-of-2.json.tmp",
        "-shard-1-of-2.json",
        "a-shard--of-2.json",
        "a-shard-1-of-.json",
        "a-shard-x-of-2.json",
        "a-shard-1-of-99999999999.json",
    ] {
        assert_eq!(parse_file_name(other), None, "{other}");
    }
}

#[test]
fn batch_ids_must_be_file_name_safe() {
    for ok in ["2026-11-24-all", "2026-11-24-crates.io-002", "x_y"] {
        assert!(check_batch_id(ok).is_ok(), "{ok}");
    }
    let long = "a".repeat(MAX_BATCH_ID_LEN + 1);
    for bad in [
        "",
        "../x",
        "a/b",
        ".hidden",
        "-flag",
        "a b",
        "é",
        long.as_str(),
    ] {
        assert!(check_batch_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_consistent_fragment_passes_its_checks_and_round_trips() {
    let f = valid(2);
    f.check().unwrap();
    let back: Fragment = serde_json::from_slice(&f.to_bytes()).unwrap();
    assert_eq!(back, f);
    assert!(f.to_bytes().ends_with(b"}\n"));
}

#[test]
fn broken_rules_are_named() {
    type Breaker = Box<dyn Fn(&mut Fragment)>;
    let cases: Vec<(Breaker, &str)> = vec![
        (Box::new(|f| f.schema_version = 3), "schema_version 3"),
        (Box::new(|f| f.shard = 4), "out of range"),
        (Box::new(|f| f.shard_count = 0), "out of range"),
        (Box::new(|f| f.batch_id = "../x".into()), "invalid batch ID"),
        (
            Box::new(|f| f.outcomes[0].position = 0),
            "belongs to shard 1/3",
        ),
        (
            Box::new(|f| f.outcomes[0].source = "pypi:x".into()),
            "is not of ecosystem npm",
        ),
        (
            Box::new(|f| f.outcomes[0].position = 9),
            "past the batch's 9 candidate(s)",
        ),
        (
            Box::new(|f| f.outcomes[1].position = f.outcomes[0].position),
            "appears twice",
        ),
        (Box::new(|f| f.candidates = 7), "for 7 candidate(s)"),
        (
            Box::new(|f| f.outcomes[0].ended = OutcomeKind::Failed),
            "per_ecosystem does not match",
        ),
        (
            Box::new(|f| f.shards_with_candidates = vec![3, 1]),
            "sorted, unique",
        ),
        (
            Box::new(|f| f.shards_with_candidates = vec![1, 3]),
            "not in shards_with_candidates",
        ),
    ];
    for (break_it, expected) in cases {
        let mut f = valid(2);
        break_it(&mut f);
        let err = f.check().unwrap_err();
        assert!(
            err.contains(expected),
            "{err:?} should mention {expected:?}"
        );
    }
}

#[test]
fn load_checks_the_name_against_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let f = valid(1);
    let right = f.write(dir.path()).unwrap();
    assert_eq!(
        right.file_name().unwrap(),
        "2026-11-24-all-shard-1-of-3.json"
    );
    assert_eq!(Fragment::load(&right).unwrap(), f);
    let wrong = dir.path().join("2026-11-24-all-shard-2-of-3.json");
    std::fs::copy(&right, &wrong).unwrap();
    let err = Fragment::load(&wrong).unwrap_err().to_string();
    assert!(err.contains("does not match its file name"), "{err}");
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b-shard-1-of-1.json");
    std::fs::write(&p, "{\n  \"schema_version\": 1,\n  \"batch_id\": 7\n}").unwrap();
    match Fragment::load(&p) {
        Err(FragmentError::Parse { line, column, .. }) => assert_eq!((line, column), (3, 15)),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn collect_ignores_other_files_and_reports_missing_shards() {
    let dir = tempfile::tempdir().unwrap();
    valid(1).write(dir.path()).unwrap();
    valid(3).write(dir.path()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    std::fs::write(dir.path().join(".batch-tmp-abc"), "{").unwrap();
    let set = FragmentSet::collect(dir.path(), None).unwrap();
    assert_eq!(set.batch_id, "2026-11-24-all");
    assert_eq!(
        set.fragments
            .iter()
            .map(|(_, f)| f.shard)
            .collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(set.missing, vec![2]);
}

#[test]
fn collect_of_an_empty_or_absent_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        FragmentSet::collect(dir.path(), None),
        Err(FragmentError::Empty { .. })
    ));
    valid(1).write(dir.path()).unwrap();
    assert!(matches!(
        FragmentSet::collect(dir.path(), Some("2026-11-25-all")),
        Err(FragmentError::Empty { .. })
    ));
    assert!(matches!(
        FragmentSet::collect(&dir.path().join("absent"), None),
        Err(FragmentError::Read { .. })
    ));
}

/// Shards that ran with other selection settings are refused, naming the setting and both
/// values (issue #12).
#[test]
fn shards_that_ran_with_other_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid(1).write(dir.path()).unwrap();
    let mut f = valid(2);
    f.settings.tier = 3;
    f.write(dir.path()).unwrap();
    let err = FragmentSet::collect(dir.path(), None).unwrap_err();
    assert!(
        matches!(
            &err,
            FragmentError::Disagree {
                what: "the tier (--tier)",
                first_value,
                second_value,
                ..
            } if first_value == "2" && second_value == "3"
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("(2 vs 3)"), "{err}");

    let mut f = valid(2);
    f.settings.rate_limit_ms.insert("npm".into(), 250);
    f.write(dir.path()).unwrap();
    let err = FragmentSet::collect(dir.path(), None).unwrap_err();
    assert!(
        err.to_string()
            .contains("the rate limits (--rate-limit) (npm 1000 ms vs npm 250 ms)"),
        "{err}"
    );
}

#[test]
fn shards_that_disagree_on_the_plan_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    valid(1).write(dir.path()).unwrap();
    let mut f = valid(2);
    f.planned_at = ts("2026-11-24T03:00:01Z");
    f.write(dir.path()).unwrap();
    assert!(matches!(
        FragmentSet::collect(dir.path(), None),
        Err(FragmentError::Disagree {
            what: "the plan time (planned_at)",
            ..
        })
    ));
}

proptest! {
    /// Whatever bytes a fragment file holds, loading it returns an error or a fragment that
    /// keeps the rules; it never panics.
    #[test]
    fn hostile_fragment_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b-shard-1-of-1.json");
        std::fs::write(&p, &bytes).unwrap();
        if let Ok(f) = Fragment::load(&p) {
            prop_assert!(f.check().is_ok());
        }
    }

    /// Mutating one field of a valid fragment's JSON to another JSON value never panics.
    #[test]
    fn mutated_fields_never_panic(field in 0usize..15, value in prop_oneof![
        Just(serde_json::json!(null)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!("")),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        let mut doc = serde_json::to_value(valid(1)).unwrap();
        let key = doc.as_object().unwrap().keys().nth(field).unwrap().clone();
        doc[&key] = value;
        let p = dir.path().join("2026-11-24-all-shard-1-of-3.json");
        std::fs::write(&p, serde_json::to_vec(&doc).unwrap()).unwrap();
        let _ = Fragment::load(&p);
        let _ = FragmentSet::collect(dir.path(), None);
    }
}
