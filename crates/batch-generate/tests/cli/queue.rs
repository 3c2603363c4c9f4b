//! `queue maintain` (spec §4.9, issue #14): dry run writes nothing, `--json` lists every
//! change, a second run changes nothing, the Go spellings work, and the lock is honoured.

use std::path::Path;

use batch_generate::exit;
use serde_json::Value;

use crate::util::{Sandbox, With, entry, run_cmd, sandbox, strings};

const BATCH_LINE: &str = r#"{"schema_version":1,"ecosystem":"homebrew","environment":"linux-glibc-x86_64","updated_at":"2026-04-04T20-32-43Z","failures":[{"package_id":"homebrew:go-task","category":"network_error","message":"m","timestamp":"2026-04-04T20:32:05Z"},{"package_id":"homebrew:go-task","category":"network_error","message":"m","timestamp":"2026-04-04T20:32:06Z"}]}"#;
const RECIPE_LINE: &str = r#"{"schema_version":1,"recipe":"ffmpeg","platform":"linux-alpine-musl-arm64","exit_code":8,"category":"missing_dep","blocked_by":["x264"],"timestamp":"2026-04-04T20:32:05Z"}"#;

/// A queue with work for every step: `task` has two new failures (by source, not Go's
/// `go-task`), `ffmpeg` is blocked on a dependency that succeeded, `gimp` on nothing on
/// record, and `x264` blocks one package so it moves first within priority 2.
fn maintained() -> Sandbox {
    let sb = sandbox().queue(&[
        entry("task", "homebrew:go-task", 1),
        entry("ffmpeg", "homebrew:ffmpeg", 2).with("status", "blocked"),
        entry("gimp", "homebrew:gimp", 2).with("status", "blocked"),
        entry("x264", "homebrew:x264", 2).with("status", "success"),
    ]);
    std::fs::create_dir_all(&sb.failures).unwrap();
    let text = format!("{BATCH_LINE}\n\nnot json\n{RECIPE_LINE}\n");
    std::fs::write(sb.failures.join("batch-2026-04-04T20-32-43Z.jsonl"), text).unwrap();
    sb
}

fn maintain(sb: &Sandbox, extra: &[&str]) -> crate::util::Out {
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "maintain", "--queue"])
        .arg(&sb.queue)
        .arg("--failures-dir")
        .arg(&sb.failures)
        .args(extra);
    run_cmd(&mut cmd)
}

fn names(path: &Path) -> Vec<String> {
    let q: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    q["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

fn changes(doc: &Value, step: &str, key: &str) -> Vec<String> {
    doc[step][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}->{}",
                c["entry"].as_str().unwrap(),
                c["from"],
                c["to"]
            )
        })
        .collect()
}

#[test]
fn dry_run_writes_nothing_and_reports_the_changes() {
    let sb = maintained();
    let before = std::fs::read(&sb.queue).unwrap();
    let out = maintain(&sb, &["--dry-run"]);
    out.code(exit::SUCCESS);
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before, "{}", out.ctx());
    assert!(
        !sb.queue.with_extension("json.lock").exists(),
        "a dry run takes no lock file"
    );
    assert!(
        out.stdout
            .contains("task (homebrew:go-task): pending -> failed"),
        "{}",
        out.ctx()
    );
    assert!(out.stdout.contains("stuck gimp"), "{}", out.ctx());
    // x264 blocks ffmpeg (score 1), so it moves ahead of the other priority-2 entries; the
    // moves are listed in their new order.
    let reorder = concat!(
        "reorder: 3 entries moved\n",
        "  x264: 3 -> 1 (priority 2, score 1)\n",
        "  ffmpeg: 1 -> 2 (priority 2, score 0)\n",
        "  gimp: 2 -> 3 (priority 2, score 0)\n",
        "  top blocking scores: x264 1\n",
    );
    assert!(out.stdout.contains(reorder), "{}", out.ctx());
    assert!(out.stdout.contains("1 blank, 1 malformed"), "{}", out.ctx());
    assert!(
        out.stdout.contains("Dry run: nothing was written."),
        "{}",
        out.ctx()
    );
}

