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
use crate::queue::Status;
use crate::queue::{Queue, QueueEntry};
use crate::records::timestamp::Rfc3339;
use crate::records::{BatchResults, FailureRecord, Outcome};
use crate::runner::MockRunner;
use crate::runner::classify::Category;
use crate::runner::fake::{FakeCall as Call, Reply, ScriptedRunner};
use crate::runner::{Command, Exit, Output, Runner, RunnerError, Step};
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
    let mut planned = super::plan(&env.config, clock).unwrap();
    let results = execute(&planned, &env.config, runner, clock, &noop).await;
    let report = apply(&mut planned, &results, &env.config, clock);
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
        Event::StepFinished { .. } => return None,
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

// ---------------------------------------------------------------------------------------------
// (1) argv
// ---------------------------------------------------------------------------------------------

/// Spec §4.2, §4.3, §8.1 #16, #26, §8.2 #99: exact argv, `--from` is the source verbatim,
/// `--output` is `<output-dir>/<first char>/<name>.toml`, the program is `--generator`.
#[tokio::test(start_paused = true)]
async fn create_and_install_argv_are_exact() {
    for (name, source, rel) in [
        ("bat", "github:sharkdp/bat", "b/bat.toml"),
        ("Bat", "homebrew:bat", "b/Bat.toml"),
        (
            "anomalyco/tap/opencode",
            "homebrew:anomalyco/tap/opencode",
            "a/anomalyco/tap/opencode.toml",
        ),
    ] {
        let env = env(vec![entry(name, source)]);
        let recipe = path_str(&env.root.join("recipes").join(rel));
        let create = os(&[
            "create",
            name,
            "--from",
            source,
            "--output",
            &recipe,
            "--yes",
            "--skip-sandbox",
            "--deterministic-only",
        ]);
        let install = os(&["install", "--json", "--recipe", &recipe]);
        let timeout = env.config.timeout;
        let mut seq = mockall::Sequence::new();
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(move |c| {
                c.args == create
                    && c.program == Path::new("/fake/bin/tsuku")
                    && c.merge_output
                    && c.timeout == timeout
                    && c.env.is_empty()
                    && c.current_dir.is_none()
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ok()));
        mock.expect_run()
            .withf(move |c| {
                c.args == install && c.program == Path::new("/fake/bin/tsuku") && !c.merge_output
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ok()));
        let (_, results, report) = exec(&env, &mock, &clock()).await;
        assert!(
            matches!(&results[0], EntryResult::Done { outcome: Outcome::Succeeded { recipe: r }, .. } if path_str(r) == recipe),
            "{results:?}"
        );
        let base = Path::new(rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(report.recipes, [base]);
    }
}

// ---------------------------------------------------------------------------------------------
// (2) success
// ---------------------------------------------------------------------------------------------

/// Spec §8.1 #19, #29: success resets tracking; the recipe basename is reported; no failure
/// file.
#[tokio::test(start_paused = true)]
async fn success_resets_tracking_and_reports_the_recipe() {
    let env = env(vec![failed_entry(
        "ripgrep",
        "cargo:ripgrep",
        3,
        Some(PAST),
    )]);
    let runner = ScriptedRunner::ok_after(secs(1));
    let c = clock();
    let (mut planned, results, mut report) = exec(&env, &runner, &c).await;
    assert_eq!(results.len(), 1);
    let e = &planned.queue.entries[0];
    assert_eq!(
        (e.status.clone(), e.failure_count, e.next_retry_at),
        (Status::Success, 0, None)
    );
    assert_eq!(report.recipes, ["ripgrep.toml"]);
    assert!(report.failures.is_empty());
    assert_eq!(
        (
            report.results.total,
            report.results.succeeded,
            report.results.failed,
            report.results.blocked
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(report.results.per_ecosystem["cargo"].succeeded, 1);
    check_totals(&report.results);
    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert!(
        env.root.join("recipes/r/ripgrep.toml").exists(),
        "the recipe is kept"
    );
    assert!(
        !env.config.failures_dir.exists(),
        "no failure file, no failures dir (spec §8.1 #66)"
    );
    let saved = load_queue(&env.config);
    assert_eq!(saved.entries[0].status, Status::Success);
    assert_eq!(saved.entries[0].failure_count, 0);
    assert_eq!(saved.entries[0].next_retry_at, None);
    let calls = runner.calls();
    assert_eq!(
        calls.iter().map(Call::step).collect::<Vec<_>>(),
        ["create", "install"]
    );
}

// ---------------------------------------------------------------------------------------------
// (3) generation failures
// ---------------------------------------------------------------------------------------------

/// Spec §8.1 #17, §8.2 #73, §4.4: exit code → category; without the "not found in registry"
/// text every generation failure is `failed` with fc+1, and install never runs.
#[tokio::test(start_paused = true)]
async fn generation_exit_codes_map_to_categories() {
    let cases = [
        (Exit::Code(3), Category::RecipeNotFound),
        (Exit::Code(6), Category::InstallFailed),
        (Exit::Code(7), Category::VerifyFailed),
        (Exit::Code(8), Category::MissingDep),
        (Exit::Code(9), Category::GenerationFailed),
        (Exit::Code(1), Category::GenerationFailed),
        (Exit::Code(2), Category::GenerationFailed),
        (Exit::Code(124), Category::GenerationFailed),
        (Exit::Signal(9), Category::GenerationFailed),
    ];
    for (exit, category) in cases {
        let env = env(vec![entry("pkg", "homebrew:pkg")]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(move |_| {
                Ok(Output {
                    exit,
                    stdout: b"  boom\n".to_vec(),
                    stderr: Vec::new(),
                })
            });
        let (planned, _, report) = exec(&env, &mock, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category, "{exit:?}");
        assert_eq!(r.package_id, "homebrew:pkg");
        assert_eq!(r.message, "boom", "{exit:?}: trimmed combined output");
        assert!(r.subcategory.is_empty() && r.blocked_by.is_empty());
        assert_eq!(r.timestamp, NOW);
        let e = &planned.queue.entries[0];
        assert_eq!(
            (e.status.clone(), e.failure_count, e.next_retry_at),
            (Status::Failed, 1, None),
            "{exit:?}"
        );
        assert_eq!((report.results.failed, report.results.blocked), (1, 0));
        check_totals(&report.results);
    }
}

/// Spec §4.5 row 1, §8.1 #37, #39, §8.2 #70, #72: the pattern makes any generation failure
/// blocked (exit 6 becomes `missing_dep`); fc and next_retry_at unchanged; install never
/// called.
#[tokio::test(start_paused = true)]
async fn generation_with_missing_dependency_pattern_is_blocked() {
    for (code, category) in [
        (6, Category::MissingDep),
        (3, Category::RecipeNotFound),
        (9, Category::GenerationFailed),
        (8, Category::MissingDep),
    ] {
        let env = env(vec![failed_entry("guile", "homebrew:guile", 2, Some(PAST))]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(move |_| {
                Ok(out(
                    code,
                    &format!("{PATTERN}\nError: recipe gmp not found in registry\n"),
                    "",
                ))
            });
        let (planned, _, report) = exec(&env, &mock, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category, "exit {code}");
        assert_eq!(r.blocked_by, ["bdw-gc", "gmp"]);
        let e = &planned.queue.entries[0];
        assert_eq!(e.status, Status::Blocked);
        assert_eq!(e.failure_count, 2, "blocked keeps failure_count");
        assert_eq!(
            e.next_retry_at,
            Some(PAST.parse().unwrap()),
            "blocked keeps next_retry_at"
        );
        assert_eq!(
            (
                report.results.total,
                report.results.failed,
                report.results.blocked,
                report.results.succeeded
            ),
            (1, 0, 1, 0)
        );
        assert_eq!(report.results.per_ecosystem["homebrew"].total, 1);
        check_totals(&report.results);
    }
}

/// Spec §8.1 #40, §8.2 #73, #76: without the pattern exit 6 and exit 8 are failed; the file
/// a failed `create` wrote is kept.
#[tokio::test(start_paused = true)]
async fn generation_failure_without_pattern_fails_and_keeps_the_file() {
    for (code, category) in [(6, Category::InstallFailed), (8, Category::MissingDep)] {
        let env = env(vec![entry("pkg", "homebrew:pkg")]);
        let runner = fake(
            |_| Duration::ZERO,
            move |c, _| {
                assert_eq!(c.step(), "create", "install must not run");
                out(code, "Error: deterministic generation failed", "")
            },
        );
        let (planned, _, report) = exec(&env, &runner, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category);
        assert_eq!(r.message, "Error: deterministic generation failed");
        assert!(r.blocked_by.is_empty());
        assert_eq!(planned.queue.entries[0].status, Status::Failed);
        assert_eq!(planned.queue.entries[0].failure_count, 1);
        assert!(
            env.root.join("recipes/p/pkg.toml").exists(),
            "P is not deleted after a generation failure"
        );
        assert_eq!(runner.calls().len(), 1);
    }
}

/// Issue: a create timeout is `generation_failed` with subcategory `timeout` and is not
/// retried.
#[tokio::test(start_paused = true)]
async fn generation_timeout_is_generation_failed_without_retry() {
    let env = env(vec![entry("pkg", "homebrew:pkg")]);
    let mut mock = MockRunner::new();
    mock.expect_run().withf(is_create).times(1).returning(|_| {
        Ok(Output {
            exit: Exit::TimedOut(secs(900)),
            stdout: b"partial".to_vec(),
            stderr: Vec::new(),
        })
    });
    let (planned, _, report) = exec(&env, &mock, &clock()).await;
    let r = only_record(&report);
    assert_eq!(
        (r.category, r.subcategory.as_str()),
        (Category::GenerationFailed, "timeout")
    );
    assert_eq!(planned.queue.entries[0].status, Status::Failed);
}

// ---------------------------------------------------------------------------------------------
// (4) network retries
// ---------------------------------------------------------------------------------------------

/// Spec §4.4, §4.5 row 2, §8.2 #71: exit 5 is retried 3 times (4 calls, 1 s, 2 s, 4 s apart),
/// then `network_error` with the exhaustion message; no install; failed with fc+1.
#[tokio::test(start_paused = true)]
async fn generation_network_exhaustion_after_four_attempts() {
    let env = env(vec![entry("bup", "homebrew:bup")]);
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let log = Arc::clone(&at);
    mock.expect_run()
        .withf(is_create)
        .times(4)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            Ok(out(5, "  Error: registry returned status 503\n", ""))
        });
    let events = Mutex::new(Vec::new());
    let on = |e: Event<'_>| events.lock().unwrap().extend(own(e));
    let c = clock();
    let mut planned = super::plan(&env.config, &c).unwrap();
    let t0 = Instant::now();
    let results = execute(&planned, &env.config, &mock, &c, &on).await;
    let report = apply(&mut planned, &results, &env.config, &c);

    let r = only_record(&report);
    assert_eq!(r.category, Category::NetworkError);
    assert_eq!(
        r.message,
        "failed after 3 retries: tsuku create homebrew:bup: exit 5: Error: registry returned status 503"
    );
    assert!(
        r.message
            .starts_with("failed after 3 retries: tsuku create homebrew:bup: exit 5: ")
    );
    assert!(r.blocked_by.is_empty() && r.subcategory.is_empty());
    let e = &planned.queue.entries[0];
    assert_eq!((e.status.clone(), e.failure_count), (Status::Failed, 1));

    let at: Vec<Duration> = at.lock().unwrap().iter().map(|t| *t - t0).collect();
    assert_eq!(at.len(), 4);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([1, 2, 4]) {
        assert!(*gap >= secs(min), "gaps {gaps:?}");
    }
    // homebrew's 1 s period never exceeds the backoff, so the attempts are exactly 1, 2, 4 s
    // apart.
    assert_eq!(at, [secs(0), secs(1), secs(3), secs(7)]);

    let ev = events.lock().unwrap().clone();
    let retrying: Vec<(u32, Duration)> = ev
        .iter()
        .filter_map(|e| match e {
            Ev::Retrying {
                step, retry, delay, ..
            } if *step == Step::Create => Some((*retry, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(retrying, [(1, secs(1)), (2, secs(2)), (3, secs(4))]);
    let started: Vec<u32> = ev
        .iter()
        .filter_map(|e| match e {
            Ev::Started { retry, step, .. } if *step == Step::Create => Some(*retry),
            _ => None,
        })
        .collect();
    assert_eq!(started, [0, 1, 2, 3]);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Ev::Finished { .. }))
            .count(),
        1
    );
}

/// Issue: every `create` attempt, retries included, takes a rate-limit permit. With rubygems'
/// 6 s period the retries (1 s, 2 s, 4 s backoff) wait for the limiter: starts at 0, 6, 12, 18.
#[tokio::test(start_paused = true)]
async fn create_retries_take_rate_limit_permits() {
    let env = env(vec![entry("bup", "rubygems:bup")]);
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let log = Arc::clone(&at);
    mock.expect_run()
        .withf(is_create)
        .times(4)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            Ok(out(5, "503", ""))
        });
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &mock, &clock()).await;
    assert_eq!(only_record(&report).category, Category::NetworkError);
    let at: Vec<Duration> = at.lock().unwrap().iter().map(|t| *t - t0).collect();
    // Attempt 2 would start at 1 s by backoff alone; the limiter moves it to 6 s, and so on:
    // 6 + 2 = 8 → 12; 12 + 4 = 16 → 18.
    assert_eq!(at, [secs(0), secs(6), secs(12), secs(18)]);
}

/// Spec §8.2 #68: exit 5 twice then 0 → 3 create calls, ≥ 3 s, success, no record.
#[tokio::test(start_paused = true)]
async fn generation_retry_then_success() {
    let env = env(vec![entry("flaky", "homebrew:flaky")]);
    let n = Arc::new(AtomicUsize::new(0));
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let (n2, log) = (Arc::clone(&n), Arc::clone(&at));
    mock.expect_run()
        .withf(is_create)
        .times(3)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            if n2.fetch_add(1, Ordering::SeqCst) < 2 {
                Ok(out(5, "net", ""))
            } else {
                Ok(ok())
            }
        });
    mock.expect_run()
        .withf(is_install)
        .times(1)
        .returning(|_| Ok(ok()));
    let t0 = Instant::now();
    let (planned, _, report) = exec(&env, &mock, &clock()).await;
    assert!(t0.elapsed() >= secs(3));
    let at = at.lock().unwrap().clone();
    assert!(at[1] - at[0] >= secs(1) && at[2] - at[1] >= secs(2));
    assert!(report.failures.is_empty());
    assert_eq!(report.recipes, ["flaky.toml"]);
    assert_eq!(planned.queue.entries[0].status, Status::Success);
    assert_eq!(report.results.succeeded, 1);
}

