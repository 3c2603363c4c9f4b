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

use crate::queue::{Status, recipe_relative_path};
use crate::records::timestamp::Rfc3339;
use crate::run::journal::BreakerLine;
use crate::run::test_support::run;
use crate::run::*;
use crate::runner::fake::{Reply, ScriptedRunner};
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::Config;
use crate::generator::Step;
use crate::queue::{Queue, QueueEntry};
use crate::records::{Outcome, OutcomeKind};
use crate::run::journal::JournalError;
use crate::run::journal::{Journal, Line, OutcomeLine};
use crate::runner::Stop;
use crate::tsuku::Tsuku;
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
    let planned = crate::run::load_plan(&env.config, clock).unwrap();
    let mut journal =
        Journal::create(&journal_path(&env.config), Rfc3339::utc(planned.started)).unwrap();
    {
        let opts = ExecuteOptions {
            journal: Some(&mut journal),
            stop: None,
            deadline: None,
        };
        let tsuku = Tsuku::for_run(&env.config);
        let fut = execute_plan_with(&planned, &env.config, &tsuku, runner, clock, &noop, opts);
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

mod journal_and_crash;
mod resume_and_stop;
mod torn_and_moved;
