//! The main sequence, composed once over the stages of [`crate::run`] and [`crate::shard`]: plan → lock → recover → execute → persist for a whole
//! batch, or plan (at the batch's plan time) → split → execute → fragment for one shard
//! (issue #6). The binary's main run, its `--shard` run and `demo` all go through
//! [`MainRun`]; so do the library's tests, which therefore exercise the path production takes.
//!
//! The caller supplies the [`Generator`] (what to run and how to read it), the [`Runner`]
//! (the process layer that runs it), the wall [`Clock`], an optional stop channel (signals)
//! and [`Hooks`] for everything it wants to show (plan findings, progress, recovery). The run
//! itself stops what still runs at its `--max-duration` deadline ([`MainRun::deadline`]) and,
//! with a [`ProcessRunner`] ([`MainRun::with_processes`]), records its processes in the
//! journal. Nothing here prints or exits; what stops a run is a [`SequenceError`] naming its
//! [`Stage`].

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use batch_base::clock::{Clock, FixedClock};
use jiff::Timestamp;
use tokio::sync::watch;

use crate::config::Config;
use crate::generator::Generator;
use crate::lock::RunLock;
use crate::queue::Queue;
use crate::records::OutcomeKind;
use crate::records::timestamp::Rfc3339;
use crate::run::apply::{RunReport, apply_results};
use crate::run::deadline::DeadlineStop;
use crate::run::error::RunError;
use crate::run::execute::{EntryResult, Event, ExecuteOptions, execute_plan_with};
use crate::run::hooks::{Hooks, NoHooks, Notice};
use crate::run::journal::{self, Journal};
use crate::run::orphans::{ProcessLog, stop_leftovers};
use crate::run::persist::{remove_stale_temp_files, save_run_with};
use crate::run::plan::{Plan, load_plan, plan_excluding, plan_from};
use crate::run::recover::recover_journal;
use crate::runner::{ProcessRunner, Runner, Stop, find_program};
use crate::shard::{Fragment, Shard, ShardPlan, ShardRun, ShardSettings, split};
use crate::validate::results::ResultsFile;
use crate::validate::{GenerationRowsError, host_generation_rows};

/// The stage a run stopped at, so the caller can say what the files on disk now hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading and checking the inputs; nothing was written.
    Plan,
    /// Taking the run lock; nothing was written.
    Lock,
    /// Finishing an interrupted run from its journal; the journal is kept.
    Recover,
    /// Running generators; outcomes journaled so far are applied by the next run.
    Execute,
    /// Writing the batch's files; the journal is kept.
    Persist,
    /// Writing a shard's fragment; nothing else was written.
    Fragment,
}

/// A [`RunError`] and the [`Stage`] it stopped the run at. Displays as the error itself, which
/// is also its source (so a chain printer that skips repeated lines shows it once).
#[derive(Debug)]
pub struct SequenceError {
    /// Where the run stopped.
    pub stage: Stage,
    /// Why.
    pub error: RunError,
}

impl std::fmt::Display for SequenceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for SequenceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Tags a result with the stage it belongs to.
trait AtStage<T> {
    fn at(self, stage: Stage) -> Result<T, SequenceError>;
}

impl<T, E: Into<RunError>> AtStage<T> for Result<T, E> {
    fn at(self, stage: Stage) -> Result<T, SequenceError> {
        self.map_err(|e| SequenceError {
            stage,
            error: e.into(),
        })
    }
}

/// One shard of a sharded batch (issue #6): what `--shard K/N` adds to a run.
#[derive(Debug, Clone)]
pub struct ShardTarget {
    /// K of N.
    pub shard: Shard,
    /// The batch ID the preflight assigned.
    pub batch_id: String,
    /// The plan time every shard of the batch selects at (`--planned-at`); `None` plans at
    /// the clock's now.
    pub planned_at: Option<Timestamp>,
    /// Where the fragment goes.
    pub fragment_dir: PathBuf,
}

/// How a [`MainRun`] ended without an error.
#[derive(Debug)]
pub enum Finished {
    /// The kill switch is off (`enabled: false`): nothing ran and nothing was written.
    KillSwitch(Plan),
    /// The whole batch ran and its files were written.
    Batch {
        /// The plan (queue and control file as saved).
        plan: Plan,
        /// Counts, records, breaker changes and files written.
        report: RunReport,
    },
    /// One shard ran and wrote its fragment.
    Shard {
        /// The shard's plan (its own candidates).
        plan: Plan,
        /// The fragment as written.
        fragment: Fragment,
        /// Where.
        path: PathBuf,
    },
}

