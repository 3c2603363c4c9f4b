//! Execution: every candidate of a plan, at most `jobs` generator processes at once, each
//! `create` attempt behind its ecosystem's rate limiter, transient failures retried with
//! backoff (spec §4.4). The [`Generator`] builds each step's command and reads its output;
//! this module only schedules. Finished candidates are journaled as they arrive. Progress is
//! reported through [`Event`]s (`event.rs`); nothing here prints.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use batch_base::clock::Clock;
use batch_base::fs as fsutil;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::adaptive::Signal;
use super::apply::outcome_line;
use super::error::RunError;
pub use super::event::{EntryResult, Event};
use super::journal::{Journal, Line};
use super::plan::Plan;
use super::ratelimit::EcosystemLimiters;
use super::unreachable::{Ending, Unreachable, unreachable_reason};
use crate::config::Config;
use crate::generator::{Failure, Generator, Job, Reading, Step, Target};
use crate::queue::{QueueEntry, recipe_relative_path};
use crate::records::timestamp::rfc3339_nano_utc;
use crate::records::{FailureRecord, Outcome};
use crate::runner::{Exit, Runner, RunnerError, Stop, stop_reached};

struct Ctx<'a> {
    config: &'a Config,
    generator: &'a dyn Generator,
    runner: &'a dyn Runner,
    clock: &'a dyn Clock,
    limiters: EcosystemLimiters,
    slots: Semaphore,
    /// Per-ecosystem caps on processes in flight (`--max-in-flight`).
    caps: HashMap<String, Semaphore>,
    halted: AtomicBool,
    stop: Option<tokio::sync::watch::Receiver<Stop>>,
    on_event: &'a (dyn Fn(Event<'_>) + Sync),
    deadline: Option<tokio::time::Instant>,
    /// Durations of the candidates finished so far (for the budget's estimate).
    durations: Mutex<Vec<Duration>>,
    /// Ecosystems whose upstream is taken as down (`--unreachable-after`).
    unreachable: Unreachable,
}

/// What one generator process holds while it runs: a job slot and, when its ecosystem is
/// capped, one of the ecosystem's permits.
struct Slot<'c> {
    _job: SemaphorePermit<'c>,
    _eco: Option<SemaphorePermit<'c>>,
}

/// The reason of a candidate left out because it could not finish before the deadline of
/// `--max-duration`.
pub const BUDGET_REACHED: &str = "budget reached";

/// The reason of a candidate that started but was still running at the deadline of
/// `--max-duration`, and was stopped as on SIGTERM (its partial recipe is removed).
pub const BUDGET_STOPPED: &str = "stopped at the budget's deadline";

/// The 90th percentile (nearest rank) of `durations`; `None` when there are none.
pub(crate) fn percentile_90(durations: &[Duration]) -> Option<Duration> {
    let mut v = durations.to_vec();
    v.sort_unstable();
    let rank = (v.len() * 9).div_ceil(10);
    v.get(rank.checked_sub(1)?).copied()
}

enum StepError {
    Runner(RunnerError),
    Halted,
    Interrupted,
    /// The entry's ecosystem was declared unreachable before this `create` could start.
    Unreachable,
}

/// Optional parts of [`execute_plan_with`].
#[derive(Default)]
pub(crate) struct ExecuteOptions<'a> {
    /// Each finished candidate is appended (and synced) here before the next result is taken.
    pub journal: Option<&'a mut Journal>,
    /// Interruption requests: from [`Stop::Graceful`] on nothing new starts and the runner
    /// stops running generators; interrupted candidates are [`EntryResult::NotRun`].
    pub stop: Option<tokio::sync::watch::Receiver<Stop>>,
    /// The budget's deadline (tokio's clock): a candidate starts only if it can finish before
    /// it, expecting the 90th percentile of the candidate durations seen so far, or
    /// `config.timeout` before there are any. Candidates left out are
    /// [`EntryResult::NotRun`] with [`BUDGET_REACHED`]. Stopping what still runs at the
    /// deadline is the caller's (through `stop`).
    pub deadline: Option<tokio::time::Instant>,
}

