//! End-to-end tests of [`crate::aggregate::plan()`] and [`crate::aggregate::apply()`] on temporary directories:
//! every fate, the queue kept consistent with the PR, idempotence, and bad inputs that must
//! write nothing.

use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::aggregate::error::AggregateError;
use crate::aggregate::plan::{ExcludeCause, Fate, Options, plan_aggregate};
use crate::aggregate::{Applied, apply_plan};
use crate::clock::FixedClock;
use crate::queue::{Queue, QueueEntry, Status};
use crate::validate::{Environment, ResultsFile, RowPlatform, RowStatus, ValidationRow};

const BATCH: &str = "2026-12-01-all";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    options: Options,
}

const PLAIN: &str = "[metadata]\nname = \"NAME\"\n\n[[steps]]\naction = \"homebrew\"\n";

/// `err` and its sources, joined by `: ` (what the binary prints as `error:` / `caused by:`).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    std::iter::successors(Some(err), |e| e.source())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn row(recipe: &str, platform: &str, status: RowStatus) -> ValidationRow {
    ValidationRow {
        recipe: recipe.into(),
        platform: RowPlatform::parse(platform).unwrap(),
        status,
        exit_code: Some(match status {
            RowStatus::Fail => 6,
            _ => 0,
        }),
        attempts: Some(1),
        blocked_by: Some(vec![]),
        timed_out: false,
        path: format!("{}/{recipe}.toml", &recipe[..1]),
        batch_id: BATCH.into(),
        environment: Environment::Validation,
        message: None,
        subcategory: None,
        verify_exit_code: None,
    }
}

use crate::validate::platform::DEFAULT_ROW_NAMES as ALL11;

impl Fixture {
    /// Recipes `(name, text)`; each recipe gets a `success` queue entry `cargo:<name>` and a
    /// generation row.
    fn new(recipes: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let options = Options {
            validation_dir: root.join("validation"),
            queue: root.join("data/queues/priority-queue.json"),
            output_dir: root.join("recipes"),
            failures_dir: root.join("data/failures"),
            metrics_dir: root.join("data/metrics"),
            pr_dir: root.join("pr"),
            batch_id: BATCH.into(),
            planned_at: "2026-12-01T08:00:00Z".parse().unwrap(),
        };
        let mut queue = Queue {
            schema_version: 1,
            ..Queue::default()
        };
        let mut gen_rows = Vec::new();
        for (name, text) in recipes {
            let path = options
                .output_dir
                .join(&name[..1])
                .join(format!("{name}.toml"));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text.replace("NAME", name)).unwrap();
            let mut e = QueueEntry::new(*name, format!("cargo:{name}"), 1);
            e.status = Status::Success;
            queue.entries.push(e);
            gen_rows.push(ValidationRow {
                environment: Environment::Generation,
                message: None,
                subcategory: None,
                verify_exit_code: None,
                ..row(name, "linux-debian-glibc-x86_64", RowStatus::Pass)
            });
        }
        queue.save(&options.queue, now()).unwrap();
        let f = Fixture {
            _dir: dir,
            root,
            options,
        };
        f.results("generation", gen_rows);
        f
    }

    fn results(&self, platform: &str, rows: Vec<ValidationRow>) {
        ResultsFile { rows }
            .write(
                &self
                    .options
                    .validation_dir
                    .join(format!("validation-results-{platform}.json")),
            )
            .unwrap();
    }

    /// One results file per job platform; `fails` lists `(recipe, platform)` that fail, every
    /// other (recipe, platform) of the 11 passes.
    fn matrix(&self, recipes: &[&str], fails: &[(&str, &str)]) {
        for (job, prefix) in [
            ("linux-x86_64", "x86_64"),
            ("linux-arm64", "arm64"),
            ("darwin-arm64", "darwin-arm64"),
            ("darwin-x86_64", "darwin-x86_64"),
        ] {
            let rows = recipes
                .iter()
                .flat_map(|r| {
                    ALL11
                        .iter()
                        .filter(|p| {
                            if prefix.starts_with("darwin") {
                                **p == prefix
                            } else {
                                p.starts_with("linux") && p.ends_with(prefix)
                            }
                        })
                        .map(move |p| {
                            let status = if fails.contains(&(*r, *p)) {
                                RowStatus::Fail
                            } else {
                                RowStatus::Pass
                            };
                            row(r, p, status)
                        })
                })
                .collect();
            self.results(job, rows);
        }
    }

    fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(&self.root).unwrap().display().to_string();
                    out.push((rel, std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    fn run(&self, at: &str) -> Result<Applied, AggregateError> {
        let clock = FixedClock::new(at.parse().unwrap());
        let p = plan_aggregate(&self.options, &clock)?;
        apply_plan(&p)
    }

    fn recipe(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.options.output_dir.join(rel)).ok()
    }

    fn status(&self, name: &str) -> (Status, i64) {
        let q = Queue::load(&self.options.queue).unwrap();
        let e = q.entries.iter().find(|e| e.name == name).unwrap();
        (e.status.clone(), e.failure_count)
    }
}

