//! One run per queue: a second run on a queue whose lock is held exits at once with
//! `exit::LOCKED`, names the holder's pid and writes nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use batch_generate::exit;
use nix::sys::signal::Signal;

use crate::util::{
    RUN_LIMIT, created_names, entry_with_history, isolated, snapshot_except, wait_until,
};

#[test]
fn second_run_on_a_locked_queue_exits_3_and_writes_nothing() {
    let mut sb = isolated("lock");
    let original = entry_with_history("hang-1", "homebrew:hang-1");
    sb.write_queue(std::slice::from_ref(&original));
    sb.set_rules(&[("hang-*", "hang")]);
    let flags = ["--timeout", "30s", "--kill-grace", "1s"];
    let mut first = sb.spawn("first", &flags, &[]);
    let pid = first.pid();
    let holding = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        first.exited()
            || (std::fs::read_to_string(sb.lock_file()).is_ok_and(|t| t.trim() == pid.to_string())
                && created_names(&sb.log_lines()).iter().any(|n| n == "hang-1"))
    });
    assert!(
        holding && !first.exited(),
        "the first run did not take the lock {} with its pid {pid} and start its generator\nlock: {:?}\n--- stderr ---\n{}",
        sb.lock_file().display(),
        std::fs::read_to_string(sb.lock_file()).ok(),
        first.stderr_so_far()
    );

    // `logs` holds the captured output of the runs, not files of the tool.
    let before = snapshot_except(&sb.root, &["logs"]);
    let second = sb.run_child("second", &flags, &[]);
    let after = snapshot_except(&sb.root, &["logs"]);
    second.code(exit::LOCKED);
    assert!(
        second.stderr.contains(&pid.to_string()),
        "the message does not name the holder's pid {pid}\n{}",
        second.ctx()
    );
    assert!(
        second.elapsed < Duration::from_secs(20),
        "a locked run must exit at once, took {:?}",
        second.elapsed
    );
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: Vec<&&String> = keys
        .iter()
        .filter(|k| before.get(**k) != after.get(**k))
        .collect();
    assert!(
        changed.is_empty(),
        "the locked run wrote or removed files: {changed:?}\n{}",
        second.ctx()
    );
    assert!(!first.exited(), "the first run ended early");

    first.signal(Signal::SIGTERM);
    let out = first.wait(RUN_LIMIT);
    out.code(exit::SIGTERM);
    assert_eq!(
        sb.entry("hang-1"),
        original,
        "the interrupted entry changed"
    );
    let survivors = sb.survivors_after(Duration::from_secs(5));
    assert!(survivors.is_empty(), "processes left: {survivors:?}");
}
