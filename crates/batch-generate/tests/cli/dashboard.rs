//! `dashboard` (issue #23, replacing tsuku's `queue-analytics`): on tsuku's real data it writes
//! what tsuku's Go tool wrote (`website-pipeline/dashboard.json`, compared as parsed JSON with
//! `generated_at` aside); on small inputs it names and skips a bad file, treats missing
//! directories as empty, fills `$GITHUB_STEP_SUMMARY`, and exits 1 without a queue.

use std::path::Path;

use batch_generate::exit;
use serde_json::Value;

use crate::util::{Out, entry, queue_text, run_cmd, sandbox, write_tree};

/// `dashboard` with `args`, run in `dir`, environment `env`.
fn dashboard(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Out {
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.current_dir(dir).arg("dashboard").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_cmd(&mut cmd)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The first differing path between two JSON values, for a readable failure.
fn first_difference(ours: &Value, theirs: &Value, at: &str) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().chain(b.keys()) {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_difference(x, y, &format!("{at}.{k}")) {
                            return Some(d);
                        }
                    }
                    (x, y) => return Some(format!("{at}.{k}: ours {x:?}, Go's {y:?}")),
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]"))),
        _ if ours == theirs => None,
        _ => Some(format!("{at}: ours {ours}, Go's {theirs}")),
    }
}

/// The real data: the queue, `failures-corpus/` and `metrics-corpus/` (the directories Go
/// read: `failures/` and `metrics/` hold only the last runs and give other counts), the
/// curated disambiguations and the control file. Every key equals Go's output but
/// `generated_at`; the README's differences table lists no difference this data exercises
/// (each concerns input this data does not contain), so none is accounted for here.
#[test]
fn real_data_equals_tsukus_dashboard() {
    let Some(data) = crate::util::tsuku_data::corpus("", "real_data_equals_tsukus_dashboard")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("website/pipeline/dashboard.json");
    let arg = |rel: &str| data.join(rel).into_os_string().into_string().unwrap();
    let out = dashboard(
        tmp.path(),
        &[
            "--queue",
            &arg("priority-queue.json"),
            "--failures-dir",
            &arg("failures-corpus"),
            "--metrics-dir",
            &arg("metrics-corpus"),
            "--disambiguations-dir",
            &arg("disambiguations"),
            "--control-file",
            &arg("batch-control.json"),
            "--json",
        ],
        &[],
    );
    out.code(exit::SUCCESS);
    let summary = out.json();
    assert_eq!(
        summary["inputs"]["skipped"],
        serde_json::json!([]),
        "{}",
        out.ctx()
    );
    let mut ours = read_json(&out_path);
    let mut theirs = read_json(&data.join("website-pipeline/dashboard.json"));
    // generated_at: now, whole seconds, UTC.
    let stamp = ours["generated_at"].as_str().unwrap().to_owned();
    assert!(stamp.len() == 20 && stamp.ends_with('Z'), "{stamp}");
    for v in [&mut ours, &mut theirs] {
        v.as_object_mut().unwrap().remove("generated_at");
    }
    if let Some(d) = first_difference(&ours, &theirs, "$") {
        panic!("dashboard.json differs from Go's at {d}");
    }
    assert_eq!(ours, theirs);
    // Byte for byte too: Go's indentation, escapes and number forms.
    let text = |p: &Path| -> String {
        let t = std::fs::read_to_string(p).unwrap();
        t.lines()
            .filter(|l| !l.starts_with("  \"generated_at\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        text(&out_path) == text(&data.join("website-pipeline/dashboard.json")),
        "same JSON values but different bytes"
    );
    // The numbers the pages show.
    assert_eq!(ours["queue"]["total"], 5305);
    assert_eq!(ours["runs"].as_array().unwrap().len(), 10);
    assert_eq!(ours["failure_details"].as_array().unwrap().len(), 200);
    assert_eq!(ours["blockers"][0]["dependency"], "python@3.14");
}

const CONTROL: &str = r#"{"enabled":true,"circuit_breaker":{"npm":{"state":"open","failures":3,"last_failure":"2026-03-01T00:00:00Z","opens_at":"2026-03-01T01:00:00Z"}}}"#;

/// Small inputs: a metrics file that does not parse is named and skipped, the rest is read;
/// the step summary gets the headline numbers; `dashboard.json` has Go's keys in Go's order.
#[test]
fn small_inputs_bad_metrics_named_and_skipped_step_summary_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let queue = queue_text(
        &[entry("a", "npm:a", 1), entry("b", "npm:b", 2)],
        "2026-03-01T00:00:00Z",
    );
    write_tree(
        root,
        &[
            ("data/queues/priority-queue.json", &queue),
            ("batch-control.json", CONTROL),
            (
                "data/failures/npm-2026-03-01T00-00-00Z.jsonl",
                "{\"recipe\":\"a\",\"platform\":\"linux\",\"exit_code\":6,\"category\":\"validation_failed\",\"timestamp\":\"2026-03-01T00:00:00Z\"}\nnot json\n",
            ),
            (
                "data/metrics/batch-runs-2026-03-01T00-00-00Z.jsonl",
                r#"{"batch_id":"x","ecosystems":{"npm":2},"total":2,"merged":1,"excluded":1,"constrained":0,"timestamp":"2026-03-01T00:00:00Z","duration_seconds":9}"#,
            ),
            ("data/metrics/batch-runs-bad.jsonl", "{\"batch_id\":\n"),
        ],
    );
    let summary = root.join("step-summary.md");
    let out = dashboard(root, &["--json"], &[("GITHUB_STEP_SUMMARY", &summary)]);
    out.code(exit::SUCCESS);
    assert!(
        out.stderr
            .contains("warning: skipped data/metrics/batch-runs-bad.jsonl: line 2"),
        "{}",
        out.ctx()
    );
    let doc = out.json();
    assert_eq!(doc["inputs"]["failure_lines_skipped"]["malformed"], 1);
    assert_eq!(doc["inputs"]["metrics_files"], 1);
    let dash = read_json(&root.join("website/pipeline/dashboard.json"));
    let keys: Vec<&str> = dash
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // No disambiguations directory and no curated entries: both left out (omitempty).
    assert_eq!(
        keys,
        [
            "generated_at",
            "queue",
            "blockers",
            "failures",
            "failure_details",
            "health",
            "runs"
        ]
    );
    assert_eq!(dash["failures"], serde_json::json!({"install_failed": 1}));
    assert_eq!(
        dash["failure_details"][0]["id"],
        "npm-2026-03-01T00-00-00Z-a"
    );
    assert_eq!(dash["failure_details"][0]["subcategory"], "install_failed");
    assert_eq!(dash["runs"][0]["rate"], serde_json::json!(0.5));
    assert_eq!(
        dash["health"]["ecosystems"]["npm"]["opens_at"],
        "2026-03-01T01:00:00Z"
    );
    assert_eq!(dash["health"]["runs_since_last_success"], 0);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| 2 | 2 | 0 | 0 | 0 | none | 2026-03-01T00:00:00Z | npm | 1 |"),
        "{md}"
    );
}

/// Without a queue nothing is written and the exit is 1 (Go would write an empty dashboard:
/// README "Differences").
#[test]
fn missing_queue_exits_1_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = dashboard(tmp.path(), &[], &[]);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("priority-queue.json"), "{}", out.ctx());
    assert!(!tmp.path().join("website").exists());
}
