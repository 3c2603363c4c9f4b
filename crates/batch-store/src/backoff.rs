//! Bounded, jittered exponential backoff for retrying a lost conditional PUT. Pure: the caller
//! supplies the jitter sample, so tests need no randomness and no real sleeps.

use std::time::Duration;

/// How often and how far apart a lost manifest write is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConflictRetry {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Delay scale after the first lost attempt; doubles per attempt.
    pub base: Duration,
    /// Upper bound of one delay.
    pub cap: Duration,
}

impl Default for ConflictRetry {
    /// 8 attempts, delays from 100 ms doubling up to 5 s (at most about 13 s of waiting).
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl ConflictRetry {
    /// The delay after lost attempt `attempt` (1-based) with jitter sample `u` in `[0, 1)`:
    /// "equal jitter", half of `min(cap, base · 2^(attempt-1))` plus `u` times the other half,
    /// so two writers that lost together spread apart but never retry at once.
    pub fn delay(&self, attempt: u32, u: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let d = exp.min(self.cap);
        let half = d / 2;
        half + half.mul_f64(u.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_cap_and_stay_in_band() {
        let p = ConflictRetry::default();
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(3, 0.5), Duration::from_millis(300));
        assert_eq!(p.delay(30, 0.0), Duration::from_millis(2500));
        assert_eq!(p.delay(30, 1.0), Duration::from_secs(5));
        for attempt in 1..40 {
            for u in [0.0, 0.3, 0.999] {
                let d = p.delay(attempt, u);
                assert!(
                    d <= p.cap && d >= Duration::from_millis(50),
                    "{attempt} {u} {d:?}"
                );
            }
        }
    }
}
