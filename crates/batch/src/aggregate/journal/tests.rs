//! Issue #22: `aggregate` stopped at each of its writes in turn and run again ends with the
//! same files, byte for byte, as one uninterrupted run on a copy of the same inputs; a rerun
//! with other results puts back what the batch no longer changes; a journal of another batch
//! or a damaged one stops the run before anything is written.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::{Before, Content, path_for};
use crate::aggregate::apply::{BeforeEach, apply_plan, apply_with};
use crate::aggregate::error::AggregateError;
use crate::aggregate::plan::{ExcludeCause, Fate, Options, Plan, plan_aggregate};
use crate::clock::FixedClock;
use crate::queue::{Queue, QueueEntry, Status};
use crate::validate::platform::DEFAULT_ROW_NAMES as ALL11;
use crate::validate::{Environment, ResultsFile, RowPlatform, RowStatus, ValidationRow};

const BATCH: &str = "2026-12-01-all";
const PLAIN: &str = "[metadata]\nname = \"NAME\"\n\n[[steps]]\naction = \"homebrew\"\n";
/// The first run's clock, and the later one of the run after the interruption.
const FIRST: &str = "2026-12-01T09:00:00.25Z";
const LATER: &str = "2026-12-01T11:30:00Z";

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn row(recipe: &str, platform: &str, status: RowStatus, env: Environment) -> ValidationRow {
    ValidationRow {
        recipe: recipe.into(),
        platform: RowPlatform::parse(platform).unwrap(),
        status,
        exit_code: Some(if status == RowStatus::Fail { 6 } else { 0 }),
        attempts: Some(1),
        blocked_by: Some(vec![]),
        timed_out: false,
        path: format!("{}/{recipe}.toml", &recipe[..1]),
        batch_id: BATCH.into(),
        environment: env,
        message: None,
        subcategory: None,
        verify_exit_code: None,
    }
}

/// The batch's recipes: every kind of write happens.
/// - alpha passes everywhere (included);
/// - bravo fails on macOS (a new `supported_os = ["linux"]` is inserted);
/// - charlie already says `supported_os = ["linux"]` and fails on macOS (existing constraint);
/// - delta fails everywhere (deleted, failure lines, queue `success` → `failed` + backoff);
/// - echo has a `run_command` step (deleted by the gate, queue → `excluded`);
/// - foxtrot is not UTF-8 (deleted by the gate; journaled as bytes);
/// - golf has no validation row (unvalidated).
fn recipes() -> Vec<(&'static str, Vec<u8>)> {
    let plain = |n: &str| PLAIN.replace("NAME", n).into_bytes();
    vec![
        ("alpha", plain("alpha")),
        ("bravo", plain("bravo")),
        (
            "charlie",
            b"[metadata]\nname = \"charlie\"\nsupported_os = [\"linux\"]\n\n[[steps]]\naction = \"homebrew\"\n"
                .to_vec(),
        ),
        ("delta", plain("delta")),
        (
            "echo",
            b"[metadata]\nname = \"echo\"\n[[steps]]\naction = 'run_command'\n".to_vec(),
        ),
        ("foxtrot", b"[metadata]\nname = \"\xff\"\n".to_vec()),
        ("golf", plain("golf")),
    ]
}

/// Which `(recipe, platform)` rows fail in the batch's results.
fn fails(recipe: &str, platform: &str) -> bool {
    match recipe {
        "bravo" | "charlie" => platform.starts_with("darwin"),
        "delta" => true,
        _ => false,
    }
}

