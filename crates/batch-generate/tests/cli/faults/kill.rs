//! SIGKILL at random instants (issue "Unattended-run safety": atomic writes, run journal,
//! idempotent replay). Each trial runs 300 entries of the real queue with the fake generator
//! in `auto` mode (mixed outcomes, deterministic per name), SIGKILLs the binary after a seeded
//! random delay — before any outcome, mid-run, or while it saves — then runs it again to
//! completion and checks that every entry got exactly one outcome, equal to the one of an
//! uninterrupted reference run, and that every failure record was written exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;

use crate::util::{
    QUEUE_UPDATED_AT, RUN_LIMIT, Sandbox, cmdline, created_names, isolated, queue_text, read_lines,
    snapshot_tree, wait_until,
};

/// Entries taken from the real queue.
const ENTRIES: usize = 300;
/// Trials per test function (two functions, so 24 in all).
const TRIALS: usize = 12;

/// The flags of every run of these trials (beside the sandbox's file flags).
const FLAGS: [&str; 6] = ["--tier", "3", "--jobs", "8", "--batch-size", "300"];

/// The trial queue and what an uninterrupted run makes of it.
struct Reference {
    /// The queue file text written before each trial.
    text: String,
    /// The entries as written.
    original: Vec<Value>,
    /// Final status per entry of the uninterrupted run, in queue order.
    statuses: Vec<String>,
    /// Entries the uninterrupted run processed.
    processed: usize,
    /// Wall time of the uninterrupted run with the trials' generator delay.
    duration: Duration,
}

/// The first 300 entries of the real queue, all made pending candidates.
fn trial_queue() -> (String, Vec<Value>) {
    let path = crate::util::real_data("priority-queue.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the real queue {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("the real queue parses");
    let mut entries: Vec<Value> = doc["entries"]
        .as_array()
        .expect("entries array")
        .iter()
        .take(ENTRIES)
        .cloned()
        .collect();
    assert_eq!(entries.len(), ENTRIES, "the real queue has 300 entries");
    for e in &mut entries {
        let o = e.as_object_mut().expect("entry object");
        o.insert("status".into(), "pending".into());
        o.insert("next_retry_at".into(), Value::Null);
    }
    (queue_text(&entries, QUEUE_UPDATED_AT), entries)
}

fn sandbox(tag: &str, r: &Reference) -> Sandbox {
    let mut sb = isolated(tag);
    sb.write_queue_text(&r.text, &r.original);
    sb.set_env("FAKE_TSUKU_MODE", "auto");
    sb
}

fn reference() -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let (text, original) = trial_queue();
        let mut r = Reference {
            text,
            original,
            statuses: Vec::new(),
            processed: 0,
            duration: Duration::ZERO,
        };
        let mut sb = sandbox("kill-ref", &r);
        let out = sb.run_child("reference", &FLAGS, &[("FAKE_TSUKU_DELAY", "0.01")]);
        out.code(0);
        r.duration = out.elapsed;
        let after = sb.entries();
        check_invariants(&sb, &r.original, &after, "reference run");
        r.statuses = after
            .iter()
            .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
            .collect();
        r.processed = r.statuses.iter().filter(|s| *s != "pending").count();
        let kinds: BTreeSet<&str> = r.statuses.iter().map(String::as_str).collect();
        assert!(
            ["success", "failed", "blocked"]
                .iter()
                .all(|k| kinds.contains(k)),
            "auto mode must give every outcome over the real queue, got {kinds:?}"
        );
        eprintln!(
            "sigkill reference: {} processed in {:?} ({} success, {} failed, {} blocked)",
            r.processed,
            r.duration,
            r.statuses.iter().filter(|s| *s == "success").count(),
            r.statuses.iter().filter(|s| *s == "failed").count(),
            r.statuses.iter().filter(|s| *s == "blocked").count(),
        );
        r
    })
}

