//! Paused-clock tests of a validation job (spec §7.3, issue #13) against the scripted runner:
//! argv per platform, retry delays, exit codes from tsuku's JSON, timeouts, `blocked_by`,
//! exclusions, path checks, resume from the journal, stop and budget.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::job::{JobOptions, ValidateFiles, validate_files};
use super::journal::{self, Journal};
use super::platform::{Family, JobPlatform};
use super::recipes::Recipe;
use super::results::{ResultsFile, RowStatus, ValidationRow};
use super::run::{Task, ValidateConfig, validate_one};
use crate::runner::Exit;
use crate::runner::fake::{FakeCall, Reply, ScriptedRunner};
use crate::runner::{Output, Stop};
use crate::tsuku::Tsuku;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// `err` and its sources, joined by `: ` (what the binary prints as `error:` / `caused by:`).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(err), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn recipe(name: &str) -> Recipe {
    Recipe {
        rel: format!("{}/{name}.toml", &name[..1]),
        name: name.into(),
        path: PathBuf::from(format!("/r/{}/{name}.toml", &name[..1])),
    }
}

fn task(name: &str, family: Option<Family>) -> Task {
    Task {
        recipe: recipe(name),
        family,
    }
}

fn config(platform: JobPlatform) -> ValidateConfig {
    ValidateConfig::new(platform, "2026-12-01-001")
}

fn out(code: i32, stdout: &str) -> Reply {
    Reply::code(code).stdout(stdout)
}

