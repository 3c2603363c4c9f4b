//! Each ecosystem's start rate over a run (issue #15): how many `create` processes started,
//! the rate they actually started at, and every change the adaptive slowdown made, with its
//! reason. Fed with the orchestrator's [`Event`]s; logs each change as it happens and gives
//! the rows of `--json`'s `rates` and of the summary's `rates:` line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use batch::RateLimit;
use batch::generator::Step;
use batch::run::Event;
use batch::run::adaptive::{PaceChange, PaceReason};
use jiff::Timestamp;
use serde::Serialize;

/// One period change, as `--json` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeDoc {
    /// Seconds since the run's first `create` start of any ecosystem.
    pub at_seconds: f64,
    /// Period before, in milliseconds (0: no limit).
    pub from_ms: u64,
    /// Period after, in milliseconds.
    pub to_ms: u64,
    /// Why, in words.
    pub reason: String,
}

/// One ecosystem's rates over the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EcosystemRate {
    /// The ecosystem.
    pub ecosystem: String,
    /// `create` processes started.
    pub creates: usize,
    /// The configured period in milliseconds (a shard's is N times the flag's).
    pub configured_period_ms: u64,
    /// The longest period in force during the run, in milliseconds.
    pub slowest_period_ms: u64,
    /// The period in force at the end, in milliseconds.
    pub final_period_ms: u64,
    /// Starts per minute the configured period allows (`null`: no limit).
    pub configured_per_minute: Option<f64>,
    /// Starts per minute actually made: `(creates − 1)` over the time from the first start to
    /// the last (`null` with fewer than 2 starts or no time between them).
    pub effective_per_minute: Option<f64>,
    /// Every change of period, in order.
    pub changes: Vec<ChangeDoc>,
}

#[derive(Debug, Default)]
struct Seen {
    creates: usize,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    changes: Vec<(Timestamp, PaceChange)>,
}

/// Collects the rates of one run (thread-safe: events arrive from the executor).
#[derive(Debug, Default)]
pub struct Pacing {
    seen: Mutex<BTreeMap<String, Seen>>,
}