/// Checks that hold after any run that finished (the queue may still hold pending entries):
/// the queue parses with every entry in place, no journal, at most one outcome per entry
/// relative to `original`, and one failure record per failed/blocked entry, none twice.
#[track_caller]
fn check_invariants(sb: &Sandbox, original: &[Value], after: &[Value], what: &str) {
    assert_eq!(after.len(), original.len(), "{what}: entry count changed");
    assert!(
        !sb.journal().exists(),
        "{what}: the journal {} is left behind",
        sb.journal().display()
    );
    for (i, (o, a)) in original.iter().zip(after).enumerate() {
        assert_eq!(
            (&o["name"], &o["source"]),
            (&a["name"], &a["source"]),
            "{what}: entry {i} moved"
        );
        let fc0 = o["failure_count"].as_i64().expect("failure_count");
        let fc = a["failure_count"].as_i64().expect("failure_count");
        let status = a["status"].as_str().expect("status");
        let ok = match status {
            "pending" => fc == fc0,
            "success" => fc == 0,
            "failed" => fc == fc0 + 1,
            "blocked" => fc == fc0,
            _ => false,
        };
        assert!(
            ok,
            "{what}: entry {i} {} went from failure_count {fc0} to status {status:?} with failure_count {fc}: not exactly one outcome\n{a}",
            a["name"]
        );
    }
    let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
    for r in sb.failure_records() {
        let id = r["package_id"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: record without package_id: {r}"))
            .to_owned();
        *per_source.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = per_source.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "{what}: failure records written more than once: {twice:?}"
    );
    for a in after {
        let source = a["source"].as_str().unwrap_or_default();
        let status = a["status"].as_str().unwrap_or_default();
        let n = per_source.remove(source).unwrap_or(0);
        let want = usize::from(status == "failed" || status == "blocked");
        assert_eq!(
            n, want,
            "{what}: entry {} ({status}) has {n} failure record(s), want {want}",
            a["name"]
        );
    }
    assert!(
        per_source.is_empty(),
        "{what}: failure records for sources not in the queue: {per_source:?}"
    );
}

/// When a trial's kill landed, from what it left on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// No journal yet, queue untouched.
    BeforeJournal,
    /// Journal with no outcome.
    NoOutcome,
    /// Journal with some outcomes.
    MidRun,
    /// Every outcome journaled, nothing saved yet (or only some files).
    Saving,
    /// Every outcome journaled and the queue already saved; journal not yet removed.
    SavedJournalKept,
    /// Journal removed: the run had finished.
    Finished,
}

/// How a trial picks its kill instant.
#[derive(Debug, Clone, Copy)]
enum Aim {
    /// A few milliseconds after spawn.
    Early,
    /// Uniform over the reference run's duration (a little past it).
    Uniform,
    /// Once the journal holds every outcome, plus a few milliseconds.
    Save,
    /// As soon as the saved queue replaced the original (the journal is removed just after).
    QueueSaved,
}

/// Kill instants by trial number: every kind of moment in each half of the trials.
const AIMS: [Aim; 6] = [
    Aim::Early,
    Aim::Uniform,
    Aim::Save,
    Aim::Uniform,
    Aim::QueueSaved,
    Aim::Save,
];

/// Complete outcome lines in the journal (0 when there is none).
fn outcome_lines(journal: &Path) -> usize {
    const NEEDLE: &[u8] = b"\"kind\":\"outcome\"";
    std::fs::read(journal)
        .map(|b| {
            b.split(|c| *c == b'\n')
                .filter(|l| l.windows(NEEDLE.len()).any(|w| w == NEEDLE))
                .count()
        })
        .unwrap_or(0)
}

