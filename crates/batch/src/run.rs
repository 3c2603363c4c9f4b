//! The main job: plan (load queue and control file, recover breakers, select), execute
//! (rate-limited, concurrent create → install per candidate, with retries), apply (queue
//! transitions, counts, breaker updates) and persist (write every file atomically).
//!
//! Each phase is a function so the CLI can stop after planning (`--dry-run`) and tests can
//! drive execution with a mock [`Runner`]. Progress is reported through [`Event`]s; nothing
//! here prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use jiff::Timestamp;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::breaker::{BatchOutcome, Change};
use crate::classify::{self, Exit, Step};
use crate::clock::Clock;
use crate::config::Config;
use crate::control::{ControlError, ControlFile, RecoveryNote};
use crate::fsutil;
use crate::journal::{self, BreakerLine, Ended, Journal, JournalError, Line, OutcomeLine};
use crate::queue::{Queue, QueueEntry, QueueError, Status, ecosystem_of, recipe_relative_path};
use crate::ratelimit::EcosystemLimiters;
use crate::record::{self, BatchResults, Counted, FailureRecord};
use crate::runner::{Command, Output, Runner, RunnerError, Stop, stop_reached};
use crate::select::{self, Selection};
use crate::timestamp::{Rfc3339, rfc3339_nano_utc};
use crate::transition::{self, Outcome};

/// Errors that stop a run. Failed entries are data, never errors.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The queue could not be read, parsed or written.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The control file could not be read, parsed or written.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The run journal could not be written or read.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// Another output file could not be written.
    #[error("failed to write `{path}`")]
    Write {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Everything decided before any generator runs.
#[derive(Debug)]
pub struct Plan {
    /// The queue as loaded.
    pub queue: Queue,
    /// Whether the queue file existed (a missing one is created on save).
    pub queue_existed: bool,
    /// The control file, with due open → half-open moves applied in memory.
    pub control: ControlFile,
    /// Breakers that moved to half-open, or are stuck open.
    pub recovery: Vec<RecoveryNote>,
    /// The kill switch was off: nothing is selected and nothing may be written.
    pub kill_switch: bool,
    /// Candidates and invalid entries.
    pub selection: Selection,
    /// When the run started (batch ID, results timestamp).
    pub started: Timestamp,
}

impl Plan {
    /// Selected entries per ecosystem, sorted by ecosystem.
    pub fn counts(&self) -> std::collections::BTreeMap<&str, usize> {
        let mut m = std::collections::BTreeMap::new();
        for c in &self.selection.candidates {
            *m.entry(self.queue.entries[c.index].ecosystem())
                .or_default() += 1;
        }
        m
    }
}

/// Loads the queue and the control file, applies due breaker recoveries and selects
/// candidates (spec §2.2 steps 2–4, §3).
///
/// # Errors
/// [`RunError::Queue`] or [`RunError::Control`] for unreadable or invalid input; nothing is
/// written in either case.
pub fn plan(config: &Config, clock: &dyn Clock) -> Result<Plan, RunError> {
    plan_excluding(config, clock, &BTreeSet::new())
}

/// [`plan`], never selecting the queue indices in `exclude` (the entries a resumed run already
/// finished, issue #4).
///
/// # Errors
/// As [`plan`].
pub fn plan_excluding(
    config: &Config,
    clock: &dyn Clock,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    let (queue, queue_existed) = Queue::load(&config.queue)?;
    plan_from(config, clock, queue, queue_existed, exclude)
}

/// [`plan_excluding`] on a queue the caller loaded (a sharded run loads it with its hash,
/// [`Queue::load_hashed`]). `clock` decides due breaker recoveries and retry times, and is the
/// plan's start; the shards of one batch pass the same plan time so they all select the same
/// candidates (issue #6).
///
/// # Errors
/// [`RunError::Control`] for an unreadable or invalid control file.
pub fn plan_from(
    config: &Config,
    clock: &dyn Clock,
    queue: Queue,
    queue_existed: bool,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    let mut control = ControlFile::load(&config.control_file)?;
    let started = clock.now();
    let recovery = control.apply_due_recoveries(started);
    let kill_switch = !control.enabled;
    let selection = if kill_switch {
        Selection::default()
    } else {
        let mut opts = config.select.clone();
        opts.disabled
            .extend(control.disabled_ecosystems.iter().cloned());
        opts.exclude.extend(exclude.iter().copied());
        select::select(&queue.entries, &control.states(), &opts, started)
    };
    Ok(Plan {
        queue,
        queue_existed,
        control,
        recovery,
        kill_switch,
        selection,
        started,
    })
}

/// Progress of a run, for logs and progress bars. `position` is the candidate's place in
/// selection order (0-based).
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A generator step is about to start (after its rate-limit permit and job slot).
    StepStarted {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Which step.
        step: Step,
        /// 0 for the first attempt.
        retry: u32,
    },
    /// A step exited with the network code and will be retried after `delay`.
    Retrying {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Which step.
        step: Step,
        /// Retry number, 1-based.
        retry: u32,
        /// Backoff before the retry.
        delay: Duration,
    },
    /// The candidate is done.
    Finished {
        /// Candidate position.
        position: usize,
        /// Entry name.
        name: &'a str,
        /// Its ecosystem.
        ecosystem: &'a str,
        /// What happened.
        result: &'a EntryResult,
    },
}

