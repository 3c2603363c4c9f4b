//! Execution tests: the exact argv, success, and generation failures (spec §4.2, §4.5).

use super::*;

// ---------------------------------------------------------------------------------------------
// (1) argv
// ---------------------------------------------------------------------------------------------

/// Spec §4.2, §4.3, §8.1 #16, #26, §8.2 #99: exact argv, `--from` is the source verbatim,
/// `--output` is `<output-dir>/<first char>/<name>.toml`, the program is `--generator`.
#[tokio::test(start_paused = true)]
async fn create_and_install_argv_are_exact() {
    for (name, source, rel) in [
        ("bat", "github:sharkdp/bat", "b/bat.toml"),
        ("Bat", "homebrew:bat", "b/Bat.toml"),
        (
            "anomalyco/tap/opencode",
            "homebrew:anomalyco/tap/opencode",
            "a/anomalyco/tap/opencode.toml",
        ),
    ] {
        let env = env(vec![entry(name, source)]);
        let recipe = path_str(&env.root.join("recipes").join(rel));
        let create = os(&[
            "create",
            name,
            "--from",
            source,
            "--output",
            &recipe,
            "--yes",
            "--skip-sandbox",
            "--deterministic-only",
        ]);
        let install = os(&["install", "--json", "--recipe", &recipe]);
        let timeout = env.config.timeout;
        let mut seq = mockall::Sequence::new();
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(move |c| {
                c.args == create
                    && c.program == Path::new("/fake/bin/tsuku")
                    && c.merge_output
                    && c.timeout == timeout
                    && c.env.is_empty()
                    && c.current_dir.is_none()
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ok()));
        mock.expect_run()
            .withf(move |c| {
                c.args == install && c.program == Path::new("/fake/bin/tsuku") && !c.merge_output
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(ok()));
        let (_, results, report) = exec(&env, &mock, &clock()).await;
        assert!(
            matches!(&results[0], EntryResult::Done { outcome: Outcome::Succeeded { recipe: r }, .. } if path_str(r) == recipe),
            "{results:?}"
        );
        let base = Path::new(rel)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(report.recipes, [base]);
    }
}

// ---------------------------------------------------------------------------------------------
// (2) success
// ---------------------------------------------------------------------------------------------

/// Spec §8.1 #19, #29: success resets tracking; the recipe basename is reported; no failure
/// file.
#[tokio::test(start_paused = true)]
async fn success_resets_tracking_and_reports_the_recipe() {
    let env = env(vec![failed_entry(
        "ripgrep",
        "cargo:ripgrep",
        3,
        Some(PAST),
    )]);
    let runner = ScriptedRunner::ok_after(secs(1));
    let c = clock();
    let (mut planned, results, mut report) = exec(&env, &runner, &c).await;
    assert_eq!(results.len(), 1);
    let e = &planned.queue.entries[0];
    assert_eq!(
        (e.status.clone(), e.failure_count, e.next_retry_at),
        (Status::Success, 0, None)
    );
    assert_eq!(report.recipes, ["ripgrep.toml"]);
    assert!(report.failures.is_empty());
    assert_eq!(
        (
            report.results.total,
            report.results.succeeded,
            report.results.failed,
            report.results.blocked
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(report.results.per_ecosystem["cargo"].succeeded, 1);
    check_totals(&report.results);
    save_run(&mut planned, &mut report, &env.config, &c).unwrap();
    assert!(
        env.root.join("recipes/r/ripgrep.toml").exists(),
        "the recipe is kept"
    );
    assert!(
        !env.config.failures_dir.exists(),
        "no failure file, no failures dir (spec §8.1 #66)"
    );
    let saved = load_queue(&env.config);
    assert_eq!(saved.entries[0].status, Status::Success);
    assert_eq!(saved.entries[0].failure_count, 0);
    assert_eq!(saved.entries[0].next_retry_at, None);
    let calls = runner.calls();
    assert_eq!(
        calls.iter().map(Call::step).collect::<Vec<_>>(),
        ["create", "install"]
    );
}

// ---------------------------------------------------------------------------------------------
// (3) generation failures
// ---------------------------------------------------------------------------------------------

/// Spec §8.1 #17, §8.2 #73, §4.4: exit code → category; without the "not found in registry"
/// text every generation failure is `failed` with fc+1, and install never runs.
#[tokio::test(start_paused = true)]
async fn generation_exit_codes_map_to_categories() {
    let cases = [
        (Exit::Code(3), Category::RecipeNotFound),
        (Exit::Code(6), Category::InstallFailed),
        (Exit::Code(7), Category::VerifyFailed),
        (Exit::Code(8), Category::MissingDep),
        (Exit::Code(9), Category::GenerationFailed),
        (Exit::Code(1), Category::GenerationFailed),
        (Exit::Code(2), Category::GenerationFailed),
        (Exit::Code(124), Category::GenerationFailed),
        (Exit::Signal(9), Category::GenerationFailed),
    ];
    for (exit, category) in cases {
        let env = env(vec![entry("pkg", "homebrew:pkg")]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(move |_| {
                Ok(Output {
                    exit,
                    stdout: b"  boom\n".to_vec(),
                    stderr: Vec::new(),
                })
            });
        let (planned, _, report) = exec(&env, &mock, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category, "{exit:?}");
        assert_eq!(r.package_id, "homebrew:pkg");
        assert_eq!(r.message, "boom", "{exit:?}: trimmed combined output");
        assert!(r.subcategory.is_empty() && r.blocked_by.is_empty());
        assert_eq!(r.timestamp, NOW);
        let e = &planned.queue.entries[0];
        assert_eq!(
            (e.status.clone(), e.failure_count, e.next_retry_at),
            (Status::Failed, 1, None),
            "{exit:?}"
        );
        assert_eq!((report.results.failed, report.results.blocked), (1, 0));
        check_totals(&report.results);
    }
}

/// Spec §4.5 row 1, §8.1 #37, #39, §8.2 #70, #72: the pattern makes any generation failure
/// blocked (exit 6 becomes `missing_dep`); fc and next_retry_at unchanged; install never
/// called.
#[tokio::test(start_paused = true)]
async fn generation_with_missing_dependency_pattern_is_blocked() {
    for (code, category) in [
        (6, Category::MissingDep),
        (3, Category::RecipeNotFound),
        (9, Category::GenerationFailed),
        (8, Category::MissingDep),
    ] {
        let env = env(vec![failed_entry("guile", "homebrew:guile", 2, Some(PAST))]);
        let mut mock = MockRunner::new();
        mock.expect_run()
            .withf(is_create)
            .times(1)
            .returning(move |_| {
                Ok(out(
                    code,
                    &format!("{PATTERN}\nError: recipe gmp not found in registry\n"),
                    "",
                ))
            });
        let (planned, _, report) = exec(&env, &mock, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category, "exit {code}");
        assert_eq!(r.blocked_by, ["bdw-gc", "gmp"]);
        let e = &planned.queue.entries[0];
        assert_eq!(e.status, Status::Blocked);
        assert_eq!(e.failure_count, 2, "blocked keeps failure_count");
        assert_eq!(
            e.next_retry_at,
            Some(PAST.parse().unwrap()),
            "blocked keeps next_retry_at"
        );
        assert_eq!(
            (
                report.results.total,
                report.results.failed,
                report.results.blocked,
                report.results.succeeded
            ),
            (1, 0, 1, 0)
        );
        assert_eq!(report.results.per_ecosystem["homebrew"].total, 1);
        check_totals(&report.results);
    }
}

/// Spec §8.1 #40, §8.2 #73, #76: without the pattern exit 6 and exit 8 are failed; the file
/// a failed `create` wrote is kept.
#[tokio::test(start_paused = true)]
async fn generation_failure_without_pattern_fails_and_keeps_the_file() {
    for (code, category) in [(6, Category::InstallFailed), (8, Category::MissingDep)] {
        let env = env(vec![entry("pkg", "homebrew:pkg")]);
        let runner = fake(
            |_| Duration::ZERO,
            move |c, _| {
                assert_eq!(c.step(), "create", "install must not run");
                out(code, "Error: deterministic generation failed", "")
            },
        );
        let (planned, _, report) = exec(&env, &runner, &clock()).await;
        let r = only_record(&report);
        assert_eq!(r.category, category);
        assert_eq!(r.message, "Error: deterministic generation failed");
        assert!(r.blocked_by.is_empty());
        assert_eq!(planned.queue.entries[0].status, Status::Failed);
        assert_eq!(planned.queue.entries[0].failure_count, 1);
        assert!(
            env.root.join("recipes/p/pkg.toml").exists(),
            "P is not deleted after a generation failure"
        );
        assert_eq!(runner.calls().len(), 1);
    }
}

/// Issue: a create timeout is `generation_failed` with subcategory `timeout` and is not
/// retried.
#[tokio::test(start_paused = true)]
async fn generation_timeout_is_generation_failed_without_retry() {
    let env = env(vec![entry("pkg", "homebrew:pkg")]);
    let mut mock = MockRunner::new();
    mock.expect_run().withf(is_create).times(1).returning(|_| {
        Ok(Output {
            exit: Exit::TimedOut(secs(900)),
            stdout: b"partial".to_vec(),
            stderr: Vec::new(),
        })
    });
    let (planned, _, report) = exec(&env, &mock, &clock()).await;
    let r = only_record(&report);
    assert_eq!(
        (r.category, r.subcategory.as_str()),
        (Category::GenerationFailed, "timeout")
    );
    assert_eq!(planned.queue.entries[0].status, Status::Failed);
}
