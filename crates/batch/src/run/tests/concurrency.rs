//! Execution tests: rate limits, job slots, per-ecosystem caps, and selection order whatever
//! the concurrency (issues #3, #15).

use super::*;

// ---------------------------------------------------------------------------------------------
// (7) rate limits and jobs
// ---------------------------------------------------------------------------------------------

fn mixed_entries() -> Vec<QueueEntry> {
    let mut v = Vec::new();
    for i in 0..4 {
        v.push(entry(&format!("hb{i}"), &format!("homebrew:hb{i}")));
        if i < 3 {
            v.push(entry(&format!("gh{i}"), &format!("github:o/gh{i}")));
            v.push(entry(&format!("rb{i}"), &format!("rubygems:rb{i}")));
        }
    }
    v
}

fn period(eco: &str) -> Duration {
    RateLimit::default().period(eco)
}

/// Issue: per-ecosystem starts are at least the period apart, ecosystems run at the same time,
/// and `jobs` bounds the generator processes in flight.
#[tokio::test(start_paused = true)]
async fn rate_limits_are_per_ecosystem_and_jobs_bound_concurrency() {
    for jobs in [1, 2, 3, 8] {
        let mut env = env(mixed_entries());
        env.config.jobs = jobs;
        let runner = ScriptedRunner::ok_after(secs(1));
        let t0 = Instant::now();
        let (_, results, report) = exec(&env, &runner, &clock()).await;
        assert_eq!(report.results.succeeded, 10, "jobs {jobs}");
        assert!(
            results
                .iter()
                .all(|r| matches!(r, EntryResult::Done { .. }))
        );
        let calls = runner.calls();
        assert_eq!(calls.len(), 20);
        let starts = create_starts(&calls, t0);
        for (eco, at) in &starts {
            for w in at.windows(2) {
                assert!(
                    w[1] - w[0] >= period(eco),
                    "jobs {jobs}: {eco} starts {at:?}"
                );
            }
        }
        assert!(
            runner.max_in_flight() <= jobs,
            "jobs {jobs}: max {}",
            runner.max_in_flight()
        );
        if jobs == 1 {
            assert_eq!(runner.max_in_flight(), 1);
        }
        if jobs == 2 {
            assert_eq!(
                runner.max_in_flight(),
                2,
                "two slots are used when work is waiting"
            );
        }
        if jobs == 8 {
            // Plenty of slots: each ecosystem starts exactly on its period, and all three start
            // together at 0.
            assert_eq!(starts["homebrew"], [secs(0), secs(1), secs(2), secs(3)]);
            assert_eq!(starts["github"], [secs(0), secs(2), secs(4)]);
            assert_eq!(starts["rubygems"], [secs(0), secs(6), secs(12)]);
            // Last rubygems create at 12 s, its install ends at 14 s.
            assert_eq!(t0.elapsed(), secs(14));
        }
        // Different ecosystems overlap in time whenever two slots exist.
        if jobs >= 2 {
            let overlap = calls.iter().any(|a| {
                calls.iter().any(|b| {
                    a.step() == "create"
                        && b.step() == "create"
                        && a.ecosystem() != b.ecosystem()
                        && a.at <= b.at
                        && b.at < a.at + secs(1)
                })
            });
            assert!(
                overlap,
                "jobs {jobs}: creates of different ecosystems overlap"
            );
        }
    }
}

/// `jobs` bounds every process, install included: 9 unlimited-rate entries with jobs 3 never
/// have more than 3 calls in flight, and use all 3.
#[tokio::test(start_paused = true)]
async fn jobs_bound_with_unlimited_rate() {
    let entries: Vec<_> = (0..9)
        .map(|i| entry(&format!("p{i}"), &format!("npm:p{i}")))
        .collect();
    let mut env = env(entries);
    env.config.jobs = 3;
    env.config.rate_limit.set("npm", Duration::ZERO);
    let runner = ScriptedRunner::ok_after(secs(1));
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &runner, &clock()).await;
    assert_eq!(report.results.succeeded, 9);
    assert_eq!(runner.max_in_flight(), 3);
    // 18 one-second calls on 3 slots take at least 6 s.
    assert!(t0.elapsed() >= secs(6), "{:?}", t0.elapsed());
    // At any instant at most 3 calls are running.
    let calls = runner.calls();
    for c in &calls {
        let running = calls
            .iter()
            .filter(|o| o.at <= c.at && c.at < o.at + secs(1))
            .count();
        assert!(running <= 3, "{running} running at {:?}", c.at - t0);
    }
}