/// The result of one candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryResult {
    /// Processed; `at` is when the outcome was classified.
    Done {
        /// The outcome.
        outcome: Outcome,
        /// Classification time (backoff is counted from it).
        at: Timestamp,
    },
    /// Not run: the generator could not be started (so the run halted), or the run was
    /// interrupted; the entry is left unchanged and does not count in the totals.
    NotRun {
        /// Why.
        reason: String,
    },
}

struct Ctx<'a> {
    config: &'a Config,
    runner: &'a dyn Runner,
    clock: &'a dyn Clock,
    limiters: EcosystemLimiters,
    slots: Semaphore,
    halted: AtomicBool,
    stop: Option<tokio::sync::watch::Receiver<Stop>>,
    on_event: &'a (dyn Fn(Event<'_>) + Sync),
}

enum StepError {
    Runner(RunnerError),
    Halted,
    Interrupted,
}

/// Optional parts of [`execute_with`].
#[derive(Default)]
pub struct ExecuteOptions<'a> {
    /// Each finished candidate is appended (and synced) here before the next result is taken.
    pub journal: Option<&'a mut Journal>,
    /// Interruption requests: from [`Stop::Graceful`] on nothing new starts and the runner
    /// stops running generators; interrupted candidates are [`EntryResult::NotRun`].
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
}