// ---------------------------------------------------------------------------------------------
// (5) install failures
// ---------------------------------------------------------------------------------------------

/// Spec §4.5 row 3, §8.1 #20–23, §8.2 #74, #75: category from the install exit code (the
/// CLI's own category ignored), subcategory and missing_recipes from stdout JSON, message from
/// stderr only, blocked iff exit 3 or 8; the recipe file is deleted.
#[tokio::test(start_paused = true)]
async fn install_failures_are_classified_and_delete_the_recipe() {
    struct Case {
        code: i32,
        stdout: &'static str,
        stderr: &'static str,
        category: Category,
        subcategory: &'static str,
        blocked_by: &'static [&'static str],
        blocked: bool,
    }
    let cases = [
        Case {
            code: 8,
            stdout: r#"{"status":"error","category":"missing_dep","message":"failed to install dependency dav1d","missing_recipes":["dav1d"],"exit_code":8}"#,
            stderr: "Installing coreutils\nError: failed to install dependency 'dav1d'\n",
            category: Category::MissingDep,
            subcategory: "",
            blocked_by: &["dav1d"],
            blocked: true,
        },
        Case {
            code: 3,
            stdout: r#"{"status":"error","missing_recipes":["libidn2"]}"#,
            stderr: "Error: recipe libidn2 not found in registry",
            category: Category::RecipeNotFound,
            subcategory: "",
            blocked_by: &["libidn2"],
            blocked: true,
        },
        Case {
            code: 3,
            stdout: "",
            stderr: "",
            category: Category::RecipeNotFound,
            subcategory: "",
            blocked_by: &[],
            blocked: true,
        },
        Case {
            code: 8,
            stdout: "not json at all",
            stderr: "x",
            category: Category::MissingDep,
            subcategory: "",
            blocked_by: &[],
            blocked: true,
        },
        Case {
            code: 6,
            stdout: "",
            stderr: "Error: download failed: 404 Not Found\n",
            category: Category::InstallFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 6,
            stdout: r#"{"status":"error","category":"network_error","subcategory":"tls_error","missing_recipes":[],"exit_code":6}"#,
            stderr: "Error: tls handshake",
            category: Category::InstallFailed,
            subcategory: "tls_error",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 7,
            stdout: "",
            stderr: "verify: checksum mismatch",
            category: Category::VerifyFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 1,
            stdout: "",
            stderr: "general",
            category: Category::GenerationFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
    ];
    for case in cases {
        let env = env(vec![entry("coreutils", "homebrew:coreutils")]);
        let (code, stdout, stderr) = (case.code, case.stdout, case.stderr);
        let runner = fake(
            |_| Duration::ZERO,
            move |c, _| {
                if c.step() == "create" {
                    ok()
                } else {
                    out(code, stdout, stderr)
                }
            },
        );
        let recipe = env.root.join("recipes/c/coreutils.toml");
        let (planned, _, report) = exec(&env, &runner, &clock()).await;
        let r = only_record(&report);
        let what = format!("exit {code} stdout {stdout:?}");
        assert_eq!(r.category, case.category, "{what}");
        assert_eq!(r.subcategory, case.subcategory, "{what}");
        assert_eq!(r.blocked_by, case.blocked_by, "{what}");
        assert_eq!(
            r.message,
            stderr.trim(),
            "{what}: message is the trimmed stderr only"
        );
        assert_eq!(r.package_id, "homebrew:coreutils");
        assert!(
            !recipe.exists(),
            "{what}: a recipe that does not install is deleted"
        );
        let e = &planned.queue.entries[0];
        if case.blocked {
            assert_eq!(
                (e.status.clone(), e.failure_count),
                (Status::Blocked, 0),
                "{what}"
            );
            assert_eq!((report.results.blocked, report.results.failed), (1, 0));
        } else {
            assert_eq!(
                (e.status.clone(), e.failure_count),
                (Status::Failed, 1),
                "{what}"
            );
            assert_eq!((report.results.blocked, report.results.failed), (0, 1));
        }
        assert!(report.recipes.is_empty());
        check_totals(&report.results);
        assert_eq!(runner.calls().len(), 2);
    }
}

