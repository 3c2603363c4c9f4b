//! SIGINT/SIGTERM: dispatching stops, running generators' process groups get SIGTERM and,
//! after `--kill-grace`, SIGKILL; finished entries are saved, interrupted ones are unchanged,
//! the journal is removed and the exit code is 128 + the signal. A second signal skips the
//! grace period.

use std::time::{Duration, Instant};

use batch_generate::exit;
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::util::{
    RUN_LIMIT, Running, Sandbox, cmdline, created_names, entry, entry_text, entry_with_history,
    isolated, wait_until,
};

const OK: [&str; 3] = ["ok-1", "ok-2", "ok-3"];
const STUCK: [&str; 2] = ["stuck-1", "stuck-2"];

/// Three `ok` entries and two entries whose generator never ends (`mode`), interleaved.
fn sandbox(tag: &str, mode: &str) -> (Sandbox, Vec<Value>) {
    let mut sb = isolated(tag);
    let entries = vec![
        entry_with_history(STUCK[0], "homebrew:stuck-1"),
        entry(OK[0], "homebrew:ok-1", 1),
        entry(OK[1], "github:someone/ok-2", 1),
        entry_with_history(STUCK[1], "github:someone/stuck-2"),
        entry(OK[2], "homebrew:ok-3", 1),
    ];
    sb.write_queue(&entries);
    sb.set_rules(&[("stuck-*", mode), ("ok-*", "ok")]);
    (sb, entries)
}

/// Waits until both stuck generators were started and the three ok entries are journaled.
#[track_caller]
fn wait_for_stuck_generators(sb: &Sandbox, run: &mut Running) {
    let ready = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        if run.exited() {
            return true;
        }
        let created = created_names(&sb.log_lines());
        STUCK.iter().all(|s| created.iter().any(|c| c == s))
            && sb.journal_outcomes().is_some_and(|o| o.len() >= OK.len())
    });
    let exited = run.exited();
    assert!(
        ready && !exited,
        "{}: the stuck generators did not start, or the ok entries were not journaled (exited: {})\nlog: {:?}\njournal: {:?}\n--- stderr ---\n{}",
        run.label,
        exited,
        sb.log_lines(),
        std::fs::read_to_string(sb.journal()).ok(),
        run.stderr_so_far()
    );
}

/// What every interrupted run must have left.
#[track_caller]
fn check_saved(sb: &Sandbox, original: &[Value], what: &str) {
    assert!(!sb.journal().exists(), "{what}: the journal is left behind");
    for name in OK {
        let e = sb.entry(name);
        assert_eq!(
            (e["status"].as_str(), e["failure_count"].as_i64()),
            (Some("success"), Some(0)),
            "{what}: finished entry {name} was not saved as success: {e}"
        );
    }
    let text = String::from_utf8(sb.queue_bytes()).unwrap();
    for name in STUCK {
        let before = original.iter().find(|e| e["name"] == name).unwrap();
        assert_eq!(
            &sb.entry(name),
            before,
            "{what}: interrupted entry {name} changed"
        );
        assert!(
            text.contains(&entry_text(before)),
            "{what}: interrupted entry {name} is not byte-identical in the saved queue\n{text}"
        );
    }
    let records = sb.failure_records();
    assert!(
        records.is_empty(),
        "{what}: interrupted entries got failure records: {records:?}"
    );
    let survivors = sb.survivors_after(Duration::from_secs(5));
    assert!(
        survivors.is_empty(),
        "{what}: generator processes left after the run: {survivors:?}"
    );
}

