//! What `validate` prints (spec §7.3, issue #13): the `--json` document, the text report and
//! the step summary (Total, Passed, Failed, Skipped) for `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write as _;
use std::path::Path;

use batch::validate::{JobPlatform, Rejected, RowStatus, ValidateOutcome, ValidationRow};
use serde::Serialize;

/// The four counts of the step summary (spec §7.3 "Output").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    /// Rows.
    pub total: usize,
    /// `pass` rows.
    pub passed: usize,
    /// `fail` rows.
    pub failed: usize,
    /// `skipped` rows.
    pub skipped: usize,
}

/// The one-line reason of a row: the first line of its `message` that is not one of tsuku's
/// notices (issue #22).
fn reason(message: &str) -> &str {
    batch::tsuku::headline(message)
}

impl RowCounts {
    /// The counts of a job's rows (an `incomplete` row is not a recipe's and not counted).
    pub fn of(o: &ValidateOutcome) -> Self {
        Self {
            total: o.rows.len() - o.count(RowStatus::Incomplete),
            passed: o.count(RowStatus::Pass),
            failed: o.count(RowStatus::Fail),
            skipped: o.count(RowStatus::Skipped),
        }
    }
}

/// `validate --json`: what ran, the counts, every failed row and every entry not validated.
#[derive(Debug, Serialize)]
pub struct ValidateDoc<'a> {
    /// Job platform.
    pub platform: &'a str,
    /// Batch ID.
    pub batch_id: &'a str,
    /// The results file written, or `null` when the job was stopped.
    pub written: Option<&'a Path>,
    /// The journal kept for a rerun, or `null`.
    pub journal: Option<&'a Path>,
    /// Recipes found.
    pub recipes: usize,
    /// Row counts.
    #[serde(flatten)]
    pub counts: RowCounts,
    /// Rows taken from the journal of a killed run.
    pub resumed: usize,
    /// Rows not started because of `--max-duration`.
    pub not_started: usize,
    /// Rows stopped by a signal.
    pub interrupted: usize,
    /// Why this runner could not run installs, or `null` (issue #22); the results file then
    /// ends with an `incomplete` row.
    pub incomplete: Option<&'a str>,
    /// Rows not installed because the runner could not run installs.
    pub not_run: usize,
    /// The `fail` rows.
    pub failures: Vec<&'a ValidationRow>,
    /// Entries below `--recipes` that were not validated.
    pub rejected: &'a [Rejected],
}

impl<'a> ValidateDoc<'a> {
    /// The document of one job.
    pub fn new(platform: JobPlatform, batch_id: &'a str, o: &'a ValidateOutcome) -> Self {
        Self {
            platform: platform.as_str(),
            batch_id,
            written: o.written.as_deref(),
            journal: o.journal_kept.as_deref(),
            recipes: o.recipes,
            counts: RowCounts::of(o),
            resumed: o.resumed,
            not_started: o.not_started,
            interrupted: o.interrupted,
            incomplete: o.unavailable.as_deref(),
            not_run: o.abandoned,
            failures: o
                .rows
                .iter()
                .filter(|r| r.status == RowStatus::Fail)
                .collect(),
            rejected: &o.rejected,
        }
    }
}

fn failure_line(r: &ValidationRow) -> String {
    let attempts = r.attempts.unwrap_or(0);
    let plural = if attempts == 1 { "" } else { "s" };
    let mut s = format!("failed: {} ({}) on {}: ", r.recipe, r.path, r.platform);
    if r.timed_out {
        let _ = write!(s, "timed out (exit 124)");
    } else {
        let _ = write!(
            s,
            "exit {} after {attempts} attempt{plural}",
            r.exit_code.unwrap_or(-1)
        );
    }
    if let Some(v) = r.verify_exit_code {
        let _ = write!(s, " (verify step exit {v})");
    }
    if let Some(b) = r.blocked_by.as_ref().filter(|b| !b.is_empty()) {
        let _ = write!(s, ", blocked by {}", b.join(", "));
    }
    if let Some(m) = r.message.as_deref().map(reason).filter(|m| !m.is_empty()) {
        let _ = write!(s, ": {m}");
    }
    s
}

/// The text report: the counts, one line per failed row and per entry not validated, and
/// what was written or kept.
pub fn text(platform: JobPlatform, o: &ValidateOutcome) -> String {
    let c = RowCounts::of(o);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "validate {platform}: {} recipes, {} rows ({} resumed from the journal)",
        o.recipes, c.total, o.resumed
    );
    let _ = writeln!(
        s,
        "Total: {}  Passed: {}  Failed: {}  Skipped: {}",
        c.total, c.passed, c.failed, c.skipped
    );
    for r in o.rows.iter().filter(|r| r.status == RowStatus::Fail) {
        let _ = writeln!(s, "{}", failure_line(r));
    }
    for r in &o.rejected {
        let _ = writeln!(s, "not validated: {} ({})", r.rel, r.reason.describe());
    }
    if o.not_started > 0 {
        let _ = writeln!(
            s,
            "budget reached: {} rows not started (run again to finish them)",
            o.not_started
        );
    }
    if o.interrupted > 0 {
        let _ = writeln!(s, "stopped: {} rows not finished", o.interrupted);
    }
    if let Some(why) = &o.unavailable {
        let at = o
            .rows
            .iter()
            .find(|r| r.status == RowStatus::Incomplete)
            .map_or(String::new(), |r| {
                format!(" at {} on {}", r.recipe, r.platform)
            });
        let _ = writeln!(
            s,
            "incomplete: this runner cannot run installs{at}: {why}; {} rows not run (the results end with an incomplete row; fix the runner and run again)",
            o.abandoned
        );
    }
    if let Some(p) = &o.written {
        let _ = writeln!(s, "wrote {}", p.display());
    }
    if let Some(p) = &o.journal_kept {
        let _ = writeln!(s, "kept {} for a rerun", p.display());
    }
    s
}

