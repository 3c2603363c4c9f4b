//! Failure categories over time (issue #23, `report --html`): failure records counted per UTC
//! day and category. Pure; the records come from the dashboard's reader of both record
//! formats ([`crate::dashboard::failure_timeline`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Failures per day per category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailureTimeline {
    /// Days (`YYYY-MM-DD`, the first 10 characters of each record's `timestamp`), oldest
    /// first; only days with a failure.
    pub days: Vec<String>,
    /// Every category seen, sorted.
    pub categories: Vec<String>,
    /// `counts[c][d]`: failures of category `categories[c]` on day `days[d]`.
    pub counts: Vec<Vec<u64>>,
    /// Records without a timestamp of at least 10 characters, not counted in any day.
    pub undated: u64,
}

impl FailureTimeline {
    /// The timeline of `(timestamp, category)` pairs, keeping only days at or after `since`
    /// (a `YYYY-MM-DD` prefix compared as text) when given.
    pub fn build<'a>(
        failures: impl IntoIterator<Item = (&'a str, &'a str)>,
        since: Option<&str>,
    ) -> Self {
        let mut undated = 0;
        let mut per: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        let mut days = BTreeSet::new();
        let mut categories = BTreeSet::new();
        for (timestamp, category) in failures {
            let Some(day) = timestamp.get(..10) else {
                undated += 1;
                continue;
            };
            if since.is_some_and(|s| day < s) {
                continue;
            }
            days.insert(day);
            categories.insert(category);
            *per.entry((category, day)).or_default() += 1;
        }
        let days: Vec<&str> = days.into_iter().collect();
        let categories: Vec<&str> = categories.into_iter().collect();
        let counts = categories
            .iter()
            .map(|c| {
                days.iter()
                    .map(|d| per.get(&(*c, *d)).copied().unwrap_or(0))
                    .collect()
            })
            .collect();
        FailureTimeline {
            days: days.into_iter().map(str::to_owned).collect(),
            categories: categories.into_iter().map(str::to_owned).collect(),
            counts,
            undated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FailureTimeline;

    #[test]
    fn counts_per_day_and_category_with_gaps_as_zero() {
        let t = FailureTimeline::build(
            [
                ("2026-03-02T10:00:00Z", "network"),
                ("2026-03-01T09:00:00Z", "network"),
                ("2026-03-02T11:00:00Z", "network"),
                ("2026-03-02T12:00:00Z", "api_error"),
                ("bad", "network"),
                ("2026-02-01T00:00:00Z", "old"),
            ],
            Some("2026-03-01"),
        );
        assert_eq!(t.days, ["2026-03-01", "2026-03-02"]);
        assert_eq!(t.categories, ["api_error", "network"]);
        assert_eq!(t.counts, [vec![0, 1], vec![1, 2]]);
        assert_eq!(t.undated, 1);
    }
}