/// Spec §8.2 #69, §8.1 #23f: install exit 5 every time → 4 install calls 1, 2, 4 s apart
/// (install takes no rate-limit permit, so rubygems' 6 s does not apply), `network_error`
/// with the stderr message and the last JSON's subcategory, recipe deleted, failed fc+1.
#[tokio::test(start_paused = true)]
async fn install_network_exhaustion() {
    let env = env(vec![entry("bup", "rubygems:bup")]);
    let runner = fake(
        |_| Duration::ZERO,
        |c, _| {
            if c.step() == "create" {
                ok()
            } else {
                out(
                    5,
                    r#"{"status":"error","category":"network_error","subcategory":"timeout"}"#,
                    "net down\n",
                )
            }
        },
    );
    let t0 = Instant::now();
    let (planned, _, report) = exec(&env, &runner, &clock()).await;
    let r = only_record(&report);
    assert_eq!(r.category, Category::NetworkError);
    assert_eq!(r.subcategory, "timeout");
    assert_eq!(r.message, "failed after 3 retries: net down");
    assert!(r.blocked_by.is_empty());
    let e = &planned.queue.entries[0];
    assert_eq!((e.status.clone(), e.failure_count), (Status::Failed, 1));
    assert!(!env.root.join("recipes/b/bup.toml").exists());
    let calls = runner.calls();
    let steps: Vec<&str> = calls.iter().map(Call::step).collect();
    assert_eq!(
        steps,
        ["create", "install", "install", "install", "install"]
    );
    let installs: Vec<Duration> = calls[1..].iter().map(|c| c.at - t0).collect();
    assert_eq!(installs, [secs(0), secs(1), secs(3), secs(7)]);
}

