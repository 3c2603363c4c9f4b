//! The metrics history over tsuku's whole metrics corpus (`metrics-corpus/`, 1,672 files, from
//! `$BATCH_TSUKU_DATA`), checked against the numbers of spec §10.4 and §1.5 (worked out there
//! with jq, not with this code), and over the repository's five samples of both shapes.

use batch::history::report::{Filter, build, select};
use batch::history::{Shape, read_dir};

use crate::util::{corpus, fixture};

/// `testdata/tsuku/metrics/`: the legacy aggregate (40 old-shape records), three timestamped
/// new-shape runs of 2026-06-26 and the seeding log (counted with a Python scan of the files).
#[test]
fn metrics_samples_of_both_shapes_are_read_whole() {
    let h = read_dir(&fixture("metrics")).unwrap();
    assert!(h.bad_files.is_empty(), "{:?}", h.bad_files);
    assert_eq!(h.ignored_files, ["seeding-runs.jsonl"]);
    assert_eq!((h.files_read, h.duplicates), (4, 0));
    let (legacy, timestamped): (Vec<_>, Vec<_>) =
        h.records.iter().partition(|r| r.file == "batch-runs.jsonl");
    assert_eq!(legacy.len(), 40);
    assert!(legacy.iter().all(|r| r.shape == Shape::Old));
    let stamps: Vec<&str> = timestamped.iter().map(|r| r.timestamp.as_str()).collect();
    assert_eq!(
        stamps,
        [
            "2026-06-26T16:20:20Z",
            "2026-06-26T18:56:26Z",
            "2026-06-26T20:51:08Z"
        ]
    );
    assert!(timestamped.iter().all(|r| r.shape == Shape::New));
}

#[test]
fn whole_metrics_corpus_matches_the_spec_numbers() {
    let Some(dir) = corpus(
        "metrics-corpus",
        "real::history::whole_metrics_corpus_matches_the_spec_numbers",
    ) else {
        return;
    };
    let h = read_dir(&dir).unwrap();
    assert!(h.bad_files.is_empty(), "{:?}", h.bad_files);
    assert_eq!(
        h.ignored_files,
        ["seeding-runs.jsonl"],
        "not batch generation"
    );
    // 1,670 timestamped files plus the legacy aggregate.
    assert_eq!(h.files_read, 1671);
    assert_eq!(h.duplicates, 0);
    let (legacy, timestamped): (Vec<_>, Vec<_>) =
        h.records.iter().partition(|r| r.file == "batch-runs.jsonl");
    assert_eq!(legacy.len(), 40);
    assert!(legacy.iter().all(|r| r.shape == Shape::Old));
    assert_eq!(timestamped.len(), 1670);
    let old = timestamped.iter().filter(|r| r.shape == Shape::Old).count();
    assert_eq!((old, timestamped.len() - old), (215, 1455));
    assert!(
        h.records.iter().all(|r| r.excluded == 0),
        "excluded is 0 in every run"
    );
    assert_eq!(
        timestamped.first().unwrap().timestamp,
        "2026-02-07T02:22:40Z"
    );
    assert_eq!(
        timestamped.last().unwrap().timestamp,
        "2026-06-26T20:51:08Z"
    );

    // Over the 1,670 timestamped runs: 41 runs with recipes, 100 recipes, 80 constrained,
    // 8,163 candidates, and 5/4/1/1 platform rows per recipe.
    let since = Filter {
        since: Some("2026-02-07T00:00:00Z".parse().unwrap()),
        ..Filter::default()
    };
    let r = build(&select(&h, &since).unwrap(), None);
    let s = &r.summary;
    assert_eq!(s.runs, 1670);
    assert_eq!(
        (s.runs_with_recipes, s.merged, s.total, s.constrained),
        (41, 100, 100, 80)
    );
    assert_eq!(s.candidates, 8163);
    let tested: Vec<u64> = s.platforms.iter().map(|p| p.counts.tested).collect();
    assert_eq!(tested, [500, 400, 100, 100]);
    assert_eq!(s.median_duration_seconds, 13, "spec §10.4: median 13 s");
    assert_eq!(s.max_duration_seconds, 40, "spec §10.4: max 40 s");
    // No recipes since May: the last two weeks have no rate to compare.
    let t = r.trend.unwrap();
    assert_eq!((t.current.total, t.previous.total), (0, 0));

    // The legacy records predate the corpus; --ecosystem now matches both shapes.
    let homebrew = Filter {
        ecosystem: Some("homebrew".into()),
        ..Filter::default()
    };
    let hb = select(&h, &homebrew).unwrap();
    assert!(hb.iter().any(|r| r.shape == Shape::New));
    assert!(hb.iter().any(|r| r.shape == Shape::Old));
}
