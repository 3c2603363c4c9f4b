//! `report` (issue #14): reads every metrics file of both shapes, names and skips a file
//! that does not parse, filters, exits 2 on a bad option value, and renders the real corpus
//! (snapshot, checked against jq over `metrics-corpus/`, read from `$BATCH_TSUKU_DATA`).

use std::path::{Path, PathBuf};

use batch_generate::exit;

use crate::util::tsuku_data::corpus;
use crate::util::{Out, run_cmd, sandbox};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `report` run from the workspace root with `args`.
fn report(args: &[&str]) -> Out {
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.current_dir(workspace()).arg("report").args(args);
    run_cmd(&mut cmd)
}

#[test]
fn fixtures_in_both_shapes_with_a_bad_file_named_and_skipped() {
    let out = report(&["--metrics-dir", "testdata/metrics", "--json"]);
    out.code(exit::SUCCESS);
    assert!(
        out.stderr.contains(
            "warning: skipped testdata/metrics/batch-runs-2026-03-02T00-00-00Z.jsonl: line 2"
        ),
        "{}",
        out.ctx()
    );
    let doc = out.json();
    assert_eq!(doc["files_read"], 4);
    assert_eq!(doc["duplicates"], 1);
    assert_eq!(doc["ignored_files"][0], "seeding-runs.jsonl");
    assert_eq!(doc["bad_files"][0]["line"], 2);
    assert_eq!(doc["batches"].as_array().unwrap().len(), 5);
    assert_eq!(doc["batches"][0]["batch_id"], "2026-02-01-homebrew");
    assert_eq!(doc["batches"][2]["success_rate"], 0.5);
    assert!(doc["batches"][3]["success_rate"].is_null());
    assert_eq!(doc["summary"]["merged"], 9);
    assert_eq!(doc["summary"]["total"], 10);
    assert_eq!(doc["summary"]["success_rate"], 0.9);
    assert_eq!(doc["summary"]["platforms"][1]["platform"], "linux-arm64");
    assert_eq!(doc["summary"]["platforms"][1]["tested"], 24);
    assert_eq!(doc["trend"]["direction"], "up");
}

#[test]
fn filters_combine_and_since_takes_a_date_or_rfc3339() {
    let ids = |out: &Out| -> Vec<String> {
        out.json()["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["batch_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let dir = ["--metrics-dir", "testdata/metrics", "--json"];
    let out = report(&[&dir[..], &["--since", "2026-03-05"]].concat());
    out.code(exit::SUCCESS);
    assert_eq!(ids(&out), ["2026-03-05", "2026-03-09"]);
    let out = report(&[&dir[..], &["--since", "2026-03-05T01:00:01Z"]].concat());
    assert_eq!(ids(&out), ["2026-03-09"]);
    let out = report(&[&dir[..], &["--ecosystem", "homebrew", "--last", "1"]].concat());
    assert_eq!(ids(&out), ["2026-02-10-homebrew"]);
    let out = report(&[&dir[..], &["--platform", "darwin-x86_64"]].concat());
    assert_eq!(ids(&out), ["2026-02-10-homebrew", "2026-03-01"]);
    assert_eq!(out.json()["batches"][0]["platform"]["failed"], 1);
}

#[test]
fn bad_option_values_exit_2_and_a_missing_dir_exits_1() {
    let dir = ["--metrics-dir", "testdata/metrics"];
    for bad in [
        &["--last", "0"][..],
        &["--last", "x"],
        &["--since", "2026-13-01"],
        &["--since", "yesterday"],
        &["--ecosystem", "hombrew"],
        &["--platform", "linux-riscv64"],
        &["--bogus"],
    ] {
        let out = report(&[&dir[..], bad].concat());
        out.code(exit::USAGE);
        assert!(out.stdout.is_empty(), "{bad:?}: {}", out.ctx());
    }
    let out = report(&[
        "--metrics-dir",
        "testdata/metrics",
        "--ecosystem",
        "hombrew",
    ]);
    assert!(
        out.stderr.contains("unknown ecosystem \"hombrew\"") && out.stderr.contains("hint:"),
        "{}",
        out.ctx()
    );
    let out = report(&["--metrics-dir", "testdata/no-such-dir"]);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("testdata/no-such-dir") && out.stderr.contains("hint:"),
        "{}",
        out.ctx()
    );
}

/// The real corpus (`$BATCH_TSUKU_DATA/metrics-corpus`) since March for linux-x86_64: 19 runs
/// tested it, 35 recipes (spec §10.4: 30 in March, 4 in April, 1 in May), all merged, 17
/// constrained, 175 rows (5 per recipe) of which 123 passed, 211 candidates — each number
/// checked with jq over the corpus. Run from the data directory, so the header names
/// `metrics-corpus` wherever the data lives.
#[test]
fn snapshot_of_the_real_corpus() {
    let Some(corpus) = corpus("metrics-corpus", "report::snapshot_of_the_real_corpus") else {
        return;
    };
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.current_dir(corpus.parent().expect("metrics-corpus has a parent"))
        .arg("report")
        .args([
            "--metrics-dir",
            "metrics-corpus",
            "--since",
            "2026-03-01",
            "--platform",
            "linux-x86_64",
        ]);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    assert!(out.stderr.is_empty(), "{}", out.ctx());
    assert!(
        out.stdout
            .contains("recipes: total 35, merged 35, excluded 0, constrained 17")
    );
    assert!(
        out.stdout
            .contains("| linux-x86_64 |    175 |    123 |     52 |     70.3% |")
    );
    insta::assert_snapshot!("report_real_corpus_since_march_linux_x86_64", out.stdout);
}
