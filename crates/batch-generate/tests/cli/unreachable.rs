//! A dead upstream ends its ecosystem's part of the run (issue #22, `--unreachable-after K`),
//! and a `--max-duration` shorter than `--timeout` is refused (issue #22), through the binary.

use batch_generate::exit;

use crate::util::{entry, run_cmd, sandbox};

const HOMEBREW: usize = 6;

/// Six homebrew entries whose every `create` exits 5 (fake mode `net`) and two npm entries
/// that pass; K = 2, one job, homebrew starts 200 ms apart and retries wait 10 ms (so a
/// retry is always waiting when a new entry could start, and retries go first; the adaptive
/// slowdown is off to keep the test short). The run stops
/// homebrew after its first entries exhausted their retries: the rest are never started or
/// are cut between retries, stay unchanged in the queue, and are reported as `not run:
/// homebrew unreachable` in the final line, `--json`, the summary, `batch-results.json` and
/// `$GITHUB_OUTPUT`; npm finishes; homebrew's breaker counts one failed batch; exit 0.
#[test]
fn an_ecosystem_whose_every_create_exits_5_stops_after_k_entries() {
    let mut entries: Vec<serde_json::Value> = (1..=HOMEBREW)
        .map(|i| entry(&format!("h{i}"), &format!("homebrew:h{i}"), 1))
        .collect();
    entries.push(entry("n1", "npm:n1", 1));
    entries.push(entry("n2", "npm:n2", 1));
    let h = sandbox()
        .queue(&entries)
        .rules(&[("h*", "net"), ("*", "ok")]);
    let output = h.root().join("gh-output");
    let mut cmd = h.cmd();
    cmd.args([
        "--jobs",
        "1",
        "--unreachable-after",
        "2",
        "--retry-delay",
        "10ms",
        "--rate-limit",
        "homebrew=200ms",
        "--adaptive",
        "off",
        "--json",
    ])
    .env("GITHUB_ACTIONS", "true")
    .env("GITHUB_OUTPUT", &output)
    .env("GITHUB_STEP_SUMMARY", h.root().join("gh-summary.md"));
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let ctx = out.ctx();
    let doc = out.json();

    let by_name = |n: &str| {
        h.entries()
            .into_iter()
            .find(|e| e["name"] == n)
            .unwrap_or_else(|| panic!("{n} in the queue"))
    };
    for n in ["n1", "n2"] {
        assert_eq!(by_name(n)["status"], "success", "{n}: {ctx}");
    }
    let failed: Vec<String> = (1..=HOMEBREW)
        .map(|i| format!("h{i}"))
        .filter(|n| by_name(n)["status"] == "failed")
        .collect();
    // The first two to finish exhausted their retries and declared homebrew unreachable.
    // With one job a third one's last attempt cannot overlap theirs, except in the instant
    // between a process's end and its reading, hence at most 3.
    assert!((2..=3).contains(&failed.len()), "failed {failed:?}: {ctx}");
    let not_run = HOMEBREW - failed.len();
    for i in 1..=HOMEBREW {
        let n = format!("h{i}");
        let e = by_name(&n);
        if failed.contains(&n) {
            assert_eq!(e["failure_count"], 1, "{n}: {ctx}");
        } else {
            assert_eq!(
                (&e["status"], &e["failure_count"], &e["next_retry_at"]),
                (&"pending".into(), &0.into(), &serde_json::Value::Null),
                "{n} is untouched: {ctx}"
            );
        }
    }
    // Some homebrew entries never started at all: nothing waited for homebrew's permits.
    let log = std::fs::read_to_string(&h.log).unwrap_or_default();
    let started = (1..=HOMEBREW)
        .filter(|i| log.lines().any(|l| l.starts_with(&format!("create h{i} "))))
        .count();
    assert!(started < HOMEBREW, "started {started}: {log}");

    assert_eq!(doc["not_run"], not_run, "{ctx}");
    assert_eq!(doc["unreachable"]["homebrew"], not_run, "{ctx}");
    assert_eq!(doc["failed"], failed.len(), "{ctx}");
    assert_eq!(doc["succeeded"], 2, "{ctx}");
    let line = format!("not run: homebrew unreachable ({not_run} entries)");
    assert!(
        out.stderr.trim_end().ends_with(&line),
        "the final line: {ctx}"
    );
    let summary = std::fs::read_to_string(&h.summary).unwrap();
    assert!(summary.contains(&line), "{summary}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&h.results).unwrap()).unwrap();
    let reasons = results["not_run"].as_array().unwrap();
    assert_eq!(reasons.len(), not_run);
    assert!(
        reasons
            .iter()
            .all(|n| n["reason"] == "homebrew unreachable")
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains("unreachable=homebrew\n"), "{outputs}");
    assert!(
        outputs.contains(&format!("not_run={not_run}\n")),
        "{outputs}"
    );
    let control: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&h.control).unwrap()).unwrap();
    assert_eq!(
        control["circuit_breaker"]["homebrew"]["failures"], 1,
        "the batch-level breaker records the failure as before: {control}"
    );
}

/// `--unreachable-after 0` turns the stop off: every entry makes its four attempts and fails.
#[test]
fn zero_turns_the_stop_off() {
    let entries: Vec<serde_json::Value> = (1..=3)
        .map(|i| entry(&format!("h{i}"), &format!("homebrew:h{i}"), 1))
        .collect();
    let h = sandbox().queue(&entries).mode("net");
    let mut cmd = h.cmd();
    cmd.args([
        "--unreachable-after",
        "0",
        "--retry-delay",
        "1ms",
        "--adaptive",
        "off",
        "--json",
    ]);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let doc = out.json();
    assert_eq!(
        (doc["failed"].as_u64(), doc["not_run"].as_u64()),
        (Some(3), Some(0)),
        "{}",
        out.ctx()
    );
    assert!(doc.get("unreachable").is_none(), "{}", out.ctx());
}

/// `--max-duration` no longer than `--timeout` is refused before anything runs (exit 2),
/// naming both values and the fix; the queue is untouched (the default `--timeout` 15m with
/// a 10m budget, and equal values). With a shorter `--timeout`, the same budget runs.
#[test]
fn a_budget_shorter_than_the_timeout_is_refused() {
    let h = sandbox().queue(&[entry("a", "npm:a", 1)]);
    let before = std::fs::read_to_string(&h.queue).unwrap();
    let out = h.run(&["--max-duration", "10m"]);
    out.code(exit::USAGE);
    assert!(
        out.stderr
            .contains("--max-duration 10m is not longer than --timeout 15m"),
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr
            .contains("hint: pass a --timeout shorter than --max-duration"),
        "{}",
        out.ctx()
    );
    h.run(&["--max-duration", "10m", "--timeout", "10m"])
        .code(exit::USAGE);
    assert_eq!(std::fs::read_to_string(&h.queue).unwrap(), before);
    assert!(!h.results.exists(), "nothing written");

    let out = h.run(&["--max-duration", "10m", "--timeout", "5m", "--json"]);
    out.ok();
    assert_eq!(out.json()["succeeded"], 1, "{}", out.ctx());
}
