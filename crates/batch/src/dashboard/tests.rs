//! Unit tests of the dashboard builder on small hand-made inputs; every expected value is
//! worked out from tsuku's `internal/dashboard` rules, cited per test.

use std::collections::{BTreeMap, HashMap};

use super::blockers::{blocker_map, top_blockers};
use super::details::{extract_subcategory, failure_details, id_stamp, name_of_id};
use super::disambiguations::summarize;
use super::failures::{FailureScan, parse_file_name, remap_category, truncate_message};
use super::model::{DisambiguationRecord, PackageInfo, RunSummary};
use super::queue::{curated, next_retry_text, queue_status};
use super::runs::{ControlInput, health, ordered, runs};
use super::wire::FailureLine;
use super::{Inputs, build};
use crate::control::{Breaker, BreakerState};
use crate::history::metrics::{MetricsRecord, parse_records};
use crate::queue::{Queue, QueueEntry, Status};

fn entry(name: &str, source: &str, priority: i64, status: Status) -> QueueEntry {
    let mut e = QueueEntry::new(name, source, priority);
    e.status = status;
    e
}

fn scan(lines: &[(&str, &str)]) -> FailureScan {
    let mut s = FailureScan::default();
    for (file, line) in lines {
        let rec: FailureLine = serde_json::from_str(line).expect("test line parses");
        s.add(file, rec);
    }
    s
}

fn metrics(json: &str) -> Vec<MetricsRecord> {
    parse_records("batch-runs.jsonl", json.as_bytes()).expect("test metrics parse")
}

fn metric(ts: &str, total: u64, merged: u64) -> String {
    format!(
        r#"{{"batch_id":"b","ecosystems":{{"npm":{total}}},"total":{total},"merged":{merged},"excluded":0,"constrained":0,"timestamp":"{ts}","duration_seconds":7}}"#
    )
}

/// failures.go `categoryRemap`.
#[test]
fn categories_are_remapped() {
    assert_eq!(remap_category("deterministic"), "generation_failed");
    assert_eq!(remap_category("api_error"), "network_error");
    assert_eq!(remap_category("validation_failed"), "install_failed");
    assert_eq!(remap_category("missing_dep"), "missing_dep");
}

/// failures.go `parseFailureFilename`.
#[test]
fn file_names_give_ecosystem_and_batch() {
    assert_eq!(
        parse_file_name("crates.io-2026-06-26T18-54-02Z.jsonl"),
        ("crates.io", "2026-06-26T18-54-02Z")
    );
    assert_eq!(parse_file_name("homebrew.jsonl"), ("homebrew", ""));
    assert_eq!(parse_file_name("my-eco.jsonl"), ("my", ""));
}

/// failures.go `extractSubcategory`: bracket tag, then phrases in order, then exit code for an
/// empty message only.
#[test]
fn subcategory_levels() {
    assert_eq!(
        extract_subcategory("failed: [no_bottles] x", 0),
        "no_bottles"
    );
    // An unknown tag falls through to the phrases ("timeout" matches last).
    assert_eq!(extract_subcategory("[weird] a Timeout", 0), "timeout");
    // Only the first `[` is looked at.
    assert_eq!(extract_subcategory("[x] [no_bottles]", 0), "");
    // `[]` is too short to be a tag ("end > 1").
    assert_eq!(extract_subcategory("[] rate limit", 0), "rate_limited");
    // "no bottle" wins over "timeout" by order.
    assert_eq!(
        extract_subcategory("No bottle available; timeout", 0),
        "no_bottle"
    );
    assert_eq!(extract_subcategory("HTTP 429", 0), "rate_limited");
    assert_eq!(extract_subcategory("", 6), "install_failed");
    assert_eq!(extract_subcategory("", 9), "deterministic_failed");
    assert_eq!(extract_subcategory("something", 6), "");
    assert_eq!(extract_subcategory("", 1), "");
}