fn now() -> Timestamp {
    "2026-12-01T07:00:00Z".parse().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn every_fate_and_the_queue_follow_the_rows() {
    let f = Fixture::new(&[
        ("alpha", PLAIN),
        ("bravo", PLAIN),
        ("charlie", PLAIN),
        ("delta", PLAIN),
        (
            "echo",
            "[metadata]\nname = \"echo\"\n[[steps]]\naction = 'run_command'\n",
        ),
        ("foxtrot", PLAIN),
    ]);
    let all_fail: Vec<(&str, &str)> = ALL11.iter().map(|p| ("delta", *p)).collect();
    let mut fails = vec![
        ("bravo", "darwin-arm64"),
        ("bravo", "darwin-x86_64"),
        ("charlie", "linux-alpine-musl-x86_64"),
        ("charlie", "linux-alpine-musl-arm64"),
        ("echo", "darwin-arm64"),
    ];
    fails.extend(all_fail);
    // foxtrot has only its generation row: unvalidated.
    f.matrix(&["alpha", "bravo", "charlie", "delta", "echo"], &fails);
    let planned = plan_aggregate(
        &f.options,
        &FixedClock::new("2026-12-01T09:00:00Z".parse().unwrap()),
    )
    .unwrap();
    let fates: Vec<(&str, &Fate)> = planned
        .recipes
        .iter()
        .map(|r| (r.name.as_str(), &r.fate))
        .collect();
    assert_eq!(fates[0], ("alpha", &Fate::Included));
    assert!(
        matches!(fates[1].1, Fate::Constrained { line, existing: false, .. } if line == r#"supported_os = ["linux"]"#)
    );
    assert!(
        matches!(fates[2].1, Fate::Constrained { line, .. } if line == r#"supported_libc = ["glibc"]"#)
    );
    assert!(matches!(
        fates[3].1,
        Fate::Excluded {
            cause: ExcludeCause::FailedEverywhere,
            already: false,
            ..
        }
    ));
    assert!(
        matches!(fates[4].1, Fate::Excluded { cause: ExcludeCause::Gate, reason, .. } if reason.contains("steps[0].action"))
    );
    assert_eq!(fates[5], ("foxtrot", &Fate::Unvalidated));
    assert_eq!(planned.counts(), (4, 2, 2));
    assert!(planned.all_platforms_reported && !planned.auto_merge);

    f.run("2026-12-01T09:00:00Z").unwrap();
    assert_eq!(
        f.recipe("b/bravo.toml").unwrap(),
        "[metadata]\nname = \"bravo\"\nsupported_os = [\"linux\"]\n\n[[steps]]\naction = \"homebrew\"\n"
    );
    assert!(f.recipe("d/delta.toml").is_none() && f.recipe("e/echo.toml").is_none());
    assert_eq!(
        f.recipe("a/alpha.toml").unwrap(),
        PLAIN.replace("NAME", "alpha")
    );
    // Queue consistent with the PR: gate → excluded, failed everywhere → failed + backoff
    // counter, others untouched.
    assert_eq!(f.status("echo"), (Status::Excluded, 0));
    assert_eq!(f.status("delta"), (Status::Failed, 1));
    assert_eq!(f.status("alpha"), (Status::Success, 0));
    // Failure lines: bravo 2, charlie 2, delta 11; none for the gated echo.
    let failures = read(
        &f.options
            .failures_dir
            .join("batch-2026-12-01T08-00-00Z.jsonl"),
    );
    let count = |n: &str| {
        failures
            .lines()
            .filter(|l| l.contains(&format!("\"recipe\":\"{n}\"")))
            .count()
    };
    assert_eq!(
        (
            count("bravo"),
            count("charlie"),
            count("delta"),
            count("echo")
        ),
        (2, 2, 11, 0)
    );
    assert!(
        failures
            .lines()
            .all(|l| l.contains("\"package_id\":\"cargo:"))
    );
    let metrics = read(
        &f.options
            .metrics_dir
            .join("batch-runs-2026-12-01T08-00-00Z.jsonl"),
    );
    assert_eq!(metrics.lines().count(), 1);
    let m: serde_json::Value = serde_json::from_str(&metrics).unwrap();
    assert_eq!(
        (
            &m["merged"],
            &m["excluded"],
            &m["constrained"],
            &m["generated"],
            &m["total"]
        ),
        (&4.into(), &2.into(), &2.into(), &6.into(), &6.into())
    );
    assert_eq!(m["duration_seconds"], 3600);
    assert_eq!(m["platforms"]["linux-x86_64"]["tested"], 25);
    let body = read(&f.options.pr_dir.join("pr-body.md"));
    assert!(
        body.contains("Validated across 11 platform environments"),
        "{body}"
    );
    assert!(
        body.contains("- **delta**: failed on all platforms"),
        "{body}"
    );
    assert_eq!(
        read(&f.options.pr_dir.join("pr-title.txt")),
        "feat(recipes): add batch recipes (4 recipes)\n"
    );
}

#[test]
fn a_second_run_changes_nothing() {
    let f = Fixture::new(&[
        ("alpha", PLAIN),
        ("bravo", PLAIN),
        ("delta", PLAIN),
        ("echo", "[[steps]]\naction = \"run_command\"\n"),
    ]);
    let mut fails = vec![("bravo", "linux-arch-glibc-x86_64")];
    fails.extend(ALL11.iter().map(|p| ("delta", *p)));
    f.matrix(&["alpha", "bravo", "delta", "echo"], &fails);
    f.run("2026-12-01T09:00:00Z").unwrap();
    let first = f.snapshot();
    let applied = f.run("2026-12-01T10:30:00Z").unwrap();
    let second = f.snapshot();
    // Only the PR texts are rewritten; recipes, queue, failures and metrics are unchanged
    // (the metrics keep their first timestamp).
    let state = |s: &[(String, Vec<u8>)]| -> Vec<(String, Vec<u8>)> {
        s.iter()
            .filter(|(p, _)| !p.starts_with("pr/"))
            .cloned()
            .collect()
    };
    assert_eq!(state(&second), state(&first));
    assert!(applied.deleted.is_empty());
    assert!(
        applied
            .written
            .iter()
            .all(|p| p.starts_with(&f.options.pr_dir) || p.starts_with(&f.options.failures_dir)),
        "{applied:?}"
    );
    assert_eq!(f.status("delta"), (Status::Failed, 1));
    let body = read(&f.options.pr_dir.join("pr-body.md"));
    assert!(
        body.contains("**echo**: excluded by an earlier aggregate"),
        "{body}"
    );
    assert!(
        body.contains("**bravo**: `unsupported_platforms = [\"linux/arch/amd64\"]` (existing"),
        "{body}"
    );
}

#[test]
fn bad_inputs_write_nothing() {
    type Break = fn(&Fixture);
    let cases: Vec<(&str, Break, &str)> = vec![
        (
            "not json",
            |f| {
                std::fs::write(
                    f.options
                        .validation_dir
                        .join("validation-results-darwin-arm64.json"),
                    "nope",
                )
                .unwrap()
            },
            "not a validation results file",
        ),
        (
            "other batch",
            |f| {
                f.results(
                    "darwin-arm64",
                    vec![ValidationRow {
                        batch_id: "2026-11-30-all".into(),
                        ..row("alpha", "darwin-arm64", RowStatus::Pass)
                    }],
                )
            },
            "belongs to batch",
        ),
        (
            "not in batch",
            |f| {
                f.results(
                    "darwin-arm64",
                    vec![row("zulu", "darwin-arm64", RowStatus::Pass)],
                )
            },
            "not in the batch",
        ),
        (
            "path escapes",
            |f| {
                f.results(
                    "darwin-arm64",
                    vec![ValidationRow {
                        path: "../a/alpha.toml".into(),
                        ..row("alpha", "darwin-arm64", RowStatus::Pass)
                    }],
                )
            },
            "is refused",
        ),
        (
            "missing recipe",
            |f| std::fs::remove_file(f.options.output_dir.join("a/alpha.toml")).unwrap(),
            "does not exist",
        ),
        (
            "no results",
            |f| {
                std::fs::remove_dir_all(&f.options.validation_dir)
                    .map(|_| std::fs::create_dir(&f.options.validation_dir).unwrap())
                    .unwrap()
            },
            "no validation-results",
        ),
        (
            "metadata not a table",
            |f| {
                std::fs::write(f.options.output_dir.join("a/alpha.toml"), "metadata = 1\n").unwrap()
            },
            "constraint",
        ),
    ];
    for (what, breaker, needle) in cases {
        let f = Fixture::new(&[("alpha", PLAIN)]);
        f.matrix(&["alpha"], &[("alpha", "linux-rhel-glibc-arm64")]);
        breaker(&f);
        let before = f.snapshot();
        let err = f.run("2026-12-01T09:00:00Z").unwrap_err();
        assert!(chain(&err).contains(needle), "{what}: {err}");
        assert_eq!(f.snapshot(), before, "{what}: something was written");
    }
}

#[cfg(unix)]
#[test]
fn a_symlinked_recipe_is_refused() {
    let f = Fixture::new(&[("alpha", PLAIN)]);
    f.matrix(&["alpha"], &[]);
    let target = f.root.join("outside.toml");
    std::fs::write(&target, PLAIN).unwrap();
    let link = f.options.output_dir.join("a/alpha.toml");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let err = f.run("2026-12-01T09:00:00Z").unwrap_err();
    assert!(
        matches!(err, AggregateError::NotARegularFile { .. }),
        "{err}"
    );
}

#[test]
fn nothing_failed_everything_reported_auto_merges_and_writes_no_failure_file() {
    let f = Fixture::new(&[("alpha", PLAIN)]);
    f.matrix(&["alpha"], &[]);
    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    assert!(p.auto_merge && p.failures.is_empty());
    apply_plan(&p).unwrap();
    assert!(!f.options.failures_dir.exists());
    // A platform without rows → no auto-merge.
    f.results("darwin-x86_64", vec![]);
    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    assert!(!p.all_platforms_reported && !p.auto_merge);
}

#[test]
fn an_unvalidated_recipe_withholds_auto_merge() {
    let f = Fixture::new(&[("alpha", PLAIN), ("bravo", PLAIN)]);
    f.matrix(&["alpha"], &[]);
    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    assert!(p.all_platforms_reported && !p.auto_merge);
    assert_eq!(p.recipes[1].fate, Fate::Unvalidated);
}

#[test]
fn a_recipe_that_is_not_utf8_fails_the_gate() {
    let f = Fixture::new(&[("alpha", PLAIN)]);
    f.matrix(&["alpha"], &[]);
    std::fs::write(
        f.options.output_dir.join("a/alpha.toml"),
        b"[metadata]\nname = \"\xff\"\n",
    )
    .unwrap();
    let p = plan_aggregate(&f.options, &FixedClock::new(now())).unwrap();
    assert!(
        matches!(&p.recipes[0].fate, Fate::Excluded { cause: ExcludeCause::Gate, reason, .. } if reason.contains("not UTF-8")),
        "{:?}",
        p.recipes[0].fate
    );
}

/// Issue #22: platforms whose results are incomplete.
mod incomplete;
