//! One governor rate limiter per ecosystem (issue #3): a start in an ecosystem needs a permit,
//! and two permits of one ecosystem are never closer than its [`RateLimit`] period (burst 1).
//!
//! The limiters run on tokio's clock, so tests with a paused runtime check the spacing without
//! real sleeps. Waiting happens without holding a job slot: the head entry of each ecosystem
//! (FIFO) waits for its limiter, then takes a job slot, and takes the permit only once it holds
//! the slot, so a permit always turns into a start at once.
//!
//! A retry goes before the first attempts still waiting in its ecosystem (issue #22): an
//! entry that met the network code finishes (or exhausts its retries) before new entries pile
//! onto the same upstream, so a dead upstream is detected after about K entries
//! (`run/unreachable.rs`) instead of after every entry's third attempt.
//!
//! With the adaptive slowdown (`run/adaptive.rs`), `EcosystemLimiters::observe` may change an
//! ecosystem's period: its limiter is then replaced by one built from the new governor quota,
//! with its first cell taken at once, so the next start is one new period after the change.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::ops::Add;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock as GovClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::adaptive::{Adaptive, Pace, PaceChange, Signal};
use crate::config::RateLimit;

/// A governor clock reading `tokio::time::Instant`, in nanoseconds since the limiter set was
/// created.
#[derive(Debug, Clone)]
pub(crate) struct TokioClock {
    start: tokio::time::Instant,
}

/// An instant of [`TokioClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TokioInstant(u64);

impl Add<Nanos> for TokioInstant {
    type Output = Self;
    fn add(self, rhs: Nanos) -> Self {
        Self(self.0.saturating_add(rhs.as_u64()))
    }
}

impl std::ops::Sub for TokioInstant {
    type Output = std::time::Duration;
    fn sub(self, rhs: Self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.saturating_sub(rhs.0))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        Nanos::from(self.0.saturating_sub(earlier.0))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        Self(self.0.saturating_sub(duration.as_u64()))
    }
}

impl GovClock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        let d = tokio::time::Instant::now().saturating_duration_since(self.start);
        TokioInstant(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<TokioInstant>>;

struct Gate {
    /// FIFO order among the first attempts of one ecosystem.
    first: tokio::sync::Mutex<()>,
    /// FIFO order among the starts that go next: retries, and the first attempt at the head of
    /// `first` once no retry waits.
    turn: tokio::sync::Mutex<()>,
    /// Retries waiting for `turn`.
    retries: tokio::sync::watch::Sender<usize>,
    state: Mutex<GateState>,
}

struct GateState {
    /// `None` for a zero period (no limit).
    limiter: Option<Limiter>,
    pace: Pace<TokioInstant>,
}

impl GateState {
    /// A limiter of one start per `period` (burst 1); `None` for a zero period.
    fn limiter(period: std::time::Duration, clock: &TokioClock) -> Option<Limiter> {
        Quota::with_period(period)
            .map(|q| RateLimiter::direct_with_clock(q.allow_burst(NonZeroU32::MIN), clock.clone()))
    }
}

/// The per-ecosystem limiters of one run.
pub(crate) struct EcosystemLimiters {
    rate: RateLimit,
    adaptive: Adaptive,
    clock: TokioClock,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl EcosystemLimiters {
    /// Limiters for the given periods, adapted to push-back as `adaptive` says; each
    /// ecosystem's limiter is created on first use.
    pub fn new(rate: RateLimit, adaptive: Adaptive) -> Self {
        Self {
            rate,
            adaptive,
            clock: TokioClock {
                start: tokio::time::Instant::now(),
            },
            gates: Mutex::new(HashMap::new()),
        }
    }

    fn gate(&self, eco: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry(eco.to_owned())
            .or_insert_with(|| {
                let period = self.rate.period(eco);
                Arc::new(Gate {
                    first: tokio::sync::Mutex::new(()),
                    turn: tokio::sync::Mutex::new(()),
                    retries: tokio::sync::watch::Sender::new(0),
                    state: Mutex::new(GateState {
                        limiter: GateState::limiter(period, &self.clock),
                        pace: Pace::new(self.adaptive.clone(), period),
                    }),
                })
            })
            .clone()
    }

    /// Records how a `create` process of `eco` ended. When that changes the ecosystem's period
    /// (`run/adaptive.rs`), the limiter is rebuilt from the new quota with its first cell taken
    /// now, so the next start waits one new period; the change is returned for the log.
    pub fn observe(&self, eco: &str, signal: Signal) -> Option<PaceChange> {
        let gate = self.gate(eco);
        let mut state = gate.state.lock().unwrap_or_else(|p| p.into_inner());
        let change = state.pace.observe(self.clock.now(), signal)?;
        let limiter = GateState::limiter(change.to, &self.clock);
        if let Some(l) = &limiter {
            // A fresh limiter allows one start at once; this change counts as that start.
            let _ = l.check();
        }
        state.limiter = limiter;
        Some(change)
    }

    /// The period in force for `eco` (zero: no limit).
    #[cfg(test)]
    pub fn period(&self, eco: &str) -> std::time::Duration {
        let gate = self.gate(eco);
        let state = gate.state.lock().unwrap_or_else(|p| p.into_inner());
        state.pace.period()
    }

    /// Waits until a generator of `eco` may start, then returns a job slot from `slots`
    /// (held for the life of the process). The start is counted against the ecosystem's
    /// quota when this returns. A `retry` goes before the first attempts that wait, except
    /// the one that holds the turn and the one already queued for it.
    pub async fn acquire<'s>(
        &self,
        eco: &str,
        slots: &'s Semaphore,
        retry: bool,
    ) -> SemaphorePermit<'s> {
        let gate = self.gate(eco);
        let _turn = if retry {
            let _waiting = RetryWaiting::new(&gate.retries);
            gate.turn.lock().await
        } else {
            let _first = gate.first.lock().await;
            let mut waiting = gate.retries.subscribe();
            // The sender lives in `gate`, which this function holds: `wait_for` cannot fail.
            let _ = waiting.wait_for(|n| *n == 0).await;
            gate.turn.lock().await
        };
        loop {
            let slot = slots
                .acquire()
                .await
                .expect("the job semaphore is never closed");
            let wait = {
                let state = gate.state.lock().unwrap_or_else(|p| p.into_inner());
                match &state.limiter {
                    None => None,
                    Some(limiter) => limiter
                        .check()
                        .err()
                        .map(|not_until| not_until.wait_time_from(self.clock.now())),
                }
            };
            let Some(wait) = wait else {
                return slot;
            };
            // Give the slot back while waiting so other ecosystems can start. The limiter is
            // asked again after the wait: the period may have changed meanwhile.
            drop(slot);
            tokio::time::sleep(wait).await;
        }
    }
}