#[tokio::test(start_paused = true)]
async fn exit_5_is_retried_after_2s_then_4s_three_attempts_at_most() {
    let runner = ScriptedRunner::new(|c: &FakeCall| match (c.name().as_str(), c.attempt) {
        ("net", _) => out(5, r#"{"install_exit_code":5}"#),
        ("flaky", 0) => Reply::code(5),
        _ => Reply::code(0).after(SECS(1)),
    });
    let c = config(JobPlatform::DarwinArm64);
    let t0 = Instant::now();
    let tsuku = Tsuku::for_validation(&c);
    let net = validate_one(&tsuku, &runner, &c, &task("net", None), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (net.status, net.exit_code, net.attempts),
        (RowStatus::Fail, Some(5), Some(3))
    );
    assert_eq!(net.blocked_by, Some(vec![]));
    let at: Vec<Duration> = runner.calls().iter().map(|c| c.at - t0).collect();
    assert_eq!(at, [SECS(0), SECS(2), SECS(6)]);

    let t1 = Instant::now();
    let tsuku = Tsuku::for_validation(&c);
    let flaky = validate_one(&tsuku, &runner, &c, &task("flaky", None), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (flaky.status, flaky.exit_code, flaky.attempts),
        (RowStatus::Pass, Some(0), Some(2))
    );
    assert_eq!(t1.elapsed(), SECS(3), "2 s backoff + 1 s install");
    assert_eq!(flaky.platform.to_string(), "darwin-arm64");
    assert_eq!(flaky.path, "f/flaky.toml");
    assert_eq!(flaky.batch_id, "2026-12-01-001");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_recorded_and_not_retried() {
    let runner = ScriptedRunner::new(|_: &FakeCall| {
        Reply::output(Output {
            exit: Exit::TimedOut(SECS(300)),
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
        .after(SECS(300))
    });
    let c = config(JobPlatform::LinuxX86_64);
    let tsuku = Tsuku::for_validation(&c);
    let row = validate_one(&tsuku, &runner, &c, &task("slow", Some(Family::Rhel)), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.status, row.exit_code, row.attempts, row.timed_out),
        (RowStatus::Fail, Some(124), Some(1), true)
    );
    assert_eq!(row.platform.to_string(), "linux-rhel-glibc-x86_64");
    assert_eq!(runner.calls().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn exit_8_gives_sanitised_blocked_by_other_codes_none() {
    let runner = ScriptedRunner::new(|c: &FakeCall| match c.name().as_str() {
        "ffmpeg" => out(
            8,
            r#"{"status":"error","missing_recipes":["x264","../etc","x264","lame"],"exit_code":8}"#,
        ),
        // Missing recipes on another code are not blocked_by (spec §7.3: exit 8 only).
        _ => out(6, r#"{"missing_recipes":["zlib"],"install_exit_code":6}"#),
    });
    let c = config(JobPlatform::LinuxArm64);
    let tsuku = Tsuku::for_validation(&c);
    let row = validate_one(
        &tsuku,
        &runner,
        &c,
        &task("ffmpeg", Some(Family::Debian)),
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(row.exit_code, Some(8));
    assert_eq!(row.blocked_by, Some(vec!["x264".into(), "lame".into()]));
    let tsuku = Tsuku::for_validation(&c);
    let other = validate_one(
        &tsuku,
        &runner,
        &c,
        &task("gimp", Some(Family::Debian)),
        None,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((other.exit_code, other.blocked_by), (Some(6), Some(vec![])));
}

#[tokio::test(start_paused = true)]
async fn a_stop_during_the_backoff_records_nothing() {
    let runner = ScriptedRunner::new(|_: &FakeCall| Reply::code(5));
    let (tx, rx) = watch::channel(Stop::Running);
    let c = config(JobPlatform::DarwinArm64);
    let stopper = async {
        tokio::time::sleep(SECS(1)).await;
        tx.send(Stop::Graceful).unwrap();
    };
    let t = task("net", None);
    let tsuku = Tsuku::for_validation(&c);
    let (row, ()) = tokio::join!(validate_one(&tsuku, &runner, &c, &t, Some(&rx)), stopper);
    assert_eq!(row.unwrap(), None);
    assert_eq!(runner.calls().len(), 1);
}

/// A recipes tree under a temp dir: `names` as `<letter>/<name>.toml`.
fn tree(names: &[&str]) -> (tempfile::TempDir, ValidateFiles) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("recipes");
    for n in names {
        let p = dir.join(&n[..1]).join(format!("{n}.toml"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "[metadata]\n").unwrap();
    }
    let files = ValidateFiles {
        recipes: dir,
        out: tmp.path().join("out/validation-results-linux-arm64.json"),
        exclusions: None,
    };
    (tmp, files)
}

fn summary(rows: &[ValidationRow]) -> Vec<String> {
    rows.iter()
        .map(|r| format!("{} {} {:?}", r.recipe, r.platform, r.status))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn exclusions_get_one_skipped_row_per_family_and_bad_paths_none() {
    let (tmp, mut files) = tree(&["amplify", "bat"]);
    let ex = tmp.path().join("ex.json");
    std::fs::write(&ex, r#"{"exclusions":[{"recipe":"amplify","issue":"x"}]}"#).unwrap();
    files.exclusions = Some(ex);
    // A symlink to a recipe outside the tree, and a `..` name: neither is installed.
    std::fs::write(tmp.path().join("evil.toml"), "").unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("evil.toml"),
        files.recipes.join("b/evil.toml"),
    )
    .unwrap();
    std::fs::write(files.recipes.join("b/b..c.toml"), "").unwrap();
    let runner = ScriptedRunner::ok();
    let mut c = config(JobPlatform::LinuxArm64);
    c.families = vec![Family::Debian, Family::Alpine];
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(&c, &files, &tsuku, &runner, JobOptions::default())
        .await
        .unwrap();
    assert_eq!(
        summary(&o.rows),
        [
            "amplify linux-alpine-musl-arm64 Skipped",
            "amplify linux-debian-glibc-arm64 Skipped",
            "bat linux-alpine-musl-arm64 Pass",
            "bat linux-debian-glibc-arm64 Pass",
        ]
    );
    assert_eq!(runner.names("install"), ["bat", "bat"]);
    assert_eq!(o.rejected.len(), 2);
    let written = ResultsFile::read(&files.out).unwrap();
    assert_eq!(written.rows, o.rows);
    let skipped = &written.rows[0];
    assert_eq!(
        (skipped.exit_code, skipped.attempts, &skipped.blocked_by),
        (None, None, &None)
    );
    assert!(!journal::path_for(&files.out).exists());
}

#[tokio::test(start_paused = true)]
async fn a_malformed_exclusions_file_writes_nothing() {
    let (tmp, mut files) = tree(&["bat"]);
    let ex = tmp.path().join("ex.json");
    std::fs::write(&ex, "{\"exclusions\": [\n  {\"recipe\": 1}\n]}").unwrap();
    files.exclusions = Some(ex);
    let runner = ScriptedRunner::ok();
    let tsuku = Tsuku::for_validation(&config(JobPlatform::DarwinArm64));
    let err = validate_files(
        &config(JobPlatform::DarwinArm64),
        &files,
        &tsuku,
        &runner,
        JobOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(chain(&err).contains("ex.json:2:"), "{err}");
    assert!(runner.calls().is_empty());
    assert!(!files.out.exists() && !journal::path_for(&files.out).exists());
}

#[tokio::test(start_paused = true)]
async fn resume_skips_journaled_rows_and_drops_foreign_ones() {
    let (_tmp, files) = tree(&["bat", "fd", "rg"]);
    let c = config(JobPlatform::DarwinArm64);
    // The killed run finished `bat` (a failure: it must not be retried) and `zz` (no
    // longer in the batch).
    let jpath = journal::path_for(&files.out);
    std::fs::create_dir_all(jpath.parent().unwrap()).unwrap();
    let (mut j, _) = Journal::open_or_create(&jpath, &c.batch_id, c.platform).unwrap();
    let done = |name: &str| ValidationRow {
        recipe: name.into(),
        platform: c.platform.row(None),
        status: RowStatus::Fail,
        exit_code: Some(6),
        attempts: Some(1),
        blocked_by: Some(vec![]),
        timed_out: false,
        path: format!("{}/{name}.toml", &name[..1]),
        batch_id: c.batch_id.clone(),
        environment: Default::default(),
        message: None,
        subcategory: None,
        verify_exit_code: None,
    };
    j.append_row(&done("bat")).unwrap();
    j.append_row(&done("zz")).unwrap();
    drop(j);
    let runner = ScriptedRunner::ok();
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(&c, &files, &tsuku, &runner, JobOptions::default())
        .await
        .unwrap();
    assert_eq!(runner.names("install"), ["fd", "rg"]);
    assert_eq!(o.resumed, 1);
    assert_eq!(
        summary(&o.rows),
        [
            "bat darwin-arm64 Fail",
            "fd darwin-arm64 Pass",
            "rg darwin-arm64 Pass"
        ]
    );
    assert!(o.written.is_some() && !jpath.exists());

    // A journal of another batch is refused before anything runs.
    let (mut j, _) = Journal::open_or_create(&jpath, "other", c.platform).unwrap();
    j.append_row(&done("bat")).unwrap();
    drop(j);
    let runner = ScriptedRunner::ok();
    let tsuku = Tsuku::for_validation(&c);
    let err = validate_files(&c, &files, &tsuku, &runner, JobOptions::default())
        .await
        .unwrap_err();
    assert!(chain(&err).contains("\"other\""), "{err}");
    assert!(runner.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stopped_job_keeps_its_journal_and_the_rerun_finishes() {
    let (_tmp, files) = tree(&["bat", "fd", "rg"]);
    let mut c = config(JobPlatform::DarwinArm64);
    c.jobs = 1;
    let (tx, rx) = watch::channel(Stop::Running);
    let runner = ScriptedRunner::new(|c: &FakeCall| match c.name().as_str() {
        "bat" => Reply::code(0),
        _ => Reply::Hang,
    });
    let stopper = async {
        tokio::time::sleep(SECS(10)).await;
        tx.send(Stop::Graceful).unwrap();
    };
    // The scripted hang ignores the stop (a real runner kills it); only the waiting tasks
    // see it, so race the job against the stopper and a bound.
    let tsuku = Tsuku::for_validation(&c);
    let job = validate_files(
        &c,
        &files,
        &tsuku,
        &runner,
        JobOptions {
            stop: Some(rx),
            ..Default::default()
        },
    );
    let r = tokio::select! {
        r = async { tokio::join!(job, stopper).0 } => Some(r),
        () = tokio::time::sleep(SECS(3600)) => None,
    };
    // The hung `fd` never returns here: the job is cut off, as SIGKILL would.
    assert!(r.is_none());
    let jpath = journal::path_for(&files.out);
    let lines = journal::read(&jpath).unwrap().unwrap();
    assert_eq!(lines.len(), 2, "start line and bat's row: {lines:?}");
    assert!(!files.out.exists());

    let runner = ScriptedRunner::ok();
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(&c, &files, &tsuku, &runner, JobOptions::default())
        .await
        .unwrap();
    assert_eq!(runner.names("install"), ["fd", "rg"]);
    assert_eq!(o.resumed, 1);
    assert_eq!(o.rows.len(), 3);
    assert!(files.out.exists() && !jpath.exists());
}

#[tokio::test(start_paused = true)]
async fn a_graceful_stop_writes_no_results_and_counts_the_rest() {
    let (_tmp, files) = tree(&["bat", "fd", "rg"]);
    let mut c = config(JobPlatform::DarwinArm64);
    c.jobs = 1;
    let (tx, rx) = watch::channel(Stop::Running);
    let runner = ScriptedRunner::ok_after(SECS(10));
    let stopper = async {
        tokio::time::sleep(SECS(15)).await;
        tx.send(Stop::Graceful).unwrap();
    };
    let tsuku = Tsuku::for_validation(&c);
    let (o, ()) = tokio::join!(
        validate_files(
            &c,
            &files,
            &tsuku,
            &runner,
            JobOptions {
                stop: Some(rx),
                ..Default::default()
            },
        ),
        stopper
    );
    let o = o.unwrap();
    // bat finished at 10 s, fd was running at 15 s (the fake ignores the stop and finishes
    // at 20 s), rg never started.
    assert_eq!(runner.names("install"), ["bat", "fd"]);
    assert_eq!((o.rows.len(), o.interrupted), (2, 1));
    assert!(o.written.is_none() && o.journal_kept.is_some());
    assert!(!files.out.exists());
}

#[tokio::test(start_paused = true)]
async fn the_budget_starts_only_rows_that_fit_and_jobs_bound_concurrency() {
    let (_tmp, files) = tree(&["a1", "a2", "a3", "a4", "a5"]);
    let mut c = config(JobPlatform::DarwinArm64);
    c.jobs = 2;
    c.timeout = SECS(100);
    let runner = ScriptedRunner::ok_after(SECS(40));
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(
        &c,
        &files,
        &tsuku,
        &runner,
        JobOptions {
            deadline: Some(Instant::now() + SECS(100)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // 0 s: a1, a2 start (the 100 s timeout fits exactly); 40 s: p90 = 40 s, a3, a4 start;
    // 80 s: 80 + 40 > 100, a5 is not started.
    assert_eq!(runner.names("install"), ["a1", "a2", "a3", "a4"]);
    assert_eq!(runner.max_in_flight(), 2);
    assert_eq!((o.rows.len(), o.not_started), (4, 1));
    assert!(o.written.is_none());
    assert!(o.journal_kept.is_some());
}

#[tokio::test(start_paused = true)]
async fn a_missing_recipes_dir_is_an_error_naming_it() {
    let files = ValidateFiles {
        recipes: PathBuf::from("/nonexistent/recipes"),
        out: PathBuf::from("/nonexistent/out.json"),
        exclusions: None,
    };
    let tsuku = Tsuku::for_validation(&config(JobPlatform::DarwinArm64));
    let err = validate_files(
        &config(JobPlatform::DarwinArm64),
        &files,
        &tsuku,
        &ScriptedRunner::ok(),
        JobOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(chain(&err).contains("/nonexistent/recipes"), "{err}");
    assert!(!Path::new("/nonexistent/out.json.journal").exists());
}

#[test]
fn families_are_deduplicated_and_darwin_has_one_row() {
    let mut c = config(JobPlatform::LinuxArm64);
    c.families = vec![Family::Alpine, Family::Debian, Family::Alpine];
    assert_eq!(
        c.row_families(),
        [Some(Family::Alpine), Some(Family::Debian)]
    );
    let mut d = config(JobPlatform::DarwinArm64);
    d.families = vec![Family::Debian];
    assert_eq!(d.row_families(), [None]);
}

/// Issue #22: a generator that cannot be spawned is the runner's problem, not the recipe's:
/// the job stops (one call), writes an `incomplete` row naming the cause and keeps the journal.
#[tokio::test(start_paused = true)]
async fn a_generator_that_cannot_start_stops_the_job_and_keeps_the_journal() {
    let (_tmp, files) = tree(&["bat", "fd", "rg"]);
    let mut c = config(JobPlatform::DarwinArm64);
    c.jobs = 1;
    c.timeout = SECS(300);
    let mut mock = crate::runner::MockRunner::new();
    // The install command of every row: stdout/stderr apart, the configured timeout.
    mock.expect_run()
        .withf(|cmd| !cmd.merge_output && cmd.timeout == SECS(300) && cmd.env.is_empty())
        .times(1)
        .returning(|cmd| {
            Err(crate::runner::RunnerError::Spawn {
                program: cmd.program,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })
        });
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(&c, &files, &tsuku, &mock, JobOptions::default())
        .await
        .unwrap();
    assert_eq!((o.abandoned, o.rows.len()), (2, 1), "{o:?}");
    let why = o.unavailable.as_deref().unwrap();
    assert!(
        why.starts_with("failed to start generator `tsuku`"),
        "{why}"
    );
    let file = ResultsFile::read(&files.out).unwrap();
    assert_eq!(file.rows.len(), 1);
    assert_eq!(
        (file.rows[0].status, file.rows[0].recipe.as_str()),
        (RowStatus::Incomplete, "bat")
    );
    assert!(journal::path_for(&files.out).exists());
}
