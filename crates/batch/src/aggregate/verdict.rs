//! Include, constrain or exclude one recipe from its result rows (spec §7.3.2 steps 3–7, with
//! issue #13's fix).
//!
//! Only *validation* rows count. The generation environment's row proves the recipe was
//! generated, not that a platform passed; the shell counted it, so "failed on all platforms"
//! could never fire (spec §7.3.2 step 6). Here PASSED, FAILED and SKIPPED are counted over the
//! validation rows only.

use crate::validate::{Environment, RowPlatform, RowStatus, ValidationRow};

/// The validation rows of one recipe, split by status; each list in row order, without
/// duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PlatformResults {
    /// Platforms with a `pass` row.
    pub passed: Vec<RowPlatform>,
    /// Platforms with a `fail` row.
    pub failed: Vec<RowPlatform>,
    /// Platforms with a `skipped` row.
    pub skipped: Vec<RowPlatform>,
    /// Validation rows counted (duplicates included): TOTAL of spec §7.3.2 step 3.
    pub total: usize,
}

impl PlatformResults {
    /// Splits a recipe's rows; generation-environment rows are ignored (issue #13). The rows
    /// of a platform that did not report are removed before (`super::reporting`); an
    /// `incomplete` row is a platform's state, not a recipe result, and never counts
    /// (issue #22).
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a ValidationRow>) -> PlatformResults {
        let mut out = PlatformResults::default();
        for row in rows {
            let list = match (row.environment, row.status) {
                (Environment::Generation, _) | (_, RowStatus::Incomplete) => continue,
                (_, RowStatus::Pass) => &mut out.passed,
                (_, RowStatus::Fail) => &mut out.failed,
                (_, RowStatus::Skipped) => &mut out.skipped,
            };
            out.total += 1;
            if !list.contains(&row.platform) {
                list.push(row.platform);
            }
        }
        out
    }
}

/// The fate of a recipe that passed the security gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Every validation row passed or was skipped: include with no constraint.
    Include,
    /// No validation row at all (no platform job reported this recipe). Decision: the recipe
    /// stays included, as the shell would, but is marked unvalidated so the PR text lists it
    /// and auto-merge is withheld (a platform that did not report blocks auto-merge anyway).
    Unvalidated,
    /// Some rows failed and some passed: include with a derived constraint (spec §7.3.3).
    Constrain,
    /// At least one row failed and none passed: "failed on all platforms" (spec §7.3.2
    /// step 6), delete the recipe.
    Exclude,
}

impl Verdict {
    /// Spec §7.3.2 steps 5–7 over validation rows: PASSED + SKIPPED == TOTAL → include,
    /// else PASSED == 0 → exclude, else constrain; no rows → [`Verdict::Unvalidated`].
    pub fn of(results: &PlatformResults) -> Verdict {
        if results.total == 0 {
            Verdict::Unvalidated
        } else if results.failed.is_empty() {
            // PASSED + SKIPPED == TOTAL.
            Verdict::Include
        } else if results.passed.is_empty() {
            Verdict::Exclude
        } else {
            Verdict::Constrain
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{Family, JobPlatform};

    fn row(p: RowPlatform, status: RowStatus, env: Environment) -> ValidationRow {
        ValidationRow {
            recipe: "r".into(),
            platform: p,
            status,
            exit_code: Some(if status == RowStatus::Fail { 6 } else { 0 }),
            attempts: Some(1),
            blocked_by: Some(vec![]),
            timed_out: false,
            path: "r/r.toml".into(),
            batch_id: "b".into(),
            environment: env,
            message: None,
            subcategory: None,
            verify_exit_code: None,
        }
    }

    fn x86(f: Family) -> RowPlatform {
        JobPlatform::LinuxX86_64.row(Some(f))
    }

    #[test]
    fn spec_7_3_2_over_validation_rows_only() {
        use Environment::{Generation as G, Validation as V};
        use RowStatus::{Fail as F, Pass as P, Skipped as S};
        let deb = x86(Family::Debian);
        let alp = x86(Family::Alpine);
        let mac = JobPlatform::DarwinArm64.row(None);
        type Rows = Vec<(RowPlatform, RowStatus, Environment)>;
        let cases: Vec<(Rows, Verdict)> = vec![
            (vec![(deb, P, V), (alp, P, V)], Verdict::Include),
            (vec![(deb, P, V), (alp, S, V)], Verdict::Include),
            (vec![(deb, S, V)], Verdict::Include),
            (vec![(deb, P, V), (alp, F, V)], Verdict::Constrain),
            (vec![(deb, F, V), (alp, F, V)], Verdict::Exclude),
            (vec![(deb, F, V), (alp, S, V)], Verdict::Exclude),
            // The generation row passes but does not count (issue #13; the shell's rule
            // would constrain here).
            (
                vec![(deb, P, G), (deb, F, V), (mac, F, V)],
                Verdict::Exclude,
            ),
            (vec![(deb, P, G)], Verdict::Unvalidated),
            (vec![], Verdict::Unvalidated),
        ];
        for (rows, want) in cases {
            let rows: Vec<ValidationRow> = rows.into_iter().map(|(p, s, e)| row(p, s, e)).collect();
            let res = PlatformResults::of(&rows);
            assert_eq!(Verdict::of(&res), want, "{rows:?}");
        }
    }

    #[test]
    fn duplicate_platforms_are_listed_once() {
        let deb = x86(Family::Debian);
        let rows = vec![
            row(deb, RowStatus::Fail, Environment::Validation),
            row(deb, RowStatus::Fail, Environment::Validation),
        ];
        let res = PlatformResults::of(&rows);
        assert_eq!((res.failed.len(), res.total), (1, 2));
    }
}