/// `--max-in-flight npm=2` (issue #15): never more than 2 npm processes at once although 8 job
/// slots are free, while uncapped pypi runs beside them. 6 npm entries × 2 one-second steps on
/// 2 slots take at least 6 s.
#[tokio::test(start_paused = true)]
async fn max_in_flight_caps_one_ecosystem_only() {
    let mut entries: Vec<_> = (0..6)
        .map(|i| entry(&format!("n{i}"), &format!("npm:n{i}")))
        .collect();
    entries.extend((0..3).map(|i| entry(&format!("y{i}"), &format!("pypi:y{i}"))));
    let mut env = env(entries);
    env.config.jobs = 8;
    env.config.rate_limit.set("npm", Duration::ZERO);
    env.config.rate_limit.set("pypi", Duration::ZERO);
    env.config.max_in_flight.insert("npm".into(), 2);
    let runner = ScriptedRunner::ok_after(secs(1));
    let t0 = Instant::now();
    let (_, _, report) = exec(&env, &runner, &clock()).await;
    assert_eq!(report.results.succeeded, 9);
    let calls = runner.calls();
    // Name → ecosystem, for install calls too (their argv has only the recipe path).
    let eco_of = |c: &Call| {
        if c.name().starts_with('n') {
            "npm"
        } else {
            "pypi"
        }
    };
    let mut npm_peak = 0;
    let mut pypi_peak = 0;
    for c in &calls {
        let at = |eco: &str| {
            calls
                .iter()
                .filter(|o| eco_of(o) == eco && o.at <= c.at && c.at < o.at + secs(1))
                .count()
        };
        npm_peak = npm_peak.max(at("npm"));
        pypi_peak = pypi_peak.max(at("pypi"));
    }
    assert_eq!(npm_peak, 2, "npm is capped at 2");
    assert_eq!(
        pypi_peak, 3,
        "pypi is not capped: its 3 creates start together"
    );
    assert!(t0.elapsed() >= secs(6), "{:?}", t0.elapsed());
}

/// Issue example: 6 rubygems + 20 homebrew entries, 1 s per generator call, default periods,
/// jobs 4. Reasoning: rubygems creates must start at 0, 6, …, 30 s; the last one ends at 31 s
/// and its install at 32 s. Homebrew needs 2 slots at a time (one create, one install),
/// rubygems at most 1, so 4 slots never delay anything: homebrew creates start at 0, 1, …,
/// 19 s and finish by 21 s. Expected total: 32 s of virtual time.
#[tokio::test(start_paused = true)]
async fn six_rubygems_and_twenty_homebrew_finish_in_about_32_seconds() {
    let mut entries: Vec<_> = (0..20)
        .map(|i| entry(&format!("hb{i:02}"), &format!("homebrew:hb{i:02}")))
        .collect();
    entries.extend((0..6).map(|i| entry(&format!("rb{i}"), &format!("rubygems:rb{i}"))));
    let env = env(entries);
    assert_eq!(env.config.jobs, 4);
    let runner = ScriptedRunner::ok_after(secs(1));
    let c = clock();
    let planned = super::load_plan(&env.config, &c).unwrap();
    assert_eq!(planned.selection.candidates.len(), 26);
    let t0 = Instant::now();
    let results = execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &runner,
        &c,
        &noop,
    )
    .await;
    let elapsed = t0.elapsed();
    eprintln!("6 rubygems + 20 homebrew, jobs 4: {elapsed:?} of virtual time");
    assert!(results.iter().all(|r| matches!(
        r,
        EntryResult::Done {
            outcome: Outcome::Succeeded { .. },
            ..
        }
    )));
    assert!(elapsed >= secs(30) && elapsed <= secs(34), "{elapsed:?}");
    assert_eq!(elapsed, secs(32));
    let starts = create_starts(&runner.calls(), t0);
    assert_eq!(
        starts["rubygems"],
        (0..6).map(|i| secs(6 * i)).collect::<Vec<_>>()
    );
    assert_eq!(starts["homebrew"], (0..20).map(secs).collect::<Vec<_>>());
    assert!(runner.max_in_flight() <= 4);
}

// ---------------------------------------------------------------------------------------------
// (9) selection order whatever the concurrency
// ---------------------------------------------------------------------------------------------

fn varied_entries() -> Vec<QueueEntry> {
    vec![
        entry("slow", "homebrew:slow"),
        entry("quick", "cargo:quick"),
        failed_entry("guile", "homebrew:guile", 1, None),
        entry("flaky", "npm:flaky"),
        entry("wget", "github:mirror/wget"),
        failed_entry("cover", "pypi:cover", 2, Some(PAST)),
        entry("gem", "rubygems:gem"),
        entry("nosep", "nosep"),
        entry("later", "cargo:later"),
    ]
}

