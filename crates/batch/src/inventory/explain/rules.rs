//! The selection rules one at a time, for `explain` (issue #23): each rule of spec §3 (with the
//! kill switch, disabled ecosystems and `--strict` this crate adds) says in its own words whether
//! it lets an entry through. Only the wording lives here; whether the entry is selected is
//! the run's selection's answer ([`super::explain`](crate::inventory::explain::explain)).

use jiff::Timestamp;

use super::{Check, ExplainOptions, Outcome, Rule};
use crate::control::ControlFile;
use crate::control::breaker::{Breaker, EffectiveState};
use crate::inventory::status::{Probe, next_probe};
use crate::queue::{QueueEntry, Status};
use crate::select::InvalidEntry;

/// What the rules look at for one entry.
pub(super) struct RuleInput<'a> {
    pub entry: &'a QueueEntry,
    pub index: usize,
    pub opts: &'a ExplainOptions,
    pub now: Timestamp,
    /// The control file with due recoveries applied.
    pub control: &'a ControlFile,
    /// The breaker as stored (before recoveries), if any.
    pub stored: Option<&'a Breaker>,
    /// The state selection acts on.
    pub state: EffectiveState,
    pub invalid: Option<&'a InvalidEntry>,
    pub invalid_total: usize,
    pub refused: bool,
}

fn check(rule: Rule, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        rule,
        outcome,
        detail: detail.into(),
    }
}

fn pass_if(rule: Rule, ok: bool, pass: String, fail: String) -> Check {
    if ok {
        check(rule, Outcome::Pass, pass)
    } else {
        check(rule, Outcome::Fail, fail)
    }
}

/// Every rule up to the tier and backoff, in the run's order (spec §3 step 2).
pub(super) fn checks(r: &RuleInput<'_>) -> Vec<Check> {
    let e = r.entry;
    let eco = e.ecosystem();
    let sel = &r.opts.select;
    let mut out = Vec::new();
    let reason = r
        .control
        .reason
        .as_deref()
        .filter(|s| !s.is_empty())
        .map_or(String::new(), |s| format!(" ({s})"));
    out.push(pass_if(
        Rule::KillSwitch,
        r.control.enabled,
        "the kill switch is on (enabled: true)".into(),
        format!("the kill switch is off (enabled: false{reason}): no batch selects anything"),
    ));
    if r.opts.strict {
        out.push(pass_if(
            Rule::Strict,
            !r.refused,
            "--strict: the queue has no invalid entry".into(),
            format!(
                "--strict: the run refuses to start, the queue has {} invalid entries",
                r.invalid_total
            ),
        ));
    }
    out.push(match r.invalid {
        None => check(Rule::Valid, Outcome::Pass, "a valid entry"),
        Some(i) => check(
            Rule::Valid,
            Outcome::Fail,
            format!(
                "invalid entry {}: {}; never run, left as it is",
                r.index,
                i.problems.join("; ")
            ),
        ),
    });
    let wanted = if sel.retry_failed {
        e.status == Status::Failed
    } else {
        matches!(e.status, Status::Pending | Status::Failed)
    };
    let which = if sel.retry_failed {
        "with --retry-failed only failed entries are candidates"
    } else {
        "only pending and failed entries are candidates (spec §3 step 2.1)"
    };
    let blocked = if e.status == Status::Blocked {
        "; requeue makes it pending when its dependencies succeed"
    } else {
        ""
    };
    out.push(pass_if(
        Rule::Status,
        wanted,
        format!("status {}: a candidate status", e.status),
        format!("status {}: {which}{blocked}", e.status),
    ));
    out.push(if sel.ecosystems.is_empty() {
        check(
            Rule::EcosystemFilter,
            Outcome::Pass,
            "no --ecosystem filter",
        )
    } else {
        let list = sel
            .ecosystems
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        pass_if(
            Rule::EcosystemFilter,
            sel.ecosystems.contains(eco),
            format!("ecosystem {eco} is in --ecosystem {list}"),
            format!("ecosystem {eco} is not in --ecosystem {list} (spec §3 step 2.3)"),
        )
    });
    out.push(pass_if(
        Rule::Disabled,
        !r.control.disabled_ecosystems.contains(eco),
        format!("ecosystem {eco} is not paused"),
        format!("ecosystem {eco} is paused in the control file (disabled_ecosystems)"),
    ));
    out.push(breaker(r));
    let half_open = r.state == EffectiveState::HalfOpen;
    out.push(if half_open {
        check(
            Rule::Tier,
            Outcome::Bypassed,
            format!(
                "priority {}: a half-open probe ignores --tier (spec §3 step 2.6)",
                e.priority
            ),
        )
    } else {
        pass_if(
            Rule::Tier,
            e.priority <= sel.tier,
            format!("priority {} is within --tier {}", e.priority, sel.tier),
            format!(
                "priority {} is above --tier {} (spec §3 step 2.7)",
                e.priority, sel.tier
            ),
        )
    });
    out.push(backoff(r, half_open));
    out
}

fn breaker(r: &RuleInput<'_>) -> Check {
    let eco = r.entry.ecosystem();
    let label = if eco.is_empty() {
        "(no ecosystem)"
    } else {
        eco
    };
    match r.state {
        EffectiveState::Closed => check(
            Rule::Breaker,
            Outcome::Pass,
            match r.stored {
                None => format!("{label} has no circuit breaker: closed, normal selection"),
                Some(_) => format!("the circuit breaker of {label} is closed: normal selection"),
            },
        ),
        EffectiveState::HalfOpen => {
            let turned = r
                .stored
                .is_some_and(|b| b.state != crate::control::breaker::BreakerState::HalfOpen);
            check(
                Rule::Breaker,
                Outcome::Pass,
                format!(
                    "the circuit breaker of {label} is half-open{}: one probe this run (spec §3 step 2.6, §6.1)",
                    if turned {
                        " (its opens_at has passed, so the run turns it half-open)"
                    } else {
                        ""
                    }
                ),
            )
        }
        EffectiveState::Open => {
            let when = match r.stored.map(|b| next_probe(b, r.now)) {
                Some(Probe::At { at }) => format!("it turns half-open at {at}"),
                Some(Probe::Unparseable { opens_at }) => {
                    format!("its opens_at {opens_at:?} is unreadable, so it stays open")
                }
                _ => "it has no opens_at, so it stays open until an operator acts".to_owned(),
            };
            check(
                Rule::Breaker,
                Outcome::Fail,
                format!(
                    "the circuit breaker of {label} is open: none of its entries is selected (spec §3 step 2.5); {when}"
                ),
            )
        }
    }
}

fn backoff(r: &RuleInput<'_>, half_open: bool) -> Check {
    let Some(t) = &r.entry.next_retry_at else {
        return check(Rule::Backoff, Outcome::Pass, "no next_retry_at");
    };
    let later = t.instant() > r.now;
    let now = crate::records::timestamp::whole_seconds_utc(r.now);
    if half_open {
        check(
            Rule::Backoff,
            Outcome::Bypassed,
            format!("next_retry_at {t}: a half-open probe ignores the backoff (spec §3 step 2.6)"),
        )
    } else if r.opts.select.retry_failed {
        check(
            Rule::Backoff,
            Outcome::Bypassed,
            format!("next_retry_at {t}: --retry-failed ignores the backoff"),
        )
    } else {
        pass_if(
            Rule::Backoff,
            !later,
            format!("next_retry_at {t} is not later than now ({now})"),
            format!("next_retry_at {t} is later than now ({now}) (spec §3 step 2.7)"),
        )
    }
}