/// One retry counted in a gate's `retries` while it waits for the turn (also when its wait is
/// cancelled).
struct RetryWaiting<'g>(&'g tokio::sync::watch::Sender<usize>);

impl<'g> RetryWaiting<'g> {
    fn new(retries: &'g tokio::sync::watch::Sender<usize>) -> Self {
        retries.send_modify(|n| *n += 1);
        Self(retries)
    }
}

impl Drop for RetryWaiting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    fn rate(pairs: &[(&str, u64)]) -> RateLimit {
        let mut r = RateLimit::default();
        for (eco, ms) in pairs {
            r.set(*eco, Duration::from_millis(*ms));
        }
        r
    }

    #[tokio::test(start_paused = true)]
    async fn starts_in_one_ecosystem_are_spaced_by_its_period() {
        let lim = EcosystemLimiters::new(rate(&[("rubygems", 6000)]), Adaptive::default());
        let slots = Semaphore::new(8);
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            let _slot = lim.acquire("rubygems", &slots, false).await;
            at.push(t0.elapsed());
        }
        assert_eq!(at, [0, 6, 12, 18].map(Duration::from_secs));
    }

    #[tokio::test(start_paused = true)]
    async fn ecosystems_do_not_wait_for_each_other() {
        let lim = EcosystemLimiters::new(
            rate(&[("rubygems", 6000), ("homebrew", 1000)]),
            Adaptive::default(),
        );
        let slots = Semaphore::new(8);
        let t0 = Instant::now();
        let _a = lim.acquire("rubygems", &slots, false).await;
        let _b = lim.acquire("homebrew", &slots, false).await;
        let _c = lim.acquire("homebrew", &slots, false).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_period_means_unlimited_and_slots_still_bound() {
        let lim = EcosystemLimiters::new(rate(&[("npm", 0)]), Adaptive::default());
        let slots = Semaphore::new(2);
        let a = lim.acquire("npm", &slots, false).await;
        let _b = lim.acquire("npm", &slots, false).await;
        assert_eq!(slots.available_permits(), 0);
        drop(a);
        let _c = lim.acquire("npm", &slots, false).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_slowdown_replaces_the_quota_and_recovery_restores_it() {
        let lim = EcosystemLimiters::new(rate(&[("pypi", 1000)]), Adaptive::default());
        let slots = Semaphore::new(8);
        let t0 = Instant::now();
        let mut at = Vec::new();
        let _ = lim.acquire("pypi", &slots, false).await;
        for _ in 0..3 {
            lim.observe("pypi", Signal::Network);
        }
        assert_eq!(lim.period("pypi"), Duration::from_secs(2));
        for _ in 0..2 {
            let _slot = lim.acquire("pypi", &slots, false).await;
            at.push(t0.elapsed());
        }
        for _ in 0..5 {
            lim.observe("pypi", Signal::Answered);
        }
        assert_eq!(lim.period("pypi"), Duration::from_secs(1));
        for _ in 0..2 {
            let _slot = lim.acquire("pypi", &slots, false).await;
            at.push(t0.elapsed());
        }
        // Slowed at 0 s: the next start one new period (2 s) later, then 2 s apart. Recovered
        // at 4 s (the change takes the cell): back to 1 s spacing, never closer.
        assert_eq!(at, [2, 4, 5, 6].map(Duration::from_secs));
    }

    /// Period 1 s. A starts at 0; B, C, D (first attempts) queue at 0; a retry R arrives at
    /// 0.5 s: B holds the turn and C is queued for it, so R goes third, before D.
    #[tokio::test(start_paused = true)]
    async fn a_retry_goes_before_waiting_first_attempts() {
        let lim = Arc::new(EcosystemLimiters::new(
            rate(&[("pypi", 1000)]),
            Adaptive::default(),
        ));
        let slots = Arc::new(Semaphore::new(8));
        let t0 = Instant::now();
        let order = Arc::new(Mutex::new(Vec::new()));
        drop(lim.acquire("pypi", &slots, false).await);
        let start = |name: &'static str, retry: bool| {
            let (lim, slots, order) = (lim.clone(), slots.clone(), order.clone());
            tokio::spawn(async move {
                drop(lim.acquire("pypi", &slots, retry).await);
                order.lock().unwrap().push((name, t0.elapsed()));
            })
        };
        let mut tasks = Vec::new();
        for name in ["B", "C", "D"] {
            tasks.push(start(name, false));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        tasks.push(start("R", true));
        for t in tasks {
            t.await.unwrap();
        }
        let secs = Duration::from_secs;
        assert_eq!(
            *order.lock().unwrap(),
            [
                ("B", secs(1)),
                ("C", secs(2)),
                ("R", secs(3)),
                ("D", secs(4))
            ]
        );
    }
}
