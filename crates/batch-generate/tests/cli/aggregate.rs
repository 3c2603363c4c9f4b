//! `aggregate` (issue #13, spec §7.3.1–§7.3.6): every branch of spec §7.3.3 in one table, the
//! security gate on each way of writing `run_command`, queue consistency for excluded
//! recipes, idempotence, bad inputs and dry runs that write nothing, `$GITHUB_OUTPUT`, and
//! the whole `recipes-sample` of real tsuku recipes.

use std::path::PathBuf;

use batch::validate::{Environment, ResultsFile, RowPlatform, RowStatus, ValidationRow};
use batch_generate::exit;
use serde_json::Value;

use crate::util::{Sandbox, With, entry, run_cmd, sandbox, snapshot_except, snapshot_tree};

const BATCH: &str = "2026-12-01-all";
const PLANNED_AT: &str = "2026-12-01T08:00:00Z";
/// The run lock's file: it stays after a run (as for every command that takes the lock) and
/// holds the last holder's pid, so it is left out of "nothing written" comparisons.
pub(crate) const LOCK: &str = "queue.json.lock";
pub(crate) const PLAIN: &str = "[metadata]\nname = \"NAME\"\n\n[[steps]]\naction = \"homebrew\"\n";

use batch::validate::platform::DEFAULT_ROW_NAMES as ALL11;

/// Issue #22: incomplete platforms and failure reasons (a child, to share [`Batch`]).
#[path = "aggregate_incomplete.rs"]
mod incomplete;

/// Issue #22 "Done when": `validate` with the fake, then `aggregate` (a child, to share
/// [`Batch`]).
#[path = "validate_to_aggregate.rs"]
mod validate_to_aggregate;

fn rel(name: &str) -> String {
    format!("{}/{name}.toml", &name[..1])
}

fn row(recipe: &str, platform: &str, status: RowStatus) -> ValidationRow {
    ValidationRow {
        recipe: recipe.into(),
        platform: RowPlatform::parse(platform).unwrap(),
        status,
        exit_code: Some(if status == RowStatus::Fail { 6 } else { 0 }),
        attempts: Some(1),
        blocked_by: Some(vec![]),
        timed_out: false,
        path: rel(recipe),
        batch_id: BATCH.into(),
        environment: Environment::Validation,
        message: None,
        subcategory: None,
        verify_exit_code: None,
    }
}

/// A batch in a sandbox: recipes `(name, text)` with `success` queue entries `npm:<name>`,
/// a generation results file, and one results file per job platform in which the listed
/// `(recipe, platform)` pairs fail and all others pass.
pub(crate) struct Batch {
    pub(crate) sb: Sandbox,
    validation: PathBuf,
}

impl Batch {
    pub(crate) fn new(recipes: &[(&str, String)], fails: &[(&str, &str)]) -> Batch {
        let entries: Vec<Value> = recipes
            .iter()
            .map(|(n, _)| entry(n, &format!("npm:{n}"), 1).with("status", "success"))
            .collect();
        let sb = sandbox().queue(&entries);
        let validation = sb.root.join("validation");
        let b = Batch { sb, validation };
        let mut gen_rows = Vec::new();
        for (name, text) in recipes {
            let p = b.sb.output.join(rel(name));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text.replace("NAME", name)).unwrap();
            gen_rows.push(ValidationRow {
                environment: Environment::Generation,
                message: None,
                subcategory: None,
                verify_exit_code: None,
                ..row(name, "linux-debian-glibc-x86_64", RowStatus::Pass)
            });
        }
        b.results("generation", gen_rows);
        let names: Vec<&str> = recipes.iter().map(|(n, _)| *n).collect();
        for (job, keep) in [
            ("linux-x86_64", "linux-*-x86_64"),
            ("linux-arm64", "linux-*-arm64"),
            ("darwin-arm64", "darwin-arm64"),
            ("darwin-x86_64", "darwin-x86_64"),
        ] {
            let rows = names
                .iter()
                .flat_map(|r| {
                    ALL11
                        .iter()
                        .filter(move |p| matches(p, keep))
                        .map(move |p| {
                            let s = if fails.contains(&(*r, *p)) {
                                RowStatus::Fail
                            } else {
                                RowStatus::Pass
                            };
                            row(r, p, s)
                        })
                })
                .collect();
            b.results(job, rows);
        }
        b
    }

    fn results(&self, platform: &str, rows: Vec<ValidationRow>) {
        ResultsFile { rows }
            .write(
                &self
                    .validation
                    .join(format!("validation-results-{platform}.json")),
            )
            .unwrap();
    }

    pub(crate) fn run(&self, extra: &[&str]) -> crate::util::Out {
        self.run_env(extra, &[])
    }

    fn run_env(&self, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> crate::util::Out {
        let mut cmd = self.sb.aggregate_cmd(&self.validation);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(["--batch-id", BATCH, "--planned-at", PLANNED_AT])
            .args(extra);
        run_cmd(&mut cmd)
    }

    fn recipe(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.sb.output.join(rel(name))).ok()
    }

    fn entry(&self, name: &str) -> Value {
        let q: Value = serde_json::from_slice(&std::fs::read(&self.sb.queue).unwrap()).unwrap();
        q["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap()
            .clone()
    }

    pub(crate) fn pr_body(&self) -> String {
        std::fs::read_to_string(self.sb.root.join("pr/pr-body.md")).unwrap()
    }
}