/// Writes the batch's inputs under `root` (a fresh copy each time) and returns the options.
fn inputs(root: &Path, fail: fn(&str, &str) -> bool) -> Options {
    let options = Options {
        validation_dir: root.join("validation"),
        queue: root.join("data/queues/priority-queue.json"),
        output_dir: root.join("recipes"),
        failures_dir: root.join("data/failures"),
        metrics_dir: root.join("data/metrics"),
        pr_dir: root.join("pr"),
        batch_id: BATCH.into(),
        planned_at: ts("2026-12-01T08:00:00Z"),
    };
    let mut queue = Queue {
        schema_version: 1,
        ..Queue::default()
    };
    queue
        .entries
        .push(QueueEntry::new("unrelated", "npm:unrelated", 2));
    let mut gen_rows = Vec::new();
    for (name, bytes) in recipes() {
        let path = options
            .output_dir
            .join(&name[..1])
            .join(format!("{name}.toml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        let mut e = QueueEntry::new(name, format!("cargo:{name}"), 1);
        e.status = Status::Success;
        queue.entries.push(e);
        gen_rows.push(row(
            name,
            "linux-debian-glibc-x86_64",
            RowStatus::Pass,
            Environment::Generation,
        ));
    }
    queue
        .save(&options.queue, ts("2026-12-01T07:00:00Z"))
        .unwrap();
    results(&options, "generation", gen_rows);
    results_matrix(&options, fail);
    options
}

fn results(options: &Options, name: &str, rows: Vec<ValidationRow>) {
    ResultsFile { rows }
        .write(
            &options
                .validation_dir
                .join(format!("validation-results-{name}.json")),
        )
        .unwrap();
}

/// One results file per job platform over every recipe but golf.
fn results_matrix(options: &Options, fail: fn(&str, &str) -> bool) {
    for (job, keep) in [
        ("linux-x86_64", "x86_64"),
        ("linux-arm64", "arm64"),
        ("darwin-arm64", "darwin-arm64"),
        ("darwin-x86_64", "darwin-x86_64"),
    ] {
        let mut rows = Vec::new();
        for (name, _) in recipes().into_iter().filter(|(n, _)| *n != "golf") {
            for p in ALL11.iter().filter(|p| {
                if keep.starts_with("darwin") {
                    **p == keep
                } else {
                    p.starts_with("linux") && p.ends_with(keep)
                }
            }) {
                let status = if fail(name, p) {
                    RowStatus::Fail
                } else {
                    RowStatus::Pass
                };
                rows.push(row(name, p, status, Environment::Validation));
            }
        }
        results(options, job, rows);
    }
}

/// Every file under `root` (relative path, bytes), sorted.
fn snapshot(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Asserts two snapshots are equal, naming the files that differ (as text) when not.
#[track_caller]
fn assert_same(got: &[(String, Vec<u8>)], want: &[(String, Vec<u8>)], what: &str) {
    if got != want {
        let text = |s: &[(String, Vec<u8>)]| -> Vec<(String, String)> {
            s.iter()
                .map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned()))
                .collect()
        };
        let (got, want) = (text(got), text(want));
        let diff: Vec<_> = got
            .iter()
            .filter(|g| !want.contains(g))
            .chain(want.iter().filter(|w| !got.contains(w)))
            .collect();
        panic!("{what}: the files differ (got's, then want's): {diff:#?}");
    }
}

/// The snapshot with the clock's time stamps masked (queue `updated_at` and `next_retry_at`,
/// the metrics' `timestamp` and `duration_seconds`).
fn masked(snap: &[(String, Vec<u8>)]) -> Vec<(String, String)> {
    let stamps = regex::Regex::new(r#""(updated_at|next_retry_at|timestamp)": ?"[^"]*""#).unwrap();
    let duration = regex::Regex::new(r#""duration_seconds": ?\d+"#).unwrap();
    snap.iter()
        .map(|(p, b)| {
            let text = String::from_utf8_lossy(b);
            let text = stamps.replace_all(&text, "\"$1\":\"*\"");
            (
                p.clone(),
                duration
                    .replace_all(&text, "\"duration_seconds\":*")
                    .into_owned(),
            )
        })
        .collect()
}

fn plan_at(options: &Options, at: &str) -> Result<Plan, AggregateError> {
    plan_aggregate(options, &FixedClock::new(ts(at)))
}

/// What a report shows of a plan: every fate, the queue changes, the counts, auto-merge.
fn report(p: &Plan) -> String {
    format!(
        "{:?}\n{:?}\n{:?} {} {}",
        p.recipes
            .iter()
            .map(|r| (&r.name, &r.fate))
            .collect::<Vec<_>>(),
        p.queue_changes,
        p.counts(),
        p.all_platforms_reported,
        p.auto_merge
    )
}

/// A `before_each` that fails the `k`-th step (0-based) as a full disk would, after leaving
/// the temporary file a killed `write_atomic` leaves beside its target, and counts the steps.
fn stop_at(k: usize, steps: &mut Vec<PathBuf>) -> impl FnMut(&Path) -> std::io::Result<()> + '_ {
    move |path: &Path| {
        steps.push(path.to_owned());
        if steps.len() - 1 == k {
            let dir = path.parent().unwrap();
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(dir.join(".batch-tmp-killed"), b"half a file").unwrap();
            return Err(std::io::Error::other("No space left on device"));
        }
        Ok(())
    }
}

#[test]
fn stopped_at_each_write_and_run_again_ends_as_one_uninterrupted_run() {
    // The reference: one uninterrupted run.
    let dir = tempfile::tempdir().unwrap();
    let options = inputs(dir.path(), fails);
    let reference_plan = plan_at(&options, FIRST).unwrap();
    let mut steps = Vec::new();
    {
        let each: &mut BeforeEach<'_> = &mut stop_at(usize::MAX, &mut steps);
        apply_with(&reference_plan, each).unwrap();
    }
    let reference = snapshot(dir.path());
    let body = std::str::from_utf8(
        &reference
            .iter()
            .find(|(p, _)| p == "pr/pr-body.md")
            .unwrap()
            .1,
    )
    .unwrap()
    .to_owned();
    // The fixture makes every kind of write happen, and the PR tells new from existing.
    assert!(
        body.contains("- **bravo**: `supported_os = [\"linux\"]`\n"),
        "{body}"
    );
    assert!(
        body.contains("- **charlie**: `supported_os = [\"linux\"]` (existing"),
        "{body}"
    );
    assert!(
        body.contains("- **delta**: failed on all platforms (darwin-arm64"),
        "{body}"
    );
    assert!(body.contains("- **echo**: contains run_command"), "{body}");
    assert!(
        body.contains("- **foxtrot**: ") && body.contains("not UTF-8"),
        "{body}"
    );
    let names: Vec<String> = steps
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "data/queues/priority-queue.json.aggregate-journal",
            "recipes/b/bravo.toml",
            "data/failures/batch-2026-12-01T08-00-00Z.jsonl",
            "data/metrics/batch-runs-2026-12-01T08-00-00Z.jsonl",
            "data/queues/priority-queue.json",
            "pr/pr-title.txt",
            "pr/pr-body.md",
            "pr/commit-message.txt",
            "recipes/d/delta.toml",
            "recipes/e/echo.toml",
            "recipes/f/foxtrot.toml",
            "data/queues/priority-queue.json.aggregate-journal",
        ]
    );
    assert!(!path_for(&options.queue).exists());

    for k in 0..steps.len() {
        let dir = tempfile::tempdir().unwrap();
        let options = inputs(dir.path(), fails);
        let pristine = snapshot(dir.path());
        let first = plan_at(&options, FIRST).unwrap();
        let mut seen = Vec::new();
        let err = apply_with(&first, &mut stop_at(k, &mut seen)).unwrap_err();
        assert!(
            matches!(
                err,
                AggregateError::Write { .. } | AggregateError::Delete { .. }
            ),
            "step {k}: {err}"
        );
        let stopped = snapshot(dir.path());
        assert_ne!(
            stopped, reference,
            "step {k}: the stop must leave work undone"
        );
        if k > 0 {
            assert!(
                path_for(&options.queue).exists(),
                "step {k}: the journal stays"
            );
        }
        // A dry run's plan after the interruption already tells what the batch changes.
        assert_eq!(
            report(&plan_at(&options, LATER).unwrap()),
            report(&reference_plan),
            "step {k}"
        );
        assert_eq!(
            snapshot(dir.path()),
            stopped,
            "step {k}: planning wrote something"
        );

        // Run again, later, as the error's hint says.
        let again = plan_at(&options, LATER).unwrap();
        let applied = apply_plan(&again).unwrap();
        let end = snapshot(dir.path());
        if k == 0 {
            // Stopped before the journal: nothing was written but a temporary file, and the
            // run again is a first run at its own time.
            assert_eq!(masked(&stopped[..]).len(), pristine.len() + 1, "step 0");
            assert_eq!(masked(&end), masked(&reference), "step 0");
            assert_ne!(end, reference, "step 0: the later clock shows");
        } else {
            // The journal's time is used again: every byte is the same, time stamps included.
            assert_same(&end, &reference, &format!("step {k}: {applied:?}"));
        }
        assert_eq!(report(&again), report(&reference_plan), "step {k}");
    }
}