/// Runs every candidate of `plan`: at most `config.jobs` generator processes at once, each
/// `create` attempt behind its ecosystem's rate limiter, exit 5 retried with backoff
/// (spec §4.4), results classified (spec §4.5). Returns one result per candidate, in
/// selection order, whatever order they finished in. No journal, no interruption.
pub async fn execute(
    plan: &Plan,
    config: &Config,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<EntryResult> {
    execute_with(
        plan,
        config,
        runner,
        clock,
        on_event,
        ExecuteOptions::default(),
    )
    .await
    .expect("without a journal nothing can fail")
}

/// [`execute`] with a journal and an interruption channel (issue #4).
///
/// # Errors
/// [`RunError::Journal`] when a journal append fails: nothing new starts, running candidates
/// finish, and the error is returned; the journal keeps every outcome appended before it.
pub async fn execute_with(
    plan: &Plan,
    config: &Config,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    mut opts: ExecuteOptions<'_>,
) -> Result<Vec<EntryResult>, RunError> {
    let ctx = Ctx {
        config,
        runner,
        clock,
        limiters: EcosystemLimiters::new(config.rate_limit.clone()),
        slots: Semaphore::new(config.jobs.max(1)),
        halted: AtomicBool::new(false),
        stop: opts.stop.take(),
        on_event,
    };
    let n = plan.selection.candidates.len();
    let mut results: Vec<Option<EntryResult>> = vec![None; n];
    let mut journal_error = None;
    let mut running: FuturesUnordered<_> = plan
        .selection
        .candidates
        .iter()
        .enumerate()
        .map(|(pos, c)| {
            let entry = &plan.queue.entries[c.index];
            let ctx = &ctx;
            async move {
                // A waiting candidate is only this small future; the processing state is
                // allocated once its first create may start, so memory does not grow with the
                // number of candidates still waiting (issue #5).
                let r = match acquire_slot(ctx, entry, Step::Create).await {
                    Ok(slot) => Box::pin(process(ctx, pos, entry, slot)).await,
                    Err(e) => not_run(e),
                };
                (ctx.on_event)(Event::Finished {
                    position: pos,
                    name: &entry.name,
                    ecosystem: entry.ecosystem(),
                    result: &r,
                });
                (pos, r)
            }
        })
        .collect();
    while let Some((pos, r)) = running.next().await {
        if let (Some(j), None) = (opts.journal.as_deref_mut(), &journal_error) {
            let index = plan.selection.candidates[pos].index;
            if let Some(line) = outcome_line(pos, index, &plan.queue.entries[index], &r)
                && let Err(e) = j.append(&Line::Outcome(Box::new(line)))
            {
                ctx.halted.store(true, Ordering::SeqCst);
                journal_error = Some(e);
            }
        }
        results[pos] = Some(r);
    }
    drop(running);
    if let Some(e) = journal_error {
        return Err(e.into());
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every candidate future completes exactly once"))
        .collect())
}

/// The journal line of a finished candidate: the entry's resulting state, so replaying it is
/// idempotent. `None` for candidates that did not run. Shard fragments carry the same lines.
pub(crate) fn outcome_line(
    position: usize,
    index: usize,
    before: &QueueEntry,
    result: &EntryResult,
) -> Option<OutcomeLine> {
    let EntryResult::Done { outcome, at } = result else {
        return None;
    };
    let mut after = before.clone();
    transition::apply(&mut after, outcome, *at);
    let (ended, recipe) = match outcome {
        Outcome::Succeeded { recipe } => (Ended::Succeeded, Some(recipe_basename(recipe))),
        Outcome::Failed(_) => (Ended::Failed, None),
        Outcome::Blocked(_) => (Ended::Blocked, None),
    };
    Some(OutcomeLine {
        position,
        index,
        name: before.name.clone(),
        source: before.source.clone(),
        ended,
        status: after.status.as_str().to_owned(),
        failure_count: after.failure_count,
        next_retry_at: after.next_retry_at,
        record: outcome.record().cloned(),
        recipe,
    })
}

fn recipe_basename(recipe: &Path) -> String {
    recipe
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned())
}

fn not_run(e: StepError) -> EntryResult {
    EntryResult::NotRun {
        reason: match e {
            StepError::Runner(e) => error_chain(&e),
            StepError::Halted => {
                "not started: the run halted after a generator could not be started".into()
            }
            StepError::Interrupted => "interrupted".into(),
        },
    }
}

/// Processes one candidate whose first `create` may start now (`first_slot` holds its job
/// slot and its rate-limit permit is taken).
async fn process(
    ctx: &Ctx<'_>,
    pos: usize,
    entry: &QueueEntry,
    first_slot: SemaphorePermit<'_>,
) -> EntryResult {
    let rel = match recipe_relative_path(&entry.name) {
        Ok(p) => p,
        Err(e) => {
            return EntryResult::NotRun {
                reason: e.to_string(),
            };
        }
    };
    let recipe = ctx.config.output_dir.join(rel);
    let create = ctx.command(
        classify::create_args(&entry.name, &entry.source, &recipe),
        true,
    );
    let (out, exhausted) =
        match run_step(ctx, pos, entry, Step::Create, &create, Some(first_slot)).await {
            Ok(v) => v,
            Err(e) => {
                if matches!(e, StepError::Interrupted) {
                    // A create cut short may have left a partial recipe.
                    let _ = fsutil::remove_if_exists(&recipe);
                }
                return not_run(e);
            }
        };
    if !out.exit.success() {
        let f = classify::classify_create(out.exit, &out.stdout, exhausted, &entry.source);
        return ctx.failure(entry, f);
    }
    let install = ctx.command(classify::install_args(&recipe), false);
    let (out, exhausted) = match run_step(ctx, pos, entry, Step::Install, &install, None).await {
        Ok(v) => v,
        Err(e) => {
            // The recipe was generated but never validated: do not leave it behind.
            let _ = fsutil::remove_if_exists(&recipe);
            return not_run(e);
        }
    };
    if !out.exit.success() {
        let f = classify::classify_install(out.exit, &out.stdout, &out.stderr, exhausted);
        // A recipe that does not install is not kept (spec §4.1 step 5). A removal error is
        // not fatal: the record still says the install failed.
        let _ = fsutil::remove_if_exists(&recipe);
        return ctx.failure(entry, f);
    }
    EntryResult::Done {
        outcome: Outcome::Succeeded { recipe },
        at: ctx.clock.now(),
    }
}

