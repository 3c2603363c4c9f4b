//! Planning (spec §2.2 steps 2–4, §3): load the queue and the control file, apply due breaker
//! recoveries and select candidates. Nothing here writes.

use std::collections::BTreeSet;

use batch_base::clock::Clock;
use jiff::Timestamp;

use super::error::{EcosystemSetting, RunError, UnknownEcosystem};
use crate::config::Config;
use crate::control::{ControlFile, RecoveryNote};
use crate::queue::Queue;
use crate::queue::ecosystem::first_unknown;
use crate::select::{self, Selection};

/// Everything decided before any generator runs.
#[derive(Debug)]
pub struct Plan {
    /// The queue as loaded.
    pub queue: Queue,
    /// Whether the queue file existed (a missing one is created on save).
    pub queue_existed: bool,
    /// The control file, with due open → half-open moves applied in memory.
    pub control: ControlFile,
    /// Breakers that moved to half-open, or are stuck open.
    pub recovery: Vec<RecoveryNote>,
    /// The kill switch was off: nothing is selected and nothing may be written.
    pub kill_switch: bool,
    /// Candidates and invalid entries.
    pub selection: Selection,
    /// When the run started (batch ID, results timestamp).
    pub started: Timestamp,
}

impl Plan {
    /// Selected entries per ecosystem, sorted by ecosystem.
    pub fn counts(&self) -> std::collections::BTreeMap<&str, usize> {
        let mut m = std::collections::BTreeMap::new();
        for c in &self.selection.candidates {
            *m.entry(self.queue.entries[c.index].ecosystem())
                .or_default() += 1;
        }
        m
    }
}

/// Loads the queue and the control file, applies due breaker recoveries and selects
/// candidates (spec §2.2 steps 2–4, §3).
///
/// # Errors
/// [`RunError::Queue`] or [`RunError::Control`] for unreadable or invalid input (a missing
/// queue unless [`Config::missing_queue`] allows it), [`RunError::UnknownEcosystem`] for a
/// misspelt ecosystem; nothing is written in any case.
pub fn load_plan(config: &Config, clock: &dyn Clock) -> Result<Plan, RunError> {
    plan_excluding(config, clock, &BTreeSet::new())
}

/// [`load_plan`], never selecting the queue indices in `exclude` (the entries a resumed run already
/// finished, issue #4).
///
/// # Errors
/// As [`load_plan`].
pub(crate) fn plan_excluding(
    config: &Config,
    clock: &dyn Clock,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    let (queue, queue_existed) = Queue::load_with(&config.queue, config.missing_queue)?;
    plan_from(config, clock, queue, queue_existed, exclude)
}

/// `plan_excluding` on a queue the caller loaded (a sharded run loads it with its hash,
/// [`Queue::load_hashed`]). `clock` decides due breaker recoveries and retry times, and is the
/// plan's start; the shards of one batch pass the same plan time so they all select the same
/// candidates (issue #6).
///
/// # Errors
/// [`RunError::UnknownEcosystem`] for an ecosystem filter or rate limit that names an
/// ecosystem neither the queue nor tsuku has; [`RunError::Control`] for an unreadable or
/// invalid control file.
pub fn plan_from(
    config: &Config,
    clock: &dyn Clock,
    queue: Queue,
    queue_existed: bool,
    exclude: &BTreeSet<usize>,
) -> Result<Plan, RunError> {
    check_ecosystems(config, &queue)?;
    let mut control = ControlFile::load(&config.control_file)?;
    let started = clock.now();
    let recovery = control.apply_due_recoveries(started);
    let kill_switch = !control.enabled;
    let selection = select_with_control(&config.select, &control, &queue, started, exclude);
    Ok(Plan {
        queue,
        queue_existed,
        control,
        recovery,
        kill_switch,
        selection,
        started,
    })
}

/// The selection a run makes (spec §3) from `queue` with `control` as it stands (the caller
/// has applied due recoveries, [`ControlFile::apply_due_recoveries`]): nothing when the kill
/// switch is off; otherwise [`select::select_candidates`] with the control file's disabled ecosystems
/// and the queue indices in `exclude` never selected. `queue status` uses it to show what the
/// next batch would select.
pub(crate) fn select_with_control(
    select: &select::SelectOptions,
    control: &ControlFile,
    queue: &Queue,
    now: Timestamp,
    exclude: &BTreeSet<usize>,
) -> Selection {
    if !control.enabled {
        return Selection::default();
    }
    let mut opts = select.clone();
    opts.disabled
        .extend(control.disabled_ecosystems.iter().cloned());
    opts.exclude.extend(exclude.iter().copied());
    select::select_candidates(&queue.entries, &control.states(), &opts, now)
}

