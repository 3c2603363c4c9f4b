//! The weekly CI-minute budget in the control file's `budget` block (spec §1.2, issue #6):
//! minutes used against weekly limits; sampling above 80 %, skip above 95 % (the design's
//! thresholds, configurable).

use serde_json::Value;

/// Weekly limits and thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetLimits {
    /// macOS minutes per week (design: 1000).
    pub macos_weekly_minutes: u64,
    /// Linux minutes per week (design: 5000).
    pub linux_weekly_minutes: u64,
    /// Above this fraction of a limit, expensive validation is sampled (0.80).
    pub sample_above: f64,
    /// Above this fraction of a limit, the batch is skipped (0.95).
    pub skip_above: f64,
}

impl Default for BudgetLimits {
    fn default() -> Self {
        Self {
            macos_weekly_minutes: 1000,
            linux_weekly_minutes: 5000,
            sample_above: 0.80,
            skip_above: 0.95,
        }
    }
}

/// Minutes used this week, as read from `budget`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BudgetUse {
    /// `budget.macos_minutes_used`.
    pub macos_minutes: u64,
    /// `budget.linux_minutes_used`.
    pub linux_minutes: u64,
}

impl BudgetUse {
    /// Reads the `budget` block; a missing block or key counts as 0 minutes used, a negative
    /// or non-integer value as 0 too (the block is informational in the Go tool).
    pub fn from_block(budget: Option<&Value>) -> Self {
        let minutes = |k: &str| {
            budget
                .and_then(|b| b.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        Self {
            macos_minutes: minutes("macos_minutes_used"),
            linux_minutes: minutes("linux_minutes_used"),
        }
    }
}

/// What the budget allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetState {
    /// Under the sampling threshold on both platforms.
    Ok,
    /// Above the sampling threshold on at least one platform: run, sample validation.
    Sampling {
        /// The highest used fraction (0.0–1.0+).
        used: f64,
    },
    /// Above the skip threshold on at least one platform: do not run.
    Exhausted {
        /// The highest used fraction.
        used: f64,
    },
}

/// Assesses `used` against `limits`, using the more consumed platform. A zero limit counts as
/// fully used.
pub(crate) fn assess(used: BudgetUse, limits: &BudgetLimits) -> BudgetState {
    let frac = |u: u64, l: u64| {
        if l == 0 {
            f64::INFINITY
        } else {
            u as f64 / l as f64
        }
    };
    let worst = frac(used.macos_minutes, limits.macos_weekly_minutes)
        .max(frac(used.linux_minutes, limits.linux_weekly_minutes));
    if worst > limits.skip_above {
        BudgetState::Exhausted { used: worst }
    } else if worst > limits.sample_above {
        BudgetState::Sampling { used: worst }
    } else {
        BudgetState::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(macos: u64, linux: u64) -> BudgetState {
        assess(
            BudgetUse {
                macos_minutes: macos,
                linux_minutes: linux,
            },
            &BudgetLimits::default(),
        )
    }

    #[test]
    fn thresholds_are_strictly_above() {
        assert_eq!(state(0, 0), BudgetState::Ok);
        assert_eq!(state(800, 0), BudgetState::Ok, "exactly 80 % is not above");
        assert!(matches!(state(801, 0), BudgetState::Sampling { .. }));
        assert!(
            matches!(state(0, 4001), BudgetState::Sampling { .. }),
            "linux counts too"
        );
        assert!(
            matches!(state(950, 0), BudgetState::Sampling { .. }),
            "exactly 95 % samples"
        );
        assert!(matches!(state(951, 0), BudgetState::Exhausted { .. }));
        assert!(matches!(state(0, 9999), BudgetState::Exhausted { used } if used > 1.9));
    }

    #[test]
    fn reads_the_block_leniently() {
        let b = json!({"macos_minutes_used": 900, "linux_minutes_used": -3, "week_start": ""});
        assert_eq!(
            BudgetUse::from_block(Some(&b)),
            BudgetUse {
                macos_minutes: 900,
                linux_minutes: 0
            }
        );
        assert_eq!(BudgetUse::from_block(None), BudgetUse::default());
        let zero = BudgetLimits {
            macos_weekly_minutes: 0,
            ..BudgetLimits::default()
        };
        assert!(matches!(
            assess(BudgetUse::default(), &zero),
            BudgetState::Exhausted { .. }
        ));
    }
}
