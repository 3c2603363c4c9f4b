//! GitHub Actions integration, in one place: `key=value` lines appended to `$GITHUB_OUTPUT`,
//! and workflow-command annotations with the escaping the runner requires.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use batch::control::Change;
use batch::run::RunReport;

/// Appends `key=value` lines to the file `$GITHUB_OUTPUT` names; does nothing when it is not
/// set. Values are made single-line (CR and LF become spaces), as the file format needs.
///
/// # Errors
/// The file cannot be opened or written; the message names it.
pub fn write_output<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_OUTPUT") else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open $GITHUB_OUTPUT `{}`", path.display()))?;
    f.write_all(output_lines(pairs).as_bytes())
        .with_context(|| format!("failed to write $GITHUB_OUTPUT `{}`", path.display()))
}

/// The `key=value` lines [`write_output`] appends, one per pair, values made single-line.
pub fn output_lines<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        let _ = writeln!(out, "{key}={}", value.replace(['\n', '\r'], " "));
    }
    out
}

/// Whether this process runs in a GitHub Actions job (`GITHUB_ACTIONS=true`).
pub fn in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Appends `markdown` to the file `$GITHUB_STEP_SUMMARY` names; does nothing when it is not
/// set.
///
/// # Errors
/// The file cannot be opened or written; the message names it.
pub fn append_step_summary(markdown: &str) -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return Ok(());
    };
    let path = PathBuf::from(path);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("failed to open $GITHUB_STEP_SUMMARY `{}`", path.display()))?;
    f.write_all(markdown.as_bytes())
        .with_context(|| format!("failed to write $GITHUB_STEP_SUMMARY `{}`", path.display()))
}

/// The `$GITHUB_OUTPUT` pairs of a run or merge: `total`, `succeeded`, `failed`, `blocked`,
/// `not_run` and `breakers_opened` (the ecosystems whose breaker opened or reopened,
/// comma-separated).
pub fn run_outputs(report: &RunReport) -> Vec<(&'static str, String)> {
    let r = &report.results;
    let opened: Vec<&str> = report
        .breaker_changes
        .iter()
        .filter(|(_, c)| matches!(c, Change::Opened { .. }))
        .map(|(eco, _)| eco.as_str())
        .collect();
    vec![
        ("total", r.total.to_string()),
        ("succeeded", r.succeeded.to_string()),
        ("failed", r.failed.to_string()),
        ("blocked", r.blocked.to_string()),
        ("not_run", report.not_run.len().to_string()),
        ("breakers_opened", opened.join(",")),
    ]
}

/// Entries named in one folded annotation at most; the rest are counted.
const NAMES_PER_ANNOTATION: usize = 50;

/// GitHub Actions workflow commands within GitHub's limit of 10 annotations of a kind per step:
/// one `::warning` per ecosystem with failed or blocked entries, naming them with their
/// category (the first `NAMES_PER_ANNOTATION`, 50, then a count), and one `::error` per breaker
/// that opened or reopened. Values are escaped as the runner requires (`%`, CR, LF; and `:`
/// `,` inside properties).
pub fn annotations(report: &RunReport) -> String {
    let mut s = String::new();
    let mut by_eco: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in &report.failures {
        let detail = if !f.blocked_by.is_empty() {
            format!("blocked by {}", f.blocked_by.join(" "))
        } else if f.subcategory.is_empty() {
            f.category.as_str().to_owned()
        } else {
            format!("{}/{}", f.category.as_str(), f.subcategory)
        };
        by_eco
            .entry(f.file_ecosystem())
            .or_default()
            .push(format!("{} ({detail})", f.package_id));
    }
    for (eco, entries) in by_eco {
        let n = entries.len();
        let mut text = entries
            .iter()
            .take(NAMES_PER_ANNOTATION)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if n > NAMES_PER_ANNOTATION {
            let _ = write!(text, "; and {} more", n - NAMES_PER_ANNOTATION);
        }
        let _ = writeln!(
            s,
            "::warning title={}::{}",
            escape_property(&format!("{eco}: {n} failed or blocked")),
            escape_data(&text)
        );
    }
    for (eco, change) in &report.breaker_changes {
        if let Change::Opened {
            failures,
            until,
            reopened,
        } = change
        {
            let what = if *reopened {
                "reopened (half-open probe failed)".to_owned()
            } else {
                format!("opened after {failures} failed batches")
            };
            let _ = writeln!(
                s,
                "::error title={}::{}",
                escape_property(&format!("circuit breaker {eco}")),
                escape_data(&format!(
                    "circuit breaker for {eco} {what}; next probe at {until}"
                ))
            );
        }
    }
    s
}

