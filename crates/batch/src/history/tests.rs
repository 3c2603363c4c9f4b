//! Unit tests of the metrics history on the fixtures in `testdata/metrics/` (both shapes,
//! pretty and compact, several values per file, the legacy aggregate with a duplicate, a
//! truncated file, and `seeding-runs.jsonl`). Expected numbers are worked out by hand from
//! the fixture files.

use std::path::{Path, PathBuf};

use super::metrics::{Shape, parse_records, read_dir};
use super::report::{Direction, Filter, FilterError, build, select};
use super::rollback::{failure_file_time, shell_quote};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/metrics")
}

fn ids(records: &[&super::MetricsRecord]) -> Vec<String> {
    records.iter().map(|r| r.batch_id.clone()).collect()
}

#[test]
fn reads_both_shapes_skips_the_bad_file_and_the_duplicate() {
    let h = read_dir(&fixtures()).unwrap();
    let got: Vec<(&str, Shape)> = h
        .records
        .iter()
        .map(|r| (r.batch_id.as_str(), r.shape))
        .collect();
    assert_eq!(
        got,
        [
            ("2026-02-01-homebrew", Shape::Old),
            ("2026-02-10-homebrew", Shape::Old),
            ("2026-03-01", Shape::New),
            ("2026-03-05", Shape::New),
            ("2026-03-09", Shape::New),
        ]
    );
    // The timestamped file sorts before the legacy aggregate, so its copy is the one kept.
    assert_eq!(h.records[1].file, "batch-runs-2026-02-10T05-00-00Z.jsonl");
    assert_eq!(h.records[1].platforms.len(), 4);
    assert_eq!(h.duplicates, 1);
    assert_eq!(h.files_read, 4);
    assert_eq!(h.ignored_files, ["seeding-runs.jsonl"]);
    assert_eq!(h.bad_files.len(), 1);
    assert_eq!(h.bad_files[0].file, "batch-runs-2026-03-02T00-00-00Z.jsonl");
    assert_eq!(h.bad_files[0].line, 2, "{:?}", h.bad_files[0]);
    assert_eq!(h.records[0].ecosystems, ["homebrew"]);
    assert_eq!(h.records[0].candidates, None);
    assert_eq!(h.records[2].ecosystems, ["npm", "pypi"]);
}

#[test]
fn a_record_of_the_wrong_shape_is_reported_with_its_position() {
    let text = b"{\"batch_id\":\"x\",\"total\":0,\"merged\":0,\"excluded\":0,\"constrained\":0,\n\"timestamp\":\"2026-01-01T00:00:00Z\",\"duration_seconds\":1}";
    let bad = parse_records("f.jsonl", text).unwrap_err();
    assert!(bad.message.contains("neither"), "{bad:?}");
    assert_eq!((bad.line, bad.column), (2, 56));
    let bad = parse_records("f.jsonl", b"[1, 2]").unwrap_err();
    assert_eq!(bad.line, 1);
    let bad = parse_records(
        "f.jsonl",
        br#"{"batch_id":"x","ecosystems":{},"total":0,"merged":0,"excluded":0,"constrained":0,"timestamp":"yesterday","duration_seconds":1}"#,
    )
    .unwrap_err();
    assert!(bad.message.contains("RFC 3339"), "{bad:?}");
    assert!(parse_records("empty.jsonl", b"").unwrap().is_empty());
}

#[test]
fn summary_and_trend_over_all_fixtures() {
    let h = read_dir(&fixtures()).unwrap();
    let all = select(&h, &Filter::default()).unwrap();
    let r = build(&all, None);
    let s = &r.summary;
    assert_eq!((s.runs, s.runs_with_recipes), (5, 4));
    assert_eq!(
        (s.total, s.merged, s.excluded, s.constrained),
        (10, 9, 1, 3)
    );
    assert_eq!(s.candidates, 16);
    assert_eq!(s.success_rate, Some(0.9));
    assert_eq!(
        (s.median_duration_seconds, s.max_duration_seconds),
        (11, 20)
    );
    let rates: Vec<(&str, u64, u64)> = s
        .platforms
        .iter()
        .map(|p| (p.platform.as_str(), p.counts.tested, p.counts.passed))
        .collect();
    assert_eq!(
        rates,
        [
            ("linux-x86_64", 50, 45),
            ("linux-arm64", 24, 22),
            ("darwin-arm64", 6, 6),
            ("darwin-x86_64", 6, 5),
        ]
    );
    assert_eq!(r.batches[3].success_rate, None, "0 recipes has no rate");
    assert_eq!(r.batches[2].candidates, Some(6));
    let t = r.trend.unwrap();
    assert_eq!(
        (t.current.runs, t.current.total, t.current.merged),
        (2, 1, 1)
    );
    assert_eq!(
        (t.previous.runs, t.previous.total, t.previous.merged),
        (1, 2, 1)
    );
    assert_eq!(t.current.until, "2026-03-09T01:00:00Z");
    assert_eq!(t.previous.after, "2026-02-23T01:00:00Z");
    assert_eq!(t.direction, Direction::Up);
}

