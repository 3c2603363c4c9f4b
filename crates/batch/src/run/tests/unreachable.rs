//! A dead upstream ends its ecosystem's part of the run (issue #22, `--unreachable-after K`):
//! K entries of one ecosystem in a row that exhausted their retries on the network code stop
//! that ecosystem; its other entries are not run and stay as they were, and other ecosystems
//! go on. Paused tokio time (the test clock), scripted generator.

use super::*;
use crate::run::unreachable_reason;

/// Every homebrew `create` exits 5; everything else (pypi's creates, installs) exits 0.
fn homebrew_down(call: &Call) -> Reply {
    if call.step() == "create" && call.ecosystem() == "homebrew" {
        Reply::code(5).stderr(
            "Error: failed to fetch formula: dial tcp: lookup formulae.brew.sh: no such host\n",
        )
    } else {
        Reply::code(0)
    }
}

fn queue_of(homebrew: usize, pypi: usize) -> Vec<QueueEntry> {
    (0..homebrew)
        .map(|i| entry(&format!("h{i}"), &format!("homebrew:h{i}")))
        .chain((0..pypi).map(|i| entry(&format!("p{i}"), &format!("pypi:p{i}"))))
        .collect()
}

/// K = 3, one job, homebrew's default 1 s period. h0, h1, h2 each make 4 `create` attempts
/// (1 + 3 retries, which go before new entries) and fail; then homebrew is unreachable: h3..h5 never start, are reported `homebrew unreachable` and stay
/// pending with no failure count or backoff. pypi finishes. The breaker records homebrew's
/// failed batch as before (3 failed, 0 succeeded), and the event is emitted once.
#[tokio::test(start_paused = true)]
async fn k_exhausted_entries_in_a_row_stop_the_ecosystem_and_others_go_on() {
    let mut env = env(queue_of(6, 2));
    env.config.jobs = 1;
    env.config.unreachable_after = 3;
    let runner = ScriptedRunner::new(homebrew_down);
    let declared = Mutex::new(Vec::new());
    let on = |e: Event<'_>| {
        if let Event::Unreachable { ecosystem, after } = e {
            declared.lock().unwrap().push((ecosystem.to_owned(), after));
        }
    };
    let (_, report) = run(&env.config, &runner, &clock(), &on).await.unwrap();

    assert_eq!(declared.into_inner().unwrap(), [("homebrew".to_owned(), 3)]);
    // Retries go before new entries, so h3 never got its turn (each of h0..h2: 4 attempts).
    let mut homebrew: Vec<String> = runner
        .names("create")
        .into_iter()
        .filter(|n| n.starts_with('h'))
        .collect();
    homebrew.sort();
    assert_eq!(
        homebrew,
        [
            "h0", "h0", "h0", "h0", "h1", "h1", "h1", "h1", "h2", "h2", "h2", "h2"
        ]
    );
    assert_eq!(report.results.per_ecosystem["homebrew"].failed, 3);
    assert_eq!(report.results.per_ecosystem["pypi"].succeeded, 2);
    let reason = unreachable_reason("homebrew");
    assert_eq!(
        report.not_run,
        vec![
            (3, "h3".into(), reason.clone()),
            (4, "h4".into(), reason.clone()),
            (5, "h5".into(), reason),
        ]
    );
    let q = load_queue(&env.config);
    for e in &q.entries {
        let expected = match e.name.as_str() {
            "h0" | "h1" | "h2" => (Status::Failed, 1),
            "h3" | "h4" | "h5" => (Status::Pending, 0),
            _ => (Status::Success, 0),
        };
        assert_eq!((e.status.clone(), e.failure_count), expected, "{}", e.name);
        if expected.0 != Status::Failed {
            assert_eq!(e.next_retry_at, None, "{}: no backoff", e.name);
        }
    }
    // The failure records are those of the three entries that ran, and no more.
    assert_eq!(report.failures.len(), 3);
    let control = crate::control::ControlFile::load(&env.config.control_file).unwrap();
    assert_eq!(control.breakers["homebrew"].failures, 1, "one failed batch");
}