/// failures.go `formatTimestampForID`, `resolvePackageName`.
#[test]
fn ids_and_names() {
    assert_eq!(
        id_stamp("2026-06-26T20:49:32.655536739Z"),
        "2026-06-26T20-49-32Z"
    );
    assert_eq!(
        id_stamp("2026-06-26T22:49:32+02:00"),
        "2026-06-26T20-49-32Z"
    );
    assert_eq!(id_stamp("2026-06-26T20-49-32Z"), "2026-06-26T20-49-32Z");
    assert_eq!(id_stamp("not a time"), "not a time");
    assert_eq!(name_of_id("github:sharkdp/bat"), "bat");
    assert_eq!(name_of_id("homebrew:jq"), "jq");
    assert_eq!(name_of_id("plain"), "plain");
}

/// failures.go `maxMessageLength`: 500 bytes; a split character becomes one U+FFFD per byte
/// kept, as Go's encoder writes invalid bytes.
#[test]
fn messages_are_cut_at_500_bytes() {
    let ascii = "a".repeat(600);
    assert_eq!(truncate_message(&ascii).len(), 500);
    // 499 ASCII bytes then a 3-byte character: byte 500 is its first byte.
    let split = format!("{}✅tail", "a".repeat(499));
    let cut = truncate_message(&split);
    assert_eq!(cut, format!("{}\u{FFFD}", "a".repeat(499)));
    let two = format!("{}✅tail", "a".repeat(498));
    assert_eq!(
        truncate_message(&two),
        format!("{}\u{FFFD}\u{FFFD}", "a".repeat(498))
    );
}

/// dashboard.go `loadFailures`: batch failures always count (remapped); per-recipe records
/// count with a recipe and a category; the package map takes batch IDs and, for per-recipe
/// records with `blocked_by`, `<eco|homebrew>:<recipe>`; later lines win.
#[test]
fn category_counts_and_package_failures() {
    let s = scan(&[
        (
            "homebrew-2026-01-01T00-00-00Z.jsonl",
            r#"{"ecosystem":"homebrew","failures":[{"package_id":"homebrew:a","category":"deterministic","message":"m","timestamp":"2026-01-01T00:00:00Z"},{"package_id":"homebrew:b","category":"missing_dep","blocked_by":["x"],"message":"","timestamp":"2026-01-01T00:00:01Z"}]}"#,
        ),
        (
            "homebrew-2026-01-02T00-00-00Z.jsonl",
            r#"{"recipe":"c","platform":"linux","exit_code":8,"category":"missing_dep","blocked_by":["y"],"timestamp":"2026-01-02T00:00:00Z"}"#,
        ),
        (
            "homebrew-2026-01-02T00-00-00Z.jsonl",
            r#"{"recipe":"d","platform":"linux","category":"","timestamp":"2026-01-02T00:00:00Z"}"#,
        ),
        (
            "x.jsonl",
            r#"{"failures":[{"package_id":"homebrew:a","category":"network"}]}"#,
        ),
    ]);
    assert_eq!(
        s.categories,
        BTreeMap::from([
            ("generation_failed".to_owned(), 1),
            ("missing_dep".to_owned(), 2),
            ("network_error".to_owned(), 1),
        ])
    );
    assert_eq!(s.packages["homebrew:a"].category, "network_error");
    assert_eq!(s.packages["homebrew:b"].blocked_by, ["x"]);
    assert_eq!(s.packages["homebrew:c"].blocked_by, ["y"]);
    assert!(!s.packages.contains_key("homebrew:d"));
    assert_eq!(
        s.failures.len(),
        4,
        "the category-less recipe line is no failure"
    );
}