fn trial(seed: u64, n: usize, r: &Reference) -> Phase {
    let mut rng = StdRng::seed_from_u64(seed);
    let aim = AIMS[n % AIMS.len()];
    let label = format!("trial {n} (seed {seed:#x}, {aim:?})");
    let mut sb = sandbox(&format!("kill{n}"), r);
    let mut run = sb.spawn("killed", &FLAGS, &[("FAKE_TSUKU_DELAY", "0.01")]);
    let start = Instant::now();
    match aim {
        Aim::Early => std::thread::sleep(Duration::from_millis(rng.random_range(0..40))),
        Aim::Uniform => {
            let max = r.duration.as_secs_f64() * 1.1;
            std::thread::sleep(Duration::from_secs_f64(rng.random_range(0.0..max)));
        }
        Aim::Save => {
            let journal = sb.journal();
            // 0–10 ms after the last outcome, skewed towards the start of the save.
            let x: u64 = rng.random_range(0..1_000);
            let extra = Duration::from_micros(x * x / 100);
            // Busy-poll: the save takes milliseconds.
            while !run.exited()
                && start.elapsed() < RUN_LIMIT
                && outcome_lines(&journal) < r.processed
            {
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(extra);
        }
        Aim::QueueSaved => {
            use std::os::unix::fs::MetadataExt;
            let inode = |p: &Path| std::fs::metadata(p).map(|m| m.ino()).unwrap_or(0);
            let original = inode(&sb.queue);
            while !run.exited() && start.elapsed() < RUN_LIMIT && inode(&sb.queue) == original {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
    let killed_at = start.elapsed();
    run.sigkill();
    drop(run);

    // What the kill left. Atomic writes: the queue is the old or the new file, never torn.
    assert_eq!(
        sb.entries().len(),
        ENTRIES,
        "{label}: the queue after the kill lost entries"
    );
    let journaled = sb.journal_outcomes();
    let queue_touched = sb.queue_bytes() != r.text.as_bytes();
    let phase = match &journaled {
        None if queue_touched => Phase::Finished,
        None => Phase::BeforeJournal,
        Some(j) if j.is_empty() => Phase::NoOutcome,
        Some(j) if j.len() < r.processed => Phase::MidRun,
        Some(_) if queue_touched => Phase::SavedJournalKept,
        Some(_) => Phase::Saving,
    };
    let journaled_names: BTreeSet<String> = journaled
        .iter()
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_owned))
        .collect();
    // Generators of the killed run live in their own process groups: stop the orphans.
    sb.kill_marked();

    if phase == Phase::Finished {
        // The batch completed before the kill: a rerun would be a new batch (failed entries
        // without backoff run again), so only the checks apply.
    } else {
        let rerun_log = sb.root.join("rerun.log");
        let rerun_log_s = rerun_log.to_string_lossy().into_owned();
        let out = sb.run_child(
            "rerun",
            &FLAGS,
            &[
                ("FAKE_TSUKU_DELAY", "0"),
                ("FAKE_TSUKU_LOG", rerun_log_s.as_str()),
            ],
        );
        assert_eq!(
            out.code,
            Some(0),
            "{label}: the rerun after a kill at {killed_at:?} ({phase:?}) failed\n{}",
            out.ctx()
        );
        let again: Vec<String> = created_names(&read_lines(&rerun_log))
            .into_iter()
            .filter(|n| journaled_names.contains(n))
            .collect();
        assert!(
            again.is_empty(),
            "{label}: the rerun ran journaled entries again: {again:?}"
        );
    }

    let after = sb.entries();
    check_invariants(&sb, &r.original, &after, &label);
    for (i, (a, want)) in after.iter().zip(&r.statuses).enumerate() {
        assert_eq!(
            a["status"].as_str().unwrap_or_default(),
            want,
            "{label}: entry {i} {} ends {} but the uninterrupted run made it {want}",
            a["name"],
            a["status"]
        );
    }
    let survivors = sb.survivors_after(Duration::from_secs(5));
    assert!(
        survivors.is_empty(),
        "{label}: processes left: {survivors:?}"
    );
    // The rerun removes atomic-write temporaries a kill left behind (it holds the lock).
    let tmp_left = leftover_temp_files(&sb.root);
    assert!(
        tmp_left.is_empty(),
        "{label}: temp files left: {tmp_left:?}"
    );
    eprintln!(
        "{label}: killed at {killed_at:?} in phase {phase:?} ({} journaled)",
        journaled_names.len(),
    );
    phase
}

/// `.batch-tmp-*` files (atomic-write temporaries) anywhere below `root`.
fn leftover_temp_files(root: &Path) -> Vec<String> {
    snapshot_tree(root)
        .into_iter()
        .filter(|(rel, content)| {
            content.is_some()
                && Path::new(rel)
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".batch-tmp-"))
        })
        .map(|(rel, _)| rel)
        .collect()
}

fn trials(seed: u64, first: usize) {
    let r = reference();
    let mut phases = BTreeMap::new();
    for n in first..first + TRIALS {
        let phase = trial(seed.wrapping_add(n as u64), n, r);
        *phases.entry(phase).or_insert(0usize) += 1;
    }
    eprintln!("sigkill trials {first}..{}: {phases:?}", first + TRIALS);
    let count = |ps: &[Phase]| {
        ps.iter()
            .map(|p| phases.get(p).unwrap_or(&0))
            .sum::<usize>()
    };
    assert!(
        count(&[Phase::BeforeJournal, Phase::NoOutcome]) >= 1,
        "no kill landed before the first outcome: {phases:?}"
    );
    assert!(
        count(&[Phase::MidRun]) >= 1,
        "no kill landed mid-run: {phases:?}"
    );
    assert!(
        count(&[Phase::Saving, Phase::SavedJournalKept]) >= 1,
        "no kill landed while the run saved its files: {phases:?}"
    );
}

#[test]
fn sigkill_at_random_instants_loses_and_duplicates_nothing_a() {
    trials(0x5eed_0000, 0);
}

#[test]
fn sigkill_at_random_instants_loses_and_duplicates_nothing_b() {
    trials(0x5eed_1000, TRIALS);
}