/// Spec §8.1 #23g with an install failure in the middle of retries: the last attempt's JSON
/// counts and a non-5 exit after a retry is classified at once.
#[tokio::test(start_paused = true)]
async fn install_retry_then_other_failure_is_classified_by_the_last_exit() {
    let env = env(vec![entry("bup", "homebrew:bup")]);
    let runner = fake(
        |_| Duration::ZERO,
        |c, attempt| match (c.step(), attempt) {
            ("create", _) => ok(),
            (_, 0) => out(5, r#"{"subcategory":"dns_error"}"#, "dns"),
            _ => out(8, r#"{"missing_recipes":["dav1d"]}"#, "dep"),
        },
    );
    let (planned, _, report) = exec(&env, &runner, &clock()).await;
    let r = only_record(&report);
    assert_eq!(
        (r.category, r.subcategory.as_str(), r.message.as_str()),
        (Category::MissingDep, "", "dep")
    );
    assert_eq!(r.blocked_by, ["dav1d"]);
    assert_eq!(planned.queue.entries[0].status, Status::Blocked);
    assert_eq!(runner.calls().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// (6) backoff through apply
// ---------------------------------------------------------------------------------------------

/// Spec §4.7, §8.1 #28: new failure_count k gives next_retry_at = (classification time) +
/// none, 24 h, 72 h, 144 h, 168 h, 168 h …; counted from when the failure was classified, not
/// when `apply` ran.
#[tokio::test(start_paused = true)]
async fn backoff_sequence_through_apply() {
    let cases: [(i64, Option<i64>); 8] = [
        (0, None),
        (1, Some(24)),
        (2, Some(72)),
        (3, Some(144)),
        (4, Some(168)),
        (5, Some(168)),
        (9, Some(168)),
        (100, Some(168)),
    ];
    let classified = ts("2026-06-01T12:00:00.5Z");
    for (before, hours) in cases {
        let env = env(vec![failed_entry("pkg", "cargo:pkg", before, Some(PAST))]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(|_| Ok(out(6, "boom", "")));
        let c = FixedClock::new(classified);
        let mut planned = super::plan(&env.config, &c).unwrap();
        assert_eq!(planned.selection.candidates.len(), 1);
        let results = execute(&planned, &env.config, &mock, &c, &noop).await;
        c.set(ts("2026-06-01T13:30:00Z"));
        let report = apply(&mut planned, &results, &env.config, &c);
        let e = &planned.queue.entries[0];
        assert_eq!(e.failure_count, before + 1);
        assert_eq!(e.status, Status::Failed);
        assert_eq!(
            e.next_retry_at,
            hours.map(|h| plus_hours(classified, h)),
            "fc {before} → {}",
            before + 1
        );
        assert_eq!(report.failures[0].timestamp, "2026-06-01T12:00:00.5Z");
    }
}

/// Spec §8.1 #27: fc increments across runs; run 2 gives fc 2 and now + 24 h, written to the
/// queue file as `YYYY-MM-DDTHH:MM:SSZ`.
#[tokio::test(start_paused = true)]
async fn failure_count_increments_across_runs() {
    let env = env(vec![entry("pkg", "cargo:pkg")]);
    let runner = fake(|_| secs(1), |_, _| out(6, "", "deterministic failed"));
    let c = clock();
    run(&env.config, &runner, &c, &noop).await.unwrap();
    let q = load_queue(&env.config);
    assert_eq!(
        (
            q.entries[0].status.clone(),
            q.entries[0].failure_count,
            q.entries[0].next_retry_at
        ),
        (Status::Failed, 1, None)
    );
    c.set(ts("2026-06-01T13:00:00Z"));
    run(&env.config, &runner, &c, &noop).await.unwrap();
    let q = load_queue(&env.config);
    assert_eq!(q.entries[0].failure_count, 2);
    assert_eq!(
        q.entries[0].next_retry_at.unwrap().to_string(),
        "2026-06-02T13:00:00Z"
    );
    assert_eq!(runner.calls().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// (7) rate limits and jobs
// ---------------------------------------------------------------------------------------------

fn mixed_entries() -> Vec<QueueEntry> {
    let mut v = Vec::new();
    for i in 0..4 {
        v.push(entry(&format!("hb{i}"), &format!("homebrew:hb{i}")));
        if i < 3 {
            v.push(entry(&format!("gh{i}"), &format!("github:o/gh{i}")));
            v.push(entry(&format!("rb{i}"), &format!("rubygems:rb{i}")));
        }
    }
    v
}

fn period(eco: &str) -> Duration {
    RateLimit::default().period(eco)
}

/// Issue: per-ecosystem starts are at least the period apart, ecosystems run at the same time,
/// and `jobs` bounds the generator processes in flight.
#[tokio::test(start_paused = true)]
async fn rate_limits_are_per_ecosystem_and_jobs_bound_concurrency() {
    for jobs in [1, 2, 3, 8] {
        let mut env = env(mixed_entries());
        env.config.jobs = jobs;
        let runner = ScriptedRunner::ok_after(secs(1));
        let t0 = Instant::now();
        let (_, results, report) = exec(&env, &runner, &clock()).await;
        assert_eq!(report.results.succeeded, 10, "jobs {jobs}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, EntryResult::Done { .. }))
        );
        let calls = runner.calls();
        assert_eq!(calls.len(), 20);
        let starts = create_starts(&calls, t0);
        for (eco, at) in &starts {
            for w in at.windows(2) {
                assert!(
                    w[1] - w[0] >= period(eco),
                    "jobs {jobs}: {eco} starts {at:?}"
                );
            }
        }
        assert!(
            runner.max_in_flight() <= jobs,
            "jobs {jobs}: max {}",
            runner.max_in_flight()
        );
        if jobs == 1 {
            assert_eq!(runner.max_in_flight(), 1);
        }
        if jobs == 2 {
            assert_eq!(
                runner.max_in_flight(),
                2,
                "two slots are used when work is waiting"
            );
        }
        if jobs == 8 {
            // Plenty of slots: each ecosystem starts exactly on its period, and all three start
            // together at 0.
            assert_eq!(starts["homebrew"], [secs(0), secs(1), secs(2), secs(3)]);
            assert_eq!(starts["github"], [secs(0), secs(2), secs(4)]);
            assert_eq!(starts["rubygems"], [secs(0), secs(6), secs(12)]);
            // Last rubygems create at 12 s, its install ends at 14 s.
            assert_eq!(t0.elapsed(), secs(14));
        }
        // Different ecosystems overlap in time whenever two slots exist.
        if jobs >= 2 {
            let overlap = calls.iter().any(|a| {
                calls.iter().any(|b| {
                    a.step() == "create"
                        && b.step() == "create"
                        && a.ecosystem() != b.ecosystem()
                        && a.at <= b.at
                        && b.at < a.at + secs(1)
                })
            });
            assert!(
                overlap,
                "jobs {jobs}: creates of different ecosystems overlap"
            );
        }
    }
}

/// `jobs` bounds every process, install included: 9 unlimited-rate entries with jobs 3 never
/// have more than 3 calls in flight, and use all 3.
#[tokio::test(start_paused = true)]
async fn jobs_bound_with_unlimited_rate() {
    let entries: Vec<_> = (0..9)
        .map(|i| entry(&format!("p{i}"), &format!("npm:p{i}")))
        .collect();
    let mut env = env(entries);
    env.config.jobs = 3;
    env.config.rate_limit.set("npm", Duration::ZERO);
    let runner = ScriptedRunner::ok_after(secs(1));
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &runner, &clock()).await;
    assert_eq!(report.results.succeeded, 9);
    assert_eq!(runner.max_in_flight(), 3);
    // 18 one-second calls on 3 slots take at least 6 s.
    assert!(t0.elapsed() >= secs(6), "{:?}", t0.elapsed());
    // At any instant at most 3 calls are running.
    let calls = runner.calls();
    for c in &calls {
        let running = calls
            .iter()
            .filter(|o| o.at <= c.at && c.at < o.at + secs(1))
            .count();
        assert!(running <= 3, "{running} running at {:?}", c.at - t0);
    }
}

/// `--max-in-flight npm=2` (issue #15): never more than 2 npm processes at once although 8 job
/// slots are free, while uncapped pypi runs beside them. 6 npm entries × 2 one-second steps on
/// 2 slots take at least 6 s.
#[tokio::test(start_paused = true)]
async fn max_in_flight_caps_one_ecosystem_only() {
    let mut entries: Vec<_> = (0..6)
        .map(|i| entry(&format!("n{i}"), &format!("npm:n{i}")))
        .collect();
    entries.extend((0..3).map(|i| entry(&format!("y{i}"), &format!("pypi:y{i}"))));
    let mut env = env(entries);
    env.config.jobs = 8;
    env.config.rate_limit.set("npm", Duration::ZERO);
    env.config.rate_limit.set("pypi", Duration::ZERO);
    env.config.max_in_flight.insert("npm".into(), 2);
    let runner = ScriptedRunner::ok_after(secs(1));
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &runner, &clock()).await;
    assert_eq!(report.results.succeeded, 9);
    let calls = runner.calls();
    // Name → ecosystem, for install calls too (their argv has only the recipe path).
    let eco_of = |c: &Call| {
        if c.name().starts_with('n') {
            "npm"
        } else {
            "pypi"
        }
    };
    let mut npm_peak = 0;
    let mut pypi_peak = 0;
    for c in &calls {
        let at = |eco: &str| {
            calls
                .iter()
                .filter(|o| eco_of(o) == eco && o.at <= c.at && c.at < o.at + secs(1))
                .count()
        };
        npm_peak = npm_peak.max(at("npm"));
        pypi_peak = pypi_peak.max(at("pypi"));
    }
    assert_eq!(npm_peak, 2, "npm is capped at 2");
    assert_eq!(
        pypi_peak, 3,
        "pypi is not capped: its 3 creates start together"
    );
    assert!(t0.elapsed() >= secs(6), "{:?}", t0.elapsed());
}

/// Issue example: 6 rubygems + 20 homebrew entries, 1 s per generator call, default periods,
/// jobs 4. Reasoning: rubygems creates must start at 0, 6, …, 30 s; the last one ends at 31 s
/// and its install at 32 s. Homebrew needs 2 slots at a time (one create, one install),
/// rubygems at most 1, so 4 slots never delay anything: homebrew creates start at 0, 1, …,
/// 19 s and finish by 21 s. Expected total: 32 s of virtual time.
#[tokio::test(start_paused = true)]
async fn six_rubygems_and_twenty_homebrew_finish_in_about_32_seconds() {
    let mut entries: Vec<_> = (0..20)
        .map(|i| entry(&format!("hb{i:02}"), &format!("homebrew:hb{i:02}")))
        .collect();
    entries.extend((0..6).map(|i| entry(&format!("rb{i}"), &format!("rubygems:rb{i}"))));
    let env = env(entries);
    assert_eq!(env.config.jobs, 4);
    let runner = ScriptedRunner::ok_after(secs(1));
    let c = clock();
    let planned = super::plan(&env.config, &c).unwrap();
    assert_eq!(planned.selection.candidates.len(), 26);
    let t0 = Instant::now();
    let results = execute(&planned, &env.config, &runner, &c, &noop).await;
    let elapsed = t0.elapsed();
    eprintln!("6 rubygems + 20 homebrew, jobs 4: {elapsed:?} of virtual time");
    assert!(results.iter().all(|r| matches!(
        r,
        EntryResult::Done {
            outcome: Outcome::Succeeded { .. },
            ..
        }
    )));
    assert!(elapsed >= secs(30) && elapsed <= secs(34), "{elapsed:?}");
    assert_eq!(elapsed, secs(32));
    let starts = create_starts(&runner.calls(), t0);
    assert_eq!(
        starts["rubygems"],
        (0..6).map(|i| secs(6 * i)).collect::<Vec<_>>()
    );
    assert_eq!(starts["homebrew"], (0..20).map(secs).collect::<Vec<_>>());
    assert!(runner.max_in_flight() <= 4);
}

// ---------------------------------------------------------------------------------------------
// (9) selection order whatever the concurrency
// ---------------------------------------------------------------------------------------------

fn varied_entries() -> Vec<QueueEntry> {
    vec![
        entry("slow", "homebrew:slow"),
        entry("quick", "cargo:quick"),
        failed_entry("guile", "homebrew:guile", 1, None),
        entry("flaky", "npm:flaky"),
        entry("wget", "github:mirror/wget"),
        failed_entry("cover", "pypi:cover", 2, Some(PAST)),
        entry("gem", "rubygems:gem"),
        entry("nosep", "nosep"),
        entry("later", "cargo:later"),
    ]
}

fn varied_runner() -> ScriptedRunner {
    fake(
        |c| match c.name().as_str() {
            "slow" => secs(9),
            "guile" | "later" => Duration::ZERO,
            _ => secs(1),
        },
        |c, _| match (c.name().as_str(), c.step()) {
            ("slow", "create") => out(6, "Error: deterministic generation failed", ""),
            ("guile", "create") => out(6, PATTERN, ""),
            ("flaky", "create") => out(5, "registry 503", ""),
            ("wget", "install") => out(
                3,
                r#"{"missing_recipes":["libidn2"]}"#,
                "Error: recipe libidn2 not found",
            ),
            ("cover", "install") => out(7, "", "verify failed"),
            ("nosep", "create") => out(1, "no", ""),
            _ => ok(),
        },
    )
}

/// Issue: records and results are in selection order whatever the concurrency: jobs 1 and
/// jobs 8 give identical failure records, results, recipes and queue entries, although with
/// jobs 8 entries finish out of order.
#[tokio::test(start_paused = true)]
async fn jobs_one_and_eight_give_identical_records() {
    let mut outcomes = Vec::new();
    for jobs in [1, 8] {
        let mut env = env(varied_entries());
        env.config.jobs = jobs;
        let runner = varied_runner();
        let events = Mutex::new(Vec::new());
        let on = |e: Event<'_>| events.lock().unwrap().extend(own(e));
        let c = clock();
        let mut planned = super::plan(&env.config, &c).unwrap();
        let results = execute(&planned, &env.config, &runner, &c, &on).await;
        let mut report = apply(&mut planned, &results, &env.config, &c);
        check_totals(&report.results);
        let finished: Vec<usize> = events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Ev::Finished { pos, .. } => Some(*pos),
                _ => None,
            })
            .collect();
        assert_eq!(finished.len(), 9);
        if jobs == 8 {
            let mut sorted = finished.clone();
            sorted.sort_unstable();
            assert_ne!(
                finished, sorted,
                "entries finish out of selection order with jobs 8"
            );
        }
        persist(&mut planned, &mut report, &env.config, &c).unwrap();
        let failure_files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&env.config.failures_dir)
            .unwrap()
            .map(|d| {
                let d = d.unwrap();
                (
                    d.file_name().to_string_lossy().into_owned(),
                    std::fs::read(d.path()).unwrap(),
                )
            })
            .collect();
        // Recipe paths relative to the temporary root, so the two runs compare.
        let results: Vec<EntryResult> = results
            .into_iter()
            .map(|r| match r {
                EntryResult::Done {
                    outcome: Outcome::Succeeded { recipe },
                    at,
                } => EntryResult::Done {
                    outcome: Outcome::Succeeded {
                        recipe: recipe.strip_prefix(&env.root).unwrap().to_owned(),
                    },
                    at,
                },
                other => other,
            })
            .collect();
        outcomes.push((
            results,
            report,
            planned.queue.entries.clone(),
            failure_files,
        ));
    }
    let (r1, rep1, q1, f1) = &outcomes[0];
    let (r8, rep8, q8, f8) = &outcomes[1];
    assert_eq!(rep1.failures, rep8.failures);
    assert_eq!(rep1.results, rep8.results);
    assert_eq!(rep1.recipes, rep8.recipes);
    assert_eq!(r1, r8);
    assert_eq!(q1, q8);
    assert_eq!(f1, f8);

    // And that order is selection order, derived from the spec for each entry.
    let ids: Vec<&str> = rep1
        .failures
        .iter()
        .map(|f| f.package_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "homebrew:slow",
            "homebrew:guile",
            "npm:flaky",
            "github:mirror/wget",
            "pypi:cover",
            "nosep"
        ]
    );
    let cats: Vec<Category> = rep1.failures.iter().map(|f| f.category).collect();
    assert_eq!(
        cats,
        [
            Category::InstallFailed,
            Category::MissingDep,
            Category::NetworkError,
            Category::RecipeNotFound,
            Category::VerifyFailed,
            Category::GenerationFailed
        ]
    );
    assert_eq!(rep1.recipes, ["quick.toml", "gem.toml", "later.toml"]);
    let r = &rep1.results;
    assert_eq!((r.total, r.succeeded, r.failed, r.blocked), (9, 3, 4, 2));
    assert_eq!(
        r.ecosystems.get(""),
        Some(&1),
        "no colon → ecosystem \"\" (spec §8.1 #36)"
    );
    assert_eq!(r.per_ecosystem["homebrew"].total, 2);
    assert_eq!(r.per_ecosystem["homebrew"].failed, 1);
    let statuses: Vec<&str> = q1.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "failed", "success", "blocked", "failed", "blocked", "failed", "success", "failed",
            "success"
        ]
    );
    assert_eq!(q1[5].failure_count, 3);
    assert_eq!(q1[5].next_retry_at, Some(plus_hours(now(), 72)));
    assert_eq!(q1[2].failure_count, 1, "blocked keeps fc");
    assert!(f1.contains_key("nosep-2026-06-01T12-00-00Z.jsonl"));
}

