//! The run journal and crash recovery: `run()` with its journal, recovery of a crashed run,
//! idempotent replays (issue #4).

use super::*;

// ---------------------------------------------------------------------------------------------
// 1. run() with its journal
// ---------------------------------------------------------------------------------------------

/// The journal exists beside the queue while the run executes, is gone afterwards, and a run
/// through the journal writes exactly the files of plan → execute → apply → persist without
/// one.
#[tokio::test(start_paused = true)]
async fn run_removes_its_journal_and_writes_what_a_journal_free_run_writes() {
    let clock = FixedClock::new(ts(T0));

    let with = mixed_env();
    let jp = journal_path(&with.config);
    assert_eq!(
        jp.file_name().unwrap(),
        "priority-queue.json.journal",
        "beside the queue"
    );
    assert_eq!(jp.parent(), with.config.queue.parent());
    let seen = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Finished { name, .. } = e {
            seen.lock().unwrap().push((name.to_owned(), jp.exists()));
        }
    };
    let runner = mixed_runner();
    let (_, report) = run(&with.config, &runner, &clock, &on_event).await.unwrap();
    assert!(!jp.exists(), "journal removed once everything is saved");
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|(_, exists)| *exists),
        "journal present while running: {seen:?}"
    );
    assert_eq!(report.results.total, 4);

    let without = mixed_env();
    let runner = mixed_runner();
    let mut planned = super::load_plan(&without.config, &clock).unwrap();
    let results = execute_plan(
        &planned,
        &without.config,
        &Tsuku::for_run(&without.config),
        &runner,
        &clock,
        &noop,
    )
    .await;
    let mut report2 = apply_results(&mut planned, &results, &without.config, &clock);
    save_run(&mut planned, &mut report2, &without.config, &clock).unwrap();
    assert!(!journal_path(&without.config).exists());

    let a = snapshot(&with.config);
    let b = snapshot(&without.config);
    assert_eq!(
        String::from_utf8(a.queue.clone()).unwrap(),
        String::from_utf8(b.queue.clone()).unwrap()
    );
    assert_eq!(a, b);
    assert_eq!(
        a.failures.keys().cloned().collect::<Vec<_>>(),
        [
            format!("cargo-{T0_STAMP}.jsonl"),
            format!("go-{T0_STAMP}.jsonl"),
            format!("homebrew-{T0_STAMP}.jsonl")
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Crash, then recover
// ---------------------------------------------------------------------------------------------

/// One outcome line per finished candidate; recovery sets each journaled entry to its
/// journaled state, writes the failure files stamped with the run's start (from the start
/// line, not the recovery's clock), results (timestamp = start), summary and the batch-level
/// breaker update, then removes the journal. A second recovery finds nothing.
#[tokio::test(start_paused = true)]
async fn recover_applies_a_crashed_runs_journal() {
    let env = mixed_env();
    let c = &env.config;
    let lines = crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;

    // The journal.
    assert_eq!(
        lines[0],
        Line::Start {
            version: journal::VERSION,
            started: Rfc3339::utc(ts(T0)),
        }
    );
    let Line::Start { started, .. } = &lines[0] else {
        unreachable!()
    };
    assert_eq!(started.to_string(), T0, "start kept to the nanosecond");
    let outs = outcomes(&lines);
    assert_eq!(lines.len(), 1 + outs.len(), "only start and outcome lines");
    let positions: BTreeSet<usize> = outs.iter().map(|o| o.position).collect();
    assert_eq!(
        positions,
        BTreeSet::from([0, 1, 2, 3]),
        "one line per candidate"
    );
    assert_eq!(outs.len(), 4);
    let by_name: BTreeMap<&str, &OutcomeLine> = outs.iter().map(|o| (o.name.as_str(), o)).collect();
    let ok = by_name["ok"];
    assert_eq!(
        (ok.index, ok.ended, ok.status.as_str(), ok.failure_count),
        (0, OutcomeKind::Succeeded, "success", 0)
    );
    assert_eq!(ok.recipe.as_deref(), Some("ok.toml"));
    assert!(ok.record.is_none() && ok.next_retry_at.is_none());
    let bad = by_name["bad"];
    assert_eq!(
        (bad.index, bad.ended, bad.status.as_str(), bad.failure_count),
        (1, OutcomeKind::Failed, "failed", 1)
    );
    assert!(bad.next_retry_at.is_none(), "no backoff at failure_count 1");
    let rec = bad.record.as_ref().unwrap();
    assert_eq!(rec.package_id, "cargo:bad");
    assert_eq!(rec.category.as_str(), "install_failed");
    assert_eq!(rec.timestamp, T0);
    let again = by_name["again"];
    assert_eq!(
        (
            again.index,
            again.ended,
            again.status.as_str(),
            again.failure_count
        ),
        (2, OutcomeKind::Failed, "failed", 2)
    );
    assert_eq!(
        again.next_retry_at.unwrap().to_string(),
        "2026-06-02T12:00:00.5Z",
        "24 h after classification"
    );
    let guile = by_name["guile"];
    assert_eq!(
        (
            guile.index,
            guile.ended,
            guile.status.as_str(),
            guile.failure_count
        ),
        (3, OutcomeKind::Blocked, "blocked", 0)
    );
    assert_eq!(
        guile.record.as_ref().unwrap().blocked_by,
        vec!["bdw-gc".to_owned()]
    );

    // Recovery, one and a half hours later.
    let later = FixedClock::new(ts(T1));
    let rec = recover_journal(c, &later)
        .unwrap()
        .expect("a journal to recover");
    assert_eq!(rec.applied, 4);
    assert_eq!(rec.indices, BTreeSet::from([0, 1, 2, 3]));
    assert!(rec.missing.is_empty());
    let r = &rec.report.results;
    assert_eq!((r.total, r.succeeded, r.failed, r.blocked), (4, 1, 2, 1));
    assert_eq!(rec.report.recipes, ["ok.toml"]);
    let ids: Vec<&str> = rec
        .report
        .failures
        .iter()
        .map(|f| f.package_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["cargo:bad", "go:again", "homebrew:guile"],
        "selection order"
    );
    assert!(!journal_path(c).exists(), "journal removed");

    // Queue: journaled states; `done` untouched; saved at the recovery's time.
    let q = load_queue(c);
    let state: Vec<(&str, &str, i64, Option<String>)> = q
        .entries
        .iter()
        .map(|e| {
            (
                e.name.as_str(),
                e.status.as_str(),
                e.failure_count,
                e.next_retry_at.map(|t| t.to_string()),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            ("ok", "success", 0, None),
            ("bad", "failed", 1, None),
            (
                "again",
                "failed",
                2,
                Some("2026-06-02T12:00:00.5Z".to_owned())
            ),
            ("guile", "blocked", 0, None),
            ("done", "success", 0, None),
        ]
    );
    assert_eq!(q.updated_at.as_deref(), Some(T1));

    // Failure files: stamped with the crashed run's start.
    let files = failure_files(c);
    assert_eq!(
        files.keys().cloned().collect::<Vec<_>>(),
        [
            format!("cargo-{T0_STAMP}.jsonl"),
            format!("go-{T0_STAMP}.jsonl"),
            format!("homebrew-{T0_STAMP}.jsonl")
        ]
    );
    let hb: Value = serde_json::from_slice(&files[&format!("homebrew-{T0_STAMP}.jsonl")]).unwrap();
    assert_eq!(hb["updated_at"], T0_STAMP);
    assert_eq!(hb["failures"][0]["package_id"], "homebrew:guile");
    assert_eq!(hb["failures"][0]["category"], "missing_dep");
    assert_eq!(hb["failures"][0]["timestamp"], T0);
    let go: Value = serde_json::from_slice(&files[&format!("go-{T0_STAMP}.jsonl")]).unwrap();
    assert_eq!(go["failures"][0]["category"], "generation_failed");
    for path in files.keys() {
        assert!(
            rec.report
                .files_written
                .contains(&c.failures_dir.join(path)),
            "{path}"
        );
    }

    // Results: the crashed run's start.
    let results = read_json(&c.results);
    assert_eq!(results["timestamp"], T0);
    assert_eq!(results["batch_id"], "2026-06-01");
    assert_eq!(
        (
            &results["total"],
            &results["succeeded"],
            &results["failed"],
            &results["blocked"]
        ),
        (
            &Value::from(4),
            &Value::from(1),
            &Value::from(2),
            &Value::from(1)
        )
    );

    // Summary.
    let summary = std::fs::read_to_string(&c.summary).unwrap();
    assert!(
        summary.starts_with("Batch run for **mixed** on 2026-06-01.\n"),
        "{summary}"
    );
    assert!(summary.contains("- `ok.toml`"), "{summary}");
    assert!(
        summary.contains("- **cargo:bad**: install_failed"),
        "{summary}"
    );
    assert!(
        summary.contains("- **homebrew:guile**: blocked by [bdw-gc]"),
        "{summary}"
    );
    assert!(summary.contains("| **Total** | **4** |"), "{summary}");

    // Breakers: batch-level update at recovery time (spec §6.4–6.5).
    let cb = &read_json(&c.control_file)["circuit_breaker"];
    assert_eq!(
        cb["cargo"],
        serde_json::json!({"state": "closed", "failures": 3, "last_failure": T1}),
        "closed ecosystem whose only entry failed: failures + 1"
    );
    assert_eq!(
        cb["go"],
        serde_json::json!({"state": "closed", "failures": 1, "last_failure": T1}),
        "a missing breaker is created by a failure"
    );
    assert_eq!(
        cb["npm"],
        serde_json::json!({"state": "closed", "failures": 0, "last_failure": OLD}),
        "success resets the counter"
    );
    assert!(cb.get("homebrew").is_none(), "all blocked changes nothing");
    for f in [&c.results, &c.queue, &c.control_file, &c.summary] {
        assert!(rec.report.files_written.contains(f), "{}", f.display());
    }

    // Nothing left to recover.
    let after = snapshot(c);
    assert!(recover_journal(c, &later).unwrap().is_none());
    assert_eq!(snapshot(c), after, "no journal, nothing written");
}

// ---------------------------------------------------------------------------------------------
// 3. Idempotency
// ---------------------------------------------------------------------------------------------

/// Replaying a restored copy of the same journal (no breakers line) gives the same queue,
/// results, summary and failure files (names and bytes, no `-2` copies).
#[tokio::test(start_paused = true)]
async fn replaying_the_same_journal_gives_the_same_queue_and_failure_files() {
    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;
    let copy = std::fs::read(journal_path(c)).unwrap();
    let later = FixedClock::new(ts(T1));

    let first = recover_journal(c, &later).unwrap().unwrap();
    let s1 = snapshot(c);
    std::fs::write(journal_path(c), &copy).unwrap();
    let second = recover_journal(c, &later).unwrap().unwrap();
    let s2 = snapshot(c);

    assert_eq!(
        String::from_utf8(s1.queue.clone()).unwrap(),
        String::from_utf8(s2.queue.clone()).unwrap()
    );
    assert_eq!(s1.failures, s2.failures, "same names and bytes");
    assert_eq!(s1.failures.len(), 3);
    assert_eq!(s1.results, s2.results);
    assert_eq!(s1.summary, s2.summary);
    assert_eq!(first.indices, second.indices);
    assert_eq!(first.applied, second.applied);
    assert!(!journal_path(c).exists());
}

/// A breakers line means the run had decided its breaker updates: recovery sets exactly those
/// fields (no batch update of its own: cargo's failed entry does not add one, npm's success
/// does not reset npm, go gets no breaker), and replaying it twice does not count twice.
#[tokio::test(start_paused = true)]
async fn breakers_line_sets_exact_states_and_replays_idempotently() {
    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &FixedClock::new(ts(T0)), None).await;
    let line = BreakerLine {
        state: crate::control::BreakerState::Open,
        failures: 7,
        last_failure: Some("2026-06-01T12:00:00Z".into()),
        opens_at: Some("2026-06-01T13:00:00Z".into()),
    };
    Journal::open(&journal_path(c))
        .unwrap()
        .append(&Line::Breakers {
            breakers: BTreeMap::from([("cargo".to_owned(), line)]),
        })
        .unwrap();
    let copy = std::fs::read(journal_path(c)).unwrap();
    let later = FixedClock::new(ts(T1));

    recover_journal(c, &later).unwrap().unwrap();
    let doc = read_json(&c.control_file);
    let cb = &doc["circuit_breaker"];
    assert_eq!(
        cb["cargo"],
        serde_json::json!({
            "state": "open",
            "failures": 7,
            "last_failure": "2026-06-01T12:00:00Z",
            "opens_at": "2026-06-01T13:00:00Z"
        })
    );
    assert_eq!(
        cb["npm"],
        serde_json::json!({"state": "closed", "failures": 3, "last_failure": OLD}),
        "not in the breakers line: untouched"
    );
    assert!(
        cb.get("go").is_none(),
        "not in the breakers line: not created"
    );
    let s1 = snapshot(c);

    std::fs::write(journal_path(c), &copy).unwrap();
    recover_journal(c, &later).unwrap().unwrap();
    let s2 = snapshot(c);
    assert_eq!(s1, s2, "every file identical after the replay");
    assert_eq!(
        read_json(&c.control_file)["circuit_breaker"]["cargo"]["failures"],
        7
    );
}

/// A recovery that fails half-way (here: `batch-results.json` cannot be written because a
/// directory is in its place) keeps the journal, with the breaker decision journaled, so the
/// retried recovery counts cargo's failure once, writes no second copy of the failure files
/// and ends with the same files as an uninterrupted recovery.
#[tokio::test(start_paused = true)]
async fn recovery_interrupted_by_a_write_error_is_finished_by_the_next_one() {
    let clock = FixedClock::new(ts(T0));
    let later = FixedClock::new(ts(T1));

    // Reference: an uninterrupted recovery.
    let reference = mixed_env();
    crash(&reference, &mixed_runner(), &clock, None).await;
    recover_journal(&reference.config, &later).unwrap().unwrap();

    let env = mixed_env();
    let c = &env.config;
    crash(&env, &mixed_runner(), &clock, None).await;
    let before = snapshot(c);
    std::fs::create_dir_all(c.results.join("in-the-way")).unwrap();
    let err = recover_journal(c, &later).unwrap_err();
    assert!(
        matches!(&err, RunError::Write { path, .. } if path == &c.results),
        "{err:?}"
    );
    assert!(journal_path(c).exists(), "the journal is kept on error");
    assert_eq!(std::fs::read(&c.queue).unwrap(), before.queue);
    assert_eq!(read_opt(&c.control_file), before.control);
    let lines = journal_lines(c);
    assert!(
        matches!(lines.last(), Some(Line::Breakers { breakers }) if breakers["cargo"].failures == 3),
        "{lines:?}"
    );
    assert_eq!(failure_files(c).len(), 3, "failure files come first");

    std::fs::remove_dir_all(&c.results).unwrap();
    recover_journal(c, &later).unwrap().unwrap();
    assert!(!journal_path(c).exists());
    assert_eq!(
        read_json(&c.control_file)["circuit_breaker"]["cargo"]["failures"],
        3,
        "counted once"
    );
    assert_eq!(snapshot(c), snapshot(&reference.config));
}