/// failures.go `deduplicateFailureDetails` and the sort: platform records of one recipe and
/// batch merge into the first with `multiple` and sorted platforms; newest first; legacy
/// names resolved through the queue.
#[test]
fn details_merge_platforms_and_sort_newest_first() {
    let s = scan(&[
        (
            "npm-2026-03-01T00-00-00Z.jsonl",
            r#"{"recipe":"r","platform":"linux-x","exit_code":6,"category":"install_failed","timestamp":"2026-03-01T00:00:00Z","workflow_url":"u"}"#,
        ),
        (
            "npm-2026-03-01T00-00-00Z.jsonl",
            r#"{"recipe":"r","platform":"darwin-a","exit_code":6,"category":"install_failed","timestamp":"2026-03-01T00:00:05Z"}"#,
        ),
        (
            "batch.jsonl",
            r#"{"ecosystem":"github","failures":[{"package_id":"github:o/tool","category":"api_error","message":"rate limit hit","timestamp":"2026-03-02T00:00:00Z"}]}"#,
        ),
    ]);
    let names = HashMap::from([("github:o/tool", "mytool")]);
    let d = failure_details(&s.failures, &names);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].id, "github-2026-03-02T00-00-00Z-mytool");
    assert_eq!(d[0].category, "network_error");
    assert_eq!(d[0].subcategory, "rate_limited");
    assert_eq!(d[0].batch_id, "", "batch.jsonl carries no stamp");
    assert_eq!(d[1].package, "r");
    assert_eq!(d[1].platform, "multiple");
    assert_eq!(d[1].platforms, ["darwin-a", "linux-x"]);
    assert_eq!(d[1].timestamp, "2026-03-01T00:00:00Z", "the first record's");
    assert_eq!(d[1].workflow_url, "u");
    assert_eq!(d[1].subcategory, "install_failed", "exit 6, no message");
    assert_eq!(d[1].id, "npm-2026-03-01T00-00-00Z-r");
}

