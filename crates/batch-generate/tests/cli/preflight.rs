//! `batch-generate preflight` (issue #6): skip decisions (kill switch, budget, no candidates),
//! batch IDs across same-day batches, the shard plan, `$GITHUB_OUTPUT` lines, and what it
//! writes (only the control file, for breakers due to turn half-open).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::util::{Out, Sandbox, entry, run_cmd, sandbox};

const PAST: &str = "2000-01-01T00:00:00Z";

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// Runs `preflight` with the harness's queue, control and results files, `$GITHUB_OUTPUT` in
/// the root, and `args`; returns the run and the `$GITHUB_OUTPUT` lines.
fn preflight(h: &Sandbox, args: &[&str]) -> (Out, Vec<String>) {
    let gh = h.root().join("github_output");
    let mut cmd = h.preflight_cmd();
    cmd.env("GITHUB_OUTPUT", &gh).args(args);
    let out = run_cmd(&mut cmd);
    let lines = std::fs::read_to_string(&gh)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    (out, lines)
}

fn value(lines: &[String], key: &str) -> String {
    let prefix = format!("{key}=");
    let found: Vec<&String> = lines.iter().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(found.len(), 1, "{key} must appear once: {lines:?}");
    found[0][prefix.len()..].to_owned()
}

fn six() -> Sandbox {
    sandbox()
        .queue(&[
            entry("a", "homebrew:a", 1),
            entry("b", "npm:b", 1),
            entry("c", "pypi:c", 1),
            entry("d", "homebrew:d", 1),
            entry("e", "crates.io:e", 1),
            entry("f", "npm:f", 1),
        ])
        .control(json!({"enabled": true, "circuit_breaker": {}}))
}

#[test]
fn github_output_has_every_key_once_and_a_matrix_array() {
    let h = six();
    let (out, lines) = preflight(&h, &["--shards", "3", "--tier", "3"]);
    out.ok();
    let keys: Vec<&str> = lines.iter().map(|l| l.split('=').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "skip",
            "reason",
            "batch_id",
            "planned_at",
            "shards",
            "candidates",
            "sampling",
            "per_ecosystem"
        ]
    );
    assert_eq!(value(&lines, "skip"), "false");
    assert_eq!(value(&lines, "reason"), "");
    assert_eq!(value(&lines, "batch_id"), format!("{}-all", today()));
    assert_eq!(value(&lines, "candidates"), "6");
    let planned: jiff::Timestamp = value(&lines, "planned_at").parse().unwrap();
    assert_eq!(planned.strftime("%Y-%m-%d").to_string(), today());
    assert_eq!(value(&lines, "sampling"), "false");
    let shards: Vec<u32> = serde_json::from_str(&value(&lines, "shards")).unwrap();
    assert!(!shards.is_empty() && shards.iter().all(|k| (1..=3).contains(k)));
    let per: Value = serde_json::from_str(&value(&lines, "per_ecosystem")).unwrap();
    assert_eq!(
        per,
        json!({"crates.io": 1, "homebrew": 2, "npm": 2, "pypi": 1})
    );
}

#[test]
fn shards_partition_the_candidates_deterministically() {
    let h = six();
    let (out, _) = preflight(&h, &["--shards", "3", "--tier", "3", "--json"]);
    out.ok();
    let doc = out.json();
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for (k, entries) in doc["plan"].as_object().unwrap() {
        assert!(
            doc["shards"]
                .as_array()
                .unwrap()
                .contains(&json!(k.parse::<u32>().unwrap()))
        );
        for e in entries.as_array().unwrap() {
            assert!(
                seen.insert(e["name"].as_str().unwrap().to_owned()),
                "an entry in two shards"
            );
            total += 1;
        }
    }
    assert_eq!(total, 6);
    assert_eq!(seen.len(), 6);
    // The same queue gives the same plan.
    let (again, _) = preflight(&h, &["--shards", "3", "--tier", "3", "--json"]);
    assert_eq!(again.json()["plan"], doc["plan"]);
}