/// Refuses a filter, rate-limit or in-flight-cap ecosystem that neither the queue nor tsuku
/// has (issues #12, #15): a typo there would otherwise select nothing, or limit nothing,
/// without a word.
fn check_ecosystems(config: &Config, queue: &Queue) -> Result<(), RunError> {
    let settings = [
        (
            EcosystemSetting::Filter,
            config.select.ecosystems.iter().collect::<Vec<_>>(),
        ),
        (
            EcosystemSetting::RateLimit,
            config.rate_limit.per_ecosystem.keys().collect(),
        ),
        (
            EcosystemSetting::MaxInFlight,
            config.max_in_flight.keys().collect(),
        ),
    ];
    for (setting, wanted) in settings {
        let wanted = wanted.into_iter().map(String::as_str);
        if let Some((ecosystem, queue_ecosystems)) = first_unknown(wanted, &queue.entries) {
            return Err(UnknownEcosystem {
                setting,
                ecosystem,
                queue: config.queue.clone(),
                queue_ecosystems,
            }
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use batch_base::clock::FixedClock;

    use super::*;
    use crate::queue::{MissingQueue, QueueEntry, QueueError};

    fn write_queue(config: &Config, sources: &[&str]) {
        let entries = sources
            .iter()
            .map(|s| {
                serde_json::from_value::<QueueEntry>(serde_json::json!({
                    "name": s.replace(':', "-"), "source": s, "priority": 1,
                    "status": "pending", "confidence": "auto"
                }))
                .unwrap()
            })
            .collect();
        let q = Queue {
            schema_version: 1,
            entries,
            ..Default::default()
        };
        q.save(&config.queue, "2026-06-01T12:00:00Z".parse().unwrap())
            .unwrap();
    }

    fn clock() -> FixedClock {
        FixedClock::new("2026-06-01T12:00:00Z".parse().unwrap())
    }

    #[test]
    fn a_missing_queue_is_an_error_unless_asked_to_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::rooted(dir.path());
        match load_plan(&config, &clock()) {
            Err(RunError::Queue(QueueError::Missing { path })) => assert_eq!(path, config.queue),
            other => panic!("{other:?}"),
        }
        config.missing_queue = MissingQueue::Empty;
        let p = load_plan(&config, &clock()).unwrap();
        assert!(!p.queue_existed && p.queue.entries.is_empty());
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "planning writes nothing"
        );
    }

    #[test]
    fn an_ecosystem_neither_queue_nor_tsuku_has_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::rooted(dir.path());
        write_queue(&config, &["homebrew:jq", "custom:x", "homebrew:fzf"]);

        // Known to tsuku (not in the queue) or in the queue (unknown to tsuku): accepted.
        config.select.ecosystems = ["nix".to_owned(), "custom".to_owned()].into();
        config.rate_limit.set("custom", Duration::ZERO);
        load_plan(&config, &clock()).unwrap();

        config.select.ecosystems = ["homebrew".to_owned(), "hombrew".to_owned()].into();
        let err = load_plan(&config, &clock()).unwrap_err();
        // The usage condition is its own type, the wrapper's source (the binary's exit 2).
        let cause = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<UnknownEcosystem>())
            .unwrap_or_else(|| panic!("{err:?}"));
        assert!(matches!(err, RunError::UnknownEcosystem(_)), "{err:?}");
        assert_eq!(cause.setting, EcosystemSetting::Filter);
        assert_eq!(cause.ecosystem, "hombrew");
        assert_eq!(cause.queue, config.queue);
        assert_eq!(cause.queue_ecosystems, ["custom", "homebrew"]);
        assert_eq!(
            cause.to_string(),
            format!(
                "unknown ecosystem `hombrew` in the ecosystem filter (--ecosystem): no entry of queue `{}` has it and tsuku does not know it; the queue's ecosystems are: custom, homebrew",
                config.queue.display()
            )
        );

        config.select.ecosystems.clear();
        config.rate_limit.set("npn", Duration::from_millis(100));
        match load_plan(&config, &clock()) {
            Err(RunError::UnknownEcosystem(UnknownEcosystem {
                setting: EcosystemSetting::RateLimit,
                ecosystem,
                ..
            })) => assert_eq!(ecosystem, "npn"),
            other => panic!("{other:?}"),
        }

        config.rate_limit = crate::config::RateLimit::default();
        config.max_in_flight.insert("homebrw".to_owned(), 2);
        match load_plan(&config, &clock()) {
            Err(RunError::UnknownEcosystem(UnknownEcosystem {
                setting: EcosystemSetting::MaxInFlight,
                ecosystem,
                ..
            })) => assert_eq!(ecosystem, "homebrw"),
            other => panic!("{other:?}"),
        }
        config.max_in_flight.clear();
        config.max_in_flight.insert("homebrew".to_owned(), 2);
        load_plan(&config, &clock()).unwrap();
    }
}
