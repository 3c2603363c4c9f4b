//! The live status of a run, for the progress display (issue #12): done/total, the
//! succeeded/failed/blocked counts, an ETA, and one line per ecosystem that still has work
//! (done/total, next start). Pure: it takes the events and the current instant as arguments,
//! so tests drive it with a fixed clock; `crate::progress` draws it.
//!
//! The ETA is the larger of two lower bounds: the rate limits (each ecosystem still has to
//! start its remaining entries one period apart, from its next allowed start) and the work
//! (the remaining entries at the mean duration observed so far, spread over the job slots),
//! plus one entry's observed duration for the last one to finish. Before any entry finished
//! only the rate-limit bound is known.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use batch::RateLimit;
use batch::generator::Step;
use batch::records::Outcome;
use batch::run::{EntryResult, Event};

/// Per-ecosystem progress.
#[derive(Debug, Clone, Default)]
struct Ecosystem {
    total: usize,
    done: usize,
    /// Entries whose first `create` has ended (started, as far as the rate limit is
    /// concerned).
    started: usize,
    /// The last `create` start (each one takes a rate-limit permit).
    last_start: Option<Instant>,
}

/// The run's status; see the module docs.
#[derive(Debug, Clone)]
pub struct Status {
    rate: RateLimit,
    jobs: usize,
    began: Instant,
    total: usize,
    succeeded: usize,
    failed: usize,
    blocked: usize,
    not_run: usize,
    ecosystems: BTreeMap<String, Ecosystem>,
    /// When each running candidate's first step started, by position.
    running: BTreeMap<usize, Instant>,
    /// Durations of finished candidates.
    durations: Vec<Duration>,
}

impl Status {
    /// A run of `per_ecosystem` candidates under `rate` with `jobs` slots, begun at `began`.
    pub fn new<'a>(
        per_ecosystem: impl IntoIterator<Item = (&'a str, usize)>,
        rate: RateLimit,
        jobs: usize,
        began: Instant,
    ) -> Self {
        let ecosystems: BTreeMap<String, Ecosystem> = per_ecosystem
            .into_iter()
            .map(|(eco, total)| {
                (
                    eco.to_owned(),
                    Ecosystem {
                        total,
                        ..Ecosystem::default()
                    },
                )
            })
            .collect();
        Self {
            rate,
            jobs: jobs.max(1),
            began,
            total: ecosystems.values().map(|e| e.total).sum(),
            succeeded: 0,
            failed: 0,
            blocked: 0,
            not_run: 0,
            ecosystems,
            running: BTreeMap::new(),
            durations: Vec::new(),
        }
    }

    /// Takes one event, seen at `now`.
    pub fn on_event(&mut self, ev: &Event<'_>, now: Instant) {
        match ev {
            Event::StepStarted {
                position,
                step: Step::Create,
                ..
            } => {
                self.running.entry(*position).or_insert(now);
            }
            Event::StepFinished {
                ecosystem,
                step: Step::Create,
                retry,
                took,
                ..
            } => {
                // `StepStarted` carries no ecosystem: a candidate's start is counted when its
                // first `create` ends.
                let e = self.ecosystems.entry((*ecosystem).to_owned()).or_default();
                if *retry == 0 {
                    e.started += 1;
                }
                let start = now.checked_sub(*took).unwrap_or(now);
                if e.last_start.is_none_or(|t| start > t) {
                    e.last_start = Some(start);
                }
            }
            Event::Finished {
                position,
                ecosystem,
                result,
                ..
            } => {
                let e = self.ecosystems.entry((*ecosystem).to_owned()).or_default();
                e.done += 1;
                e.started = e.started.max(e.done);
                if let Some(t0) = self.running.remove(position) {
                    self.durations.push(now.saturating_duration_since(t0));
                }
                match result {
                    EntryResult::Done { outcome, .. } => match outcome {
                        Outcome::Succeeded { .. } => self.succeeded += 1,
                        Outcome::Failed(_) => self.failed += 1,
                        Outcome::Blocked(_) => self.blocked += 1,
                    },
                    EntryResult::NotRun { .. } => self.not_run += 1,
                }
            }
            _ => {}
        }
    }

    /// Candidates finished (processed or not run).
    pub fn done(&self) -> usize {
        self.succeeded + self.failed + self.blocked + self.not_run
    }

