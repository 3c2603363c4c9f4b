//! `--max-duration` (issue #15): nothing starts that cannot finish before the deadline, and
//! the candidates left out are reported. Paused tokio time, scripted generator.

use std::time::Duration;

use batch_base::clock::FixedClock;
use tokio::time::Instant;

use crate::config::Config;
use crate::queue::{Queue, QueueEntry, Status};
use crate::run::execute::{BUDGET_REACHED, percentile_90};
use crate::run::test_support::homebrew_batch;
use crate::runner::fake::ScriptedRunner;
use crate::sequence::{Finished, MainRun};
use crate::tsuku::Tsuku;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn percentile_90_is_the_nearest_rank() {
    assert_eq!(percentile_90(&[]), None);
    assert_eq!(percentile_90(&[secs(7)]), Some(secs(7)));
    let ten: Vec<Duration> = (1..=10).rev().map(secs).collect();
    assert_eq!(percentile_90(&ten), Some(secs(9)));
    let eleven: Vec<Duration> = (1..=11).map(secs).collect();
    assert_eq!(percentile_90(&eleven), Some(secs(10)));
}

/// Ten entries, one job, every generator call 10 s (an entry: create + install, 20 s),
/// `--timeout` 30 s and a 45 s budget: the first starts (30 s expected), the second at 20 s
/// (20 s expected, ends at 40 s), the third would end at 60 s and does not start.
#[tokio::test(start_paused = true)]
async fn nothing_starts_that_cannot_finish_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (config, now) = homebrew_batch(dir.path(), 10, 1, secs(30));
    let runner = ScriptedRunner::ok_after(secs(10));
    let clock = FixedClock::new(now);
    let t0 = Instant::now();
    let deadline = t0 + secs(45);
    let Finished::Batch { report, .. } =
        MainRun::new(&config, &Tsuku::for_run(&config), &runner, &clock)
            .deadline(deadline)
            .run()
            .await
            .unwrap()
    else {
        panic!("a whole batch");
    };
    let creates = runner.names("create");
    assert_eq!(creates, ["e0", "e1"]);
    for call in runner.calls() {
        assert!(
            call.at + secs(10) <= deadline,
            "a call ran past the deadline"
        );
    }
    assert_eq!(report.results.succeeded, 2);
    assert_eq!(report.not_run.len(), 8);
    assert!(report.not_run.iter().all(|(_, _, r)| r == BUDGET_REACHED));
    let saved = Queue::load(&config.queue).unwrap();
    let statuses: Vec<Status> = saved.entries.iter().map(|e| e.status.clone()).collect();
    assert_eq!(&statuses[..2], [Status::Success, Status::Success]);
    assert!(statuses[2..].iter().all(|s| *s == Status::Pending));
    assert!(Instant::now() <= deadline);
}

/// Before any entry finished, the estimate is `--timeout`: with a budget shorter than it,
/// nothing starts at all.
#[tokio::test(start_paused = true)]
async fn before_any_duration_the_estimate_is_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::rooted(dir.path());
    config.timeout = secs(60);
    let queue = Queue {
        schema_version: 1,
        updated_at: None,
        entries: vec![QueueEntry::new("a", "homebrew:a", 1)],
        extra: Default::default(),
    };
    let now: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().unwrap();
    queue.save(&config.queue, now).unwrap();
    let runner = ScriptedRunner::ok_after(secs(1));
    let clock = FixedClock::new(now);
    let Finished::Batch { report, .. } =
        MainRun::new(&config, &Tsuku::for_run(&config), &runner, &clock)
            .deadline(Instant::now() + secs(59))
            .run()
            .await
            .unwrap()
    else {
        panic!("a whole batch");
    };
    assert!(runner.calls().is_empty());
    assert_eq!(report.not_run, vec![(0, "a".into(), BUDGET_REACHED.into())]);
}
