//! The adaptive slowdown through the whole executor (issue #15): a burst of network exits
//! slows an ecosystem down, successes bring it back step by step, and no two `create` starts
//! of the ecosystem are ever closer than the period in force, nor than the configured one.

use super::*;
use crate::run::adaptive::{Adaptive, PaceReason};

/// K = 2 within 60 s, cap 4 ×, one step back after 2 answers. The first 4 `create` processes
/// (whichever entries they belong to) exit 5, every later one exits 0.
#[tokio::test(start_paused = true)]
async fn a_burst_of_exit_5_slows_down_and_successes_recover() {
    let names: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let mut env = env(names
        .iter()
        .map(|n| entry(n, &format!("pypi:{n}")))
        .collect());
    env.config.jobs = 2;
    env.config.rate_limit.set("pypi", secs(1));
    env.config.adaptive = Adaptive {
        threshold: 2,
        cap: 4,
        recover_after: 2,
        ..Adaptive::default()
    };
    let starts = Arc::new(Mutex::new(Vec::new()));
    let creates = Arc::new(AtomicUsize::new(0));
    let mut mock = MockRunner::new();
    let (log, n) = (Arc::clone(&starts), Arc::clone(&creates));
    mock.expect_run().returning(move |cmd| {
        if !is_create(&cmd) {
            return Ok(ok());
        }
        log.lock().unwrap().push(Instant::now());
        let k = n.fetch_add(1, Ordering::SeqCst);
        Ok(if k < 4 { out(5, "503", "") } else { ok() })
    });
    let changes = Mutex::new(Vec::new());
    let on = |e: Event<'_>| {
        if let Event::PaceChanged { ecosystem, change } = e {
            assert_eq!(ecosystem, "pypi");
            changes.lock().unwrap().push((Instant::now(), change));
        }
    };
    let c = clock();
    let planned = super::load_plan(&env.config, &c).unwrap();
    let t0 = Instant::now();
    execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &mock,
        &c,
        &on,
    )
    .await;

    let changes = changes.into_inner().unwrap();
    let steps: Vec<(u64, u64, bool)> = changes
        .iter()
        .map(|(_, ch)| {
            (
                ch.from.as_secs(),
                ch.to.as_secs(),
                matches!(ch.reason, PaceReason::PushBack { .. }),
            )
        })
        .collect();
    // Two bursts of two: 1 → 2 → 4 s (the cap); then 2 answers each: 4 → 2 → 1 s.
    assert_eq!(
        steps,
        [(1, 2, true), (2, 4, true), (4, 2, false), (2, 1, false)]
    );

    let starts: Vec<Duration> = starts.lock().unwrap().iter().map(|t| *t - t0).collect();
    // Never faster than configured: consecutive starts at least 1 s apart.
    for w in starts.windows(2) {
        assert!(w[1] - w[0] >= secs(1), "starts {starts:?}");
    }
    // Never faster than the period in force: after each change at T to P, the next start is
    // at T + P or later, and so is each start after it until the next change.
    for (i, (at, ch)) in changes.iter().enumerate() {
        let at = *at - t0;
        let until = changes.get(i + 1).map_or(Duration::MAX, |(t, _)| *t - t0);
        let mut prev = at;
        for s in starts.iter().filter(|s| **s > at && **s < until) {
            assert!(
                *s - prev >= ch.to,
                "start at {s:?} after {prev:?} while the period is {:?}; starts {starts:?}",
                ch.to
            );
            prev = *s;
        }
    }
    // Exactly: exits 5 at 0 and 1 → 2 s from 1; at 3 and 5 → 4 s from 5; answers at 9 and 13
    // → 2 s from 13; at 15 and 17 → 1 s from 17; then 1 s apart. 4 failed attempts + 10
    // successes = 14 starts.
    assert_eq!(
        starts,
        [0, 1, 3, 5, 9, 13, 15, 17, 18, 19, 20, 21, 22, 23].map(secs)
    );
}

