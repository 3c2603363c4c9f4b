//! Resumed runs, journaling before the next result, graceful stops, and journal write
//! failures (issue #4).

use super::*;

// ---------------------------------------------------------------------------------------------
// 6. Resumed run
// ---------------------------------------------------------------------------------------------

/// The crashed run finished a (failed once: failed, failure_count 1, no backoff, so eligible
/// again) and b (success); c hung. The resumed `run` applies a and b, does not run them again,
/// and runs c.
#[tokio::test(start_paused = true)]
async fn resumed_run_does_not_rerun_recovered_entries() {
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "cargo:b"),
        entry("c", "go:c"),
    ]);
    let c = &env.config;
    let crashing = fake(|step, name| match (name, step) {
        ("a", "create") => Act::Exit(6, "boom", Duration::ZERO),
        ("c", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &crashing, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    let a = outcomes(&lines)
        .into_iter()
        .find(|o| o.name == "a")
        .unwrap();
    assert_eq!(
        (a.status.as_str(), a.failure_count, a.next_retry_at),
        ("failed", 1, None)
    );
    assert_eq!(outcomes(&lines).len(), 2);

    let later = FixedClock::new(ts(T1));
    let runner = ScriptedRunner::ok();
    let (planned, report) = run(c, &runner, &later, &noop).await.unwrap();
    assert_eq!(runner.names("create"), ["c"], "{:?}", runner.calls());
    assert_eq!(runner.names("install"), ["c"]);
    let selected: Vec<usize> = planned
        .selection
        .candidates
        .iter()
        .map(|x| x.index)
        .collect();
    assert_eq!(selected, [2]);
    assert_eq!(report.results.total, 1);
    assert!(!journal_path(c).exists());

    let q = load_queue(c);
    let state: Vec<(&str, i64)> = q
        .entries
        .iter()
        .map(|e| (e.status.as_str(), e.failure_count))
        .collect();
    assert_eq!(state, [("failed", 1), ("success", 0), ("success", 0)]);
    let files = failure_files(c);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        [format!("npm-{T0_STAMP}.jsonl")],
        "the recovered failure is recorded under the crashed run's stamp"
    );

    // a really is eligible now: only the journal kept the resumed run from re-running it.
    let again = super::load_plan(c, &later).unwrap();
    assert!(
        again.selection.candidates.iter().any(|x| x.index == 0),
        "{:?}",
        again.selection
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Journal before the next result
// ---------------------------------------------------------------------------------------------

/// With jobs = 2, a finishes at once while b's generator never returns: the journal already
/// holds a's outcome while execution is still pending.
#[tokio::test(start_paused = true)]
async fn outcome_is_journaled_while_other_candidates_still_run() {
    let mut env = env(vec![entry("a", "npm:a"), entry("b", "cargo:b")]);
    env.config.jobs = 2;
    let c = &env.config;
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|step, name| match (name, step) {
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let planned = super::load_plan(c, &clock).unwrap();
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: None,
        deadline: None,
    };
    let tsuku = Tsuku::for_run(c);
    let fut = execute_plan_with(&planned, c, &tsuku, &runner, &clock, &noop, opts);
    tokio::pin!(fut);
    tokio::select! {
        r = &mut fut => panic!("b never finishes, got {r:?}"),
        () = tokio::time::sleep(secs(30)) => {}
    }
    // `fut` is still alive (pending on b) here.
    let lines = journal_lines(c);
    assert!(matches!(lines[0], Line::Start { .. }));
    let outs = outcomes(&lines);
    assert_eq!(outs.len(), 1, "{lines:?}");
    let a = &outs[0];
    assert_eq!(
        (a.position, a.index, a.name.as_str(), a.source.as_str()),
        (0, 0, "a", "npm:a")
    );
    assert_eq!(
        (a.ended, a.status.as_str()),
        (OutcomeKind::Succeeded, "success")
    );
    assert_eq!(a.recipe.as_deref(), Some("a.toml"));
    assert_eq!(runner.names("create"), ["a", "b"]);
}

// ---------------------------------------------------------------------------------------------
// 8. Stop
// ---------------------------------------------------------------------------------------------

/// Four npm candidates (no rate limit), jobs = 1, each generator call 1 s.
fn stop_env() -> Env {
    let mut env = env(vec![
        entry("p0", "npm:p0"),
        entry("p1", "npm:p1"),
        entry("p2", "npm:p2"),
        {
            let mut e = entry("p3", "npm:p3");
            e.status = Status::Failed;
            e.failure_count = 1;
            e
        },
    ]);
    env.config.jobs = 1;
    env.config.rate_limit.set("npm", Duration::ZERO);
    env
}

fn recipe_of(config: &Config, name: &str) -> PathBuf {
    config.output_dir.join(recipe_relative_path(name).unwrap())
}

/// Checks the saved state after an interrupted run: done entries updated, not-run ones
/// byte-identical, no recipe left for them, journal removed.
fn check_interrupted_save(config: &Config, before: &[String], results: &[EntryResult]) {
    let after = entry_json(config);
    for (i, r) in results.iter().enumerate() {
        let name = format!("p{i}");
        match r {
            EntryResult::Done { .. } => {
                assert_ne!(after[i], before[i], "{name} updated");
                assert!(after[i].contains("\"success\""), "{}", after[i]);
                assert!(recipe_of(config, &name).exists(), "{name}");
            }
            EntryResult::NotRun { reason } => {
                assert_eq!(reason, "interrupted", "{name}");
                assert_eq!(after[i], before[i], "{name} unchanged");
                assert!(
                    !recipe_of(config, &name).exists(),
                    "no unvalidated recipe left for {name}"
                );
            }
        }
    }
    assert!(!journal_path(config).exists());
}

/// Stop arrives while p0's install runs: p0 finishes (the fake does not observe the stop),
/// nothing else starts, p1–p3 are not run and stay byte-identical after apply + persist,
/// while p0 is updated. Only p0 is journaled.
#[tokio::test(start_paused = true)]
async fn graceful_stop_finishes_running_step_and_leaves_the_rest_unchanged() {
    let env = stop_env();
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(0, "", secs(1)));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    let on_event = |e: Event<'_>| {
        if let Event::StepStarted {
            position: 0,
            step: Step::Install,
            ..
        } = e
        {
            tx.send_replace(Stop::Graceful);
        }
    };
    let mut planned = super::load_plan(c, &clock).unwrap();
    assert_eq!(planned.selection.candidates.len(), 4);
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_plan_with(
        &planned,
        c,
        &Tsuku::for_run(c),
        &runner,
        &clock,
        &on_event,
        opts,
    )
    .await
    .unwrap();
    assert!(
        matches!(
            &results[0],
            EntryResult::Done {
                outcome: Outcome::Succeeded { .. },
                ..
            }
        ),
        "{results:?}"
    );
    for r in &results[1..] {
        assert_eq!(
            r,
            &EntryResult::NotRun {
                reason: "interrupted".into()
            }
        );
    }
    let install_p0 = runner
        .calls()
        .into_iter()
        .find(|x| x.step() == "install" && x.name() == "p0")
        .unwrap();
    assert!(
        runner.calls().iter().all(|x| x.at <= install_p0.at),
        "nothing starts after the stop: {:?}",
        runner.calls()
    );
    let outs = outcomes(&journal_lines(c));
    assert_eq!(
        outs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["p0"]
    );

    let mut report = apply_results(&mut planned, &results, c, &clock);
    assert_eq!(report.results.total, 1);
    assert_eq!(report.not_run.len(), 3);
    save_run_with(&mut planned, &mut report, c, &clock, Some(&mut journal)).unwrap();
    check_interrupted_save(c, &before, &results);
}

/// Stop at t = 1.5 s (a spawned task): whatever runs then finishes, nothing starts at or
/// after 1.5 s, an entry is done only if all its steps started before the stop, and the rest
/// are not run and unchanged after saving.
#[tokio::test(start_paused = true)]
async fn graceful_stop_at_a_time_stops_dispatching() {
    let env = stop_env();
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(0, "", secs(1)));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    tokio::spawn(async move {
        tokio::time::sleep(ms(1500)).await;
        tx.send_replace(Stop::Graceful);
    });
    let t0 = Instant::now();
    let mut planned = super::load_plan(c, &clock).unwrap();
    let mut journal = Journal::create(&journal_path(c), Rfc3339::utc(planned.started)).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_plan_with(
        &planned,
        c,
        &Tsuku::for_run(c),
        &runner,
        &clock,
        &noop,
        opts,
    )
    .await
    .unwrap();
    let calls = runner.calls();
    assert!(
        calls.iter().all(|x| x.at - t0 < ms(1500)),
        "nothing dispatched after the stop: {calls:?}"
    );
    assert!(
        t0.elapsed() <= secs(2),
        "only the running call is waited for: {:?}",
        t0.elapsed()
    );
    let mut interrupted = 0;
    for (i, r) in results.iter().enumerate() {
        let name = format!("p{i}");
        let installed = calls
            .iter()
            .any(|x| x.step() == "install" && x.name() == name);
        match r {
            EntryResult::Done { .. } => assert!(installed, "{name}"),
            EntryResult::NotRun { .. } => {
                assert!(!installed, "{name}");
                interrupted += 1;
            }
        }
    }
    assert!(interrupted >= 3, "{results:?}");
    let done: Vec<String> = outcomes(&journal_lines(c))
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(done.len(), results.len() - interrupted);

    let mut report = apply_results(&mut planned, &results, c, &clock);
    save_run_with(&mut planned, &mut report, c, &clock, Some(&mut journal)).unwrap();
    check_interrupted_save(c, &before, &results);
}