// ---------------------------------------------------------------------------------------------
// (10) spawn failure halts the run
// ---------------------------------------------------------------------------------------------

fn spawn_error() -> RunnerError {
    RunnerError::Spawn {
        program: PathBuf::from("/fake/bin/tsuku"),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory"),
    }
}

/// A generator that cannot be started halts the run: that entry and every entry not yet
/// started are `NotRun`, left unchanged and not counted; entries already done keep their
/// outcome.
#[tokio::test(start_paused = true)]
async fn spawn_failure_marks_the_rest_not_run() {
    let original = vec![
        entry("a", "homebrew:a"),
        failed_entry("b", "homebrew:b", 1, None),
        failed_entry("c", "homebrew:c", 2, Some(PAST)),
        entry("d", "homebrew:d"),
    ];
    let env = env(original.clone());
    let mut mock = MockRunner::new();
    mock.expect_run()
        .withf(|c| is_create(c) && c.args[1] == "a")
        .times(1)
        .returning(|_| Ok(ok()));
    mock.expect_run()
        .withf(is_install)
        .times(1)
        .returning(|_| Ok(ok()));
    mock.expect_run()
        .withf(|c| is_create(c) && c.args[1] == "b")
        .times(1)
        .returning(|_| Err(spawn_error()));
    let c = clock();
    let (mut planned, results, mut report) = exec(&env, &mock, &c).await;
    assert!(matches!(
        results[0],
        EntryResult::Done {
            outcome: Outcome::Succeeded { .. },
            ..
        }
    ));
    for (i, r) in results.iter().enumerate().skip(1) {
        assert!(matches!(r, EntryResult::NotRun { .. }), "{i}: {r:?}");
    }
    let EntryResult::NotRun { reason } = &results[1] else {
        unreachable!()
    };
    assert!(reason.contains("failed to start generator"), "{reason}");
    assert!(reason.contains("No such file or directory"), "{reason}");
    assert_eq!(
        planned.queue.entries[1..],
        original[1..],
        "not-run entries are unchanged"
    );
    assert_eq!(planned.queue.entries[0].status, Status::Success);
    let r = &report.results;
    assert_eq!((r.total, r.succeeded, r.failed, r.blocked), (1, 1, 0, 0));
    assert_eq!(r.per_ecosystem["homebrew"].total, 1);
    check_totals(r);
    let not_run: Vec<(usize, &str)> = report
        .not_run
        .iter()
        .map(|(i, n, _)| (*i, n.as_str()))
        .collect();
    assert_eq!(not_run, [(1, "b"), (2, "c"), (3, "d")]);
    assert!(report.failures.is_empty());
    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert_eq!(load_queue(&env.config).entries[1..], original[1..]);
}