/// `--adaptive off`: the same burst changes nothing, and starts keep the configured spacing.
#[tokio::test(start_paused = true)]
async fn off_keeps_the_configured_period() {
    let mut env = env((0..6)
        .map(|i| entry(&format!("p{i}"), &format!("pypi:p{i}")))
        .collect());
    env.config.adaptive.enabled = false;
    let mut mock = MockRunner::new();
    mock.expect_run().returning(|cmd| {
        Ok(if is_create(&cmd) {
            out(5, "503", "")
        } else {
            ok()
        })
    });
    let changed = AtomicUsize::new(0);
    let on = |e: Event<'_>| {
        if matches!(e, Event::PaceChanged { .. }) {
            changed.fetch_add(1, Ordering::SeqCst);
        }
    };
    let c = clock();
    let planned = super::load_plan(&env.config, &c).unwrap();
    execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &mock,
        &c,
        &on,
    )
    .await;
    assert_eq!(changed.load(Ordering::SeqCst), 0);
}

/// What every `create` of `names` (pypi, 1 s apart, K = 2, cap 4, jobs 2, the unreachable
/// stop off so every attempt runs) prints when it exits 5; returns the pace changes and the
/// `create` start times from the run's start.
async fn all_exit_5(text: &'static str) -> (Vec<PaceReason>, Vec<Duration>) {
    let mut env = env((0..4)
        .map(|i| entry(&format!("p{i}"), &format!("pypi:p{i}")))
        .collect());
    env.config.jobs = 2;
    env.config.unreachable_after = 0;
    env.config.rate_limit.set("pypi", secs(1));
    env.config.adaptive = Adaptive {
        threshold: 2,
        cap: 4,
        ..Adaptive::default()
    };
    let starts = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&starts);
    let mut mock = MockRunner::new();
    mock.expect_run().returning(move |cmd| {
        if !is_create(&cmd) {
            return Ok(ok());
        }
        log.lock().unwrap().push(Instant::now());
        Ok(out(5, text, ""))
    });
    let changes = Mutex::new(Vec::new());
    let on = |e: Event<'_>| {
        if let Event::PaceChanged { change, .. } = e {
            changes.lock().unwrap().push(change.reason);
        }
    };
    let c = clock();
    let planned = super::load_plan(&env.config, &c).unwrap();
    let t0 = Instant::now();
    execute_plan(
        &planned,
        &env.config,
        &Tsuku::for_run(&env.config),
        &mock,
        &c,
        &on,
    )
    .await;
    let starts = starts.lock().unwrap().iter().map(|t| *t - t0).collect();
    (changes.into_inner().unwrap(), starts)
}

/// Issue #22: a network exit whose dial failed (tsuku's offline error, as in
/// `testdata/tsuku-cli/transcript.txt`) never slows the pace, so its retries keep the
/// configured 1 s spacing; the same exits with the registry's 503 are push-back and slow it
/// down, so the same 16 attempts take longer.
#[tokio::test(start_paused = true)]
async fn connection_failures_do_not_slow_down_but_push_back_does() {
    const OFFLINE: &str = "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError checking package: failed to fetch formula info: Get \"https://pypi.org/pypi/p/json\": dial tcp: lookup pypi.org on 192.0.2.53:53: no such host\n";
    const BUSY: &str = "Warning: Skipping recipe review (--yes). The recipe will be installed without confirmation.\nError checking package: PyPI returned status 503\n";
    let (offline, offline_starts) = all_exit_5(OFFLINE).await;
    let (busy, busy_starts) = all_exit_5(BUSY).await;
    // 4 entries × 4 attempts (3 retries) each, in both runs.
    assert_eq!((offline_starts.len(), busy_starts.len()), (16, 16));
    assert_eq!(offline, []);
    assert!(
        !busy.is_empty()
            && busy
                .iter()
                .all(|r| matches!(r, PaceReason::PushBack { exits: 2, .. })),
        "{busy:?}"
    );
    // Offline: never faster than configured, and never slower than it or the backoff make
    // it: each start is 1 s after the one before or waits for a retry delay (1, 2, 4 s).
    for w in offline_starts.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= secs(1) && gap <= secs(4),
            "starts {offline_starts:?}"
        );
    }
    // The slowdown makes some gap 4 s × 1 s = the cap, and the run longer.
    assert!(
        busy_starts.windows(2).any(|w| w[1] - w[0] >= secs(4)),
        "{busy_starts:?}"
    );
    assert!(
        offline_starts.last() < busy_starts.last(),
        "offline {offline_starts:?}, busy {busy_starts:?}"
    );
}