fn interrupt(tag: &str, sig: Signal, want: i32) {
    let (mut sb, original) = sandbox(tag, "hang");
    let mut run = sb.spawn(tag, &["--jobs", "8", "--kill-grace", "1s"], &[]);
    wait_for_stuck_generators(&sb, &mut run);
    let generators: Vec<i32> = sb
        .marked()
        .into_iter()
        .filter(|p| *p != run.pid())
        .collect();
    assert!(
        generators.len() >= STUCK.len(),
        "{tag}: expected the hanging generators to be running, found {generators:?}"
    );
    run.signal(sig);
    let out = run.wait(RUN_LIMIT);
    out.code(want);
    check_saved(&sb, &original, tag);

    // The whole batch is accounted for (issue #12): the signal is named, and the entries that
    // did not run are counted and named in the final line, batch-results.json and the summary.
    let name = format!("{sig:?}");
    assert!(
        out.stderr.contains(&format!("stopped by {name}: ")),
        "{tag}: {}",
        out.ctx()
    );
    let results = sb.results_json();
    let mut not_run: Vec<String> = results["not_run"]
        .as_array()
        .unwrap_or_else(|| panic!("{tag}: no not_run in {results}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    not_run.sort();
    let mut stuck: Vec<String> = STUCK.iter().map(|s| (*s).to_owned()).collect();
    stuck.sort();
    assert_eq!(not_run, stuck, "{tag}: {results}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("Batch complete: "))
        .unwrap_or_else(|| panic!("{tag}: no final line\n{}", out.ctx()));
    assert!(
        line.contains(&format!("; {} not run (", STUCK.len())),
        "{tag}: {line}"
    );
    let summary = std::fs::read_to_string(&sb.summary).unwrap();
    assert!(summary.contains("\n### Not run\n"), "{tag}: {summary}");
}

#[test]
fn sigterm_saves_finished_entries_and_stops_hanging_generators() {
    interrupt("sigterm", Signal::SIGTERM, exit::SIGTERM);
}

#[test]
fn sigint_saves_finished_entries_and_stops_hanging_generators() {
    interrupt("sigint", Signal::SIGINT, exit::SIGINT);
}

#[test]
fn second_sigterm_skips_the_grace_period() {
    let (mut sb, original) = sandbox("double", "ignoreterm");
    let mut run = sb.spawn("double", &["--jobs", "8", "--kill-grace", "60s"], &[]);
    wait_for_stuck_generators(&sb, &mut run);
    run.signal(Signal::SIGTERM);
    // The generators ignore SIGTERM: during the 60 s grace period the run must wait for them.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !run.exited(),
        "the run ended within 1 s of the first SIGTERM although its generators ignore SIGTERM and the grace period is 60 s\n{}",
        run.stderr_so_far()
    );
    let generators: Vec<i32> = sb
        .marked()
        .into_iter()
        .filter(|p| *p != run.pid())
        .collect();
    assert!(
        !generators.is_empty(),
        "the SIGTERM-ignoring generators are gone before the grace period ended"
    );
    let second = Instant::now();
    run.signal(Signal::SIGTERM);
    let out = run.wait(RUN_LIMIT);
    let took = second.elapsed();
    out.code(exit::SIGTERM);
    assert!(
        took < Duration::from_secs(20),
        "the run took {took:?} after the second SIGTERM; it must kill its generators at once, not wait out the 60 s grace period\n{}",
        out.ctx()
    );
    let mut left = Vec::new();
    wait_until(Duration::from_secs(5), Duration::from_millis(25), || {
        let live = sb.marked();
        left = generators
            .iter()
            .copied()
            .filter(|p| live.contains(p))
            .collect();
        left.is_empty()
    });
    assert!(
        left.is_empty(),
        "generator processes survived the second SIGTERM: {:?}",
        left.iter().map(|p| (*p, cmdline(*p))).collect::<Vec<_>>()
    );
    check_saved(&sb, &original, "double SIGTERM");
}

/// A shard stopped by SIGTERM (a cancelled or timed-out matrix job) still writes its fragment:
/// the finished entries with their outcomes, the interrupted ones as not run. Merging it
/// (`--allow-missing` is not needed: the shard is present) saves the finished entries and
/// leaves the interrupted ones unchanged, with no failure records for them.
#[test]
fn sigterm_on_a_shard_still_writes_its_fragment_and_merge_keeps_the_interrupted_entries() {
    let (mut sb, original) = sandbox("shard-term", "hang");
    let fragments = sb.root.join("fragments");
    let fragment_dir = fragments.to_str().unwrap().to_owned();
    // A real shard needs the batch's plan time (issue #12); here the current time.
    let planned_at = jiff::Timestamp::now().to_string();
    let mut run = sb.spawn(
        "shard",
        &[
            "--jobs",
            "8",
            "--kill-grace",
            "1s",
            "--shard",
            "1/1",
            "--batch-id",
            "b",
            "--planned-at",
            &planned_at,
            "--fragment-dir",
            &fragment_dir,
        ],
        &[],
    );
    // A shard keeps no journal: wait for its progress lines instead.
    let ready = wait_until(Duration::from_secs(30), Duration::from_millis(20), || {
        let created = created_names(&sb.log_lines());
        let finished = run
            .stderr_so_far()
            .lines()
            .filter(|l| l.contains("] ") && OK.iter().any(|n| l.contains(&format!(" {n}: "))))
            .count();
        run.exited()
            || (STUCK.iter().all(|s| created.iter().any(|c| c == s)) && finished == OK.len())
    });
    assert!(ready && !run.exited(), "{}", run.stderr_so_far());
    run.signal(Signal::SIGTERM);
    let out = run.wait(RUN_LIMIT);
    out.code(exit::SIGTERM);
    let queue_before = sb.queue_bytes();

    let path = fragments.join("b-shard-1-of-1.json");
    let fragment: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let names = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = fragment[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("outcomes"), OK);
    assert_eq!(names("not_run"), STUCK);
    assert_eq!(
        sb.queue_bytes(),
        queue_before,
        "a shard never writes the queue"
    );

    let mut merge = std::process::Command::new(crate::util::bin());
    merge
        .args(["merge", "--fragments", &fragment_dir])
        .arg("--queue")
        .arg(&sb.queue)
        .arg("--control-file")
        .arg(&sb.control)
        .arg("--output-dir")
        .arg(&sb.output)
        .arg("--failures-dir")
        .arg(&sb.failures)
        .arg("--results")
        .arg(&sb.results)
        .arg("--summary")
        .arg(&sb.summary)
        .current_dir(&sb.root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    let status = merge.status().unwrap();
    assert!(status.success(), "merge failed: {status}");
    check_saved(&sb, &original, "merged SIGTERM shard");
}