/// Runs one step with network retries. `create` attempts take a rate-limit permit; `install`
/// only a job slot. Returns the last output and whether every attempt hit the retry code.
async fn run_step(
    ctx: &Ctx<'_>,
    pos: usize,
    entry: &QueueEntry,
    step: Step,
    cmd: &Command,
    mut first_slot: Option<SemaphorePermit<'_>>,
) -> Result<(Output, bool), StepError> {
    let policy = &ctx.config.retry;
    let mut retry = 0;
    loop {
        let slot = match first_slot.take() {
            Some(slot) => slot,
            None => acquire_slot(ctx, entry, step).await?,
        };
        (ctx.on_event)(Event::StepStarted {
            position: pos,
            name: &entry.name,
            step,
            retry,
        });
        let out = ctx.runner.run(cmd.clone()).await;
        drop(slot);
        let out = out.map_err(|e| {
            if matches!(e, RunnerError::Spawn { .. }) {
                ctx.halted.store(true, Ordering::SeqCst);
            }
            StepError::Runner(e)
        })?;
        if out.exit == Exit::Interrupted {
            return Err(StepError::Interrupted);
        }
        if out.exit != Exit::Code(policy.retry_exit_code) {
            return Ok((out, false));
        }
        if retry >= policy.max_retries {
            return Ok((out, true));
        }
        retry += 1;
        let delay = policy.delay(retry);
        (ctx.on_event)(Event::Retrying {
            position: pos,
            name: &entry.name,
            step,
            retry,
            delay,
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stop_reached(ctx.stop.as_ref(), Stop::Graceful) => return Err(StepError::Interrupted),
        }
    }
}

/// Waits for the job slot (and, for `create`, the ecosystem's rate-limit permit) of the next
/// step of `entry`; gives up when the run is stopped or halted.
async fn acquire_slot<'c>(
    ctx: &'c Ctx<'_>,
    entry: &QueueEntry,
    step: Step,
) -> Result<SemaphorePermit<'c>, StepError> {
    ctx.check()?;
    let acquire = async {
        match step {
            Step::Create => ctx.limiters.acquire(entry.ecosystem(), &ctx.slots).await,
            Step::Install => ctx
                .slots
                .acquire()
                .await
                .expect("the job semaphore is never closed"),
        }
    };
    let slot = tokio::select! {
        slot = acquire => slot,
        () = stop_reached(ctx.stop.as_ref(), Stop::Graceful) => return Err(StepError::Interrupted),
    };
    ctx.check()?;
    Ok(slot)
}

impl Ctx<'_> {
    /// Whether a new step may start.
    fn check(&self) -> Result<(), StepError> {
        if self
            .stop
            .as_ref()
            .is_some_and(|s| *s.borrow() != Stop::Running)
        {
            return Err(StepError::Interrupted);
        }
        if self.halted.load(Ordering::SeqCst) {
            return Err(StepError::Halted);
        }
        Ok(())
    }

    fn command(&self, args: Vec<std::ffi::OsString>, merge_output: bool) -> Command {
        Command {
            program: self.config.generator.clone(),
            args,
            env: self.config.generator_env.clone(),
            current_dir: None,
            timeout: self.config.timeout,
            merge_output,
        }
    }

    fn failure(&self, entry: &QueueEntry, f: classify::Failure) -> EntryResult {
        let at = self.clock.now();
        let record = FailureRecord {
            package_id: entry.source.clone(),
            category: f.category,
            subcategory: f.subcategory,
            blocked_by: f.blocked_by,
            message: f.message,
            timestamp: rfc3339_nano_utc(at),
        };
        let outcome = if f.blocked {
            Outcome::Blocked(record)
        } else {
            Outcome::Failed(record)
        };
        EntryResult::Done { outcome, at }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// What a run did, for the summary line, `--json` and the exit code.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// The `batch-results.json` content.
    pub results: BatchResults,
    /// Failure records in selection order (failed and blocked).
    pub failures: Vec<FailureRecord>,
    /// Basenames of recipes that passed, in selection order.
    pub recipes: Vec<String>,
    /// Candidates that were not run (queue index, name, reason).
    pub not_run: Vec<(usize, String, String)>,
    /// Number of invalid entries skipped.
    pub invalid: usize,
    /// Breaker changes by ecosystem.
    pub breaker_changes: Vec<(String, Change)>,
    /// Files written by [`persist`].
    pub files_written: Vec<PathBuf>,
    /// Non-fatal problems (summary write failure).
    pub warnings: Vec<String>,
}