impl Finished {
    /// The generation environment's result rows that `--validation-out` writes (issue #13):
    /// one `pass` row per entry this batch or shard generated and installed, in selection
    /// order, named with the batch ID and this host's platform
    /// (`crate::validate::host_generation_rows`). `None` when the kill switch stopped the
    /// run (nothing is written then).
    ///
    /// # Errors
    /// [`GenerationRowsError`]: this host has no platform name, or an unsafe entry name.
    pub fn generation_rows(&self) -> Result<Option<ResultsFile>, GenerationRowsError> {
        let rows = match self {
            Finished::KillSwitch(_) => return Ok(None),
            Finished::Batch { report, .. } => host_generation_rows(
                report.succeeded.iter().map(String::as_str),
                &report.results.batch_id,
            ),
            Finished::Shard { fragment, .. } => host_generation_rows(
                fragment
                    .outcomes
                    .iter()
                    .filter(|o| o.ended == OutcomeKind::Succeeded)
                    .map(|o| o.name.as_str()),
                &fragment.batch_id,
            ),
        };
        rows.map(Some)
    }
}

/// The plan of a dry run: nothing was run or written.
#[derive(Debug)]
pub struct DryRun {
    /// The plan (a shard's own candidates when sharded).
    pub plan: Plan,
    /// The split, when sharded.
    pub shard_plan: Option<ShardPlan>,
}

/// The main job, configured by a builder and run once by [`MainRun::run`] (or planned only by
/// [`MainRun::dry_run`]).
pub struct MainRun<'a> {
    config: Cow<'a, Config>,
    generator: &'a dyn Generator,
    runner: &'a dyn Runner,
    clock: &'a dyn Clock,
    hooks: &'a dyn Hooks,
    stop: Option<watch::Sender<Stop>>,
    strict: bool,
    check_generator: bool,
    shard: Option<ShardTarget>,
    /// The shard's settings as configured, before its rate limits were scaled.
    shard_settings: Option<ShardSettings>,
    process_log: Option<Arc<ProcessLog>>,
    deadline: Option<tokio::time::Instant>,
}

impl<'a> MainRun<'a> {
    /// A whole-batch run of `config` whose steps `generator` builds and reads and `runner`
    /// runs, on the wall clock `clock`; no hooks, no stop channel, invalid entries skipped,
    /// the generator not checked before the lock.
    pub fn new(
        config: &'a Config,
        generator: &'a dyn Generator,
        runner: &'a dyn Runner,
        clock: &'a dyn Clock,
    ) -> Self {
        Self {
            config: Cow::Borrowed(config),
            generator,
            runner,
            clock,
            hooks: &NoHooks,
            stop: None,
            strict: false,
            check_generator: false,
            shard: None,
            shard_settings: None,
            process_log: None,
            deadline: None,
        }
    }

    /// A whole-batch run of `config` whose generators are real processes run by `runner`:
    /// as [`MainRun::new`], and each process is recorded in the run journal through the
    /// runner's own [`ProcessLog`] (issue #15), so a run that finds the journal of a killed
    /// one stops the generators it left.
    pub fn with_processes(
        config: &'a Config,
        generator: &'a dyn Generator,
        runner: &'a ProcessRunner,
        clock: &'a dyn Clock,
    ) -> Self {
        let mut main = Self::new(config, generator, runner, clock);
        main.process_log = Some(Arc::clone(&runner.process_log));
        main
    }

