//! Tests of the run journal, crash recovery and interruption (issue #4).
//!
//! Requirement under test: each finished entry's outcome (transition + failure record) is
//! appended and flushed to a JSON-lines journal beside the queue before the next result is
//! taken; a run that finds an unfinished journal first applies its completed outcomes, writes
//! their failure records, and does not run those entries again; a torn last line is ignored;
//! the journal is removed once everything is saved. On SIGINT/SIGTERM nothing new is
//! dispatched, interrupted entries are left unchanged and everything finished is saved.
//!
//! A "crash" is simulated by planning, creating the journal, executing with it and dropping
//! everything without `apply`/`persist` (optionally cutting execution short while a
//! generator hangs). Wall time is a [`FixedClock`]; tokio time is paused, so no test sleeps
//! for real.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use serde_json::Value;
use tokio::time::Instant;

use super::test_support::run;
use super::*;
use crate::queue::{Status, recipe_relative_path};
use crate::records::timestamp::Rfc3339;
use crate::run::journal::BreakerLine;
use crate::runner::fake::{Reply, ScriptedRunner};
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::Config;
use crate::queue::{Queue, QueueEntry};
use crate::records::{Outcome, OutcomeKind};
use crate::run::journal::JournalError;
use crate::run::journal::{Journal, Line, OutcomeLine};
use crate::runner::{Step, Stop};
use batch_base::clock::FixedClock;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Start of the crashed run (fractional, to see that the journal keeps it exactly).
const T0: &str = "2026-06-01T12:00:00.5Z";
/// `file_stamp(T0)`.
const T0_STAMP: &str = "2026-06-01T12-00-00Z";
/// When the next run (the recovery) happens.
const T1: &str = "2026-06-01T13:30:00Z";
const PATTERN: &str = "Error: recipe bdw-gc not found in registry";
const OLD: &str = "2026-05-01T00:00:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn ms(m: u64) -> Duration {
    Duration::from_millis(m)
}

fn entry(name: &str, source: &str) -> QueueEntry {
    QueueEntry::new(name, source, 1)
}