/// failures.go `maxFailureDetails`.
#[test]
fn details_are_capped_at_200() {
    let lines: Vec<String> = (0..250)
        .map(|i| {
            format!(
                r#"{{"recipe":"r{i}","category":"c","timestamp":"2026-01-01T00:00:{:02}Z"}}"#,
                i % 60
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = lines.iter().map(|l| ("e.jsonl", l.as_str())).collect();
    let d = failure_details(&scan(&pairs).failures, &HashMap::new());
    assert_eq!(d.len(), 200);
    assert_eq!(d[0].timestamp, "2026-01-01T00:00:59Z");
    assert_eq!(d[0].ecosystem, "e");
}

/// dashboard.go `computeQueueStatus`: counts, packages by status sorted by priority then
/// name, category from the package map, blocked_by only for blocked entries.
#[test]
fn queue_status_counts_and_packages() {
    let mut q = Queue {
        entries: vec![
            entry("zed", "homebrew:zed", 2, Status::Pending),
            entry("abc", "homebrew:abc", 2, Status::Pending),
            entry("top", "npm:top", 1, Status::Pending),
            entry("blk", "homebrew:blk", 3, Status::Blocked),
            entry("nocolon", "weird", 3, Status::Failed),
        ],
        ..Queue::default()
    };
    q.entries[4].next_retry_at = Some("2026-05-01T12:00:00.5+02:00".parse().unwrap());
    let s = scan(&[(
        "f.jsonl",
        r#"{"failures":[{"package_id":"homebrew:blk","category":"missing_dep","blocked_by":["dep"]},{"package_id":"homebrew:zed","category":"missing_dep","blocked_by":["dep2"]}]}"#,
    )]);
    let st = queue_status(&q, &s.packages);
    assert_eq!(st.total, 5);
    assert_eq!(st.by_status["pending"], 3);
    assert_eq!(st.by_tier["2"]["pending"], 2);
    assert_eq!(st.by_ecosystem["homebrew"]["total"], 3);
    assert!(
        !st.by_ecosystem.contains_key(""),
        "no ecosystem, not counted"
    );
    let pending: Vec<&str> = st.packages["pending"]
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(pending, ["top", "abc", "zed"]);
    let zed = &st.packages["pending"][2];
    assert_eq!(zed.category, "missing_dep");
    assert!(zed.blocked_by.is_empty(), "not blocked: no blocked_by");
    assert_eq!(st.packages["blocked"][0].blocked_by, ["dep"]);
    assert_eq!(st.packages["failed"][0].ecosystem, "");
    // Go's layout on the stored offset's wall clock, fraction dropped, literal Z.
    assert_eq!(
        st.packages["failed"][0].next_retry_at,
        "2026-05-01T12:00:00Z"
    );
    assert_eq!(
        next_retry_text(&"2026-05-01T10:00:00Z".parse().unwrap()),
        "2026-05-01T10:00:00Z"
    );
}

fn blocked(id: &str, deps: &[&str]) -> PackageInfo {
    PackageInfo {
        id: id.to_owned(),
        name: id.split_once(':').map_or(id, |p| p.1).to_owned(),
        ecosystem: "homebrew".to_owned(),
        priority: 3,
        category: String::new(),
        blocked_by: deps.iter().map(|d| (*d).to_owned()).collect(),
        failure_count: 0,
        next_retry_at: String::new(),
    }
}

/// blocker.go `ComputeTransitiveBlockers`: `b` blocks `homebrew:a` whose name is itself a
/// blocker of two; so `b` totals 1 + 2 = 3 while its direct count is 1. Ties by name.
#[test]
fn blockers_count_transitively_and_sort() {
    let pkgs = [
        blocked("homebrew:a", &["b"]),
        blocked("homebrew:x", &["a"]),
        blocked("homebrew:y", &["a", "z"]),
        blocked("homebrew:y", &["a"]),
    ];
    let top = top_blockers(&blocker_map(&pkgs), 10);
    let got: Vec<(&str, u64, u64)> = top
        .iter()
        .map(|b| (b.dependency.as_str(), b.total_count, b.direct_count))
        .collect();
    assert_eq!(got, [("b", 3, 1), ("a", 2, 2), ("z", 1, 1)]);
    assert_eq!(top[1].packages, ["homebrew:x", "homebrew:y"]);
    assert_eq!(top[0].count, top[0].total_count);
    assert_eq!(top_blockers(&blocker_map(&pkgs), 1).len(), 1);
}

/// A cycle a → b → a ends: the dependency being counted adds 0.
#[test]
fn blocker_cycles_terminate() {
    let pkgs = [blocked("homebrew:a", &["b"]), blocked("homebrew:b", &["a"])];
    let top = top_blockers(&blocker_map(&pkgs), 10);
    // In name order: a counts b (1) + b's count, in which a is in progress (0) → b = 1,
    // a = 2; then b is memoised at 1.
    assert_eq!(
        top.iter()
            .map(|b| (b.dependency.as_str(), b.total_count))
            .collect::<Vec<_>>(),
        [("a", 2), ("b", 1)]
    );
}

/// More than five packages: the first five sorted.
#[test]
fn blockers_list_five_packages() {
    let pkgs: Vec<PackageInfo> = ["f", "e", "d", "c", "b", "a"]
        .iter()
        .map(|n| blocked(&format!("homebrew:{n}"), &["dep"]))
        .collect();
    let top = top_blockers(&blocker_map(&pkgs), 10);
    assert_eq!(top[0].direct_count, 6);
    assert_eq!(top[0].packages.len(), 5);
    assert_eq!(top[0].packages[0], "homebrew:a");
}

/// dashboard.go `Generate`: runs with total 0 dropped, last 10, newest first; rate written
/// as a Go float.
#[test]
fn runs_keep_ten_newest_with_work() {
    let mut text = String::new();
    for i in 0..12 {
        text.push_str(&metric(
            &format!("2026-01-{:02}T00:00:00Z", i + 1),
            3,
            i % 3,
        ));
        text.push('\n');
    }
    text.push_str(&metric("2026-02-01T00:00:00Z", 0, 0));
    let recs = ordered(metrics(&text));
    let r = runs(&recs);
    assert_eq!(r.len(), 10);
    assert_eq!(r[0].timestamp, "2026-01-12T00:00:00Z");
    assert_eq!(r[0].batch_id, "2026-01-12T00-00-00Z");
    assert_eq!(r[9].timestamp, "2026-01-03T00:00:00Z");
    let json: Vec<String> = r[..3]
        .iter()
        .map(|x: &RunSummary| serde_json::to_value(x).unwrap()["rate"].to_string())
        .collect();
    // merged 11 % 3 = 2, 10 % 3 = 1, 9 % 3 = 0 of 3.
    assert_eq!(json, ["0.6666666666666666", "0.3333333333333333", "0"]);
}

/// dashboard.go `loadHealth`: last run is the newest record of any total; runs since the
/// last one with merges; all records when none merged; null runs without records.
#[test]
fn health_tracks_last_success() {
    let text = [
        metric("2026-01-01T00:00:00Z", 2, 1),
        metric("2026-01-03T00:00:00Z", 0, 0),
        metric("2026-01-02T00:00:00Z", 2, 0),
    ]
    .join("\n");
    let recs = ordered(metrics(&text));
    let breakers = BTreeMap::from([(
        "npm".to_owned(),
        Breaker {
            state: BreakerState::Open,
            failures: 5,
            last_failure: Some("2026-01-03T00:00:00Z".into()),
            opens_at: None,
        },
    )]);
    let h = health(ControlInput::Breakers(&breakers), &recs).unwrap();
    assert_eq!(
        h.last_run.as_ref().unwrap().timestamp,
        "2026-01-03T00:00:00Z"
    );
    assert_eq!(h.last_run.as_ref().unwrap().recipes_merged, 0);
    let ok = h.last_successful_run.as_ref().unwrap();
    assert_eq!((ok.succeeded, ok.failed, ok.total), (1, 1, 2));
    assert_eq!(h.runs_since_last_success, 2);
    let v = serde_json::to_value(&h).unwrap();
    assert_eq!(v["ecosystems"]["npm"]["breaker_state"], "open");
    assert!(
        v["ecosystems"]["npm"].get("opens_at").is_none(),
        "omitempty"
    );
    assert!(v["last_run"].get("recipes_merged").is_none(), "omitempty");

    let none_merged = ordered(metrics(&metric("2026-01-01T00:00:00Z", 1, 0)));
    let h = health(ControlInput::Missing, &none_merged).unwrap();
    assert_eq!(h.runs_since_last_success, 1);
    assert!(h.last_successful_run.is_none());
    assert!(health(ControlInput::Missing, &[]).is_none());
    assert!(health(ControlInput::Unusable, &none_merged).is_none());
    let empty = BTreeMap::new();
    let v = serde_json::to_value(health(ControlInput::Breakers(&empty), &[])).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"ecosystems": {}, "last_run": null, "last_successful_run": null, "runs_since_last_success": 0})
    );
}