#[test]
fn json_lists_changes_and_a_second_run_changes_nothing() {
    let sb = maintained();
    let out = maintain(&sb, &["--json"]);
    out.code(exit::SUCCESS);
    let doc = out.json();
    // ffmpeg is released, then its uncounted missing_dep record blocks it again, and it is
    // released again: the rounds that make one run a fixed point, each change listed.
    assert_eq!(
        changes(&doc, "mark_failures", "changes"),
        [
            r#"task "pending"->"failed""#,
            r#"ffmpeg "pending"->"blocked""#
        ]
    );
    assert_eq!(doc["mark_failures"]["changes"][0]["reason"]["records"], 2);
    assert_eq!(
        changes(&doc, "requeue", "changes"),
        [
            r#"ffmpeg "blocked"->"pending""#,
            r#"ffmpeg "blocked"->"pending""#
        ]
    );
    assert_eq!(
        strings(&doc["requeue"]["changes"][0]["reason"]["resolved_by"]),
        ["x264"]
    );
    assert_eq!(doc["requeue"]["stuck"][0]["entry"], "gimp");
    assert_eq!(
        doc["requeue"]["stuck"][0]["kind"],
        "no_recorded_dependencies"
    );
    assert_eq!(doc["reorder"]["moves"][0]["entry"], "x264");
    assert_eq!(doc["skipped"]["malformed"], 1);
    assert_eq!(
        doc["written"].as_str().map(Path::new),
        Some(sb.queue.as_path())
    );
    assert_eq!(names(&sb.queue), ["task", "x264", "ffmpeg", "gimp"]);

    let written = std::fs::read(&sb.queue).unwrap();
    let again = maintain(&sb, &["--json"]);
    again.code(exit::SUCCESS);
    let doc = again.json();
    assert_eq!(doc["changed"], false, "{}", again.ctx());
    assert!(doc["written"].is_null());
    assert_eq!(
        std::fs::read(&sb.queue).unwrap(),
        written,
        "the second run rewrote the queue"
    );
}

#[test]
fn go_single_dash_spellings_and_output() {
    let sb = maintained();
    let before = std::fs::read(&sb.queue).unwrap();
    let output = sb.root().join("out.json");
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "maintain", "-queue"])
        .arg(&sb.queue)
        .arg("-failures-dir")
        .arg(&sb.failures)
        .arg(format!("-output={}", output.display()))
        .args(["-skip-reorder", "-skip-requeue", "-json"]);
    let out = run_cmd(&mut cmd);
    out.code(exit::SUCCESS);
    let doc = out.json();
    assert!(
        doc["requeue"].is_null() && doc["reorder"].is_null(),
        "{}",
        out.ctx()
    );
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
    assert_eq!(names(&output), ["task", "ffmpeg", "gimp", "x264"]);
}

#[test]
fn a_held_lock_exits_locked_and_writes_nothing() {
    let sb = maintained();
    let before = std::fs::read(&sb.queue).unwrap();
    let _held = batch::lock::RunLock::acquire(&sb.queue).unwrap();
    let out = maintain(&sb, &[]);
    out.code(exit::LOCKED);
    assert!(out.stderr.contains("holds the lock"), "{}", out.ctx());
    assert_eq!(std::fs::read(&sb.queue).unwrap(), before);
}

#[test]
fn a_missing_failures_dir_is_bad_input() {
    let sb = maintained();
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "maintain", "--queue"])
        .arg(&sb.queue)
        .arg("--failures-dir")
        .arg(sb.root().join("nowhere"));
    let out = run_cmd(&mut cmd);
    out.code(exit::FAILURE);
    assert!(out.stderr.contains("failures directory"), "{}", out.ctx());
}