/// The interrupted run constrained bravo and deleted delta; the results are then replaced by
/// ones in which both pass everywhere. The run again puts bravo's text, delta's file and
/// delta's queue entry back as they were before the batch: it ends as one uninterrupted run
/// of the new results on the tree the batch found.
#[test]
fn a_run_again_with_other_results_puts_back_what_the_batch_no_longer_changes() {
    fn only_charlie(recipe: &str, platform: &str) -> bool {
        recipe == "charlie" && platform.starts_with("darwin")
    }
    let dir = tempfile::tempdir().unwrap();
    let reference_options = inputs(dir.path(), only_charlie);
    apply_plan(&plan_at(&reference_options, FIRST).unwrap()).unwrap();
    let reference = snapshot(dir.path());

    let dir = tempfile::tempdir().unwrap();
    let options = inputs(dir.path(), fails);
    let first = plan_at(&options, FIRST).unwrap();
    // Stop at the removal of the journal: everything else is written.
    let mut seen = Vec::new();
    apply_with(&first, &mut stop_at(11, &mut seen)).unwrap_err();
    assert!(!options.output_dir.join("d/delta.toml").exists());
    results_matrix(&options, only_charlie);
    let again = plan_at(&options, LATER).unwrap();
    assert_eq!(again.recipes[1].fate, Fate::Included);
    assert_eq!(again.recipes[3].fate, Fate::Included);
    apply_plan(&again).unwrap();
    // The failure and metrics files of the first results are replaced (same names: the plan
    // time); the queue's unchanged entries and every recipe are as before the batch.
    assert_same(
        &snapshot(dir.path()),
        &reference,
        "run again with other results",
    );
}