/// The streak is in a row, in the order entries finish: an entry that fails for another
/// reason in between starts it again. K = 2; h1 meets the network code 3 times, then exits 6
/// (an answer). The declaration comes right after the first point where the last two
/// homebrew entries to finish both exhausted their retries, and not before; h1's answer
/// made it come later than the second exhausted entry.
#[tokio::test(start_paused = true)]
async fn an_answer_in_between_restarts_the_streak() {
    let mut env = env(queue_of(8, 0));
    env.config.jobs = 1;
    env.config.unreachable_after = 2;
    let runner = ScriptedRunner::new(|call| {
        if call.step() == "create" && call.name() == "h1" && call.attempt >= 3 {
            Reply::code(6).stderr("Error: no bottle for this platform\n")
        } else {
            homebrew_down(call)
        }
    });
    // (name, exhausted on the network code) per finished entry, and `None` for the event.
    let seen = Mutex::new(Vec::new());
    let on = |e: Event<'_>| match e {
        Event::Finished {
            name,
            result: EntryResult::Done { outcome, .. },
            ..
        } => {
            let net = outcome
                .record()
                .is_some_and(|r| r.category == Category::NetworkError);
            seen.lock().unwrap().push(Some((name.to_owned(), net)));
        }
        Event::Unreachable { .. } => seen.lock().unwrap().push(None),
        _ => {}
    };
    let (_, report) = run(&env.config, &runner, &clock(), &on).await.unwrap();
    let seen = seen.into_inner().unwrap();
    let declared = seen.iter().position(Option::is_none).expect("declared");
    let before: Vec<&(String, bool)> = seen[..declared].iter().flatten().collect();
    let first_pair = before
        .windows(2)
        .position(|w| w[0].1 && w[1].1)
        .expect("two in a row");
    assert_eq!(
        first_pair + 2,
        before.len(),
        "declared at the first pair: {seen:?}"
    );
    assert!(
        before.iter().any(|(n, net)| n == "h1" && !net),
        "h1 answered before the declaration: {seen:?}"
    );
    assert!(
        before.iter().filter(|(_, net)| *net).count() > 2,
        "h1's answer broke a streak: {seen:?}"
    );
    assert!(!report.not_run.is_empty());
}

/// 0 disables the stop: every entry runs its four attempts.
#[tokio::test(start_paused = true)]
async fn zero_runs_everything() {
    let mut env = env(queue_of(4, 0));
    env.config.jobs = 1;
    env.config.unreachable_after = 0;
    let runner = ScriptedRunner::new(homebrew_down);
    let (_, report) = run(&env.config, &runner, &clock(), &|_| {}).await.unwrap();
    assert_eq!(runner.names("create").len(), 16);
    assert!(report.not_run.is_empty());
    assert_eq!(report.results.failed, 4);
}

/// Three jobs, homebrew's default 1 s period and the adaptive slowdown on: several entries are
/// between retries when the K-th exhausts its own. From that moment no homebrew `create`
/// starts and nothing waits: the run ends at the instant of the declaration (every reply is
/// instant). The entries cut between retries end not run and unchanged, like those never
/// started.
#[tokio::test(start_paused = true)]
async fn nothing_waits_for_permits_after_the_stop() {
    let mut env = env(queue_of(8, 0));
    env.config.jobs = 3;
    env.config.unreachable_after = 2;
    let runner = ScriptedRunner::new(homebrew_down);
    let declared_at = Mutex::new(None);
    let on = |e: Event<'_>| {
        if matches!(e, Event::Unreachable { .. }) {
            *declared_at.lock().unwrap() = Some(Instant::now());
        }
    };
    let (_, report) = run(&env.config, &runner, &clock(), &on).await.unwrap();
    let declared_at = declared_at.into_inner().unwrap().expect("declared");
    assert_eq!(Instant::now(), declared_at, "nothing waited after the stop");
    assert!(runner.calls().iter().all(|c| c.at <= declared_at));
    assert_eq!(
        report.results.failed, 2,
        "only the K entries that exhausted their retries"
    );
    assert_eq!(report.not_run.len(), 6);
    let cut: Vec<&str> = report
        .not_run
        .iter()
        .map(|(_, n, _)| n.as_str())
        .filter(|n| runner.names("create").iter().any(|c| c == n))
        .collect();
    assert!(!cut.is_empty(), "some entries were cut between retries");
    let q = load_queue(&env.config);
    let failed = q
        .entries
        .iter()
        .filter(|e| e.status == Status::Failed)
        .count();
    let untouched = q
        .entries
        .iter()
        .filter(|e| {
            e.status == Status::Pending && e.failure_count == 0 && e.next_retry_at.is_none()
        })
        .count();
    assert_eq!((failed, untouched), (2, 6));
    // A create cut between retries leaves no partial recipe behind.
    for n in cut {
        assert!(
            !env.root
                .join(format!("recipes/{}/{n}.toml", &n[..1]))
                .exists(),
            "{n}"
        );
    }
}