fn varied_runner() -> ScriptedRunner {
    fake(
        |c| match c.name().as_str() {
            "slow" => secs(9),
            "guile" | "later" => Duration::ZERO,
            _ => secs(1),
        },
        |c, _| match (c.name().as_str(), c.step()) {
            ("slow", "create") => out(6, "Error: deterministic generation failed", ""),
            ("guile", "create") => out(6, PATTERN, ""),
            ("flaky", "create") => out(5, "registry 503", ""),
            ("wget", "install") => out(
                3,
                r#"{"missing_recipes":["libidn2"]}"#,
                "Error: recipe libidn2 not found",
            ),
            ("cover", "install") => out(7, "", "verify failed"),
            ("nosep", "create") => out(1, "no", ""),
            _ => ok(),
        },
    )
}

/// Issue: records and results are in selection order whatever the concurrency: jobs 1 and
/// jobs 8 give identical failure records, results, recipes and queue entries, although with
/// jobs 8 entries finish out of order.
#[tokio::test(start_paused = true)]
async fn jobs_one_and_eight_give_identical_records() {
    let mut outcomes = Vec::new();
    for jobs in [1, 8] {
        let mut env = env(varied_entries());
        env.config.jobs = jobs;
        let runner = varied_runner();
        let events = Mutex::new(Vec::new());
        let on = |e: Event<'_>| events.lock().unwrap().extend(own(e));
        let c = clock();
        let mut planned = super::load_plan(&env.config, &c).unwrap();
        let results = execute_plan(
            &planned,
            &env.config,
            &Tsuku::for_run(&env.config),
            &runner,
            &c,
            &on,
        )
        .await;
        let mut report = apply_results(&mut planned, &results, &env.config, &c);
        check_totals(&report.results);
        let finished: Vec<usize> = events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Ev::Finished { pos, .. } => Some(*pos),
                _ => None,
            })
            .collect();
        assert_eq!(finished.len(), 9);
        if jobs == 8 {
            let mut sorted = finished.clone();
            sorted.sort_unstable();
            assert_ne!(
                finished, sorted,
                "entries finish out of selection order with jobs 8"
            );
        }
        save_run(&mut planned, &mut report, &env.config, &c).unwrap();
        let failure_files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&env.config.failures_dir)
            .unwrap()
            .map(|d| {
                let d = d.unwrap();
                (
                    d.file_name().to_string_lossy().into_owned(),
                    std::fs::read(d.path()).unwrap(),
                )
            })
            .collect();
        // Recipe paths relative to the temporary root, so the two runs compare.
        let results: Vec<EntryResult> = results
            .into_iter()
            .map(|r| match r {
                EntryResult::Done {
                    outcome: Outcome::Succeeded { recipe },
                    at,
                } => EntryResult::Done {
                    outcome: Outcome::Succeeded {
                        recipe: recipe.strip_prefix(&env.root).unwrap().to_owned(),
                    },
                    at,
                },
                other => other,
            })
            .collect();
        outcomes.push((
            results,
            report,
            planned.queue.entries.clone(),
            failure_files,
        ));
    }
    let (r1, rep1, q1, f1) = &outcomes[0];
    let (r8, rep8, q8, f8) = &outcomes[1];
    assert_eq!(rep1.failures, rep8.failures);
    assert_eq!(rep1.results, rep8.results);
    assert_eq!(rep1.recipes, rep8.recipes);
    assert_eq!(r1, r8);
    assert_eq!(q1, q8);
    assert_eq!(f1, f8);

    // And that order is selection order, derived from the spec for each entry.
    let ids: Vec<&str> = rep1
        .failures
        .iter()
        .map(|f| f.package_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "homebrew:slow",
            "homebrew:guile",
            "npm:flaky",
            "github:mirror/wget",
            "pypi:cover",
            "nosep"
        ]
    );
    let cats: Vec<Category> = rep1.failures.iter().map(|f| f.category).collect();
    assert_eq!(
        cats,
        [
            Category::InstallFailed,
            Category::MissingDep,
            Category::NetworkError,
            Category::RecipeNotFound,
            Category::VerifyFailed,
            Category::GenerationFailed
        ]
    );
    assert_eq!(rep1.recipes, ["quick.toml", "gem.toml", "later.toml"]);
    let r = &rep1.results;
    assert_eq!((r.total, r.succeeded, r.failed, r.blocked), (9, 3, 4, 2));
    assert_eq!(
        r.ecosystems.get(""),
        Some(&1),
        "no colon → ecosystem \"\" (spec §8.1 #36)"
    );
    assert_eq!(r.per_ecosystem["homebrew"].total, 2);
    assert_eq!(r.per_ecosystem["homebrew"].failed, 1);
    let statuses: Vec<&str> = q1.iter().map(|e| e.status.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "failed", "success", "blocked", "failed", "blocked", "failed", "success", "failed",
            "success"
        ]
    );
    assert_eq!(q1[5].failure_count, 3);
    assert_eq!(q1[5].next_retry_at, Some(plus_hours(now(), 72)));
    assert_eq!(q1[2].failure_count, 1, "blocked keeps fc");
    assert!(f1.contains_key("nosep-2026-06-01T12-00-00Z.jsonl"));
}
