//! `explain NAME…` (issue #23): the text names the rule that keeps each entry out (or its place
//! in the batch), `--json` has the documented shape, an unknown name is a usage error with the
//! closest names, and every entry of the real queue is explained, agreeing with `queue status`
//! on how many the next batch selects. Nothing is written.

use batch_generate::exit;
use serde_json::{Value, json};

use crate::util::{Sandbox, With, entry, real_data, run_cmd, sandbox};

const NOW: &str = "2026-07-01T12:00:00Z";

/// Five entries; each comment is its expected answer at the default batch size 25, tier 2.
fn fixture() -> Sandbox {
    let sb = sandbox()
        .queue(&[
            entry("a", "homebrew:a", 1), // candidate 1; its recipe is on disk
            entry("b", "homebrew:b", 3), // priority 3 above tier 2
            entry("c", "homebrew:c", 1) // backoff until 20:00
                .with("status", "failed")
                .with("failure_count", 2)
                .with("next_retry_at", "2026-07-01T20:00:00Z"),
            entry("f", "npm:f", 1), // npm breaker open until 13:00
            entry("g", "npm:g", 1).with("status", "blocked"), // blocked by a
        ])
        .control(
            json!({"enabled": true, "disabled_ecosystems": [], "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "last_failure": "2026-07-01T12:00:00Z",
                    "opens_at": "2026-07-01T13:00:00Z"}}}),
        );
    std::fs::create_dir_all(&sb.failures).unwrap();
    std::fs::write(
        sb.failures.join("npm-2026-07-01T10-00-00Z.jsonl"),
        r#"{"failures":[{"package_id":"npm:g","category":"missing_dep","blocked_by":["a"],"message":"needs a","timestamp":"2026-07-01T10:00:00Z"}]}"#,
    )
    .unwrap();
    std::fs::create_dir_all(sb.output.join("a")).unwrap();
    std::fs::write(sb.output.join("a/a.toml"), "[metadata]\nname = \"a\"\n").unwrap();
    sb
}

fn explain(sb: &Sandbox, args: &[&str]) -> crate::util::Out {
    let mut cmd = sb.bare_cmd();
    cmd.args(["explain", "--now", NOW, "--queue"])
        .arg(&sb.queue)
        .arg("--control-file")
        .arg(&sb.control)
        .arg("--failures-dir")
        .arg(&sb.failures)
        .arg("--output-dir")
        .arg(&sb.output)
        .args(args);
    run_cmd(&mut cmd)
}

/// The first line of the block of entry `name`.
fn verdict<'a>(stdout: &'a str, name: &str) -> &'a str {
    let head = format!("{name} (");
    stdout
        .lines()
        .find(|l| l.starts_with(&head))
        .unwrap_or_else(|| panic!("no block for {name} in\n{stdout}"))
}

#[test]
fn the_text_names_the_rule_that_decides() {
    let sb = fixture();
    let before = std::fs::read(&sb.queue).unwrap();
    let out = explain(&sb, &["a", "b", "homebrew:c", "f", "g"]);
    out.code(exit::SUCCESS);
    let s = &out.stdout;
    assert!(
        s.starts_with(&format!(
            "Next run on {} at {NOW} (batch size 25, tier 2, all ecosystems): 1 candidates",
            sb.queue.display()
        )),
        "{}",
        out.ctx()
    );
    assert_eq!(
        verdict(s, "a"),
        "a (homebrew:a), entry 0: selected: candidate 1 of 1 (normal)"
    );
    assert!(
        verdict(s, "b").ends_with("not selected: priority 3 is above --tier 2 (spec §3 step 2.7)")
    );
    assert!(verdict(s, "c").contains(
        "not selected: next_retry_at 2026-07-01T20:00:00Z is later than now (2026-07-01T12:00:00Z)"
    ));
    assert!(verdict(s, "f").contains("the circuit breaker of npm is open"));
    assert!(verdict(s, "f").contains("it turns half-open at 2026-07-01T13:00:00Z"));
    assert!(verdict(s, "g").contains("not selected: status blocked"));
    assert!(s.contains("    a (pending)\n"), "g is blocked by a: {s}");
    assert!(s.contains("waiting on a (pending)"));
    assert!(s.contains("2026-07-01T10:00:00Z missing_dep: needs a"));
    assert!(s.contains(&format!(
        "{} (on disk)",
        sb.output.join("a/a.toml").display()
    )));
    assert!(s.contains("blocks directly: npm:g"));
    assert_eq!(
        std::fs::read(&sb.queue).unwrap(),
        before,
        "nothing is written"
    );
}

