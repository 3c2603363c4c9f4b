//! `--timeout` kills the generator's whole process group, grandchildren included, and records
//! the entry as a failure (`generation_failed`/`timeout` for create) that counts toward backoff.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::util::{RUN_LIMIT, cmdline, entry, entry_with_history, isolated, wait_until};

#[test]
fn timeout_kills_the_process_group_and_records_a_timeout_failure() {
    let mut sb = isolated("timeout");
    sb.write_queue(&[
        entry_with_history("slow-1", "homebrew:slow-1"),
        entry("ok-1", "homebrew:ok-1", 1),
    ]);
    sb.set_rules(&[("slow-*", "grandchild"), ("ok-*", "ok")]);
    let before = jiff::Timestamp::now();
    let mut run = sb.spawn(
        "timeout",
        &["--jobs", "4", "--timeout", "1s", "--kill-grace", "0s"],
        &[],
    );
    let binary = run.pid();
    // Every process of the run seen while it runs, with its command line at the time.
    let mut seen: BTreeMap<i32, String> = BTreeMap::new();
    let out = run.wait_observing(RUN_LIMIT, || {
        for p in sb.marked() {
            if p != binary {
                seen.entry(p).or_insert_with(|| cmdline(p));
            }
        }
    });
    let after = jiff::Timestamp::now();
    out.code(0);

    let e = sb.entry("slow-1");
    assert_eq!(
        (e["status"].as_str(), e["failure_count"].as_i64()),
        (Some("failed"), Some(2)),
        "a timed-out create is a failure counting toward backoff: {e}\n{}",
        out.ctx()
    );
    let retry: jiff::Timestamp = e["next_retry_at"]
        .as_str()
        .unwrap_or_else(|| panic!("failure_count 2 sets a 24 h backoff: {e}"))
        .parse()
        .expect("RFC 3339");
    let day = jiff::SignedDuration::from_hours(24);
    let slack = jiff::SignedDuration::from_secs(60);
    assert!(
        retry >= before + day - slack && retry <= after + day + slack,
        "next_retry_at {retry} is not 24 h after the failure ({before} .. {after})"
    );
    assert_eq!(sb.entry("ok-1")["status"], "success");

    let records: Vec<Value> = sb
        .failure_records()
        .into_iter()
        .filter(|r| r["package_id"] == "homebrew:slow-1")
        .collect();
    assert_eq!(records.len(), 1, "one failure record: {records:?}");
    let r = &records[0];
    assert_eq!(r["category"], "generation_failed", "{r}");
    assert_eq!(r["subcategory"], "timeout", "{r}");

    // The fake prints the grandchild's pid; it is part of the recorded output.
    let msg = r["message"].as_str().unwrap_or_default();
    let grandchild: Option<i32> = msg
        .split("grandchild ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok());
    let sleepers = seen.values().filter(|c| c.as_str() == "sleep 3600").count();
    assert!(
        sleepers >= 2 || grandchild.is_some(),
        "the test never saw the generator's grandchild (seen: {seen:?}, message: {msg:?})"
    );
    let mut left = Vec::new();
    wait_until(Duration::from_secs(5), Duration::from_millis(25), || {
        // Only processes still carrying this sandbox's marker count (pids get reused).
        let live = sb.marked();
        left = seen
            .keys()
            .copied()
            .chain(grandchild)
            .filter(|p| live.contains(p))
            .collect();
        left.is_empty()
    });
    assert!(
        left.is_empty(),
        "processes of the timed-out generator survived: {:?} (seen during the run: {seen:?})",
        left.iter().map(|p| (*p, cmdline(*p))).collect::<Vec<_>>()
    );
    let survivors = sb.survivors_after(Duration::from_secs(1));
    assert!(survivors.is_empty(), "processes left: {survivors:?}");
    assert!(!sb.journal().exists(), "journal left behind");
}
