//! Execution tests: a spawn failure halts the run; batch-level breaker updates in `apply`
//! (spec §6.4–§6.5).

use super::*;

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
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
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
    let mut planned = super::load_plan(&env.config, &c).unwrap();
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
    let mut report = apply_results(&mut planned, &results, &env.config, &c);
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

    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
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