/// A spawn failure of `install` makes that entry `NotRun` too: it is unchanged and uncounted.
#[tokio::test(start_paused = true)]
async fn install_spawn_failure_is_not_run() {
    let env = env(vec![failed_entry("a", "cargo:a", 1, None)]);
    let mut mock = MockRunner::new();
    mock.expect_run()
        .withf(is_create)
        .times(1)
        .returning(|_| Ok(ok()));
    mock.expect_run()
        .withf(is_install)
        .times(1)
        .returning(|_| Err(spawn_error()));
    let (planned, results, report) = exec(&env, &mock, &clock()).await;
    assert!(matches!(results[0], EntryResult::NotRun { .. }));
    assert_eq!(
        planned.queue.entries[0],
        failed_entry("a", "cargo:a", 1, None)
    );
    assert_eq!(report.results.total, 0);
    assert!(report.results.per_ecosystem.is_empty());
    assert!(report.breaker_changes.is_empty());
}

// ---------------------------------------------------------------------------------------------
// (11) breaker updates in apply
// ---------------------------------------------------------------------------------------------

const CONTROL: &str = r#"{
  "enabled": true,
  "note": "kept",
  "circuit_breaker": {
    "npm": {"state": "closed", "failures": 2, "last_failure": "2026-05-01T00:00:00Z"},
    "cargo": {"state": "half-open", "failures": 5, "last_failure": "2026-05-01T00:00:00Z", "opens_at": "2026-05-01T01:00:00Z"},
    "pypi": {"state": "closed", "failures": 3, "last_failure": "2026-05-01T00:00:00Z"},
    "go": {"state": "closed", "failures": 4, "last_failure": "2026-05-01T00:00:00Z"},
    "rubygems": {"state": "closed", "failures": 1, "last_failure": "2026-05-01T00:00:00Z"},
    "cask": {"state": "half-open", "failures": 5, "last_failure": "2026-05-01T00:00:00Z", "opens_at": "2026-05-01T01:00:00Z"},
    "homebrew": {"state": "closed", "failures": 4, "last_failure": "2026-05-01T00:00:00Z"},
    "cpan": {"state": "closed", "failures": 2, "last_failure": "2026-05-01T00:00:00Z"}
  }
}
"#;

fn record(source: &str, category: Category) -> FailureRecord {
    FailureRecord {
        package_id: source.into(),
        category,
        subcategory: String::new(),
        blocked_by: Vec::new(),
        message: "m".into(),
        timestamp: NOW.into(),
    }
}

/// Spec §6.4–6.5: per ecosystem, failure iff ≥ 1 failed and 0 succeeded; all blocked is
/// success; failure on closed counts (opens at the threshold), failure on half-open re-opens,
/// success closes; ecosystems that did not run (or only had not-run entries) are untouched.
#[tokio::test(start_paused = true)]
async fn apply_updates_breakers_per_ecosystem() {
    let env = env(vec![
        entry("n1", "npm:n1"),
        entry("c1", "cargo:c1"),
        entry("p1", "pypi:p1"),
        entry("p2", "pypi:p2"),
        entry("g1", "go:g1"),
        entry("r1", "rubygems:r1"),
        entry("r2", "rubygems:r2"),
        entry("r3", "rubygems:r3"),
        entry("k1", "cask:k1"),
        entry("x1", "cpan:x1"),
        {
            let mut e = entry("h1", "homebrew:h1");
            e.status = Status::Success;
            e
        },
    ]);
    write_control(&env.config, CONTROL);
    let c = clock();
    let mut planned = super::plan(&env.config, &c).unwrap();
    let names: Vec<String> = planned
        .selection
        .candidates
        .iter()
        .map(|cand| planned.queue.entries[cand.index].name.clone())
        .collect();
    assert_eq!(
        names,
        ["n1", "c1", "p1", "p2", "g1", "r1", "r2", "r3", "k1", "x1"]
    );
    let done = |outcome| EntryResult::Done { outcome, at: now() };
    let ok_out = |n: &str| Outcome::Succeeded {
        recipe: PathBuf::from(format!("recipes/x/{n}.toml")),
    };
    let results = vec![
        done(Outcome::Failed(record("npm:n1", Category::InstallFailed))),
        done(ok_out("c1")),
        done(Outcome::Blocked(record("pypi:p1", Category::MissingDep))),
        done(Outcome::Blocked(record(
            "pypi:p2",
            Category::RecipeNotFound,
        ))),
        done(Outcome::Failed(record("go:g1", Category::GenerationFailed))),
        done(Outcome::Failed(record(
            "rubygems:r1",
            Category::NetworkError,
        ))),
        done(ok_out("r2")),
        done(Outcome::Blocked(record(
            "rubygems:r3",
            Category::MissingDep,
        ))),
        done(Outcome::Failed(record("cask:k1", Category::VerifyFailed))),
        EntryResult::NotRun {
            reason: "halted".into(),
        },
    ];
    let mut report = apply(&mut planned, &results, &env.config, &c);
    check_totals(&report.results);
    assert_eq!(
        (
            report.results.total,
            report.results.succeeded,
            report.results.failed,
            report.results.blocked
        ),
        (9, 2, 4, 3)
    );

    let b = &planned.control.breakers;
    let stamp = "2026-06-01T12:00:00Z".to_owned();
    let until = "2026-06-01T13:00:00Z".to_owned();
    assert_eq!(
        (b["npm"].state, b["npm"].failures),
        (BreakerState::Closed, 3)
    );
    assert_eq!(b["npm"].last_failure.as_ref(), Some(&stamp));
    assert_eq!(
        (b["cargo"].state, b["cargo"].failures),
        (BreakerState::Closed, 0)
    );
    assert_eq!(
        (b["pypi"].state, b["pypi"].failures),
        (BreakerState::Closed, 0),
        "all blocked = success"
    );
    assert_eq!((b["go"].state, b["go"].failures), (BreakerState::Open, 5));
    assert_eq!(b["go"].opens_at.as_ref(), Some(&until));
    assert_eq!(
        (b["rubygems"].state, b["rubygems"].failures),
        (BreakerState::Closed, 0)
    );
    assert_eq!(
        (b["cask"].state, b["cask"].failures),
        (BreakerState::Open, 6)
    );
    assert_eq!(b["cask"].opens_at.as_ref(), Some(&until));
    for untouched in ["homebrew", "cpan"] {
        assert_eq!(
            b[untouched].failures,
            if untouched == "homebrew" { 4 } else { 2 }
        );
        assert_eq!(
            b[untouched].last_failure.as_deref(),
            Some("2026-05-01T00:00:00Z")
        );
    }
    let changes: BTreeMap<&str, &Change> = report
        .breaker_changes
        .iter()
        .map(|(e, c)| (e.as_str(), c))
        .collect();
    assert_eq!(
        changes.keys().copied().collect::<Vec<_>>(),
        ["cargo", "cask", "go", "npm", "pypi", "rubygems"]
    );
    assert_eq!(changes["npm"], &Change::Counted(3));
    assert_eq!(changes["pypi"], &Change::Closed);
    assert_eq!(
        changes["go"],
        &Change::Opened {
            failures: 5,
            until: until.clone(),
            reopened: false
        }
    );
    assert_eq!(
        changes["cask"],
        &Change::Opened {
            failures: 6,
            until: until.clone(),
            reopened: true
        }
    );

    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert!(report.files_written.contains(&env.config.control_file));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&env.config.control_file).unwrap()).unwrap();
    let cb = &doc["circuit_breaker"];
    assert_eq!(cb["npm"]["failures"], 3);
    assert_eq!(cb["npm"]["last_failure"], "2026-06-01T12:00:00Z");
    assert_eq!(cb["go"]["state"], "open");
    assert_eq!(cb["cargo"]["state"], "closed");
    assert_eq!(
        cb["cargo"]["opens_at"], "2026-05-01T01:00:00Z",
        "success keeps opens_at (spec §6.4)"
    );
    assert_eq!(
        cb["homebrew"],
        serde_json::json!({"state": "closed", "failures": 4, "last_failure": "2026-05-01T00:00:00Z"})
    );
    assert_eq!(cb["cpan"]["failures"], 2);
    assert_eq!(doc["note"], "kept");
}

// ---------------------------------------------------------------------------------------------
// (12) persist
// ---------------------------------------------------------------------------------------------