fn matches(p: &str, pattern: &str) -> bool {
    match pattern.split_once('*') {
        Some((a, b)) => p.starts_with(a) && p.ends_with(b),
        None => p == pattern,
    }
}

pub(crate) fn plain() -> String {
    PLAIN.to_owned()
}

/// Every branch of spec §7.3.3 (with §8.3 scenario 108), one recipe per row of the table.
#[test]
fn every_branch_of_spec_7_3_3() {
    let linux: Vec<&str> = ALL11[..9].to_vec();
    let arm: Vec<&str> = ALL11
        .iter()
        .copied()
        .filter(|p| p.starts_with("linux") && p.ends_with("arm64"))
        .collect();
    #[rustfmt::skip]
    let table: Vec<(&str, Vec<&str>, Option<&str>)> = vec![
        ("alldarwin", vec!["darwin-arm64", "darwin-x86_64"], Some(r#"supported_os = ["linux"]"#)),
        ("darwinwins", vec!["darwin-arm64", "darwin-x86_64", "linux-alpine-musl-arm64"], Some(r#"supported_os = ["linux"]"#)),
        ("alllinux", linux, Some(r#"supported_os = ["darwin"]"#)),
        ("musl", vec!["linux-alpine-musl-x86_64", "linux-alpine-musl-arm64"], Some(r#"supported_libc = ["glibc"]"#)),
        ("armall", arm, Some(r#"unsupported_platforms = ["linux/arm64"]"#)),
        ("archonly", vec!["linux-arch-glibc-x86_64"], Some(r#"unsupported_platforms = ["linux/arch/amd64"]"#)),
        ("debboth", vec!["linux-debian-glibc-x86_64", "linux-debian-glibc-arm64"], Some(r#"unsupported_platforms = ["linux/debian"]"#)),
        ("rhelarm", vec!["linux-rhel-glibc-arm64"], Some(r#"unsupported_platforms = ["linux/rhel/arm64"]"#)),
        ("macintel", vec!["darwin-x86_64", "linux-suse-glibc-x86_64"], Some(r#"unsupported_platforms = ["linux/suse/amd64", "darwin/amd64"]"#)),
        ("clean", vec![], None),
    ];
    let mut recipes: Vec<(&str, String)> = table.iter().map(|(n, _, _)| (*n, plain())).collect();
    // §8.3 scenario 108: the recipe already has supported_os → no change.
    recipes.push((
        "keep",
        "[metadata]\nname = \"keep\"\nsupported_os = [\"linux\"]\n".into(),
    ));
    let mut fails: Vec<(&str, &str)> = table
        .iter()
        .flat_map(|(n, f, _)| f.iter().map(move |p| (*n, *p)))
        .collect();
    fails.extend([("keep", "darwin-arm64"), ("keep", "darwin-x86_64")]);
    let b = Batch::new(&recipes, &fails);
    let keep_before = b.recipe("keep").unwrap();
    let out = b.run(&["--json"]);
    out.ok();
    for (name, _, want) in &table {
        let text = b.recipe(name).unwrap();
        match want {
            Some(line) => assert_eq!(
                text,
                format!(
                    "[metadata]\nname = \"{name}\"\n{line}\n\n[[steps]]\naction = \"homebrew\"\n"
                ),
                "{name}"
            ),
            None => assert_eq!(text, PLAIN.replace("NAME", name), "{name}"),
        }
    }
    assert_eq!(b.recipe("keep").unwrap(), keep_before);
    let doc = out.json();
    assert_eq!(
        (
            doc["included"].as_u64(),
            doc["excluded"].as_u64(),
            doc["constrained"].as_u64()
        ),
        (Some(11), Some(0), Some(10))
    );
    assert_eq!(doc["auto_merge"], true);
    let body = b.pr_body();
    insta::assert_snapshot!("every_branch_pr_body", body);
    assert!(
        body.contains(
            "- **keep**: `supported_os = [\"linux\"]` (existing constraint, left unchanged)"
        ),
        "{body}"
    );
    assert!(
        body.contains("- **archonly**: `unsupported_platforms = [\"linux/arch/amd64\"]`\n"),
        "{body}"
    );
    assert!(body.contains("Validated across 11 platform environments (5 Linux x86_64 families, 4 Linux arm64 families, 2 macOS)."), "{body}");
}

/// The gate on each way of writing run_command (§8.3 scenario 109): deleted, excluded with
/// the reason, entry `excluded`, no failure lines; a comment is not an action.
#[test]
fn the_gate_catches_every_spelling() {
    let steps = |s: &str| format!("[metadata]\nname = \"NAME\"\n\n{s}\n");
    let recipes: Vec<(&str, String)> = vec![
        ("basic", steps("[[steps]]\naction = \"run_command\"")),
        ("single", steps("[[steps]]\naction = 'run_command'")),
        (
            "escaped",
            steps("[[steps]]\naction = \"run\\u005Fcommand\""),
        ),
        (
            "multiline",
            steps("[[steps]]\naction = \"\"\"\nrun_command\"\"\""),
        ),
        (
            "inline",
            steps("steps = [{ action = \"run_command\", command = \"x\" }]"),
        ),
        (
            "nested",
            steps("[extra.deep.table]\naction = \"run_command\""),
        ),
        (
            "dotted",
            steps("[[steps]]\nwhen.os = [\"linux\"]\nsub.action = \"run_command\""),
        ),
        ("broken", "[metadata\nname = \"broken\"\n".into()),
        (
            "comment",
            steps("# action = \"run_command\"\n[[steps]]\naction = \"homebrew\" # not run_command"),
        ),
    ];
    let b = Batch::new(&recipes, &[("basic", "darwin-arm64")]);
    let out = b.run(&["--json"]);
    out.ok();
    let doc = out.json();
    for (name, _) in &recipes[..8] {
        assert!(b.recipe(name).is_none(), "{name} was kept");
        assert_eq!(b.entry(name)["status"], "excluded", "{name}");
        let r = doc["recipes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == *name)
            .unwrap();
        assert_eq!(r["cause"], "gate", "{name}");
    }
    assert!(b.recipe("comment").is_some());
    assert_eq!(b.entry("comment")["status"], "success");
    assert_eq!(doc["failure_lines"], 0, "the gate writes no failure lines");
    assert!(!b.sb.failures.exists());
    let body = b.pr_body();
    assert!(
        body.contains(
            "- **single**: contains run_command action at steps[0].action (security gate)"
        ),
        "{body}"
    );
    assert!(
        body.contains("- **broken**: does not parse as TOML (security gate)"),
        "{body}"
    );
    assert!(
        body.contains("- **dotted**: contains run_command action at steps[0].sub.action"),
        "{body}"
    );
}

/// Failing everywhere excludes for real (the generation row does not count), with the run's
/// backoff and failure records carrying the ecosystem; auto-merge is off.
#[test]
fn failed_everywhere_is_excluded_and_the_queue_follows() {
    let fails: Vec<(&str, &str)> = ALL11.iter().map(|p| ("dead", *p)).collect();
    let b = Batch::new(&[("dead", plain()), ("fine", plain())], &fails);
    // One earlier failure: the new count is 2 → 24 h backoff (spec §4.7).
    let mut q: Value = serde_json::from_slice(&std::fs::read(&b.sb.queue).unwrap()).unwrap();
    q["entries"][0]["failure_count"] = 1.into();
    std::fs::write(&b.sb.queue, serde_json::to_vec_pretty(&q).unwrap()).unwrap();
    let gh = b.sb.root.join("gh-output");
    let summary = b.sb.root.join("step-summary");
    let out = b.run_env(
        &[],
        &[
            ("GITHUB_OUTPUT", gh.as_os_str()),
            ("GITHUB_STEP_SUMMARY", summary.as_os_str()),
        ],
    );
    out.ok();
    assert!(b.recipe("dead").is_none());
    let e = b.entry("dead");
    assert_eq!(
        (e["status"].as_str(), e["failure_count"].as_i64()),
        (Some("failed"), Some(2))
    );
    let retry: jiff::Timestamp = e["next_retry_at"].as_str().unwrap().parse().unwrap();
    let hours = (retry.as_second() - jiff::Timestamp::now().as_second()) as f64 / 3600.0;
    assert!((23.5..=24.1).contains(&hours), "{hours}");
    let lines =
        std::fs::read_to_string(b.sb.failures.join("batch-2026-12-01T08-00-00Z.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 11);
    let first: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(
        (first["ecosystem"].as_str(), first["package_id"].as_str()),
        (Some("npm"), Some("npm:dead"))
    );
    assert_eq!(first["category"], "generation_failed");
    let gh = std::fs::read_to_string(&gh).unwrap();
    assert_eq!(
        gh,
        "included=1\nexcluded=1\nconstrained=0\nall_platforms_reported=true\nauto_merge=false\n"
    );
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), b.pr_body());
    let metrics = std::fs::read_to_string(
        b.sb.root
            .join("metrics/batch-runs-2026-12-01T08-00-00Z.jsonl"),
    )
    .unwrap();
    assert_eq!(metrics.lines().count(), 1, "one compact line");
    let m: Value = serde_json::from_str(&metrics).unwrap();
    assert_eq!(
        (
            m["merged"].as_u64(),
            m["excluded"].as_u64(),
            m["ecosystems"]["npm"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
}

#[test]
fn a_second_run_changes_nothing_and_a_dry_run_writes_nothing() {
    let fails = [("part", "linux-rhel-glibc-arm64"), ("gone", "darwin-arm64")];
    let mut recipes = vec![("part", plain()), ("ok", plain())];
    recipes.push(("gone", "[[steps]]\naction = 'run_command'\n".into()));
    let b = Batch::new(&recipes, &fails);
    let before = snapshot_tree(&b.sb.root);
    let out = b.run(&["--dry-run"]);
    out.ok();
    assert_eq!(
        snapshot_tree(&b.sb.root),
        before,
        "a dry run writes nothing"
    );
    assert!(
        out.stdout.contains("Dry run: nothing was written."),
        "{}",
        out.ctx()
    );
    assert!(
        out.stdout
            .contains("excluded    g/gone.toml: contains run_command"),
        "{}",
        out.ctx()
    );

    b.run(&[]).ok();
    let first = snapshot_except(&b.sb.root, &["pr", "cwd", LOCK]);
    let out = b.run(&["--json"]);
    out.ok();
    assert_eq!(
        snapshot_except(&b.sb.root, &["pr", "cwd", LOCK]),
        first,
        "second run changed state"
    );
    let doc = out.json();
    assert_eq!(doc["deleted"], serde_json::json!([]));
    assert_eq!(doc["queue_changes"], serde_json::json!([]));
    assert_eq!(
        (doc["included"].as_u64(), doc["excluded"].as_u64()),
        (Some(2), Some(1))
    );
}

/// Bad input: a clear error (exit 1) naming the file, and nothing written.
#[test]
fn bad_inputs_write_nothing() {
    type Break = fn(&Batch);
    #[rustfmt::skip]
    let cases: Vec<(&str, Break, &str)> = vec![
        ("not JSON", |b| std::fs::write(b.validation.join("validation-results-darwin-arm64.json"), "{oops").unwrap(), "validation-results-darwin-arm64.json:1:"),
        ("another batch", |b| b.results("darwin-arm64", vec![ValidationRow { batch_id: "2026-11-30-all".into(), ..row("one", "darwin-arm64", RowStatus::Pass) }]), "belongs to batch \"2026-11-30-all\""),
        ("not in the batch", |b| b.results("darwin-arm64", vec![row("other", "darwin-arm64", RowStatus::Pass)]), "not in the batch"),
        ("path leaves the dir", |b| b.results("darwin-arm64", vec![ValidationRow { path: "../../one.toml".into(), ..row("one", "darwin-arm64", RowStatus::Fail) }]), "is refused"),
    ];
    for (what, breaker, needle) in cases {
        let b = Batch::new(&[("one", plain())], &[("one", "darwin-arm64")]);
        breaker(&b);
        let before = snapshot_except(&b.sb.root, &[LOCK]);
        let out = b.run(&[]);
        out.code(exit::FAILURE);
        assert!(out.stderr.contains(needle), "{what}: {}", out.ctx());
        assert!(
            out.stderr.contains("hint:") && out.stderr.contains("nothing was written"),
            "{what}: {}",
            out.ctx()
        );
        assert_eq!(
            snapshot_except(&b.sb.root, &[LOCK]),
            before,
            "{what}: something was written"
        );
    }
}

fn samples() -> PathBuf {
    crate::util::real_data("recipes-sample")
}

/// `aggregate` over all 74 real recipes of the sample (read in place, copied into the
/// sandbox): every recipe keeps its bytes, gains exactly one constraint line, or (the
/// run_command recipe) is deleted by the gate; everything left parses.
#[test]
fn the_real_sample_keeps_its_bytes_or_gains_one_line() {
    let mut recipes: Vec<(String, String)> = Vec::new();
    for letter in std::fs::read_dir(samples()).unwrap() {
        let letter = letter.unwrap().path();
        if !letter.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&letter).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "toml") {
                let name = f.file_stem().unwrap().to_str().unwrap().to_owned();
                recipes.push((name, std::fs::read_to_string(&f).unwrap()));
            }
        }
    }
    recipes.sort();
    assert_eq!(recipes.len(), 74);
    // Cycle through the constraint kinds.
    let patterns: [&[&str]; 4] = [
        &["darwin-arm64", "darwin-x86_64"],
        &["linux-alpine-musl-x86_64", "linux-alpine-musl-arm64"],
        &["linux-arch-glibc-x86_64"],
        &[],
    ];
    let mut fails: Vec<(&str, &str)> = Vec::new();
    for (i, (name, _)) in recipes.iter().enumerate() {
        fails.extend(patterns[i % 4].iter().map(|p| (name.as_str(), *p)));
    }
    let refs: Vec<(&str, String)> = recipes
        .iter()
        .map(|(n, t)| (n.as_str(), t.clone()))
        .collect();
    let b = Batch::new(&refs, &fails);
    b.run(&[]).ok();
    let mut gained = 0;
    for (name, old) in &recipes {
        let Some(new) = b.recipe(name) else {
            assert!(
                batch::gate::check(old).is_err(),
                "{name} deleted but passes the gate"
            );
            assert_eq!(b.entry(name)["status"], "excluded");
            continue;
        };
        new.parse::<toml_edit::DocumentMut>()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if new == *old {
            continue;
        }
        gained += 1;
        let (o, n): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        assert_eq!(n.len(), o.len() + 1, "{name}");
        let at = o
            .iter()
            .zip(&n)
            .position(|(a, b)| a != b)
            .unwrap_or(o.len());
        assert_eq!(&n[..at], &o[..at], "{name}");
        assert_eq!(&n[at + 1..], &o[at..], "{name}");
        let line = n[at].trim();
        assert!(
            line.starts_with("supported_os = ")
                || line.starts_with("supported_libc = ")
                || line.starts_with("unsupported_platforms = "),
            "{name}: {line}"
        );
    }
    assert!(gained > 30, "{gained}");
    assert!(b.recipe("pipx").is_none(), "pipx has run_command steps");
}

/// Another run holding the queue's lock: exit 3, nothing read or written.
#[test]
fn the_queue_lock_is_honoured() {
    let b = Batch::new(&[("one", plain())], &[("one", "darwin-arm64")]);
    let lock = batch::lock::RunLock::acquire(&b.sb.queue).unwrap();
    let before = snapshot_tree(&b.sb.root);
    let out = b.run(&[]);
    out.code(exit::LOCKED);
    assert_eq!(snapshot_tree(&b.sb.root), before);
    drop(lock);
    b.run(&[]).ok();
}