#[test]
fn batch_ids_count_up_within_a_day() {
    let h = six();
    let day = today();
    // No history: the bare ID; an ecosystem filter labels it.
    let (_, lines) = preflight(&h, &["--tier", "3"]);
    assert_eq!(value(&lines, "batch_id"), format!("{day}-all"));
    std::fs::write(h.root().join("github_output"), "").unwrap();
    let (_, lines) = preflight(&h, &["--tier", "3", "--ecosystem", "npm"]);
    assert_eq!(value(&lines, "batch_id"), format!("{day}-npm"));
    // An earlier batch today in the results file, two more in the metrics history.
    std::fs::write(&h.results, format!(r#"{{"batch_id": "{day}-all"}}"#)).unwrap();
    std::fs::write(h.root().join("github_output"), "").unwrap();
    let (_, lines) = preflight(&h, &["--tier", "3"]);
    assert_eq!(value(&lines, "batch_id"), format!("{day}-all-002"));
    let metrics = h.root().join("metrics");
    std::fs::create_dir_all(&metrics).unwrap();
    std::fs::write(
        metrics.join("batch-runs-1.jsonl"),
        format!("{{\n  \"batch_id\": \"{day}-all-002\"\n}}\n{{\"batch_id\": \"{day}-all-003\"}}\n"),
    )
    .unwrap();
    std::fs::write(h.root().join("github_output"), "").unwrap();
    let (_, lines) = preflight(&h, &["--tier", "3"]);
    assert_eq!(value(&lines, "batch_id"), format!("{day}-all-004"));
    // IDs taken by open pull requests (the workflow passes their `batch/<id>` branches).
    std::fs::write(h.root().join("github_output"), "").unwrap();
    let taken = format!("{day}-all-006,{day}-npm");
    let (_, lines) = preflight(&h, &["--tier", "3", "--used-batch-id", &taken]);
    assert_eq!(value(&lines, "batch_id"), format!("{day}-all-007"));
}

#[test]
fn kill_switch_skips_and_writes_only_the_output() {
    let h = six().control(json!({
        "enabled": false,
        "reason": "incident 7",
        "circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": PAST}}
    }));
    let control_before = std::fs::read(&h.control).unwrap();
    let (out, lines) = preflight(&h, &["--tier", "3"]);
    out.ok();
    assert_eq!(value(&lines, "skip"), "true");
    assert!(value(&lines, "reason").contains("incident 7"));
    assert_eq!(value(&lines, "shards"), "[]");
    assert_eq!(value(&lines, "candidates"), "0");
    assert_eq!(
        std::fs::read(&h.control).unwrap(),
        control_before,
        "the kill switch stops breaker moves too"
    );
}

#[test]
fn budget_thresholds() {
    for (macos, linux, skip, sampling) in [
        (800, 0, "false", "false"),
        (801, 0, "false", "true"),
        (0, 4500, "false", "true"),
        (951, 0, "true", "false"),
        (0, 5000, "true", "false"),
    ] {
        let h = six().control(json!({
            "enabled": true,
            "circuit_breaker": {},
            "budget": {"macos_minutes_used": macos, "linux_minutes_used": linux}
        }));
        let (out, lines) = preflight(&h, &["--tier", "3"]);
        out.ok();
        assert_eq!(value(&lines, "skip"), skip, "macos {macos}, linux {linux}");
        assert_eq!(
            value(&lines, "sampling"),
            sampling,
            "macos {macos}, linux {linux}"
        );
        if skip == "true" {
            assert!(value(&lines, "reason").contains("budget"), "{lines:?}");
        }
    }
    // The limits are flags.
    let h = six().control(json!({"enabled": true, "budget": {"macos_minutes_used": 900}}));
    let (_, lines) = preflight(&h, &["--tier", "3", "--budget-macos-minutes", "2000"]);
    assert_eq!(value(&lines, "sampling"), "false");
}