impl Pacing {
    /// Records one event: `create` starts, and period changes (logged: a slowdown as a
    /// warning, a recovery as info).
    pub fn record(&self, event: &Event<'_>) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::StepFinished {
                ecosystem,
                step: Step::Create,
                started,
                exit: Some(_),
                ..
            } => {
                let s = seen.entry((*ecosystem).to_owned()).or_default();
                s.creates += 1;
                s.first = Some(s.first.map_or(*started, |f| f.min(*started)));
                s.last = Some(s.last.map_or(*started, |l| l.max(*started)));
            }
            Event::PaceChanged { ecosystem, change } => {
                let line = format!(
                    "{ecosystem}: start period {} → {} ({})",
                    period_words(change.from),
                    period_words(change.to),
                    change.reason
                );
                match change.reason {
                    PaceReason::PushBack { .. } => tracing::warn!("{line}"),
                    PaceReason::Recovered { .. } => tracing::info!("{line}"),
                }
                seen.entry((*ecosystem).to_owned())
                    .or_default()
                    .changes
                    .push((Timestamp::now(), *change));
            }
            _ => {}
        }
    }

    /// One row per ecosystem that started a `create` or changed pace, by name. `rate` is the
    /// run's configured table (already scaled for a shard).
    pub fn rates(&self, rate: &RateLimit) -> Vec<EcosystemRate> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let origin = seen.values().filter_map(|s| s.first).min();
        seen.iter()
            .map(|(eco, s)| {
                let configured = rate.period(eco);
                let final_period = s.changes.last().map_or(configured, |(_, c)| c.to);
                let slowest = s
                    .changes
                    .iter()
                    .map(|(_, c)| c.to)
                    .chain([configured])
                    .max()
                    .unwrap_or(configured);
                let span = match (s.first, s.last) {
                    (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
                    _ => 0.0,
                };
                let effective =
                    (s.creates >= 2 && span > 0.0).then(|| (s.creates - 1) as f64 * 60.0 / span);
                EcosystemRate {
                    ecosystem: eco.clone(),
                    creates: s.creates,
                    configured_period_ms: millis(configured),
                    slowest_period_ms: millis(slowest),
                    final_period_ms: millis(final_period),
                    configured_per_minute: per_minute(configured),
                    effective_per_minute: effective,
                    changes: s
                        .changes
                        .iter()
                        .map(|(at, c)| ChangeDoc {
                            at_seconds: origin
                                .map_or(0.0, |o| at.duration_since(o).as_secs_f64().max(0.0)),
                            from_ms: millis(c.from),
                            to_ms: millis(c.to),
                            reason: c.reason.to_string(),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

/// `rates: homebrew 58.3/min (limit 60/min), rubygems 4.1/min (limit 10/min; slowed to
/// 24s at most, 2 changes)`; empty when no `create` started.
pub fn summary_line(rates: &[EcosystemRate]) -> String {
    let mut parts = Vec::new();
    for r in rates.iter().filter(|r| r.creates > 0) {
        let mut s = format!("{} ", r.ecosystem);
        match r.effective_per_minute {
            Some(e) => {
                let _ = write!(s, "{e:.1}/min");
            }
            None => {
                let _ = write!(s, "{} start(s)", r.creates);
            }
        }
        match r.configured_per_minute {
            Some(c) => {
                let _ = write!(s, " (limit {c:.1}/min");
            }
            None => s.push_str(" (no limit"),
        }
        if !r.changes.is_empty() {
            let _ = write!(
                s,
                "; slowed to {} at most, {} change(s)",
                period_words(Duration::from_millis(r.slowest_period_ms)),
                r.changes.len()
            );
        }
        s.push(')');
        parts.push(s);
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("rates: {}", parts.join(", "))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn per_minute(period: Duration) -> Option<f64> {
    (!period.is_zero()).then(|| 60.0 / period.as_secs_f64())
}

/// `2s`, `1.5s`, `no limit`.
fn period_words(d: Duration) -> String {
    if d.is_zero() {
        "no limit".to_owned()
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use batch::runner::Command;
    use batch::runner::Exit;

    use super::*;

    fn create(pacing: &Pacing, eco: &str, at_s: i64, cmd: &Command) {
        pacing.record(&Event::StepFinished {
            position: 0,
            name: "x",
            ecosystem: eco,
            step: Step::Create,
            retry: 0,
            started: Timestamp::from_second(1_800_000_000 + at_s).unwrap(),
            took: Duration::from_secs(1),
            exit: Some(Exit::Code(0)),
            command: cmd,
            failure: None,
        });
    }

    fn command() -> Command {
        Command {
            program: "tsuku".into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            timeout: Duration::from_secs(1),
            merge_output: true,
        }
    }

    #[test]
    fn effective_rate_counts_intervals_between_starts() {
        let p = Pacing::default();
        let cmd = command();
        // 4 starts over 18 s: 3 intervals of 6 s = 10/min.
        for t in [0, 6, 12, 18] {
            create(&p, "rubygems", t, &cmd);
        }
        create(&p, "npm", 3, &cmd);
        let rates = p.rates(&RateLimit::default());
        assert_eq!(rates.len(), 2);
        let npm = &rates[0];
        assert_eq!((npm.creates, npm.effective_per_minute), (1, None));
        let gems = &rates[1];
        assert_eq!(gems.effective_per_minute, Some(10.0));
        assert_eq!(gems.configured_per_minute, Some(10.0));
        assert_eq!(gems.configured_period_ms, 6000);
        assert_eq!(
            summary_line(&rates),
            "rates: npm 1 start(s) (limit 60.0/min), rubygems 10.0/min (limit 10.0/min)"
        );
    }

    #[test]
    fn changes_give_the_slowest_and_final_periods() {
        let p = Pacing::default();
        let cmd = command();
        create(&p, "pypi", 0, &cmd);
        let change = |from, to, reason| PaceChange {
            from: Duration::from_secs(from),
            to: Duration::from_secs(to),
            reason,
        };
        let push = PaceReason::PushBack {
            exits: 3,
            window: Duration::from_secs(60),
        };
        for c in [
            change(1, 2, push),
            change(2, 4, push),
            change(4, 2, PaceReason::Recovered { answers: 5 }),
        ] {
            p.record(&Event::PaceChanged {
                ecosystem: "pypi",
                change: c,
            });
        }
        let r = &p.rates(&RateLimit::default())[0];
        assert_eq!(
            (
                r.configured_period_ms,
                r.slowest_period_ms,
                r.final_period_ms
            ),
            (1000, 4000, 2000)
        );
        assert_eq!(r.changes.len(), 3);
        assert!(
            r.changes[0].reason.contains("3 network exits"),
            "{:?}",
            r.changes
        );
        assert!(
            summary_line(std::slice::from_ref(r)).contains("slowed to 4s at most, 3 change(s)")
        );
    }
}