/// A create that exits with the network code waits 1 s, 2 s, 4 s between attempts; a stop
/// during the first backoff ends the wait at once and the entry is not run (not a
/// network_error failure after 7 s).
#[tokio::test(start_paused = true)]
async fn stop_cuts_retry_backoff_short() {
    let env = env(vec![entry("net", "npm:net")]);
    let c = &env.config;
    let before = entry_json(c);
    let clock = FixedClock::new(ts(T0));
    let runner = fake(|_, _| Act::Exit(5, "network", Duration::ZERO));
    let (tx, rx) = tokio::sync::watch::channel(Stop::Running);
    tokio::spawn(async move {
        tokio::time::sleep(ms(500)).await;
        tx.send_replace(Stop::Graceful);
    });
    let retries = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Retrying { retry, delay, .. } = e {
            retries.lock().unwrap().push((retry, delay));
        }
    };
    let t0 = Instant::now();
    let mut planned = super::load_plan(c, &clock).unwrap();
    let opts = ExecuteOptions {
        journal: None,
        stop: Some(rx),
        deadline: None,
    };
    let results = execute_plan_with(
        &planned,
        c,
        &Tsuku::for_run(c),
        &runner,
        &clock,
        &on_event,
        opts,
    )
    .await
    .unwrap();
    assert_eq!(
        results,
        [EntryResult::NotRun {
            reason: "interrupted".into()
        }]
    );
    assert_eq!(t0.elapsed(), ms(500), "backoff cut short by the stop");
    assert_eq!(runner.calls().len(), 1);
    assert_eq!(retries.into_inner().unwrap(), [(1, secs(1))]);
    let mut report = apply_results(&mut planned, &results, c, &clock);
    save_run(&mut planned, &mut report, c, &clock).unwrap();
    assert_eq!(entry_json(c), before);
    assert!(failure_files(c).is_empty());
}