fn persist_runner() -> ScriptedRunner {
    fake(
        |_| Duration::ZERO,
        |c, _| match (c.name().as_str(), c.step()) {
            ("jq", "create") | ("fzf", "create") => out(6, "boom", ""),
            ("guile", "create") => out(6, PATTERN, ""),
            ("serde", "create") => out(5, "net", ""),
            ("odd", "create") => out(9, "x", ""),
            _ => ok(),
        },
    )
}

/// Spec §1.3.1, §1.4, §1.6, §8.1 #32, #36: persist writes the queue, results, one failure file
/// per ecosystem named `<eco>-<YYYY-MM-DDTHH-MM-SSZ>.jsonl` with records in selection order,
/// the control file only when a breaker moved, and the summary. A second persist in the same
/// second does not overwrite the first failure file.
#[tokio::test(start_paused = true)]
async fn persist_writes_every_file_and_never_overwrites_failures() {
    let env = env(vec![
        entry("jq", "homebrew:jq"),
        entry("serde", "cargo:serde"),
        entry("guile", "homebrew:guile"),
        entry("ok", "npm:ok"),
        entry("fzf", "homebrew:fzf"),
        entry("odd", "odd"),
    ]);
    let runner = persist_runner();
    let c = FixedClock::new(ts("2026-06-01T12:00:00.75Z"));
    let (mut planned, _, mut report) = exec(&env, &runner, &c).await;
    persist(&mut planned, &mut report, &env.config, &c).unwrap();

    let fd = &env.config.failures_dir;
    let stamp = "2026-06-01T12-00-00Z";
    let hb = fd.join(format!("homebrew-{stamp}.jsonl"));
    let cargo = fd.join(format!("cargo-{stamp}.jsonl"));
    let odd = fd.join(format!("odd-{stamp}.jsonl"));
    // Records first, then results, then the queue that refers to them (issue #4 order).
    assert_eq!(
        report.files_written,
        vec![
            cargo.clone(),
            hb.clone(),
            odd.clone(),
            env.config.results.clone(),
            env.config.queue.clone(),
            env.config.control_file.clone(),
            env.config.summary.clone(),
        ]
    );
    let mut on_disk: Vec<String> = std::fs::read_dir(fd)
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        [
            format!("cargo-{stamp}.jsonl"),
            format!("homebrew-{stamp}.jsonl"),
            format!("odd-{stamp}.jsonl")
        ]
    );

    let hb_bytes = std::fs::read(&hb).unwrap();
    let text = String::from_utf8(hb_bytes.clone()).unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.ends_with('\n'));
    let line: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(line["schema_version"], 1);
    assert_eq!(line["ecosystem"], "homebrew");
    assert_eq!(line["environment"], "linux-glibc-x86_64");
    assert_eq!(line["updated_at"], stamp);
    let ids: Vec<&str> = line["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["package_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["homebrew:jq", "homebrew:guile", "homebrew:fzf"]);
    assert_eq!(
        line["failures"][1]["blocked_by"],
        serde_json::json!(["bdw-gc"])
    );
    assert_eq!(line["failures"][0]["timestamp"], "2026-06-01T12:00:00.75Z");
    let cargo_line: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cargo).unwrap()).unwrap();
    assert_eq!(cargo_line["failures"][0]["category"], "network_error");
    let odd_line: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&odd).unwrap()).unwrap();
    assert_eq!(odd_line["ecosystem"], "odd");

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&env.config.results).unwrap()).unwrap();
    assert_eq!(results["batch_id"], "2026-06-01");
    assert_eq!(results["total"], 6);
    assert_eq!(results["succeeded"], 1);
    assert_eq!(results["failed"], 4);
    assert_eq!(results["blocked"], 1);
    assert_eq!(
        results["ecosystems"],
        serde_json::json!({"": 1, "cargo": 1, "homebrew": 3, "npm": 1}),
        "no colon → ecosystem \"\" in the results, but `odd` names its failure file (spec §8.1 #36)"
    );
    assert_eq!(results["timestamp"], "2026-06-01T12:00:00.75Z");
    assert_eq!(
        std::fs::read(&env.config.results).unwrap(),
        report.results.to_bytes()
    );

    let q = load_queue(&env.config);
    let statuses: Vec<&str> = q.entries.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        statuses,
        ["failed", "failed", "blocked", "success", "failed", "failed"]
    );
    assert_eq!(q.updated_at.as_deref(), Some("2026-06-01T12:00:00Z"));

    let control: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&env.config.control_file).unwrap()).unwrap();
    assert_eq!(control["circuit_breaker"]["homebrew"]["failures"], 1);
    assert_eq!(control["circuit_breaker"]["cargo"]["failures"], 1);
    assert!(
        control["circuit_breaker"].get("npm").is_none(),
        "a success on a missing breaker changes nothing"
    );

    let summary = std::fs::read_to_string(&env.config.summary).unwrap();
    assert!(
        summary.starts_with("Batch run for **mixed** on 2026-06-01.\n"),
        "{summary}"
    );
    assert!(summary.contains("- `ok.toml`"));
    assert!(summary.contains("- **homebrew:guile**: blocked by [bdw-gc]"));

    // Persisting the same records again (a replayed journal) writes no second copy; the
    // control file is not rewritten (nothing changed since).
    let control_before = std::fs::read(&env.config.control_file).unwrap();
    report.files_written.clear();
    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert_eq!(
        std::fs::read(&hb).unwrap(),
        hb_bytes,
        "first failure file untouched"
    );
    assert!(report.files_written.contains(&hb));
    assert!(!report.files_written.contains(&env.config.control_file));
    assert_eq!(
        std::fs::read(&env.config.control_file).unwrap(),
        control_before
    );
    assert_eq!(std::fs::read_dir(fd).unwrap().count(), 3);

    // Different records under the same stamp never overwrite the first file: they get `-2`,
    // then `-3`.
    report.failures.retain(|r| r.package_id != "homebrew:jq");
    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert_eq!(
        std::fs::read(&hb).unwrap(),
        hb_bytes,
        "first failure file untouched"
    );
    let hb2 = fd.join(format!("homebrew-{stamp}-2.jsonl"));
    assert!(
        !String::from_utf8(std::fs::read(&hb2).unwrap())
            .unwrap()
            .contains("homebrew:jq")
    );
    assert_eq!(
        std::fs::read_dir(fd).unwrap().count(),
        4,
        "cargo and odd were identical"
    );
    report.failures.retain(|r| r.package_id != "homebrew:guile");
    persist(&mut planned, &mut report, &env.config, &c).unwrap();
    assert!(fd.join(format!("homebrew-{stamp}-3.jsonl")).exists());
}

/// Spec §8.1 #66, §6.5: a run with only successes on ecosystems without breakers writes no
/// failure file and no control file.
#[tokio::test(start_paused = true)]
async fn persist_skips_control_and_failures_when_nothing_to_write() {
    let env = env(vec![entry("a", "npm:a"), entry("b", "cargo:b")]);
    let runner = ScriptedRunner::ok_after(Duration::ZERO);
    let (_, report) = run(&env.config, &runner, &clock(), &noop).await.unwrap();
    assert_eq!(
        report.files_written,
        vec![
            env.config.results.clone(),
            env.config.queue.clone(),
            env.config.summary.clone()
        ]
    );
    assert!(!env.config.control_file.exists());
    assert!(!env.config.failures_dir.exists());
    assert!(report.breaker_changes.is_empty());
}

/// Control files with breakers that move are written; ones that do not move are left
/// byte-identical.
#[tokio::test(start_paused = true)]
async fn control_file_untouched_when_no_breaker_moves() {
    let env = env(vec![entry("a", "npm:a")]);
    let control = "{\n  \"enabled\": true,\n  \"circuit_breaker\": {\"npm\": {\"state\": \"closed\", \"failures\": 0}}\n}\n";
    write_control(&env.config, control);
    let runner = ScriptedRunner::ok_after(Duration::ZERO);
    let (_, report) = run(&env.config, &runner, &clock(), &noop).await.unwrap();
    assert!(!report.files_written.contains(&env.config.control_file));
    assert_eq!(
        std::fs::read_to_string(&env.config.control_file).unwrap(),
        control
    );
}

// ---------------------------------------------------------------------------------------------
// (13) totals invariant
// ---------------------------------------------------------------------------------------------