fn noop(_: Event<'_>) {}

struct Env {
    _dir: tempfile::TempDir,
    config: Config,
}

fn env(entries: Vec<QueueEntry>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let config = Config::rooted(root);
    write_queue(&config, entries);
    Env { _dir: dir, config }
}

fn write_queue(config: &Config, entries: Vec<QueueEntry>) {
    let q = Queue {
        schema_version: 1,
        updated_at: None,
        entries,
        extra: Default::default(),
    };
    q.save(&config.queue, ts(T0)).unwrap();
}

fn load_queue(config: &Config) -> Queue {
    Queue::load(&config.queue).unwrap()
}

fn journal_path(config: &Config) -> PathBuf {
    journal::path_for(&config.queue)
}

fn journal_lines(config: &Config) -> Vec<Line> {
    journal::read(&journal_path(config))
        .unwrap()
        .expect("a journal exists")
}

fn outcomes(lines: &[Line]) -> Vec<OutcomeLine> {
    lines
        .iter()
        .filter_map(|l| match l {
            Line::Outcome(o) => Some((**o).clone()),
            _ => None,
        })
        .collect()
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Every file a run or a recovery writes, for byte comparisons.
#[derive(Debug, PartialEq, Eq)]
struct Files {
    queue: Vec<u8>,
    control: Option<Vec<u8>>,
    results: Option<Vec<u8>>,
    summary: Option<Vec<u8>>,
    failures: BTreeMap<String, Vec<u8>>,
}

fn read_opt(p: &Path) -> Option<Vec<u8>> {
    std::fs::read(p).ok()
}

fn failure_files(config: &Config) -> BTreeMap<String, Vec<u8>> {
    let Ok(dir) = std::fs::read_dir(&config.failures_dir) else {
        return BTreeMap::new();
    };
    dir.map(|d| {
        let d = d.unwrap();
        (
            d.file_name().to_string_lossy().into_owned(),
            std::fs::read(d.path()).unwrap(),
        )
    })
    .collect()
}

fn snapshot(config: &Config) -> Files {
    Files {
        queue: std::fs::read(&config.queue).unwrap(),
        control: read_opt(&config.control_file),
        results: read_opt(&config.results),
        summary: read_opt(&config.summary),
        failures: failure_files(config),
    }
}

/// The JSON of every queue entry as written in the file (key order kept).
fn entry_json(config: &Config) -> Vec<String> {
    read_json(&config.queue)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A fake runner
// ---------------------------------------------------------------------------------------------

/// What the fake generator does for one call.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Sleeps `delay` (tokio time), then exits with `code`, printing `stdout`.
    Exit(i32, &'static str, Duration),
    /// Never returns (a generator that hangs; the run is cut short around it).
    Hang,
}

fn exit0() -> Act {
    Act::Exit(0, "", Duration::ZERO)
}

/// The fake generator: `script(step, name)` decides each call.
fn fake(script: impl Fn(&str, &str) -> Act + Send + Sync + 'static) -> ScriptedRunner {
    ScriptedRunner::new(move |c| match script(c.step(), &c.name()) {
        Act::Hang => Reply::Hang,
        Act::Exit(code, stdout, delay) => Reply::code(code).stdout(stdout).after(delay),
    })
}

/// Plans, creates the journal, executes with it (cut short after `cut` of tokio time, if
/// given) and drops everything without apply or persist: a crash. Returns the journal lines.
async fn crash(
    env: &Env,
    runner: &ScriptedRunner,
    clock: &FixedClock,
    cut: Option<Duration>,
) -> Vec<Line> {
    let queue_before = std::fs::read(&env.config.queue).unwrap();
    let planned = super::plan(&env.config, clock).unwrap();
    let mut journal =
        Journal::create(&journal_path(&env.config), Rfc3339::utc(planned.started)).unwrap();
    {
        let opts = ExecuteOptions {
            journal: Some(&mut journal),
            stop: None,
            deadline: None,
        };
        let fut = execute_with(&planned, &env.config, runner, clock, &noop, opts);
        tokio::pin!(fut);
        match cut {
            None => {
                fut.await.unwrap();
            }
            Some(d) => tokio::select! {
                r = &mut fut => panic!("execution was meant to hang, got {r:?}"),
                () = tokio::time::sleep(d) => {}
            },
        }
    }
    drop(journal);
    drop(planned);
    assert_eq!(
        std::fs::read(&env.config.queue).unwrap(),
        queue_before,
        "a crashed run writes nothing but its journal"
    );
    journal_lines(&env.config)
}

// ---------------------------------------------------------------------------------------------
// The mixed scenario used by several tests
// ---------------------------------------------------------------------------------------------

/// 0 `ok` succeeds; 1 `bad` fails (create exit 6 → install_failed); 2 `again` (already failed
/// once) fails again (exit 1 → generation_failed); 3 `guile` is blocked (exit 6 + missing
/// recipe pattern); 4 `done` is already a success and not selected.
fn mixed_entries() -> Vec<QueueEntry> {
    let mut again = entry("again", "go:again");
    again.status = Status::Failed;
    again.failure_count = 1;
    let mut done = entry("done", "npm:done");
    done.status = Status::Success;
    vec![
        entry("ok", "npm:ok"),
        entry("bad", "cargo:bad"),
        again,
        entry("guile", "homebrew:guile"),
        done,
    ]
}

fn mixed_runner() -> ScriptedRunner {
    fake(|step, name| match (name, step) {
        ("bad", "create") => Act::Exit(6, "boom", Duration::ZERO),
        ("again", "create") => Act::Exit(1, "nope", Duration::ZERO),
        ("guile", "create") => Act::Exit(6, PATTERN, Duration::ZERO),
        _ => exit0(),
    })
}

/// cargo closed with 2 failures, npm closed with 3; no go or homebrew breaker.
const MIXED_CONTROL: &str = r#"{
  "enabled": true,
  "circuit_breaker": {
    "cargo": {"state": "closed", "failures": 2, "last_failure": "2026-05-01T00:00:00Z"},
    "npm": {"state": "closed", "failures": 3, "last_failure": "2026-05-01T00:00:00Z"}
  }
}
"#;

fn mixed_env() -> Env {
    let env = env(mixed_entries());
    std::fs::write(&env.config.control_file, MIXED_CONTROL).unwrap();
    env
}

// ---------------------------------------------------------------------------------------------
// 1. run() with its journal
// ---------------------------------------------------------------------------------------------

/// The journal exists beside the queue while the run executes, is gone afterwards, and a run
/// through the journal writes exactly the files of plan → execute → apply → persist without
/// one.
#[tokio::test(start_paused = true)]
async fn run_removes_its_journal_and_writes_what_a_journal_free_run_writes() {
    let clock = FixedClock::new(ts(T0));

    let with = mixed_env();
    let jp = journal_path(&with.config);
    assert_eq!(
        jp.file_name().unwrap(),
        "priority-queue.json.journal",
        "beside the queue"
    );
    assert_eq!(jp.parent(), with.config.queue.parent());
    let seen = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Finished { name, .. } = e {
            seen.lock().unwrap().push((name.to_owned(), jp.exists()));
        }
    };
    let runner = mixed_runner();
    let (_, report) = run(&with.config, &runner, &clock, &on_event).await.unwrap();
    assert!(!jp.exists(), "journal removed once everything is saved");
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|(_, exists)| *exists),
        "journal present while running: {seen:?}"
    );
    assert_eq!(report.results.total, 4);

    let without = mixed_env();
    let runner = mixed_runner();
    let mut planned = super::plan(&without.config, &clock).unwrap();
    let results = execute(&planned, &without.config, &runner, &clock, &noop).await;
    let mut report2 = apply(&mut planned, &results, &without.config, &clock);
    persist(&mut planned, &mut report2, &without.config, &clock).unwrap();
    assert!(!journal_path(&without.config).exists());

    let a = snapshot(&with.config);
    let b = snapshot(&without.config);
    assert_eq!(
        String::from_utf8(a.queue.clone()).unwrap(),
        String::from_utf8(b.queue.clone()).unwrap()
    );
    assert_eq!(a, b);
    assert_eq!(
        a.failures.keys().cloned().collect::<Vec<_>>(),
        [
            format!("cargo-{T0_STAMP}.jsonl"),
            format!("go-{T0_STAMP}.jsonl"),
            format!("homebrew-{T0_STAMP}.jsonl")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Crash, then recover
// ---------------------------------------------------------------------------------------------

/// One outcome line per finished candidate; recovery sets each journaled entry to its
/// journaled state, writes the failure files stamped with the run's start (from the start
/// line, not the recovery's clock), results (timestamp = start), summary and the batch-level
/// breaker update, then removes the journal. A second recovery finds nothing.
#[tokio::test(start_paused = true)]
async fn recover_applies_a_crashed_runs_journal() {
    let env = mixed_env();
    let c = &env.config;
    let lines = crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;

    // The journal.
    assert_eq!(
        lines[0],
        Line::Start {
            version: journal::VERSION,
            started: Rfc3339::utc(ts(T0)),
        }
    );
    let Line::Start { started, .. } = &lines[0] else {
        unreachable!()
    };
    assert_eq!(started.to_string(), T0, "start kept to the nanosecond");
    let outs = outcomes(&lines);
    assert_eq!(lines.len(), 1 + outs.len(), "only start and outcome lines");
    let positions: BTreeSet<usize> = outs.iter().map(|o| o.position).collect();
    assert_eq!(
        positions,
        BTreeSet::from([0, 1, 2, 3]),
        "one line per candidate"
    );
    assert_eq!(outs.len(), 4);
    let by_name: BTreeMap<&str, &OutcomeLine> = outs.iter().map(|o| (o.name.as_str(), o)).collect();
    let ok = by_name["ok"];
    assert_eq!(
        (ok.index, ok.ended, ok.status.as_str(), ok.failure_count),
        (0, OutcomeKind::Succeeded, "success", 0)
    );
    assert_eq!(ok.recipe.as_deref(), Some("ok.toml"));
    assert!(ok.record.is_none() && ok.next_retry_at.is_none());
    let bad = by_name["bad"];
    assert_eq!(
        (bad.index, bad.ended, bad.status.as_str(), bad.failure_count),
        (1, OutcomeKind::Failed, "failed", 1)
    );
    assert!(bad.next_retry_at.is_none(), "no backoff at failure_count 1");
    let rec = bad.record.as_ref().unwrap();
    assert_eq!(rec.package_id, "cargo:bad");
    assert_eq!(rec.category.as_str(), "install_failed");
    assert_eq!(rec.timestamp, T0);
    let again = by_name["again"];
    assert_eq!(
        (
            again.index,
            again.ended,
            again.status.as_str(),
            again.failure_count
        ),
        (2, OutcomeKind::Failed, "failed", 2)
    );
    assert_eq!(
        again.next_retry_at.unwrap().to_string(),
        "2026-06-02T12:00:00.5Z",
        "24 h after classification"
    );
    let guile = by_name["guile"];
    assert_eq!(
        (
            guile.index,
            guile.ended,
            guile.status.as_str(),
            guile.failure_count
        ),
        (3, OutcomeKind::Blocked, "blocked", 0)
    );
    assert_eq!(
        guile.record.as_ref().unwrap().blocked_by,
        vec!["bdw-gc".to_owned()]
    );

    // Recovery, one and a half hours later.
    let later = FixedClock::new(ts(T1));
    let rec = recover(c, &later).unwrap().expect("a journal to recover");
    assert_eq!(rec.applied, 4);
    assert_eq!(rec.indices, BTreeSet::from([0, 1, 2, 3]));
    assert!(rec.missing.is_empty());
    let r = &rec.report.results;
    assert_eq!((r.total, r.succeeded, r.failed, r.blocked), (4, 1, 2, 1));
    assert_eq!(rec.report.recipes, ["ok.toml"]);
    let ids: Vec<&str> = rec
        .report
        .failures
        .iter()
        .map(|f| f.package_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["cargo:bad", "go:again", "homebrew:guile"],
        "selection order"
    );
    assert!(!journal_path(c).exists(), "journal removed");

    // Queue: journaled states; `done` untouched; saved at the recovery's time.
    let q = load_queue(c);
    let state: Vec<(&str, &str, i64, Option<String>)> = q
        .entries
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.status.as_str(),
                e.failure_count,
                e.next_retry_at.map(|t| t.to_string()),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            ("ok", "success", 0, None),
            ("bad", "failed", 1, None),
            (
                "again",
                "failed",
                2,
                Some("2026-06-02T12:00:00.5Z".to_owned())
            ),
            ("guile", "blocked", 0, None),
            ("done", "success", 0, None),
        ]
    );
    assert_eq!(q.updated_at.as_deref(), Some(T1));

    // Failure files: stamped with the crashed run's start.
    let files = failure_files(c);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        [
            format!("cargo-{T0_STAMP}.jsonl"),
            format!("go-{T0_STAMP}.jsonl"),
            format!("homebrew-{T0_STAMP}.jsonl")
        ]
    );
    let hb: Value = serde_json::from_slice(&files[&format!("homebrew-{T0_STAMP}.jsonl")]).unwrap();
    assert_eq!(hb["updated_at"], T0_STAMP);
    assert_eq!(hb["failures"][0]["package_id"], "homebrew:guile");
    assert_eq!(hb["failures"][0]["category"], "missing_dep");
    assert_eq!(hb["failures"][0]["timestamp"], T0);
    let go: Value = serde_json::from_slice(&files[&format!("go-{T0_STAMP}.jsonl")]).unwrap();
    assert_eq!(go["failures"][0]["category"], "generation_failed");
    for path in files.keys() {
        assert!(
            rec.report
                .files_written
                .contains(&c.failures_dir.join(path)),
            "{path}"
        );
    }

    // Results: the crashed run's start.
    let results = read_json(&c.results);
    assert_eq!(results["timestamp"], T0);
    assert_eq!(results["batch_id"], "2026-06-01");
    assert_eq!(
        (
            &results["total"],
            &results["succeeded"],
            &results["failed"],
            &results["blocked"]
        ),
        (
            &Value::from(4),
            &Value::from(1),
            &Value::from(2),
            &Value::from(1)
        )
    );

    // Summary.
    let summary = std::fs::read_to_string(&c.summary).unwrap();
    assert!(
        summary.starts_with("Batch run for **mixed** on 2026-06-01.\n"),
        "{summary}"
    );
    assert!(summary.contains("- `ok.toml`"), "{summary}");
    assert!(
        summary.contains("- **cargo:bad**: install_failed"),
        "{summary}"
    );
    assert!(
        summary.contains("- **homebrew:guile**: blocked by [bdw-gc]"),
        "{summary}"
    );
    assert!(summary.contains("| **Total** | **4** |"), "{summary}");

    // Breakers: batch-level update at recovery time (spec §6.4–6.5).
    let cb = &read_json(&c.control_file)["circuit_breaker"];
    assert_eq!(
        cb["cargo"],
        serde_json::json!({"state": "closed", "failures": 3, "last_failure": T1}),
        "closed ecosystem whose only entry failed: failures + 1"
    );
    assert_eq!(
        cb["go"],
        serde_json::json!({"state": "closed", "failures": 1, "last_failure": T1}),
        "a missing breaker is created by a failure"
    );
    assert_eq!(
        cb["npm"],
        serde_json::json!({"state": "closed", "failures": 0, "last_failure": OLD}),
        "success resets the counter"
    );
    assert!(cb.get("homebrew").is_none(), "all blocked changes nothing");
    for f in [&c.results, &c.queue, &c.control_file, &c.summary] {
        assert!(rec.report.files_written.contains(f), "{}", f.display());
    }

    // Nothing left to recover.
    let after = snapshot(c);
    assert!(recover(c, &later).unwrap().is_none());
    assert_eq!(snapshot(c), after, "no journal, nothing written");
}