/// dashboard.go `loadDisambiguationsFromDir`: first record per tool, sorted; high-risk
/// tools listed for review; nil alternatives stay null.
#[test]
fn disambiguations_first_record_per_tool() {
    let rec = |tool: &str, reason: &str, risk: bool| DisambiguationRecord {
        tool: tool.to_owned(),
        selected: format!("npm:{tool}"),
        alternatives: None,
        selection_reason: reason.to_owned(),
        downloads_ratio: 0.0,
        high_risk: risk,
    };
    let s = summarize(vec![
        rec("zz", "priority_fallback", true),
        rec("aa", "curated", false),
        rec("zz", "curated", false),
    ])
    .unwrap();
    assert_eq!(s.total, 2);
    assert_eq!(s.by_reason["priority_fallback"], 1);
    assert_eq!(s.need_review, ["zz"]);
    assert_eq!(s.entries[0].tool, "aa");
    let v = serde_json::to_value(&s.entries[0]).unwrap();
    assert_eq!(v["alternatives"], serde_json::Value::Null);
    assert!(v.get("downloads_ratio").is_none());
    assert!(summarize(Vec::new()).is_none());
}

/// The whole file: key order of Go's `Dashboard` struct, omitted empty sections, `[]` and
/// `{}` for the always-written ones, curated statuses.
#[test]
fn empty_sections_and_key_order() {
    let mut q = Queue {
        entries: vec![
            entry("a", "npm:a", 1, Status::Failed),
            entry("b", "npm:b", 1, Status::Excluded),
        ],
        ..Queue::default()
    };
    q.entries[0].confidence = "curated".into();
    q.entries[1].confidence = "curated".into();
    let dash = build(Inputs {
        now: "2026-08-13T20:40:46.9Z".parse().unwrap(),
        queue: &q,
        failures: &FailureScan::default(),
        metrics: Vec::new(),
        control: ControlInput::Missing,
        disambiguations: Vec::new(),
    });
    let text = serde_json::to_string(&dash).unwrap();
    assert!(
        text.starts_with(r#"{"generated_at":"2026-08-13T20:40:46Z","queue":{"total":2,"#),
        "{text}"
    );
    let v = serde_json::to_value(&dash).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["generated_at", "queue", "blockers", "failures", "curated"]
    );
    assert_eq!(v["blockers"], serde_json::json!([]));
    assert_eq!(v["failures"], serde_json::json!({}));
    assert_eq!(
        v["curated"],
        serde_json::json!([
            {"name": "a", "source": "npm:a", "validation_status": "invalid"},
            {"name": "b", "source": "npm:b", "validation_status": "unknown"},
        ])
    );
    let _ = curated(&q);
}

