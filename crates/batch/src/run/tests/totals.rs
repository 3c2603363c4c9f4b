//! The totals invariant (spec §4.7, property test): for any mix of exits and any `jobs`,
//! every processed entry has exactly one outcome and the status the spec gives it.

use super::*;

// ---------------------------------------------------------------------------------------------
// (13) totals invariant
// ---------------------------------------------------------------------------------------------

/// What one generated entry does: create exit, whether create prints the pattern, install exit.
#[derive(Debug, Clone, Copy)]
struct Script1 {
    create: i32,
    pattern: bool,
    install: i32,
    eco: usize,
    delay: u64,
}

fn script1() -> impl Strategy<Value = Script1> {
    (
        prop::sample::select(vec![0, 0, 0, 1, 3, 5, 6, 8, 9]),
        any::<bool>(),
        prop::sample::select(vec![0, 0, 3, 5, 6, 7, 8]),
        0..4usize,
        0..3u64,
    )
        .prop_map(|(create, pattern, install, eco, delay)| Script1 {
            create,
            pattern,
            install,
            eco,
            delay,
        })
}

/// The spec's outcome for a script (§4.5 last column).
fn expected_status(s: &Script1) -> Status {
    match (s.create, s.install) {
        (0, 0) => Status::Success,
        (0, 3 | 8) => Status::Blocked,
        (0, _) | (5, _) => Status::Failed,
        _ if s.pattern => Status::Blocked,
        _ => Status::Failed,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Spec §4.7: every processed entry has exactly one outcome, so
    /// `succeeded + failed + blocked == total`, and each entry's status is the spec's, for any
    /// mix of exits and any `jobs`.
    #[test]
    fn totals_always_add_up(scripts in prop::collection::vec(script1(), 0..10), jobs in 1..5usize) {
        let ecos = ["homebrew", "cargo", "github", "rubygems"];
        let entries: Vec<QueueEntry> = scripts
            .iter()
            .enumerate()
            .map(|(i, s)| entry(&format!("e{i}"), &format!("{}:e{i}", ecos[s.eco])))
            .collect();
        let by_name: HashMap<String, Script1> =
            scripts.iter().enumerate().map(|(i, s)| (format!("e{i}"), *s)).collect();
        let by_name = Arc::new(by_name);
        let (d, s) = (Arc::clone(&by_name), Arc::clone(&by_name));
        let runner = fake(
            move |c| secs(d[&c.name()].delay),
            move |c, _| {
                let sc = s[&c.name()];
                if c.step() == "create" {
                    out(sc.create, if sc.pattern { PATTERN } else { "plain" }, "")
                } else {
                    out(sc.install, "", "err")
                }
            },
        );
        let mut env = env(entries);
        env.config.jobs = jobs;
        // Every entry runs to its spec outcome: three exits 5 of one ecosystem in a row would
        // otherwise stop it (`--unreachable-after`, issue #22; run/tests/unreachable.rs) and
        // leave the next entries not run.
        env.config.unreachable_after = 0;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let (planned, results, report) = rt.block_on(exec(&env, &runner, &clock()));
        let r = &report.results;
        check_totals(r);
        prop_assert_eq!(r.total, scripts.len());
        prop_assert_eq!(results.len(), scripts.len());
        prop_assert_eq!(report.failures.len(), r.failed + r.blocked);
        prop_assert_eq!(report.recipes.len(), r.succeeded);
        prop_assert!(runner.max_in_flight() <= jobs);
        for (i, s) in scripts.iter().enumerate() {
            prop_assert_eq!(&planned.queue.entries[i].status, &expected_status(s), "entry {} {:?}", i, s);
        }
        let count = |st: Status| planned.queue.entries.iter().filter(|e| e.status == st).count();
        prop_assert_eq!(count(Status::Success), r.succeeded);
        prop_assert_eq!(count(Status::Failed), r.failed);
        prop_assert_eq!(count(Status::Blocked), r.blocked);
    }
}
