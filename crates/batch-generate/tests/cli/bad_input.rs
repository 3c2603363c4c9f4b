//! Bad input (issue "bad input"): an unparseable queue, invalid or path-escaping entries, and
//! ecosystems that are not safe file-name components. Nothing is written outside the files and
//! directories the user named. Issue #12 ("inputs are checked, never guessed"): a missing
//! queue, a queue without `entries`, swapped queue and control file, an unknown breaker state,
//! an unknown ecosystem and `--tier` out of range are refused, and nothing is created.

use std::collections::BTreeSet;

use batch_generate::exit;
use serde_json::json;

use crate::util::{
    FUTURE, Out, PAST, QUEUE_UPDATED_AT, Sandbox, Snapshot, With, assert_unchanged, entry,
    fixtures::control_text, queue_text, run_cmd, sandbox,
};

/// Asserts every path under the root is one the run may touch: the named files, the named
/// directories' contents, the harness's own files, and `allowed` extras. (The run lock beside
/// the queue is left out by [`Sandbox::snapshot`] when it holds only a pid.)
#[track_caller]
fn assert_only_named_paths(h: &Sandbox, allowed: &[&str]) {
    let named: BTreeSet<&str> = [
        "queue.json",
        // The run lock beside the queue (issue #4): written by runs that start.
        "queue.json.lock",
        "batch-control.json",
        "results.json",
        "summary.md",
        "tsuku.log",
        "fake-rules",
        "cwd",
        "state",
        "recipes",
        "failures",
    ]
    .into_iter()
    .chain(allowed.iter().copied())
    .collect();
    for path in h.snapshot().keys() {
        let top = path.split('/').next().unwrap();
        assert!(named.contains(top), "unexpected path written: {path}");
        assert!(
            !path.starts_with("cwd/"),
            "written into the working directory: {path}"
        );
        assert!(
            !path.contains(".batch-tmp-"),
            "temporary file left behind: {path}"
        );
    }
}

/// Spec §8.2 #93 (made stricter by the issue): a queue that does not parse → exit 1, stderr
/// names the file with line, column and key path, nothing run, nothing written (not even the
/// due half-open transition of the control file).
#[test]
fn s93_queue_parse_error() {
    let bad = entry("b", "homebrew:b", 1).with("priority", "1");
    let text = queue_text(&[entry("a", "homebrew:a", 1), bad], QUEUE_UPDATED_AT);
    let line = text
        .lines()
        .position(|l| l.contains("\"priority\": \"1\""))
        .unwrap()
        + 1;
    let h = sandbox()
        .queue_raw(&text)
        .control(json!({"circuit_breaker": {"homebrew": {"state": "open", "failures": 5, "opens_at": PAST}}}));
    let before = h.snapshot();
    let out = h.run(&["--rate-limit", "homebrew=0ms"]);
    out.code(exit::FAILURE);
    let q = h.queue.display().to_string();
    let msg = out
        .stderr
        .lines()
        .find(|l| l.contains(&q))
        .unwrap_or_else(|| panic!("the queue file is not named\n{}", out.ctx()));
    assert!(
        msg.contains(&format!("line {line}")),
        "line {line} missing: {msg}"
    );
    assert!(msg.contains("column"), "{msg}");
    assert!(
        out.stderr.contains("entries[1].priority"),
        "key path missing\n{}",
        out.ctx()
    );
    assert!(h.log_lines().is_empty());
    assert_unchanged(&before, &h.snapshot(), &out);
}

/// Other queue files that do not parse (spec §1.1 load rules): exit 1, file named, nothing
/// written.
#[test]
fn other_unparseable_queues() {
    for text in [
        "{\"entries\": [",
        "[]",
        "{\"entries\": [{\"name\": \"a\", \"source\": \"homebrew:a\", \"priority\": 1.5}]}",
        "{\"entries\": [{\"name\": \"a\", \"source\": \"homebrew:a\", \"next_retry_at\": \"\"}]}",
        "{\"entries\": []} trailing",
    ] {
        let h = sandbox().queue_raw(text);
        let before = h.snapshot();
        let out = h.run(&[]);
        out.code(exit::FAILURE);
        assert!(
            out.stderr.contains(&h.queue.display().to_string()),
            "{text}: file not named\n{}",
            out.ctx()
        );
        assert_unchanged(&before, &h.snapshot(), &out);
    }
}

