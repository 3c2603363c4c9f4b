//! Adaptive slowdown of an ecosystem's start rate when its registry pushes back (issue #15).
//!
//! Multiplicative decrease, stepwise recovery (AIMD on the rate): when `threshold` (K) `create`
//! processes of one ecosystem exit with the network code within `window` (not counting those
//! that never reached the registry, `Reading::connect_failed`, issue #22), the ecosystem's
//! start period doubles, up to `cap` × its base period. Each run of `recover_after`
//! consecutive `create` exits that are not the network code halves it again, step by step,
//! back to the configured period. The period is never shorter than the configured one.
//!
//! An ecosystem configured without a limit (period 0) slows down from [`Adaptive::floor`]
//! (1 s by default) and returns to "no limit" once fully recovered.
//!
//! `Pace` is the state machine of one ecosystem; it takes the time as an argument, so tests
//! drive it with any clock. The limiter (`run/ratelimit.rs`) applies a new period by replacing
//! the ecosystem's governor limiter with one built from a new quota.

use std::collections::VecDeque;
use std::time::Duration;

/// Settings of the adaptive slowdown (`--adaptive`, `--adaptive-threshold`,
/// `--adaptive-window`, `--adaptive-cap`, `--adaptive-recover`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adaptive {
    /// Off: every ecosystem keeps its configured period for the whole run.
    pub enabled: bool,
    /// K: network exits within `window` that slow the ecosystem down one step (≥ 1).
    pub threshold: u32,
    /// The window in which the K network exits must fall.
    pub window: Duration,
    /// The largest multiple of the base period a slowdown may reach (≥ 1; 1 disables it).
    pub cap: u32,
    /// Consecutive non-network `create` exits after which one step is undone (≥ 1).
    pub recover_after: u32,
    /// Base period of an ecosystem configured without a limit.
    pub floor: Duration,
}

impl Default for Adaptive {
    /// On; 3 network exits within 60 s; at most 8 × slower; one step back after 5 answers;
    /// 1 s base for unlimited ecosystems.
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 3,
            window: Duration::from_secs(60),
            cap: 8,
            recover_after: 5,
            floor: Duration::from_secs(1),
        }
    }
}

/// What a finished `create` process says about its registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// It exited with the network code (tsuku's 5) after reaching its registry: push-back.
    /// A network exit whose dial failed is not fed to the pace at all (issue #22).
    Network,
    /// Any other exit: the registry answered.
    Answered,
}

/// Why a period changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaceReason {
    /// K network exits within the window.
    PushBack {
        /// K.
        exits: u32,
        /// The window.
        window: Duration,
    },
    /// `recover_after` consecutive answers.
    Recovered {
        /// How many.
        answers: u32,
    },
}

impl std::fmt::Display for PaceReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaceReason::PushBack { exits, window } => write!(
                f,
                "{exits} network exits (code 5) within {}s",
                window.as_secs_f64()
            ),
            PaceReason::Recovered { answers } => {
                write!(f, "{answers} consecutive answers without a network exit")
            }
        }
    }
}

/// One change of an ecosystem's start period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceChange {
    /// The period before (zero: no limit).
    pub from: Duration,
    /// The period after.
    pub to: Duration,
    /// Why.
    pub reason: PaceReason,
}

/// The adaptive state of one ecosystem. `I` is the clock's instant type.
#[derive(Debug, Clone)]
pub(crate) struct Pace<I> {
    settings: Adaptive,
    configured: Duration,
    /// Steps of slowdown: the period is `base × 2^level`, capped.
    level: u32,
    recent: VecDeque<I>,
    answers: u32,
}

