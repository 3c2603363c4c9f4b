//! requeue (spec §4.9): a blocked entry becomes `pending` when every dependency recorded as
//! blocking it is the name of a `success` entry. Blocked entries whose dependencies are not on
//! record, or name no queue entry, stay blocked and are reported (spec §9.3.3).

use rustc_hash::{FxHashMap, FxHashSet};

use super::changes::{Reason, RequeueReport, StatusChange, Stuck};
use super::summary::Summaries;
use crate::{Queue, Status};

/// Applies requeue to every blocked entry, in queue order. The `success` names are taken
/// before any change (a released entry is `pending`, never `success`, so order is irrelevant).
#[cfg(test)]
pub(crate) fn requeue_unblocked(queue: &mut Queue, summaries: &Summaries) -> RequeueReport {
    requeue_indexed(queue, summaries).0
}

/// [`requeue`], plus the positions of the released entries in queue order.
pub(super) fn requeue_indexed(
    queue: &mut Queue,
    summaries: &Summaries,
) -> (RequeueReport, Vec<usize>) {
    let mut report = RequeueReport::default();
    // The blocked entries and their recorded dependencies, in queue order.
    let blocked: Vec<(usize, Vec<String>)> = queue
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.status == Status::Blocked)
        .map(|(i, e)| (i, summaries.of(e).blockers))
        .collect();
    if blocked.is_empty() {
        return (report, Vec::new());
    }
    // Which dependencies name an entry, and which a `success` one: one pass over the queue
    // against the (few) dependencies, instead of a set of every name. Decided with borrowed
    // names first, then applied.
    let (known, succeeded) = {
        let mut wanted: FxHashMap<&str, (bool, bool)> = blocked
            .iter()
            .flat_map(|(_, deps)| deps.iter().map(|d| (d.as_str(), (false, false))))
            .collect();
        for e in &queue.entries {
            if let Some((known, succeeded)) = wanted.get_mut(e.name.as_str()) {
                *known = true;
                *succeeded |= e.status == Status::Success;
            }
        }
        let pick = |which: fn(&(bool, bool)) -> bool| -> FxHashSet<String> {
            wanted
                .iter()
                .filter(|(_, v)| which(v))
                .map(|(d, _)| (*d).to_owned())
                .collect()
        };
        (pick(|v| v.0), pick(|v| v.1))
    };
    let mut released = Vec::new();
    for (i, deps) in blocked {
        let entry = &queue.entries[i];
        if deps.is_empty() {
            report.remaining += 1;
            report.stuck.push(Stuck::NoRecordedDependencies {
                entry: entry.name.clone(),
            });
            continue;
        }
        if deps.iter().all(|d| succeeded.contains(d.as_str())) {
            released.push((i, deps));
            continue;
        }
        report.remaining += 1;
        let unknown: Vec<String> = deps
            .into_iter()
            .filter(|d| !known.contains(d.as_str()))
            .collect();
        if !unknown.is_empty() {
            report.stuck.push(Stuck::UnknownDependencies {
                entry: entry.name.clone(),
                dependencies: unknown,
            });
        }
    }
    let positions = released.iter().map(|(i, _)| *i).collect();
    for (i, deps) in released {
        let entry = &mut queue.entries[i];
        report.changes.push(StatusChange {
            entry: entry.name.clone(),
            source: entry.source.clone(),
            from: entry.status.as_str().to_owned(),
            to: Status::Pending.as_str().to_owned(),
            reason: Reason::DependenciesResolved { resolved_by: deps },
        });
        entry.status = Status::Pending;
    }
    (report, positions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueEntry;
    use crate::records::failure_log::FailureLog;

    fn run(lines: &str, entries: Vec<QueueEntry>) -> (Queue, RequeueReport) {
        let mut log = FailureLog::default();
        log.read(lines.as_bytes()).unwrap();
        let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
        q.entries = entries;
        let r = requeue_unblocked(&mut q, &Summaries::new(&log));
        (q, r)
    }

    fn entry(name: &str, source: &str, status: Status) -> QueueEntry {
        let mut e = QueueEntry::new(name, source, 1);
        e.status = status;
        e
    }

    const LINES: &str = concat!(
        r#"{"failures":[{"package_id":"homebrew:ffmpeg","category":"missing_dep","blocked_by":["x264","lame"]}]}"#,
        "\n",
        r#"{"failures":[{"package_id":"homebrew:sox","category":"missing_dep","blocked_by":["lame","nowhere"]}]}"#,
        "\n",
        r#"{"recipe":"gimp","category":"missing_dep","exit_code":8,"blocked_by":["gtk"]}"#,
        "\n",
    );

    #[test]
    fn released_when_every_dependency_succeeded() {
        let (q, r) = run(
            LINES,
            vec![
                entry("ffmpeg", "homebrew:ffmpeg", Status::Blocked),
                entry("x264", "homebrew:x264", Status::Success),
                entry("lame", "homebrew:lame", Status::Success),
                entry("gimp", "homebrew:gimp", Status::Blocked),
                entry("gtk", "homebrew:gtk", Status::Failed),
            ],
        );
        assert_eq!(q.entries[0].status, Status::Pending);
        assert_eq!(q.entries[3].status, Status::Blocked);
        assert_eq!(r.changes.len(), 1);
        assert_eq!(r.remaining, 1);
        assert!(r.stuck.is_empty());
    }

    #[test]
    fn unknown_dependencies_are_reported() {
        let (q, r) = run(
            LINES,
            vec![
                entry("sox", "homebrew:sox", Status::Blocked),
                entry("lame", "homebrew:lame", Status::Success),
                entry("orphan", "homebrew:orphan", Status::Blocked),
            ],
        );
        assert_eq!(q.entries[0].status, Status::Blocked);
        assert_eq!(
            r.stuck,
            [
                Stuck::UnknownDependencies {
                    entry: "sox".into(),
                    dependencies: vec!["nowhere".into()]
                },
                Stuck::NoRecordedDependencies {
                    entry: "orphan".into()
                }
            ]
        );
        assert_eq!(r.remaining, 2);
    }
}