#[test]
fn the_selection_flags_are_the_runs() {
    let sb = fixture();
    // Tier 3 lets b in; batch size 1 leaves it out behind a.
    let out = explain(&sb, &["b", "--tier", "3", "--batch-size", "1"]);
    out.code(exit::SUCCESS);
    assert!(
        verdict(&out.stdout, "b").contains("the batch is full: --batch-size 1 is reached by entries ahead of it (it would be candidate 2"),
        "{}",
        out.ctx()
    );
    let out = explain(&sb, &["a", "--ecosystem", "npm"]);
    assert!(verdict(&out.stdout, "a").contains("ecosystem homebrew is not in --ecosystem npm"));
    explain(&sb, &["a", "--ecosystem", "hombrew"]).code(exit::USAGE);
    explain(&sb, &["a", "--tier", "4"]).code(exit::USAGE);
    // At least one name is required (clap).
    explain(&sb, &[]).code(exit::USAGE);
}

#[test]
fn an_unknown_name_is_a_usage_error_with_the_closest_names() {
    let sb = fixture();
    let out = explain(&sb, &["a", "homebrew:bb"]);
    out.code(exit::USAGE);
    assert!(out.stdout.is_empty(), "{}", out.ctx());
    assert!(
        out.stderr.contains(
            "error: no queue entry has the name or source `homebrew:bb` (closest: homebrew:b, "
        ),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("hint: "), "{}", out.ctx());
}

#[test]
fn json_has_the_documented_shape() {
    let sb = fixture();
    let out = explain(&sb, &["a", "f", "--json", "--shards", "2"]);
    out.code(exit::SUCCESS);
    let doc = out.json();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&doc),
        [
            "queue",
            "control_file",
            "now",
            "batch_size",
            "tier",
            "ecosystems",
            "retry_failed",
            "shards",
            "enabled",
            "candidates",
            "invalid",
            "entries"
        ]
    );
    assert_eq!(doc["now"], NOW);
    assert_eq!(
        (doc["candidates"].as_u64(), doc["shards"].as_u64()),
        (Some(1), Some(2))
    );
    let a = &doc["entries"][0];
    assert_eq!(
        keys(a),
        [
            "query",
            "index",
            "name",
            "source",
            "ecosystem",
            "status",
            "priority",
            "failure_count",
            "next_retry_at",
            "selected",
            "summary",
            "reason",
            "position",
            "unlimited_position",
            "checks",
            "breaker",
            "blocked_by",
            "requeue",
            "blocks",
            "failures",
            "recipe"
        ]
    );
    assert_eq!(a["selected"], true);
    assert_eq!(
        a["position"],
        json!({"position": 1, "candidates": 1, "batch_size": 25,
               "shard": {"shard": 1, "shards": 2, "position": 1, "size": 1}})
    );
    assert_eq!(
        a["checks"][0],
        json!({"rule": "kill_switch", "outcome": "pass",
        "detail": "the kill switch is on (enabled: true)"})
    );
    assert_eq!(a["recipe"]["on_disk"], true);
    let f = &doc["entries"][1];
    assert_eq!(f["selected"], false);
    assert_eq!(f["position"], Value::Null);
    assert_eq!(
        f["breaker"],
        json!({"stored": "open", "next_run": "open",
               "probe": {"kind": "at", "at": "2026-07-01T13:00:00Z"}})
    );
    let failing: Vec<&Value> = f["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["outcome"] == "fail")
        .map(|c| &c["rule"])
        .collect();
    assert_eq!(failing, [&json!("breaker")]);
}

/// Every entry of the real queue gets an answer, and the entries it calls selected are as
/// many as `queue status` says the next batch selects (both ask the run's selection).
#[test]
fn every_entry_of_the_real_queue_is_explained() {
    let queue = real_data("priority-queue.json");
    let control = real_data("batch-control.json");
    let text = std::fs::read_to_string(&queue).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<String> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    let sb = sandbox();
    // After the breakers' opens_at: every ecosystem probes.
    let now = "2026-06-27T00:00:00Z";
    let mut cmd = sb.bare_cmd();
    cmd.args(["explain", "--json", "--now", now, "--queue"])
        .arg(&queue)
        .arg("--control-file")
        .arg(&control)
        .arg("--failures-dir")
        .arg(real_data("failures"))
        .args(&names);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let r = out.json();
    let entries = r["entries"].as_array().unwrap();
    let mut seen = vec![false; names.len()];
    for e in entries {
        seen[e["index"].as_u64().unwrap() as usize] = true;
        assert!(!e["summary"].as_str().unwrap().is_empty());
    }
    assert!(seen.iter().all(|s| *s), "every entry is explained");
    let selected: std::collections::BTreeSet<u64> = entries
        .iter()
        .filter(|e| e["selected"] == true)
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(selected.len() as u64, r["candidates"].as_u64().unwrap());

    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "status", "--json", "--now", now, "--queue"])
        .arg(&queue)
        .arg("--control-file")
        .arg(&control)
        .arg("--failures-dir")
        .arg(real_data("failures"));
    let status = run_cmd(&mut cmd);
    status.code(exit::SUCCESS);
    assert_eq!(
        status.json()["next_batch"]["selected"],
        r["candidates"],
        "explain and queue status ask the same selection"
    );
    assert!(
        r["candidates"].as_u64().unwrap() > 0,
        "probes of the half-open ecosystems"
    );
}
