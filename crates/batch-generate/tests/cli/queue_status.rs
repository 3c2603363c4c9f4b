//! `queue status` (issue #14): the tables carry the right numbers for a small fixture at a
//! fixed instant (`--now`), `--json` has the same model, `--ecosystem` limits it and an unknown
//! one is a usage error, and nothing is written.

use batch_generate::exit;
use serde_json::json;

use crate::util::{Sandbox, With, entry, real_data, run_cmd, sandbox};

const NOW: &str = "2026-07-01T12:00:00Z";

/// Six entries; the expected numbers in the tests are derived from these comments.
fn fixture() -> Sandbox {
    let sb = sandbox()
        .queue(&[
            entry("a", "homebrew:a", 1), // selected; blocks g
            entry("b", "homebrew:b", 1) // retry passed: due now, selected
                .with("status", "failed")
                .with("failure_count", 1)
                .with("next_retry_at", "2026-07-01T11:00:00Z"),
            entry("c", "homebrew:c", 2) // retry in 8 h: next 24 h, not selected
                .with("status", "failed")
                .with("failure_count", 2)
                .with("next_retry_at", "2026-07-01T20:00:00Z"),
            entry("f", "npm:f", 1), // npm breaker open
            entry("g", "npm:g", 1).with("status", "blocked"), // blocked by a
            entry("h", "crates.io:h", 1).with("status", "success"),
        ])
        .control(
            json!({"enabled": true, "disabled_ecosystems": [], "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "last_failure": "2026-07-01T12:00:00Z",
                    "opens_at": "2026-07-01T13:00:00Z"},
            "default": {"state": "closed", "failures": 0}}}),
        );
    std::fs::create_dir_all(&sb.failures).unwrap();
    std::fs::write(
        sb.failures.join("npm-2026-07-01T10-00-00Z.jsonl"),
        r#"{"failures":[{"package_id":"npm:g","category":"missing_dep","blocked_by":["a"]}]}"#,
    )
    .unwrap();
    sb
}

fn status(sb: &Sandbox, extra: &[&str]) -> crate::util::Out {
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "status", "--now", NOW, "--queue"])
        .arg(&sb.queue)
        .arg("--control-file")
        .arg(&sb.control)
        .arg("--failures-dir")
        .arg(&sb.failures)
        .args(extra);
    run_cmd(&mut cmd)
}

/// The cells of the table row whose first cell is `first`.
fn row(stdout: &str, first: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find(|cells| cells.first().map(String::as_str) == Some(first))
        .unwrap_or_else(|| panic!("no row {first:?} in\n{stdout}"))
}

#[test]
fn the_tables_carry_the_counts_retries_blockers_breakers_and_next_batch() {
    let sb = fixture();
    let before = std::fs::read(&sb.queue).unwrap();
    let out = status(&sb, &[]);
    out.code(exit::SUCCESS);
    let s = &out.stdout;
    assert!(s.contains(&format!("at {NOW}: 6 entries")), "{}", out.ctx());
    // Columns: statuses present in spec order, then total.
    assert_eq!(
        row(s, "ecosystem"),
        [
            "ecosystem",
            "pending",
            "failed",
            "blocked",
            "success",
            "total"
        ]
    );
    assert_eq!(row(s, "crates.io"), ["crates.io", "0", "0", "0", "1", "1"]);
    assert_eq!(row(s, "homebrew"), ["homebrew", "1", "2", "0", "0", "3"]);
    assert_eq!(row(s, "npm"), ["npm", "1", "0", "1", "0", "2"]);
    assert_eq!(row(s, "total"), ["total", "2", "2", "1", "1", "6"]);
    assert!(s.contains("Retries: 1 due now, 1 in the next 24 h, 0 later"));
    assert_eq!(
        row(s, "b"),
        ["b", "homebrew:b", "failed", "2026-07-01T11:00:00Z", "1"]
    );
    assert_eq!(
        row(s, "c"),
        ["c", "homebrew:c", "failed", "2026-07-01T20:00:00Z", "2"]
    );
    assert_eq!(row(s, "a"), ["a", "1", "1", "npm:g"]);
    assert_eq!(
        row(s, "npm").len(),
        6,
        "the first npm row is the count table's"
    );
    assert!(s.contains("| open   |        5 | 2026-07-01T12:00:00Z | 2026-07-01T13:00:00Z |"));
    assert!(s.contains("Kill switch: batches enabled"));
    // a and b; c waits for its retry, f behind the open npm breaker.
    assert!(
        s.contains("Next batch (batch size 25, tier 2): 2 entries selected, 0 of them half-open probes (homebrew 2)"),
        "{}",
        out.ctx()
    );
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
    assert!(!sb.queue.with_extension("json.lock").exists());
}