// ---------------------------------------------------------------------------------------------
// 3. Idempotency
// ---------------------------------------------------------------------------------------------

/// Replaying a restored copy of the same journal (no breakers line) gives the same queue,
/// results, summary and failure files (names and bytes, no `-2` copies).
#[tokio::test(start_paused = true)]
async fn replaying_the_same_journal_gives_the_same_queue_and_failure_files() {
    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;
    let copy = std::fs::read(journal_path(c)).unwrap();
    let later = FixedClock::new(ts(T1));

    let first = recover(c, &later).unwrap().unwrap();
    let s1 = snapshot(c);
    std::fs::write(journal_path(c), &copy).unwrap();
    let second = recover(c, &later).unwrap().unwrap();
    let s2 = snapshot(c);

    assert_eq!(
        String::from_utf8(s1.queue.clone()).unwrap(),
        String::from_utf8(s2.queue.clone()).unwrap()
    );
    assert_eq!(s1.failures, s2.failures, "same names and bytes");
    assert_eq!(s1.failures.len(), 3);
    assert_eq!(s1.results, s2.results);
    assert_eq!(s1.summary, s2.summary);
    assert_eq!(first.indices, second.indices);
    assert_eq!(first.applied, second.applied);
    assert!(!journal_path(c).exists());
}

