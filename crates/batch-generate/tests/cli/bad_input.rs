//! Bad input (issue "bad input"): an unparseable queue, invalid or path-escaping entries, and
//! ecosystems that are not safe file-name components. Nothing is written outside the files and
//! directories the user named.

use std::collections::BTreeSet;

use batch_generate::exit;
use serde_json::json;

use crate::util::{
    PAST, QUEUE_UPDATED_AT, Sandbox, With, assert_unchanged, entry, queue_text, sandbox,
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
