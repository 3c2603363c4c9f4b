//! Queue-entry transitions after a processed candidate (spec §4.7): success, failed with
//! backoff, blocked. Pure; the caller supplies `now`.

use std::time::Duration;

use jiff::Timestamp;

use super::entry::{QueueEntry, Status};
use crate::records::Outcome;
use crate::records::timestamp::Rfc3339;

/// Backoff before the next retry as a function of the **new** `failure_count` (spec §4.7):
/// none for ≤ 1, then 24 h, 72 h, 144 h, and 168 h from 5 on (the cap).
pub(crate) fn backoff(new_failure_count: i64) -> Option<Duration> {
    let hours = match new_failure_count {
        i64::MIN..=1 => return None,
        2 => 24,
        3 => 72,
        4 => 144,
        _ => 168,
    };
    Some(Duration::from_secs(hours * 3600))
}

/// Applies an outcome to its entry (spec §4.7 table). `name`, `source`, `priority`,
/// `confidence` and `disambiguated_at` are never touched.
pub(crate) fn apply(entry: &mut QueueEntry, outcome: &Outcome, now: Timestamp) {
    match outcome {
        Outcome::Succeeded { .. } => {
            entry.status = Status::Success;
            entry.failure_count = 0;
            entry.next_retry_at = None;
        }
        Outcome::Failed(_) => {
            entry.status = Status::Failed;
            entry.failure_count = entry.failure_count.saturating_add(1);
            entry.next_retry_at = backoff(entry.failure_count).map(|d| {
                let d = jiff::SignedDuration::try_from(d).expect("at most 168 hours");
                Rfc3339::utc(now.checked_add(d).unwrap_or(Timestamp::MAX))
            });
        }
        Outcome::Blocked(_) => entry.status = Status::Blocked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Category;
    use crate::records::FailureRecord;

    fn rec() -> FailureRecord {
        FailureRecord {
            package_id: "cargo:pkg".into(),
            category: Category::InstallFailed,
            subcategory: String::new(),
            blocked_by: Vec::new(),
            message: "m".into(),
            timestamp: "2026-06-01T12:00:00Z".into(),
        }
    }

    fn now() -> Timestamp {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn backoff_schedule() {
        let h = |n| backoff(n).map(|d| d.as_secs() / 3600);
        assert_eq!(
            [h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(10), h(i64::MAX)],
            [
                None,
                None,
                Some(24),
                Some(72),
                Some(144),
                Some(168),
                Some(168),
                Some(168),
                Some(168)
            ]
        );
    }

    #[test]
    fn failure_increments_and_sets_retry() {
        let mut e = QueueEntry::new("pkg", "cargo:pkg", 1);
        apply(&mut e, &Outcome::Failed(rec()), now());
        assert_eq!(
            (e.status.clone(), e.failure_count, e.next_retry_at),
            (Status::Failed, 1, None)
        );
        apply(&mut e, &Outcome::Failed(rec()), now());
        assert_eq!(e.failure_count, 2);
        assert_eq!(e.next_retry_at.unwrap().to_string(), "2026-06-02T12:00:00Z");
    }

    #[test]
    fn success_resets_and_blocked_keeps_counters() {
        let mut e = QueueEntry::new("pkg", "cargo:pkg", 1);
        e.status = Status::Failed;
        e.failure_count = 3;
        e.next_retry_at = Some("2000-01-01T00:00:00Z".parse().unwrap());
        let mut b = e.clone();
        apply(
            &mut e,
            &Outcome::Succeeded {
                recipe: "r/pkg.toml".into(),
            },
            now(),
        );
        assert_eq!(
            (e.status, e.failure_count, e.next_retry_at),
            (Status::Success, 0, None)
        );
        apply(&mut b, &Outcome::Blocked(rec()), now());
        assert_eq!(b.status, Status::Blocked);
        assert_eq!(b.failure_count, 3);
        assert!(b.next_retry_at.is_some());
    }
}
