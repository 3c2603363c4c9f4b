//! The metrics record of a batch (spec §1.5, issue #13): ONE compact JSON line in
//! `data/metrics/batch-runs-<YYYY-MM-DDTHH-MM-SSZ>.jsonl` (the shell wrote pretty JSON into a
//! `.jsonl` file).
//!
//! Keys, in spec order: `batch_id`, `ecosystems` (the batch's recipes per ecosystem, from
//! their queue entries; the shell copied `batch-results.json`'s candidate counts),
//! `total` (= merged + excluded), `generated` (the batch's recipes), `platforms` (all four
//! job platforms, always present, counting *validation* rows: `tested` includes skipped
//! rows; a platform that did not report has zeros, and so has one whose results are
//! incomplete, issue #22: its rows are set aside, see `super::reporting`), `merged`,
//! `excluded`, `constrained`, `timestamp` (`YYYY-MM-DDTHH:MM:SSZ`, end of aggregate) and `duration_seconds` (from the
//! batch's plan time, `--planned-at`, to the end of aggregate: the whole pipeline, not only
//! the merge job).
//!
//! Decision (idempotence): the file name's stamp is the plan time, so one batch has one
//! metrics file; a second `aggregate` of the same batch keeps the existing file when it only
//! differs in `timestamp` and `duration_seconds` ([`Metrics::same_counts`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::records::jsonfmt;
use crate::records::timestamp::{file_stamp, whole_seconds_utc};
use crate::validate::{Environment, JobPlatform, RowStatus, ValidationRow};

/// Row counts of one job platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformCounts {
    /// Validation rows (pass, fail and skipped).
    pub tested: u64,
    /// `pass` rows.
    pub passed: u64,
    /// `fail` rows.
    pub failed: u64,
}

impl PlatformCounts {
    /// Counts validation rows per job platform; all four platforms are present.
    pub fn of<'a>(
        rows: impl IntoIterator<Item = &'a ValidationRow>,
    ) -> BTreeMap<JobPlatform, PlatformCounts> {
        let mut out: BTreeMap<JobPlatform, PlatformCounts> = JobPlatform::ALL
            .into_iter()
            .map(|p| (p, PlatformCounts::default()))
            .collect();
        for row in rows {
            // An `incomplete` row is not a recipe result (issue #22); `aggregate` removes the
            // rows of its platform before counting (`super::reporting`).
            if row.environment == Environment::Generation || row.status == RowStatus::Incomplete {
                continue;
            }
            let c = out.entry(JobPlatform::of_row(&row.platform)).or_default();
            c.tested += 1;
            match row.status {
                RowStatus::Pass => c.passed += 1,
                RowStatus::Fail => c.failed += 1,
                RowStatus::Skipped | RowStatus::Incomplete => {}
            }
        }
        out
    }
}

/// The metrics record (spec §1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metrics {
    /// The batch ID.
    pub batch_id: String,
    /// Recipes of the batch per ecosystem.
    pub ecosystems: BTreeMap<String, u64>,
    /// `merged + excluded`.
    pub total: u64,
    /// Recipes of the batch (unique names of the results).
    pub generated: u64,
    /// Row counts per job platform (`linux-x86_64`, ...).
    pub platforms: BTreeMap<String, PlatformCounts>,
    /// Recipes included in the PR (constrained ones too).
    pub merged: u64,
    /// Recipes excluded (gate or failed everywhere).
    pub excluded: u64,
    /// Included recipes with a constraint (new or existing).
    pub constrained: u64,
    /// End of aggregate, `YYYY-MM-DDTHH:MM:SSZ`.
    pub timestamp: String,
    /// Seconds from the plan time to the end of aggregate (0 if the plan time is later).
    pub duration_seconds: i64,
}

impl Metrics {
    /// Sets `timestamp` and `duration_seconds` from the plan time and now.
    pub fn set_times(&mut self, planned_at: Timestamp, now: Timestamp) {
        self.timestamp = whole_seconds_utc(now);
        self.duration_seconds = (now.as_second() - planned_at.as_second()).max(0);
    }

