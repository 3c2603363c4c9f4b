//! `--max-duration` through the binary (issue #15): what is started, what is saved and how the
//! entries left out are reported.

/// `--max-duration` (issue #15): with 0.4 s generator calls, `--timeout 1s` and a 2 s budget,
/// `--jobs 1` starts entries only while one is expected to finish in time; the rest stay
/// unchanged, the exit code is 0, and the log line, `--json`, the summary, `batch-results.json`
/// and `$GITHUB_OUTPUT` all report the entries not started.
#[test]
fn max_duration_starts_only_what_can_finish_and_reports_the_rest() {
    let names: Vec<String> = (1..=8).map(|i| format!("budget-{i}")).collect();
    let entries: Vec<serde_json::Value> = names
        .iter()
        .map(|n| crate::util::entry(n, &format!("npm:{n}"), 1))
        .collect();
    let h = crate::util::sandbox().queue(&entries);
    let output = h.root().join("gh-output");
    let mut cmd = h.cmd();
    cmd.args(["--jobs", "1", "--timeout", "1s", "--json"])
        .env("BATCH_MAX_DURATION", "2s")
        .env("FAKE_TSUKU_DELAY", "0.4")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", h.root().join("gh-summary.md"));
    let out = crate::util::run_cmd(&mut cmd);
    out.ok();
    let doc = out.json();
    let succeeded = doc["succeeded"].as_u64().unwrap();
    let left = doc["budget_reached"].as_u64().unwrap_or(0);
    assert!(
        succeeded >= 1,
        "the first entry fits the budget: {}",
        out.ctx()
    );
    assert!(left >= 1, "not everything fits in 2 s: {}", out.ctx());
    assert_eq!(succeeded + left, 8, "{}", out.ctx());
    assert_eq!(doc["not_run"], left);
    assert!(
        out.stderr
            .contains(&format!("budget reached: {left} entries not started")),
        "{}",
        out.ctx()
    );
    let pending = h
        .entries()
        .iter()
        .filter(|e| e["status"] == "pending" && e["failure_count"] == 0)
        .count();
    assert_eq!(
        pending as u64, left,
        "the entries not started are unchanged"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&h.results).unwrap()).unwrap();
    let not_run = results["not_run"].as_array().unwrap();
    assert_eq!(not_run.len() as u64, left);
    assert!(not_run.iter().all(|n| n["reason"] == "budget reached"));
    let summary = std::fs::read_to_string(&h.summary).unwrap();
    assert!(
        summary.contains(&format!("budget reached: {left} entries not started")),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(
        outputs.starts_with(&format!("budget_reached={left}\n")),
        "{outputs}"
    );
}
