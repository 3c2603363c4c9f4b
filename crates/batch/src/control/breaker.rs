//! The per-ecosystem circuit breaker as a pure state machine (spec §6): recovery of an open
//! breaker, the batch-level outcome rule and the success/failure transitions. Reading and
//! writing `batch-control.json` is `control`'s job; this module does no I/O.

use std::time::Duration;

use jiff::Timestamp;

use crate::records::timestamp::whole_seconds_utc;

/// Breaker state (spec §6.1): the three spellings of `circuit_breaker.<eco>.state`.
///
/// Go and the spec treat any other string as closed; this crate refuses it instead (issue #12:
/// a typo such as `"Open"` must not silently disable a breaker), so an unknown state is an
/// error when the control file, a journal or a fragment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakerState {
    /// Normal selection.
    Closed,
    /// No entry of the ecosystem is selected.
    Open,
    /// One probe entry per run.
    HalfOpen,
}

impl BreakerState {
    /// The accepted JSON spellings, in state-machine order (spec §1.2, §6.1).
    pub const ACCEPTED: [&'static str; 3] = ["closed", "open", "half-open"];

    /// Parses the JSON spelling; case-sensitive (spec §1.2). `None` for any other string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "closed" => Some(Self::Closed),
            "open" => Some(Self::Open),
            "half-open" => Some(Self::HalfOpen),
            _ => None,
        }
    }

    /// The JSON spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half-open",
        }
    }

    /// The state selection acts on (spec §3 step 2.4).
    pub fn effective(&self) -> EffectiveState {
        match self {
            Self::Open => EffectiveState::Open,
            Self::HalfOpen => EffectiveState::HalfOpen,
            Self::Closed => EffectiveState::Closed,
        }
    }
}

impl serde::Serialize for BreakerState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for BreakerState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "unknown breaker state {s:?}, expected one of {}",
                Self::ACCEPTED.join(", ")
            ))
        })
    }
}

/// What selection sees for an ecosystem (spec §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EffectiveState {
    /// Normal selection (also a missing breaker).
    #[default]
    Closed,
    /// Skipped entirely.
    Open,
    /// One probe.
    HalfOpen,
}

/// One ecosystem's breaker as stored under `circuit_breaker.<eco>` (spec §1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breaker {
    /// Current state.
    pub state: BreakerState,
    /// Consecutive batch-level failures.
    pub failures: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ` of the last failure update, if any.
    pub last_failure: Option<String>,
    /// When an open breaker may turn half-open, `YYYY-MM-DDTHH:MM:SSZ` (any RFC 3339 accepted).
    pub opens_at: Option<String>,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            state: BreakerState::Closed,
            failures: 0,
            last_failure: None,
            opens_at: None,
        }
    }
}

/// Threshold and recovery time of the breaker (spec §6.4 `FAILURE_THRESHOLD`, `RECOVERY_MINUTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive failing batches that open a closed breaker (default 5).
    pub failure_threshold: i64,
    /// Time from a failure that opens the breaker to the moment it may turn half-open
    /// (default 60 minutes).
    pub recovery: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            recovery: Duration::from_secs(60 * 60),
        }
    }
}

/// Whether an open breaker may turn half-open now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Not open; nothing to do.
    NotOpen,
    /// `opens_at` has passed (or equals now): turn half-open.
    Due,
    /// Still open until the given instant.
    NotYet(Timestamp),
    /// Open with no `opens_at`: stays open until an operator acts (spec §6.3).
    NoRecoveryTime,
    /// Open with an `opens_at` that is not RFC 3339: stays open; the text is returned for
    /// the warning.
    Unparseable(String),
}

/// Decides recovery of an open breaker (spec §6.2). Deliberate fixes over Go: any RFC 3339
/// `opens_at` is accepted (Go needs the exact `…Z` layout) and `now == opens_at` counts as due
/// (the shell's `>=`; Go used `>`).
pub(crate) fn recovery(b: &Breaker, now: Timestamp) -> Recovery {
    if b.state != BreakerState::Open {
        return Recovery::NotOpen;
    }
    match b.opens_at.as_deref() {
        None | Some("") => Recovery::NoRecoveryTime,
        Some(s) => match s.parse::<crate::records::timestamp::Rfc3339>() {
            Ok(t) if now >= t.instant() => Recovery::Due,
            Ok(t) => Recovery::NotYet(t.instant()),
            Err(_) => Recovery::Unparseable(s.to_owned()),
        },
    }
}

