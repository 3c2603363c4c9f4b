//! A write that fails (the failures directory cannot be created: its path is a regular file;
//! the tests run as root, so permissions would not stop the writes): exit 1 naming the path,
//! nothing written after the failure, the journal kept; once fixed, the next run replays the
//! journal and records the failure exactly once.

use batch_generate::exit;

use crate::util::{created_names, entry, isolated};

#[test]
fn failed_write_keeps_the_journal_and_the_next_run_replays_it_once() {
    let mut sb = isolated("readonly");
    sb.write_queue(&[
        entry("bad-1", "homebrew:bad-1", 1),
        entry("good-1", "homebrew:good-1", 1),
    ]);
    sb.set_rules(&[("bad-*", "fail6"), ("good-*", "ok")]);
    let blocker = b"a regular file where the failures directory should be\n";
    std::fs::write(&sb.failures, blocker).unwrap();
    let queue_before = sb.queue_bytes();

    let out = sb.run_child("unwritable", &[], &[]);
    out.code(exit::FAILURE);
    let path = sb.failures.to_string_lossy().into_owned();
    assert!(
        out.stderr.contains(&path),
        "the error does not name the failures path {path}\n{}",
        out.ctx()
    );
    // Failure files are written first: nothing after them was written.
    assert!(
        sb.queue_bytes() == queue_before,
        "the queue changed although the first write failed\n{}",
        out.ctx()
    );
    assert_eq!(std::fs::read(&sb.failures).unwrap(), blocker);
    assert!(!sb.results.exists(), "results written after a failed write");
    let journaled: Vec<String> = sb
        .journal_outcomes()
        .unwrap_or_else(|| panic!("the journal was not kept\n{}", out.ctx()))
        .iter()
        .filter_map(|o| o["name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        journaled.iter().any(|n| n == "bad-1") && journaled.iter().any(|n| n == "good-1"),
        "the kept journal lacks the run's outcomes: {journaled:?}"
    );

    std::fs::remove_file(&sb.failures).unwrap();
    let out = sb.run_child("fixed", &[], &[]);
    out.code(exit::SUCCESS);
    assert!(
        !sb.journal().exists(),
        "the replayed journal is left behind"
    );
    let bad = sb.entry("bad-1");
    assert_eq!(
        (bad["status"].as_str(), bad["failure_count"].as_i64()),
        (Some("failed"), Some(1)),
        "the journaled failure must be applied exactly once: {bad}\n{}",
        out.ctx()
    );
    assert_eq!(sb.entry("good-1")["status"], "success");
    let records = sb.failure_records();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["package_id"] == "homebrew:bad-1")
            .count(),
        1,
        "the failure must be recorded exactly once: {records:?}"
    );
    assert_eq!(records.len(), 1, "unexpected records: {records:?}");
    let created = created_names(&sb.log_lines());
    assert_eq!(
        created.iter().filter(|n| *n == "bad-1").count(),
        1,
        "the journaled entry was run again: {created:?}"
    );
}
