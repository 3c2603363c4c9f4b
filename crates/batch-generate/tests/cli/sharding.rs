//! The nightly pipeline run locally (issue #6): `preflight` → three `--shard K/3` processes at
//! once → `merge`, compared with one unsharded run over the same candidates. Apart from
//! timestamps (classification times, stamps, `updated_at`), the queue, the failure records,
//! `batch-results.json`, the breakers and the summary must be the same. Merging again
//! changes nothing; a missing shard is reported and nothing is written.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::util::{Out, PAST, Sandbox, assert_unchanged, entry, run_cmd, sandbox, snapshot_tree};

/// 18 entries over five ecosystems with every kind of outcome, a github breaker one failure
/// from opening, and a pypi breaker due for its half-open probe.
fn harness() -> Sandbox {
    let mut entries = Vec::new();
    for i in 0..5 {
        entries.push(entry(&format!("ok{i}"), &format!("npm:ok{i}"), 1));
        entries.push(entry(&format!("tool{i}"), &format!("crates.io:tool{i}"), 2));
    }
    for i in 0..2 {
        entries.push(entry(
            &format!("broken{i}"),
            &format!("homebrew:broken{i}"),
            1,
        ));
        entries.push(entry(
            &format!("needs{i}"),
            &format!("homebrew:needs{i}"),
            2,
        ));
        entries.push(entry(&format!("gh{i}"), &format!("github:o/gh{i}"), 1));
    }
    entries.push(entry("probe", "pypi:probe", 3));
    entries.push(entry("../bad", "npm:bad", 1));
    sandbox()
        .queue(&entries)
        .control(json!({
            "enabled": true,
            "circuit_breaker": {
                "github": {"state": "closed", "failures": 4, "last_failure": PAST},
                "pypi": {"state": "open", "failures": 5, "last_failure": PAST, "opens_at": PAST},
            }
        }))
        .rules(&[
            ("broken*", "gen:6"),
            ("gh*", "fail6"),
            ("needs*", "missingdep"),
            ("*", "ok"),
        ])
}

fn fragments(h: &Sandbox) -> PathBuf {
    h.root().join("fragments")
}