/// Batch-level outcome of one ecosystem (spec §6.5 step 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// At least one entry succeeded, or none failed (all blocked counts as success).
    Success,
    /// At least one entry failed and none succeeded.
    Failure,
}

impl BatchOutcome {
    /// `Failure` iff `failed > 0 && succeeded == 0` (spec §6.5).
    pub fn from_counts(succeeded: usize, failed: usize) -> Self {
        if failed > 0 && succeeded == 0 {
            Self::Failure
        } else {
            Self::Success
        }
    }
}

/// What an update did, for logs and the run report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing changed.
    None,
    /// Closed (from any state) with the counter reset.
    Closed,
    /// Still closed, counter incremented to the value.
    Counted(i64),
    /// Opened (tripped from closed, or re-opened from half-open) until the time given.
    Opened {
        /// New failure count.
        failures: i64,
        /// `opens_at` written.
        until: String,
        /// True when a half-open probe failed.
        reopened: bool,
    },
}

/// Applies one batch-level outcome (spec §6.4 `update_breaker.sh`). Returns the new breaker
/// and what changed. `last_failure` and `opens_at` are kept on success, as in the shell.
pub(crate) fn apply(
    b: &Breaker,
    outcome: BatchOutcome,
    now: Timestamp,
    policy: &BreakerPolicy,
) -> (Breaker, Change) {
    let mut next = b.clone();
    let stamp = whole_seconds_utc(now);
    let until = || {
        let t = now
            .checked_add(
                jiff::SignedDuration::try_from(policy.recovery)
                    .unwrap_or(jiff::SignedDuration::MAX),
            )
            .unwrap_or(Timestamp::MAX);
        whole_seconds_utc(t)
    };
    let change = match (outcome, &b.state) {
        (BatchOutcome::Success, _) => {
            next.state = BreakerState::Closed;
            next.failures = 0;
            Change::Closed
        }
        (BatchOutcome::Failure, BreakerState::Closed) => {
            let f = b.failures.saturating_add(1);
            next.failures = f;
            next.last_failure = Some(stamp);
            if f >= policy.failure_threshold {
                let until = until();
                next.state = BreakerState::Open;
                next.opens_at = Some(until.clone());
                Change::Opened {
                    failures: f,
                    until,
                    reopened: false,
                }
            } else {
                Change::Counted(f)
            }
        }
        (BatchOutcome::Failure, BreakerState::HalfOpen) => {
            let until = until();
            next.state = BreakerState::Open;
            next.failures = b.failures.saturating_add(1);
            next.last_failure = Some(stamp);
            next.opens_at = Some(until.clone());
            Change::Opened {
                failures: next.failures,
                until,
                reopened: true,
            }
        }
        (BatchOutcome::Failure, BreakerState::Open) => Change::None,
    };
    if next == *b {
        return (next, Change::None);
    }
    (next, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn open(opens_at: Option<&str>) -> Breaker {
        Breaker {
            state: BreakerState::Open,
            failures: 5,
            last_failure: Some("2026-01-01T00:00:00Z".into()),
            opens_at: opens_at.map(str::to_owned),
        }
    }

    #[test]
    fn recovery_rules() {
        let now = t("2026-06-01T12:00:00Z");
        assert_eq!(
            recovery(&open(Some("2026-06-01T11:59:59Z")), now),
            Recovery::Due
        );
        assert_eq!(
            recovery(&open(Some("2026-06-01T12:00:00Z")), now),
            Recovery::Due,
            "equality is due"
        );
        assert_eq!(
            recovery(&open(Some("2026-06-01T13:00:00+01:00")), now),
            Recovery::Due,
            "offsets accepted"
        );
        assert_eq!(
            recovery(&open(Some("2026-06-01T11:00:00.5Z")), now),
            Recovery::Due,
            "fractions accepted"
        );
        assert!(matches!(
            recovery(&open(Some("2026-06-01T12:00:01Z")), now),
            Recovery::NotYet(_)
        ));
        assert_eq!(recovery(&open(Some("")), now), Recovery::NoRecoveryTime);
        assert_eq!(recovery(&open(None), now), Recovery::NoRecoveryTime);
        assert_eq!(
            recovery(&open(Some("soon")), now),
            Recovery::Unparseable("soon".into())
        );
        assert_eq!(recovery(&Breaker::default(), now), Recovery::NotOpen);
    }

    #[test]
    fn outcome_rule() {
        assert_eq!(BatchOutcome::from_counts(0, 3), BatchOutcome::Failure);
        assert_eq!(BatchOutcome::from_counts(1, 9), BatchOutcome::Success);
        assert_eq!(
            BatchOutcome::from_counts(0, 0),
            BatchOutcome::Success,
            "all blocked"
        );
    }

    #[test]
    fn closed_counts_then_trips_at_threshold() {
        let now = t("2026-06-01T12:00:00Z");
        let p = BreakerPolicy::default();
        let mut b = Breaker::default();
        for i in 1..=4 {
            let (n, c) = apply(&b, BatchOutcome::Failure, now, &p);
            assert_eq!(c, Change::Counted(i));
            assert_eq!(n.state, BreakerState::Closed);
            assert_eq!(n.last_failure.as_deref(), Some("2026-06-01T12:00:00Z"));
            b = n;
        }
        let (n, c) = apply(&b, BatchOutcome::Failure, now, &p);
        assert_eq!(n.state, BreakerState::Open);
        assert_eq!(n.failures, 5);
        assert_eq!(n.opens_at.as_deref(), Some("2026-06-01T13:00:00Z"));
        assert!(matches!(
            c,
            Change::Opened {
                reopened: false,
                ..
            }
        ));
    }

    #[test]
    fn configurable_threshold_and_recovery() {
        let p = BreakerPolicy {
            failure_threshold: 2,
            recovery: Duration::from_secs(90),
        };
        let b = Breaker {
            failures: 1,
            ..Breaker::default()
        };
        let (n, _) = apply(&b, BatchOutcome::Failure, t("2026-06-01T12:00:00Z"), &p);
        assert_eq!(n.state, BreakerState::Open);
        assert_eq!(n.opens_at.as_deref(), Some("2026-06-01T12:01:30Z"));
    }

    #[test]
    fn half_open_failure_reopens_and_success_closes() {
        let now = t("2026-06-01T12:00:00Z");
        let p = BreakerPolicy::default();
        let h = Breaker {
            state: BreakerState::HalfOpen,
            ..open(Some("2026-06-01T10:00:00Z"))
        };
        let (n, c) = apply(&h, BatchOutcome::Failure, now, &p);
        assert_eq!((n.state, n.failures), (BreakerState::Open, 6));
        assert_eq!(n.opens_at.as_deref(), Some("2026-06-01T13:00:00Z"));
        assert!(matches!(c, Change::Opened { reopened: true, .. }));

        let (n, c) = apply(&h, BatchOutcome::Success, now, &p);
        assert_eq!(
            (n.state, n.failures, c),
            (BreakerState::Closed, 0, Change::Closed)
        );
        assert_eq!(
            n.opens_at.as_deref(),
            Some("2026-06-01T10:00:00Z"),
            "kept, as in the shell"
        );
    }

    #[test]
    fn open_failure_is_untouched() {
        let now = t("2026-06-01T12:00:00Z");
        let p = BreakerPolicy::default();
        let o = open(Some("2030-01-01T00:00:00Z"));
        assert_eq!(
            apply(&o, BatchOutcome::Failure, now, &p),
            (o.clone(), Change::None)
        );
        assert_eq!(
            apply(&o, BatchOutcome::Success, now, &p).0.state,
            BreakerState::Closed
        );
    }

    #[test]
    fn only_the_three_spellings_parse() {
        for s in BreakerState::ACCEPTED {
            assert_eq!(BreakerState::parse(s).map(|b| b.as_str()), Some(s));
        }
        for bad in [
            "Open",
            "OPEN",
            "half_open",
            "halfopen",
            "opened",
            " closed",
            "",
        ] {
            assert_eq!(BreakerState::parse(bad), None, "{bad:?}");
        }
        let ok: BreakerState = serde_json::from_str("\"half-open\"").unwrap();
        assert_eq!(ok, BreakerState::HalfOpen);
        let err = serde_json::from_str::<BreakerState>("\"Open\"").unwrap_err();
        assert!(
            err.to_string().contains(
                "unknown breaker state \"Open\", expected one of closed, open, half-open"
            ),
            "{err}"
        );
    }

    #[test]
    fn success_on_clean_closed_breaker_is_no_change() {
        let (_, c) = apply(
            &Breaker::default(),
            BatchOutcome::Success,
            t("2026-06-01T12:00:00Z"),
            &BreakerPolicy::default(),
        );
        assert_eq!(c, Change::None);
    }
}