#[test]
fn due_breakers_turn_half_open_and_get_one_probe() {
    let h = six().control(json!({
        "enabled": true,
        "note": "kept",
        "circuit_breaker": {"npm": {"state": "open", "failures": 5, "opens_at": PAST}}
    }));
    let (out, lines) = preflight(&h, &["--tier", "3", "--json"]);
    out.ok();
    let control: Value = serde_json::from_slice(&std::fs::read(&h.control).unwrap()).unwrap();
    assert_eq!(control["circuit_breaker"]["npm"]["state"], "half-open");
    assert_eq!(control["note"], "kept");
    assert_eq!(
        out.json()["per_ecosystem"]["npm"],
        1,
        "one probe for the half-open ecosystem"
    );
    assert_eq!(value(&lines, "candidates"), "5");
}

#[test]
fn nothing_to_do_is_a_skip_and_bad_input_is_exit_1() {
    let h = sandbox()
        .queue(&[entry("a", "homebrew:a", 3)])
        .control(json!({"enabled": true}));
    let (out, lines) = preflight(&h, &["--tier", "1"]);
    out.ok();
    assert_eq!(value(&lines, "skip"), "true");
    assert_eq!(value(&lines, "reason"), "no candidates");

    let bad = sandbox().queue(&[entry("a", "homebrew:a", 1)]);
    std::fs::write(&bad.control, "{").unwrap();
    let (out, lines) = preflight(&bad, &[]);
    out.code(batch_generate::exit::FAILURE);
    assert!(lines.is_empty(), "no output lines on bad input");
    assert!(out.stderr.contains("control"), "{}", out.ctx());
}

/// `preflight --dry-run` takes no lock and writes nothing, not even the breaker due to turn
/// half-open; the real preflight names the control file it wrote (issue #12).
#[test]
fn dry_run_writes_nothing_and_the_real_run_names_what_it_wrote() {
    let h = six().control(json!({
        "enabled": true,
        "circuit_breaker": {
            "npm": {"state": "open", "failures": 5, "last_failure": PAST, "opens_at": PAST}
        }
    }));
    let before = h.snapshot();
    let mut cmd = h.preflight_cmd();
    cmd.env_remove("GITHUB_OUTPUT")
        .args(["--shards", "2", "--tier", "3", "--dry-run", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let doc = out.json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["files_written"], json!([]));
    // npm is due for its half-open probe: one npm entry (b) is planned, f waits (spec §3).
    assert_eq!(doc["candidates"], 5, "{doc}");
    assert_eq!(doc["per_ecosystem"]["npm"], 1, "{doc}");
    crate::util::assert_unchanged(&before, &h.snapshot(), &out);

    let mut cmd = h.preflight_cmd();
    cmd.env_remove("GITHUB_OUTPUT")
        .args(["--shards", "2", "--tier", "3", "--json"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let doc = out.json();
    assert_eq!(doc["dry_run"], false);
    assert_eq!(
        doc["files_written"],
        json!([h.control.to_str().unwrap()]),
        "{}",
        out.ctx()
    );
    assert_eq!(
        h.control_json()["circuit_breaker"]["npm"]["state"],
        "half-open"
    );
}

/// The text output is `key=value` lines a shell can `eval`, with `#` comments for people.
#[test]
fn text_output_can_be_evaluated_by_a_shell() {
    let h = six();
    let mut cmd = h.preflight_cmd();
    cmd.env_remove("GITHUB_OUTPUT")
        .args(["--shards", "2", "--tier", "3", "--dry-run"]);
    let out = run_cmd(&mut cmd);
    out.ok();
    let shell = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"eval "$1" && printf '%s|%s|%s|%s|%s' "$batch_id" "$skip" "$candidates" "$shards" "$planned_at""#)
        .arg("sh")
        .arg(&out.stdout)
        .output()
        .unwrap();
    assert!(shell.status.success(), "{}", out.ctx());
    let got = String::from_utf8(shell.stdout).unwrap();
    let parts: Vec<&str> = got.split('|').collect();
    assert_eq!(parts[0], format!("{}-all", today()), "{got}");
    assert_eq!(&parts[1..3], ["false", "6"], "{got}");
    assert!(
        parts[3] == "1 2" || parts[3] == "1" || parts[3] == "2",
        "{got}"
    );
    assert!(parts[4].parse::<jiff::Timestamp>().is_ok(), "{got}");
}