    /// Candidates in the run.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The estimated time left at `now`; `None` once everything is done.
    pub fn eta(&self, now: Instant) -> Option<Duration> {
        let left = self.total.saturating_sub(self.done());
        if left == 0 {
            return None;
        }
        // Rate limits: the remaining starts of each ecosystem, one period apart, from the next
        // allowed start.
        let rate_bound = self
            .ecosystems
            .iter()
            .map(|(eco, e)| {
                let waiting = e.total.saturating_sub(e.started);
                let period = self.rate.period(eco);
                let next = e.last_start.map_or(Duration::ZERO, |t| {
                    (t + period).saturating_duration_since(now)
                });
                if waiting == 0 {
                    Duration::ZERO
                } else {
                    next + period * u32::try_from(waiting - 1).unwrap_or(u32::MAX)
                }
            })
            .max()
            .unwrap_or_default();
        let Some(mean) = self.mean_duration() else {
            return Some(rate_bound);
        };
        let waves = u32::try_from(left.div_ceil(self.jobs)).unwrap_or(u32::MAX);
        let work_bound = mean * waves;
        Some(rate_bound.max(work_bound.saturating_sub(mean)) + mean)
    }

    fn mean_duration(&self) -> Option<Duration> {
        let n = u32::try_from(self.durations.len())
            .ok()
            .filter(|n| *n > 0)?;
        Some(self.durations.iter().sum::<Duration>() / n)
    }

    /// The headline: `33/40 · 30 ok · 2 failed · 1 blocked · 00:43 · eta 00:12`.
    pub fn headline(&self, now: Instant) -> String {
        let mut s = format!(
            "{}/{} · {} ok · {} failed · {} blocked",
            self.done(),
            self.total,
            self.succeeded,
            self.failed,
            self.blocked
        );
        if self.not_run > 0 {
            let _ = write!(s, " · {} not run", self.not_run);
        }
        let _ = write!(s, " · {}", clock(now.saturating_duration_since(self.began)));
        if let Some(eta) = self.eta(now) {
            let _ = write!(s, " · eta {}", clock(eta));
        }
        s
    }

    /// One line per ecosystem that still has work: `homebrew  20/25  next start in 0.4s`, or
    /// `all started` when only running entries are left.
    pub fn ecosystem_lines(&self, now: Instant) -> Vec<String> {
        let width = self.ecosystems.keys().map(String::len).max().unwrap_or(0);
        self.ecosystems
            .iter()
            .filter(|(_, e)| e.done < e.total)
            .map(|(eco, e)| {
                let next = e.last_start.map_or(Duration::ZERO, |t| {
                    (t + self.rate.period(eco)).saturating_duration_since(now)
                });
                let when = if e.started >= e.total {
                    "all started".to_owned()
                } else if next.is_zero() {
                    "next start now".to_owned()
                } else {
                    format!("next start in {:.1}s", next.as_secs_f64())
                };
                format!("{eco:<width$}  {:>4}/{:<4}  {when}", e.done, e.total)
            })
            .collect()
    }
}