/// Applies the results to the queue (spec §4.7) and the breakers (spec §6.4–§6.5, for every
/// ecosystem that processed at least one entry), in memory.
pub fn apply(
    plan: &mut Plan,
    results: &[EntryResult],
    config: &Config,
    clock: &dyn Clock,
) -> RunReport {
    let mut report = RunReport {
        results: BatchResults::new(plan.started),
        invalid: plan.selection.invalid.len(),
        ..RunReport::default()
    };
    if let Some(id) = &config.batch_id {
        report.results.batch_id.clone_from(id);
    }
    for (cand, result) in plan.selection.candidates.iter().zip(results) {
        let entry = &mut plan.queue.entries[cand.index];
        let eco = entry.ecosystem().to_owned();
        match result {
            EntryResult::Done { outcome, at } => {
                transition::apply(entry, outcome, *at);
                let counted = match outcome {
                    Outcome::Succeeded { recipe } => {
                        report.recipes.push(recipe_basename(recipe));
                        Counted::Succeeded
                    }
                    Outcome::Failed(_) => Counted::Failed,
                    Outcome::Blocked(_) => Counted::Blocked,
                };
                if let Some(r) = outcome.record() {
                    report.failures.push(r.clone());
                }
                report.results.count(&eco, counted);
            }
            EntryResult::NotRun { reason } => {
                report
                    .not_run
                    .push((cand.index, entry.name.clone(), reason.clone()));
            }
        }
    }
    update_breakers(&mut plan.control, &mut report, config, clock.now());
    report
}

/// Sets `entry` to the resulting state an outcome line records (journal replay, fragment
/// merge) and counts it in `report`: results, recipe, failure record.
pub(crate) fn apply_outcome_line(entry: &mut QueueEntry, o: &OutcomeLine, report: &mut RunReport) {
    entry.status = Status::parse(&o.status);
    entry.failure_count = o.failure_count;
    entry.next_retry_at = o.next_retry_at;
    report
        .results
        .count(ecosystem_of(&o.source), o.ended.into());
    if let Some(r) = &o.recipe {
        report.recipes.push(r.clone());
    }
    if let Some(r) = &o.record {
        report.failures.push(r.clone());
    }
}

/// The batch-level breaker update (spec §6.4–§6.5) for every ecosystem that processed entries,
/// recording each change in `report`.
pub(crate) fn update_breakers(
    control: &mut ControlFile,
    report: &mut RunReport,
    config: &Config,
    now: Timestamp,
) {
    for (eco, counts) in &report.results.per_ecosystem {
        let outcome = BatchOutcome::from_counts(counts.succeeded, counts.failed);
        let change = control.record_batch(eco, outcome, now, &config.breaker);
        if change != Change::None {
            report.breaker_changes.push((eco.clone(), change));
        }
    }
}

/// Writes the queue, `batch-results.json`, the failure files, the control file (when a breaker
/// moved) and the summary, each atomically. A summary write failure is only a warning
/// (spec §2.2 step 8). Failure files are stamped with the run's start, so writing the same
/// records twice leaves one file.
///
/// # Errors
/// The first write that fails, naming its file; files written before it stay written.
pub fn persist(
    plan: &mut Plan,
    report: &mut RunReport,
    config: &Config,
    clock: &dyn Clock,
) -> Result<(), RunError> {
    persist_with(plan, report, config, clock, None)
}

