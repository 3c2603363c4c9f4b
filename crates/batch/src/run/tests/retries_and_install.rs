//! Execution tests: network retries (spec §4.4), install failures and the backoff applied
//! through `apply` (spec §4.7).

use super::*;

// ---------------------------------------------------------------------------------------------
// (4) network retries
// ---------------------------------------------------------------------------------------------

/// Spec §4.4, §4.5 row 2, §8.2 #71: exit 5 is retried 3 times (4 calls, 1 s, 2 s, 4 s apart),
/// then `network_error` with the exhaustion message; no install; failed with fc+1.
#[tokio::test(start_paused = true)]
async fn generation_network_exhaustion_after_four_attempts() {
    let env = env(vec![entry("bup", "homebrew:bup")]);
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let log = Arc::clone(&at);
    mock.expect_run()
        .withf(is_create)
        .times(4)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            Ok(out(5, "  Error: registry returned status 503\n", ""))
        });
    let events = Mutex::new(Vec::new());
    let on = |e: Event<'_>| events.lock().unwrap().extend(own(e));
    let c = clock();
    let mut planned = super::load_plan(&env.config, &c).unwrap();
    let t0 = Instant::now();
    let results = execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &mock,
        &c,
        &on,
    )
    .await;
    let report = apply_results(&mut planned, &results, &env.config, &c);

    let r = only_record(&report);
    assert_eq!(r.category, Category::NetworkError);
    assert_eq!(
        r.message,
        "failed after 3 retries: tsuku create homebrew:bup: exit 5: Error: registry returned status 503"
    );
    assert!(
        r.message
            .starts_with("failed after 3 retries: tsuku create homebrew:bup: exit 5: ")
    );
    assert!(r.blocked_by.is_empty() && r.subcategory.is_empty());
    let e = &planned.queue.entries[0];
    assert_eq!((e.status.clone(), e.failure_count), (Status::Failed, 1));

    let at: Vec<Duration> = at.lock().unwrap().iter().map(|t| *t - t0).collect();
    assert_eq!(at.len(), 4);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, min) in gaps.iter().zip([1, 2, 4]) {
        assert!(*gap >= secs(min), "gaps {gaps:?}");
    }
    // homebrew's 1 s period never exceeds the backoff, so the attempts are exactly 1, 2, 4 s
    // apart.
    assert_eq!(at, [secs(0), secs(1), secs(3), secs(7)]);

    let ev = events.lock().unwrap().clone();
    let retrying: Vec<(u32, Duration)> = ev
        .iter()
        .filter_map(|e| match e {
            Ev::Retrying {
                step, retry, delay, ..
            } if *step == Step::Create => Some((*retry, *delay)),
            _ => None,
        })
        .collect();
    assert_eq!(retrying, [(1, secs(1)), (2, secs(2)), (3, secs(4))]);
    let started: Vec<u32> = ev
        .iter()
        .filter_map(|e| match e {
            Ev::Started { retry, step, .. } if *step == Step::Create => Some(*retry),
            _ => None,
        })
        .collect();
    assert_eq!(started, [0, 1, 2, 3]);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Ev::Finished { .. }))
            .count(),
        1
    );
}

/// Issue: every `create` attempt, retries included, takes a rate-limit permit. With rubygems'
/// 6 s period the retries (1 s, 2 s, 4 s backoff) wait for the limiter: starts at 0, 6, 12, 18.
/// (The fixed limiter alone: the adaptive slowdown, which would stretch the last gap, is off;
/// see `tests/adaptive.rs`.)
#[tokio::test(start_paused = true)]
async fn create_retries_take_rate_limit_permits() {
    let mut env = env(vec![entry("bup", "rubygems:bup")]);
    env.config.adaptive.enabled = false;
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let log = Arc::clone(&at);
    mock.expect_run()
        .withf(is_create)
        .times(4)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            Ok(out(5, "503", ""))
        });
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &mock, &clock()).await;
    assert_eq!(only_record(&report).category, Category::NetworkError);
    let at: Vec<Duration> = at.lock().unwrap().iter().map(|t| *t - t0).collect();
    // Attempt 2 would start at 1 s by backoff alone; the limiter moves it to 6 s, and so on:
    // 6 + 2 = 8 → 12; 12 + 4 = 16 → 18.
    assert_eq!(at, [secs(0), secs(6), secs(12), secs(18)]);
}