/// The generator of the orphan trial: takes a per-entry `flock` for its whole life (its
/// children inherit the descriptor), logs a second holder as an overlap, sleeps `$SLOW` in
/// `create` through a child process (which a parent-death signal of the generator does not
/// reach), then runs the fake generator.
const LOCKING_GENERATOR: &str = r#"#!/bin/sh
case "$1" in
  create) key=$2 ;;
  *) key=$(basename "$4" .toml) ;;
esac
exec 9>>"$LOCKS/$key.lock"
flock -n 9 || echo "overlap $key $1" >> "$LOCKS/overlaps"
[ "$1" = create ] && sleep "$SLOW"
exec "$REAL" "$@"
"#;

/// Issue #15, "no orphans": the binary is SIGKILLed while 4 slow generators are in flight and
/// resumed at once. The resumed run stops the killed run's process groups before it starts
/// anything (it says so in `--json`), no entry ever has two generators at once, and no process
/// of the killed run is alive afterwards.
#[test]
fn sigkill_with_generators_in_flight_leaves_no_orphans_and_no_double_runs() {
    let sb = isolated("orphans");
    let locks = sb.root().join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let generator = sb.root().join("bin/locking-tsuku");
    std::fs::write(&generator, LOCKING_GENERATOR).unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&generator, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let real = sb.root().join("bin/fake-tsuku");
    let mut sb = sb.generator(&generator);
    sb.set_env("LOCKS", &locks);
    sb.set_env("SLOW", "4");
    sb.set_env("REAL", &real);
    let entries: Vec<Value> = (1..=8)
        .map(|i| crate::util::entry(&format!("slow-{i}"), &format!("homebrew:slow-{i}"), 1))
        .collect();
    sb.write_queue(&entries);
    let flags = ["--jobs", "4"];

    let mut first = sb.spawn("killed", &flags, &[]);
    let journal = sb.journal();
    let started_lines = || {
        std::fs::read_to_string(&journal)
            .map(|t| {
                t.lines()
                    .filter(|l| l.contains(r#""kind":"process""#))
                    .count()
            })
            .unwrap_or(0)
    };
    let in_flight = wait_until(Duration::from_secs(30), Duration::from_millis(10), || {
        started_lines() >= 4
    });
    assert!(
        in_flight && !first.exited(),
        "4 generators never started\n{}",
        first.stderr_so_far()
    );
    // Let the generators reach their sleep, then take the killed run's processes.
    std::thread::sleep(Duration::from_millis(300));
    let orchestrator = first.pid();
    let killed_run: Vec<i32> = sb
        .marked()
        .into_iter()
        .filter(|p| *p != orchestrator)
        .collect();
    assert!(
        killed_run.len() >= 4,
        "expected the 4 generators and their sleepers, got {killed_run:?}"
    );
    let leaders: Vec<i32> = std::fs::read_to_string(&journal)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["kind"] == "process")
        .filter_map(|v| v["pid"].as_i64().and_then(|p| i32::try_from(p).ok()))
        .collect();
    assert!(first.sigkill(), "the run ended before the kill");
    // The parent-death signal (Linux, through setpriv) takes the generators themselves down
    // with the orchestrator; their sleeping children are left for the resumed run to stop.
    let alive = |p: &i32| crate::util::process_state(*p).is_some_and(|s| s != 'Z' && s != 'X');
    assert!(
        wait_until(Duration::from_secs(2), Duration::from_millis(10), || {
            !leaders.iter().any(alive)
        }),
        "generators outlived the orchestrator: {leaders:?}"
    );

    let out = sb.run_child("resumed", &["--jobs", "4", "--json"], &[]);
    out.code(0);
    let doc = out.json();
    let overlaps = std::fs::read_to_string(locks.join("overlaps")).unwrap_or_default();
    assert!(
        overlaps.is_empty(),
        "entries had two generators at once:\n{overlaps}"
    );
    let stopped = doc["stopped_processes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        stopped.len(),
        4,
        "the resumed run stops the 4 groups in flight: {doc}\n{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("stopped 4 generator process group(s)"),
        "the log says so:\n{}",
        out.stderr
    );
    let alive: Vec<(i32, String)> = killed_run
        .iter()
        .filter(|p| alive(p))
        .map(|p| (*p, cmdline(*p)))
        .collect();
    assert!(
        alive.is_empty(),
        "processes of the killed run survive: {alive:?}"
    );
    for e in sb.entries() {
        assert_eq!(
            e["status"], "success",
            "every entry ran once the run resumed: {e}"
        );
    }
    assert!(!sb.journal().exists());
}