/// `mm:ss`, or `h:mm:ss` from an hour on.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use batch::generator::Category;
    use batch::records::FailureRecord;
    use batch::runner::{Command, Exit};

    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn rate() -> RateLimit {
        let mut r = RateLimit::default();
        r.set("homebrew", secs(1));
        r.set("rubygems", secs(6));
        r
    }

    fn command() -> Command {
        Command {
            program: "tsuku".into(),
            args: Vec::new(),
            env: Vec::new(),
            current_dir: None,
            timeout: secs(900),
            merge_output: true,
        }
    }

    fn done() -> EntryResult {
        EntryResult::Done {
            outcome: Outcome::Succeeded {
                recipe: "r.toml".into(),
            },
            at: "2026-12-01T00:00:00Z".parse().unwrap(),
        }
    }

    fn failed() -> EntryResult {
        EntryResult::Done {
            outcome: Outcome::Failed(FailureRecord {
                package_id: "rubygems:x".into(),
                category: Category::GenerationFailed,
                subcategory: String::new(),
                blocked_by: Vec::new(),
                message: String::new(),
                timestamp: String::new(),
            }),
            at: "2026-12-01T00:00:00Z".parse().unwrap(),
        }
    }

    /// One candidate: its create starts at `start`, takes `took`, and the candidate finishes
    /// `took` later.
    fn run_one(
        st: &mut Status,
        pos: usize,
        eco: &str,
        start: Instant,
        took: Duration,
        result: &EntryResult,
    ) {
        let cmd = command();
        st.on_event(
            &Event::StepStarted {
                position: pos,
                name: "x",
                step: Step::Create,
                retry: 0,
            },
            start,
        );
        st.on_event(
            &Event::StepFinished {
                position: pos,
                name: "x",
                ecosystem: eco,
                step: Step::Create,
                retry: 0,
                started: "2026-12-01T00:00:00Z".parse().unwrap(),
                took,
                exit: Some(Exit::Code(0)),
                command: &cmd,
                failure: None,
            },
            start + took,
        );
        st.on_event(
            &Event::Finished {
                position: pos,
                name: "x",
                ecosystem: eco,
                result,
            },
            start + took * 2,
        );
    }

    #[test]
    fn before_anything_finished_the_eta_is_the_rate_limit_bound() {
        let t0 = Instant::now();
        let st = Status::new([("homebrew", 10), ("rubygems", 3)], rate(), 4, t0);
        // rubygems: 3 starts, 6 s apart, the first now: 12 s; homebrew: 9 s.
        assert_eq!(st.eta(t0), Some(secs(12)));
        assert_eq!(
            st.headline(t0),
            "0/13 · 0 ok · 0 failed · 0 blocked · 00:00 · eta 00:12"
        );
        assert_eq!(
            st.ecosystem_lines(t0),
            [
                "homebrew     0/10    next start now",
                "rubygems     0/3     next start now"
            ]
        );
    }

    #[test]
    fn counts_next_starts_and_observed_durations_shape_the_eta() {
        let t0 = Instant::now();
        let mut st = Status::new([("homebrew", 10), ("rubygems", 3)], rate(), 2, t0);
        // A rubygems entry: create from 0 s to 2 s, finished at 4 s (failed).
        run_one(&mut st, 0, "rubygems", t0, secs(2), &failed());
        // A homebrew entry: create from 1 s to 3 s, finished at 5 s.
        run_one(&mut st, 1, "homebrew", t0 + secs(1), secs(2), &done());
        let now = t0 + secs(5);
        assert_eq!(st.done(), 2);
        // Rate bound: rubygems has 2 left; next start 6 s after 0 s = 1 s from now, then
        // 6 s more: 7 s. Work bound: 11 left on 2 slots at a 4 s mean = 6 waves = 24 s, less
        // the last entry's 4 s, plus it: 24 s. The larger: 24 s.
        assert_eq!(st.eta(now), Some(secs(24)));
        assert_eq!(
            st.headline(now),
            "2/13 · 1 ok · 1 failed · 0 blocked · 00:05 · eta 00:24"
        );
        assert_eq!(
            st.ecosystem_lines(now),
            [
                "homebrew     1/10    next start now",
                "rubygems     1/3     next start in 1.0s"
            ]
        );
    }

    #[test]
    fn an_ecosystem_with_only_running_entries_says_so() {
        let t0 = Instant::now();
        let mut st = Status::new([("npm", 1)], RateLimit::default(), 4, t0);
        let cmd = command();
        st.on_event(
            &Event::StepFinished {
                position: 0,
                name: "x",
                ecosystem: "npm",
                step: Step::Create,
                retry: 0,
                started: "2026-12-01T00:00:00Z".parse().unwrap(),
                took: secs(1),
                exit: Some(Exit::Code(0)),
                command: &cmd,
                failure: None,
            },
            t0 + secs(1),
        );
        assert_eq!(
            st.ecosystem_lines(t0 + secs(1)),
            ["npm     0/1     all started"]
        );
    }

    #[test]
    fn finished_ecosystems_drop_out_and_the_eta_ends() {
        let t0 = Instant::now();
        let mut st = Status::new([("npm", 1)], RateLimit::default(), 4, t0);
        run_one(&mut st, 0, "npm", t0, secs(1), &done());
        let now = t0 + secs(3700);
        assert_eq!(st.eta(now), None);
        assert!(st.ecosystem_lines(now).is_empty());
        assert_eq!(
            st.headline(now),
            "1/1 · 1 ok · 0 failed · 0 blocked · 1:01:40"
        );
    }
}