// ---------------------------------------------------------------------------------------------
// 9. Journal write failure
// ---------------------------------------------------------------------------------------------

/// Appending to the journal fails (it is `/dev/full`, which fails every write with ENOSPC,
/// even for root): nothing new starts, the running candidate's result is not lost silently,
/// and `execute_with` returns the journal error.
#[cfg(target_os = "linux")]
#[tokio::test(start_paused = true)]
async fn journal_append_failure_halts_the_run() {
    let dev_full = Path::new("/dev/full");
    if !dev_full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    // Default 1 s npm spacing: b and c could start only at 1 s and 2 s, after a is journaled.
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "npm:b"),
        entry("c", "npm:c"),
    ]);
    let c = &env.config;
    let clock = FixedClock::new(ts(T0));
    let runner = ScriptedRunner::ok();
    let planned = super::load_plan(c, &clock).unwrap();
    let mut journal = Journal::open(dev_full).unwrap();
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: None,
        deadline: None,
    };
    let err = execute_plan_with(
        &planned,
        c,
        &Tsuku::for_run(c),
        &runner,
        &clock,
        &noop,
        opts,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            RunError::Journal(JournalError::Io { action: "append to", path, .. }) if path == dev_full
        ),
        "{err:?}"
    );
    assert_eq!(runner.names("create"), ["a"], "{:?}", runner.calls());
    assert_eq!(runner.names("install"), ["a"]);
}
