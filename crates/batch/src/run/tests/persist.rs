//! Persist tests, the production sequence (`MainRun`) and per-process
//! events.

use super::*;

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
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();

    let fd = &env.config.failures_dir;
    let stamp = "2026-06-01T12-00-00Z";
    let hb = fd.join(format!("homebrew-{stamp}.jsonl"));
    let cargo = fd.join(format!("cargo-{stamp}.jsonl"));
    let odd = fd.join(format!("odd-{stamp}.jsonl"));
    // Records first, then results, control file and summary, then the queue that refers to
    // them, last (issue #4 order; one order for run, recovery and merge, issue #21).
    assert_eq!(
        report.files_written,
        vec![
            cargo.clone(),
            hb.clone(),
            odd.clone(),
            env.config.results.clone(),
            env.config.control_file.clone(),
            env.config.summary.clone(),
            env.config.queue.clone(),
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
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
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
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
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
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
    assert!(fd.join(format!("homebrew-{stamp}-3.jsonl")).exists());
}

/// The one persistence order (docs/RELIABILITY.md, issue #21): breakers journaled, failure
/// files, results, control file, summary, queue, journal removed. A write that fails at step
/// k leaves the files of the steps before it written, those after it unwritten (the queue as
/// the batch found it), and the journal in place with its breakers line.
#[tokio::test(start_paused = true)]
async fn a_failed_write_keeps_the_earlier_files_and_the_journal() {
    use crate::run::journal::{self, Journal, Line};
    // The files in the order they are written; the summary's failure is only a warning, so
    // it cannot be a failing step.
    let steps = ["failures", "results", "control", "queue"];
    for (k, step) in steps.iter().enumerate() {
        let env = env(vec![
            entry("jq", "homebrew:jq"),
            entry("serde", "cargo:serde"),
            entry("ok", "npm:ok"),
        ]);
        let c = FixedClock::new(ts("2026-06-01T12:00:00Z"));
        let (mut planned, _, mut report) = exec(&env, &persist_runner(), &c).await;
        let cfg = &env.config;
        let queue_before = std::fs::read(&cfg.queue).unwrap();
        // Something in the way of step k: a file where the failures directory goes, a
        // non-empty directory where a file is renamed to.
        let block = |path: &Path| {
            let _ = std::fs::remove_file(path);
            std::fs::create_dir_all(path.join("in-the-way")).unwrap();
        };
        match *step {
            "failures" => std::fs::write(&cfg.failures_dir, "").unwrap(),
            "results" => block(&cfg.results),
            "control" => block(&cfg.control_file),
            _ => block(&cfg.queue),
        }
        let jpath = journal::path_for(&cfg.queue);
        let mut j = Journal::create(&jpath, Rfc3339::utc(planned.started)).unwrap();
        let err = save_run_with(&mut planned, &mut report, cfg, &c, Some(&mut j));
        assert!(err.is_err(), "{step}: the write must fail");

        let written = |s: &str| match s {
            "failures" => {
                cfg.failures_dir.is_dir() && cfg.failures_dir.read_dir().unwrap().count() == 2
            }
            "results" => cfg.results.is_file(),
            "control" => cfg.control_file.is_file(),
            "summary" => cfg.summary.is_file(),
            _ => std::fs::read(&cfg.queue)
                .ok()
                .is_some_and(|b| b != queue_before),
        };
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(written(s), i < k, "step {step}: file {s}");
        }
        assert_eq!(
            written("summary"),
            k == 3,
            "step {step}: the summary comes before the queue"
        );
        if k < 3 {
            assert_eq!(std::fs::read(&cfg.queue).unwrap(), queue_before, "{step}");
        }
        let lines = journal::read(&jpath).unwrap().expect("the journal is kept");
        assert!(
            matches!(lines.last(), Some(Line::Breakers { breakers }) if breakers.len() == 2),
            "{step}: breakers journaled before any file: {lines:?}"
        );
    }
}

/// `--validation-out` (issue #13): the finished run makes its generation rows itself, one
/// `pass` row per entry that generated and installed a recipe, in selection order, named with
/// the batch ID; a failed entry has none.
#[tokio::test(start_paused = true)]
async fn a_finished_batch_makes_its_generation_rows() {
    use crate::sequence::{Finished, MainRun};
    use crate::validate::results::{Environment, RowStatus};
    let env = env(vec![
        entry("jq", "homebrew:jq"),
        entry("ok", "npm:ok"),
        entry("Owner/tap/x", "homebrew:Owner/tap/x"),
    ]);
    let runner = persist_runner();
    let c = clock();
    let finished = MainRun::new(&env.config, &Tsuku::for_run(&env.config), &runner, &c)
        .run()
        .await
        .unwrap();
    assert!(matches!(finished, Finished::Batch { .. }));
    match crate::validate::host_platform() {
        Some(platform) => {
            let rows = finished
                .generation_rows()
                .unwrap()
                .expect("a batch has rows");
            let got: Vec<(&str, &str, &str)> = rows
                .rows
                .iter()
                .map(|r| (r.recipe.as_str(), r.path.as_str(), r.batch_id.as_str()))
                .collect();
            assert_eq!(
                got,
                [
                    ("ok", "o/ok.toml", "2026-06-01"),
                    ("x", "o/Owner/tap/x.toml", "2026-06-01")
                ]
            );
            assert!(rows.rows.iter().all(|r| r.platform == platform
                && r.status == RowStatus::Pass
                && r.environment == Environment::Generation));
        }
        None => assert!(finished.generation_rows().is_err()),
    }
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
            env.config.summary.clone(),
            env.config.queue.clone()
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
    let planned = super::load_plan(&env.config, &c).unwrap();
    execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &runner,
        &c,
        &on,
    )
    .await;
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