#[test]
fn a_journal_of_another_batch_or_a_damaged_one_stops_the_run_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    let options = inputs(dir.path(), fails);
    let journal = path_for(&options.queue);
    let mut other = Before::new(&options, ts(FIRST));
    other.batch_id = "2026-11-30-all".into();
    std::fs::write(&journal, other.to_bytes().unwrap()).unwrap();
    let before = snapshot(dir.path());
    let err = plan_at(&options, LATER).unwrap_err();
    assert!(
        matches!(&err, AggregateError::JournalOtherBatch { batch_id, .. } if batch_id == "2026-11-30-all"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("interrupted aggregate of batch \"2026-11-30-all\"")
    );
    let mut later = Before::new(&options, ts(FIRST));
    later.planned_at = ts("2026-12-01T08:00:01Z");
    std::fs::write(&journal, later.to_bytes().unwrap()).unwrap();
    assert!(matches!(
        plan_at(&options, LATER),
        Err(AggregateError::JournalOtherBatch { .. })
    ));
    std::fs::write(&journal, b"{\"version\":1,").unwrap();
    assert!(matches!(
        plan_at(&options, LATER),
        Err(AggregateError::JournalCorrupt { .. })
    ));
    let mut v2 = Before::new(&options, ts(FIRST));
    v2.version = 2;
    std::fs::write(&journal, v2.to_bytes().unwrap()).unwrap();
    assert!(matches!(
        plan_at(&options, LATER),
        Err(AggregateError::JournalCorrupt { .. })
    ));
    // An entry the journal holds that left the queue.
    let mut gone = Before::new(&options, ts(FIRST));
    gone.keep_entry(3, &QueueEntry::new("zulu", "cargo:zulu", 1));
    std::fs::write(&journal, gone.to_bytes().unwrap()).unwrap();
    assert!(matches!(
        plan_at(&options, LATER),
        Err(AggregateError::JournalEntryMissing { name, .. }) if name == "zulu"
    ));
    std::fs::remove_file(&journal).unwrap();
    let mut without = before.clone();
    without.retain(|(p, _)| !p.ends_with(".aggregate-journal"));
    assert_eq!(snapshot(dir.path()), without, "nothing else was written");
}

#[test]
fn the_journal_reads_back_what_it_saved() {
    let dir = tempfile::tempdir().unwrap();
    let options = inputs(dir.path(), fails);
    let plan = plan_at(&options, FIRST).unwrap();
    let j = &plan.journal;
    assert_eq!(j.now, ts(FIRST));
    // bravo (text), delta, echo, foxtrot (bytes), failures and metrics (absent).
    let file = |rel: &str| j.file(&dir.path().join(rel)).cloned();
    assert_eq!(
        file("recipes/b/bravo.toml"),
        Some(Content::Text(PLAIN.replace("NAME", "bravo")))
    );
    assert_eq!(
        file("recipes/f/foxtrot.toml"),
        Some(Content::Bytes(b"[metadata]\nname = \"\xff\"\n".to_vec()))
    );
    assert_eq!(
        file("data/metrics/batch-runs-2026-12-01T08-00-00Z.jsonl"),
        Some(Content::Absent)
    );
    assert_eq!(file("recipes/c/charlie.toml"), None, "not changed");
    assert_eq!(j.files.len(), 6);
    let names: Vec<(&str, &Status)> = j
        .entries
        .iter()
        .map(|e| (e.entry.name.as_str(), &e.entry.status))
        .collect();
    assert_eq!(
        names,
        [
            ("delta", &Status::Success),
            ("echo", &Status::Success),
            ("foxtrot", &Status::Success)
        ]
    );
    assert!(matches!(
        &plan.recipes[5].fate,
        Fate::Excluded {
            cause: ExcludeCause::Gate,
            ..
        }
    ));
    let back: Before = serde_json::from_slice(&j.to_bytes().unwrap()).unwrap();
    assert_eq!(&back, j);
}