/// Issue: entries that fail validation or would put the recipe outside `--output-dir` are
/// never run, are reported with index and name, stay byte-identical in the saved queue and
/// are counted as invalid.
#[test]
fn invalid_entries_are_reported_and_kept() {
    let good = entry("good", "homebrew:good", 1);
    let invalid = [
        entry("prio7", "homebrew:prio7", 7),
        entry("../x", "homebrew:x", 1),
        entry("/abs", "homebrew:abs", 1),
        entry("nul\u{0}name", "homebrew:nul", 1),
        entry("new\nline", "homebrew:nl", 1),
        entry("back\\slash", "homebrew:bs", 1),
        entry("a/../../b", "homebrew:ab", 1),
        entry("trav", "../../etc:exploit", 1),
        entry("conf", "homebrew:conf", 1).with("confidence", "manual"),
        entry("neg", "homebrew:neg", 1).with("failure_count", -1),
        entry("", "homebrew:empty", 1),
    ];
    let mut entries = vec![good.clone()];
    entries.extend(invalid.iter().cloned());
    let h = sandbox().queue(&entries);
    let out = h.run(&["--json"]);
    out.ok();

    assert_eq!(
        h.log_lines().len(),
        2,
        "only `good` runs (create + install)\n{:?}",
        h.log_lines()
    );
    assert_eq!(h.created(), ["good"]);

    for (i, e) in invalid.iter().enumerate() {
        let index = (i + 1).to_string();
        let name = e["name"].as_str().unwrap();
        let forms = [format!("{name:?}"), serde_json::to_string(name).unwrap()];
        let reported = out.stderr.lines().any(|l| {
            forms.iter().any(|f| l.contains(f.as_str()))
                && l.split(|c: char| !c.is_ascii_digit())
                    .any(|tok| tok == index)
        });
        assert!(
            reported,
            "entry {index} ({name:?}) not reported with index and name\n{}",
            out.ctx()
        );
    }

    // The saved queue is the input with `good` updated and `updated_at` replaced: every
    // invalid entry is byte-identical.
    let saved = h.queue_string();
    let updated_at = h.queue_json()["updated_at"].as_str().unwrap().to_owned();
    let mut want = entries.clone();
    want[0] = good.with("status", "success");
    assert_eq!(saved, queue_text(&want, &updated_at));

    assert_eq!(out.json()["invalid"], invalid.len());
    assert_eq!(h.results_json()["total"], 1);
    let summary = h.summary_text();
    assert!(
        summary.contains(&format!("| Invalid | {} |", invalid.len())),
        "{summary}"
    );
    assert_only_named_paths(&h, &[]);
    assert!(!h.root().parent().unwrap().join("b.toml").exists());
}

/// Issue: an entry whose status is not a valid status (`in_progress`) fails validation, so it
/// must be reported with index and name and counted as invalid, not silently skipped.
#[test]
fn invalid_status_is_reported() {
    let h = sandbox().queue(&[
        entry("good", "homebrew:good", 1),
        entry("stuck", "homebrew:stuck", 1).with("status", "in_progress"),
    ]);
    let out = h.run(&["--json"]);
    out.ok();
    assert_eq!(h.created(), ["good"]);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("\"stuck\"") && l.contains('1')),
        "`stuck` not reported\n{}",
        out.ctx()
    );
    assert_eq!(out.json()["invalid"], 1);
    assert_eq!(
        h.entry("stuck"),
        entry("stuck", "homebrew:stuck", 1).with("status", "in_progress")
    );
}