#[test]
fn filters_apply_in_order_and_unknown_values_are_errors() {
    let h = read_dir(&fixtures()).unwrap();
    let f = |f: Filter| ids(&select(&h, &f).unwrap());
    let eco = |e: &str| Filter {
        ecosystem: Some(e.into()),
        ..Filter::default()
    };
    assert_eq!(
        f(eco("homebrew")),
        ["2026-02-01-homebrew", "2026-02-10-homebrew"]
    );
    assert_eq!(f(eco("npm")), ["2026-03-01"]);
    assert!(f(eco("go")).is_empty(), "known to tsuku, no runs");
    assert!(matches!(
        select(&h, &eco("hombrew")),
        Err(FilterError::UnknownEcosystem { .. })
    ));
    let platform = Filter {
        platform: Some("linux-arm64".into()),
        ..Filter::default()
    };
    assert_eq!(f(platform.clone()), ["2026-02-10-homebrew", "2026-03-01"]);
    let only = build(&select(&h, &platform).unwrap(), Some("linux-arm64"));
    assert_eq!(only.summary.platforms.len(), 1);
    assert_eq!(only.batches[1].platform.unwrap().failed, 2);
    let bad = Filter {
        platform: Some("linux-riscv".into()),
        ..Filter::default()
    };
    assert!(matches!(
        select(&h, &bad),
        Err(FilterError::UnknownPlatform { .. })
    ));
    let since = Filter {
        since: Some("2026-03-01T00:00:00Z".parse().unwrap()),
        ..Filter::default()
    };
    assert_eq!(f(since), ["2026-03-01", "2026-03-05", "2026-03-09"]);
    let last = Filter {
        last: Some(2),
        ecosystem: Some("homebrew".into()),
        ..Filter::default()
    };
    assert_eq!(f(last), ["2026-02-01-homebrew", "2026-02-10-homebrew"]);
    let last = Filter {
        last: Some(2),
        ..Filter::default()
    };
    assert_eq!(f(last), ["2026-03-05", "2026-03-09"]);
}

#[test]
fn empty_selection_has_no_trend_and_no_rates() {
    let h = read_dir(&fixtures()).unwrap();
    let none = Filter {
        ecosystem: Some("go".into()),
        ..Filter::default()
    };
    let r = build(&select(&h, &none).unwrap(), None);
    assert!(r.trend.is_none());
    assert_eq!(r.summary.success_rate, None);
    assert_eq!(r.summary.platforms.len(), 4);
    assert!(r.summary.platforms.iter().all(|p| p.pass_rate.is_none()));
}

#[test]
fn missing_metrics_dir_is_an_error() {
    assert!(read_dir(Path::new("/nonexistent/metrics")).is_err());
}

#[test]
fn failure_file_names_give_the_merge_time() {
    assert_eq!(
        failure_file_time("batch-2026-03-02T14-05-08Z.jsonl").map(|t| t.to_string()),
        Some("2026-03-02T14:05:08Z".to_owned())
    );
    assert_eq!(
        failure_file_time("homebrew-2026-03-02T14-05-08Z.jsonl"),
        None
    );
    assert_eq!(failure_file_time("batch-junk.jsonl"), None);
}

#[test]
fn shell_quoting() {
    assert_eq!(shell_quote("recipes/b/bat.toml"), "recipes/b/bat.toml");
    assert_eq!(shell_quote("recipes/a b.toml"), "'recipes/a b.toml'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
}