/// What one generated entry does: create exit, whether create prints the pattern, install exit.
#[derive(Debug, Clone, Copy)]
struct Script1 {
    create: i32,
    pattern: bool,
    install: i32,
    eco: usize,
    delay: u64,
}

fn script1() -> impl Strategy<Value = Script1> {
    (
        prop::sample::select(vec![0, 0, 0, 1, 3, 5, 6, 8, 9]),
        any::<bool>(),
        prop::sample::select(vec![0, 0, 3, 5, 6, 7, 8]),
        0..4usize,
        0..3u64,
    )
        .prop_map(|(create, pattern, install, eco, delay)| Script1 {
            create,
            pattern,
            install,
            eco,
            delay,
        })
}

/// The spec's outcome for a script (§4.5 last column).
fn expected_status(s: &Script1) -> Status {
    match (s.create, s.install) {
        (0, 0) => Status::Success,
        (0, 3 | 8) => Status::Blocked,
        (0, _) | (5, _) => Status::Failed,
        _ if s.pattern => Status::Blocked,
        _ => Status::Failed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Spec §4.7: every processed entry has exactly one outcome, so
    /// `succeeded + failed + blocked == total`, and each entry's status is the spec's, for any
    /// mix of exits and any `jobs`.
    #[test]
    fn totals_always_add_up(scripts in prop::collection::vec(script1(), 0..10), jobs in 1..5usize) {
        let ecos = ["homebrew", "cargo", "github", "rubygems"];
        let entries: Vec<QueueEntry> = scripts
            .iter()
            .enumerate()
            .map(|(i, s)| entry(&format!("e{i}"), &format!("{}:e{i}", ecos[s.eco])))
            .collect();
        let by_name: HashMap<String, Script1> =
            scripts.iter().enumerate().map(|(i, s)| (format!("e{i}"), *s)).collect();
        let by_name = Arc::new(by_name);
        let (d, s) = (Arc::clone(&by_name), Arc::clone(&by_name));
        let runner = fake(
            move |c| secs(d[&c.name()].delay),
            move |c, _| {
                let sc = s[&c.name()];
                if c.step() == "create" {
                    out(sc.create, if sc.pattern { PATTERN } else { "plain" }, "")
                } else {
                    out(sc.install, "", "err")
                }
            },
        );
        let mut env = env(entries);
        env.config.jobs = jobs;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let (planned, results, report) = rt.block_on(exec(&env, &runner, &clock()));
        let r = &report.results;
        check_totals(r);
        prop_assert_eq!(r.total, scripts.len());
        prop_assert_eq!(results.len(), scripts.len());
        prop_assert_eq!(report.failures.len(), r.failed + r.blocked);
        prop_assert_eq!(report.recipes.len(), r.succeeded);
        prop_assert!(runner.max_in_flight() <= jobs);
        for (i, s) in scripts.iter().enumerate() {
            prop_assert_eq!(&planned.queue.entries[i].status, &expected_status(s), "entry {} {:?}", i, s);
        }
        let count = |st: Status| planned.queue.entries.iter().filter(|e| e.status == st).count();
        prop_assert_eq!(count(Status::Success), r.succeeded);
        prop_assert_eq!(count(Status::Failed), r.failed);
        prop_assert_eq!(count(Status::Blocked), r.blocked);
    }
}

// ---------------------------------------------------------------------------------------------
// (14) kill switch
// ---------------------------------------------------------------------------------------------

/// Spec §7.5, issue: with `enabled: false` nothing runs and nothing is written.
#[tokio::test(start_paused = true)]
async fn kill_switch_runs_nothing_and_writes_nothing() {
    let env = env(vec![
        entry("a", "npm:a"),
        failed_entry("b", "cargo:b", 4, Some(PAST)),
    ]);
    let control = r#"{"enabled": false, "reason": "maintenance", "circuit_breaker": {"npm": {"state": "open", "opens_at": "2000-01-01T00:00:00Z"}}}"#;
    write_control(&env.config, control);
    let queue_before = std::fs::read(&env.config.queue).unwrap();
    let mut mock = MockRunner::new();
    mock.expect_run().never();
    let (planned, report) = run(&env.config, &mock, &clock(), &noop).await.unwrap();
    assert!(planned.kill_switch);
    assert!(planned.selection.candidates.is_empty());
    assert!(report.files_written.is_empty());
    assert_eq!(report.results.total, 0);
    assert_eq!(std::fs::read(&env.config.queue).unwrap(), queue_before);
    assert_eq!(
        std::fs::read_to_string(&env.config.control_file).unwrap(),
        control,
        "no breaker recovery written"
    );
    assert!(!env.config.results.exists());
    assert!(!env.config.summary.exists());
    assert!(!env.config.failures_dir.exists());
}

// ---------------------------------------------------------------------------------------------
// End to end through `run`
// ---------------------------------------------------------------------------------------------

/// Spec §8.1 #31: per-ecosystem accounting through `run`, with the queue saved.
#[tokio::test(start_paused = true)]
async fn run_accounts_per_ecosystem() {
    let env = env(vec![
        entry("jq", "homebrew:jq"),
        entry("ripgrep", "cargo:ripgrep"),
        entry("bat", "github:sharkdp/bat"),
        entry("fzf", "homebrew:fzf"),
    ]);
    let runner = ScriptedRunner::ok_after(Duration::ZERO);
    let (_, report) = run(&env.config, &runner, &clock(), &noop).await.unwrap();
    let r = &report.results;
    assert_eq!((r.total, r.succeeded), (4, 4));
    assert_eq!(
        r.ecosystems,
        BTreeMap::from([
            ("cargo".into(), 1),
            ("github".into(), 1),
            ("homebrew".into(), 2)
        ])
    );
    assert_eq!(
        (
            r.per_ecosystem["homebrew"].total,
            r.per_ecosystem["homebrew"].succeeded
        ),
        (2, 2)
    );
    assert_eq!(
        report.recipes,
        ["jq.toml", "ripgrep.toml", "bat.toml", "fzf.toml"]
    );
    for f in [
        "recipes/j/jq.toml",
        "recipes/r/ripgrep.toml",
        "recipes/b/bat.toml",
        "recipes/f/fzf.toml",
    ] {
        assert!(env.root.join(f).exists(), "{f}");
    }
    assert!(
        load_queue(&env.config)
            .entries
            .iter()
            .all(|e| e.status == Status::Success)
    );
}

/// Every generator process is reported once it ends, with its attempt, its wall-clock start,
/// how long it ran and its exit, for job logs (issue #12).
#[tokio::test(start_paused = true)]
async fn every_process_is_reported_with_its_exit_and_duration() {
    let env = env(vec![entry("bup", "rubygems:bup")]);
    let runner = fake(
        |c| {
            if c.step() == "create" {
                secs(2)
            } else {
                secs(3)
            }
        },
        |c, attempt| match (c.step(), attempt) {
            ("create", 0) => out(5, "", "registry returned 503"),
            _ => ok(),
        },
    );
    let seen = Mutex::new(Vec::new());
    let on = |e: Event<'_>| {
        if let Event::StepFinished {
            name,
            ecosystem,
            step,
            retry,
            started,
            took,
            exit,
            command,
            ..
        } = e
        {
            seen.lock().unwrap().push((
                format!("{name} {ecosystem} {step:?} {retry}"),
                started,
                took,
                exit,
                command.args[0].clone(),
            ));
        }
    };
    let c = clock();
    let planned = super::plan(&env.config, &c).unwrap();
    execute(&planned, &env.config, &runner, &c, &on).await;
    let seen = seen.into_inner().unwrap();
    let got: Vec<(String, Duration, Option<Exit>, String)> = seen
        .iter()
        .map(|(what, _, took, exit, arg0)| {
            (
                what.clone(),
                *took,
                *exit,
                arg0.to_string_lossy().into_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "bup rubygems Create 0".to_owned(),
                secs(2),
                Some(Exit::Code(5)),
                "create".to_owned()
            ),
            (
                "bup rubygems Create 1".to_owned(),
                secs(2),
                Some(Exit::Code(0)),
                "create".to_owned()
            ),
            (
                "bup rubygems Install 0".to_owned(),
                secs(3),
                Some(Exit::Code(0)),
                "install".to_owned()
            ),
        ]
    );
    assert!(
        seen.iter().all(|(_, started, ..)| *started == now()),
        "the fixed wall clock"
    );
}
