//! Unit tests of the orchestration loop with a mocked runner and paused tokio time.
//!
//! Expected values come from the spec (§4 generation, retries, classification and transitions,
//! §5 rate limits, §6.4–6.5 breakers, §8.1 #16–40, §8.2 #68–80) and the rate-limit issue (one
//! limiter per ecosystem, every `create` attempt takes a permit, at most `jobs` processes,
//! records in selection order). No real process runs and no test sleeps for real: tokio time
//! is paused and auto-advances, wall time is a [`FixedClock`].

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use tokio::time::Instant;

use super::test_support::run;
use super::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;

use crate::config::Config;
use crate::config::RateLimit;
use crate::control::Change;
use crate::control::breaker::BreakerState;
use crate::generator::Category;
use crate::generator::Step;
use crate::queue::Status;
use crate::queue::{Queue, QueueEntry};
use crate::records::timestamp::Rfc3339;
use crate::records::{BatchResults, FailureRecord, Outcome};
use crate::runner::MockRunner;
use crate::runner::fake::{FakeCall as Call, Reply, ScriptedRunner};
use crate::runner::{Command, Exit, Output, Runner, RunnerError};
use crate::tsuku::Tsuku;
use batch_base::clock::FixedClock;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const NOW: &str = "2026-06-01T12:00:00Z";
const PAST: &str = "2000-01-01T00:00:00Z";
const PATTERN: &str = "Error: recipe bdw-gc not found in registry";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts(NOW)
}

fn clock() -> FixedClock {
    FixedClock::new(now())
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn entry(name: &str, source: &str) -> QueueEntry {
    QueueEntry::new(name, source, 1)
}

fn failed_entry(
    name: &str,
    source: &str,
    failure_count: i64,
    next_retry_at: Option<&str>,
) -> QueueEntry {
    let mut e = entry(name, source);
    e.status = Status::Failed;
    e.failure_count = failure_count;
    e.next_retry_at = next_retry_at.map(|s| s.parse().unwrap());
    e
}

/// A temporary project directory with every path of the config inside it.
struct Env {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: Config,
}

fn env(entries: Vec<QueueEntry>) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let config = Config::rooted(&root);
    write_queue(&config, entries);
    Env {
        _dir: dir,
        root,
        config,
    }
}

fn write_queue(config: &Config, entries: Vec<QueueEntry>) {
    let q = Queue {
        schema_version: 1,
        updated_at: None,
        entries,
        extra: Default::default(),
    };
    q.save(&config.queue, now()).unwrap();
}

fn write_control(config: &Config, json: &str) {
    std::fs::write(&config.control_file, json).unwrap();
}

fn load_queue(config: &Config) -> Queue {
    Queue::load(&config.queue).unwrap()
}

fn out(code: i32, stdout: &str, stderr: &str) -> Output {
    Output {
        exit: Exit::Code(code),
        stdout: stdout.as_bytes().to_vec(),
        stderr: stderr.as_bytes().to_vec(),
    }
}

fn ok() -> Output {
    out(0, "", "")
}

fn is_create(cmd: &Command) -> bool {
    cmd.args.first().is_some_and(|a| a == "create")
}

fn is_install(cmd: &Command) -> bool {
    cmd.args.first().is_some_and(|a| a == "install")
}

fn os(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn noop(_: Event<'_>) {}

/// Plans from the files of `env`, executes with `runner`, applies.
async fn exec(
    env: &Env,
    runner: &dyn Runner,
    clock: &FixedClock,
) -> (Plan, Vec<EntryResult>, RunReport) {
    let mut planned = super::load_plan(&env.config, clock).unwrap();
    let results = execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        runner,
        clock,
        &noop,
    )
    .await;
    let report = apply_results(&mut planned, &results, &env.config, clock);
    (planned, results, report)
}

/// `succeeded + failed + blocked == total`, also per ecosystem, and `ecosystems` agrees with
/// `per_ecosystem` (spec §4.7, §1.4).
fn check_totals(r: &BatchResults) {
    assert_eq!(r.succeeded + r.failed + r.blocked, r.total, "{r:?}");
    let per: usize = r.per_ecosystem.values().map(|c| c.total).sum();
    assert_eq!(per, r.total);
    assert_eq!(
        r.per_ecosystem.values().map(|c| c.succeeded).sum::<usize>(),
        r.succeeded
    );
    assert_eq!(
        r.per_ecosystem.values().map(|c| c.failed).sum::<usize>(),
        r.failed
    );
    for (eco, c) in &r.per_ecosystem {
        assert_eq!(r.ecosystems.get(eco), Some(&c.total), "{eco}");
        assert!(c.succeeded + c.failed <= c.total);
    }
    assert_eq!(r.ecosystems.len(), r.per_ecosystem.len());
}

fn only_record(report: &RunReport) -> &FailureRecord {
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    &report.failures[0]
}

fn plus_hours(t: Timestamp, h: i64) -> Rfc3339 {
    Rfc3339::utc(t.checked_add(jiff::SignedDuration::from_hours(h)).unwrap())
}

/// Events with owned fields, for assertions.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    Started {
        pos: usize,
        step: Step,
        retry: u32,
    },
    Retrying {
        pos: usize,
        step: Step,
        retry: u32,
        delay: Duration,
    },
    Finished {
        pos: usize,
        name: String,
    },
}

/// The events the tests follow; per-process `StepFinished` events are left out.
fn own(e: Event<'_>) -> Option<Ev> {
    Some(match e {
        Event::StepStarted {
            position,
            step,
            retry,
            ..
        } => Ev::Started {
            pos: position,
            step,
            retry,
        },
        Event::Retrying {
            position,
            step,
            retry,
            delay,
            ..
        } => Ev::Retrying {
            pos: position,
            step,
            retry,
            delay,
        },
        Event::Finished { position, name, .. } => Ev::Finished {
            pos: position,
            name: name.to_owned(),
        },
        Event::StepFinished { .. } | Event::PaceChanged { .. } | Event::Unreachable { .. } => {
            return None;
        }
    })
}

// ---------------------------------------------------------------------------------------------
// A fake runner for timing tests
// ---------------------------------------------------------------------------------------------

/// One recorded runner call.
/// `delay(call)` of tokio time, then `script(call, attempt)`; `create` writes `[metadata]` to
/// its `--output` path first (the spec's OK fake).
fn fake(
    delay: impl Fn(&Call) -> Duration + Send + Sync + 'static,
    script: impl Fn(&Call, usize) -> Output + Send + Sync + 'static,
) -> ScriptedRunner {
    ScriptedRunner::new(move |c| Reply::output(script(c, c.attempt)).after(delay(c)))
}

/// Create-call start offsets from `t0`, per ecosystem, in call order.
fn create_starts(calls: &[Call], t0: Instant) -> BTreeMap<String, Vec<Duration>> {
    let mut m: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    for c in calls.iter().filter(|c| c.step() == "create") {
        m.entry(c.ecosystem().to_owned())
            .or_default()
            .push(c.at - t0);
    }
    m
}

mod adaptive;
mod argv_and_outcomes;
mod breakers;
mod budget;
mod concurrency;
mod persist;
mod recovery;
mod retries_and_install;
mod totals;
mod unreachable;
