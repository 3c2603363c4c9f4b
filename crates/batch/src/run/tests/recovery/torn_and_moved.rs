//! Torn and corrupt journals; journaled entries that left or moved in the queue (issue #4).

use super::*;

// ---------------------------------------------------------------------------------------------
// 4. Torn and corrupt journals
// ---------------------------------------------------------------------------------------------

/// `a` finishes; `b` hangs when the run crashes. Returns the env and b's (never written)
/// outcome line, serialised with its newline.
async fn crashed_with_b_pending() -> (Env, Vec<u8>) {
    let env = env(vec![entry("a", "npm:a"), entry("b", "cargo:b")]);
    let runner = fake(|step, name| match (name, step) {
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &runner, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    assert_eq!(outcomes(&lines).len(), 1);
    let b = Line::Outcome(Box::new(OutcomeLine {
        position: 1,
        index: 1,
        name: "b".into(),
        source: "cargo:b".into(),
        ended: OutcomeKind::Succeeded,
        status: "success".into(),
        failure_count: 0,
        next_retry_at: None,
        record: None,
        recipe: Some("b.toml".into()),
    }));
    let mut bytes = serde_json::to_vec(&b).unwrap();
    bytes.push(b'\n');
    (env, bytes)
}

fn statuses(config: &Config) -> Vec<String> {
    load_queue(config)
        .entries
        .iter()
        .map(|e| e.status.as_str().to_owned())
        .collect()
}

/// A torn last line (half of b's outcome, or all of it without its newline) is ignored: the
/// complete outcomes are recovered without error and b stays pending.
#[tokio::test(start_paused = true)]
async fn torn_last_line_is_ignored() {
    for torn_len in [None, Some(2usize)] {
        let (env, b_line) = crashed_with_b_pending().await;
        let c = &env.config;
        let torn = match torn_len {
            None => &b_line[..b_line.len() - 1],
            Some(d) => &b_line[..b_line.len() / d],
        };
        let mut bytes = std::fs::read(journal_path(c)).unwrap();
        bytes.extend_from_slice(torn);
        std::fs::write(journal_path(c), &bytes).unwrap();

        let rec = recover_journal(c, &FixedClock::new(ts(T1)))
            .unwrap()
            .expect("journal");
        assert_eq!(rec.applied, 1, "{torn_len:?}");
        assert_eq!(rec.indices, BTreeSet::from([0]));
        assert_eq!(rec.report.results.total, 1);
        assert_eq!(statuses(c), ["success", "pending"], "{torn_len:?}");
        assert!(!journal_path(c).exists());
    }
}

/// A bad line before the last is corruption: recovery fails naming the line and writes
/// nothing (queue bytes unchanged, no results, no summary, journal kept); `run` refuses to
/// start.
#[tokio::test(start_paused = true)]
async fn corrupt_middle_line_is_an_error_and_writes_nothing() {
    let (env, _) = crashed_with_b_pending().await;
    let c = &env.config;
    let good = std::fs::read(journal_path(c)).unwrap();
    let first_nl = good.iter().position(|b| *b == b'\n').unwrap();
    let mut bad = good[..=first_nl].to_vec();
    bad.extend_from_slice(b"{\"kind\":\"outcome\",\"position\":\n");
    bad.extend_from_slice(&good[first_nl + 1..]);
    std::fs::write(journal_path(c), &bad).unwrap();
    let before = snapshot(c);

    let err = recover_journal(c, &FixedClock::new(ts(T1))).unwrap_err();
    assert!(
        matches!(
            &err,
            RunError::Journal(JournalError::Corrupt { line: 2, path, .. }) if path == &journal_path(c)
        ),
        "{err:?}"
    );
    assert_eq!(snapshot(c), before);
    assert_eq!(std::fs::read(journal_path(c)).unwrap(), bad, "journal kept");
    assert!(c.results.metadata().is_err() && c.summary.metadata().is_err());

    let runner = ScriptedRunner::ok();
    let err = run(c, &runner, &FixedClock::new(ts(T1)), &noop)
        .await
        .unwrap_err();
    assert!(
        matches!(err, RunError::Journal(JournalError::Corrupt { .. })),
        "{err:?}"
    );
    assert!(runner.calls().is_empty(), "nothing runs");
    assert_eq!(snapshot(c), before);
    assert_eq!(std::fs::read(journal_path(c)).unwrap(), bad);
}

// ---------------------------------------------------------------------------------------------
// 5. Entries that left or moved
// ---------------------------------------------------------------------------------------------

/// a (npm, fails) and c (go, succeeds) are journaled, b hangs. Before recovery the queue is
/// rewritten to [b, c, a-from-cargo]: npm:a is gone (an entry named `a` with another source
/// does not count) and c moved from index 2 to 1, where it is found by name and source.
#[tokio::test(start_paused = true)]
async fn missing_entries_are_reported_and_moved_ones_found_by_name_and_source() {
    let env = env(vec![
        entry("a", "npm:a"),
        entry("b", "cargo:b"),
        entry("c", "go:c"),
    ]);
    let c = &env.config;
    let runner = fake(|step, name| match (name, step) {
        ("a", "create") => Act::Exit(6, "boom", Duration::ZERO),
        ("b", "create") => Act::Hang,
        _ => exit0(),
    });
    let lines = crash(&env, &runner, &FixedClock::new(ts(T0)), Some(secs(10))).await;
    let journaled: Vec<(usize, String)> = outcomes(&lines)
        .into_iter()
        .map(|o| (o.index, o.name))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(journaled, [(0, "a".to_owned()), (2, "c".to_owned())]);

    write_queue(
        c,
        vec![
            entry("b", "cargo:b"),
            entry("c", "go:c"),
            entry("a", "cargo:a"),
        ],
    );
    let rec = recover_journal(c, &FixedClock::new(ts(T1)))
        .unwrap()
        .unwrap();
    assert_eq!(rec.missing, [("a".to_owned(), "npm:a".to_owned())]);
    assert_eq!(rec.applied, 1);
    assert_eq!(rec.indices, BTreeSet::from([1]));
    assert_eq!(statuses(c), ["pending", "success", "pending"]);
    let q = load_queue(c);
    assert_eq!(
        (q.entries[2].name.as_str(), q.entries[2].failure_count),
        ("a", 0)
    );
    let r = &rec.report.results;
    assert_eq!((r.total, r.succeeded, r.failed), (1, 1, 0), "a not applied");
    assert!(rec.report.failures.is_empty());
    assert!(
        failure_files(c).is_empty(),
        "no record for the missing entry"
    );
    assert!(
        !c.control_file.exists(),
        "npm's failure was not applied, so no breaker moved"
    );
    assert!(!journal_path(c).exists());
}