    /// Whether `other` has the same content apart from `timestamp` and `duration_seconds`.
    pub fn same_counts(&self, other: &Metrics) -> bool {
        let strip = |m: &Metrics| Metrics {
            timestamp: String::new(),
            duration_seconds: 0,
            ..m.clone()
        };
        strip(self) == strip(other)
    }

    /// The file name: `batch-runs-<YYYY-MM-DDTHH-MM-SSZ>.jsonl` of the plan time.
    pub fn file_name(planned_at: Timestamp) -> String {
        format!("batch-runs-{}.jsonl", file_stamp(planned_at))
    }

    /// One compact JSON line with `\n`.
    pub fn to_bytes(&self) -> Vec<u8> {
        jsonfmt::to_compact(self).expect("metrics always serialize")
    }

    /// Parses an existing metrics file (one JSON value; pretty or compact).
    pub fn from_slice(bytes: &[u8]) -> Option<Metrics> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::RowPlatform;

    fn row(platform: &str, status: RowStatus, env: Environment) -> ValidationRow {
        ValidationRow {
            recipe: "r".into(),
            platform: RowPlatform::parse(platform).unwrap(),
            status,
            exit_code: None,
            attempts: None,
            blocked_by: None,
            timed_out: false,
            path: "r/r.toml".into(),
            batch_id: "b".into(),
            environment: env,
            message: None,
            subcategory: None,
            verify_exit_code: None,
        }
    }

    #[test]
    fn one_compact_line_with_all_four_platforms() {
        let rows = [
            row(
                "linux-debian-glibc-x86_64",
                RowStatus::Pass,
                Environment::Generation,
            ),
            row(
                "linux-debian-glibc-x86_64",
                RowStatus::Pass,
                Environment::Validation,
            ),
            row(
                "linux-alpine-musl-x86_64",
                RowStatus::Fail,
                Environment::Validation,
            ),
            row(
                "linux-arch-glibc-x86_64",
                RowStatus::Skipped,
                Environment::Validation,
            ),
            row("darwin-arm64", RowStatus::Fail, Environment::Validation),
        ];
        let platforms = PlatformCounts::of(&rows)
            .into_iter()
            .map(|(p, c)| (p.to_string(), c))
            .collect();
        let mut m = Metrics {
            batch_id: "2026-12-01-all".into(),
            ecosystems: [("cargo".to_owned(), 2), ("npm".to_owned(), 1)].into(),
            total: 3,
            generated: 3,
            platforms,
            merged: 2,
            excluded: 1,
            constrained: 1,
            timestamp: String::new(),
            duration_seconds: 0,
        };
        let planned: Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        m.set_times(planned, "2026-12-01T09:30:05.9Z".parse().unwrap());
        let text = String::from_utf8(m.to_bytes()).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"batch_id":"2026-12-01-all","ecosystems":{"cargo":2,"npm":1},"total":3,"generated":3,"#,
                r#""platforms":{"darwin-arm64":{"tested":1,"passed":0,"failed":1},"#,
                r#""darwin-x86_64":{"tested":0,"passed":0,"failed":0},"#,
                r#""linux-arm64":{"tested":0,"passed":0,"failed":0},"#,
                r#""linux-x86_64":{"tested":3,"passed":1,"failed":1}},"#,
                r#""merged":2,"excluded":1,"constrained":1,"timestamp":"2026-12-01T09:30:05Z","duration_seconds":5405}"#,
                "\n"
            )
        );
        assert_eq!(
            Metrics::file_name(planned),
            "batch-runs-2026-12-01T08-00-00Z.jsonl"
        );
        let back = Metrics::from_slice(text.as_bytes()).unwrap();
        assert_eq!(back, m);
        let mut later = m.clone();
        later.set_times(planned, "2026-12-02T00:00:00Z".parse().unwrap());
        assert!(later.same_counts(&m) && later != m);
        later.excluded = 0;
        assert!(!later.same_counts(&m));
    }
}