    /// The deadline of `--max-duration` (tokio's clock): a candidate starts only if it can
    /// finish before it (see `ExecuteOptions::deadline`), and [`MainRun::run`] moves the
    /// [`MainRun::stop`] channel to [`Stop::Graceful`] at the deadline
    /// (`crate::run::deadline::stop_at`), so what still runs then is stopped as on SIGTERM.
    /// Without a stop channel only the first half applies.
    pub fn deadline(mut self, deadline: tokio::time::Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Reports through `hooks`.
    pub fn hooks(mut self, hooks: &'a dyn Hooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Stops on requests sent through `stop` (from [`Stop::Graceful`] on nothing new starts;
    /// running candidates end as [`EntryResult::NotRun`]). The runner should watch the same
    /// channel; the run itself sends [`Stop::Graceful`] at its [`MainRun::deadline`].
    pub fn stop(mut self, stop: watch::Sender<Stop>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// With `strict`, an invalid queue entry stops the run before anything is run or written
    /// ([`RunError::InvalidEntries`]) instead of being skipped (issue #4).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// With `check`, a generator that cannot be found or run stops the run before the lock
    /// ([`RunError::GeneratorNotFound`]) whenever there is something to run.
    pub fn check_generator(mut self, check: bool) -> Self {
        self.check_generator = check;
        self
    }

    /// Runs one shard of a batch instead of the whole batch: every rate limit `N` times
    /// slower, no lock, no journal, and nothing written but the fragment.
    pub fn shard(mut self, target: ShardTarget) -> Self {
        self.shard_settings = Some(ShardSettings::of(&self.config));
        let scaled = self.config.rate_limit.scaled(target.shard.count);
        self.config.to_mut().rate_limit = scaled;
        self.shard = Some(target);
        self
    }

    /// The configuration the run uses (a shard's has scaled rate limits).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Plans as the run would and writes nothing (`--dry-run`): no lock, no recovery (a
    /// pending journal is only a [`Notice`]).
    ///
    /// # Errors
    /// Unreadable or invalid queue or control file, and invalid entries when strict, all at
    /// [`Stage::Plan`].
    pub fn dry_run(&self) -> Result<DryRun, SequenceError> {
        match &self.shard {
            None => {
                let plan = load_plan(&self.config, self.clock).at(Stage::Plan)?;
                self.hooks.planned(&plan);
                self.check_strict(&plan)?;
                self.check_names(&plan)?;
                self.notice_journal();
                Ok(DryRun {
                    plan,
                    shard_plan: None,
                })
            }
            Some(target) => {
                let (plan, shard_plan, _) = self.plan_shard(target)?;
                Ok(DryRun { plan, shard_plan })
            }
        }
    }

    /// Runs the sequence to its end.
    ///
    /// # Errors
    /// A [`SequenceError`] naming the stage: bad input, invalid entries when strict, a
    /// missing generator ([`Stage::Plan`], nothing written), another run holding the lock
    /// ([`Stage::Lock`]), then journal, queue, control-file, output and fragment write errors.
    pub async fn run(self) -> Result<Finished, SequenceError> {
        // At the deadline of --max-duration, running generators are stopped as on SIGTERM;
        // the timer ends with the run.
        let _deadline = self
            .deadline
            .zip(self.stop.clone())
            .map(|(at, stop)| DeadlineStop::spawn(at, stop));
        match &self.shard {
            None => self.run_batch().await,
            Some(target) => self.run_shard(target).await,
        }
    }

    async fn run_batch(&self) -> Result<Finished, SequenceError> {
        let config = &*self.config;
        // Validate before taking the lock, so a run refused for bad input, the kill switch or
        // a missing generator writes nothing at all (not even the lock file).
        let inputs_before = fingerprint(config);
        let first = load_plan(config, self.clock).at(Stage::Plan)?;
        if first.kill_switch {
            self.hooks.planned(&first);
            return Ok(Finished::KillSwitch(first));
        }
        self.check_strict(&first)?;
        self.check_names(&first)?;
        let journal_path = journal::path_for(&config.queue);
        self.check_generator_for(!first.selection.candidates.is_empty() || journal_path.exists())?;
        let _lock = RunLock::acquire(&config.queue).at(Stage::Lock)?;
        self.hooks.committed();
        remove_stale_temp_files(config, self.hooks);

        // Under the lock, the first plan is reused when nothing changed since it was made (no
        // journal to replay, queue and control file the same files): a 1M-entry queue is then
        // parsed once, not twice (issue #5).
        // Generators a killed run left running are stopped before anything starts (issue #15).
        let stopped = stop_leftovers(&journal_path, config.kill_grace)
            .await
            .at(Stage::Recover)?;
        if !stopped.is_empty() {
            self.hooks.notice(Notice::LeftoversStopped(&stopped));
        }
        let mut plan = if !journal_path.exists() && fingerprint(config) == inputs_before {
            first
        } else {
            drop(first);
            let recovery = recover_journal(config, self.clock).at(Stage::Recover)?;
            if let Some(r) = &recovery {
                self.hooks.recovered(r);
            }
            let exclude = recovery.map(|r| r.indices).unwrap_or_default();
            plan_excluding(config, self.clock, &exclude).at(Stage::Plan)?
        };
        self.hooks.planned(&plan);
        if plan.kill_switch {
            return Ok(Finished::KillSwitch(plan));
        }
        self.check_generator_for(!plan.selection.candidates.is_empty())?;

        let mut journal =
            Journal::create(&journal_path, Rfc3339::utc(plan.started)).at(Stage::Execute)?;
        if let Some(log) = &self.process_log {
            log.attach(&journal).at(Stage::Execute)?;
        }
        let results = self.execute(&plan, Some(&mut journal)).await;
        if let Some(log) = &self.process_log {
            log.detach();
        }
        let mut report = apply_results(&mut plan, &results?, config, self.clock);
        report.stopped_processes = stopped;
        save_run_with(
            &mut plan,
            &mut report,
            config,
            self.clock,
            Some(&mut journal),
        )
        .at(Stage::Persist)?;
        Ok(Finished::Batch { plan, report })
    }

    async fn run_shard(&self, target: &ShardTarget) -> Result<Finished, SequenceError> {
        let (plan, shard_plan, queue_sha256) = self.plan_shard(target)?;
        let Some(shard_plan) = shard_plan else {
            return Ok(Finished::KillSwitch(plan));
        };
        self.check_generator_for(!plan.selection.candidates.is_empty())?;
        self.hooks.committed();
        let started = self.clock.now();
        let results = self.execute(&plan, None).await?;
        let fragment = Fragment::build(
            &plan,
            &ShardRun {
                batch_id: &target.batch_id,
                queue_sha256: &queue_sha256,
                shard_plan: &shard_plan,
                settings: self
                    .shard_settings
                    .as_ref()
                    .expect("set together with the shard target"),
                started,
                finished: self.clock.now(),
            },
            &results,
        );
        let path = fragment
            .write(&target.fragment_dir)
            .map_err(|source| RunError::Fragment {
                dir: target.fragment_dir.clone(),
                source,
            })
            .at(Stage::Fragment)?;
        Ok(Finished::Shard {
            plan,
            fragment,
            path,
        })
    }

    /// A shard's plan: the whole batch selected at the plan time, then split. The split is
    /// `None` when the kill switch is off. Also returns the starting queue's SHA-256.
    fn plan_shard(
        &self,
        target: &ShardTarget,
    ) -> Result<(Plan, Option<ShardPlan>, String), SequenceError> {
        let config = &*self.config;
        let planned_at = target.planned_at.unwrap_or_else(|| self.clock.now());
        let (queue, existed, queue_sha256) =
            Queue::load_hashed(&config.queue, config.missing_queue).at(Stage::Plan)?;
        let mut plan = plan_from(
            config,
            &FixedClock::new(planned_at),
            queue,
            existed,
            &BTreeSet::new(),
        )
        .at(Stage::Plan)?;
        self.hooks.planned(&plan);
        self.check_strict(&plan)?;
        self.check_names(&plan)?;
        if plan.kill_switch {
            return Ok((plan, None, queue_sha256));
        }
        self.notice_journal();
        let shard_plan = split(&mut plan, target.shard);
        self.hooks.notice(Notice::ShardPlanned {
            shard: target.shard.to_string(),
            batch_id: &target.batch_id,
            candidates: plan.selection.candidates.len(),
            shards_with_candidates: &shard_plan.shards_with_candidates,
        });
        Ok((plan, Some(shard_plan), queue_sha256))
    }

    async fn execute(
        &self,
        plan: &Plan,
        journal: Option<&mut Journal>,
    ) -> Result<Vec<EntryResult>, SequenceError> {
        self.hooks.executing(plan);
        let on_event = |ev: Event<'_>| self.hooks.event(ev);
        let opts = ExecuteOptions {
            journal,
            stop: self.stop.as_ref().map(watch::Sender::subscribe),
            deadline: self.deadline,
        };
        let results = execute_plan_with(
            plan,
            &self.config,
            self.generator,
            self.runner,
            self.clock,
            &on_event,
            opts,
        )
        .await
        .at(Stage::Execute);
        self.hooks.executed();
        results
    }

    /// Names given with `--name` must all select an entry.
    fn check_names(&self, plan: &Plan) -> Result<(), SequenceError> {
        if plan.selection.unselected_names.is_empty() {
            return Ok(());
        }
        Err(crate::run::NamedEntries {
            names: plan.selection.unselected_names.clone(),
        })
        .at(Stage::Plan)
    }

    fn check_strict(&self, plan: &Plan) -> Result<(), SequenceError> {
        let Some(first) = plan.selection.invalid.first().filter(|_| self.strict) else {
            return Ok(());
        };
        Err(RunError::InvalidEntries {
            queue: self.config.queue.clone(),
            count: plan.selection.invalid.len(),
            index: first.index,
            name: first.name.clone(),
            problems: first.problems.join("; "),
        })
        .at(Stage::Plan)
    }

    fn check_generator_for(&self, needed: bool) -> Result<(), SequenceError> {
        if !self.check_generator || !needed || find_program(&self.config.generator).is_some() {
            return Ok(());
        }
        Err(RunError::GeneratorNotFound {
            path: self.config.generator.clone(),
        })
        .at(Stage::Plan)
    }

    fn notice_journal(&self) {
        let path = journal::path_for(&self.config.queue);
        if path.exists() {
            self.hooks.notice(Notice::JournalPending(&path));
        }
    }
}

type FileId = Option<(u64, u64, u64, i64, i64)>;

/// Which files the queue and control file are: device, inode, size and modification time.
/// An atomic replace gives a new inode; an edit in place a new size or time.
fn fingerprint(config: &Config) -> Vec<FileId> {
    use std::os::unix::fs::MetadataExt;
    [&config.queue, &config.control_file]
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .map(|m| (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}