/// Spec §8.2 #68: exit 5 twice then 0 → 3 create calls, ≥ 3 s, success, no record.
#[tokio::test(start_paused = true)]
async fn generation_retry_then_success() {
    let env = env(vec![entry("flaky", "homebrew:flaky")]);
    let n = Arc::new(AtomicUsize::new(0));
    let at = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockRunner::new();
    let (n2, log) = (Arc::clone(&n), Arc::clone(&at));
    mock.expect_run()
        .withf(is_create)
        .times(3)
        .returning(move |_| {
            log.lock().unwrap().push(Instant::now());
            if n2.fetch_add(1, Ordering::SeqCst) < 2 {
                Ok(out(5, "net", ""))
            } else {
                Ok(ok())
            }
        });
    mock.expect_run()
        .withf(is_install)
        .times(1)
        .returning(|_| Ok(ok()));
    let t0 = Instant::now();
    let (planned, _, report) = exec(&env, &mock, &clock()).await;
    assert!(t0.elapsed() >= secs(3));
    let at = at.lock().unwrap().clone();
    assert!(at[1] - at[0] >= secs(1) && at[2] - at[1] >= secs(2));
    assert!(report.failures.is_empty());
    assert_eq!(report.recipes, ["flaky.toml"]);
    assert_eq!(planned.queue.entries[0].status, Status::Success);
    assert_eq!(report.results.succeeded, 1);
}

// ---------------------------------------------------------------------------------------------
// (5) install failures
// ---------------------------------------------------------------------------------------------

