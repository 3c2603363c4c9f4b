//! requeue (spec §4.9): a blocked entry becomes `pending` when every dependency recorded as
//! blocking it is the name of a `success` entry. Blocked entries whose dependencies are not on
//! record, or name no queue entry, stay blocked and are reported (spec §9.3.3).

use std::collections::HashSet;

use super::report::{Reason, RequeueReport, StatusChange, Stuck};
use super::summary::Summaries;
use crate::{Queue, Status};

/// Applies requeue to every blocked entry, in queue order. The `success` names are taken
/// before any change (a released entry is `pending`, never `success`, so order is irrelevant).
pub fn requeue(queue: &mut Queue, summaries: &Summaries) -> RequeueReport {
    let mut report = RequeueReport::default();
    // Decide with borrowed names first (no copy of the queue's names), then apply.
    let released: Vec<(usize, Vec<String>)> = {
        let names: HashSet<&str> = queue.entries.iter().map(|e| e.name.as_str()).collect();
        let succeeded: HashSet<&str> = queue
            .entries
            .iter()
            .filter(|e| e.status == Status::Success)
            .map(|e| e.name.as_str())
            .collect();
        let mut released = Vec::new();
        for (i, entry) in queue.entries.iter().enumerate() {
            if entry.status != Status::Blocked {
                continue;
            }
            let deps = summaries.of(entry).blockers;
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
                .filter(|d| !names.contains(d.as_str()))
                .collect();
            if !unknown.is_empty() {
                report.stuck.push(Stuck::UnknownDependencies {
                    entry: entry.name.clone(),
                    dependencies: unknown,
                });
            }
        }
        released
    };
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
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueEntry;
    use crate::maintain::records::FailureLog;

    fn run(lines: &str, entries: Vec<QueueEntry>) -> (Queue, RequeueReport) {
        let mut log = FailureLog::default();
        log.read(lines.as_bytes()).unwrap();
        let mut q = Queue::from_slice(br#"{"schema_version":1,"entries":[]}"#).unwrap();
        q.entries = entries;
        let r = requeue(&mut q, &Summaries::new(&log));
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