/// [`persist`] with the journal protocol (issue #4): the changed breakers are journaled first,
/// then every file is written, then the journal is removed. A crash at any point leaves a
/// journal whose replay produces the same files.
///
/// # Errors
/// As [`persist`], plus journal errors; the journal is kept on any error.
pub fn persist_with(
    plan: &mut Plan,
    report: &mut RunReport,
    config: &Config,
    clock: &dyn Clock,
    mut journal: Option<&mut Journal>,
) -> Result<(), RunError> {
    if let Some(j) = journal.as_deref_mut() {
        let breakers: std::collections::BTreeMap<String, BreakerLine> = report
            .breaker_changes
            .iter()
            .filter_map(|(eco, _)| {
                Some((
                    eco.clone(),
                    BreakerLine::from(plan.control.breakers.get(eco)?),
                ))
            })
            .collect();
        if !breakers.is_empty() {
            j.append(&Line::Breakers { breakers })?;
        }
    }

    write_failures(report, config, plan.started)?;
    write_results(report, config)?;

    plan.queue.save(&config.queue, clock.now())?;
    report.files_written.push(config.queue.clone());

    if plan.control.save_if_changed()? {
        report.files_written.push(config.control_file.clone());
    }

    write_summary(report, config);
    if let Some(j) = journal {
        journal::remove(j.path())?;
    }
    Ok(())
}

/// Writes the report's failure records as one file per ecosystem stamped `stamp` (an
/// existing file with the same bytes counts as written).
pub(crate) fn write_failures(
    report: &mut RunReport,
    config: &Config,
    stamp: Timestamp,
) -> Result<(), RunError> {
    let files = record::failure_files(&report.failures, stamp);
    let mut taken = BTreeSet::new();
    for f in files {
        match failure_path(&config.failures_dir, &f.file_name, &f.bytes, &mut taken) {
            FailurePath::New(path) => {
                write(&path, &f.bytes, true)?;
                report.files_written.push(path);
            }
            FailurePath::AlreadyWritten(path) => report.files_written.push(path),
        }
    }
    Ok(())
}

/// Writes `batch-results.json`.
pub(crate) fn write_results(report: &mut RunReport, config: &Config) -> Result<(), RunError> {
    write(&config.results, &report.results.to_bytes(), true)?;
    report.files_written.push(config.results.clone());
    Ok(())
}

/// Writes the Markdown summary; a failure is only a warning (spec §2.2 step 8).
pub(crate) fn write_summary(report: &mut RunReport, config: &Config) {
    let summary = record::render_summary(
        &report.results,
        &report.recipes,
        &report.failures,
        report.invalid,
    );
    match fsutil::write_atomic(&config.summary, summary.as_bytes(), false) {
        Ok(()) => report.files_written.push(config.summary.clone()),
        Err(e) => report.warnings.push(format!(
            "could not write summary `{}`: {e}",
            config.summary.display()
        )),
    }
}

enum FailurePath {
    New(PathBuf),
    AlreadyWritten(PathBuf),
}

/// Where a failure file goes: `eco-<ts>.jsonl`, unless a different file of that name exists
/// (Go overwrote it and lost its records), then `eco-<ts>-2.jsonl`, … A file with exactly these
/// bytes is already written (a replayed journal).
fn failure_path(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    taken: &mut BTreeSet<PathBuf>,
) -> FailurePath {
    let stem = name.trim_end_matches(".jsonl");
    for n in 1.. {
        let candidate = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem}-{n}.jsonl"))
        };
        if taken.contains(&candidate) {
            continue;
        }
        match std::fs::read(&candidate) {
            Ok(existing) if existing == bytes => {
                taken.insert(candidate.clone());
                return FailurePath::AlreadyWritten(candidate);
            }
            Ok(_) => continue,
            Err(_) => {
                taken.insert(candidate.clone());
                return FailurePath::New(candidate);
            }
        }
    }
    unreachable!("the suffix search is unbounded")
}

fn write(path: &Path, bytes: &[u8], create_parent: bool) -> Result<(), RunError> {
    fsutil::write_atomic(path, bytes, create_parent).map_err(|source| RunError::Write {
        path: path.to_owned(),
        source,
    })
}

/// What [`recover`] did.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// Outcomes applied from the journal.
    pub applied: usize,
    /// Queue indices of those entries (a resumed run does not run them again).
    pub indices: BTreeSet<usize>,
    /// Journaled entries no longer found in the queue (name, source); not applied.
    pub missing: Vec<(String, String)>,
    /// The files written, counts and records of the recovered part of the interrupted run.
    pub report: RunReport,
}