/// Issue: invalid entries are not run in dry runs either, and are listed.
#[test]
fn invalid_entries_in_dry_run() {
    let h = sandbox().queue(&[
        entry("good", "homebrew:good", 1),
        entry("../x", "homebrew:x", 1),
    ]);
    let before = h.snapshot();
    let out = h.run(&["--dry-run", "--json"]);
    out.ok();
    assert_unchanged(&before, &h.snapshot(), &out);
    let v = out.json();
    assert_eq!(v["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(v["invalid"][0]["index"], 1);
    assert_eq!(v["invalid"][0]["name"], "../x");
}

/// Issue: an ecosystem that is not a safe file-name component never reaches a failure-file
/// name unescaped; nothing is created outside the named directories.
#[test]
fn unsafe_ecosystems_are_escaped_in_failure_file_names() {
    let h = sandbox().mode("fail6").queue(&[
        entry("weird", "we ird:pkg", 1),
        entry("hid", ".hidden:pkg", 1),
        entry("pct", "per%cent:pkg", 1),
    ]);
    h.run(&[]).ok();
    let names = h.failure_dir_names();
    assert_eq!(names.len(), 3, "{names:?}");
    for n in &names {
        assert!(!n.starts_with('.'), "hidden failure file {n:?}");
        assert!(!n.contains(' ') && !n.contains('/'), "unescaped {n:?}");
        assert!(n.ends_with(".jsonl"), "{n:?}");
    }
    let weird = h.failure_file("we%20ird");
    assert_eq!(
        weird["ecosystem"], "we ird",
        "the file content keeps the real ecosystem"
    );
    assert_eq!(weird["failures"][0]["package_id"], "we ird:pkg");
    assert!(names.iter().any(|n| n.contains("hidden")), "{names:?}");
    h.failure_file("per%25cent");
    assert_only_named_paths(&h, &[]);
}

/// README `--strict`: invalid entries are an error (exit 1, nothing run, nothing written).
#[test]
fn strict_makes_invalid_entries_an_error() {
    let h = sandbox().queue(&[
        entry("good", "homebrew:good", 1),
        entry("../x", "homebrew:x", 1),
    ]);
    let before = h.snapshot();
    let out = h.run(&["--strict"]);
    out.code(exit::FAILURE);
    assert!(
        out.stderr.contains("\"../x\""),
        "the entry is named\n{}",
        out.ctx()
    );
    assert!(h.log_lines().is_empty());
    assert_unchanged(&before, &h.snapshot(), &out);
}

/// A queue with two ecosystems and a control file whose homebrew breaker is due to turn
/// half-open (so a run that got as far as planning would rewrite it).
fn two_ecosystems() -> Sandbox {
    sandbox()
        .queue(&[
            entry("jq", "homebrew:jq", 1),
            entry("left-pad", "npm:left-pad", 1),
        ])
        .control(json!({"enabled": true, "circuit_breaker": {
            "homebrew": {"state": "open", "failures": 5, "opens_at": PAST}
        }}))
}

/// Asserts `out` exited `code`, that stderr has every one of `needles`, and that nothing under
/// the sandbox changed (no lock, results, queue or control-file rewrite) and nothing ran.
#[track_caller]
fn refused(h: &Sandbox, before: &Snapshot, out: &Out, code: i32, needles: &[&str]) {
    out.code(code);
    for n in needles {
        assert!(out.stderr.contains(n), "stderr lacks {n:?}\n{}", out.ctx());
    }
    assert!(h.log_lines().is_empty(), "a generator ran\n{}", out.ctx());
    assert!(!h.lock_file().exists(), "the run lock was created");
    assert_unchanged(before, &h.snapshot(), out);
}

/// Issue #12: a `--queue` typo is an error (exit 1) naming the file and the flag that starts
/// an empty queue; nothing is created: not the queue, its lock, nor `batch-results.json`
/// beside it. The same for `--dry-run` and `preflight`.
#[test]
fn missing_queue_is_an_error_and_creates_nothing() {
    let h = sandbox()
        .queue_at("nope.json")
        .control(json!({"circuit_breaker": {"homebrew": {"state": "open", "opens_at": PAST}}}));
    let before = h.snapshot();
    let q = h.queue.display().to_string();
    let needles = [
        "error: cannot use the queue file\n".to_owned(),
        format!("  caused by: queue `{q}` does not exist\n"),
        "--init-queue".to_owned(),
    ];
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    let out = h.run(&[]);
    refused(&h, &before, &out, exit::FAILURE, &needles);
    assert!(!out.stderr.contains("Batch complete"), "{}", out.ctx());
    assert!(!h.queue.exists() && !h.results.exists());

    let out = h.run(&["--dry-run"]);
    refused(&h, &before, &out, exit::FAILURE, &needles);
    let out = run_cmd(&mut h.preflight_cmd());
    refused(&h, &before, &out, exit::FAILURE, &needles);
}

/// Issue #12: `--init-queue` (or `BATCH_INIT_QUEUE`) is the explicit way to start an empty
/// queue; the run then creates it.
#[test]
fn init_queue_starts_an_empty_queue() {
    let h = sandbox().queue_at("new/queue.json");
    h.run(&["--init-queue"]).ok();
    assert_eq!(h.queue_json()["entries"], json!([]));

    let h = sandbox().env("BATCH_INIT_QUEUE", "1");
    h.run(&[]).ok();
    assert_eq!(h.queue_json()["entries"], json!([]));
    assert_eq!(h.results_json()["total"], 0);
}

/// Issue #12: queue and control-file paths swapped → exit 1 naming the file given as the
/// queue and what it looks like; nothing run, neither file rewritten.
#[test]
fn swapped_queue_and_control_file_are_refused() {
    let queue = queue_text(&[entry("jq", "homebrew:jq", 1)], QUEUE_UPDATED_AT);
    let control = control_text(&json!({"enabled": true, "circuit_breaker": {
        "homebrew": {"state": "closed", "failures": 0}
    }}));
    let h = sandbox().queue_raw(&control).control_raw(&queue);
    let before = h.snapshot();
    let out = h.run(&[]);
    let q = format!("`{}` is not a queue", h.queue.display());
    refused(
        &h,
        &before,
        &out,
        exit::FAILURE,
        &[
            &q,
            "looks like a control file (top-level `circuit_breaker`)",
            "swapped",
        ],
    );

    // Only the control file is a queue: named as such.
    let h = sandbox().queue_raw(&queue).control_raw(&queue);
    let before = h.snapshot();
    let out = h.run(&[]);
    let c = format!("`{}` looks like a queue", h.control.display());
    refused(
        &h,
        &before,
        &out,
        exit::FAILURE,
        &[&c, "not a control file", "swapped"],
    );
}

/// Issue #12: a queue without an `entries` array (`{}`, a misspelt key, the legacy format) is
/// an error naming the file and what it has instead.
#[test]
fn queue_without_entries_is_refused() {
    for (text, says) in [
        ("{}", "it is an empty object"),
        (
            "{\"schema_version\": 1, \"Entrys\": []}",
            "its top-level keys are `schema_version`, `Entrys`",
        ),
        (
            "{\"schema_version\": 1, \"packages\": []}",
            "legacy per-ecosystem queue",
        ),
    ] {
        let h = sandbox().queue_raw(text);
        let before = h.snapshot();
        let out = h.run(&[]);
        let q = format!(
            "`{}` is not a queue: it has no `entries` array",
            h.queue.display()
        );
        refused(&h, &before, &out, exit::FAILURE, &[&q, says]);
    }
}

/// Issue #12: a misspelt breaker state (`"Open"` with `opens_at` in the future) used to count
/// as closed and run the ecosystem; now it is an error naming the key path, the value and the
/// accepted values, and nothing runs.
#[test]
fn unknown_breaker_state_is_refused() {
    for bad in ["Open", "half_open", "tripped"] {
        let h = sandbox()
            .queue(&[
                entry("jq", "homebrew:jq", 1),
                entry("left-pad", "npm:left-pad", 1),
            ])
            .control(json!({"circuit_breaker": {
                "npm": {"state": "closed", "failures": 0},
                "homebrew": {"state": bad, "failures": 5, "opens_at": FUTURE}
            }}));
        let before = h.snapshot();
        let out = h.run(&[]);
        let found = format!("is {bad:?}");
        refused(
            &h,
            &before,
            &out,
            exit::FAILURE,
            &[
                &h.control.display().to_string(),
                "`circuit_breaker.homebrew.state`",
                &found,
                "accepted values: closed, open, half-open",
                "hint:",
            ],
        );
    }
}

/// Issue #12: `--ecosystem` naming an ecosystem the queue does not have and tsuku does not
/// know is a usage error (exit 2) listing the queue's ecosystems, for a run, a dry run and
/// `preflight`; a known one the queue lacks is fine (nothing to select).
#[test]
fn unknown_ecosystem_filter_is_a_usage_error() {
    let h = two_ecosystems();
    let before = h.snapshot();
    let needles = [
        "unknown ecosystem `hombrew`",
        "--ecosystem",
        "the queue's ecosystems are: homebrew, npm",
    ];
    for extra in [
        &["--ecosystem", "hombrew"][..],
        &["--ecosystem", "npm,hombrew", "--dry-run"],
    ] {
        let out = h.run(extra);
        refused(&h, &before, &out, exit::USAGE, &needles);
    }
    let out = run_cmd(h.preflight_cmd().args(["--ecosystem", "hombrew"]));
    refused(&h, &before, &out, exit::USAGE, &needles);
    let out = h.run(&["--ecosystem", "hombrew"]).stderr.clone();
    assert!(!out.contains("Plan: 0 candidate"), "{out}");

    let out = h.run(&["--ecosystem", "nix", "--dry-run", "--json"]);
    out.ok();
    assert_eq!(out.json()["candidates"], json!([]));
}

/// Issue #12: the same for `--rate-limit` keys (exit 2, the flag named, nothing written).
#[test]
fn unknown_rate_limit_ecosystem_is_a_usage_error() {
    let h = two_ecosystems();
    let before = h.snapshot();
    let out = h.run(&["--rate-limit", "hombrew=100ms"]);
    refused(
        &h,
        &before,
        &out,
        exit::USAGE,
        &[
            "unknown ecosystem `hombrew`",
            "--rate-limit",
            "the queue's ecosystems are: homebrew, npm",
        ],
    );
    // Known to tsuku but not in this queue: accepted.
    h.run(&["--rate-limit", "rubygems=100ms", "--dry-run"]).ok();
}

/// Issue #12: `--tier` outside 1–3 is a usage error naming the flag; nothing written.
#[test]
fn tier_out_of_range_is_a_usage_error() {
    let h = two_ecosystems();
    let before = h.snapshot();
    for tier in ["0", "4", "5"] {
        let out = h.run(&["--tier", tier]);
        refused(&h, &before, &out, exit::USAGE, &["--tier", "1..=3"]);
        let out = run_cmd(h.preflight_cmd().args(["--tier", tier]));
        refused(&h, &before, &out, exit::USAGE, &["--tier"]);
    }
    let out = h.run(&["--tier", "3", "--dry-run"]);
    out.ok();
}

/// Issue #15: the same for `--max-in-flight` keys (exit 2, the flag named, nothing written).
#[test]
fn unknown_max_in_flight_ecosystem_is_a_usage_error() {
    let h = two_ecosystems();
    let before = h.snapshot();
    let out = h.run(&["--max-in-flight", "npn=2"]);
    refused(
        &h,
        &before,
        &out,
        exit::USAGE,
        &[
            "unknown ecosystem `npn`",
            "--max-in-flight",
            "the queue's ecosystems are: homebrew, npm",
            "BATCH_MAX_IN_FLIGHT",
        ],
    );
}