#[test]
fn json_has_the_model_and_the_clock_moves_it() {
    let sb = fixture();
    let out = status(&sb, &["--json"]);
    out.code(exit::SUCCESS);
    let d = out.json();
    assert_eq!(d["now"], NOW);
    assert_eq!(d["total"], 6);
    assert_eq!(
        d["by_status"],
        json!({"blocked": 1, "failed": 2, "pending": 2, "success": 1})
    );
    assert_eq!(d["retries"]["due_now"][0]["entry"], "b");
    assert_eq!(d["blockers"][0]["score"], 1);
    assert_eq!(
        d["breakers"][1]["probe"],
        json!({"kind": "at", "at": "2026-07-01T13:00:00Z"})
    );
    assert_eq!(d["next_batch"]["selected"], 2);

    // Nine hours later c is due and npm's breaker lets one probe (f) through.
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "status", "--json", "--queue"])
        .arg(&sb.queue)
        .arg("--control-file")
        .arg(&sb.control)
        .arg("--failures-dir")
        .arg(&sb.failures)
        .env("BATCH_NOW", "2026-07-01T21:00:00Z");
    let later = run_cmd(&mut cmd);
    later.code(exit::SUCCESS);
    let d = later.json();
    assert_eq!(d["retries"]["due_now"].as_array().unwrap().len(), 2);
    assert_eq!(d["breakers"][1]["probe"]["kind"], "next_run");
    assert_eq!(d["next_batch"]["selected"], 4);
    assert_eq!(d["next_batch"]["probes"], 1);
}

#[test]
fn one_ecosystem_and_an_unknown_one() {
    let sb = fixture();
    let out = status(&sb, &["--ecosystem", "npm", "--json"]);
    out.code(exit::SUCCESS);
    let d = out.json();
    assert_eq!(d["total"], 2);
    assert_eq!(d["next_batch"]["selected"], 0);
    assert_eq!(d["breakers"].as_array().unwrap().len(), 1);

    let out = status(&sb, &["--ecosystem", "hombrew"]);
    out.code(exit::USAGE);
    assert!(
        out.stderr.contains("unknown ecosystem `hombrew`"),
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr.contains("crates.io, github, go, homebrew"),
        "{}",
        out.ctx()
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_control_file_and_failures_dir_are_fine() {
    let sb = fixture();
    std::fs::remove_file(&sb.control).unwrap();
    std::fs::remove_dir_all(&sb.failures).unwrap();
    let out = status(&sb, &["--json"]);
    out.code(exit::SUCCESS);
    let d = out.json();
    assert_eq!(d["breakers"], json!([]));
    assert_eq!(d["blockers"], json!([]));
    // No breaker: f is selected too.
    assert_eq!(d["next_batch"]["selected"], 3);
}

#[test]
fn the_live_queue_totals_match_the_raw_json() {
    let sb = sandbox();
    let mut cmd = sb.bare_cmd();
    cmd.args([
        "queue",
        "status",
        "--json",
        "--now",
        "2026-08-13T20:39:55Z",
        "--queue",
    ])
    .arg(real_data("priority-queue.json"))
    .arg("--control-file")
    .arg(real_data("batch-control.json"))
    .arg("--failures-dir")
    .arg(real_data("failures"));
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let d = out.json();
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(real_data("priority-queue.json")).unwrap()).unwrap();
    let mut want = serde_json::Map::new();
    for e in raw["entries"].as_array().unwrap() {
        let st = e["status"].as_str().unwrap().to_owned();
        let n = want
            .get(&st)
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        want.insert(st, json!(n + 1));
    }
    assert_eq!(d["by_status"], serde_json::Value::Object(want));
    assert_eq!(d["total"], raw["entries"].as_array().unwrap().len());
    let rows: u64 = d["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["total"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, 5305);
}