/// Spec §4.5 row 3, §8.1 #20–23, §8.2 #74, #75: category from the install exit code (the
/// CLI's own category ignored), subcategory and missing_recipes from stdout JSON, message from
/// stderr only, blocked iff exit 3 or 8; the recipe file is deleted.
#[tokio::test(start_paused = true)]
async fn install_failures_are_classified_and_delete_the_recipe() {
    struct Case {
        code: i32,
        stdout: &'static str,
        stderr: &'static str,
        category: Category,
        subcategory: &'static str,
        blocked_by: &'static [&'static str],
        blocked: bool,
    }
    let cases = [
        Case {
            code: 8,
            stdout: r#"{"status":"error","category":"missing_dep","message":"failed to install dependency dav1d","missing_recipes":["dav1d"],"exit_code":8}"#,
            stderr: "Installing coreutils\nError: failed to install dependency 'dav1d'\n",
            category: Category::MissingDep,
            subcategory: "",
            blocked_by: &["dav1d"],
            blocked: true,
        },
        Case {
            code: 3,
            stdout: r#"{"status":"error","missing_recipes":["libidn2"]}"#,
            stderr: "Error: recipe libidn2 not found in registry",
            category: Category::RecipeNotFound,
            subcategory: "",
            blocked_by: &["libidn2"],
            blocked: true,
        },
        Case {
            code: 3,
            stdout: "",
            stderr: "",
            category: Category::RecipeNotFound,
            subcategory: "",
            blocked_by: &[],
            blocked: true,
        },
        Case {
            code: 8,
            stdout: "not json at all",
            stderr: "x",
            category: Category::MissingDep,
            subcategory: "",
            blocked_by: &[],
            blocked: true,
        },
        Case {
            code: 6,
            stdout: "",
            stderr: "Error: download failed: 404 Not Found\n",
            category: Category::InstallFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 6,
            stdout: r#"{"status":"error","category":"network_error","subcategory":"tls_error","missing_recipes":[],"exit_code":6}"#,
            stderr: "Error: tls handshake",
            category: Category::InstallFailed,
            subcategory: "tls_error",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 7,
            stdout: "",
            stderr: "verify: checksum mismatch",
            category: Category::VerifyFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
        Case {
            code: 1,
            stdout: "",
            stderr: "general",
            category: Category::GenerationFailed,
            subcategory: "",
            blocked_by: &[],
            blocked: false,
        },
    ];
    for case in cases {
        let env = env(vec![entry("coreutils", "homebrew:coreutils")]);
        let (code, stdout, stderr) = (case.code, case.stdout, case.stderr);
        let runner = fake(
            |_| Duration::ZERO,
            move |c, _| {
                if c.step() == "create" {
                    ok()
                } else {
                    out(code, stdout, stderr)
                }
            },
        );
        let recipe = env.root.join("recipes/c/coreutils.toml");
        let (planned, _, report) = exec(&env, &runner, &clock()).await;
        let r = only_record(&report);
        let what = format!("exit {code} stdout {stdout:?}");
        assert_eq!(r.category, case.category, "{what}");
        assert_eq!(r.subcategory, case.subcategory, "{what}");
        assert_eq!(r.blocked_by, case.blocked_by, "{what}");
        assert_eq!(
            r.message,
            stderr.trim(),
            "{what}: message is the trimmed stderr only"
        );
        assert_eq!(r.package_id, "homebrew:coreutils");
        assert!(
            !recipe.exists(),
            "{what}: a recipe that does not install is deleted"
        );
        let e = &planned.queue.entries[0];
        if case.blocked {
            assert_eq!(
                (e.status.clone(), e.failure_count),
                (Status::Blocked, 0),
                "{what}"
            );
            assert_eq!((report.results.blocked, report.results.failed), (1, 0));
        } else {
            assert_eq!(
                (e.status.clone(), e.failure_count),
                (Status::Failed, 1),
                "{what}"
            );
            assert_eq!((report.results.blocked, report.results.failed), (0, 1));
        }
        assert!(report.recipes.is_empty());
        check_totals(&report.results);
        assert_eq!(runner.calls().len(), 2);
    }
}

/// Spec §8.2 #69, §8.1 #23f: install exit 5 every time → 4 install calls 1, 2, 4 s apart
/// (install takes no rate-limit permit, so rubygems' 6 s does not apply), `network_error`
/// with the stderr message and the last JSON's subcategory, recipe deleted, failed fc+1.
#[tokio::test(start_paused = true)]
async fn install_network_exhaustion() {
    let env = env(vec![entry("bup", "rubygems:bup")]);
    let runner = fake(
        |_| Duration::ZERO,
        |c, _| {
            if c.step() == "create" {
                ok()
            } else {
                out(
                    5,
                    r#"{"status":"error","category":"network_error","subcategory":"timeout"}"#,
                    "net down\n",
                )
            }
        },
    );
    let t0 = Instant::now();
    let (planned, _, report) = exec(&env, &runner, &clock()).await;
    let r = only_record(&report);
    assert_eq!(r.category, Category::NetworkError);
    assert_eq!(r.subcategory, "timeout");
    assert_eq!(r.message, "failed after 3 retries: net down");
    assert!(r.blocked_by.is_empty());
    let e = &planned.queue.entries[0];
    assert_eq!((e.status.clone(), e.failure_count), (Status::Failed, 1));
    assert!(!env.root.join("recipes/b/bup.toml").exists());
    let calls = runner.calls();
    let steps: Vec<&str> = calls.iter().map(Call::step).collect();
    assert_eq!(
        steps,
        ["create", "install", "install", "install", "install"]
    );
    let installs: Vec<Duration> = calls[1..].iter().map(|c| c.at - t0).collect();
    assert_eq!(installs, [secs(0), secs(1), secs(3), secs(7)]);
}

