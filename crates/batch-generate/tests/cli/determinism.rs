//! Concurrency does not change results: `--jobs 1` and `--jobs 8` on the same mixed queue
//! write the same records, results, queue and summary, apart from timestamps.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::util::{entry, sandbox, utc_date};

/// What a run wrote, with every time-dependent part removed.
#[derive(Debug, PartialEq)]
struct Written {
    failures: BTreeMap<String, Value>,
    results: Value,
    queue: Value,
    summary: String,
    calls: Vec<String>,
}

fn run_with_jobs(jobs: &str) -> Written {
    let h = sandbox()
        .rules(&[
            ("a", "ok"),
            ("b", "fail6"),
            ("c", "blocked"),
            ("d", "val:6"),
            ("e", "ok"),
            ("f", "fail6"),
            ("g", "val:6"),
            ("h", "missingdep"),
        ])
        .env("FAKE_TSUKU_DELAY", "0.05")
        .queue(&[
            entry("a", "homebrew:a", 1),
            entry("b", "homebrew:b", 1),
            entry("c", "npm:c", 1),
            entry("d", "npm:d", 1),
            entry("e", "cargo:e", 1),
            entry("f", "cargo:f", 1),
            entry("g", "homebrew:g", 1),
            entry("h", "npm:h", 1),
        ]);
    let d0 = utc_date();
    let out = h.run(&["--jobs", jobs]);
    let d1 = utc_date();
    out.ok();

    let mut failures = BTreeMap::new();
    for (name, mut v) in h.failure_files() {
        let eco = name.split('-').next().unwrap().to_owned();
        assert!(v["updated_at"].is_string(), "{name}");
        v.as_object_mut().unwrap().remove("updated_at");
        for f in v["failures"].as_array_mut().unwrap() {
            assert!(f["timestamp"].is_string(), "{name}");
            f.as_object_mut().unwrap().remove("timestamp");
        }
        assert!(
            failures.insert(eco, v).is_none(),
            "two failure files for one ecosystem: {name}"
        );
    }
    let mut results = h.results_json();
    results.as_object_mut().unwrap().remove("timestamp");
    let mut queue = h.queue_json();
    queue.as_object_mut().unwrap().remove("updated_at");
    let root = h.root().display().to_string();
    let mut calls: Vec<String> = h
        .log_lines()
        .into_iter()
        .map(|l| l.replace(&root, "[TMP]"))
        .collect();
    calls.sort();
    Written {
        failures,
        results,
        queue,
        summary: h.scrub(&h.summary_text(), &[d0, d1]),
        calls,
    }
}

#[test]
fn jobs_1_and_jobs_8_write_the_same() {
    let one = run_with_jobs("1");
    let eight = run_with_jobs("8");
    assert_eq!(one.results["total"], 8);
    assert_eq!(one.results["succeeded"], 2);
    assert_eq!(one.results["blocked"], 2);
    assert_eq!(one.results["failed"], 4);
    // Records keep selection order within each ecosystem file.
    let hb: Vec<&str> = one.failures["homebrew"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["package_id"].as_str().unwrap())
        .collect();
    assert_eq!(hb, ["homebrew:b", "homebrew:g"]);
    assert_eq!(
        one.failures.keys().collect::<Vec<_>>(),
        ["cargo", "homebrew", "npm"]
    );
    assert_eq!(one, eight);
}
