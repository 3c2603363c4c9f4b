//! The stop at the deadline of `--max-duration` (issue #15). The executor starts only what is
//! expected to finish in time (`execute.rs`, `fits_budget`); what still runs at the deadline
//! (an estimate can be wrong) is stopped by `stop_at`, as SIGTERM would stop it, and is
//! reported with [`super::BUDGET_STOPPED`]. [`crate::sequence::MainRun`] spawns it from its
//! one `deadline` setting and aborts it when the run ends.

use tokio::sync::watch;

use crate::runner::Stop;

/// Waits until `deadline` (tokio's clock), then moves `stop` from [`Stop::Running`] to
/// [`Stop::Graceful`]: nothing new starts, and the runner SIGTERMs running generators and
/// SIGKILLs them after the grace period. A stop already under way (a signal came first) is
/// left as it is. Spawn it next to the run and abort it when the run ends.
pub(crate) async fn stop_at(deadline: tokio::time::Instant, stop: watch::Sender<Stop>) {
    tokio::time::sleep_until(deadline).await;
    stop.send_if_modified(|s| {
        let running = *s == Stop::Running;
        if running {
            *s = Stop::Graceful;
        }
        running
    });
}

/// The [`stop_at`] task of one run, aborted when dropped (the timer ends with the run).
pub(crate) struct DeadlineStop(tokio::task::JoinHandle<()>);

impl DeadlineStop {
    /// Spawns [`stop_at`] on the current tokio runtime.
    pub(crate) fn spawn(deadline: tokio::time::Instant, stop: watch::Sender<Stop>) -> Self {
        Self(tokio::spawn(stop_at(deadline, stop)))
    }
}

impl Drop for DeadlineStop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use batch_base::clock::FixedClock;
    use tokio::time::Instant;

    use super::*;
    use crate::queue::{Queue, Status};
    use crate::run::test_support::homebrew_batch;
    use crate::run::{BUDGET_REACHED, BUDGET_STOPPED};
    use crate::runner::fake::{Reply, ScriptedRunner};
    use crate::sequence::{Finished, MainRun};
    use crate::tsuku::Tsuku;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[tokio::test(start_paused = true)]
    async fn a_signal_first_is_left_alone() {
        let (tx, rx) = watch::channel(Stop::Immediate);
        stop_at(Instant::now() + secs(5), tx).await;
        assert_eq!(*rx.borrow(), Stop::Immediate);
        let (tx, rx) = watch::channel(Stop::Running);
        let t0 = Instant::now();
        stop_at(t0 + secs(5), tx).await;
        assert_eq!((*rx.borrow(), t0.elapsed()), (Stop::Graceful, secs(5)));
    }

    /// Two jobs, a 25 s budget, `--timeout` 20 s. At 0 s e0 and e1 start (each expected to
    /// take the timeout, 20 s: they fit). e0's calls take 10 s each: it is done at 20 s. Then
    /// e2 would be expected to take 20 s (e0's duration) and end at 40 s: it never starts
    /// ("budget reached"). e1's create takes 30 s: at 25 s the deadline stops it ("stopped at
    /// the budget's deadline"), its partial recipe is gone and its entry stays pending. e0 is
    /// saved.
    #[tokio::test(start_paused = true)]
    async fn what_runs_at_the_deadline_is_stopped_and_reported_apart() {
        let dir = tempfile::tempdir().unwrap();
        let (config, now) = homebrew_batch(dir.path(), 3, 2, secs(20));
        let (tx, rx) = watch::channel(Stop::Running);
        let runner = ScriptedRunner::new(|call| {
            let d = if call.name() == "e1" { 30 } else { 10 };
            Reply::code(0).after(secs(d))
        })
        .stopped_by(rx.clone());
        let clock = FixedClock::new(now);
        let t0 = Instant::now();
        let deadline = t0 + secs(25);
        // The run spawns the deadline's stop itself.
        let Finished::Batch { report, .. } =
            MainRun::new(&config, &Tsuku::for_run(&config), &runner, &clock)
                .deadline(deadline)
                .stop(tx)
                .run()
                .await
                .unwrap()
        else {
            panic!("a whole batch");
        };
        assert_eq!(
            Instant::now() - t0,
            secs(25),
            "the run ends at the deadline"
        );
        assert_eq!(runner.names("create"), ["e0", "e1"]);
        assert_eq!(report.results.succeeded, 1);
        assert_eq!(
            report.not_run,
            vec![
                (1, "e1".into(), BUDGET_STOPPED.into()),
                (2, "e2".into(), BUDGET_REACHED.into()),
            ]
        );
        assert!(!config.output_dir.join("e/e1.toml").exists());
        assert!(config.output_dir.join("e/e0.toml").exists());
        let saved = Queue::load(&config.queue).unwrap();
        let statuses: Vec<Status> = saved.entries.iter().map(|e| e.status.clone()).collect();
        assert_eq!(
            statuses,
            [Status::Success, Status::Pending, Status::Pending]
        );
    }
}
