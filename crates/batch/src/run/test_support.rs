//! Helpers shared by the run stage's unit tests.

use batch_base::clock::Clock;

use super::{Event, Plan, RunError, RunReport};
use crate::config::Config;
use crate::runner::Runner;
use crate::sequence::{Finished, MainRun};
use crate::tsuku::Tsuku;

/// The main sequence as production runs it ([`MainRun`]), without a shard: the plan and the
/// report (an empty one when the kill switch is off).
pub(super) async fn run(
    config: &Config,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<(Plan, RunReport), RunError> {
    let hooks = |e: Event<'_>| on_event(e);
    match MainRun::new(config, &Tsuku::for_run(config), runner, clock)
        .hooks(&hooks)
        .run()
        .await
    {
        Ok(Finished::Batch { plan, report }) => Ok((plan, report)),
        Ok(Finished::KillSwitch(plan)) => Ok((plan, RunReport::default())),
        Ok(Finished::Shard { .. }) => unreachable!("no shard was asked for"),
        Err(e) => Err(e.error),
    }
}

/// A project under `root` whose queue holds `n` pending homebrew entries `e0`, `e1`, … with no
/// rate limit, `jobs` job slots and `timeout` per process (the budget tests' layout). Returns
/// the config and the wall-clock time the queue was saved at.
pub(super) fn homebrew_batch(
    root: &std::path::Path,
    n: usize,
    jobs: usize,
    timeout: std::time::Duration,
) -> (Config, jiff::Timestamp) {
    use crate::queue::{Queue, QueueEntry};
    let mut config = Config::rooted(root);
    config.jobs = jobs;
    config.timeout = timeout;
    config.rate_limit.set("homebrew", std::time::Duration::ZERO);
    let queue = Queue {
        schema_version: 1,
        updated_at: None,
        entries: (0..n)
            .map(|i| QueueEntry::new(format!("e{i}"), format!("homebrew:e{i}"), 1))
            .collect(),
        extra: Default::default(),
    };
    let now: jiff::Timestamp = "2026-06-01T12:00:00Z".parse().expect("a valid timestamp");
    queue
        .save(&config.queue, now)
        .expect("the test directory is writable");
    (config, now)
}