/// Spec §8.1 #23g with an install failure in the middle of retries: the last attempt's JSON
/// counts and a non-5 exit after a retry is classified at once.
#[tokio::test(start_paused = true)]
async fn install_retry_then_other_failure_is_classified_by_the_last_exit() {
    let env = env(vec![entry("bup", "homebrew:bup")]);
    let runner = fake(
        |_| Duration::ZERO,
        |c, attempt| match (c.step(), attempt) {
            ("create", _) => ok(),
            (_, 0) => out(5, r#"{"subcategory":"dns_error"}"#, "dns"),
            _ => out(8, r#"{"missing_recipes":["dav1d"]}"#, "dep"),
        },
    );
    let (planned, _, report) = exec(&env, &runner, &clock()).await;
    let r = only_record(&report);
    assert_eq!(
        (r.category, r.subcategory.as_str(), r.message.as_str()),
        (Category::MissingDep, "", "dep")
    );
    assert_eq!(r.blocked_by, ["dav1d"]);
    assert_eq!(planned.queue.entries[0].status, Status::Blocked);
    assert_eq!(runner.calls().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// (6) backoff through apply
// ---------------------------------------------------------------------------------------------

/// Spec §4.7, §8.1 #28: new failure_count k gives next_retry_at = (classification time) +
/// none, 24 h, 72 h, 144 h, 168 h, 168 h …; counted from when the failure was classified, not
/// when `apply` ran.
#[tokio::test(start_paused = true)]
async fn backoff_sequence_through_apply() {
    let cases: [(i64, Option<i64>); 8] = [
        (0, None),
        (1, Some(24)),
        (2, Some(72)),
        (3, Some(144)),
        (4, Some(168)),
        (5, Some(168)),
        (9, Some(168)),
        (100, Some(168)),
    ];
    let classified = ts("2026-06-01T12:00:00.5Z");
    for (before, hours) in cases {
        let env = env(vec![failed_entry("pkg", "cargo:pkg", before, Some(PAST))]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(|_| Ok(out(6, "boom", "")));
        let c = FixedClock::new(classified);
        let mut planned = super::load_plan(&env.config, &c).unwrap();
        assert_eq!(planned.selection.candidates.len(), 1);
        let results = execute_plan(
            &planned,
            &env.config,
            &Tsuku::for_run(&env.config),
            &mock,
            &c,
            &noop,
        )
        .await;
        c.set(ts("2026-06-01T13:30:00Z"));
        let report = apply_results(&mut planned, &results, &env.config, &c);
        let e = &planned.queue.entries[0];
        assert_eq!(e.failure_count, before + 1);
        assert_eq!(e.status, Status::Failed);
        assert_eq!(
            e.next_retry_at,
            hours.map(|h| plus_hours(classified, h)),
            "fc {before} → {}",
            before + 1
        );
        assert_eq!(report.failures[0].timestamp, "2026-06-01T12:00:00.5Z");
    }
}

/// Spec §8.1 #27: fc increments across runs; run 2 gives fc 2 and now + 24 h, written to the
/// queue file as `YYYY-MM-DDTHH:MM:SSZ`.
#[tokio::test(start_paused = true)]
async fn failure_count_increments_across_runs() {
    let env = env(vec![entry("pkg", "cargo:pkg")]);
    let runner = fake(|_| secs(1), |_, _| out(6, "", "deterministic failed"));
    let c = clock();
    run(&env.config, &runner, &c, &noop).await.unwrap();
    let q = load_queue(&env.config);
    assert_eq!(
        (
            q.entries[0].status.clone(),
            q.entries[0].failure_count,
            q.entries[0].next_retry_at
        ),
        (Status::Failed, 1, None)
    );
    c.set(ts("2026-06-01T13:00:00Z"));
    run(&env.config, &runner, &c, &noop).await.unwrap();
    let q = load_queue(&env.config);
    assert_eq!(q.entries[0].failure_count, 2);
    assert_eq!(
        q.entries[0].next_retry_at.unwrap().to_string(),
        "2026-06-02T13:00:00Z"
    );
    assert_eq!(runner.calls().len(), 2);
}
