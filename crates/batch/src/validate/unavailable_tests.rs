//! Issue #22 in a validation job: rows keep tsuku's reason, a sandbox verify failure is a
//! failure, and a runner that cannot run installs stops the job with an `incomplete` row that
//! a rerun on a fixed runner replaces.

use std::path::PathBuf;
use std::time::Duration;

use super::job::{JobOptions, ValidateFiles, validate_files};
use super::journal;
use super::platform::{Family, JobPlatform};
use super::results::{ResultsFile, RowStatus};
use super::run::ValidateConfig;
use crate::runner::fake::{FakeCall, Reply, ScriptedRunner};
use crate::tsuku::Tsuku;

const NO_RUNTIME: &str = "{\n  \"tool\": \"x\",\n  \"passed\": false,\n  \"verified\": false,\n  \"install_exit_code\": -1,\n  \"verify_exit_code\": -1,\n  \"duration_ms\": 3,\n  \"error\": \"no container runtime available (install Podman or Docker)\"\n}\n";
const VERIFY_FAILED: &str = "{\n  \"tool\": \"x\",\n  \"passed\": false,\n  \"verified\": false,\n  \"install_exit_code\": 0,\n  \"verify_exit_code\": 127,\n  \"verify_output\": \"sh: x: not found\",\n  \"duration_ms\": 3,\n  \"error\": \"verification failed with exit code 127\"\n}\n";
const HOST_FAILED: &str = "{\n  \"status\": \"error\",\n  \"category\": \"network_error\",\n  \"subcategory\": \"dns_error\",\n  \"message\": \"failed to fetch: lookup github.com: no such host\",\n  \"missing_recipes\": [],\n  \"install_exit_code\": 6\n}\n";

fn tree(names: &[&str]) -> (tempfile::TempDir, ValidateFiles) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("recipes");
    for n in names {
        let p = dir.join(&n[..1]).join(format!("{n}.toml"));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "[metadata]\n").unwrap();
    }
    let out: PathBuf = tmp.path().join("validation-results-linux-x86_64.json");
    let files = ValidateFiles {
        recipes: dir,
        out,
        exclusions: None,
    };
    (tmp, files)
}

fn config() -> ValidateConfig {
    let mut c = ValidateConfig::new(JobPlatform::LinuxX86_64, "2026-12-01-001");
    c.families = vec![Family::Debian];
    c.jobs = 1;
    c
}

#[tokio::test(start_paused = true)]
async fn rows_keep_the_reason_and_a_verify_failure_fails() {
    let (_tmp, files) = tree(&["bat", "fd"]);
    let runner = ScriptedRunner::new(|c: &FakeCall| match c.name().as_str() {
        "bat" => Reply::code(6).stdout(VERIFY_FAILED),
        _ => Reply::code(6).stdout(HOST_FAILED),
    });
    let c = config();
    let o = validate_files(
        &c,
        &files,
        &Tsuku::for_validation(&c),
        &runner,
        JobOptions::default(),
    )
    .await
    .unwrap();
    assert!(o.complete() && o.unavailable.is_none());
    let bat = &o.rows[0];
    assert_eq!(
        (
            bat.status,
            bat.exit_code,
            bat.verify_exit_code,
            bat.subcategory.as_deref()
        ),
        (RowStatus::Fail, Some(7), Some(127), None)
    );
    assert_eq!(
        bat.message.as_deref(),
        Some("verification failed with exit code 127\nsh: x: not found")
    );
    let fd = &o.rows[1];
    assert_eq!(
        (
            fd.status,
            fd.exit_code,
            fd.verify_exit_code,
            fd.subcategory.as_deref()
        ),
        (RowStatus::Fail, Some(6), None, Some("dns_error"))
    );
    assert_eq!(
        fd.message.as_deref(),
        Some("failed to fetch: lookup github.com: no such host")
    );
}

#[tokio::test(start_paused = true)]
async fn no_runtime_stops_the_job_and_a_rerun_redoes_it() {
    let (_tmp, files) = tree(&["amp", "bat", "cdk", "dua"]);
    // `amp` installs; `bat` finds no runtime; `cdk` and `dua` are never started.
    let broken = ScriptedRunner::new(|c: &FakeCall| match c.name().as_str() {
        "amp" => Reply::code(0).after(Duration::from_secs(1)),
        _ => Reply::code(0).stdout(NO_RUNTIME),
    });
    let c = config();
    let tsuku = Tsuku::for_validation(&c);
    let o = validate_files(&c, &files, &tsuku, &broken, JobOptions::default())
        .await
        .unwrap();
    assert_eq!(broken.names("install"), ["amp", "bat"]);
    assert!(!o.complete());
    assert_eq!(o.abandoned, 2);
    assert_eq!(
        o.unavailable.as_deref(),
        Some("no container runtime available (install Podman or Docker)")
    );
    let file = ResultsFile::read(&files.out).unwrap();
    let got: Vec<(&str, RowStatus)> = file
        .rows
        .iter()
        .map(|r| (r.recipe.as_str(), r.status))
        .collect();
    assert_eq!(
        got,
        [("amp", RowStatus::Pass), ("bat", RowStatus::Incomplete)]
    );
    let last = &file.rows[1];
    assert_eq!(
        (last.exit_code, last.message.as_deref(), last.attempts),
        (None, o.unavailable.as_deref(), Some(1))
    );
    assert_eq!(o.journal_kept, Some(journal::path_for(&files.out)));

    // A fixed runner: `amp` comes from the journal, the rest are installed.
    let fixed = ScriptedRunner::ok();
    let o = validate_files(&c, &files, &tsuku, &fixed, JobOptions::default())
        .await
        .unwrap();
    assert_eq!(fixed.names("install"), ["bat", "cdk", "dua"]);
    assert!(o.complete() && o.resumed == 1, "{o:?}");
    let file = ResultsFile::read(&files.out).unwrap();
    assert!(
        file.rows.iter().all(|r| r.status == RowStatus::Pass),
        "{file:?}"
    );
    assert_eq!(file.rows.len(), 4);
    assert!(!journal::path_for(&files.out).exists());
}