/// Finishes an interrupted run (issue #4): when `<queue>.journal` exists, applies its outcomes
/// to the queue (setting each entry to its journaled state), writes their failure records,
/// results, summary and breaker updates, and removes the journal. Returns `None` without a
/// journal. Replaying the same journal twice gives the same files.
///
/// # Errors
/// Unreadable or corrupt journal, queue or control file; write errors (the journal is kept).
pub fn recover(config: &Config, clock: &dyn Clock) -> Result<Option<Recovery>, RunError> {
    let path = journal::path_for(&config.queue);
    let Some(lines) = journal::read(&path)? else {
        return Ok(None);
    };
    let (queue, queue_existed) = Queue::load(&config.queue)?;
    let control = ControlFile::load(&config.control_file)?;
    let now = clock.now();
    let started = lines
        .iter()
        .find_map(|l| match l {
            Line::Start { started, .. } => Some(*started),
            _ => None,
        })
        .unwrap_or(Rfc3339::utc(now));
    let mut outcomes: Vec<&OutcomeLine> = lines
        .iter()
        .filter_map(|l| match l {
            Line::Outcome(o) => Some(o.as_ref()),
            _ => None,
        })
        .collect();
    outcomes.sort_by_key(|o| o.position);
    outcomes.dedup_by_key(|o| o.position);
    let breakers = lines.iter().rev().find_map(|l| match l {
        Line::Breakers { breakers } => Some(breakers),
        _ => None,
    });

    let mut plan = Plan {
        queue,
        queue_existed,
        control,
        recovery: Vec::new(),
        kill_switch: false,
        selection: Selection::default(),
        started: started.instant(),
    };
    let mut rec = Recovery {
        report: RunReport {
            results: BatchResults::new(started.instant()),
            ..RunReport::default()
        },
        ..Recovery::default()
    };
    for o in outcomes {
        let found = match plan.queue.entries.get(o.index) {
            Some(e) if e.name == o.name && e.source == o.source => Some(o.index),
            _ => plan
                .queue
                .entries
                .iter()
                .position(|e| e.name == o.name && e.source == o.source),
        };
        let Some(index) = found else {
            rec.missing.push((o.name.clone(), o.source.clone()));
            continue;
        };
        apply_outcome_line(&mut plan.queue.entries[index], o, &mut rec.report);
        rec.indices.insert(index);
        rec.applied += 1;
    }
    match breakers {
        // The run had decided its breaker updates: set exactly those states.
        Some(b) => {
            for (eco, line) in b {
                plan.control.set_breaker(eco, line.into());
            }
        }
        None => {
            plan.recovery = plan.control.apply_due_recoveries(now);
            update_breakers(&mut plan.control, &mut rec.report, config, now);
        }
    }
    let mut j = Journal::open(&path)?;
    persist_with(&mut plan, &mut rec.report, config, clock, Some(&mut j))?;
    Ok(Some(rec))
}

/// Recover, plan, execute, apply and persist in one call, with a journal beside the queue.
/// With the kill switch off nothing runs and nothing is written. The caller holds the run
/// lock ([`crate::lock::RunLock`]).
///
/// # Errors
/// As [`recover`], [`plan`], [`execute_with`] and [`persist_with`].
pub async fn run(
    config: &Config,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<(Plan, RunReport), RunError> {
    // The kill switch stops everything, finishing an interrupted run included.
    let preflight = plan(config, clock)?;
    if preflight.kill_switch {
        return Ok((preflight, RunReport::default()));
    }
    let recovered = recover(config, clock)?
        .map(|r| r.indices)
        .unwrap_or_default();
    let mut plan = plan_excluding(config, clock, &recovered)?;
    if plan.kill_switch {
        return Ok((plan, RunReport::default()));
    }
    let mut journal = Journal::create(
        &journal::path_for(&config.queue),
        Rfc3339::utc(plan.started),
    )?;
    let opts = ExecuteOptions {
        journal: Some(&mut journal),
        stop: None,
    };
    let results = execute_with(&plan, config, runner, clock, on_event, opts).await?;
    let mut report = apply(&mut plan, &results, config, clock);
    persist_with(&mut plan, &mut report, config, clock, Some(&mut journal))?;
    Ok((plan, report))
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod recovery_tests;
#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