/// What a run or merge tells GitHub Actions: inside a job, the summary appended to
/// `$GITHUB_STEP_SUMMARY` and [`run_outputs`] (after `extra`) to `$GITHUB_OUTPUT`; with
/// `annotate`, the [`annotations`] on stderr (the runner reads workflow commands there too, so
/// stdout stays clean for `--json`).
///
/// # Errors
/// `$GITHUB_STEP_SUMMARY` or `$GITHUB_OUTPUT` cannot be written.
pub fn report_run(
    report: &RunReport,
    extra: Vec<(&'static str, String)>,
    annotate: bool,
) -> anyhow::Result<()> {
    if in_actions() {
        append_step_summary(&batch::records::render_summary(
            &report.results,
            &report.recipes,
            &report.failures,
            report.invalid,
            batch::tsuku::headline,
        ))?;
        write_output(extra.into_iter().chain(run_outputs(report)))?;
    }
    if annotate {
        crate::err!("{}", annotations(report));
    }
    Ok(())
}

/// Opens a collapsed group of log lines in a job's log (`::group::`); nothing outside a job.
pub fn group(title: &str) {
    if in_actions() {
        crate::errln!("::group::{}", escape_data(title));
    }
}

/// Closes the group [`group`] opened.
pub fn end_group() {
    if in_actions() {
        crate::errln!("::endgroup::");
    }
}

/// Escapes a workflow command's message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use batch::generator::Category;
    use batch::records::FailureRecord;

    #[test]
    fn annotations_escape_and_cover_failures_and_opened_breakers() {
        let report = RunReport {
            failures: vec![FailureRecord {
                package_id: "npm:a,b".into(),
                category: Category::MissingDep,
                subcategory: String::new(),
                blocked_by: vec!["x".into(), "y".into()],
                message: "100% broken\nsecond line".into(),
                timestamp: "2026-11-24T00:00:00Z".into(),
            }],
            breaker_changes: vec![
                (
                    "pypi".into(),
                    Change::Opened {
                        failures: 5,
                        until: "2026-11-24T01:00:00Z".into(),
                        reopened: false,
                    },
                ),
                ("npm".into(), Change::Closed),
            ],
            ..RunReport::default()
        };
        let out = annotations(&report);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(
            lines[0],
            "::warning title=npm%3A 1 failed or blocked::npm:a,b (blocked by x y)"
        );
        assert_eq!(
            lines[1],
            "::error title=circuit breaker pypi::circuit breaker for pypi opened after 5 failed batches; next probe at 2026-11-24T01:00:00Z"
        );
    }

    /// Failures are folded into one warning per ecosystem, in ecosystem order, at most
    /// `NAMES_PER_ANNOTATION` names each (issue #12: GitHub shows 10 annotations per step).
    #[test]
    fn warnings_are_folded_per_ecosystem() {
        let record = |pkg: &str, message: &str| FailureRecord {
            package_id: pkg.into(),
            category: Category::GenerationFailed,
            subcategory: String::new(),
            blocked_by: Vec::new(),
            message: message.into(),
            timestamp: "2026-11-24T00:00:00Z".into(),
        };
        let mut failures: Vec<FailureRecord> = (0..60)
            .map(|i| record(&format!("npm:p{i}"), "100% broken"))
            .collect();
        failures.insert(3, record("homebrew:x", "no"));
        let report = RunReport {
            failures,
            ..RunReport::default()
        };
        let out = annotations(&report);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(
            lines[0],
            "::warning title=homebrew%3A 1 failed or blocked::homebrew:x (generation_failed)"
        );
        assert!(
            lines[1].starts_with(
                "::warning title=npm%3A 60 failed or blocked::npm:p0 (generation_failed); npm:p1 "
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].ends_with("npm:p49 (generation_failed); and 10 more"),
            "{}",
            lines[1]
        );
    }

    #[test]
    fn run_outputs_count_and_name_opened_breakers() {
        let mut report = RunReport::default();
        report.results.total = 3;
        report.results.failed = 2;
        report.results.blocked = 1;
        report.not_run.push((0, "x".into(), "interrupted".into()));
        report.breaker_changes = vec![
            ("npm".into(), Change::Closed),
            (
                "pypi".into(),
                Change::Opened {
                    failures: 5,
                    until: "t".into(),
                    reopened: false,
                },
            ),
            (
                "go".into(),
                Change::Opened {
                    failures: 1,
                    until: "t".into(),
                    reopened: true,
                },
            ),
        ];
        assert_eq!(
            output_lines(run_outputs(&report)),
            "total=3\nsucceeded=0\nfailed=2\nblocked=1\nnot_run=1\nbreakers_opened=pypi,go\n"
        );
    }

    #[test]
    fn output_lines_are_single_line() {
        assert_eq!(
            output_lines([
                ("skip", "false".to_owned()),
                ("reason", "two\nlines\r".to_owned())
            ]),
            "skip=false\nreason=two lines \n"
        );
    }
}