/// A breakers line means the run had decided its breaker updates: recovery sets exactly those
/// fields (no batch update of its own: cargo's failed entry does not add one, npm's success
/// does not reset npm, go gets no breaker), and replaying it twice does not count twice.
#[tokio::test(start_paused = true)]
async fn breakers_line_sets_exact_states_and_replays_idempotently() {
    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;
    let line = BreakerLine {
        state: crate::control::BreakerState::Open,
        failures: 7,
        last_failure: Some("2026-06-01T12:00:00Z".into()),
        opens_at: Some("2026-06-01T13:00:00Z".into()),
    };
    Journal::open(&journal_path(c))
        .unwrap()
        .append(&Line::Breakers {
            breakers: BTreeMap::from([("cargo".to_owned(), line)]),
        })
        .unwrap();
    let copy = std::fs::read(journal_path(c)).unwrap();
    let later = FixedClock::new(ts(T1));

    recover(c, &later).unwrap().unwrap();
    let doc = read_json(&c.control_file);
    let cb = &doc["circuit_breaker"];
    assert_eq!(
        cb["cargo"],
        serde_json::json!({
            "state": "open",
            "failures": 7,
            "last_failure": "2026-06-01T12:00:00Z",
            "opens_at": "2026-06-01T13:00:00Z"
        })
    );
    assert_eq!(
        cb["npm"],
        serde_json::json!({"state": "closed", "failures": 3, "last_failure": OLD}),
        "not in the breakers line: untouched"
    );
    assert!(
        cb.get("go").is_none(),
        "not in the breakers line: not created"
    );
    let s1 = snapshot(c);

    std::fs::write(journal_path(c), &copy).unwrap();
    recover(c, &later).unwrap().unwrap();
    let s2 = snapshot(c);
    assert_eq!(s1, s2, "every file identical after the replay");
    assert_eq!(
        read_json(&c.control_file)["circuit_breaker"]["cargo"]["failures"],
        7
    );
}