impl<I> Pace<I>
where
    I: Copy + Ord + std::ops::Sub<I, Output = Duration>,
{
    /// The state of an ecosystem configured with `configured` (zero: no limit).
    pub fn new(settings: Adaptive, configured: Duration) -> Self {
        Self {
            settings,
            configured,
            level: 0,
            recent: VecDeque::new(),
            answers: 0,
        }
    }

    /// The period in force: the configured one at level 0, else
    /// `min(base × 2^level, base × cap)` with `base = max(configured, floor)` for an unlimited
    /// ecosystem. Never shorter than the configured period.
    pub fn period(&self) -> Duration {
        if self.level == 0 {
            return self.configured;
        }
        let base = if self.configured.is_zero() {
            self.settings.floor
        } else {
            self.configured
        };
        let cap = self.settings.cap.max(1);
        let mult = 1u32.checked_shl(self.level).unwrap_or(u32::MAX).min(cap);
        base.saturating_mul(mult).max(self.configured)
    }

    /// The highest level: the first whose multiple reaches the cap.
    fn max_level(&self) -> u32 {
        let cap = self.settings.cap.max(1);
        (0..32)
            .find(|l| (1u64 << l) >= u64::from(cap))
            .unwrap_or(31)
    }

    /// Records one finished `create` process at `now`; returns the change of period it causes.
    pub fn observe(&mut self, now: I, signal: Signal) -> Option<PaceChange> {
        if !self.settings.enabled {
            return None;
        }
        let from = self.period();
        match signal {
            Signal::Network => {
                self.answers = 0;
                self.recent.push_back(now);
                while self
                    .recent
                    .front()
                    .is_some_and(|t| now - *t > self.settings.window)
                {
                    self.recent.pop_front();
                }
                let k = self.settings.threshold.max(1);
                if self.recent.len() < k as usize || self.level >= self.max_level() {
                    return None;
                }
                self.level += 1;
                // The next step needs K fresh network exits.
                self.recent.clear();
                Some(PaceChange {
                    from,
                    to: self.period(),
                    reason: PaceReason::PushBack {
                        exits: k,
                        window: self.settings.window,
                    },
                })
            }
            Signal::Answered => {
                if self.level == 0 {
                    return None;
                }
                self.answers += 1;
                let n = self.settings.recover_after.max(1);
                if self.answers < n {
                    return None;
                }
                self.answers = 0;
                self.level -= 1;
                Some(PaceChange {
                    from,
                    to: self.period(),
                    reason: PaceReason::Recovered { answers: n },
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test clock: seconds since the start.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    struct T(u64);

    impl std::ops::Sub for T {
        type Output = Duration;
        fn sub(self, rhs: T) -> Duration {
            Duration::from_secs(self.0 - rhs.0)
        }
    }

    fn pace(configured_s: u64) -> Pace<T> {
        Pace::new(Adaptive::default(), Duration::from_secs(configured_s))
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn k_network_exits_within_the_window_double_the_period() {
        let mut p = pace(2);
        assert_eq!(p.observe(T(0), Signal::Network), None);
        assert_eq!(p.observe(T(10), Signal::Network), None);
        let c = p.observe(T(20), Signal::Network).unwrap();
        assert_eq!((c.from, c.to), (secs(2), secs(4)));
        assert_eq!(p.period(), secs(4));
        // The next step needs three more.
        assert_eq!(p.observe(T(21), Signal::Network), None);
        assert_eq!(p.observe(T(22), Signal::Network), None);
        assert_eq!(p.observe(T(23), Signal::Network).unwrap().to, secs(8));
    }

    #[test]
    fn exits_outside_the_window_do_not_count() {
        let mut p = pace(1);
        p.observe(T(0), Signal::Network);
        p.observe(T(50), Signal::Network);
        // 0 is 61 s before 61: out of the 60 s window.
        assert_eq!(p.observe(T(61), Signal::Network), None);
        assert_eq!(p.period(), secs(1));
        assert!(p.observe(T(62), Signal::Network).is_some());
    }

    #[test]
    fn an_answer_between_network_exits_does_not_reset_the_window() {
        // Push-back is counted in time, not in a row: 5, ok, 5, 5 within 60 s slows down.
        let mut p = pace(1);
        p.observe(T(0), Signal::Network);
        p.observe(T(1), Signal::Answered);
        p.observe(T(2), Signal::Network);
        assert!(p.observe(T(3), Signal::Network).is_some());
    }

    #[test]
    fn the_cap_bounds_the_slowdown() {
        let mut p = pace(6);
        for t in 0..100 {
            p.observe(T(t), Signal::Network);
        }
        assert_eq!(p.period(), secs(48), "8 × 6 s");
        let mut p = Pace::new(
            Adaptive {
                cap: 3,
                ..Adaptive::default()
            },
            secs(1),
        );
        for t in 0..100 {
            p.observe(T(t), Signal::Network);
        }
        assert_eq!(p.period(), secs(3), "a cap that is not a power of two");
    }

    #[test]
    fn recovery_is_stepwise_and_never_below_the_configured_period() {
        let mut p = pace(2);
        for t in 0..9 {
            p.observe(T(t), Signal::Network);
        }
        assert_eq!(p.period(), secs(16));
        let mut periods = Vec::new();
        for t in 100..140 {
            if let Some(c) = p.observe(T(t), Signal::Answered) {
                periods.push(c.to);
            }
        }
        assert_eq!(periods, [secs(8), secs(4), secs(2)]);
        assert!(periods.iter().all(|p| *p >= secs(2)));
        assert_eq!(p.period(), secs(2));
    }

    #[test]
    fn a_network_exit_restarts_the_count_of_answers() {
        let mut p = pace(1);
        for t in 0..3 {
            p.observe(T(t), Signal::Network);
        }
        for t in 10..14 {
            assert_eq!(p.observe(T(t), Signal::Answered), None);
        }
        p.observe(T(14), Signal::Network);
        for t in 15..19 {
            assert_eq!(p.observe(T(t), Signal::Answered), None);
        }
        assert_eq!(p.observe(T(19), Signal::Answered).unwrap().to, secs(1));
    }

    #[test]
    fn unlimited_ecosystems_slow_down_from_the_floor_and_return_to_no_limit() {
        let mut p = pace(0);
        for t in 0..3 {
            p.observe(T(t), Signal::Network);
        }
        assert_eq!(p.period(), secs(2), "1 s floor × 2");
        for t in 10..15 {
            p.observe(T(t), Signal::Answered);
        }
        assert_eq!(p.period(), Duration::ZERO);
    }

    #[test]
    fn off_never_changes_anything() {
        let mut p = Pace::new(
            Adaptive {
                enabled: false,
                ..Adaptive::default()
            },
            secs(1),
        );
        for t in 0..100 {
            assert_eq!(p.observe(T(t), Signal::Network), None);
        }
        assert_eq!(p.period(), secs(1));
    }
}