/// `preflight --shards 3`; returns its JSON document.
fn preflight(h: &Sandbox) -> Value {
    let mut cmd = h.preflight_cmd();
    cmd.args(["--shards", "3", "--tier", "3", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    out.json()
}

/// The three shard processes, started together; returns their runs in shard order.
fn shards(h: &Sandbox, doc: &Value, which: &[u32]) -> Vec<Out> {
    let id = doc["batch_id"].as_str().unwrap().to_owned();
    let at = doc["planned_at"].as_str().unwrap().to_owned();
    std::thread::scope(|s| {
        let running: Vec<_> = which
            .iter()
            .map(|k| {
                let (id, at) = (id.clone(), at.clone());
                s.spawn(move || {
                    h.run(&[
                        "--tier",
                        "3",
                        "--shard",
                        &format!("{k}/3"),
                        "--batch-id",
                        &id,
                        "--planned-at",
                        &at,
                        "--fragment-dir",
                        fragments(h).to_str().unwrap(),
                        "--json",
                    ])
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn merge(h: &Sandbox, extra: &[&str]) -> Out {
    let mut cmd = h.bare_cmd();
    cmd.arg("merge")
        .arg("--queue")
        .arg(&h.queue)
        .arg("--control-file")
        .arg(&h.control)
        .arg("--output-dir")
        .arg(&h.output)
        .arg("--failures-dir")
        .arg(&h.failures)
        .arg("--results")
        .arg(&h.results)
        .arg("--summary")
        .arg(&h.summary)
        .arg("--fragments")
        .arg(fragments(h))
        .args(extra);
    run_cmd(&mut cmd)
}

/// Replaces the values of time-valued keys by `"<time>"` (null stays null).
fn strip_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                let timed = matches!(
                    k.as_str(),
                    "next_retry_at" | "updated_at" | "timestamp" | "last_failure" | "opens_at"
                );
                if timed && !x.is_null() {
                    *x = json!("<time>");
                } else {
                    strip_times(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

fn read_json(p: &Path) -> Value {
    let mut v: Value = serde_json::from_slice(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    strip_times(&mut v);
    v
}

/// Failure files keyed by ecosystem (the file-name stamp is a timestamp), times stripped.
fn failures(h: &Sandbox) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = h
        .failure_files()
        .into_iter()
        .map(|(name, mut v)| {
            strip_times(&mut v);
            (name.split('-').next().unwrap().to_owned(), v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn preflight_three_shards_at_once_then_merge_equals_an_unsharded_run() {
    let sharded = harness();
    let doc = preflight(&sharded);
    assert_eq!(doc["skip"], false);
    assert_eq!(doc["candidates"], 17, "18 entries minus the invalid one");
    let batch_id = doc["batch_id"].as_str().unwrap().to_owned();

    for (k, out) in shards(&sharded, &doc, &[1, 2, 3]).iter().enumerate() {
        out.ok();
        let j = out.json();
        assert_eq!(j["shard"], format!("{}/3", k + 1), "{}", out.ctx());
    }
    // The shards wrote fragments and nothing else.
    assert!(!sharded.results.exists());
    assert!(!sharded.failures.exists());
    let names: Vec<String> = std::fs::read_dir(fragments(&sharded))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for k in 1..=3 {
        assert!(names.contains(&format!("{batch_id}-shard-{k}-of-3.json")));
    }

    let out = merge(&sharded, &["--json"]);
    out.ok();
    let m = out.json();
    assert_eq!(m["status"], "merged", "{}", out.ctx());
    assert_eq!(m["missing_shards"], json!([]));

    let whole = harness();
    whole.run(&["--tier", "3", "--batch-id", &batch_id]).ok();

    assert_eq!(read_json(&sharded.queue), read_json(&whole.queue), "queue");
    assert_eq!(
        read_json(&sharded.results),
        read_json(&whole.results),
        "results"
    );
    assert_eq!(
        read_json(&sharded.control),
        read_json(&whole.control),
        "breakers"
    );
    assert_eq!(failures(&sharded), failures(&whole), "failure records");
    assert_eq!(sharded.summary_text(), whole.summary_text(), "summary");

    // The expectations themselves, from the rules: 11 ok (5 npm, 5 crates.io, the pypi
    // probe), 4 failed (2 gen:6 homebrew, 2 github), 2 blocked; github's fifth failed batch
    // opens its breaker, the pypi probe closes its own.
    let results = sharded.results_json();
    assert_eq!(
        (
            &results["succeeded"],
            &results["failed"],
            &results["blocked"]
        ),
        (&json!(11), &json!(4), &json!(2))
    );
    assert_eq!(results["batch_id"], batch_id.as_str());
    let control = sharded.control_json();
    assert_eq!(control["circuit_breaker"]["github"]["state"], "open");
    assert_eq!(control["circuit_breaker"]["pypi"]["state"], "closed");

    // Merging again changes nothing.
    let before = sharded.snapshot();
    let again = merge(&sharded, &["--json"]);
    again.ok();
    assert_eq!(again.json()["status"], "already_merged");
    let after = snapshot_tree(&sharded.root());
    let changed = crate::util::changed(&before, &after);
    assert!(
        changed.iter().all(|p| p.ends_with(".lock")),
        "only the lock file's holder pid may change: {changed:?}"
    );
}

#[test]
fn a_missing_shard_is_reported_and_nothing_is_written_unless_allowed() {
    let h = harness();
    let doc = preflight(&h);
    let shard_list: Vec<u32> = serde_json::from_value(doc["shards"].clone()).unwrap();
    assert_eq!(shard_list, vec![1, 2, 3], "every shard has candidates");
    for out in shards(&h, &doc, &[1, 3]) {
        out.ok();
    }
    let before = h.snapshot();
    let out = merge(&h, &[]);
    out.code(1);
    assert!(
        out.stderr.contains("no fragment for shard(s) 2 of 3"),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("--allow-missing"), "{}", out.ctx());
    let changed = crate::util::changed(&before, &h.snapshot());
    assert!(
        changed.iter().all(|p| p.ends_with(".lock")),
        "only the lock file may appear: {changed:?}"
    );

    let out = merge(&h, &["--allow-missing", "--json"]);
    out.ok();
    let m = out.json();
    assert_eq!(m["missing_shards"], json!([2]));
    assert!(
        out.stderr.contains("merged without shard(s) [2]"),
        "{}",
        out.ctx()
    );
}

#[test]
fn merge_annotations_go_to_stderr_and_json_stays_clean() {
    let h = harness();
    let doc = preflight(&h);
    for out in shards(&h, &doc, &[1, 2, 3]) {
        out.ok();
    }
    let out = merge(&h, &["--json", "--annotations"]);
    out.ok();
    out.json(); // stdout is one JSON document
    // Folded to one warning per ecosystem, naming its entries (issue #12: GitHub shows at most
    // 10 annotations of a kind per step); the 6 failed or blocked entries are all named.
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("::warning title="))
        .collect();
    assert_eq!(warnings.len(), 2, "github and homebrew: {}", out.ctx());
    assert!(
        warnings[0].starts_with("::warning title=github%3A 2 failed or blocked::"),
        "{}",
        out.ctx()
    );
    assert!(
        warnings[1].starts_with("::warning title=homebrew%3A 4 failed or blocked::"),
        "{}",
        out.ctx()
    );
    for name in ["gh0", "gh1", "broken0", "broken1", "needs0", "needs1"] {
        assert!(
            warnings.iter().any(|w| w.contains(&format!("{name} ("))),
            "{name}: {}",
            out.ctx()
        );
    }
    assert!(
        out.stderr
            .lines()
            .any(|l| l.starts_with("::error title=circuit breaker github::")),
        "{}",
        out.ctx()
    );
}

#[test]
fn a_shard_needs_a_batch_id_and_a_valid_shard() {
    let h = harness();
    let out = h.run(&["--shard", "1/3"]);
    out.code(2);
    assert!(out.stderr.contains("--batch-id"), "{}", out.ctx());
    for bad in ["0/3", "4/3", "x", "1/0"] {
        h.run(&["--shard", bad, "--batch-id", "b"]).code(2);
    }
    h.run(&["--shard", "1/3", "--batch-id", "../x"]).code(2);
}

#[test]
fn a_shard_runs_its_part_of_the_plan_n_times_slower() {
    let h = harness().default_rate_limits();
    let out = h.run(&[
        "--tier",
        "3",
        "--shard",
        "2/3",
        "--batch-id",
        "b",
        "--dry-run",
    ]);
    out.ok();
    // Default limits are 1 s per start (2 s for github); a third of the batch runs at a
    // third of the rate, so all three shards together keep the limit.
    assert!(out.stdout.contains("(one start per 3s)"), "{}", out.ctx());
    assert!(!out.stdout.contains("(one start per 1s)"), "{}", out.ctx());
    let listed = out
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(
        listed > 0 && listed < 17,
        "only shard 2's candidates: {}",
        out.ctx()
    );
    assert!(!fragments(&h).exists(), "a dry run writes no fragment");
}

/// A real shard run without the plan time from `preflight` is a usage error (issue #12):
/// shards that each planned at their own start could disagree on due breakers and retry times.
/// Nothing runs and nothing is written; the hint names `preflight` and the flag.
#[test]
fn a_shard_without_the_plan_time_is_refused_before_anything_runs() {
    let h = harness();
    let before = h.snapshot();
    let out = h.run(&[
        "--tier",
        "3",
        "--shard",
        "1/3",
        "--batch-id",
        "b",
        "--fragment-dir",
        fragments(&h).to_str().unwrap(),
    ]);
    out.code(2);
    assert!(out.stderr.contains("needs --planned-at"), "{}", out.ctx());
    assert!(
        out.stderr
            .contains("hint: run `batch-generate preflight` first"),
        "{}",
        out.ctx()
    );
    assert_unchanged(&before, &h.snapshot(), &out);
    assert!(h.created().is_empty(), "no generator ran: {}", out.ctx());
    assert!(!fragments(&h).exists());
}

/// Shards started with different selection flags write fragments that `merge` refuses,
/// naming the setting and both values; nothing is written (issue #12).
#[test]
fn merge_refuses_shards_that_ran_with_another_tier() {
    let h = harness();
    let doc = preflight(&h);
    let id = doc["batch_id"].as_str().unwrap().to_owned();
    let at = doc["planned_at"].as_str().unwrap().to_owned();
    for (k, tier) in [(1, "3"), (2, "2")] {
        h.run(&[
            "--tier",
            tier,
            "--shard",
            &format!("{k}/3"),
            "--batch-id",
            &id,
            "--planned-at",
            &at,
            "--fragment-dir",
            fragments(&h).to_str().unwrap(),
        ])
        .ok();
    }
    let before = h.snapshot();
    let out = merge(&h, &["--allow-missing"]);
    out.code(1);
    assert!(
        out.stderr
            .contains("disagree on the tier (--tier) (3 vs 2)"),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("hint: "), "{}", out.ctx());
    assert_unchanged(&before, &h.snapshot(), &out);
}