/// A recovery that fails half-way (here: `batch-results.json` cannot be written because a
/// directory is in its place) keeps the journal, with the breaker decision journaled, so the
/// retried recovery counts cargo's failure once, writes no second copy of the failure files
/// and ends with the same files as an uninterrupted recovery.
#[tokio::test(start_paused = true)]
async fn recovery_interrupted_by_a_write_error_is_finished_by_the_next_one() {
    let clock = FixedClock::new(ts(T0));
    let later = FixedClock::new(ts(T1));

    // Reference: an uninterrupted recovery.
    let reference = mixed_env();
    crash(&reference, &mixed_runner(), &clock, None).await;
    recover(&reference.config, &later).unwrap().unwrap();

    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &clock, None).await;
    let before = snapshot(c);
    std::fs::create_dir_all(c.results.join("in-the-way")).unwrap();
    let err = recover(c, &later).unwrap_err();
    assert!(
        matches!(&err, RunError::Write { path, .. } if path == &c.results),
        "{err:?}"
    );
    assert!(journal_path(c).exists(), "the journal is kept on error");
    assert_eq!(std::fs::read(&c.queue).unwrap(), before.queue);
    assert_eq!(read_opt(&c.control_file), before.control);
    let lines = journal_lines(c);
    assert!(
        matches!(lines.last(), Some(Line::Breakers { breakers }) if breakers["cargo"].failures == 3),
        "{lines:?}"
    );
    assert_eq!(failure_files(c).len(), 3, "failure files come first");

    std::fs::remove_dir_all(&c.results).unwrap();
    recover(c, &later).unwrap().unwrap();
    assert!(!journal_path(c).exists());
    assert_eq!(
        read_json(&c.control_file)["circuit_breaker"]["cargo"]["failures"],
        3,
        "counted once"
    );
    assert_eq!(snapshot(c), snapshot(&reference.config));
}

// ---------------------------------------------------------------------------------------------
// 4. Torn and corrupt journals
// ---------------------------------------------------------------------------------------------

/// `a` finishes; `b` hangs when the run crashes. Returns the env and b's (never written)
/// outcome line, serialised with its newline.
async fn crashed_with_b_pending() -> (Env, Vec<u8>) {
    let env = env(vec![entry("a", "npm:a"), entry("b", "cargo:b")]);
    let runner = fake(|step, name| match (name, step) {
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &runner, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    assert_eq!(outcomes(&lines).len(), 1);
    let b = Line::Outcome(Box::new(OutcomeLine {
        position: 1,
        index: 1,
        name: "b".into(),
        source: "cargo:b".into(),
        ended: OutcomeKind::Succeeded,
        status: "success".into(),
        failure_count: 0,
        next_retry_at: None,
        record: None,
        recipe: Some("b.toml".into()),
    }));
    let mut bytes = serde_json::to_vec(&b).unwrap();
    bytes.push(b'\n');
    (env, bytes)
}

fn statuses(config: &Config) -> Vec<String> {
    load_queue(config)
        .entries
        .iter()
        .map(|e| e.status.as_str().to_owned())
        .collect()
}

/// A torn last line (half of b's outcome, or all of it without its newline) is ignored: the
/// complete outcomes are recovered without error and b stays pending.
#[tokio::test(start_paused = true)]
async fn torn_last_line_is_ignored() {
    for torn_len in [None, Some(2usize)] {
        let (env, b_line) = crashed_with_b_pending().await;
        let c = &env.config;
        let torn = match torn_len {
            None => &b_line[..b_line.len() - 1],
            Some(d) => &b_line[..b_line.len() / d],
        };
        let mut bytes = std::fs::read(journal_path(c)).unwrap();
        bytes.extend_from_slice(torn);
        std::fs::write(journal_path(c), &bytes).unwrap();

        let rec = recover(c, &FixedClock::new(ts(T1)))
            .unwrap()
            .expect("journal");
        assert_eq!(rec.applied, 1, "{torn_len:?}");
        assert_eq!(rec.indices, BTreeSet::from([0]));
        assert_eq!(rec.report.results.total, 1);
        assert_eq!(statuses(c), ["success", "pending"], "{torn_len:?}");
        assert!(!journal_path(c).exists());
    }
}

/// A bad line before the last is corruption: recovery fails naming the line and writes
/// nothing (queue bytes unchanged, no results, no summary, journal kept); `run` refuses to
/// start.
#[tokio::test(start_paused = true)]
async fn corrupt_middle_line_is_an_error_and_writes_nothing() {
    let (env, _) = crashed_with_b_pending().await;
    let c = &env.config;
    let good = std::fs::read(journal_path(c)).unwrap();
    let first_nl = good.iter().position(|b| *b == b'\n').unwrap();
    let mut bad = good[..=first_nl].to_vec();
    bad.extend_from_slice(b"{\"kind\":\"outcome\",\"position\":\n");
    bad.extend_from_slice(&good[first_nl + 1..]);
    std::fs::write(journal_path(c), &bad).unwrap();
    let before = snapshot(c);

    let err = recover(c, &FixedClock::new(ts(T1))).unwrap_err();
    assert!(
        matches!(
            &err,
            RunError::Journal(JournalError::Corrupt { line: 2, path, .. }) if path == &journal_path(c)
        ),
        "{err:?}"
    );
    assert_eq!(snapshot(c), before);
    assert_eq!(std::fs::read(journal_path(c)).unwrap(), bad, "journal kept");
    assert!(c.results.metadata().is_err() && c.summary.metadata().is_err());

    let runner = ScriptedRunner::ok();
    let err = run(c, &runner, &FixedClock::new(ts(T1)), &noop)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::Journal(JournalError::Corrupt { .. })),
        "{err:?}"
    );
    assert!(runner.calls().is_empty(), "nothing runs");
    assert_eq!(snapshot(c), before);
    assert_eq!(std::fs::read(journal_path(c)).unwrap(), bad);
}