/// `generate` on disk: missing directories are empty (as Go's glob finds nothing); a control
/// file that does not load is named and `health` left out (Go: `loadHealth` error); a missing
/// queue is an error.
#[test]
fn generate_reads_missing_inputs_as_empty_and_names_a_bad_control_file() {
    use super::load::{DashboardError, Sources, generate};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let sources = Sources {
        queue: root.join("q.json"),
        failures_dir: root.join("failures"),
        metrics_dir: root.join("metrics"),
        disambiguations_dir: root.join("dis"),
        control_file: root.join("control.json"),
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    assert!(matches!(
        generate(&sources, now),
        Err(DashboardError::Queue(_))
    ));
    std::fs::write(
        &sources.queue,
        r#"{"schema_version":1,"entries":[{"name":"a","source":"npm:a","priority":1,"status":"pending","confidence":"auto","failure_count":0}]}"#,
    )
    .unwrap();
    let (dash, report) = generate(&sources, now).unwrap();
    assert!(dash.health.is_none(), "no control file and no metrics");
    assert!(dash.failures.is_empty() && dash.failure_details.is_empty());
    assert!(report.skipped.is_empty());
    assert!(!report.control_file_found);

    std::fs::write(
        &sources.control_file,
        r#"{"circuit_breaker":{"npm":{"state":"Open","failures":1}}}"#,
    )
    .unwrap();
    std::fs::create_dir(&sources.metrics_dir).unwrap();
    std::fs::write(
        sources.metrics_dir.join("batch-runs-1.jsonl"),
        metric("2026-01-01T00:00:00Z", 1, 1),
    )
    .unwrap();
    let (dash, report) = generate(&sources, now).unwrap();
    assert!(
        dash.health.is_none(),
        "an unusable control file hides health"
    );
    assert_eq!(dash.runs.len(), 1);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].path, sources.control_file);
    assert!(
        report.skipped[0].reason.contains("Open"),
        "{:?}",
        report.skipped
    );

    let mut bad = sources.clone();
    bad.queue = root.join("bad.json");
    std::fs::write(
        &bad.queue,
        r#"{"entries":[{"name":"","source":"npm:a","priority":7,"status":"pending","confidence":"auto"}]}"#,
    )
    .unwrap();
    assert!(matches!(
        generate(&bad, now),
        Err(DashboardError::InvalidEntry { index: 0, .. })
    ));
}
