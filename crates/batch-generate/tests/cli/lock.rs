//! One writer per queue (issue #4, issue #21): every subcommand that takes the queue's run lock
//! (`<queue>.lock`) exits `exit::LOCKED` while another holder has it, says so, and writes
//! nothing. The subcommands are the callers of `RunLock::acquire`: the main run (through the
//! run sequence), `preflight`, `merge`, `aggregate`, `queue maintain` and `queue reconcile`.
//! `merge` exited 1 here while `exit.rs` listed the error types to ask by hand.

use std::path::PathBuf;

use batch::lock::RunLock;
use batch_generate::exit;
use serde_json::Value;

use crate::util::{Out, Sandbox, assert_unchanged, entry, run_cmd, sandbox};

/// Asserts that `out` is a refusal because of the held lock: exit 3, the error chain's top
/// line saying what could not be done and a cause naming the lock file, and no file under the
/// sandbox changed.
fn refused_for_the_lock(sb: &Sandbox, before: &crate::util::Snapshot, out: &Out) {
    out.code(exit::LOCKED);
    let lock = sb.lock_file().display().to_string();
    assert!(
        out.stderr.contains("error: cannot take the run lock\n"),
        "{}",
        out.ctx()
    );
    assert!(
        out.stderr.lines().any(|l| l.starts_with("  caused by: ")
            && l.contains("holds the lock")
            && l.contains(&lock)),
        "no cause names the held lock {lock}\n{}",
        out.ctx()
    );
    assert_unchanged(before, &sb.snapshot(), out);
}

fn one_entry() -> Sandbox {
    sandbox().queue(&[entry("a", "homebrew:a", 1)])
}

#[test]
fn the_main_run_exits_locked() {
    let sb = one_entry();
    let held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let out = sb.run(&[]);
    refused_for_the_lock(&sb, &before, &out);
    assert!(
        sb.log_lines().is_empty(),
        "the generator ran\n{}",
        out.ctx()
    );
    drop(held);
    sb.run(&[]).ok();
}

#[test]
fn preflight_exits_locked() {
    let sb = one_entry();
    let held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let out = run_cmd(&mut sb.preflight_cmd());
    refused_for_the_lock(&sb, &before, &out);
    drop(held);
    run_cmd(&mut sb.preflight_cmd()).ok();
}

fn fragments(sb: &Sandbox) -> PathBuf {
    sb.root().join("fragments")
}

fn merge(sb: &Sandbox) -> Out {
    let mut cmd = sb.merge_cmd(&fragments(sb));
    run_cmd(&mut cmd)
}

/// The regression of issue #21: `merge` of a complete one-shard batch under a held lock
/// exits 3 (it exited 1), and merges once the lock is free.
#[test]
fn merge_exits_locked() {
    let sb = one_entry();
    let mut pre = sb.preflight_cmd();
    pre.args(["--shards", "1", "--json"]);
    let doc: Value = run_cmd(&mut pre).ok().json();
    let (id, at) = (
        doc["batch_id"].as_str().unwrap(),
        doc["planned_at"].as_str().unwrap(),
    );
    let dir = fragments(&sb);
    sb.run(&[
        "--shard",
        "1/1",
        "--batch-id",
        id,
        "--planned-at",
        at,
        "--fragment-dir",
        dir.to_str().unwrap(),
    ])
    .ok();

    let held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let out = merge(&sb);
    refused_for_the_lock(&sb, &before, &out);
    assert!(
        out.stderr.contains("hint: wait for it to finish"),
        "{}",
        out.ctx()
    );
    drop(held);
    merge(&sb).ok();
    assert_eq!(sb.entry("a")["status"], "success");
}

#[test]
fn aggregate_exits_locked() {
    let sb = one_entry();
    let validation = sb.root().join("validation");
    std::fs::create_dir_all(&validation).unwrap();
    let _held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let mut cmd = sb.aggregate_cmd(&validation);
    cmd.args([
        "--batch-id",
        "2026-12-01-all",
        "--planned-at",
        "2026-12-01T08:00:00Z",
    ]);
    let out = run_cmd(&mut cmd);
    refused_for_the_lock(&sb, &before, &out);
}

#[test]
fn queue_maintain_exits_locked() {
    let sb = one_entry();
    std::fs::create_dir_all(&sb.failures).unwrap();
    let held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "maintain", "--queue"])
        .arg(&sb.queue)
        .arg("--failures-dir")
        .arg(&sb.failures);
    let out = run_cmd(&mut cmd);
    refused_for_the_lock(&sb, &before, &out);
    drop(held);
    run_cmd(&mut cmd).ok();
}

#[test]
fn queue_reconcile_exits_locked() {
    let sb = one_entry();
    std::fs::create_dir_all(&sb.output).unwrap();
    let held = RunLock::acquire(&sb.queue).unwrap();
    let before = sb.snapshot();
    let mut cmd = sb.bare_cmd();
    cmd.args(["queue", "reconcile", "--queue"])
        .arg(&sb.queue)
        .arg("--recipes")
        .arg(&sb.output);
    let out = run_cmd(&mut cmd);
    refused_for_the_lock(&sb, &before, &out);
    drop(held);
    run_cmd(&mut cmd).ok();
}
