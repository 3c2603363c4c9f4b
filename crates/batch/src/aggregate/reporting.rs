//! Which job platforms reported (issue #13, issue #22). A platform did not report when no
//! validation row of it arrived (the job failed, was cancelled or sent no results file:
//! [`NotReported::Missing`]) or when its results hold an `incomplete` row (`validate` stopped
//! because the runner could not run installs: [`NotReported::Incomplete`]).
//!
//! Both mean the same to `aggregate`: nothing is derived from that platform. The rows of an
//! incomplete platform are removed before any decision ([`drop_unreported`]), so its pass
//! rows do not count and its fail rows yield no constraint, exclusion or failure record; its
//! recipes are decided on the other platforms' rows alone (or are unvalidated). The platform
//! counts as not reported in the metrics (zeros, like a missing one), blocks auto-merge, and
//! the PR text names it with the reason.

use std::collections::BTreeMap;

use super::inputs::BatchRows;
use crate::validate::{Environment, JobPlatform, RowStatus, ValidationRow};

/// A job platform whose results `aggregate` did not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReported {
    /// No validation row of this platform arrived.
    Missing {
        /// The platform.
        platform: JobPlatform,
    },
    /// Its results end with an `incomplete` row (issue #22): the runner could not run
    /// installs. Every row of the platform was set aside.
    Incomplete {
        /// The platform.
        platform: JobPlatform,
        /// The recipe whose install showed it (the row's `recipe`).
        recipe: String,
        /// Why (the row's `message`; empty when the row has none).
        message: String,
        /// Rows set aside, the `incomplete` row included.
        rows_ignored: usize,
    },
}

impl NotReported {
    /// The platform.
    pub fn platform(&self) -> JobPlatform {
        match self {
            NotReported::Missing { platform } | NotReported::Incomplete { platform, .. } => {
                *platform
            }
        }
    }

    /// `missing` or `incomplete`.
    pub fn kind(&self) -> &'static str {
        match self {
            NotReported::Missing { .. } => "missing",
            NotReported::Incomplete { .. } => "incomplete",
        }
    }
}

/// The job platform of a validation row; `None` for generation rows, which belong to no
/// validation job.
fn job_of(row: &ValidationRow) -> Option<JobPlatform> {
    (row.environment == Environment::Validation).then(|| JobPlatform::of_row(&row.platform))
}

/// Removes every validation row of each platform that has an `incomplete` row (from
/// `rows.all` and from each recipe's rows; a recipe left without rows stays in the batch),
/// and returns the platforms that did not report, in [`JobPlatform::ALL`] order. For an
/// incomplete platform the first `incomplete` row gives the recipe and the reason.
pub(crate) fn drop_unreported(rows: &mut BatchRows) -> Vec<NotReported> {
    // Platform → (recipe, message) of its first `incomplete` row.
    let mut incomplete: BTreeMap<JobPlatform, (String, String)> = BTreeMap::new();
    for row in &rows.all {
        if row.status == RowStatus::Incomplete
            && let Some(job) = job_of(row)
        {
            incomplete
                .entry(job)
                .or_insert_with(|| (row.recipe.clone(), row.message.clone().unwrap_or_default()));
        }
    }
    let mut out = Vec::new();
    for platform in JobPlatform::ALL {
        if let Some((recipe, message)) = incomplete.get(&platform) {
            out.push(NotReported::Incomplete {
                platform,
                recipe: recipe.clone(),
                message: message.clone(),
                rows_ignored: rows
                    .all
                    .iter()
                    .filter(|r| job_of(r) == Some(platform))
                    .count(),
            });
        } else if !rows.all.iter().any(|r| job_of(r) == Some(platform)) {
            out.push(NotReported::Missing { platform });
        }
    }
    let keep = |r: &ValidationRow| job_of(r).is_none_or(|j| !incomplete.contains_key(&j));
    rows.all.retain(keep);
    for (_, recipe_rows) in rows.recipes.values_mut() {
        recipe_rows.retain(keep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::RowPlatform;

    fn row(recipe: &str, platform: &str, status: RowStatus) -> ValidationRow {
        ValidationRow {
            recipe: recipe.into(),
            platform: RowPlatform::parse(platform).unwrap(),
            status,
            exit_code: (status != RowStatus::Incomplete).then_some(0),
            attempts: Some(1),
            blocked_by: Some(vec![]),
            message: (status == RowStatus::Incomplete)
                .then(|| "no container runtime available\nmore".to_owned()),
            subcategory: None,
            verify_exit_code: None,
            timed_out: false,
            path: format!("{}/{recipe}.toml", &recipe[..1]),
            batch_id: "b".into(),
            environment: Environment::Validation,
        }
    }

    fn batch(rows: Vec<ValidationRow>) -> BatchRows {
        let mut out = BatchRows::default();
        for r in rows {
            out.recipes
                .entry(r.path.clone())
                .or_insert_with(|| (r.recipe.clone(), Vec::new()))
                .1
                .push(r.clone());
            out.all.push(r);
        }
        out
    }

    #[test]
    fn an_incomplete_platform_loses_every_row_and_a_silent_one_is_missing() {
        use RowStatus::{Fail, Incomplete, Pass};
        let mut rows = batch(vec![
            row("alpha", "linux-debian-glibc-x86_64", Pass),
            row("bravo", "linux-alpine-musl-x86_64", Fail),
            row("bravo", "linux-debian-glibc-x86_64", Incomplete),
            row("alpha", "linux-debian-glibc-arm64", Pass),
            row("bravo", "darwin-arm64", Fail),
            ValidationRow {
                environment: Environment::Generation,
                ..row("alpha", "linux-debian-glibc-x86_64", Pass)
            },
        ]);
        let not = drop_unreported(&mut rows);
        assert_eq!(
            not,
            [
                NotReported::Incomplete {
                    platform: JobPlatform::LinuxX86_64,
                    recipe: "bravo".into(),
                    message: "no container runtime available\nmore".into(),
                    rows_ignored: 3,
                },
                NotReported::Missing {
                    platform: JobPlatform::DarwinX86_64
                },
            ]
        );
        let left: Vec<(&str, String, Environment)> = rows
            .all
            .iter()
            .map(|r| (r.recipe.as_str(), r.platform.to_string(), r.environment))
            .collect();
        assert_eq!(
            left,
            [
                (
                    "alpha",
                    "linux-debian-glibc-arm64".into(),
                    Environment::Validation
                ),
                ("bravo", "darwin-arm64".into(), Environment::Validation),
                (
                    "alpha",
                    "linux-debian-glibc-x86_64".into(),
                    Environment::Generation
                ),
            ]
        );
        // Each recipe keeps its other rows; none leaves the batch.
        assert_eq!(rows.recipes["a/alpha.toml"].1.len(), 2);
        assert_eq!(rows.recipes["b/bravo.toml"].1.len(), 1);
        assert_eq!(not[0].kind(), "incomplete");
        assert_eq!(not[1].platform(), JobPlatform::DarwinX86_64);
    }

    #[test]
    fn every_platform_reporting_gives_nothing() {
        let mut rows = batch(
            [
                "linux-debian-glibc-x86_64",
                "linux-debian-glibc-arm64",
                "darwin-arm64",
                "darwin-x86_64",
            ]
            .iter()
            .map(|p| row("alpha", p, RowStatus::Pass))
            .collect(),
        );
        let before = rows.all.clone();
        assert!(drop_unreported(&mut rows).is_empty());
        assert_eq!(rows.all, before);
    }
}