/// The step summary (Markdown): a heading naming the platform and the counts table.
pub fn step_summary(platform: JobPlatform, o: &ValidateOutcome) -> String {
    let c = RowCounts::of(o);
    let mut s = format!(
        "## Validation: {platform}\n\n| Total | Passed | Failed | Skipped |\n|---|---|---|---|\n| {} | {} | {} | {} |\n",
        c.total, c.passed, c.failed, c.skipped
    );
    if let Some(why) = &o.unavailable {
        let _ = writeln!(
            s,
            "\n**Incomplete**: this runner cannot run installs ({why}); {} rows not run. The platform counts as not reported.",
            o.abandoned
        );
    } else if !o.complete() {
        let _ = writeln!(
            s,
            "\n{} rows not finished (budget or signal); the results are partial.",
            o.not_started + o.interrupted
        );
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use batch::validate::{Environment, Family};

    fn row(recipe: &str, status: RowStatus, code: Option<i32>) -> ValidationRow {
        ValidationRow {
            recipe: recipe.into(),
            platform: JobPlatform::LinuxArm64.row(Some(Family::Alpine)),
            status,
            exit_code: code,
            attempts: code.map(|_| 3),
            blocked_by: code.map(|c| {
                if c == 8 {
                    vec!["x264".into(), "lame".into()]
                } else {
                    vec![]
                }
            }),
            timed_out: false,
            path: format!("{}/{recipe}.toml", &recipe[..1]),
            batch_id: "b".into(),
            environment: Environment::Validation,
            message: None,
            subcategory: None,
            verify_exit_code: None,
        }
    }

    #[test]
    fn counts_failures_and_summary() {
        let o = ValidateOutcome {
            rows: vec![
                row("bat", RowStatus::Pass, Some(0)),
                row("cdk", RowStatus::Skipped, None),
                row("ffmpeg", RowStatus::Fail, Some(8)),
            ],
            recipes: 3,
            written: Some("v.json".into()),
            ..Default::default()
        };
        let t = text(JobPlatform::LinuxArm64, &o);
        assert!(
            t.contains("Total: 3  Passed: 1  Failed: 1  Skipped: 1"),
            "{t}"
        );
        assert!(
            t.contains("failed: ffmpeg (f/ffmpeg.toml) on linux-alpine-musl-arm64: exit 8 after 3 attempts, blocked by x264, lame"),
            "{t}"
        );
        let md = step_summary(JobPlatform::LinuxArm64, &o);
        assert!(md.contains("| 3 | 1 | 1 | 1 |"), "{md}");
        assert!(!md.contains("partial"), "{md}");
    }

    /// Issue #22: a failed row shows the first line of its reason (tsuku's notices skipped)
    /// and its verify step's code; an incomplete job says why and is not counted as a row.
    #[test]
    fn reasons_and_an_incomplete_platform() {
        let mut bat = row("bat", RowStatus::Fail, Some(7));
        bat.verify_exit_code = Some(2);
        bat.message =
            Some("Note: Checksums for 'bat' will be computed\nverification failed with exit code 2\nmore".into());
        let mut fd = row("fd", RowStatus::Incomplete, None);
        fd.message = Some("no container runtime available (install Podman or Docker)".into());
        let o = ValidateOutcome {
            rows: vec![row("amp", RowStatus::Pass, Some(0)), bat, fd],
            recipes: 4,
            unavailable: Some("no container runtime available (install Podman or Docker)".into()),
            abandoned: 1,
            written: Some("v.json".into()),
            ..Default::default()
        };
        let t = text(JobPlatform::LinuxArm64, &o);
        assert!(
            t.contains("Total: 2  Passed: 1  Failed: 1  Skipped: 0"),
            "{t}"
        );
        assert!(
            t.contains("failed: bat (b/bat.toml) on linux-alpine-musl-arm64: exit 7 after 3 attempts (verify step exit 2): verification failed with exit code 2\n"),
            "{t}"
        );
        assert!(
            t.contains("incomplete: this runner cannot run installs at fd on linux-alpine-musl-arm64: no container runtime available (install Podman or Docker); 1 rows not run"),
            "{t}"
        );
        let md = step_summary(JobPlatform::LinuxArm64, &o);
        assert!(
            md.contains("| 2 | 1 | 1 | 0 |") && md.contains("**Incomplete**"),
            "{md}"
        );
        let doc = serde_json::to_value(ValidateDoc::new(JobPlatform::LinuxArm64, "b", &o)).unwrap();
        assert_eq!(doc["not_run"], 1);
        assert_eq!(
            doc["incomplete"],
            "no container runtime available (install Podman or Docker)"
        );
    }
}
