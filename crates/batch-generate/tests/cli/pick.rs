//! Acting on one package, or on the failures (issue #12): `--name NAME` runs exactly those
//! entries (tier, backoff and batch size ignored, never an open breaker without `--force`),
//! `--retry-failed` runs the failed entries whatever their backoff. Both honour the kill
//! switch and are shown by `--dry-run`.

use serde_json::json;

use crate::util::{FUTURE, Sandbox, With, assert_unchanged, entry, sandbox};

/// `a` pending (npm), `hub` failed twice and six days from its retry (github), `deep`
/// pending at tier 3 (npm); every generator call succeeds.
fn harness(control: serde_json::Value) -> Sandbox {
    sandbox()
        .queue(&[
            entry("a", "npm:a", 1),
            entry("hub", "github:github/hub", 1)
                .with("status", "failed")
                .with("failure_count", 2)
                .with("next_retry_at", FUTURE),
            entry("deep", "npm:deep", 3),
        ])
        .control(control)
        .rules(&[("*", "ok")])
}

fn closed() -> serde_json::Value {
    json!({"enabled": true, "circuit_breaker": {}})
}

#[test]
fn name_runs_one_failed_entry_now_and_nothing_else() {
    let h = harness(closed());
    h.run(&["--name", "hub"]).ok();
    assert_eq!(h.created(), ["hub"]);
    let hub = h.entry("hub");
    assert_eq!(hub["status"], "success");
    assert_eq!(hub["failure_count"], 0);
    assert_eq!(h.entry("a")["status"], "pending", "not named, not run");

    // Tier 3 is above the default tier 2; the name still selects it.
    h.run(&["--name", "deep"]).ok();
    assert_eq!(h.created(), ["hub", "deep"]);
}

#[test]
fn a_name_that_selects_nothing_is_a_usage_error_and_nothing_runs() {
    let h = harness(closed());
    let before = h.snapshot();
    let out = h.run(&["--name", "a,nope"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("--name selects nothing for \"nope\" (not in the queue)"),
        "{}",
        out.ctx()
    );
    assert_unchanged(&before, &h.snapshot(), &out);
    assert!(h.created().is_empty(), "{}", out.ctx());
}

#[test]
fn a_named_entry_behind_an_open_breaker_needs_force() {
    let h = harness(json!({
        "enabled": true,
        "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "last_failure": FUTURE, "opens_at": FUTURE}
        }
    }));
    let before = h.snapshot();
    let out = h.run(&["--name", "a"]);
    out.code(2);
    assert!(
        out.stderr.contains("circuit breaker of npm is open"),
        "{}",
        out.ctx()
    );
    assert!(out.stderr.contains("--force"), "{}", out.ctx());
    assert_unchanged(&before, &h.snapshot(), &out);

    h.run(&["--name", "a", "--force"]).ok();
    assert_eq!(h.created(), ["a"]);
    assert_eq!(h.entry("a")["status"], "success");
}

#[test]
fn retry_failed_dry_run_lists_only_the_failures() {
    let h = harness(closed());
    let before = h.snapshot();
    let out = h.run(&["--retry-failed", "--dry-run"]);
    out.ok();
    assert!(out.stdout.contains("Plan: 1 candidate(s)"), "{}", out.ctx());
    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("retry failed (--retry-failed)"))
        .collect();
    assert_eq!(rows.len(), 1, "{}", out.ctx());
    assert!(rows[0].ends_with(" hub"), "{}", out.ctx());
    assert_unchanged(&before, &h.snapshot(), &out);

    h.run(&["--retry-failed"]).ok();
    assert_eq!(h.created(), ["hub"]);
}

#[test]
fn name_dry_run_shows_the_reason_and_the_kill_switch_still_wins() {
    let h = harness(closed());
    let out = h.run(&["--name", "deep", "--dry-run"]);
    out.ok();
    assert!(out.stdout.contains("named (--name)"), "{}", out.ctx());

    let h = harness(json!({"enabled": false, "reason": "maintenance", "circuit_breaker": {}}));
    let before = h.snapshot();
    let out = h.run(&["--name", "a"]);
    out.ok();
    assert!(
        out.stderr.contains("batch generation is disabled"),
        "{}",
        out.ctx()
    );
    assert!(h.created().is_empty());
    assert_unchanged(&before, &h.snapshot(), &out);
}

#[test]
fn name_conflicts_with_shards_and_retry_failed() {
    let h = harness(closed());
    h.run(&["--name", "a", "--retry-failed"]).code(2);
    h.run(&["--name", "a", "--shard", "1/2", "--batch-id", "b"])
        .code(2);
    h.run(&["--force"]).code(2);
}