/// Runs every candidate of `plan`: at most `config.jobs` generator processes at once, each
/// `create` attempt behind its ecosystem's rate limiter, a step `generator` reads as
/// transient retried with backoff (`config.retry`, spec §4.4), failures as `generator` reads
/// them. Returns one result per candidate, in selection order, whatever order they finished
/// in. No journal, no interruption.
pub async fn execute_plan(
    plan: &Plan,
    config: &Config,
    generator: &dyn Generator,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<EntryResult> {
    execute_plan_with(
        plan,
        config,
        generator,
        runner,
        clock,
        on_event,
        ExecuteOptions::default(),
    )
    .await
    .expect("without a journal nothing can fail")
}

/// [`execute_plan`] with a journal and an interruption channel (issue #4).
///
/// # Errors
/// [`RunError::Journal`] when a journal append fails: nothing new starts, running candidates
/// finish, and the error is returned; the journal keeps every outcome appended before it.
pub(crate) async fn execute_plan_with(
    plan: &Plan,
    config: &Config,
    generator: &dyn Generator,
    runner: &dyn Runner,
    clock: &dyn Clock,
    on_event: &(dyn Fn(Event<'_>) + Sync),
    mut opts: ExecuteOptions<'_>,
) -> Result<Vec<EntryResult>, RunError> {
    let ctx = Ctx {
        config,
        generator,
        runner,
        clock,
        limiters: EcosystemLimiters::new(config.rate_limit.clone(), config.adaptive.clone()),
        slots: Semaphore::new(config.jobs.max(1)),
        caps: config
            .max_in_flight
            .iter()
            .map(|(eco, n)| (eco.clone(), Semaphore::new((*n).max(1))))
            .collect(),
        halted: AtomicBool::new(false),
        stop: opts.stop.take(),
        on_event,
        deadline: opts.deadline,
        durations: Mutex::new(Vec::new()),
        unreachable: Unreachable::new(config.unreachable_after),
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
                let mut ending = None;
                let r = match acquire_slot(ctx, entry, Step::Create, false).await {
                    Ok(_slot) if !ctx.fits_budget() => EntryResult::NotRun {
                        reason: BUDGET_REACHED.into(),
                    },
                    Ok(slot) => {
                        let t0 = tokio::time::Instant::now();
                        let r = Box::pin(process(ctx, pos, entry, slot, &mut ending)).await;
                        if matches!(r, EntryResult::Done { .. }) {
                            ctx.durations
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(t0.elapsed());
                        }
                        r
                    }
                    Err(e) => not_run(ctx, entry.ecosystem(), e, false),
                };
                (ctx.on_event)(Event::Finished {
                    position: pos,
                    name: &entry.name,
                    ecosystem: entry.ecosystem(),
                    result: &r,
                });
                if let Some(ending) = ending {
                    ctx.ended(entry.ecosystem(), ending);
                }
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

/// Why a candidate did not run; `started` when one of its processes had run.
fn not_run(ctx: &Ctx<'_>, eco: &str, e: StepError, started: bool) -> EntryResult {
    EntryResult::NotRun {
        reason: match e {
            // Stopped at the deadline (the caller's stop, as on SIGTERM).
            StepError::Interrupted
                if ctx
                    .deadline
                    .is_some_and(|d| tokio::time::Instant::now() >= d) =>
            {
                if started {
                    BUDGET_STOPPED
                } else {
                    BUDGET_REACHED
                }
                .into()
            }
            StepError::Runner(e) => error_chain(&e),
            StepError::Halted => {
                "not started: the run halted after a generator could not be started".into()
            }
            StepError::Interrupted => "interrupted".into(),
            StepError::Unreachable => unreachable_reason(eco),
        },
    }
}

/// Processes one candidate whose first `create` may start now (`first_slot` holds its job
/// slot and its rate-limit permit is taken). Sets `ending` to what the entry's last reading
/// says of its upstream when the entry ran to an outcome.
async fn process(
    ctx: &Ctx<'_>,
    pos: usize,
    entry: &QueueEntry,
    first_slot: Slot<'_>,
    ending: &mut Option<Ending>,
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
    let target = Target {
        name: &entry.name,
        source: &entry.source,
        recipe: &recipe,
    };
    let reading = match run_step(ctx, pos, entry, Step::Create, target, Some(first_slot)).await {
        Ok(v) => v,
        Err(e) => {
            if matches!(e, StepError::Interrupted | StepError::Unreachable) {
                // A create cut short (or not retried) may have left a partial recipe.
                let _ = fsutil::remove_if_exists(&recipe);
            }
            return not_run(ctx, entry.ecosystem(), e, true);
        }
    };
    if reading.failure.is_some() {
        *ending = Some(ending_of(&reading));
    }
    if let Some(f) = reading.failure {
        return ctx.failure(entry, f);
    }
    let reading = match run_step(ctx, pos, entry, Step::Install, target, None).await {
        Ok(v) => v,
        Err(e) => {
            // The recipe was generated but never validated: do not leave it behind.
            let _ = fsutil::remove_if_exists(&recipe);
            return not_run(ctx, entry.ecosystem(), e, true);
        }
    };
    *ending = Some(ending_of(&reading));
    if let Some(f) = reading.failure {
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

/// Runs one step, retrying what the generator reads as transient. `create` attempts take a
/// rate-limit permit; `install` only a job slot. Returns the generator's reading of the last
/// attempt.
async fn run_step(
    ctx: &Ctx<'_>,
    pos: usize,
    entry: &QueueEntry,
    step: Step,
    target: Target<'_>,
    mut first_slot: Option<Slot<'_>>,
) -> Result<Reading, StepError> {
    let job = match step {
        Step::Create => Job::Create(target),
        Step::Install => Job::Install(target),
    };
    let cmd = &ctx.generator.command(&job);
    let policy = &ctx.config.retry;
    let mut retry = 0;
    loop {
        let slot = match first_slot.take() {
            Some(slot) => slot,
            None => acquire_slot(ctx, entry, step, retry > 0).await?,
        };
        (ctx.on_event)(Event::StepStarted {
            position: pos,
            name: &entry.name,
            step,
            retry,
        });
        let started = ctx.clock.now();
        let t0 = tokio::time::Instant::now();
        let out = ctx.runner.run(cmd.clone()).await;
        drop(slot);
        let last = retry >= policy.max_retries;
        let reading = match &out {
            Ok(o) if o.exit != Exit::Interrupted => Some(ctx.generator.read(&job, o, last)),
            _ => None,
        };
        (ctx.on_event)(Event::StepFinished {
            position: pos,
            name: &entry.name,
            ecosystem: entry.ecosystem(),
            step,
            retry,
            started,
            took: t0.elapsed(),
            exit: out.as_ref().ok().map(|o| o.exit),
            command: cmd,
            failure: reading
                .as_ref()
                .and_then(|r| r.failure.as_ref())
                .map(|f| f.message.as_str()),
        });
        let out = out.map_err(|e| {
            if matches!(e, RunnerError::Spawn { .. }) {
                ctx.halted.store(true, Ordering::SeqCst);
            }
            StepError::Runner(e)
        })?;
        if out.exit == Exit::Interrupted {
            return Err(StepError::Interrupted);
        }
        let reading = reading.unwrap_or_else(|| ctx.generator.read(&job, &out, last));
        // The pace follows the answers of processes that exited, not of those killed.
        if step == Step::Create && matches!(out.exit, Exit::Code(_)) {
            ctx.observe_pace(entry.ecosystem(), &reading);
        }
        if !reading.transient || last {
            return Ok(reading);
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
            () = ctx.unreachable.wait(entry.ecosystem()), if step == Step::Create => {
                return Err(StepError::Unreachable);
            }
        }
    }
}

/// Waits for the job slot (and, for `create`, the ecosystem's rate-limit permit, a `retry`
/// before the first attempts) of the next step of `entry`; gives up when the run is stopped or halted, and a `create` gives up when
/// its ecosystem is declared unreachable (nothing of it waits for permits any more).
async fn acquire_slot<'c>(
    ctx: &'c Ctx<'_>,
    entry: &QueueEntry,
    step: Step,
    retry: bool,
) -> Result<Slot<'c>, StepError> {
    let eco = entry.ecosystem();
    let create = step == Step::Create;
    ctx.check()?;
    if create && ctx.unreachable.is_down(eco) {
        return Err(StepError::Unreachable);
    }
    let acquire = async {
        // The ecosystem's cap first: a process that may not run yet takes no rate-limit
        // permit and no job slot from the others.
        let eco = match ctx.caps.get(entry.ecosystem()) {
            Some(cap) => Some(
                cap.acquire()
                    .await
                    .expect("the cap semaphores are never closed"),
            ),
            None => None,
        };
        let job = match step {
            Step::Create => {
                ctx.limiters
                    .acquire(entry.ecosystem(), &ctx.slots, retry)
                    .await
            }
            Step::Install => ctx
                .slots
                .acquire()
                .await
                .expect("the job semaphore is never closed"),
        };
        Slot {
            _job: job,
            _eco: eco,
        }
    };
    let slot = tokio::select! {
        slot = acquire => slot,
        () = stop_reached(ctx.stop.as_ref(), Stop::Graceful) => return Err(StepError::Interrupted),
        () = ctx.unreachable.wait(eco), if create => return Err(StepError::Unreachable),
    };
    ctx.check()?;
    if create && ctx.unreachable.is_down(eco) {
        return Err(StepError::Unreachable);
    }
    Ok(slot)
}

impl Ctx<'_> {
    /// Feeds the answer of a `create` that exited (transient or not) to the ecosystem's
    /// adaptive pace; reports a change. A transient failure that never reached the upstream
    /// ([`Reading::connect_failed`]) is no answer and no push-back: the pace ignores it
    /// (issue #22).
    fn observe_pace(&self, ecosystem: &str, reading: &Reading) {
        let signal = match (reading.transient, reading.connect_failed) {
            (true, true) => return,
            (true, false) => Signal::Network,
            (false, _) => Signal::Answered,
        };
        if let Some(change) = self.limiters.observe(ecosystem, signal) {
            (self.on_event)(Event::PaceChanged { ecosystem, change });
        }
    }

    /// Feeds how an entry of `ecosystem` ended to the unreachable detection (after its
    /// `Finished` event); reports the ecosystem when this entry declares it unreachable.
    fn ended(&self, ecosystem: &str, ending: Ending) {
        if let Some(after) = self.unreachable.record(ecosystem, ending) {
            (self.on_event)(Event::Unreachable { ecosystem, after });
        }
    }

    /// Whether a candidate starting now is expected to finish before the deadline.
    fn fits_budget(&self) -> bool {
        let Some(deadline) = self.deadline else {
            return true;
        };
        let expected = percentile_90(&self.durations.lock().unwrap_or_else(|p| p.into_inner()))
            .unwrap_or(self.config.timeout);
        tokio::time::Instant::now() + expected <= deadline
    }

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

    fn failure(&self, entry: &QueueEntry, f: Failure) -> EntryResult {
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

/// What the last reading of an entry that ran to an outcome says of its upstream: a reading
/// still transient exhausted its retries on the network code (`run_step` returns one only on
/// the last attempt); any other reading is an answer.
fn ending_of(last: &Reading) -> Ending {
    if last.transient && last.failure.is_some() {
        Ending::NetworkExhausted
    } else {
        Ending::Answered
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
