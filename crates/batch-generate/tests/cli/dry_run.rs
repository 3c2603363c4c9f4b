//! `--dry-run`: the plan is printed (entries with ecosystem, priority and reason, the
//! rate-limit lower bound) and nothing at all is written or run.

use serde_json::{Value, json};

use crate::util::{FUTURE, PAST, Sandbox, With, assert_unchanged, entry, sandbox, utc_date};

/// A queue exercising every selection reason, with the built-in rate limits: two homebrew and
/// two rubygems candidates, so the lower bound is one rubygems period (6 s).
fn planned() -> Sandbox {
    sandbox()
        .default_rate_limits()
        .queue(&[
            entry("ripgrep", "homebrew:ripgrep", 1),
            entry("jq", "homebrew:jq", 2),
            entry("fd", "homebrew:fd", 3),
            entry("sass", "rubygems:sass", 1),
            entry("rails", "rubygems:rails", 2),
            entry("prettier", "npm:prettier", 3),
            entry("eslint", "npm:eslint", 1),
            entry("lib3mf", "pypi:lib3mf", 1)
                .with("status", "failed")
                .with("failure_count", 2)
                .with("next_retry_at", FUTURE),
            entry("../escape", "homebrew:escape", 1),
            entry("node", "homebrew:node", 1).with("status", "success"),
        ])
        .control(json!({
            "enabled": true,
            "circuit_breaker": {
                "npm": {"state": "half-open", "failures": 5},
                "pypi": {"state": "open", "failures": 5, "last_failure": PAST, "opens_at": PAST},
            },
        }))
}

/// (name, ecosystem, priority, reason) in processing order (spec §3: main pass, then
/// fallback probes).
const PLAN: [(&str, &str, &str, &str); 6] = [
    ("ripgrep", "homebrew", "1", "normal"),
    ("jq", "homebrew", "2", "normal"),
    ("sass", "rubygems", "1", "normal"),
    ("rails", "rubygems", "2", "normal"),
    ("prettier", "npm", "3", "half-open probe"),
    ("lib3mf", "pypi", "1", "half-open probe"),
];

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let h = planned();
    let before = h.snapshot();
    let out = h.run(&["--dry-run"]);
    out.ok();
    assert_unchanged(&before, &h.snapshot(), &out);
    assert!(h.log_lines().is_empty(), "the generator ran");

    let rows: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| {
            PLAN.iter()
                .any(|(n, ..)| l.split_whitespace().last() == Some(*n))
        })
        .collect();
    assert_eq!(
        rows.len(),
        PLAN.len(),
        "one row per candidate\n{}",
        out.ctx()
    );
    for (row, (name, eco, prio, reason)) in rows.iter().zip(PLAN) {
        let tokens: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(tokens.last(), Some(&name), "order: {row}");
        assert!(tokens.contains(&eco), "{row}: no ecosystem {eco}");
        assert!(tokens.contains(&prio), "{row}: no priority {prio}");
        assert!(row.contains(reason), "{row}: no reason {reason}");
        if reason == "normal" {
            assert!(!row.contains("probe"), "{row}");
        }
    }
    for skipped in ["fd", "eslint", "node"] {
        assert!(
            !out.stdout
                .lines()
                .any(|l| l.split_whitespace().last() == Some(skipped)),
            "{skipped} planned"
        );
    }
    let bound = out
        .stdout
        .lines()
        .find(|l| l.to_lowercase().contains("lower bound"))
        .unwrap_or_else(|| panic!("no rate-limit lower bound\n{}", out.ctx()));
    assert!(bound.contains("6s"), "(2 - 1) x rubygems 6 s: {bound}");
    assert!(
        out.stdout.contains("../escape"),
        "invalid entries are shown\n{}",
        out.ctx()
    );

    // The wording of validation problems is not part of the plan's format.
    let text: String = h
        .scrub(&out.stdout, &[utc_date()])
        .lines()
        .map(|l| match l.split_once("\"../escape\": ") {
            Some((head, _)) => format!("{head}\"../escape\": [PROBLEMS]\n"),
            None => format!("{l}\n"),
        })
        .collect();
    insta::assert_snapshot!("dry_run_plan", text);
}

#[test]
fn dry_run_json_lists_the_candidates() {
    let h = planned();
    let before = h.snapshot();
    let out = h.run(&["--dry-run", "--json"]);
    out.ok();
    assert_unchanged(&before, &h.snapshot(), &out);
    let v = out.json();
    assert_eq!(v["dry_run"], true);
    let cands = v["candidates"].as_array().expect("candidates array");
    assert_eq!(cands.len(), PLAN.len(), "{v:#}");
    for (c, (name, eco, prio, reason)) in cands.iter().zip(PLAN) {
        assert_eq!(c["name"], name);
        assert_eq!(c["ecosystem"], eco);
        assert_eq!(c["priority"], prio.parse::<i64>().unwrap());
        let r = c["reason"].as_str().expect("reason");
        assert!(r.starts_with(reason), "{name}: {r}");
    }
    assert_eq!(v["files_written"], json!([]));
    let invalid = v["invalid"].as_array().expect("invalid array");
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["index"], 8);
    assert_eq!(invalid[0]["name"], "../escape");
    assert_eq!(v["rate_limit_lower_bound_seconds"].as_f64(), Some(6.0));
}

#[test]
fn dry_run_lower_bound_honours_rate_limit_overrides() {
    let h = sandbox().queue(&[
        entry("a", "homebrew:a", 1),
        entry("b", "homebrew:b", 1),
        entry("c", "homebrew:c", 1),
    ]);
    let out = h.run(&["--dry-run", "--json", "--rate-limit", "homebrew=1500ms"]);
    out.ok();
    assert_eq!(
        out.json()["rate_limit_lower_bound_seconds"].as_f64(),
        Some(3.0)
    );
}

#[test]
fn dry_run_with_missing_queue_and_control_writes_nothing() {
    let h = sandbox();
    let before = h.snapshot();
    let out = h.run(&["--dry-run", "--json", "--init-queue"]);
    out.ok();
    assert_unchanged(&before, &h.snapshot(), &out);
    assert_eq!(out.json()["candidates"], Value::Array(Vec::new()));
}