// ---------------------------------------------------------------------------------------------
// 5. Entries that left or moved
// ---------------------------------------------------------------------------------------------

/// a (npm, fails) and c (go, succeeds) are journaled, b hangs. Before recovery the queue is
/// rewritten to [b, c, a-from-cargo]: npm:a is gone (an entry named `a` with another source
/// does not count) and c moved from index 2 to 1, where it is found by name and source.
#[tokio::test(start_paused = true)]
async fn missing_entries_are_reported_and_moved_ones_found_by_name_and_source() {
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "cargo:b"),
        entry("c", "go:c"),
    ]);
    let c = &env.config;
    let runner = fake(|step, name| match (name, step) {
        ("a", "create") => Act::Exit(6, "boom", Duration::ZERO),
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &runner, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    let journaled: Vec<(usize, String)> = outcomes(&lines)
        .into_iter()
        .map(|o| (o.index, o.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(journaled, [(0, "a".to_owned()), (2, "c".to_owned())]);

    write_queue(
        c,
        vec![
            entry("b", "cargo:b"),
            entry("c", "go:c"),
            entry("a", "cargo:a"),
        ],
    );
    let rec = recover(c, &FixedClock::new(ts(T1))).unwrap().unwrap();
    assert_eq!(rec.missing, [("a".to_owned(), "npm:a".to_owned())]);
    assert_eq!(rec.applied, 1);
    assert_eq!(rec.indices, BTreeSet::from([1]));
    assert_eq!(statuses(c), ["pending", "success", "pending"]);
    let q = load_queue(c);
    assert_eq!(
        (q.entries[2].name.as_str(), q.entries[2].failure_count),
        ("a", 0)
    );
    let r = &rec.report.results;
    assert_eq!((r.total, r.succeeded, r.failed), (1, 1, 0), "a not applied");
    assert!(rec.report.failures.is_empty());
    assert!(
        failure_files(c).is_empty(),
        "no record for the missing entry"
    );
    assert!(
        !c.control_file.exists(),
        "npm's failure was not applied, so no breaker moved"
    );
    assert!(!journal_path(c).exists());
}

// ---------------------------------------------------------------------------------------------
// 6. Resumed run
// ---------------------------------------------------------------------------------------------

/// The crashed run finished a (failed once: failed, failure_count 1, no backoff, so eligible
/// again) and b (success); c hung. The resumed `run` applies a and b, does not run them again,
/// and runs c.
#[tokio::test(start_paused = true)]
async fn resumed_run_does_not_rerun_recovered_entries() {
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "cargo:b"),
        entry("c", "go:c"),
    ]);
    let c = &env.config;
    let crashing = fake(|step, name| match (name, step) {
        ("a", "create") => Act::Exit(6, "boom", Duration::ZERO),
        ("c", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &crashing, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    let a = outcomes(&lines)
        .into_iter()
        .find(|o| o.name == "a")
        .unwrap();
    assert_eq!(
        (a.status.as_str(), a.failure_count, a.next_retry_at),
        ("failed", 1, None)
    );
    assert_eq!(outcomes(&lines).len(), 2);

    let later = FixedClock::new(ts(T1));
    let runner = ScriptedRunner::ok();
    let (planned, report) = run(c, &runner, &later, &noop).await.unwrap();
    assert_eq!(runner.names("create"), ["c"], "{:?}", runner.calls());
    assert_eq!(runner.names("install"), ["c"]);
    let selected: Vec<usize> = planned
        .selection
        .candidates
        .iter()
        .map(|x| x.index)
        .collect();
    assert_eq!(selected, [2]);
    assert_eq!(report.results.total, 1);
    assert!(!journal_path(c).exists());

    let q = load_queue(c);
    let state: Vec<(&str, i64)> = q
        .entries
        .iter()
        .map(|e| (e.status.as_str(), e.failure_count))
        .collect();
    assert_eq!(state, [("failed", 1), ("success", 0), ("success", 0)]);
    let files = failure_files(c);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        [format!("npm-{T0_STAMP}.jsonl")],
        "the recovered failure is recorded under the crashed run's stamp"
    );

    // a really is eligible now: only the journal kept the resumed run from re-running it.
    let again = super::plan(c, &later).unwrap();
    assert!(
        again.selection.candidates.iter().any(|x| x.index == 0),
        "{:?}",
        again.selection
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Journal before the next result
// ---------------------------------------------------------------------------------------------

/// With jobs = 2, a finishes at once while b's generator never returns: the journal already
/// holds a's outcome while execution is still pending.
#[tokio::test(start_paused = true)]
async fn outcome_is_journaled_while_other_candidates_still_run() {
    let mut env = env(vec![entry("a", "npm:a"), entry("b", "cargo:b")]);
    env.config.jobs = 2;
    let c = &env.config;
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|step, name| match (name, step) {
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let planned = super::plan(c, &clock).unwrap();
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: None,
        deadline: None,
    };
    let fut = execute_with(&planned, c, &runner, &clock, &noop, opts);
    tokio::pin!(fut);
    tokio::select! {
        r = &mut fut => panic!("b never finishes, got {r:?}"),
        () = tokio::time::sleep(secs(30)) => {}
    }
    // `fut` is still alive (pending on b) here.
    let lines = journal_lines(c);
    assert!(matches!(lines[0], Line::Start { .. }));
    let outs = outcomes(&lines);
    assert_eq!(outs.len(), 1, "{lines:?}");
    let a = &outs[0];
    assert_eq!(
        (a.position, a.index, a.name.as_str(), a.source.as_str()),
        (0, 0, "a", "npm:a")
    );
    assert_eq!(
        (a.ended, a.status.as_str()),
        (OutcomeKind::Succeeded, "success")
    );
    assert_eq!(a.recipe.as_deref(), Some("a.toml"));
    assert_eq!(runner.names("create"), ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// 8. Stop
// ---------------------------------------------------------------------------------------------

/// Four npm candidates (no rate limit), jobs = 1, each generator call 1 s.
fn stop_env() -> Env {
    let mut env = env(vec![
        entry("p0", "npm:p0"),
        entry("p1", "npm:p1"),
        entry("p2", "npm:p2"),
        {
            let mut e = entry("p3", "npm:p3");
            e.status = Status::Failed;
            e.failure_count = 1;
            e
        },
    ]);
    env.config.jobs = 1;
    env.config.rate_limit.set("npm", Duration::ZERO);
    env
}

fn recipe_of(config: &Config, name: &str) -> PathBuf {
    config.output_dir.join(recipe_relative_path(name).unwrap())
}

/// Checks the saved state after an interrupted run: done entries updated, not-run ones
/// byte-identical, no recipe left for them, journal removed.
fn check_interrupted_save(config: &Config, before: &[String], results: &[EntryResult]) {
    let after = entry_json(config);
    for (i, r) in results.iter().enumerate() {
        let name = format!("p{i}");
        match r {
            EntryResult::Done { .. } => {
                assert_ne!(after[i], before[i], "{name} updated");
                assert!(after[i].contains("\"success\""), "{}", after[i]);
                assert!(recipe_of(config, &name).exists(), "{name}");
            }
            EntryResult::NotRun { reason } => {
                assert_eq!(reason, "interrupted", "{name}");
                assert_eq!(after[i], before[i], "{name} unchanged");
                assert!(
                    !recipe_of(config, &name).exists(),
                    "no unvalidated recipe left for {name}"
                );
            }
        }
    }
    assert!(!journal_path(config).exists());
}

/// Stop arrives while p0's install runs: p0 finishes (the fake does not observe the stop),
/// nothing else starts, p1–p3 are not run and stay byte-identical after apply + persist,
/// while p0 is updated. Only p0 is journaled.
#[tokio::test(start_paused = true)]
async fn graceful_stop_finishes_running_step_and_leaves_the_rest_unchanged() {
    let env = stop_env();
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(0, "", secs(1)));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    let on_event = |e: Event<'_>| {
        if let Event::StepStarted {
            position: 0,
            step: Step::Install,
            ..
        } = e
        {
            tx.send_replace(Stop::Graceful);
        }
    };
    let mut planned = super::plan(c, &clock).unwrap();
    assert_eq!(planned.selection.candidates.len(), 4);
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_with(&planned, c, &runner, &clock, &on_event, opts)
        .await
        .unwrap();
    assert!(
        matches!(
            &results[0],
            EntryResult::Done {
                outcome: Outcome::Succeeded { .. },
                ..
            }
        ),
        "{results:?}"
    );
    for r in &results[1..] {
        assert_eq!(
            r,
            &EntryResult::NotRun {
                reason: "interrupted".into()
            }
        );
    }
    let install_p0 = runner
        .calls()
        .into_iter()
        .find(|x| x.step() == "install" && x.name() == "p0")
        .unwrap();
    assert!(
        runner.calls().iter().all(|x| x.at <= install_p0.at),
        "nothing starts after the stop: {:?}",
        runner.calls()
    );
    let outs = outcomes(&journal_lines(c));
    assert_eq!(
        outs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["p0"]
    );

    let mut report = apply(&mut planned, &results, c, &clock);
    assert_eq!(report.results.total, 1);
    assert_eq!(report.not_run.len(), 3);
    persist_with(&mut planned, &mut report, c, &clock, Some(&mut journal)).unwrap();
    check_interrupted_save(c, &before, &results);
}

/// Stop at t = 1.5 s (a spawned task): whatever runs then finishes, nothing starts at or
/// after 1.5 s, an entry is done only if all its steps started before the stop, and the rest
/// are not run and unchanged after saving.
#[tokio::test(start_paused = true)]
async fn graceful_stop_at_a_time_stops_dispatching() {
    let env = stop_env();
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(0, "", secs(1)));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    tokio::spawn(async move {
        tokio::time::sleep(ms(1500)).await;
        tx.send_replace(Stop::Graceful);
    });
    let t0 = Instant::now();
    let mut planned = super::plan(c, &clock).unwrap();
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_with(&planned, c, &runner, &clock, &noop, opts)
        .await
        .unwrap();
    let calls = runner.calls();
    assert!(
        calls.iter().all(|x| x.at - t0 < ms(1500)),
        "nothing dispatched after the stop: {calls:?}"
    );
    assert!(
        t0.elapsed() <= secs(2),
        "only the running call is waited for: {:?}",
        t0.elapsed()
    );
    let mut interrupted = 0;
    for (i, r) in results.iter().enumerate() {
        let name = format!("p{i}");
        let installed = calls
            .iter()
            .any(|x| x.step() == "install" && x.name() == name);
        match r {
            EntryResult::Done { .. } => assert!(installed, "{name}"),
            EntryResult::NotRun { .. } => {
                assert!(!installed, "{name}");
                interrupted += 1;
            }
        }
    }
    assert!(interrupted >= 3, "{results:?}");
    let done: Vec<String> = outcomes(&journal_lines(c))
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(done.len(), results.len() - interrupted);

    let mut report = apply(&mut planned, &results, c, &clock);
    persist_with(&mut planned, &mut report, c, &clock, Some(&mut journal)).unwrap();
    check_interrupted_save(c, &before, &results);
}

/// A create that exits with the network code waits 1 s, 2 s, 4 s between attempts; a stop
/// during the first backoff ends the wait at once and the entry is not run (not a
/// network_error failure after 7 s).
#[tokio::test(start_paused = true)]
async fn stop_cuts_retry_backoff_short() {
    let env = env(vec![entry("net", "npm:net")]);
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(5, "network", Duration::ZERO));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    tokio::spawn(async move {
        tokio::time::sleep(ms(500)).await;
        tx.send_replace(Stop::Graceful);
    });
    let retries = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Retrying { retry, delay, .. } = e {
            retries.lock().unwrap().push((retry, delay));
        }
    };
    let t0 = Instant::now();
    let mut planned = super::plan(c, &clock).unwrap();
    let opts = ExecuteOptions {
        journal: None,
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_with(&planned, c, &runner, &clock, &on_event, opts)
        .await
        .unwrap();
    assert_eq!(
        results,
        [EntryResult::NotRun {
            reason: "interrupted".into()
        }]
    );
    assert_eq!(t0.elapsed(), ms(500), "backoff cut short by the stop");
    assert_eq!(runner.calls().len(), 1);
    assert_eq!(retries.into_inner().unwrap(), [(1, secs(1))]);
    let mut report = apply(&mut planned, &results, c, &clock);
    persist(&mut planned, &mut report, c, &clock).unwrap();
    assert_eq!(entry_json(c), before);
    assert!(failure_files(c).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 9. Journal write failure
// ---------------------------------------------------------------------------------------------

/// Appending to the journal fails (it is `/dev/full`, which fails every write with ENOSPC,
/// even for root): nothing new starts, the running candidate's result is not lost silently,
/// and `execute_with` returns the journal error.
#[cfg(target_os = "linux")]
#[tokio::test(start_paused = true)]
async fn journal_append_failure_halts_the_run() {
    let dev_full = Path::new("/dev/full");
    if !dev_full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    // Default 1 s npm spacing: b and c could start only at 1 s and 2 s, after a is journaled.
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "npm:b"),
        entry("c", "npm:c"),
    ]);
    let c = &env.config;
    let clock = FixedClock::new(ts(T0));
    let runner = ScriptedRunner::ok();
    let planned = super::plan(c, &clock).unwrap();
    let mut journal = Journal::open(dev_full).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: None,
        deadline: None,
    };
    let err = execute_with(&planned, c, &runner, &clock, &noop, opts)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            RunError::Journal(JournalError::Io { action: "append to", path, .. }) if path == dev_full
        ),
        "{err:?}"
    );
    assert_eq!(runner.names("create"), ["a"], "{:?}", runner.calls());
    assert_eq!(runner.names("install"), ["a"]);
}
