//! One governor rate limiter per ecosystem (issue #3): a start in an ecosystem needs a permit,
//! and two permits of one ecosystem are never closer than its [`RateLimit`] period (burst 1).
//!
//! The limiters run on tokio's clock, so tests with a paused runtime check the spacing without
//! real sleeps. Waiting happens without holding a job slot: the head entry of each ecosystem
//! (FIFO) waits for its limiter, then takes a job slot, and takes the permit only once it holds
//! the slot, so a permit always turns into a start at once.

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

use crate::config::RateLimit;

/// A governor clock reading `tokio::time::Instant`, in nanoseconds since the limiter set was
/// created.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: tokio::time::Instant,
}

/// An instant of [`TokioClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokioInstant(u64);

impl Add<Nanos> for TokioInstant {
    type Output = Self;
    fn add(self, rhs: Nanos) -> Self {
        Self(self.0.saturating_add(rhs.as_u64()))
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
    /// FIFO order among the entries of one ecosystem.
    turn: tokio::sync::Mutex<()>,
    /// `None` for a zero period (no limit).
    limiter: Option<Limiter>,
}

/// The per-ecosystem limiters of one run.
pub struct EcosystemLimiters {
    rate: RateLimit,
    clock: TokioClock,
    gates: Mutex<HashMap<String, Arc<Gate>>>,
}

impl EcosystemLimiters {
    /// Limiters for the given periods; each ecosystem's limiter is created on first use.
    pub fn new(rate: RateLimit) -> Self {
        Self {
            rate,
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
                let limiter = Quota::with_period(self.rate.period(eco)).map(|q| {
                    RateLimiter::direct_with_clock(
                        q.allow_burst(NonZeroU32::MIN),
                        self.clock.clone(),
                    )
                });
                Arc::new(Gate {
                    turn: tokio::sync::Mutex::new(()),
                    limiter,
                })
            })
            .clone()
    }

    /// Waits until a generator of `eco` may start, then returns a job slot from `slots`
    /// (held for the life of the process). The start is counted against the ecosystem's
    /// quota when this returns.
    pub async fn acquire<'s>(&self, eco: &str, slots: &'s Semaphore) -> SemaphorePermit<'s> {
        let gate = self.gate(eco);
        let _turn = gate.turn.lock().await;
        loop {
            let slot = slots
                .acquire()
                .await
                .expect("the job semaphore is never closed");
            let Some(limiter) = &gate.limiter else {
                return slot;
            };
            match limiter.check() {
                Ok(()) => return slot,
                Err(not_until) => {
                    // Give the slot back while waiting so other ecosystems can start.
                    drop(slot);
                    let wait = not_until.wait_time_from(self.clock.now());
                    tokio::time::sleep(wait).await;
                }
            }
        }
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
        let lim = EcosystemLimiters::new(rate(&[("rubygems", 6000)]));
        let slots = Semaphore::new(8);
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..4 {
            let _slot = lim.acquire("rubygems", &slots).await;
            at.push(t0.elapsed());
        }
        assert_eq!(at, [0, 6, 12, 18].map(Duration::from_secs));
    }

    #[tokio::test(start_paused = true)]
    async fn ecosystems_do_not_wait_for_each_other() {
        let lim = EcosystemLimiters::new(rate(&[("rubygems", 6000), ("homebrew", 1000)]));
        let slots = Semaphore::new(8);
        let t0 = Instant::now();
        let _a = lim.acquire("rubygems", &slots).await;
        let _b = lim.acquire("homebrew", &slots).await;
        let _c = lim.acquire("homebrew", &slots).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_period_means_unlimited_and_slots_still_bound() {
        let lim = EcosystemLimiters::new(rate(&[("npm", 0)]));
        let slots = Semaphore::new(2);
        let a = lim.acquire("npm", &slots).await;
        let _b = lim.acquire("npm", &slots).await;
        assert_eq!(slots.available_permits(), 0);
        drop(a);
        let _c = lim.acquire("npm", &slots).await;
    }
}
